"""The NanoGuard classifier as a peer of benchmarks/latency.py, and its worker process.

The `metatronnanoguard` wheel (version 0.1.0, MIT licence) installs the `nanoguard` package, a
16.8M-parameter prompt-injection classifier in PyTorch. The model has 4 bidirectional
transformer layers of width 512, mean pooling and two classes. Its weights and tiktoken BPE
tokenizer are inside the wheel, so it loads offline. It labels prompt injection, not harmful
intent, so latency.py compares it with a guard on speed and memory only.

Three facts about version 0.1.0 shape its figures. `NanoGuard.scan` pads every prompt to the
model's 512-token sequence length and the attention layers do not mask the padding, so a short
prompt costs as much as a long one. Prompts longer than 512 tokens are truncated. The
tokenizer is a pickled `tiktoken.core.Encoding`, while the weights load with
`torch.load(weights_only=True)`.

The worker imports neither onnxruntime nor guardintent, so its cold start and peak RSS are
those of PyTorch and the peer alone:

    python benchmarks/nanoguard_peer.py CONFIG_JSON
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from peak_rss import peak_rss_kib

PEER_DISTRIBUTION = "metatronnanoguard"
PEER_PACKAGE = "nanoguard"
# Files in the package's `assets` folder that a deployment needs.
PEER_ASSETS = ("model.pt", "tokenizer.pkl")


def peer_version() -> str | None:
    """Return the installed metatronnanoguard version, or None when it is not installed."""
    try:
        version = importlib.metadata.version(PEER_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    return version if importlib.util.find_spec(PEER_PACKAGE) is not None else None


class NanoGuardPeer:
    """NanoGuard on the CPU with a fixed number of torch threads.

    Calling the peer scans one prompt with `NanoGuard.scan`, which includes tokenisation, the
    forward pass and the softmax, as `Guard.check` includes its own pre- and post-processing.
    """

    def __init__(self, threads: int) -> None:
        import torch
        from nanoguard import NanoGuard

        torch.set_num_threads(threads)
        # The default device "auto" would pick a GPU where one is visible.
        self.scanner = NanoGuard(device="cpu")
        self.version = peer_version()

    @property
    def sequence_length(self) -> int:
        return int(self.scanner.config.sequence_len)

    @property
    def description(self) -> str:
        info = self.scanner.info()
        config = info["config"]
        return (f"NanoGuard from {PEER_DISTRIBUTION} {self.version}, "
                f"{info['params_M']:.1f}M parameters, {config['n_layer']} layers of width "
                f"{config['n_embd']}, every prompt padded to {config['sequence_len']} tokens")

    def token_count(self, prompt: str) -> int:
        """Count the prompt's tokens with the peer's tokenizer, BOS included, before truncation."""
        return len(self.scanner.tokenizer.encode(prompt, max_length=sys.maxsize))

    def files(self) -> list[Path]:
        """List the weight and tokenizer files that the wheel ships."""
        spec = importlib.util.find_spec(f"{PEER_PACKAGE}.assets")
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{PEER_PACKAGE}.assets not found; reinstall {PEER_DISTRIBUTION}")
        return [Path(spec.origin).parent / name for name in PEER_ASSETS]

    def __call__(self, prompt: str) -> object:
        return self.scanner.scan(prompt)

    def scan_batch(self, prompts: list[str]) -> object:
        return self.scanner.scan_batch(prompts)


def run_worker(config: dict[str, Any]) -> None:
    """Load the peer, scan the first prompt, run the remaining scans, print peak RSS.

    With `checks` above 0 the worker scans each prompt that many times and then once in a batch,
    the same work as the ONNX guard's worker in latency.py.
    """
    peer = NanoGuardPeer(config["threads"])
    peer(config["first_prompt"])
    if config["checks"] > 0:
        for prompt in config["prompts"]:
            for _ in range(config["checks"]):
                peer(prompt)
            peer.scan_batch([prompt] * config["batch_size"])
    print(json.dumps({"max_rss_kib": peak_rss_kib()}))


if __name__ == "__main__":
    run_worker(json.loads(sys.argv[1]))
