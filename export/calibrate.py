"""Temperature scaling and threshold choice on a validation split (never an evaluation set)."""

from __future__ import annotations

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


def choose_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """Return the score threshold with the best harmful-class F1; ties go to the one nearest 0.5."""
    best_key, best_threshold = (-1.0, 0.0), 0.5
    for threshold in np.round(np.arange(0.05, 0.96, 0.01), 2):
        predicted = scores >= threshold
        true_positive = float((predicted & (labels == 1)).sum())
        denominator = predicted.sum() + (labels == 1).sum()
        f1 = 2 * true_positive / denominator if denominator else 0.0
        key = (round(f1, 6), -abs(threshold - 0.5))
        if key > best_key:
            best_key, best_threshold = key, float(threshold)
    return best_threshold
