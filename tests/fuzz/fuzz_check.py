"""Fuzz `Guard.check` with generated hostile text and count undocumented exceptions.

Run it directly from the repository root, not through pytest (leave out `PYTHONPATH=.`
when guardintent is installed):

    PYTHONPATH=. python tests/fuzz/fuzz_check.py --package path/to/package --count 5000

Inputs are random Unicode over all planes (lone surrogates included), byte soup decoded
with `surrogateescape` or `replace`, long runs of one character or word, and mixed-script
text with look-alike letters, leetspeak, letter spacing, invisible characters and base64.
Every 50th input is also checked inside a `check_batch` call.

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
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from guardintent import CheckResult, Guard, GuardIntentError

DOCUMENTED = (TypeError, ValueError)
BATCH_EVERY = 50
EXAMPLES_SHOWN = 5

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


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "random_unicode": random_unicode,
    "byte_soup": byte_soup,
    "long_run": long_run,
    "mixed_scripts": mixed_scripts,
}


def is_valid(result: CheckResult) -> bool:
    if not isinstance(result, CheckResult) or math.isnan(result.score):
        return False
    if not 0.0 <= result.score <= 1.0:
        return False
    return all(0.0 <= probability <= 1.0 for probability in result.categories.values())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--package", type=Path, default=None, help="guard package directory (default: bundled)"
    )
    parser.add_argument("--count", type=int, default=1_000_000, help="inputs to check")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the inputs")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 on TypeError and ValueError too"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        guard = Guard(args.package, threads=args.threads)
    except GuardIntentError as error:
        sys.stderr.write(f"cannot load the guard: {error}\n")
        return 2

    rng = random.Random(args.seed)
    names = list(GENERATORS)
    inputs: Counter[str] = Counter()
    documented: Counter[str] = Counter()
    undocumented: Counter[str] = Counter()
    invalid = 0
    examples: list[str] = []
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    start = time.monotonic()

    checked = 0
    while checked < args.count and (deadline is None or time.monotonic() < deadline):
        name = names[checked % len(names)]
        prompt = GENERATORS[name](rng)
        inputs[name] += 1
        checked += 1
        try:
            results = [guard.check(prompt)]
            if checked % BATCH_EVERY == 0:
                results.extend(guard.check_batch([prompt, "bake bread", prompt[:100]]))
        except Exception as error:  # every exception is counted and reported
            kind = documented if isinstance(error, DOCUMENTED) else undocumented
            kind[type(error).__name__] += 1
            if len(examples) < EXAMPLES_SHOWN:
                trace = "".join(traceback.format_exception_only(type(error), error)).strip()
                examples.append(f"{name} {prompt[:200]!r}: {trace}")
            continue
        if not all(is_valid(result) for result in results):
            invalid += 1
            if len(examples) < EXAMPLES_SHOWN:
                examples.append(f"{name} {prompt[:200]!r}: invalid result {results}")

    elapsed = time.monotonic() - start
    lines = [
        f"checked {checked} inputs in {elapsed:.1f} s ({checked / max(elapsed, 1e-9):.0f}/s)",
        "inputs by generator: " + ", ".join(f"{k}={v}" for k, v in sorted(inputs.items())),
        f"documented exceptions (TypeError, ValueError): {dict(documented)}",
        f"undocumented exceptions: {dict(undocumented)}",
        f"invalid results: {invalid}",
        *(f"example: {example}" for example in examples),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    failed = undocumented or invalid or (args.strict and documented)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
