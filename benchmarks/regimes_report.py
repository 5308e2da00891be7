"""The table and plot of benchmarks/regimes.py, built from its report dictionary."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

BENCHMARK_TITLES = {"wildguardtest": "WildGuardTest dev", "xstest": "XSTest",
                    "aegis1-test": "Aegis 1.0 test"}
SPREAD = "min–max over seeds"


def summarise_regimes(runs: list[dict[str, Any]], regimes: list[str]) -> list[dict[str, Any]]:
    """Average each regime's runs over seeds, with the min, max and std of the mean F1."""
    summaries = []
    for regime in regimes:
        mine = [run for run in runs if run["regime"] == regime]
        if not mine:
            continue
        names = sorted({name for run in mine for name in run["f1"]})
        summaries.append({
            "regime": regime,
            "seeds": [run["seed"] for run in mine],
            "mean_f1": spread([run["mean_f1"] for run in mine]),
            "f1": {name: mean([run["f1"].get(name) for run in mine]) for name in names},
            "intent_top1": mean([run["intent"]["top1"] for run in mine]),
            "intent_top5": mean([run["intent"]["top5"] for run in mine]),
            "intent_examples": [run["intent"]["examples"] for run in mine],
            "p50_ms": mean([run["p50_ms"] for run in mine]),
        })
    return summaries


def mean(values: list[float | None]) -> float | None:
    """Return the mean of the defined values, or None when there are none."""
    defined = [value for value in values if value is not None]
    return statistics.fmean(defined) if defined else None


def spread(values: list[float | None]) -> dict[str, Any]:
    """Return mean, min, max and sample standard deviation of the defined values."""
    defined = [value for value in values if value is not None]
    return {
        "values": values,
        "mean": statistics.fmean(defined) if defined else None,
        "min": min(defined, default=None),
        "max": max(defined, default=None),
        "std": statistics.stdev(defined) if len(defined) > 1 else None,
    }


