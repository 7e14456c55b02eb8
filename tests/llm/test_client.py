"""LLMClient against a real OpenAI-compatible server on loopback: JSON + repair, retries, final errors,
budgets and the key that must never leak."""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import pytest
from pydantic import BaseModel

from alphamine.brain.credentials import Secret
from alphamine.brain.retry import RetryPolicy
from alphamine.llm.budget import Budget
from alphamine.llm.client import (
    LLMAuthError,
    LLMClient,
    LLMError,
    LLMHTTPError,
    LLMInvalidResponse,
    LLMNotConfigured,
    LLMPaused,
    LLMUnavailable,
    extract_json,
)
from alphamine.llm.config import LLMConfig
from tests.llm.fake_server import FakeLLMServer, Scripted, fake_llm_server

POLICY = RetryPolicy(max_attempts=4, base=1.0, cap=8.0, jitter=0.5, retry_after_cap=30.0)
PLANTED = "sk-PLANTED-wrong-key-5f3a9c1e7b"


class Idea(BaseModel):
    expression: str
    rationale: str


IDEA = {"expression": "rank(-returns)", "rationale": "short-term reversal"}


def make_client(
    server: FakeLLMServer,
    budget: Budget | None = None,
    *,
    provider: str = "custom",
    key: str | None = None,
    timeout: float = 5.0,
    sleeps: list[float] | None = None,
) -> LLMClient:
    config = LLMConfig(provider, server.url, "fake-model", Secret(server.key if key is None else key), timeout)
    recorder = sleeps if sleeps is not None else []
    return LLMClient(config, budget, retry=POLICY, sleep=recorder.append, rng=random.Random(7))


