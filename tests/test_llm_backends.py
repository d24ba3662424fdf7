"""LLM backends: the OpenAI-compatible client against a real HTTP server on 127.0.0.1, and the embedded model."""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from typing import Any

import pytest

from curation.llm.base import GenRequest, GenResult, cut_at_stop
from curation.llm.factory import LLMConfig, backend_from_config
from curation.llm.openai_backend import OpenAIBackend
from curation.llm.prompts import DRAFT_OBSERVE
from schemas import Message
from tests.llm_standins import ChatServer, Reply, chat_reply, last_user
from trainers.templates import PromptTemplate


def ask(text: str, **kw: Any) -> GenRequest:
    return GenRequest(messages=[Message("user", text)], **kw)


def client(server: ChatServer, **kw: Any) -> OpenAIBackend:
    opts: dict[str, Any] = {"timeout_s": 0.5, "max_retries": 3, "backoff_s": 0.01, "max_backoff_s": 0.05}
    opts.update(kw)
    return OpenAIBackend(server.base_url, "test-model", **opts)


def scripted(body: dict[str, Any], state: Counter[str]) -> Reply:
    """Behaviour by the user message: ok:<text>, flaky (two 500s), ratelimit (one 429), hang, badutf8, ..."""
    msg = last_user(body)
    state[msg] += 1
    n = state[msg]
    if msg.startswith("ok:"):
        return chat_reply(msg[3:])
    if msg.startswith("flaky"):
        return (500, {}, b"oops") if n <= 2 else chat_reply("recovered")
    if msg.startswith("ratelimit"):
        return (429, {"Retry-After": "0"}, b"slow down") if n <= 1 else chat_reply("after 429")
    if msg == "down":
        return 503, {}, b"down for good"
    if msg == "bad request":
        return 400, {}, b'{"error": "bad"}'
    if msg == "hang":
        return "hang"
    if msg == "badutf8":
        return 200, {}, b'{"choices": [{"message": {"content": "caf\xe9 \xff"}, "finish_reason": "stop"}]}'
    if msg == "surrogate":
        return 200, {}, b'{"choices": [{"message": {"content": "x \\udcff y"}, "finish_reason": "stop"}]}'
    if msg == "empty":
        return chat_reply("")
    if msg == "null":
        return chat_reply(None)
    if msg == "notjson":
        return 200, {}, b"<html>gateway</html>"
    if msg == "nochoices":
        return 200, {}, b'{"choices": []}'
    if msg == "die":
        return "die"
    if msg == "kill":
        return "kill"
    if msg == "echo-body":
        return chat_reply(json.dumps({k: v for k, v in body.items() if k != "messages"}))
    return chat_reply("default")


def test_openai_backend_mixed_batch_every_failure_has_a_reason(chat_server):
    server = chat_server(_SCRIPT)
    backend = client(server, max_concurrency=4)
    prompts = [
        "ok:hello",
        "flaky",
        "ratelimit",
        "down",
        "bad request",
        "hang",
        "badutf8",
        "surrogate",
        "empty",
        "null",
        "notjson",
        "nochoices",
        "die",
        "ok:last",
    ]
    t0 = time.monotonic()
    results = backend.generate([ask(p) for p in prompts])
    elapsed = time.monotonic() - t0
    backend.close()
    by = dict(zip(prompts, results, strict=True))
    assert len(results) == len(prompts)
    assert by["ok:hello"].text == "hello" and by["ok:hello"].ok and by["ok:hello"].tokens == 3
    assert by["ok:last"].text == "last"
    assert by["flaky"].text == "recovered" and server.calls["flaky"] == 3  # two 500s, then success
    assert by["ratelimit"].text == "after 429" and server.calls["ratelimit"] == 2
    assert by["down"].error == "http_error" and server.calls["down"] == 4  # 1 try + 3 retries
    assert by["bad request"].error == "http_error" and server.calls["bad request"] == 1  # 4xx: no retry
    assert "HTTP 400" in by["bad request"].detail
    assert by["hang"].error == "timeout" and server.calls["hang"] == 1
    assert by["badutf8"].error == "invalid_utf8"
    assert by["surrogate"].error == "invalid_utf8"
    assert by["empty"].error == "empty_output" and by["null"].error == "empty_output"
    assert by["notjson"].error == "malformed_response" and by["nochoices"].error == "malformed_response"
    assert by["die"].error == "connection_error" and server.calls["die"] == 4
    for r in results:
        assert (r.error is None) == bool(r.text)
        assert r.finish_reason in ("stop", "length", "error")
    assert elapsed < 5, "the hang must cost one timeout, not block the batch"


