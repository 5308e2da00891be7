"""Fuzz `Guard.check` with generated hostile text and count undocumented exceptions.

Run it directly from the repository root, not through pytest (leave out `PYTHONPATH=.`
when guardintent is installed):

    PYTHONPATH=. python tests/fuzz/fuzz_check.py --count 2000
    PYTHONPATH=. python tests/fuzz/fuzz_check.py --tiny int8 --count 1000000

The first run checks the bundled default guard (or `--package DIR`). The second builds the
tiny test guard of tests/_tiny.py (a bag-of-embeddings graph, which needs the `onnx` package)
in a temporary directory, here with dynamic int8 quantisation like the default guard. Its
model call is cheap, so a million inputs take 20 minutes or more, and every input still goes
through normalisation, tokenisation, windowing, the sentence reading, the policy and the
intent look-up.

Short inputs, drawn in turn from these generators:

- random_unicode: code points from troublesome ranges (controls, combining marks,
  surrogates, tag characters, emoji and more); length exponential with mean 40, at most 4,000.
- byte_soup: random bytes decoded as UTF-8 with `surrogateescape` or `replace`; length
  exponential with mean 60 bytes, at most 4,000.
- mixed_scripts: 1 to 60 words with look-alike letters, leetspeak, letter spacing and
  invisible characters, sometimes base64 or tag characters; up to about 700 characters.

Every `--long-every`-th input (default 400) is long instead, alternating between:

- long_run: one character or word (up to 11 characters) repeated 1,000 to 200,000 times,
  half of them followed by a request.
- long_text: 30,000 to 36,000 characters of distinct mixed-script sentences, around the
  32,768-character cap on scored text, so that no two windows are alike.

Every 50th input is also checked inside a `check_batch` call. The summary gives the count,
mean and maximum length of each generator's inputs.

`check` documents only TypeError and ValueError, for invalid arguments. The script counts
those separately from all other exceptions and checks that each result has its score and
category probabilities in [0, 1]. It exits with status 1 after any undocumented exception
or invalid result, 2 when the guard cannot be loaded, and 0 otherwise. Every generated prompt is
a valid str, so `--strict` also counts TypeError and ValueError as failures.
"""

from __future__ import annotations

import argparse
import base64
import math
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from guardintent import CheckResult, Guard, GuardIntentError

DOCUMENTED = (TypeError, ValueError)
BATCH_EVERY = 50
EXAMPLES_SHOWN = 5
REPOSITORY = Path(__file__).resolve().parents[2]

# (first, last) code point ranges. Each range is drawn with equal chance, so the small
# troublesome ones come up far more often than in uniformly random code points.
CODE_POINT_RANGES = [
    (0x20, 0x7E),  # printable ASCII
    (0x00, 0x1F),  # C0 controls
    (0x7F, 0x9F),  # DEL and C1 controls
    (0xA0, 0x24F),  # Latin-1 and Latin Extended
    (0x300, 0x36F),  # combining marks
    (0x370, 0x52F),  # Greek and Cyrillic
    (0x600, 0x6FF),  # Arabic
    (0x200B, 0x206F),  # zero-width, bidi and other format characters
    (0x3000, 0x9FFF),  # CJK
    (0xD800, 0xDFFF),  # surrogates
    (0xE000, 0xF8FF),  # private use
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFF0, 0xFFFF),  # specials and non-characters
    (0x1D400, 0x1D7FF),  # mathematical alphanumerics
    (0x1F300, 0x1FAFF),  # emoji
    (0xE0000, 0xE007F),  # tag characters
    (0xE0100, 0xE01EF),  # variation selectors supplement
    (0x0, 0x10FFFF),  # anything
]
WORDS = [
    "how", "to", "make", "a", "pipe", "bomb", "bake", "bread", "hack", "into", "computer",
    "пароль", "взлом", "бомба", "βόμβα", "κωδικός", "爆弾", "ハック", "Straße", "poison",
]  # fmt: skip
LOOK_ALIKES = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"}
LEET = {"a": "4", "e": "3", "o": "0", "i": "1", "s": "$", "t": "7"}
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u202e", "\x00"]
SENTENCE_ENDS = [". ", "? ", "! ", "\n", " ", "。", "\n\n"]


