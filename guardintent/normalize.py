"""Undo the usual tricks that hide a prompt's text from a classifier.

`normalize_prompt` returns the text with each step below applied, in this order, and the
names of the steps that changed it:

- ``decode_tag_characters``: Unicode tag characters (U+E0000 to U+E007F) are invisible, and
  U+E0020 to U+E007E mirror printable ASCII, so they can carry a hidden instruction. A run of
  them is replaced by the ASCII it encodes. Emoji flag sequences (U+1F3F4 followed by tag
  letters and U+E007F), which use tags legitimately, are kept.
- ``nfkc``: Unicode NFKC, which maps fullwidth, mathematical and other compatibility forms
  to plain letters and digits.
- ``strip_invisible``: removes zero-width characters, the soft hyphen, bidirectional
  controls, runs of two or more variation selectors and control characters. Tab, newline and
  carriage return are kept, and the controls that separate words (vertical tab, form feed,
  U+001C to U+001F, U+0085) become spaces. A single zero-width joiner or non-joiner between
  two non-ASCII characters is kept, because emoji sequences and scripts such as Persian need
  it.
- ``decode_base64``: decodes each base64 run of at least 16 characters with valid padding.
  When the result is UTF-8 text of mostly printable characters with at least two words, it
  replaces the run, so the model reads the request without base64 noise around it. Binary
  data and random ids do not decode to such text and are left alone.
- ``fold_confusables``: inside a word that mixes Latin letters with Cyrillic or Greek ones,
  the Cyrillic and Greek look-alikes of Latin letters (Cyrillic "о" for "o") are replaced by
  the Latin letters, provided every Cyrillic and Greek letter of the word is a look-alike.
  A word written only in look-alikes ("ріре") is folded too when every Cyrillic and Greek
  letter of its sentence is a look-alike and the sentence has a Latin letter. Ordinary
  Russian or Greek sentences contain letters without a Latin twin, so they are not changed.
- ``join_spaced_letters``: a stretch of single letters separated by one space, with two
  spaces between words, is rejoined ("h o w  t o" becomes "how to") when one of its words
  has at least three letters. Hyphens and apostrophes spaced like letters inside such a
  stretch are rejoined with them ("s t e p - b y" becomes "step-by").
- ``undo_leetspeak``: in an ASCII word of letters with digits or symbols between letters
  ("b0mb", "h4ck", "m@ke"), 0 1 3 4 5 7 @ $ ! become o i e a s t a s i. A word is left alone
  when it has as many digits and symbols as letters, a digit outside that set, letters that
  are all hexadecimal digits or in mixed case ("aZ3kQ"), no letter on both sides of its
  digits ("mp3", "4chan"), or when it is part of a dotted, dashed or slashed name
  ("v1.2", "user@example.com", "SKU-4471-B").
  Once a text has one such word, it is read as leetspeak throughout: every other token of
  letters and the characters above is decoded as well ("m4k3", "p1p3", "1n70"), as are
  tokens of one or two of those digits ("4", "70"). Dotted, slashed and colon-joined
  names are still left alone, but dashes then join words ("573p-by-573p"), and "!" at the
  end of a token stays punctuation.

Plain ASCII text skips the steps that only non-ASCII text can need. Every pattern is matched
in time linear in the length of the text.

Callers that decide on a prompt should score the original text and, when normalisation
changed it (`applied` is not empty), the normalised text as well, and take the more harmful
of the two scores. The normalised text alone can lose meaning, for example when a product id
is read as leetspeak.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["STEP_NAMES", "Normalized", "normalize_prompt"]


@dataclass(frozen=True)
class Normalized:
    """A normalised prompt and the names of the steps that changed it, in the order applied."""

    text: str
    applied: tuple[str, ...]


def normalize_prompt(text: str) -> Normalized:
    """Normalise a prompt with the steps described in this module's docstring."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    steps = _ASCII_STEPS if text.isascii() else _ALL_STEPS
    applied = []
    for name, step in steps:
        changed = step(text)
        if changed != text:
            applied.append(name)
            text = changed
    return Normalized(text, tuple(applied))


# --- Unicode tag characters -------------------------------------------------------------