def write_markdown(report: dict[str, Any], path: Path) -> None:
    """Write the regime table with the hardware and settings above it."""
    settings = report["settings"]
    headline = settings["headline"]
    header = ["regime", "seeds", f"mean F1 ({SPREAD})",
              *(f"{BENCHMARK_TITLES.get(name, name)} F1" for name in headline),
              "intent top-1", "intent top-5", f"p50 ms ({tokens(report)} tokens)"]
    lines = ["# Training regimes compared", "", *describe(report), "",
             table_row(header), table_row(["---"] * len(header))]
    for row in report["regimes"]:
        lines.append(table_row([
            row["regime"], " ".join(str(seed) for seed in row["seeds"]),
            format_spread(row["mean_f1"]),
            *(format_figure(row["f1"].get(name)) for name in headline),
            format_figure(row["intent_top1"]), format_figure(row["intent_top5"]),
            format_figure(row["p50_ms"], ".2f"),
        ]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def describe(report: dict[str, Any]) -> list[str]:
    """Return the paragraphs that describe how the table was measured."""
    settings = report["settings"]
    steps = "the whole schedule" if settings["steps"] is None else f"{settings['steps']} steps"
    sizes = ", ".join(f"{name} {size}" for name, size in settings["benchmarks"].items())
    lines = [
        f"Measured with `benchmarks/regimes.py` on {hardware_line(report)}.",
        "",
        f"Training: {steps} per run ({epochs(settings)}), "
        f"{count(settings['layers'], 'encoder layer')}, {seed_list(settings['seeds'])}, "
        f"data from {settings['train_file'] or settings['data_dir']}.{regime_notes(settings)}",
        "",
        f"Every run is an fp32 package. F1 is of the harmful class, and the mean F1 averages "
        f"{', '.join(settings['headline']) or 'no headline benchmark'}. Every figure except "
        f"the range is a mean over the row's seeds. Benchmarks (examples): {sizes}. Intent "
        f"accuracy counts the held-out wrapped and framed prompts with a known intent "
        f"({intent_counts(report)}). Latency: p50 of {settings['repeats']} single checks after "
        f"{settings['warmup']} warm-up calls.",
    ]
    if settings["limit"] is not None:
        lines += ["", f"Only the first {settings['limit']} examples of each benchmark were "
                  "used, so these F1 figures are not comparable with a full run."]
    return lines


def regime_notes(settings: dict[str, Any]) -> str:
    """Return the sentences about the teacher and the sft starting point, where they apply."""
    notes = ""
    if any(regime.startswith("distill") for regime in settings["regimes"]):
        # Reports written before ensembles were possible name one teacher.
        teachers = settings.get("teachers") or [settings["teacher"]]
        if len(teachers) == 1:
            notes += f" The distill teacher is {teachers[0]}."
        else:
            notes += (f" The distill teacher is the ensemble of {', '.join(teachers)}, whose "
                      "probabilities are averaged.")
    continued = [regime for regime in ("dpo", "grpo", "sft-continued")
                 if regime in settings["regimes"]]
    if continued:
        names = (" and ".join(continued) if len(continued) < 3
                 else f"{', '.join(continued[:-1])} and {continued[-1]}")
        notes += (f" The {names} runs train as many steps again, starting from the same seed's "
                  "sft run, on the batches it started with.")
    return notes


def hardware_line(report: dict[str, Any]) -> str:
    """Describe the machine, library versions and thread count in one line."""
    environment = report["environment"]
    return (f"{environment['cpu']}, {environment['usable_cores']} usable cores, training on "
            f"{environment['training_device']}, Python {environment['python']}, torch "
            f"{environment['torch']}, onnxruntime {environment['onnxruntime']}, "
            f"{count(environment['threads'], 'thread')}")


def epochs(settings: dict[str, Any]) -> str:
    if settings["epochs"] is None:
        return "the trainer's default epochs"
    return f"a schedule of {settings['epochs']:g} epochs"


def intent_counts(report: dict[str, Any]) -> str:
    counts = {run["seed"]: run["intent"]["examples"] for run in report["runs"]}
    return ", ".join(f"seed {seed}: {count}" for seed, count in sorted(counts.items()))


def tokens(report: dict[str, Any]) -> str:
    return ", ".join(sorted({str(run["prompt_tokens"]) for run in report["runs"]}))


def plot_regimes(report: dict[str, Any], out: Path) -> None:
    """Draw each regime's mean F1 with min-max error bars and every seed's value as a dot."""
    import matplotlib

    # Agg draws to files only, so the script runs without a display.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in report["regimes"] if row["mean_f1"]["mean"] is not None]
    positions = list(range(len(rows)))
    means = [row["mean_f1"]["mean"] for row in rows]
    errors = [[row["mean_f1"]["mean"] - row["mean_f1"]["min"] for row in rows],
              [row["mean_f1"]["max"] - row["mean_f1"]["mean"] for row in rows]]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    axes.errorbar(positions, means, yerr=errors, fmt="o", capsize=6, color="tab:blue",
                  label=f"mean over seeds, bars: {SPREAD}")
    for position, row in zip(positions, rows, strict=True):
        values = [value for value in row["mean_f1"]["values"] if value is not None]
        axes.scatter([position + 0.12] * len(values), values, s=12, color="tab:gray",
                     zorder=3, label="one seed" if position == 0 else None)
    axes.set_xticks(positions, [f"{row['regime']}\n{seed_list(row['seeds'])}" for row in rows],
                    fontsize=8)
    names = ", ".join(BENCHMARK_TITLES.get(name, name) for name in report["settings"]["headline"])
    axes.set_ylabel(f"mean harmful-class F1\n({names})")
    axes.set_title(hardware_line(report), fontsize=7)
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize=8)
    figure.savefig(out, dpi=150, bbox_inches="tight")
    plt.close(figure)


def count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def seed_list(seeds: list[int]) -> str:
    return ("seed " if len(seeds) == 1 else "seeds ") + " ".join(str(seed) for seed in seeds)


def format_spread(summary: dict[str, Any]) -> str:
    if summary["mean"] is None:
        return "-"
    if len([value for value in summary["values"] if value is not None]) == 1:
        return f"{summary['mean']:.3f}"
    return f"{summary['mean']:.3f} ({summary['min']:.3f}–{summary['max']:.3f})"


def format_figure(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def table_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
