"""Adapters that put a guard in front of other frameworks' models.

Each submodule needs its framework's optional dependencies and imports them itself:

- `guardintent.integrations.langchain`: `GuardMiddleware` for LangChain agents and
  `guard_runnable` for plain LangChain runnables; needs the `[langchain]` extra.
- `guardintent.integrations.ray`: `BatchChecker` for `Dataset.map_batches` and
  `scan_dataset` for Ray Data datasets of prompts; needs the `[ray]` extra.
"""
