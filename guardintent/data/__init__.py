"""Dataset adapters: the training set, the evaluation benchmarks and decontamination."""

from guardintent.data._io import resolve_data_dir
from guardintent.data.benchmarks import (
    BENIGN_ONLY,
    HARMFUL_ONLY,
    HEADLINE,
    load_benchmarks,
    load_headline_benchmarks,
    read_jsonl_benchmark,
)
from guardintent.data.decontamination import decontaminate
from guardintent.data.schema import Example
from guardintent.data.training import TrainingSet, load_training_set

__all__ = [
    "BENIGN_ONLY",
    "HARMFUL_ONLY",
    "HEADLINE",
    "Example",
    "TrainingSet",
    "decontaminate",
    "load_benchmarks",
    "load_headline_benchmarks",
    "load_training_set",
    "read_jsonl_benchmark",
    "resolve_data_dir",
]
