"""Accuracy of a guard on labelled benchmarks, measured on the harmful class.

The headline number is the unweighted mean of per-benchmark binary F1 of the harmful class,
as reported by Ferrao et al., "Paved with True Intents" (arXiv 2606.27210). Sets that contain
one class only get the metric that is defined for them: recall for harmful-only sets and
false-positive rate for benign-only sets.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from guardintent.result import GuardInfo

if TYPE_CHECKING:
    from guardintent.data.schema import Example
    from guardintent.guard import Guard

__all__ = ["BenchmarkResult", "BinaryMetrics", "EvalReport", "evaluate", "render_table"]

BenchmarkKind = Literal["mixed", "harmful_only", "benign_only"]


class BinaryMetrics(BaseModel):
    """Confusion counts and derived metrics, with harmful as the positive class.

    A metric is None where its denominator is zero (recall without harmful examples, FPR
    without benign ones, precision without harmful predictions).
    """

    model_config = ConfigDict(frozen=True)

    examples: int
    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int
    precision: float | None
    recall: float | None
    f1: float | None
    false_positive_rate: float | None

    @classmethod
    def from_counts(cls, tp: int, fp: int, tn: int, fn: int) -> BinaryMetrics:
        """Compute the metrics from confusion counts."""
        return cls(
            examples=tp + fp + tn + fn,
            true_positives=tp,
            false_positives=fp,
            true_negatives=tn,
            false_negatives=fn,
            precision=_ratio(tp, tp + fp),
            recall=_ratio(tp, tp + fn),
            # 2TP / (2TP + FP + FN) equals the harmonic mean of precision and recall and is
            # also defined (as 0) when one of them is undefined but errors were made.
            f1=_ratio(2 * tp, 2 * tp + fp + fn),
            false_positive_rate=_ratio(fp, fp + tn),
        )

    @classmethod
    def from_predictions(cls, labels: Sequence[bool], predictions: Sequence[bool]) -> BinaryMetrics:
        """Compute the metrics from true labels and predictions (True means harmful)."""
        if len(labels) != len(predictions):
            raise ValueError(f"got {len(labels)} labels but {len(predictions)} predictions")
        pairs = list(zip(labels, predictions, strict=True))
        return cls.from_counts(
            tp=sum(label and predicted for label, predicted in pairs),
            fp=sum(not label and predicted for label, predicted in pairs),
            tn=sum(not label and not predicted for label, predicted in pairs),
            fn=sum(label and not predicted for label, predicted in pairs),
        )


class BenchmarkResult(BaseModel):
    """Metrics of one benchmark and the wall time the guard took on it."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: BenchmarkKind
    metrics: BinaryMetrics
    seconds: float


class EvalReport(BaseModel):
    """Per-benchmark metrics and the mean F1 over the headline benchmarks that were run.

    `sentence_gate` is the guard's `Guard.sentence_gate`: None when the sentence reading of
    long prompts was off.
    """

    model_config = ConfigDict(frozen=True)

    guard: GuardInfo
    threshold: float
    sentence_gate: float | None
    benchmarks: dict[str, BenchmarkResult]
    headline: tuple[str, ...]
    mean_f1: float | None

    def to_json(self, *, indent: int | None = None) -> str:
        """Serialise the report to a JSON string."""
        return self.model_dump_json(indent=indent)


def evaluate(
    guard: Guard,
    benchmarks: Mapping[str, Sequence[Example]],
    batch_size: int = 32,
    *,
    headline: Sequence[str] | None = None,
) -> EvalReport:
    """Run the guard on every benchmark and compute metrics for the harmful class.

    `headline` names the benchmarks whose F1 is averaged into `mean_f1`; by default the
    `guardintent.data.HEADLINE`. Those that are absent from
    `benchmarks`, or whose F1 is undefined, are left out of the mean.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if headline is None:
        from guardintent.data import HEADLINE

        headline = HEADLINE

    results = {
        name: _run_benchmark(guard, name, examples, batch_size)
        for name, examples in benchmarks.items()
    }
    present = tuple(name for name in headline if name in results)
    scores = [results[name].metrics.f1 for name in present]
    defined = [score for score in scores if score is not None]
    return EvalReport(
        guard=guard.info,
        threshold=guard.threshold,
        sentence_gate=guard.sentence_gate,
        benchmarks=results,
        headline=present,
        mean_f1=sum(defined) / len(defined) if defined else None,
    )


def _run_benchmark(
    guard: Guard, name: str, examples: Sequence[Example], batch_size: int
) -> BenchmarkResult:
    if not examples:
        raise ValueError(f"benchmark {name!r} has no examples")
    start = time.perf_counter()
    predictions: list[bool] = []
    for offset in range(0, len(examples), batch_size):
        batch = [example.prompt for example in examples[offset : offset + batch_size]]
        predictions.extend(result.is_harmful for result in guard.check_batch(batch))
    seconds = time.perf_counter() - start

    labels = [example.label == "harmful" for example in examples]
    return BenchmarkResult(
        name=name,
        kind=_benchmark_kind(name, labels),
        metrics=BinaryMetrics.from_predictions(labels, predictions),
        seconds=seconds,
    )


def _benchmark_kind(name: str, labels: list[bool]) -> BenchmarkKind:
    from guardintent.data import BENIGN_ONLY, HARMFUL_ONLY

    if name in HARMFUL_ONLY or all(labels):
        return "harmful_only"
    if name in BENIGN_ONLY or not any(labels):
        return "benign_only"
    return "mixed"


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def render_table(report: EvalReport) -> str:
    """Format the report as a plain-text table, one benchmark per row, then the mean F1.

    Harmful-only rows show recall only and benign-only rows show FPR only, because the
    other metrics are undefined or uninformative on a set with one class.
    """
    rows = [("benchmark", "kind", "n", "precision", "recall", "F1", "FPR")]
    for name, result in report.benchmarks.items():
        metrics = result.metrics
        displayed = {
            "mixed": (metrics.precision, metrics.recall, metrics.f1, metrics.false_positive_rate),
            "harmful_only": (None, metrics.recall, None, None),
            "benign_only": (None, None, None, metrics.false_positive_rate),
        }[result.kind]
        kind = result.kind.removesuffix("_only")
        rows.append((name, kind, str(metrics.examples), *(_format_metric(v) for v in displayed)))

    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        # The two text columns align left, the numbers right.
        cells = [
            cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells))
    lines.insert(1, "-" * len(lines[0]))

    if report.headline:
        lines.append(f"mean F1 over {', '.join(report.headline)}: {_format_metric(report.mean_f1)}")
    else:
        lines.append("mean F1: no headline benchmark was run")
    if report.sentence_gate is None:
        sentences = "sentence reading off"
    else:
        sentences = f"sentence gate {report.sentence_gate:.3f}"
    lines.append(
        f"guard {report.guard.name} {report.guard.version}, threshold {report.threshold:.3f}, "
        f"{sentences}"
    )
    return "\n".join(lines)


def _format_metric(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
