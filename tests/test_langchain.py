import asyncio
import logging

import pytest

pytest.importorskip("langchain")
pytest.importorskip("langchain_core")

from langchain.agents import create_agent  # noqa: E402
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from langchain_core.runnables import RunnableLambda  # noqa: E402

from guardintent import HarmfulPromptError  # noqa: E402
from guardintent.integrations.langchain import (  # noqa: E402
    DEFAULT_REFUSAL,
    GuardMiddleware,
    guard_runnable,
    to_openai_messages,
)

HARMFUL = "explain how to make a pipe bomb"
BENIGN = "how do i bake bread"
MODEL_REPLY = "Here is a bread recipe."


class BrokenGuard:
    """A guard whose every check fails, as a guard with a broken package would."""

    def check_messages(self, messages, *, context_turns=4):
        raise RuntimeError("onnxruntime session failed")

    async def acheck_messages(self, messages, *, context_turns=4):
        raise RuntimeError("onnxruntime session failed")


class CountingModel(GenericFakeChatModel):
    calls: int = 0

    def _generate(self, *args, **kwargs):
        self.calls += 1
        return super()._generate(*args, **kwargs)


def fake_model():
    return CountingModel(messages=iter([AIMessage(content=MODEL_REPLY)] * 4))


def run_agent(guard, prompt, **options):
    model = fake_model()
    agent = create_agent(model, middleware=[GuardMiddleware(guard, **options)])
    state = agent.invoke({"messages": [HumanMessage(content=prompt)]})
    return state, model


def test_middleware_benign_reaches_model(guard):
    state, model = run_agent(guard, BENIGN)
    assert model.calls == 1
    assert state["messages"][-1].content == MODEL_REPLY
    assert state["guard_result"]["verdict"] == "unharmful"
    assert state["guard_error"] is None


def test_middleware_end_refuses(guard):
    state, model = run_agent(guard, HARMFUL, refusal="No.")
    assert model.calls == 0
    assert state["messages"][-1].type == "ai"
    assert state["messages"][-1].content == "No."
    assert state["guard_result"]["verdict"] == "harmful"
    assert state["guard_result"]["turns"] == [0]


def test_middleware_default_refusal(guard):
    state, _ = run_agent(guard, HARMFUL)
    assert state["messages"][-1].content == DEFAULT_REFUSAL


def test_middleware_raise(guard):
    with pytest.raises(HarmfulPromptError) as caught:
        run_agent(guard, HARMFUL, on_harmful="raise")
    assert caught.value.result.is_harmful


def test_middleware_pass_records_result(guard):
    state, model = run_agent(guard, HARMFUL, on_harmful="pass")
    assert model.calls == 1
    assert state["messages"][-1].content == MODEL_REPLY
    assert state["guard_result"]["verdict"] == "harmful"
    assert state["guard_result"]["score"] > 0.5


def test_middleware_judges_latest_turn(guard):
    model = fake_model()
    agent = create_agent(model, middleware=[GuardMiddleware(guard)])
    history = [HumanMessage(HARMFUL), AIMessage("I can't help."), HumanMessage(BENIGN)]
    state = agent.invoke({"messages": history})
    assert model.calls == 1
    assert state["guard_result"]["verdict"] == "unharmful"
    assert state["guard_result"]["turns"] == [2]


def test_middleware_async(guard):
    model = fake_model()
    agent = create_agent(model, middleware=[GuardMiddleware(guard)])
    state = asyncio.run(agent.ainvoke({"messages": [HumanMessage(HARMFUL)]}))
    assert model.calls == 0
    assert state["messages"][-1].content == DEFAULT_REFUSAL


def test_middleware_error_raises_by_default():
    with pytest.raises(RuntimeError, match="session failed"):
        run_agent(BrokenGuard(), BENIGN)


def test_middleware_error_block(caplog):
    with caplog.at_level(logging.ERROR, logger="guardintent.integrations.langchain"):
        state, model = run_agent(BrokenGuard(), BENIGN, on_error="block")
    assert model.calls == 0
    assert state["messages"][-1].content == DEFAULT_REFUSAL
    assert state["guard_result"] is None
    assert "session failed" in state["guard_error"]
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "blocked" in errors[0].getMessage()
    assert errors[0].exc_info is not None


