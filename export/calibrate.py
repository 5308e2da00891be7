"""Temperature scaling and threshold choice on a validation split (never an evaluation set)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def fit_temperature(harm_logits: np.ndarray, labels: np.ndarray) -> float:
    """Return the temperature that minimises the negative log-likelihood of `labels`.

    A log-spaced grid search over [0.1, 10] is followed by a finer one around the best point.
    The objective is one-dimensional and smooth, so a grid finds its minimum closely enough.
    """
    def loss(temperature: float) -> float:
        scaled = harm_logits / temperature
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        return float(-log_probs[np.arange(len(labels)), labels].mean())

    grid = np.exp(np.linspace(np.log(0.1), np.log(10.0), 61))
    best = min(grid, key=loss)
    fine = np.linspace(best / 1.08, best * 1.08, 21)
    return round(float(min(fine, key=loss)), 4)


THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)


@dataclass(frozen=True)
class ThresholdChoice:
    """A verdict threshold and the validation evidence behind it."""

    threshold: float
    best_f1: float
    standard_error: float
    tied: tuple[float, float]
    """Ends of the run of grid thresholds, around the best, whose F1 is within one standard
    error of the best."""


def choose_threshold(scores: np.ndarray, labels: np.ndarray, resamples: int = 200,
                     seed: int = 0) -> ThresholdChoice:
    """Return the lowest threshold of the band whose harmful-class F1 ties with the best.

    The band is the run of grid thresholds around the best one whose F1 is within one standard
    error of the best. The standard error is that of the best threshold's F1 over `resamples`
    bootstrap resamples of the validation split, drawn with a fixed `seed`. On held-out rows of
    the training sources the F1 curve is flat over a wide band (0.38 to 0.56 for the default
    guard), so its argmax alone lands anywhere in it. Within the band, the lowest threshold
    misses the fewest harmful prompts. It is also nearer the best threshold on unseen traffic:
    for calibrated scores, the F1-optimal threshold is half the best F1 (Lipton, Elkan and
    Narayanaswamy, "Thresholding Classifiers to Maximize F1 Score", arXiv 1402.1892). F1 on
    unseen traffic is lower than on held-out rows of the training sources, so its optimal
    threshold is lower too.

    Raises ValueError when the inputs differ in length, a score is not finite, a label is not
    0 or 1, either label is missing, or `resamples` is below 1.
    """
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    _check_inputs(scores, labels, resamples)
    positive = labels == 1
    curve = np.array([_f1(scores >= threshold, positive) for threshold in THRESHOLD_GRID])
    # The band is centred on the best threshold, and exact ties for best go to the one
    # nearest 0.5.
    best = max(range(len(THRESHOLD_GRID)),
               key=lambda i: (round(curve[i], 6), -abs(THRESHOLD_GRID[i] - 0.5)))
    rng = np.random.default_rng(seed)
    flagged = scores >= THRESHOLD_GRID[best]
    resampled = [_f1(flagged[rows], positive[rows])
                 for rows in (rng.integers(0, len(labels), len(labels)) for _ in range(resamples))]
    standard_error = float(np.std(resampled))
    tied = curve >= curve[best] - standard_error - 1e-12
    low = high = best
    while low > 0 and tied[low - 1]:
        low -= 1
    while high < len(THRESHOLD_GRID) - 1 and tied[high + 1]:
        high += 1
    return ThresholdChoice(threshold=float(THRESHOLD_GRID[low]),
                           best_f1=round(float(curve[best]), 4),
                           standard_error=round(standard_error, 4),
                           tied=(float(THRESHOLD_GRID[low]), float(THRESHOLD_GRID[high])))


def _check_inputs(scores: np.ndarray, labels: np.ndarray, resamples: int) -> None:
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be 1-D arrays "
                         "of the same length")
    if not np.isfinite(scores).all():
        raise ValueError(f"{int((~np.isfinite(scores)).sum())} scores are NaN or infinite; "
                         "every score must be a finite probability")
    values = set(np.unique(labels).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"labels must be 0 (unharmful) or 1 (harmful), got {sorted(values)}")
    if values != {0, 1}:
        raise ValueError(f"a threshold needs examples of both labels, but every label is "
                         f"{values.pop() if values else 'missing'}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")


def _f1(flagged: np.ndarray, positive: np.ndarray) -> float:
    true_positives = float((flagged & positive).sum())
    denominator = float(flagged.sum() + positive.sum())
    return 2 * true_positives / denominator if denominator else 0.0
