"""Check the user's input with a guard before a LangChain model receives it.

- `GuardMiddleware` is agent middleware for `langchain.agents.create_agent`. Before the first
  model call of each run, it judges the user side of the conversation with `check_messages`.
  Tool results and model replies are not user input, so they are not judged.
- `guard_runnable(runnable, guard)` wraps a plain runnable (a prompt, a chain) so that its
  input is judged before the runnable runs.

Both take `on_error`, which sets what happens when the guard itself fails, for example on a
broken guard package: "raise" (the default) lets the exception propagate, "block" treats the
input as harmful, and "allow" lets it through unchecked. "block" and "allow" log the error
with its traceback, so a failure never passes silently.

Needs the `[langchain]` extra: `pip install 'guardintent[langchain]'`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from typing_extensions import NotRequired

from guardintent.errors import MissingExtraError
from guardintent.result import CheckResult

try:
    from langchain.agents.middleware import AgentMiddleware, AgentState, hook_config
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.prompt_values import PromptValue
    from langchain_core.runnables import Runnable, RunnableLambda
    from langgraph.runtime import Runtime
except ImportError as error:
    raise MissingExtraError(
        "guardintent.integrations.langchain", "langchain", str(error)
    ) from error

__all__ = ["DEFAULT_REFUSAL", "GuardMiddleware", "GuardState", "guard_runnable"]

logger = logging.getLogger(__name__)

DEFAULT_REFUSAL = "I can't help with that request."

OnHarmful = Literal["end", "raise", "pass"]
OnError = Literal["raise", "block", "allow"]
_ON_HARMFUL = ("end", "raise", "pass")
_ON_ERROR = ("raise", "block", "allow")
# OpenAI chat roles of LangChain message types; check_messages judges only "user".
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class MessageGuard(Protocol):
    """Interface that the integrations need from a guard; `Guard` and `FakeGuard` implement it."""

    def check_messages(
        self, messages: Sequence[Mapping[str, Any]], *, context_turns: int = 4
    ) -> CheckResult:
        """Judge the user side of an OpenAI-style chat."""
        ...

    async def acheck_messages(
        self, messages: Sequence[Mapping[str, Any]], *, context_turns: int = 4
    ) -> CheckResult:
        """Judge the user side of an OpenAI-style chat without blocking the event loop."""
        ...


class GuardState(AgentState[Any]):
    """Agent state with the guard's findings for the current run.

    `guard_result` is `CheckResult.model_dump(mode="json")`, or None when the guard failed.
    `guard_error` is the guard's exception as text when `on_error` caught one, else None.
    """

    guard_result: NotRequired[dict[str, Any] | None]
    guard_error: NotRequired[str | None]


class GuardMiddleware(AgentMiddleware[GuardState, Any]):
    """Agent middleware that judges the user's input once per run, before the first model call.

    `on_harmful` sets what a harmful verdict does: "end" stops the run and adds an AI message
    with the text `refusal`, "raise" raises `HarmfulPromptError`, and "pass" lets the run go on.
    Every mode records the result in the state's `guard_result`. `on_error` sets what a
    failure of the guard itself does (see the module docstring). "block" ends the run with
    `refusal` whatever `on_harmful` is, because no result exists to raise or pass.
    `context_turns` is passed to `check_messages`.
    """

    state_schema = GuardState

    def __init__(
        self,
        guard: MessageGuard,
        *,
        on_harmful: OnHarmful = "end",
        refusal: str = DEFAULT_REFUSAL,
        on_error: OnError = "raise",
        context_turns: int = 4,
    ) -> None:
        super().__init__()
        _validate_choice("on_harmful", on_harmful, _ON_HARMFUL)
        _validate_choice("on_error", on_error, _ON_ERROR)
        if not isinstance(refusal, str):
            raise TypeError(f"refusal must be a str, got {type(refusal).__name__}")
        self.guard = guard
        self.on_harmful = on_harmful
        self.refusal = refusal
        self.on_error = on_error
        self.context_turns = context_turns

    @hook_config(can_jump_to=["end"])
    def before_agent(self, state: GuardState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        """Judge the conversation's user side and stop, raise or record as configured."""
        messages = to_openai_messages(state["messages"])
        try:
            result = self.guard.check_messages(messages, context_turns=self.context_turns)
        # Any exception from the guard (onnxruntime, a bad package) counts as a guard failure.
        except Exception as error:
            return self._on_guard_error(error)
        return self._on_result(result)

    @hook_config(can_jump_to=["end"])
    async def abefore_agent(
        self, state: GuardState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """Run `before_agent` with the guard's async check."""
        messages = to_openai_messages(state["messages"])
        try:
            result = await self.guard.acheck_messages(messages, context_turns=self.context_turns)
        except Exception as error:
            return self._on_guard_error(error)
        return self._on_result(result)

    def _on_result(self, result: CheckResult) -> dict[str, Any]:
        update: dict[str, Any] = {
            "guard_result": result.model_dump(mode="json"),
            "guard_error": None,
        }
        if not result.is_harmful:
            return update
        if self.on_harmful == "raise":
            result.raise_if_harmful()
        if self.on_harmful == "end":
            update["jump_to"] = "end"
            update["messages"] = [AIMessage(content=self.refusal)]
        return update

    def _on_guard_error(self, error: Exception) -> dict[str, Any]:
        if self.on_error == "raise":
            raise error
        _log_guard_error(error, self.on_error)
        update: dict[str, Any] = {"guard_result": None, "guard_error": repr(error)}
        if self.on_error == "block":
            update["jump_to"] = "end"
            update["messages"] = [AIMessage(content=self.refusal)]
        return update


def guard_runnable(
    runnable: Runnable[Any, Any],
    guard: MessageGuard,
    *,
    on_harmful: Literal["raise", "end"] = "raise",
    refusal: Any = None,
    on_error: OnError = "raise",
    input_key: str | None = None,
) -> Runnable[Any, Any]:
    """Wrap `runnable` so that its input is judged by `guard` before it runs.

    The input may be a str, a message, a list of messages (LangChain messages or OpenAI-style
    dicts), a `PromptValue`, or a dict whose `input_key` item is one of these. On a harmful
    verdict, "raise" raises `HarmfulPromptError` and "end" returns `refusal` in place of the
    runnable's output, so give a `refusal` of the type the chain returns (default: an
    `AIMessage` with `DEFAULT_REFUSAL`). `on_error` works as in `GuardMiddleware`.
    Streaming and batching go through to `runnable` when the input passes.
    """
    if on_harmful not in ("raise", "end"):
        raise ValueError(
            f"on_harmful must be 'raise' or 'end' for a runnable, got {on_harmful!r}; "
            "use GuardMiddleware to record results in an agent's state"
        )
    _validate_choice("on_error", on_error, _ON_ERROR)

    def refuse() -> Any:
        return AIMessage(content=DEFAULT_REFUSAL) if refusal is None else refusal

    def after_result(result: CheckResult) -> Any:
        if not result.is_harmful:
            return runnable
        if on_harmful == "raise":
            result.raise_if_harmful()
        return refuse()

    def after_failure(error: Exception) -> Any:
        if on_error == "raise":
            raise error
        _log_guard_error(error, on_error)
        return refuse() if on_error == "block" else runnable

    def check_then_run(value: Any) -> Any:
        messages = to_openai_messages(_input_messages(value, input_key))
        try:
            result = guard.check_messages(messages)
        except Exception as error:
            return after_failure(error)
        return after_result(result)

    async def acheck_then_run(value: Any) -> Any:
        messages = to_openai_messages(_input_messages(value, input_key))
        try:
            result = await guard.acheck_messages(messages)
        except Exception as error:
            return after_failure(error)
        return after_result(result)

    # RunnableLambda invokes a returned runnable with the same input and config.
    return RunnableLambda(check_then_run, afunc=acheck_then_run, name="GuardRunnable")


def to_openai_messages(messages: Sequence[BaseMessage | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Convert LangChain messages into the OpenAI-style dicts that `check_messages` reads.

    User messages keep their text: a str, or the text parts of a list of content blocks.
    Other messages keep only their role, because `check_messages` judges the user side alone,
    and their place in the list, so a result's `turns` index the original messages.
    OpenAI-style dicts pass through unchanged.
    """
    converted = []
    for index, message in enumerate(messages):
        if isinstance(message, Mapping):
            converted.append(dict(message))
        elif isinstance(message, BaseMessage):
            role = _ROLES.get(message.type, message.type)
            content = _text_parts(message.content) if role == "user" else None
            converted.append({"role": role, "content": content})
        else:
            raise TypeError(
                f"messages[{index}] must be a LangChain message or a dict, got "
                f"{type(message).__name__}"
            )
    return converted


def _text_parts(content: str | list[Any]) -> str | list[dict[str, str]]:
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
        elif isinstance(block, Mapping) and block.get("type") == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
    return parts


def _input_messages(value: Any, input_key: str | None) -> list[Any]:
    if isinstance(value, Mapping) and "role" not in value:
        if input_key is None:
            raise TypeError(
                "the runnable's input is a dict, so guard_runnable needs input_key to name "
                f"the item to check; the dict has keys {sorted(value)}"
            )
        if input_key not in value:
            raise KeyError(f"the runnable's input has no {input_key!r} item to check")
        value = value[input_key]
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, (BaseMessage, Mapping)):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError(
        "guard_runnable checks a str, a message, a list of messages or a PromptValue, got "
        f"{type(value).__name__}"
    )


def _log_guard_error(error: Exception, on_error: str) -> None:
    action = "blocked" if on_error == "block" else "let through unchecked"
    logger.error(
        "guard check failed, so the input is %s (on_error=%r): %r",
        action,
        on_error,
        error,
        exc_info=error,
    )


def _validate_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
