"""Scan a Ray Data dataset of prompts with a guard, one guard per Ray worker.

- `BatchChecker` is a callable class for `Dataset.map_batches`. Ray creates one instance per
  actor, so each worker loads its guard once and reuses it for every batch it receives.
- `scan_dataset(ds)` applies `BatchChecker` to a dataset and returns the lazy result dataset.

Each output row is the input row plus result columns, by default `verdict`, `score`, `intent`,
`intent_confidence`, `decided_by` and `categories` (the category probabilities as a JSON
object string). The values are those of `Guard.check_batch`, so they match `Guard.check` on
the row's prompt up to the float32 rounding of a padded batch.

Needs the `[ray]` extra: `pip install 'guardintent[ray]'`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np

from guardintent.errors import MissingExtraError
from guardintent.guard import Guard
from guardintent.result import CheckResult

try:
    import pandas as pd
    import ray
    import ray.data
except ImportError as error:
    raise MissingExtraError("guardintent.integrations.ray", "ray", str(error)) from error

__all__ = ["RESULT_COLUMNS", "BatchChecker", "scan_dataset"]

_EXTRACTORS: dict[str, Callable[[CheckResult], Any]] = {
    "verdict": lambda result: result.verdict.value,
    "score": lambda result: result.score,
    "intent": lambda result: result.intent,
    "intent_confidence": lambda result: result.intent_confidence,
    "decided_by": lambda result: result.decided_by,
    "categories": lambda result: json.dumps(result.categories),
}
RESULT_COLUMNS: tuple[str, ...] = tuple(_EXTRACTORS)
_FLOAT_COLUMNS = frozenset({"score", "intent_confidence"})


class BatchChecker:
    """A `map_batches` function that adds guard result columns to each batch of prompts.

    `package` is a guard package directory, or None for the bundled guard, and
    `guard_options` are the keyword options of `Guard`. Without a `threads` option, the guard
    uses as many onnxruntime threads as the CPUs that Ray assigned to this worker, so that
    several workers on one machine do not compete for all of its CPUs.

    `columns` selects the result columns from `RESULT_COLUMNS`, and `prefix` is prepended to
    their names, for example "guard_" for `guard_verdict`. A batch that already has one of the
    output column names raises `ValueError`, so no input column is overwritten. Batches may
    be pandas DataFrames or dicts of numpy arrays (`batch_format="pandas"` or `"numpy"`).
    """

    def __init__(
        self,
        package: str | PathLike[str] | None = None,
        *,
        prompt_column: str = "prompt",
        columns: Sequence[str] = RESULT_COLUMNS,
        prefix: str = "",
        **guard_options: Any,
    ) -> None:
        self.prompt_column = prompt_column
        self.columns = _validate_columns(columns)
        self.prefix = prefix
        if "threads" not in guard_options:
            guard_options["threads"] = _assigned_cpus()
        self.guard = Guard(package, **guard_options)

    def __call__(
        self, batch: pd.DataFrame | dict[str, np.ndarray]
    ) -> pd.DataFrame | dict[str, np.ndarray]:
        """Check the prompts of one batch and return the batch with the result columns added."""
        if isinstance(batch, pd.DataFrame):
            names = list(batch.columns)
        elif isinstance(batch, Mapping):
            names = list(batch)
        else:
            raise TypeError(
                f"BatchChecker takes a pandas DataFrame or a dict of numpy arrays, got "
                f"{type(batch).__name__}; pass batch_format='pandas' or 'numpy' to map_batches"
            )
        self._check_names(names)

        prompts = _read_prompts(list(batch[self.prompt_column]), self.prompt_column)
        results = self.guard.check_batch(prompts)
        added = {self.prefix + name: _column(name, results) for name in self.columns}
        if isinstance(batch, pd.DataFrame):
            return batch.assign(**added)
        return {**batch, **added}

    def _check_names(self, names: list[str]) -> None:
        if self.prompt_column not in names:
            raise ValueError(
                f"the batch has no prompt column {self.prompt_column!r}, only {names}; "
                "set prompt_column"
            )
        for name in self.columns:
            if self.prefix + name in names:
                raise ValueError(
                    f"the batch already has a column {self.prefix + name!r}; rename it, "
                    "set prefix or leave it out of columns"
                )


def scan_dataset(
    ds: ray.data.Dataset,
    *,
    package: str | PathLike[str] | None = None,
    prompt_column: str = "prompt",
    batch_size: int = 64,
    concurrency: int | tuple[int, int] = 1,
    num_cpus: float = 1,
    columns: Sequence[str] = RESULT_COLUMNS,
    prefix: str = "",
    **guard_options: Any,
) -> ray.data.Dataset:
    """Return `ds` with guard result columns added to every row, computed lazily by Ray.

    `concurrency` is the number of guard workers, or a `(min, max)` range for an autoscaling
    pool, and `num_cpus` is the CPUs that Ray reserves for each of them. `batch_size` is the
    number of prompts per `Guard.check_batch` call. The other arguments are those of
    `BatchChecker`. Nothing runs until the result is consumed, for example by `write_json`.

    NOTE: each worker reserves its `num_cpus` until the scan ends, and the read tasks need CPUs
    too. When the workers take every CPU of the cluster, the reads never start and the scan
    waits forever, so leave at least one CPU free.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    _validate_columns(columns)
    return ds.map_batches(
        BatchChecker,
        fn_constructor_args=(package,),
        fn_constructor_kwargs={
            "prompt_column": prompt_column,
            "columns": tuple(columns),
            "prefix": prefix,
            **guard_options,
        },
        batch_size=batch_size,
        batch_format="pandas",
        compute=_actor_pool(concurrency),
        num_cpus=num_cpus,
    )


def _actor_pool(concurrency: int | tuple[int, int]) -> ray.data.ActorPoolStrategy:
    # Ray 2.51 deprecated the `concurrency` argument of map_batches in favour of `compute`.
    if isinstance(concurrency, tuple) and len(concurrency) == 2:
        return ray.data.ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(
            f"concurrency must be a positive int or a (min, max) tuple, got {concurrency!r}"
        )
    return ray.data.ActorPoolStrategy(size=concurrency)


def _validate_columns(columns: Sequence[str]) -> tuple[str, ...]:
    if isinstance(columns, str) or not isinstance(columns, (list, tuple)) or not columns:
        raise ValueError(f"columns must be a non-empty list of names, got {columns!r}")
    unknown = [name for name in columns if name not in _EXTRACTORS]
    if unknown:
        raise ValueError(f"unknown result columns {unknown}; choose from {list(RESULT_COLUMNS)}")
    return tuple(columns)


def _read_prompts(values: list[Any], prompt_column: str) -> list[str]:
    # A missing JSON field reads as None or NaN, and a guard must not pass it as unharmful.
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise TypeError(
                f"row {index} of the batch: {prompt_column!r} must be a str, got "
                f"{type(value).__name__} {value!r}"
            )
    return values


def _column(name: str, results: list[CheckResult]) -> np.ndarray:
    values = [_EXTRACTORS[name](result) for result in results]
    if name in _FLOAT_COLUMNS:
        return np.asarray(values, dtype=np.float64)
    # Object arrays keep None (the intent of an empty prompt) as a null, not the text "None".
    return np.asarray(values, dtype=object)


def _assigned_cpus() -> int | None:
    """Return the whole CPUs that Ray assigned to this worker, or None outside Ray."""
    # Outside Ray, for example when a test calls the class directly, the Guard default applies.
    if not ray.is_initialized():
        return None
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    return max(1, int(cpus))
