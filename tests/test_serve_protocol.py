"""The API's request rules without a server: model names, conversations, binding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.modes import MODES
from engine.serve.protocol import (
    ApiError,
    ChatMessage,
    ChatRequest,
    EmbeddingRequest,
    conversation,
    model_ids,
    parse_model,
)
from engine.serve.server import check_bind, is_loopback
from engine.serve.service import ServeConfig

BASE = "SmolLM2-135M-Instruct"


def test_every_listed_model_name_parses_to_its_choice():
    for model_id, choice, _ in model_ids(BASE, ["notes", "reader-1"]):
        assert parse_model(model_id, BASE) == choice
    assert parse_model("satchel-rag+adapter:notes", BASE).adapter == "notes"
    assert {parse_model(f"satchel-{m}", BASE).mode for m in MODES} == set(MODES)


@pytest.mark.parametrize("name", ["gpt-4o", "satchel-", "satchel-rag:notes", "satchel-fast",
                                  "Satchel-rag", ""])
def test_unknown_model_names_are_404(name):
    with pytest.raises(ApiError) as err:
        parse_model(name, BASE)
    assert err.value.status == 404 and err.value.code == "model_not_found"


texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda t: t.strip())


@given(st.lists(st.tuples(texts, texts), max_size=5), texts, st.lists(texts, max_size=2))
def test_conversation_keeps_turns_in_order_and_the_last_question(turns, question, systems):
    messages = [ChatMessage(role="system", content=s) for s in systems]
    for q, a in turns:
        messages += [ChatMessage(role="user", content=q), ChatMessage(role="assistant", content=a)]
    messages.append(ChatMessage(role="user", content=question))
    instructions, history, asked = conversation(messages)
    assert asked == question
    assert [(h.question, h.answer) for h in history] == turns
    assert instructions == ("\n\n".join(systems) or None)


def test_conversation_joins_parts_and_refuses_what_the_model_cannot_read():
    parts = [{"type": "text", "text": "Where is"}, {"type": "text", "text": "buoy HRB-09?"}]
    assert conversation([ChatMessage(role="user", content=parts)])[2] == "Where is\nbuoy HRB-09?"
    image = [{"type": "image_url", "image_url": {"url": "data:"}}]
    for messages in ([ChatMessage(role="user", content=image)],
                     [ChatMessage(role="user", content="hi"),
                      ChatMessage(role="assistant", content="hello")],
                     [ChatMessage(role="tool", content="{}"),
                      ChatMessage(role="user", content="hi")],
                     [ChatMessage(role="user", content="   ")]):
        with pytest.raises(ApiError) as err:
            conversation(messages)
        assert err.value.status == 400


def test_request_models_validate_ranges_and_stops():
    ok = ChatRequest(model="satchel", messages=[{"role": "user", "content": "q"}], stop="END",
                     max_tokens=5, stream_options={"include_usage": True}, user="someone")
    assert ok.stop == ["END"] and ok.answer_tokens == 5 and ok.include_usage
    for bad in ({"temperature": 3}, {"max_tokens": 0}, {"stop": ["a", "b", "c", "d", "e"]},
                {"messages": []}):
        with pytest.raises(ValueError):
            ChatRequest(**{"model": "satchel", "messages": [{"role": "user", "content": "q"}],
                           **bad})
    assert EmbeddingRequest(model="m", input="a").texts() == ["a"]
    for bad_input in ([], [1, 2, 3], [""]):
        with pytest.raises(ApiError):
            EmbeddingRequest(model="m", input=bad_input).texts()


def test_binding_beyond_loopback_needs_consent_and_a_token():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    check_bind(ServeConfig(host="127.0.0.1", port=0))
    from engine.errors import SatchelError

    with pytest.raises(SatchelError, match="--allow-remote"):
        check_bind(ServeConfig(host="0.0.0.0"))
    with pytest.raises(SatchelError, match="token"):
        check_bind(ServeConfig(host="0.0.0.0", allow_remote=True))
    check_bind(ServeConfig(host="0.0.0.0", allow_remote=True, token="t"))
    with pytest.raises(SatchelError, match="out of range"):
        check_bind(ServeConfig(port=70000))