def last_user(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def test_chat_json_sends_json_mode_and_validates(llm_server: FakeLLMServer) -> None:
    llm_server.script(Scripted.ok(json.dumps(IDEA), usage=(120, 30)))
    budget = Budget()
    idea = make_client(llm_server, budget, provider="openai").chat_json("ideas", "You mine alphas.", "One idea.", Idea)
    assert idea == Idea(**IDEA)
    (req,) = llm_server.requests
    assert req.authorized and "authorization" not in req.headers
    body = req.body
    assert body["model"] == "fake-model" and body["temperature"] == 0.2 and body["max_tokens"] == 1500
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("You mine alphas.")
    assert '"rationale"' in system["content"] and "JSON" in system["content"]
    assert body["messages"][1] == {"role": "user", "content": "One idea."}
    s = budget.summary()
    assert (s["calls"], s["failures"], s["prompt_tokens"], s["completion_tokens"]) == (1, 0, 120, 30)
    assert s["agents"]["ideas"]["calls"] == 1 and s["cost"] is None  # fake-model has no price


def test_without_json_mode_the_instructions_carry_the_schema(llm_server: FakeLLMServer) -> None:
    llm_server.script("Sure! Here it is:\n```json\n" + json.dumps(IDEA) + "\n```")
    assert make_client(llm_server).chat_json("ideas", "sys", "user", Idea).expression == "rank(-returns)"
    (req,) = llm_server.requests
    assert "response_format" not in req.body and "JSON Schema" in req.body["messages"][0]["content"]


def test_malformed_json_gets_one_repair_call_then_succeeds(llm_server: FakeLLMServer) -> None:
    llm_server.script(Scripted.ok("expression: rank(x)", usage=(50, 5)), Scripted.ok(json.dumps(IDEA), usage=(70, 20)))
    budget = Budget()
    assert make_client(llm_server, budget).chat_json("ideas", "sys", "user", Idea) == Idea(**IDEA)
    first, repair = (r.body for r in llm_server.requests)
    assert repair["messages"][:2] == first["messages"]
    assert repair["messages"][2] == {"role": "assistant", "content": "expression: rank(x)"}
    assert "not valid JSON" in last_user(repair) and "corrected JSON" in last_user(repair)
    s = budget.summary()
    assert (s["calls"], s["failures"], s["tokens"], s["consecutive_failures"]) == (2, 1, 145, 0)


def test_the_repair_call_quotes_the_validation_error(llm_server: FakeLLMServer) -> None:
    llm_server.script('{"expression": 5}', json.dumps(IDEA))
    make_client(llm_server).chat_json("ideas", "sys", "user", Idea)
    repair = last_user(llm_server.requests[1].body)
    assert "expression: Input should be a valid string" in repair and "rationale: Field required" in repair


def test_invalid_twice_is_a_clear_error(llm_server: FakeLLMServer) -> None:
    llm_server.script("nope", '{"expression": "x"}', json.dumps(IDEA))
    budget = Budget()
    with pytest.raises(LLMInvalidResponse, match=r"'ideas'.*invalid twice.*rationale: Field required"):
        make_client(llm_server, budget).chat_json("ideas", "sys", "user", Idea)
    assert len(llm_server.requests) == 2 and llm_server.pending == 1
    assert budget.summary()["failures"] == 2 and budget.summary()["calls"] == 2


def test_429_is_retried_with_backoff_and_retry_after(llm_server: FakeLLMServer) -> None:
    sleeps: list[float] = []
    llm_server.script(Scripted.fail(429, "slow down"), Scripted.fail(429, retry_after="7"), json.dumps(IDEA))
    assert make_client(llm_server, sleeps=sleeps).chat_json("ideas", "s", "u", Idea) == Idea(**IDEA)
    assert len(llm_server.requests) == 3 and len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0  # attempt 1: base 1 s with up to 50 % jitter
    assert sleeps[1] == pytest.approx(7.0)  # Retry-After beats the 1-2 s backoff


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried(llm_server: FakeLLMServer, status: int) -> None:
    sleeps: list[float] = []
    llm_server.script(Scripted.fail(status), Scripted.fail(status), "pong")
    assert make_client(llm_server, sleeps=sleeps).chat_text("a", "s", "u") == "pong"
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0


def test_retries_exhausted_is_unavailable_and_recorded(llm_server: FakeLLMServer) -> None:
    sleeps: list[float] = []
    llm_server.script(*[Scripted.fail(503, "overloaded")] * 5)
    budget = Budget()
    with pytest.raises(LLMUnavailable, match=r"'custom'.*HTTP 503: overloaded after 4 attempt"):
        make_client(llm_server, budget, sleeps=sleeps).chat_text("a", "s", "u")
    assert len(llm_server.requests) == 4 and len(sleeps) == 3 and sleeps == sorted(sleeps)
    assert budget.summary()["failures"] == 1 and budget.summary()["calls"] == 1


def test_a_timeout_is_retried(llm_server: FakeLLMServer) -> None:
    sleeps: list[float] = []
    llm_server.script(Scripted.ok("late", delay=3.0), "pong")
    client = make_client(llm_server, timeout=0.3, sleeps=sleeps)
    assert client.chat_text("a", "s", "u") == "pong"
    assert len(llm_server.requests) == 2 and len(sleeps) == 1


def test_connection_errors_are_retried_then_unavailable() -> None:
    with fake_llm_server() as server:
        config = LLMConfig("custom", server.url, "m", Secret(server.key), 1.0)
    sleeps: list[float] = []  # the server is gone: connection refused on every attempt
    client = LLMClient(config, retry=POLICY, sleep=sleeps.append, rng=random.Random(1))
    with pytest.raises(LLMUnavailable, match="connection error"):
        client.chat_text("a", "s", "u")
    assert len(sleeps) == 3


def test_401_is_final_with_a_message_that_lacks_the_key(llm_server: FakeLLMServer) -> None:
    sleeps: list[float] = []
    client = make_client(llm_server, key=PLANTED, sleeps=sleeps)
    with pytest.raises(LLMAuthError) as info:
        client.chat_json("ideas", "s", "u", Idea)
    e = info.value
    assert e.status == 401 and e.provider == "custom" and sleeps == [] and len(llm_server.requests) == 1
    assert "HTTP 401" in str(e) and "'custom'" in str(e) and "LLM_API_KEY" in str(e)
    assert PLANTED not in str(e) and e.__cause__ is None and e.__context__ is None


@pytest.mark.parametrize("status", [400, 403, 404])
def test_other_client_errors_are_not_retried(llm_server: FakeLLMServer, status: int) -> None:
    llm_server.script(Scripted.fail(status, "model not found"), "never sent")
    with pytest.raises(LLMHTTPError, match=f"HTTP {status}") as info:
        make_client(llm_server).chat_text("a", "s", "u")
    assert info.value.status == status and len(llm_server.requests) == 1


def test_429_for_a_spent_quota_is_not_retried(llm_server: FakeLLMServer) -> None:
    llm_server.script(Scripted.fail(429, "You exceeded your current quota", error_code="insufficient_quota"))
    with pytest.raises(LLMHTTPError, match="HTTP 429: You exceeded your current quota"):
        make_client(llm_server).chat_text("a", "s", "u")
    assert len(llm_server.requests) == 1


def test_a_web_page_instead_of_a_completion_is_final(llm_server: FakeLLMServer) -> None:
    llm_server.script(Scripted(raw="<html>welcome</html>"), "never sent")
    with pytest.raises(LLMError, match=r"not a chat completion.*LLM_BASE_URL"):
        make_client(llm_server).chat_text("a", "s", "u")
    assert len(llm_server.requests) == 1


def test_token_budget_stops_further_calls_before_any_request(llm_server: FakeLLMServer) -> None:
    budget = Budget(token_budget=100)
    llm_server.responder = lambda body: json.dumps(IDEA)
    llm_server.script(Scripted.ok(json.dumps(IDEA), usage=(80, 30)))
    client = make_client(llm_server, budget)
    client.chat_json("ideas", "s", "u", Idea)
    with pytest.raises(LLMPaused, match="token budget reached") as info:
        client.chat_json("ideas", "s", "u", Idea)
    assert "110 of 100" in info.value.reason and len(llm_server.requests) == 1
    with pytest.raises(LLMPaused):
        client.chat_text("other", "s", "u")
    assert len(llm_server.requests) == 1


def test_max_calls_counts_every_completion(llm_server: FakeLLMServer) -> None:
    llm_server.responder = lambda body: "ok"
    budget = Budget(max_calls=2)
    client = make_client(llm_server, budget)
    assert [client.chat_text("a", "s", "u") for _ in range(2)] == ["ok", "ok"]
    with pytest.raises(LLMPaused, match="max calls"):
        client.tiny_call()
    assert len(llm_server.requests) == 2


def test_consecutive_failures_trip_the_kill_switch(llm_server: FakeLLMServer) -> None:
    llm_server.script(*[Scripted.fail(400, "bad request")] * 3)
    llm_server.responder = lambda body: "never"
    budget = Budget(max_consecutive_failures=3)
    client = make_client(llm_server, budget)
    for _ in range(3):
        with pytest.raises(LLMHTTPError):
            client.chat_text("a", "s", "u")
    with pytest.raises(LLMPaused, match="3 consecutive LLM failures"):
        client.chat_text("a", "s", "u")
    assert len(llm_server.requests) == 3


def test_chat_text_and_tiny_call(llm_server: FakeLLMServer) -> None:
    llm_server.script("  ", Scripted.ok("pong", usage=(12, 1)))
    budget = Budget()
    client = make_client(llm_server, budget)
    with pytest.raises(LLMInvalidResponse, match="answered nothing"):
        client.chat_text("a", "s", "u", temperature=0.7, max_tokens=10)
    assert llm_server.requests[0].body["temperature"] == 0.7 and llm_server.requests[0].body["max_tokens"] == 10
    ping = client.tiny_call()
    assert (ping.model, ping.reply, ping.usage.prompt_tokens, ping.usage.completion_tokens) == (
        "fake-model",
        "pong",
        12,
        1,
    )
    assert ping.latency_s > 0 and budget.summary()["agents"]["doctor"]["calls"] == 1


def test_responder_answers_when_the_script_is_empty(llm_server: FakeLLMServer) -> None:
    llm_server.responder = lambda body: Scripted.ok(json.dumps({**IDEA, "rationale": last_user(body)}))
    client = make_client(llm_server)
    assert client.chat_json("ideas", "s", "first", Idea).rationale == "first"
    assert client.chat_json("ideas", "s", "second", Idea).rationale == "second"


def test_a_config_without_a_key_is_refused_and_ollama_never_sends_openai_api_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(LLMNotConfigured, match="LLM_API_KEY"):
        LLMClient(LLMConfig("openai", "https://api.openai.com/v1", "gpt-4o-mini"))
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)  # the SDK would pick it up if we passed no key
    with fake_llm_server(key="not-needed") as server:
        server.script("pong")
        sleeps: list[float] = []
        ping = LLMClient(LLMConfig("ollama", server.url, "llama3.1"), retry=POLICY, sleep=sleeps.append).tiny_call()
        assert ping.reply == "pong" and server.requests[0].authorized