_STATE: Counter[str] = Counter()


def _SCRIPT(body: dict[str, Any]) -> Reply:  # noqa: N802
    return scripted(body, _STATE)


@pytest.fixture(autouse=True)
def _reset_state() -> None:
    _STATE.clear()


def test_openai_backend_server_dies_mid_run(chat_server):
    server = chat_server(_SCRIPT)
    backend = client(server, max_concurrency=1, max_retries=1)  # one at a time: the order is the run
    results = backend.generate([ask("ok:one"), ask("ok:two"), ask("kill"), ask("ok:three"), ask("ok:four")])
    backend.close()
    assert [r.text for r in results[:2]] == ["one", "two"]
    assert [r.error for r in results[2:]] == ["connection_error"] * 3
    assert all("attempts" in r.detail for r in results[2:])


def test_openai_backend_unreachable_endpoint_is_an_error_not_an_exception():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    backend = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", max_retries=1, backoff_s=0.01, timeout_s=0.5)
    (r,) = backend.generate([ask("hi")])
    assert r.error == "connection_error" and r.text == ""


def test_openai_backend_request_body_prefill_stop_and_seed(chat_server):
    def respond(body: dict[str, Any]) -> Reply:
        if last_user(body) == "prefill":
            return chat_reply("<think>reasoning</think><answer>B</answer> trailing", finish="length")
        return scripted(body, _STATE)

    server = chat_server(respond)
    backend = client(server, extra_body={"continue_final_message": True})
    r_body, r_pre = backend.generate(
        [
            ask("echo-body", max_new_tokens=7, temperature=0.5, seed=11, stop=["\n"]),
            ask("prefill", prefill="<think>", stop=["</answer>"]),
        ]
    )
    sent = json.loads(r_body.text)
    assert sent == {
        "model": "test-model",
        "max_tokens": 7,
        "temperature": 0.5,
        "seed": 11,
        "stop": ["\n"],
        "continue_final_message": True,
    }
    # requests go out concurrently, so find the prefill one by its content rather than by arrival order
    (prefilled,) = [b for b in server.bodies if last_user(b) == "prefill"]
    assert prefilled["messages"][-1] == {"role": "assistant", "content": "<think>"}
    # the echoed prefill is stripped and the reply cut at the stop string, which counts as a stop
    assert r_pre.text == "reasoning</think><answer>B" and r_pre.finish_reason == "stop"


def test_llm_config_validation_and_factory(chat_server):
    with pytest.raises(ValueError, match="base_url"):
        LLMConfig(backend="openai", model="m")
    assert LLMConfig(backend="transformers").model is None  # the embedded model through transformers
    with pytest.raises(ValueError, match="extra"):
        LLMConfig(temprature=0.1)  # type: ignore[call-arg]
    server = chat_server(_SCRIPT)
    backend = backend_from_config(LLMConfig(backend="openai", base_url=server.base_url, model="m", timeout_s=2))
    assert isinstance(backend, OpenAIBackend)
    assert backend.generate([ask("ok:yes")])[0].text == "yes"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        backend_from_config(LLMConfig(backend="transformers", model="/nonexistent/model"))


def test_prompt_hash_changes_with_name_version_and_text():
    base = PromptTemplate("p", 1, "Say {x}.")
    assert base.prompt_hash() == PromptTemplate("p", 1, "Say {x}.").prompt_hash()
    others = [PromptTemplate("q", 1, "Say {x}."), PromptTemplate("p", 2, "Say {x}."), PromptTemplate("p", 1, "Say")]
    assert len({base.prompt_hash(), *(o.prompt_hash() for o in others)}) == 4
    assert len(DRAFT_OBSERVE.prompt_hash()) == 16
    assert base.render(x="hi") == "Say hi."


def test_cut_at_stop_takes_the_earliest_stop():
    assert cut_at_stop("a</think>b\nc", ["\n", "</think>"]) == ("a", True)
    assert cut_at_stop("abc", ["x", ""]) == ("abc", False)
    assert GenResult.failed("timeout").finish_reason == "error"
    # white space that opens a reply ends nothing: the answer's first line, not an empty reply
    assert cut_at_stop("\n 4.5\nmore", ["\n"]) == ("\n 4.5", True)
    assert cut_at_stop("\n\n", ["\n"]) == ("\n\n", False)


