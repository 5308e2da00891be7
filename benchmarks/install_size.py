"""Measure the disk space that a set of installed Python distributions and their requirements take.

Requirements are followed as `pip install NAME` would install them: the named distributions
without extras, and the extras that a requirement names, such as `ray[data]`. Each
distribution is counted once. Sizes are read from this environment: the files listed in each
distribution's RECORD (which include the bytecode pip compiled), or for an editable install
every file in the folders of its top-level packages, bytecode included. So the figures
describe what is installed here, which can differ from a fresh install on another platform,
and an editable install counts whatever else lies in its source folders.

    python benchmarks/install_size.py guardintent             # the guard's core install
    python benchmarks/install_size.py torch transformers      # the PyTorch baseline's
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import importlib.util
import json
import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", help="distribution names, e.g. guardintent")
    args = parser.parse_args(argv)
    for name in args.names:
        if "[" in name:
            print(f"error: {name!r} names extras, which this script does not take; give the "
                  "distribution names alone, and add the distributions an extra installs",
                  file=sys.stderr)
            return 2
    try:
        sizes = install_sizes(args.names)
    except metadata.PackageNotFoundError as error:
        print(f"error: distribution {error.name!r} is not installed in this environment; "
              f"install it with pip install {error.name}, or check the name", file=sys.stderr)
        return 2
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"{size / 2**20:9.1f} MiB  {name}")
    print(f"{sum(sizes.values()) / 2**20:9.1f} MiB  in all ({len(sizes)} distributions)")
    return 0


def install_size_mib(names: list[str]) -> float:
    """Return the MiB on disk of `names` and everything they require."""
    return sum(install_sizes(names).values()) / 2**20


def install_sizes(names: list[str]) -> dict[str, int]:
    """Map each distribution in the requirement closure of `names` to its bytes on disk.

    Raises `importlib.metadata.PackageNotFoundError` when one of `names` is not installed. A
    requirement that is not installed is left out: its environment marker excluded it, or
    the environment lacks it.
    """
    sizes: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    pending = [(canonicalize_name(name), "") for name in names]
    required_by_caller = {name for name, _ in pending}
    while pending:
        name, extra = pending.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if name in required_by_caller:
                raise
            continue
        if name not in sizes:
            sizes[name] = distribution_size(distribution)
        for requirement in requirements_for(distribution, extra):
            required = canonicalize_name(requirement.name)
            pending += [(required, ""), *((required, wanted) for wanted in requirement.extras)]
    return sizes


def requirements_for(distribution: metadata.Distribution, extra: str) -> list[Requirement]:
    """Return the requirements that apply here for `extra` ("" for the distribution alone)."""
    requirements = []
    for text in distribution.requires or []:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None:
            applies = extra == ""
        else:
            applies = requirement.marker.evaluate({"extra": extra})
            # With an extra, only the requirements that the extra adds are new.
            if extra and requirement.marker.evaluate({"extra": ""}):
                applies = False
        if applies:
            requirements.append(requirement)
    return requirements


def distribution_size(distribution: metadata.Distribution) -> int:
    """Return the bytes of a distribution's installed files."""
    if _is_editable(distribution):
        return sum(_folder_size(folder) for folder in _package_folders(distribution))
    total = 0
    for file in distribution.files or []:
        path = Path(distribution.locate_file(file))
        if path.is_file():
            total += path.stat().st_size
    return total


def _is_editable(distribution: metadata.Distribution) -> bool:
    text = distribution.read_text("direct_url.json")
    if not text:
        return False
    return bool(json.loads(text).get("dir_info", {}).get("editable", False))


def _package_folders(distribution: metadata.Distribution) -> list[Path]:
    """Return the folders of an editable distribution's top-level packages."""
    names = (distribution.read_text("top_level.txt") or "").split()
    names = names or [distribution.metadata["Name"].replace("-", "_")]
    folders = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders += [Path(location) for location in spec.submodule_search_locations]
    return folders


def _folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


if __name__ == "__main__":
    sys.exit(main())