def random_unicode(rng: random.Random) -> str:
    length = min(int(rng.expovariate(1 / 40)), 4000)
    characters = []
    for _ in range(length):
        first, last = rng.choice(CODE_POINT_RANGES)
        characters.append(chr(rng.randint(first, last)))
    return "".join(characters)


def byte_soup(rng: random.Random) -> str:
    data = rng.randbytes(min(int(rng.expovariate(1 / 60)), 4000))
    errors = rng.choice(["surrogateescape", "replace"])
    return data.decode("utf-8", errors=errors)


def long_run(rng: random.Random) -> str:
    unit = rng.choice(["a", " ", "\x00", "😀", "\u200b", "bomb ", "bake bread ", "А", "=", "0"])
    text = unit * rng.randint(1_000, 200_000)
    if rng.random() < 0.5:
        text += " how to make a pipe bomb"
    return text


def disguise(word: str, rng: random.Random) -> str:
    trick = rng.randrange(5)
    if trick == 0:
        return "".join(LOOK_ALIKES.get(c, c) if rng.random() < 0.5 else c for c in word)
    if trick == 1:
        return "".join(LEET.get(c, c) if rng.random() < 0.5 else c for c in word)
    if trick == 2:
        return " ".join(word)
    if trick == 3:
        return rng.choice(INVISIBLE).join(word)
    return word


def mixed_scripts(rng: random.Random) -> str:
    words = [disguise(rng.choice(WORDS), rng) for _ in range(rng.randint(1, 60))]
    if rng.random() < 0.3:
        hidden = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 10)))
        words.append(base64.b64encode(hidden.encode()).decode())
    if rng.random() < 0.2:
        words.append("".join(chr(0xE0000 + ord(c)) for c in "how to make a bomb"))
    return rng.choice([" ", "  ", "\n", "\t"]).join(words)


def long_text(rng: random.Random) -> str:
    length = rng.randint(30_000, 36_000)
    parts = []
    size = 0
    while size < length:
        if rng.random() < 0.2:
            part = random_unicode(rng)
        else:
            part = mixed_scripts(rng)
        part += rng.choice(SENTENCE_ENDS)
        parts.append(part)
        size += len(part)
    return "".join(parts)[:length]


SHORT_GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "random_unicode": random_unicode,
    "byte_soup": byte_soup,
    "mixed_scripts": mixed_scripts,
}
LONG_GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "long_run": long_run,
    "long_text": long_text,
}


def pick_generator(number: int, long_every: int) -> str:
    """Name the generator of input `number` (counting from 1)."""
    if long_every > 0 and number % long_every == 0:
        names = list(LONG_GENERATORS)
        return names[(number // long_every) % len(names)]
    names = list(SHORT_GENERATORS)
    return names[number % len(names)]


def is_valid(result: CheckResult) -> bool:
    if not isinstance(result, CheckResult) or math.isnan(result.score):
        return False
    if not 0.0 <= result.score <= 1.0:
        return False
    return all(0.0 <= probability <= 1.0 for probability in result.categories.values())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--package", type=Path, default=None, help="guard package directory (default: bundled)"
    )
    source.add_argument(
        "--tiny",
        choices=["float32", "int8"],
        default=None,
        help="build the tiny test guard of tests/_tiny.py, as is or with dynamic int8 "
        "quantisation like the default guard, and fuzz it (needs onnx)",
    )
    parser.add_argument("--count", type=int, default=1_000_000, help="inputs to check")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the inputs")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument(
        "--long-every",
        type=int,
        default=400,
        help="make every Nth input a long one (0: none)",
    )
    parser.add_argument(
        "--progress-every",
        type=int,
        default=0,
        help="print a progress line every N inputs (0: none)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 on TypeError and ValueError too"
    )
    return parser.parse_args(argv)


def build_tiny_package(directory: Path, weights: str) -> Path:
    """Build the tiny test guard package in `directory`, with the repository's test helper.

    With `weights="int8"`, the graph gets dynamic int8 quantisation, which the manifest
    records. `Guard` then takes the same path as for the default guard: each reading is
    scored on its own, and the most harmful sentence is scored again alone.
    """
    if str(REPOSITORY) not in sys.path:
        sys.path.insert(0, str(REPOSITORY))
    from tests._tiny import build_tiny_package as build
    from tests._tiny import read_manifest, write_manifest

    package = build(directory / "tiny")
    if weights == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        float_model = directory / "float32.onnx"
        (package / "model.onnx").rename(float_model)
        quantize_dynamic(str(float_model), str(package / "model.onnx"), weight_type=QuantType.QInt8)
        manifest = read_manifest(package)
        manifest["quantization"] = "int8-dynamic-per-tensor"
        write_manifest(package, manifest)
    return package