def test_the_transformers_stopping_criteria_wait_for_text_before_a_stop():
    """The transformers backend's rows stop as `cut_at_stop` cuts (Hugging Face's stop_strings would stop at the
    opening newline), on the embedded model's real tokenizer."""
    import torch
    from transformers import AutoTokenizer

    from curation.llm.transformers_backend import stop_after_text
    from trainers.embedded import embedded_model_dir

    tok = AutoTokenizer.from_pretrained(embedded_model_dir(), local_files_only=True)
    prompt = tok("Question: 2 + 2?", add_special_tokens=False)["input_ids"]
    criteria = stop_after_text(tok, len(prompt), ["\n", "</answer>"])[0]

    def stops(reply: str) -> bool:
        ids = torch.tensor([prompt + tok(reply, add_special_tokens=False)["input_ids"]])
        return bool(criteria(ids, None)[0])

    assert not stops("\n") and not stops("\n4") and stops("\n4\n") and stops("4</answer>")
    # past the window only the last tokens are read: a long reply still stops at a new line, and not before one
    long = " ".join(["word"] * 40)
    assert not stops(long) and stops(long + "\n") and stops("\n" + long + "</answer>")


def test_stop_reached_reads_the_whole_reply_while_short_and_its_tail_after():
    from curation.llm.base import STOP_WINDOW, stop_reached

    chars = "ab\ncd"  # one character a token
    ids = [ord(c) for c in chars]

    def text(i: list[int]) -> str:
        return "".join(map(chr, i))

    assert stop_reached(ids, ["\n"], text) and not stop_reached([ord("\n")], ["\n"], text)
    assert not stop_reached(ids, ["", "x"], text)
    filler = [ord("a")] * (2 * STOP_WINDOW)
    assert not stop_reached(filler, ["\n"], text) and stop_reached([*filler, ord("\n")], ["\n"], text)
    # a stop that scrolled out of the window was seen at its own step; the tail alone no longer holds it
    assert not stop_reached([ord("\n"), *filler], ["\n"], text)


# ---- the embedded model through the transformers backend -----------------------------------------------


@pytest.fixture(scope="module")
def embedded():
    from curation.llm.transformers_backend import TransformersBackend

    backend = TransformersBackend(batch_size=4, torch_threads=1)
    yield backend
    backend.close()


QUESTIONS = ["What colour is the sky?", "Name a fruit.", "What is 2 + 3?", "Say hello to Ana.", "Name a dog breed."]


@pytest.mark.slow
def test_embedded_batched_matches_one_at_a_time(embedded):
    reqs = [ask(q, max_new_tokens=8) for q in QUESTIONS]
    batched = embedded.generate(reqs)  # 5 requests with batch_size 4: two batches, left-padded
    single = [embedded.generate([r])[0] for r in reqs]
    assert len(batched) == len(single) == len(QUESTIONS)
    for b, s in zip(batched, single, strict=True):
        assert b.ok and s.ok and b.text.strip()
        assert 1 <= b.tokens <= 8
        assert b.finish_reason in ("stop", "length")
        assert b.text == s.text  # greedy decoding does not depend on the padding of the batch


@pytest.mark.slow
def test_embedded_prefill_stop_seed_and_per_item_errors(embedded):
    long_prompt = "word " * 200
    old = embedded.max_input_tokens
    embedded.max_input_tokens = 150
    try:
        results = embedded.generate(
            [
                ask("Is the sky blue?", max_new_tokens=6, prefill="<think>", stop=["</think>"]),
                ask(long_prompt, max_new_tokens=6),
                ask("Count to five.", max_new_tokens=6, temperature=0.9, seed=1),
                ask("Count to five.", max_new_tokens=6, temperature=0.9, seed=1),
            ]
        )
    finally:
        embedded.max_input_tokens = old
    think, too_long, s1, s2 = results
    assert think.ok and "<think>" not in think.text and "</think>" not in think.text
    assert too_long.error == "prompt_too_long" and too_long.text == ""
    assert s1.ok and s2.ok
    again = embedded.generate([ask("Count to five.", max_new_tokens=6, temperature=0.9, seed=1)] * 2)
    assert [r.text for r in again] == [s1.text, s2.text]  # same batch of requests, same seeds: same text
