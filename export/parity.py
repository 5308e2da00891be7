"""Prove that an exported graph computes what the PyTorch model computes.

PyTorch, ONNX fp32 and ONNX int8 run on the same probes over a grid of batch sizes and lengths.
Harm scores, verdicts, category scores and top-1 intents are compared, and every miss is
collected into one `ParityError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
import torch
from tokenizers import Tokenizer

from guardintent.errors import ParityError
from guardintent.train.model import IntentGuardModel


@dataclass(frozen=True)
class ParityTolerance:
    """Limits an export must stay within; scores are uncalibrated P(harmful) in [0, 1]."""

    fp32_score_atol: float = 1e-4
    fp32_embedding_atol: float = 1e-3
    int8_max_score_diff: float = 0.2
    int8_mean_score_diff: float = 0.03
    int8_verdict_agreement: float = 0.97
    int8_intent_agreement: float = 0.8
    batch_sizes: tuple[int, ...] = (1, 4, 16)
    lengths: tuple[int, ...] = (8, 32, 128)


def grid_inputs(probes: list[str], tokenizer: Tokenizer, batch_size: int, length: int,
                offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Build one padded batch whose first row is exactly `length` tokens long.

    The other rows keep their natural length (truncated to `length`), so padding is exercised.
    """
    rows = []
    for row in range(batch_size):
        ids = tokenizer.encode(probes[(offset + row) % len(probes)]).ids
        if row == 0:
            body = ids[1:-1] or [ids[0]]
            while len(body) < length - 2:
                body = body + body
            ids = [ids[0], *body[:length - 2], ids[-1]]
        rows.append(ids[:length])
    width = max(len(ids) for ids in rows)
    input_ids = np.zeros((batch_size, width), dtype=np.int64)
    mask = np.zeros((batch_size, width), dtype=np.int64)
    for index, ids in enumerate(rows):
        input_ids[index, :len(ids)] = ids
        mask[index, :len(ids)] = 1
    return input_ids, mask


def _scores(harm_logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(harm_logits - harm_logits.max(axis=1, keepdims=True))
    return shifted[:, 1] / shifted.sum(axis=1)


def _torch_outputs(model: IntentGuardModel, ids: np.ndarray, mask: np.ndarray
                   ) -> list[np.ndarray]:
    with torch.no_grad():
        return [t.numpy() for t in model(torch.from_numpy(ids), torch.from_numpy(mask))]


def check_parity(model: IntentGuardModel, tokenizer: Tokenizer, probes: list[str],
                 bank: np.ndarray, fp32: ort.InferenceSession,
                 int8: ort.InferenceSession | None, tolerance: ParityTolerance
                 ) -> dict[str, object]:
    """Compare PyTorch with the fp32 (and int8) graphs; raise ParityError listing every miss.

    `bank` holds the intent bank's embeddings; top-1 intents are compared against it.
    """
    model.eval()
    mismatches: list[str] = []
    reference, exact, quantised = [], [], []
    for batch_size in tolerance.batch_sizes:
        for length in tolerance.lengths:
            ids, mask = grid_inputs(probes, tokenizer, batch_size, length, len(reference))
            feeds = {"input_ids": ids, "attention_mask": mask}
            expected = _torch_outputs(model, ids, mask)
            got = fp32.run(None, feeds)
            cell = f"batch {batch_size} x {ids.shape[1]} tokens"
            score_diff = np.abs(_scores(expected[0]) - _scores(got[0])).max()
            if score_diff > tolerance.fp32_score_atol:
                mismatches.append(f"fp32 harm score differs by {score_diff:.2e} at {cell}")
            # pooled_embedding matters too: the intent bank and custom intents are embedded from it.
            names = ("category_logits", "intent_embedding", "pooled_embedding")
            for name, want, have in zip(names, expected[1:], got[1:], strict=True):
                diff = np.abs(want - have).max()
                if diff > tolerance.fp32_embedding_atol:
                    mismatches.append(f"fp32 {name} differs by {diff:.2e} at {cell}")
            reference.append(expected)
            exact.append(got)
            if int8 is not None:
                quantised.append(int8.run(None, feeds))

    report: dict[str, object] = {"cells": len(reference), "prompts": sum(
        len(outputs[0]) for outputs in reference)}
    if quantised:
        report["int8"] = _compare_int8(reference, quantised, bank, tolerance, mismatches)
    if mismatches:
        raise ParityError("the exported model does not match the PyTorch model", mismatches)
    return report


def _compare_int8(reference: list[list[np.ndarray]], quantised: list[list[np.ndarray]],
                  bank: np.ndarray, tolerance: ParityTolerance, mismatches: list[str]
                  ) -> dict[str, float]:
    want = np.concatenate([_scores(outputs[0]) for outputs in reference])
    have = np.concatenate([_scores(outputs[0]) for outputs in quantised])
    want_intent = np.concatenate([outputs[2] for outputs in reference]) @ bank.T
    have_intent = np.concatenate([outputs[2] for outputs in quantised]) @ bank.T
    stats = {
        "max_score_diff": float(np.abs(want - have).max()),
        "mean_score_diff": float(np.abs(want - have).mean()),
        "verdict_agreement": float(((want >= 0.5) == (have >= 0.5)).mean()),
        "intent_agreement": float((want_intent.argmax(1) == have_intent.argmax(1)).mean()),
    }
    limits = {
        "max_score_diff": (tolerance.int8_max_score_diff, "above"),
        "mean_score_diff": (tolerance.int8_mean_score_diff, "above"),
        "verdict_agreement": (tolerance.int8_verdict_agreement, "below"),
        "intent_agreement": (tolerance.int8_intent_agreement, "below"),
    }
    for name, (limit, side) in limits.items():
        if (stats[name] > limit) if side == "above" else (stats[name] < limit):
            mismatches.append(f"int8 {name} {stats[name]:.3f} is {side} the limit {limit}")
    if len(set(want >= 0.5)) == 2 and len(set(have >= 0.5)) == 1:
        mismatches.append("int8 model gives one verdict for every probe while PyTorch gives both")
    return {name: round(value, 4) for name, value in stats.items()}
