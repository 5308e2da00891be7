"""PyTorch → ONNX conversion of the guard model, and int8 dynamic quantisation."""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from guardintent.train.model import IntentGuardModel

logger = logging.getLogger(__name__)

INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAMES = ("harm_logits", "category_logits", "intent_embedding", "pooled_embedding")


class _GraphModule(nn.Module):
    """Expose the model's forward pass as a plain tuple, in the package's output order."""

    def __init__(self, model: IntentGuardModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor
                ) -> tuple[torch.Tensor, ...]:
        return tuple(self.model(input_ids, attention_mask))


def export_onnx(model: IntentGuardModel, path: Path, opset: int = 17) -> None:
    """Write the model's prompt side to `path` as an fp32 ONNX graph with dynamic batch and length.

    Uses the TorchScript-based exporter (`dynamo=False`): on torch 2.13 it exported this model
    about ten times faster than the dynamo exporter, with the same graph outputs.
    """
    model.eval()
    # The eager attention path traces to plain MatMul/Softmax nodes that every runtime supports.
    model.encoder.config._attn_implementation = "eager"
    example = torch.ones(2, 16, dtype=torch.long)
    dynamic = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        # Tracing warns that a constant mask value becomes part of the graph; that is intended.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # torch 2.13 warns twice on every `dynamo=False` export: once about the exporter chosen
        # above on purpose and once from its own internals. Neither warning calls for a change.
        warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export",
                                DeprecationWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx\.")
        torch.onnx.export(
            _GraphModule(model).eval(), (example, torch.ones_like(example)), str(path),
            input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
            dynamic_axes={
                "input_ids": dynamic, "attention_mask": dynamic,
                **{name: {0: "batch"} for name in OUTPUT_NAMES},
            },
            opset_version=opset, do_constant_folding=True, dynamo=False,
        )


def quantize_int8(fp32_path: Path, int8_path: Path) -> None:
    """Quantise weights to int8 per channel (activations stay dynamic).

    Per-channel scales matter here: on this model per-tensor int8 kept the verdict but changed the
    top-1 intent far more often. Shape inference and graph optimisation run first through
    `quant_pre_process`; quantising after onnxruntime's own offline optimiser failed.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_dynamic(str(prepared), str(int8_path), per_channel=True,
                         weight_type=QuantType.QInt8)