_TAGS = re.compile(
    "(\U0001f3f4[\U000e0030-\U000e0039\U000e0061-\U000e007a]{1,8}\U000e007f)"
    "|([\U000e0000-\U000e007f]+)"
)


def _decode_tag_characters(text: str) -> str:
    return _TAGS.sub(_decode_tag_run, text)


def _decode_tag_run(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return match.group(1)
    # U+E0020 to U+E007E encode ASCII 0x20 to 0x7E; the language tag U+E0001, the cancel
    # tag U+E007F and the unassigned rest encode nothing.
    hidden = "".join(
        chr(ord(character) - 0xE0000)
        for character in match.group(2)
        if 0xE0020 <= ord(character) <= 0xE007E
    )
    if not hidden:
        return ""
    # Spaces keep the hidden text from merging with the visible words around it.
    text, start, end = match.string, match.start(), match.end()
    before = " " if start > 0 and not text[start - 1].isspace() else ""
    after = " " if end < len(text) and not text[end].isspace() else ""
    return f"{before}{hidden}{after}"


# --- NFKC -------------------------------------------------------------------------------


def _nfkc(text: str) -> str:
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


# --- Invisible and control characters ---------------------------------------------------

_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"  # control characters other than the kept ones
    "\u00ad"  # soft hyphen
    "\u034f"  # combining grapheme joiner
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional controls
    "\u115f\u3164\u180e"  # Hangul fillers and the Mongolian vowel separator, shown as blanks
    "\u200b\u2060-\u2064\ufeff"  # zero-width space, word joiner, invisible operators, BOM
    "\u206a-\u206f\ufff9-\ufffb"  # deprecated format characters, interlinear annotation
    "]+"
    "|[\ufe00-\ufe0f\U000e0100-\U000e01ef]{2,}"  # runs of variation selectors
)
_WORD_SEPARATING_CONTROLS = re.compile("[\x0b\x0c\x1c-\x1f\x85]")
_JOINERS = re.compile("[\u200c\u200d]+")


def _strip_invisible(text: str) -> str:
    text = _WORD_SEPARATING_CONTROLS.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    if text.isascii():
        return text
    return _JOINERS.sub(_keep_needed_joiner, text)


def _keep_needed_joiner(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    if end - start > 1 or start == 0 or end == len(text):
        return ""
    before, after = text[start - 1], text[end]
    if before.isascii() or after.isascii() or before.isspace() or after.isspace():
        return ""
    return match.group()


# --- Base64 -----------------------------------------------------------------------------

_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_WORD = re.compile(r"[^\W\d_]{2,}")
_MIN_DECODED_WORDS = 2
_MIN_PRINTABLE_SHARE = 0.95
_MIN_LETTER_SHARE = 0.5


def _decode_base64(text: str) -> str:
    return _BASE64.sub(_replace_base64_run, text)


def _replace_base64_run(match: re.Match[str]) -> str:
    plain = _base64_to_text(match.group())
    return match.group() if plain is None else plain


def _base64_to_text(candidate: str) -> str | None:
    """Decode a base64 run to text, or return None when it is not base64 of readable text."""
    if len(candidate) % 4 != 0:
        return None
    try:
        plain = base64.b64decode(candidate, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not plain:
        return None
    printable = sum(character.isprintable() or character in "\t\n\r" for character in plain)
    if printable < _MIN_PRINTABLE_SHARE * len(plain):
        return None
    words = _WORD.findall(plain)
    if len(words) < _MIN_DECODED_WORDS:
        return None
    visible = len(plain) - sum(character.isspace() for character in plain)
    if sum(len(word) for word in words) < _MIN_LETTER_SHARE * visible:
        return None
    return plain


# --- Cyrillic and Greek look-alikes -----------------------------------------------------

_LOOK_ALIKES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s",
        "і": "i", "ј": "j", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l",
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
        "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ѕ": "S", "І": "I", "Ј": "J", "Ԛ": "Q",
        "Ԝ": "W", "Ӏ": "I",
        # Greek
        "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "υ": "u", "ϲ": "c",
        "ϳ": "j",
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    }
)  # fmt: skip
_LATIN = "A-Za-z\u00c0-\u024f"
_CYRILLIC_GREEK = "\u0370-\u03ff\u0400-\u052f"
# A word with at least one Latin and one Cyrillic or Greek letter. The lookbehind makes
# matching start only at word starts, which keeps the lookaheads linear overall.
_MIXED_WORD = re.compile(rf"(?<!\w)(?=\w*?[{_LATIN}])(?=\w*?[{_CYRILLIC_GREEK}])\w+")
_CYRILLIC_GREEK_LETTER = re.compile(rf"[{_CYRILLIC_GREEK}]")
_CYRILLIC_GREEK_WORD = re.compile(rf"(?<!\w)[{_CYRILLIC_GREEK}]+(?!\w)")
_LATIN_LETTER = re.compile(rf"[{_LATIN}]")
# A sentence: text up to and including its end mark or line break.
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?\n]+|$)")