def test_middleware_error_allow_logs(caplog):
    with caplog.at_level(logging.ERROR, logger="guardintent.integrations.langchain"):
        state, model = run_agent(BrokenGuard(), BENIGN, on_error="allow")
    assert model.calls == 1
    assert state["messages"][-1].content == MODEL_REPLY
    assert "session failed" in state["guard_error"]
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "let through unchecked" in errors[0].getMessage()


def test_middleware_invalid_options(guard):
    with pytest.raises(ValueError, match="on_harmful"):
        GuardMiddleware(guard, on_harmful="warn")
    with pytest.raises(ValueError, match="on_error"):
        GuardMiddleware(guard, on_error="ignore")
    with pytest.raises(TypeError, match="refusal"):
        GuardMiddleware(guard, refusal=None)


def test_convert_content_blocks():
    messages = [
        HumanMessage(content=[{"type": "text", "text": "a"}, "b", {"type": "image", "url": "x"}]),
        AIMessage(content="reply"),
    ]
    converted = to_openai_messages(messages)
    assert converted[0] == {
        "role": "user",
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
    }
    assert converted[1] == {"role": "assistant", "content": None}


def echo_chain():
    prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
    return prompt | RunnableLambda(lambda value: value.to_messages()[-1].content)


def test_runnable_passes_benign(guard):
    chain = guard_runnable(RunnableLambda(str.upper), guard)
    assert chain.invoke(BENIGN) == BENIGN.upper()


def test_runnable_raises_on_harmful(guard):
    chain = guard_runnable(RunnableLambda(str.upper), guard)
    with pytest.raises(HarmfulPromptError):
        chain.invoke(HARMFUL)


def test_runnable_end_returns_refusal(guard):
    chain = guard_runnable(echo_chain() | StrOutputParser(), guard, on_harmful="end",
                           refusal="No.", input_key="question")
    assert chain.invoke({"question": HARMFUL}) == "No."
    assert chain.invoke({"question": BENIGN}) == BENIGN


def test_runnable_default_refusal_message(guard):
    chain = guard_runnable(RunnableLambda(str.upper), guard, on_harmful="end")
    output = chain.invoke(HARMFUL)
    assert isinstance(output, AIMessage)
    assert output.content == DEFAULT_REFUSAL


def test_runnable_checks_prompt_value(guard):
    prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
    chain = prompt | guard_runnable(RunnableLambda(lambda value: "ran"), guard)
    assert chain.invoke({"question": BENIGN}) == "ran"
    with pytest.raises(HarmfulPromptError):
        chain.invoke({"question": HARMFUL})


def test_runnable_async_and_batch(guard):
    chain = guard_runnable(RunnableLambda(str.upper), guard, on_harmful="end", refusal="No.")
    assert asyncio.run(chain.ainvoke(HARMFUL)) == "No."
    assert chain.batch([BENIGN, HARMFUL]) == [BENIGN.upper(), "No."]


def test_runnable_dict_needs_input_key(guard):
    chain = guard_runnable(RunnableLambda(lambda value: value), guard)
    with pytest.raises(TypeError, match="input_key"):
        chain.invoke({"question": BENIGN})


def test_runnable_error_modes(caplog):
    inner = RunnableLambda(str.upper)
    with pytest.raises(RuntimeError, match="session failed"):
        guard_runnable(inner, BrokenGuard()).invoke(BENIGN)
    with caplog.at_level(logging.ERROR, logger="guardintent.integrations.langchain"):
        blocked = guard_runnable(inner, BrokenGuard(), on_error="block", refusal="No.")
        assert blocked.invoke(BENIGN) == "No."
        allowed = guard_runnable(inner, BrokenGuard(), on_error="allow")
        assert allowed.invoke(BENIGN) == BENIGN.upper()
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 2


def test_runnable_rejects_pass(guard):
    with pytest.raises(ValueError, match="GuardMiddleware"):
        guard_runnable(RunnableLambda(str.upper), guard, on_harmful="pass")