def test_the_planted_key_never_reaches_logs_errors_or_reprs(
    llm_server: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = llm_server.key
    texts: list[str] = []
    # a provider that echoes the key in its error detail; 503s (logged retries); invalid JSON twice
    llm_server.script(
        Scripted.fail(400, f"Invalid request for key {key}; also saw sk-other-secret-123456"),
        Scripted.fail(503, "busy"),
        "garbage",
        "still garbage",
    )
    budget = Budget()
    client = make_client(llm_server, budget)
    for call in (lambda: client.chat_text("a", "s", "u"), lambda: client.chat_json("b", "s", "u", Idea)):
        with pytest.raises(Exception) as info:
            call()
        texts += [str(info.value), repr(info.value), getattr(info.value, "detail", "")]
    with pytest.raises(LLMAuthError) as auth:
        make_client(llm_server, key=PLANTED).chat_text("a", "s", "u")
    texts += [str(auth.value), repr(auth.value)]
    texts += [caplog.text, repr(client), repr(client.config), str(client.config), json.dumps(budget.summary())]
    blob = "\n".join(texts)
    assert "HTTP 400" in blob and "busy" in blob and "retry 1/3" in caplog.text
    assert key not in blob and PLANTED not in blob and "sk-other-secret" not in blob


def test_extract_json_tolerates_fences_and_prose() -> None:
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('Here you go: {"a": {"b": 2}} hope it helps') == {"a": {"b": 2}}
    with pytest.raises(ValueError):
        extract_json("no json here")
