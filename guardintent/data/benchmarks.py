"""Evaluation benchmarks for `guardintent eval`, and the texts training data must not contain.

Each benchmark is read from its dataset folder under the data directory. Benchmarks whose
files are absent are left out of `load_benchmarks`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from guardintent.data._io import iter_jsonl, read_csv, read_json, resolve_data_dir
from guardintent.data.intents import harmbench_category
from guardintent.data.schema import LABELS, Example, Label

HEADLINE: tuple[str, ...] = ("wildguardtest", "xstest", "aegis1-test")
BENIGN_ONLY = frozenset({"coconot-contrast", "mt-bench", "cyberseceval-frr"})
HARMFUL_ONLY = frozenset({"harmbench", "simplesafetytests"})

_AEGIS_START = "Human user:\n"
_AEGIS_END = "\n\nAI assistant:"


def read_jsonl_benchmark(path: str | os.PathLike[str], name: str) -> list[Example]:
    """Read a benchmark of JSON lines, each with `prompt` and `label` (harmful or unharmful).

    Example ids are `name:<line number>`.

    Raises:
        ValueError: the file is not UTF-8, a line is not a JSON object, or its prompt or label
            is missing or invalid.

    """
    path = Path(path)
    try:
        # Split on newlines only: a JSON string may contain other line separators.
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text ({error}); save it as UTF-8") from error
    examples = []
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}, line {line_number}: invalid JSON ({error})") from error
        if not isinstance(row, dict):
            raise ValueError(f"{path}, line {line_number}: expected an object, got {row!r}")
        missing = [field for field in ("prompt", "label") if field not in row]
        if missing:
            raise ValueError(
                f"{path}, line {line_number}: missing field {' and '.join(missing)}; each line "
                f"needs a \"prompt\" string and a \"label\" of {' or '.join(LABELS)} "
                f"(found fields: {', '.join(sorted(row)) or 'none'})"
            )
        prompt, label = row["prompt"], row["label"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(
                f"{path}, line {line_number}: invalid prompt {prompt!r}; "
                f"expected a non-empty string"
            )
        if label not in LABELS:
            raise ValueError(
                f"{path}, line {line_number}: invalid label {label!r}; "
                f"expected one of {', '.join(LABELS)}"
            )
        examples.append(_example(prompt, label, name, f"{name}:{line_number}"))
    return examples


def load_benchmarks(data_dir: str | os.PathLike[str] | None) -> dict[str, list[Example]]:
    """Load every evaluation benchmark whose files are present, keyed by benchmark name."""
    root = resolve_data_dir(data_dir)
    benchmarks = {}
    for name, (required, loader) in _LOADERS.items():
        if (root / required).is_file():
            benchmarks[name] = loader(root)
    return benchmarks


def load_headline_benchmarks(data_dir: str | os.PathLike[str] | None
                             ) -> dict[str, list[Example]]:
    """Load the headline benchmarks (`HEADLINE`) that are present, in `HEADLINE` order.

    Raises ValueError naming them when none is present.
    """
    benchmarks = load_benchmarks(data_dir)
    headline = {name: benchmarks[name] for name in HEADLINE if name in benchmarks}
    if not headline:
        raise ValueError(f"none of the headline benchmarks ({', '.join(HEADLINE)}) was found in "
                         f"the data directory; add at least one of their folders")
    return headline


def reference_texts(data_dir: str | os.PathLike[str] | None) -> dict[str, list[str]]:
    """Collect every evaluation prompt that training data must not match, by evaluation file.

    This is wider than `load_benchmarks`: it includes unlabelled WildGuardTest rows, HarmBench
    copyright behaviours, prompt-injection inputs and second MT-Bench turns.
    """
    root = resolve_data_dir(data_dir)
    texts: dict[str, list[str]] = {}
    if (root / "wildguardtest/wildguardtest_dev.parquet").is_file():
        rows = _read_parquet(root / "wildguardtest/wildguardtest_dev.parquet", ["prompt"])
        texts["wildguardtest"] = [row["prompt"] for row in rows if row["prompt"]]
    for name in ("xstest", "aegis1-test", "simplesafetytests", "coconot-contrast"):
        required, loader = _LOADERS[name]
        if (root / required).is_file():
            texts[name] = [example.prompt for example in loader(root)]
    harmbench = root / "harmbench/harmbench_behaviors_text_all.csv"
    if harmbench.is_file():
        texts["harmbench"] = [_harmbench_prompt(row) for row in read_csv(harmbench)]
    for file_name, column in (("harmful-behaviors.csv", "Goal"), ("benign-behaviors.csv", "goal")):
        path = root / "jailbreakbench" / file_name
        if path.is_file():
            texts[f"jailbreakbench/{file_name}"] = [row[column] for row in read_csv(path)]
    frr = root / "cyberseceval/mitre_frr.json"
    if frr.is_file():
        texts["cyberseceval/mitre_frr"] = [row["mutated_prompt"] for row in read_json(frr)]
    injection = root / "cyberseceval/prompt_injection.json"
    if injection.is_file():
        texts["cyberseceval/prompt_injection"] = [row["user_input"] for row in read_json(injection)]
    for file_name in ("mt_bench_question.jsonl", "vicuna_bench_question.jsonl"):
        path = root / "mt-bench" / file_name
        if path.is_file():
            texts[f"mt-bench/{file_name}"] = [
                turn for row in iter_jsonl(path) for turn in row["turns"]
            ]
    return texts


def _example(
    prompt: str,
    label: Label,
    source: str,
    example_id: str,
    intent: str | None = None,
    category: str | None = None,
) -> Example:
    return Example(
        prompt=prompt, label=label, intent=intent, category=category, source=source, id=example_id
    )


def _read_parquet(path: Path, columns: list[str]) -> list[dict[str, object]]:
    try:
        import pyarrow.parquet as parquet
    except ImportError as error:
        raise ImportError(
            f"reading {path.name} needs pyarrow; install it with: pip install 'guardintent[eval]'"
        ) from error
    return parquet.read_table(path, columns=columns).to_pylist()


def _load_wildguardtest(root: Path) -> list[Example]:
    rows = _read_parquet(
        root / "wildguardtest/wildguardtest_dev.parquet", ["prompt", "prompt_harm_label"]
    )
    examples = []
    for position, row in enumerate(rows):
        label = row["prompt_harm_label"]
        if label in LABELS:
            examples.append(
                _example(str(row["prompt"]), label, "wildguardtest", f"wildguardtest:{position}")
            )
    return examples


def _load_xstest(root: Path) -> list[Example]:
    return [
        _example(
            row["prompt"],
            "harmful" if row["label"] == "unsafe" else "unharmful",
            "xstest",
            f"xstest:{row['id']}",
        )
        for row in read_csv(root / "xstest/xstest_prompts.csv")
    ]


def _load_aegis(root: Path) -> list[Example]:
    examples = []
    for position, row in enumerate(read_json(root / "aegis1-test/AegisSafetyTest.json")):
        text = row["input"]
        start = text.index(_AEGIS_START) + len(_AEGIS_START)
        end = text.index(_AEGIS_END, start)
        label = "harmful" if row["output"] == "harmful" else "unharmful"
        examples.append(_example(text[start:end], label, "aegis1-test", f"aegis1-test:{position}"))
    return examples


def _harmbench_prompt(row: dict[str, str]) -> str:
    if row["FunctionalCategory"] == "contextual" and row["ContextString"]:
        return row["ContextString"] + "\n\n" + row["Behavior"]
    return row["Behavior"]


def _load_harmbench(root: Path) -> list[Example]:
    return [
        _example(
            _harmbench_prompt(row),
            "harmful",
            "harmbench",
            f"harmbench:{row['BehaviorID']}",
            intent=row["Behavior"],
            category=harmbench_category(row["SemanticCategory"]),
        )
        for row in read_csv(root / "harmbench/harmbench_behaviors_text_all.csv")
        if row["FunctionalCategory"] != "copyright"
    ]


def _load_simplesafetytests(root: Path) -> list[Example]:
    return [
        _example(
            row["prompts_final"], "harmful", "simplesafetytests", f"simplesafetytests:{row['id']}"
        )
        for row in read_csv(root / "simplesafetytests/simplesafetytests_test_cases.csv")
    ]


def _load_jailbreakbench(root: Path) -> list[Example]:
    harmful = [
        _example(row["Goal"], "harmful", "jailbreakbench", f"jailbreakbench:harmful-{row['']}")
        for row in read_csv(root / "jailbreakbench/harmful-behaviors.csv")
    ]
    benign_path = root / "jailbreakbench/benign-behaviors.csv"
    benign = [
        _example(
            row["goal"], "unharmful", "jailbreakbench", f"jailbreakbench:benign-{row['index']}"
        )
        for row in (read_csv(benign_path) if benign_path.is_file() else [])
    ]
    return harmful + benign


def _load_coconot_contrast(root: Path) -> list[Example]:
    return [
        _example(row["prompt"], "unharmful", "coconot-contrast", f"coconot:{row['id']}")
        for row in iter_jsonl(root / "coconot/coconot_contrast_eval.jsonl")
    ]


def _load_mt_bench(root: Path) -> list[Example]:
    examples = []
    for file_name, prefix in (
        ("mt_bench_question.jsonl", "mt"),
        ("vicuna_bench_question.jsonl", "vicuna"),
    ):
        path = root / "mt-bench" / file_name
        if path.is_file():
            examples += [
                _example(
                    row["turns"][0],
                    "unharmful",
                    "mt-bench",
                    f"mt-bench:{prefix}-{row['question_id']}",
                )
                for row in iter_jsonl(path)
            ]
    return examples


def _load_cyberseceval_frr(root: Path) -> list[Example]:
    return [
        _example(row["mutated_prompt"], "unharmful", "cyberseceval-frr", f"cyberseceval:frr-{i}")
        for i, row in enumerate(read_json(root / "cyberseceval/mitre_frr.json"))
    ]


# Benchmark name -> (file whose presence enables it, loader).
_LOADERS: dict[str, tuple[str, Callable[[Path], list[Example]]]] = {
    "wildguardtest": ("wildguardtest/wildguardtest_dev.parquet", _load_wildguardtest),
    "xstest": ("xstest/xstest_prompts.csv", _load_xstest),
    "aegis1-test": ("aegis1-test/AegisSafetyTest.json", _load_aegis),
    "harmbench": ("harmbench/harmbench_behaviors_text_all.csv", _load_harmbench),
    "simplesafetytests": (
        "simplesafetytests/simplesafetytests_test_cases.csv",
        _load_simplesafetytests,
    ),
    "jailbreakbench": ("jailbreakbench/harmful-behaviors.csv", _load_jailbreakbench),
    "coconot-contrast": ("coconot/coconot_contrast_eval.jsonl", _load_coconot_contrast),
    "mt-bench": ("mt-bench/mt_bench_question.jsonl", _load_mt_bench),
    "cyberseceval-frr": ("cyberseceval/mitre_frr.json", _load_cyberseceval_frr),
}
