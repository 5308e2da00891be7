"""The trainer (needs the `[train]` extra: torch, transformers, accelerate)."""
