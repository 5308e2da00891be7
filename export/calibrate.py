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


@dataclass(frozen=True)
class ThresholdChoice:
    """A verdict threshold and the validation evidence behind it."""

    threshold: float
    best_f1: float
    standard_error: float
    tied: tuple[float, float]
    """Lowest and highest grid threshold whose F1 is within one standard error of the best."""


def choose_threshold(scores: np.ndarray, labels: np.ndarray, resamples: int = 200,
                     seed: int = 0) -> ThresholdChoice:
    """Return the lowest threshold whose harmful-class F1 is within one standard error of the best.

    The standard error is that of the best threshold's F1 over `resamples` bootstrap resamples
    of the validation split, drawn with a fixed `seed`. On held-out rows of the training
    sources the F1 curve is flat over a wide band (0.38 to 0.56 for the default guard), so its
    argmax alone lands anywhere in it. Within the band, the lowest threshold misses the fewest
    harmful prompts. It is also nearer the best threshold on unseen traffic: for calibrated
    scores, the F1-optimal threshold is half the best F1 (Lipton, Elkan and Narayanaswamy,
    "Thresholding Classifiers to Maximize F1 Score", arXiv 1402.1892). F1 on unseen traffic is
    lower than on held-out rows of the training sources, so its optimal threshold is lower too.
    """
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    positive = labels == 1
    curve = np.array([_f1(scores >= threshold, positive) for threshold in grid])
    # Exact ties go to the threshold nearest 0.5.
    best = max(range(len(grid)), key=lambda i: (round(curve[i], 6), -abs(grid[i] - 0.5)))
    rng = np.random.default_rng(seed)
    flagged = scores >= grid[best]
    resampled = [_f1(flagged[rows], positive[rows])
                 for rows in (rng.integers(0, len(labels), len(labels)) for _ in range(resamples))]
    standard_error = float(np.std(resampled))
    tied = grid[curve >= curve[best] - standard_error - 1e-12]
    return ThresholdChoice(threshold=float(tied.min()), best_f1=round(float(curve[best]), 4),
                           standard_error=round(standard_error, 4),
                           tied=(float(tied.min()), float(tied.max())))


def _f1(flagged: np.ndarray, positive: np.ndarray) -> float:
    true_positives = float((flagged & positive).sum())
    denominator = float(flagged.sum() + positive.sum())
    return 2 * true_positives / denominator if denominator else 0.0
