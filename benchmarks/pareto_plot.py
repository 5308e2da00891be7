"""The PNG and Markdown outputs of benchmarks/pareto.py, built from its report dictionary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

BENCHMARK_TITLES = {"wildguardtest": "WildGuardTest dev", "xstest": "XSTest",
                    "aegis1-test": "Aegis 1.0 test"}
GUARD_LEGEND = "guardintent packages: p50 of one check on this CPU"
REFERENCE_LEGEND = "GPU-batched figures reported by their authors (not measured here)"


def plot_points(report: dict[str, Any], out: Path) -> None:
    """Draw latency (log x) against mean F1 for the guards and any reference points."""
    import matplotlib

    # Agg draws to files only, so the script runs without a display.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    guards = [guard for guard in report["guards"] if guard["mean_f1"] is not None]
    axes.scatter([guard["p50_ms"] for guard in guards], [guard["mean_f1"] for guard in guards],
                 marker="o", s=50, color="tab:blue", zorder=3, label=GUARD_LEGEND)
    front = sorted((guard for guard in guards if guard["pareto_front"]),
                   key=lambda guard: guard["p50_ms"])
    if len(front) > 1:
        axes.plot([guard["p50_ms"] for guard in front], [guard["mean_f1"] for guard in front],
                  drawstyle="steps-post", linestyle="--", color="tab:blue", alpha=0.6,
                  label="Pareto front of the measured guards")
    references = report["references"]
    if references:
        axes.scatter([row["latency_ms"] for row in references],
                     [row["mean_f1"] for row in references], marker="^", s=60,
                     facecolors="none", edgecolors="tab:orange", zorder=3,
                     label=REFERENCE_LEGEND)
    for point in [*((guard["label"], guard["p50_ms"], guard["mean_f1"]) for guard in guards),
                  *((row["name"], row["latency_ms"], row["mean_f1"]) for row in references)]:
        axes.annotate(point[0], point[1:], textcoords="offset points", xytext=(6, 4), fontsize=8)

    axes.set_xscale("log")
    # Room on both sides for the labels, which are written to the right of each point.
    axes.margins(x=0.2, y=0.1)
    tokens = ", ".join(sorted({str(guard["prompt_tokens"]) for guard in report["guards"]}))
    axes.set_xlabel(f"p50 latency of one check, {tokens}-token prompt (ms, log scale)")
    axes.set_ylabel(f"mean harmful-class F1\n({benchmark_names(report)})")
    axes.set_title(hardware_line(report), fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    figure.savefig(out, dpi=150, bbox_inches="tight")
    plt.close(figure)


def write_markdown(report: dict[str, Any], path: Path) -> None:
    """Write the guards and the reference points as Markdown tables."""
    settings = report["settings"]
    names = list(settings["benchmarks"])
    lines = [
        "# Latency and mean F1 of guard packages",
        "",
        f"Measured with `benchmarks/pareto.py` on {hardware_line(report)}. Latency: "
        f"{settings['repeats']} single checks after {settings['warmup']} warm-up calls. F1 of "
        f"the harmful class on {benchmark_names(report, counts=True)}.",
    ]
    if settings["limit"] is not None:
        lines += ["", f"Only the first {settings['limit']} examples of each benchmark were "
                  "used, so these F1 figures are not comparable with a full run."]
    header = ["guard", "package", "tokens", "p50 ms", "p95 ms",
              *(f"{BENCHMARK_TITLES.get(name, name)} F1" for name in names), "mean F1",
              "Pareto front"]
    lines += ["", table_row(header), table_row(["---"] * len(header))]
    for guard in report["guards"]:
        lines.append(table_row([
            guard["guard"], guard["package"], str(guard["prompt_tokens"]),
            f"{guard['p50_ms']:.2f}", f"{guard['p95_ms']:.2f}",
            *(format_f1(guard["f1"].get(name)) for name in names),
            format_f1(guard["mean_f1"]), "yes" if guard["pareto_front"] else "no",
        ]))
    if report["references"]:
        lines += ["", "## Reference points", "",
                  f"{REFERENCE_LEGEND}. Their latency is a GPU batch time per prompt and their "
                  "mean F1 may cover other benchmarks, so they are not comparable with the rows "
                  "above.", "",
                  table_row(["name", "latency ms", "mean F1", "note"]),
                  table_row(["---"] * 4)]
        lines += [table_row([row["name"], f"{row['latency_ms']:g}", format_f1(row["mean_f1"]),
                             row["note"]]) for row in report["references"]]
    path.write_text("\n".join(lines) + "\n")


def hardware_line(report: dict[str, Any]) -> str:
    environment = report["environment"]
    return (f"{environment['cpu']}, {environment['usable_cores']} usable cores, onnxruntime "
            f"{environment['onnxruntime']} with {environment['onnxruntime_intra_op_threads']} "
            f"intra-op threads, Python {environment['python']}")


def benchmark_names(report: dict[str, Any], counts: bool = False) -> str:
    names = []
    for name, size in report["settings"]["benchmarks"].items():
        title = BENCHMARK_TITLES.get(name, name)
        names.append(f"{title} ({size} prompts)" if counts else title)
    return ", ".join(names)


def table_row(cells: list[str]) -> str:
    escaped = [cell.replace("|", "\\|") for cell in cells]
    return "| " + " | ".join(escaped) + " |"


def format_f1(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