def _fold_confusables(text: str) -> str:
    text = _MIXED_WORD.sub(_fold_word, text)
    if _CYRILLIC_GREEK_LETTER.search(text) is None:
        return text
    return _SENTENCE.sub(_fold_look_alike_sentence, text)


def _fold_look_alike_sentence(match: re.Match[str]) -> str:
    """Fold the words written only in look-alikes, in a sentence otherwise in Latin letters."""
    sentence = match.group()
    if _LATIN_LETTER.search(sentence) is None:
        return sentence
    folded = sentence.translate(_LOOK_ALIKES)
    if _CYRILLIC_GREEK_LETTER.search(folded) is not None:
        return sentence  # a letter without a Latin twin: real Cyrillic or Greek text
    return folded


def _fold_word(match: re.Match[str]) -> str:
    word = match.group()
    folded = word.translate(_LOOK_ALIKES)
    if _CYRILLIC_GREEK_LETTER.search(folded) is not None:
        return word
    return folded


# --- Letter-spaced words ----------------------------------------------------------------

# Single letters, and the hyphens and apostrophes inside words ("s t e p - b y", "e x ' s"),
# separated by one or two spaces. A stretch starts and ends with a letter.
_SPACED_LETTERS = re.compile(
    r"(?<!\S)[^\W\d_](?: {1,2}(?:[^\W\d_]|[-'\u2019]))*(?: {1,2}[^\W\d_])(?!\S)"
)
_WORD_GAP = re.compile(" {2}")
_MIN_SPACED_WORD = 3


def _join_spaced_letters(text: str) -> str:
    return _SPACED_LETTERS.sub(_join_letters, text)


def _join_letters(match: re.Match[str]) -> str:
    words = [word.replace(" ", "") for word in _WORD_GAP.split(match.group())]
    longest = max(sum(character.isalpha() for character in word) for word in words)
    if longest < _MIN_SPACED_WORD:
        return match.group()
    return " ".join(words)


# --- Leetspeak --------------------------------------------------------------------------

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
_LEET_TABLE = str.maketrans(_LEET)
_LEET_CHARS = "".join(_LEET)
# A token of letters, digits and @$! with a digit or symbol between two letters. The
# lookbehind lets a match start only at a token start, which keeps matching linear.
_LEET_WORD = re.compile(
    r"(?<![A-Za-z0-9@$!])[A-Za-z0-9@$!]*[A-Za-z][0134579@$!]+[A-Za-z][A-Za-z0-9@$!]*"
)
_NAME_JOINERS = "._-/\\:"
_HEX_LETTERS = frozenset("abcdefABCDEF")


# In a text already shown to use leetspeak: a token with a letter or leet character, and
# a run of "!" at its end, which is kept as punctuation.
_LEET_TOKEN = re.compile(
    r"(?<![A-Za-z0-9@$!])([A-Za-z0-9@$!]*?[A-Za-z0-9@$])(!*)(?![A-Za-z0-9@$!])"
)
_LEET_DIGITS_ONLY = re.compile(r"[0134579]{1,2}")
_DOTTED_NAME_JOINERS = "._/\\:"


def _undo_leetspeak(text: str) -> str:
    changed = _LEET_WORD.sub(_undo_leet_word, text)
    if changed == text:
        return text
    return _LEET_TOKEN.sub(_undo_leet_token, changed)


