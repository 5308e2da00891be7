"""Reader for the AI Red Team seed files (a small subset of YAML, without a YAML library).

The files hold top-level `key: value` lines and a `seeds:` list whose items start with
`  - value: ...` and carry indented keys (`seed_type`, `role`, `harm_categories` as a list,
`metadata` with `translated_value`). Block scalars (`|-`) and double-quoted values occur.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_ITEM = re.compile(r"^  - value:\s?(.*)$")
_ITEM_KEY = re.compile(r"^    (\w+):\s?(.*)$")
_LIST_ENTRY = re.compile(r"^    - (.*)$")
_NESTED_KEY = re.compile(r"^      (\w+):\s?(.*)$")
_TOP_KEY = re.compile(r"^(\w+):\s?(.*)$")


def read_airt_seeds(path: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Return the file's top-level scalar keys and its seeds, each a dict with `value`."""
    header: dict[str, str] = {}
    seeds: list[dict[str, Any]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    in_seeds = False
    list_key: str | None = None
    block: list[str] | None = None
    for line in lines:
        if block is not None:
            if line.startswith("      ") or not line.strip():
                block.append(line[6:])
                continue
            seeds[-1]["value"] = "\n".join(block).rstrip("\n")
            block = None
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if not in_seeds:
            match = _TOP_KEY.match(line)
            if match and match.group(1) == "seeds":
                in_seeds = True
            elif match:
                header[match.group(1)] = match.group(2)
            continue
        if match := _ITEM.match(line):
            seeds.append({"value": _scalar(match.group(1))})
            list_key = None
            if match.group(1) in ("|", "|-"):
                block = []
        elif (match := _LIST_ENTRY.match(line)) and list_key is not None and seeds:
            seeds[-1].setdefault(list_key, []).append(_scalar(match.group(1)))
        elif (match := _ITEM_KEY.match(line)) and seeds:
            key, value = match.group(1), match.group(2)
            list_key = key if not value else None
            if value:
                seeds[-1][key] = _scalar(value)
        elif (match := _NESTED_KEY.match(line)) and seeds:
            seeds[-1][match.group(1)] = _scalar(match.group(2))
    if block is not None and seeds:
        seeds[-1]["value"] = "\n".join(block).rstrip("\n")
    return header, seeds


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return str(json.loads(text))
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text
