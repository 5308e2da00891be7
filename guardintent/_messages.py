"""Reading OpenAI-style chat messages and judging the user side of a conversation."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from guardintent.result import CheckResult

USER_ROLE = "user"
# Joins the texts of several user turns, or of several text parts of one message.
TURN_SEPARATOR = "\n"

CheckBatch = Callable[[list[str]], list[CheckResult]]


def judge_conversation(
    messages: Sequence[Mapping[str, Any]], check_batch: CheckBatch, context_turns: int
) -> CheckResult:
    """Judge the user side of a chat with `check_batch`; see `Guard.check_messages` for the rule.

    Let u1 … un be the last `context_turns` user turns, un the latest. The candidates are the
    suffixes "uk … un" joined by newlines, for k from n down to 1. Each suffix of two or more
    turns is eligible only when its prefix "uk … u(n-1)" alone is unharmful, so that the
    latest turn contributes to any harm found. The result is the eligible candidate with a
    harmful verdict first, then the highest score, and the latest turn alone on ties.
    """
    if isinstance(context_turns, bool) or not isinstance(context_turns, int):
        raise TypeError(f"context_turns must be an int, got {type(context_turns).__name__}")
    if context_turns < 1:
        raise ValueError(f"context_turns must be at least 1, got {context_turns}")
    turns = read_user_turns(messages)
    if not turns:
        return check_batch([""])[0]
    recent = turns[-context_turns:]

    suffixes = [recent[start:] for start in range(len(recent) - 1, -1, -1)]
    prefixes = [suffix[:-1] for suffix in suffixes[1:]]
    texts = [_join(suffix) for suffix in suffixes] + [_join(prefix) for prefix in prefixes]
    results = check_batch(texts)
    suffix_results = results[: len(suffixes)]
    prefix_results = results[len(suffixes) :]

    eligible = [(suffixes[0], suffix_results[0])]
    for suffix, result, prefix_result in zip(
        suffixes[1:], suffix_results[1:], prefix_results, strict=True
    ):
        if not prefix_result.is_harmful:
            eligible.append((suffix, result))
    # max() keeps the first of equal keys, so a tie goes to the latest turn alone.
    chosen_turns, chosen = max(eligible, key=lambda item: (item[1].is_harmful, item[1].score))
    indices = tuple(index for index, _ in chosen_turns)
    return chosen.model_copy(update={"turns": indices})


def _join(turns: list[tuple[int, str]]) -> str:
    return TURN_SEPARATOR.join(text for _, text in turns)


def read_user_turns(messages: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """Validate `messages` and return `(index, text)` of every user message, in order.

    Raises TypeError or ValueError naming the index of the first malformed message.
    """
    if isinstance(messages, (str, Mapping)) or not isinstance(messages, (list, tuple)):
        raise TypeError(
            "messages must be a list of {'role': ..., 'content': ...} dicts, got "
            f"{type(messages).__name__}"
        )
    if not messages:
        raise ValueError("messages is empty; pass at least one {'role': 'user', ...} message")

    turns = []
    for index, message in enumerate(messages):
        role = _read_role(index, message)
        content = message.get("content")
        if role == USER_ROLE:
            turns.append((index, _read_user_content(index, content)))
        elif content is not None and not isinstance(content, (str, list, tuple)):
            raise TypeError(
                f"messages[{index}]['content'] must be a str, a list of content parts or "
                f"None, got {type(content).__name__}"
            )
    return turns


def _read_role(index: int, message: object) -> str:
    if not isinstance(message, Mapping):
        raise TypeError(
            f"messages[{index}] must be a dict with 'role' and 'content', got "
            f"{type(message).__name__}"
        )
    if "role" not in message:
        raise ValueError(f"messages[{index}] has no 'role'; set it to 'user', 'assistant', ...")
    role = message["role"]
    if not isinstance(role, str):
        raise TypeError(f"messages[{index}]['role'] must be a str, got {type(role).__name__}")
    return role


def _read_user_content(index: int, content: object) -> str:
    """Return the text of a user message: its string, or its text parts joined by newlines.

    NOTE: parts of other types (images, audio, files) are skipped, so they are not judged.
    """
    if isinstance(content, str):
        return content
    if content is None:
        raise ValueError(
            f"messages[{index}] is a user message without 'content'; add the user's text"
        )
    if not isinstance(content, (list, tuple)):
        raise TypeError(
            f"messages[{index}]['content'] must be a str or a list of content parts, got "
            f"{type(content).__name__}"
        )
    texts = []
    for part_index, part in enumerate(content):
        where = f"messages[{index}]['content'][{part_index}]"
        if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
            raise TypeError(
                f"{where} must be a dict with a str 'type', such as "
                "{'type': 'text', 'text': '...'}"
            )
        if part["type"] != "text":
            continue
        text = part.get("text")
        if not isinstance(text, str):
            raise TypeError(
                f"{where} is a text part, so its 'text' must be a str, got {type(text).__name__}"
            )
        texts.append(text)
    return TURN_SEPARATOR.join(texts)