def _undo_leet_token(match: re.Match[str]) -> str:
    token, punctuation = match.group(1), match.group(2)
    if _is_part_of_name(match.string, match.start(), match.end(), _DOTTED_NAME_JOINERS):
        return match.group()
    if not any(character.isalpha() for character in token):
        if _LEET_DIGITS_ONLY.fullmatch(token) is None:
            return match.group()
    elif len(token) > sum(character.isalpha() or character in _LEET_CHARS for character in token):
        return match.group()  # a digit that is not a substitute: an id, not leetspeak
    plain = token.translate(_LEET_TABLE)
    letters = "".join(character for character in token if character.isalpha())
    if len(token) > 1 and letters.isupper():
        plain = plain.upper()
    return plain + punctuation


def _undo_leet_word(match: re.Match[str]) -> str:
    word = match.group()
    if _is_part_of_name(match.string, match.start(), match.end()):
        return word
    letters = "".join(character for character in word if character.isalpha())
    substitutes = sum(character in _LEET_CHARS for character in word)
    if substitutes >= len(letters) or len(letters) + substitutes < len(word):
        return word  # as many digits as letters, or a digit that is not a substitute
    if not (letters.islower() or letters.isupper() or letters.istitle()):
        return word
    if all(letter in _HEX_LETTERS for letter in letters):
        return word
    plain = word.translate(_LEET_TABLE)
    return plain.upper() if letters.isupper() else plain


def _is_part_of_name(text: str, start: int, end: int, joiners: str = _NAME_JOINERS) -> bool:
    """Check whether a token is joined to more text by one of `joiners`."""
    if start >= 2 and text[start - 1] in joiners and text[start - 2].isalnum():
        return True
    return end + 1 < len(text) and text[end] in joiners and text[end + 1].isalnum()


# --- Order of steps ---------------------------------------------------------------------

_Step = Callable[[str], str]
_ALL_STEPS: tuple[tuple[str, _Step], ...] = (
    ("decode_tag_characters", _decode_tag_characters),
    ("nfkc", _nfkc),
    ("strip_invisible", _strip_invisible),
    ("decode_base64", _decode_base64),
    ("fold_confusables", _fold_confusables),
    ("join_spaced_letters", _join_spaced_letters),
    ("undo_leetspeak", _undo_leetspeak),
)
# Tag characters, NFKC changes and look-alike letters never occur in ASCII text.
_ASCII_STEPS = tuple(
    (name, step)
    for name, step in _ALL_STEPS
    if name not in ("decode_tag_characters", "nfkc", "fold_confusables")
)
STEP_NAMES: tuple[str, ...] = tuple(name for name, _ in _ALL_STEPS)


# A prompt this long spans more than one window of the default guard (about 4 characters per
# token and 128-token windows).
SENTENCES_MIN_CHARS = 600
# Characters kept from the end of a longer sentence, well inside one window.
SENTENCE_MAX_CHARS = 400
# Consecutive sentences are joined until they have this many words.
SENTENCE_MIN_WORDS = 3
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """Split a long text into the sentences scored one by one; an empty list for a short text.

    A request inside thousands of tokens of benign text shares its window with that text,
    and mean pooling dilutes it. Scoring each sentence alone as one more reading closes that
    gap; like the normalised reading, the more harmful reading decides. A sentence ends at a
    line break or at whitespace after ".", "!" or "?". Consecutive sentences are joined until
    they have `SENTENCE_MIN_WORDS` words, and fewer words left at the end join the sentence
    before them. A sentence longer than `SENTENCE_MAX_CHARS` keeps its end.
    """
    if len(text) < SENTENCES_MIN_CHARS:
        return []
    sentences: list[str] = []
    pending: list[str] = []
    words = 0
    # Lines are split first: a pattern for a line break inside a whitespace run would backtrack
    # over the run, which takes quadratic time on long runs of spaces.
    parts = (part for line in text.split("\n") for part in _SENTENCE_END.split(line.strip()))
    for part in parts:
        if not part:
            continue
        pending.append(part)
        words += len(part.split())
        if words >= SENTENCE_MIN_WORDS:
            sentences.append(" ".join(pending))
            pending, words = [], 0
    if pending and sentences:
        sentences[-1] = " ".join([sentences[-1], *pending])
    elif pending:
        sentences.append(" ".join(pending))
    return [sentence[-SENTENCE_MAX_CHARS:] for sentence in sentences]