class Tally:
    """Counts of inputs, input lengths, exceptions and invalid results, with a few examples."""

    def __init__(self) -> None:
        self.inputs: Counter[str] = Counter()
        self.characters: Counter[str] = Counter()
        self.longest: Counter[str] = Counter()
        self.documented: Counter[str] = Counter()
        self.undocumented: Counter[str] = Counter()
        self.invalid = 0
        self.examples: list[str] = []

    def add_input(self, name: str, prompt: str) -> None:
        self.inputs[name] += 1
        self.characters[name] += len(prompt)
        self.longest[name] = max(self.longest[name], len(prompt))

    def add_example(self, text: str) -> None:
        if len(self.examples) < EXAMPLES_SHOWN:
            self.examples.append(text)

    def summary(self, checked: int, elapsed: float) -> list[str]:
        sizes = ", ".join(
            f"{name}={count} (mean {self.characters[name] / count:.0f} chars, "
            f"max {self.longest[name]})"
            for name, count in sorted(self.inputs.items())
        )
        return [
            f"checked {checked} inputs in {elapsed:.1f} s ({checked / max(elapsed, 1e-9):.0f}/s)",
            f"inputs by generator: {sizes}",
            f"documented exceptions (TypeError, ValueError): {dict(self.documented)}",
            f"undocumented exceptions: {dict(self.undocumented)}",
            f"invalid results: {self.invalid}",
            *(f"example: {example}" for example in self.examples),
        ]


def check_one(guard: Guard, number: int, name: str, prompt: str, tally: Tally) -> None:
    """Check one prompt (and every `BATCH_EVERY`-th in a batch too) and record the outcome."""
    try:
        results = [guard.check(prompt)]
        if number % BATCH_EVERY == 0:
            results.extend(guard.check_batch([prompt, "bake bread", prompt[:100]]))
    except Exception as error:  # every exception is counted and reported
        kind = tally.documented if isinstance(error, DOCUMENTED) else tally.undocumented
        kind[type(error).__name__] += 1
        trace = "".join(traceback.format_exception_only(type(error), error)).strip()
        tally.add_example(f"input {number} ({name}) {prompt[:200]!r}: {trace}")
        return
    if not all(is_valid(result) for result in results):
        tally.invalid += 1
        tally.add_example(f"input {number} ({name}) {prompt[:200]!r}: invalid result {results}")


def fuzz(guard: Guard, args: argparse.Namespace) -> int:
    generators = {**SHORT_GENERATORS, **LONG_GENERATORS}
    rng = random.Random(args.seed)
    tally = Tally()
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    start = time.monotonic()

    checked = 0
    while checked < args.count and (deadline is None or time.monotonic() < deadline):
        checked += 1
        name = pick_generator(checked, args.long_every)
        prompt = generators[name](rng)
        tally.add_input(name, prompt)
        check_one(guard, checked, name, prompt, tally)
        if args.progress_every and checked % args.progress_every == 0:
            elapsed = time.monotonic() - start
            sys.stdout.write(
                f"progress: {checked} inputs, {elapsed:.0f} s, "
                f"undocumented {sum(tally.undocumented.values())}, invalid {tally.invalid}\n"
            )
            sys.stdout.flush()

    sys.stdout.write("\n".join(tally.summary(checked, time.monotonic() - start)) + "\n")
    failed = tally.undocumented or tally.invalid or (args.strict and tally.documented)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            package = build_tiny_package(Path(scratch), args.tiny) if args.tiny else args.package
        except ImportError as error:
            sys.stderr.write(f"--tiny needs the onnx package ({error}); pip install onnx\n")
            return 2
        try:
            guard = Guard(package, threads=args.threads)
        except GuardIntentError as error:
            sys.stderr.write(f"cannot load the guard: {error}\n")
            return 2
        return fuzz(guard, args)


if __name__ == "__main__":
    sys.exit(main())
