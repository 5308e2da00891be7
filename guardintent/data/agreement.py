"""Inter-annotator agreement between the contrast set and an independent second pass.

Run `python -m guardintent.data.agreement` to print the numbers and every disagreement. The
second pass annotates a subset of ids without seeing the first pass's labels, categories or
intents. Intents are listed next to each other for reading but not scored, because two
wordings of the same goal rarely match as strings.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from guardintent.data._io import iter_jsonl
from guardintent.data.contrast import CONTRAST_PATH

SECOND_PASS_PATH = Path(__file__).with_name("contrast_second_pass.jsonl")


@dataclass(frozen=True)
class Disagreement:
    """One id where the passes differ in label or, for items both call harmful, in category."""

    id: str
    field_name: str
    first: str | None
    second: str | None
    first_intent: str
    second_intent: str


@dataclass(frozen=True)
class AgreementReport:
    """Agreement numbers over the ids present in both passes."""

    items: int
    label_agreement: float
    label_kappa: float
    both_harmful: int
    category_agreement: float | None
    disagreements: list[Disagreement] = field(default_factory=list)


def cohen_kappa(first: list[str], second: list[str]) -> float:
    """Compute Cohen's kappa for two equally long lists of nominal labels.

    Returns 1.0 when both annotators use one and the same label throughout, where chance
    agreement is 1 and the usual formula is undefined.
    """
    if len(first) != len(second) or not first:
        raise ValueError(
            f"expected two non-empty lists of equal length, got {len(first)} and {len(second)}"
        )
    total = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / total
    labels = set(first) | set(second)
    expected = sum((first.count(label) / total) * (second.count(label) / total) for label in labels)
    if expected == 1.0:
        return 1.0
    return (observed - expected) / (1.0 - expected)


def compute_agreement(
    first_path: Path = CONTRAST_PATH, second_path: Path = SECOND_PASS_PATH
) -> AgreementReport:
    """Compare the second pass with the first on every id the second pass annotates.

    Raises ValueError when the second pass names an id that the first pass does not contain.
    """
    first_rows = {row["id"]: row for row in iter_jsonl(first_path)}
    second_rows = list(iter_jsonl(second_path))
    missing = [row["id"] for row in second_rows if row["id"] not in first_rows]
    if missing:
        raise ValueError(f"second-pass ids not found in {first_path}: {missing[:5]}")
    if not second_rows:
        raise ValueError(f"no rows in {second_path}")

    first_labels: list[str] = []
    second_labels: list[str] = []
    both_harmful = 0
    same_category = 0
    disagreements: list[Disagreement] = []
    for second in second_rows:
        first = first_rows[second["id"]]
        first_labels.append(first["label"])
        second_labels.append(second["label"])

        if first["label"] != second["label"]:
            differing_field, first_value, second_value = "label", first["label"], second["label"]
        elif first["label"] == "harmful":
            both_harmful += 1
            if first["category"] == second["category"]:
                same_category += 1
                continue
            differing_field, first_value, second_value = (
                "category",
                first["category"],
                second["category"],
            )
        else:
            continue
        disagreements.append(
            Disagreement(
                second["id"],
                differing_field,
                first_value,
                second_value,
                first["intent"],
                second["intent"],
            )
        )

    items = len(second_rows)
    label_matches = sum(a == b for a, b in zip(first_labels, second_labels, strict=True))
    return AgreementReport(
        items=items,
        label_agreement=label_matches / items,
        label_kappa=cohen_kappa(first_labels, second_labels),
        both_harmful=both_harmful,
        category_agreement=same_category / both_harmful if both_harmful else None,
        disagreements=disagreements,
    )


def format_report(report: AgreementReport) -> str:
    """Render the report as plain text: the numbers, then one block per disagreement."""
    category = "n/a" if report.category_agreement is None else f"{report.category_agreement:.3f}"
    lines = [
        f"items compared: {report.items}",
        f"label agreement: {report.label_agreement:.3f}",
        f"label Cohen's kappa: {report.label_kappa:.3f}",
        f"category agreement on items both passes call harmful ({report.both_harmful}): {category}",
        f"disagreements: {len(report.disagreements)}",
    ]
    for item in report.disagreements:
        lines.append(f"- {item.id} {item.field_name}: first={item.first} second={item.second}")
        lines.append(f"    first intent:  {item.first_intent}")
        lines.append(f"    second intent: {item.second_intent}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the agreement between the contrast set and its second pass."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--first", type=Path, default=CONTRAST_PATH, help="first-pass JSON lines file"
    )
    parser.add_argument(
        "--second", type=Path, default=SECOND_PASS_PATH, help="second-pass JSON lines file"
    )
    args = parser.parse_args(argv)
    sys.stdout.write(format_report(compute_agreement(args.first, args.second)) + "\n")


if __name__ == "__main__":
    main()
