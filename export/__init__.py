"""Turn trained PyTorch checkpoints into guard packages (ONNX), and prove they match.

Needs the `[export]` extra (torch, transformers, onnx, onnxruntime). Reachable from the command
line as `guardintent export CHECKPOINT OUT`.
"""

from export.package import ExportOptions, export_guard
from export.parity import ParityTolerance

__all__ = ["ExportOptions", "ParityTolerance", "export_guard"]
