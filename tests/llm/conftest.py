"""Fixtures shared by the LLM tests: a real OpenAI-compatible server on loopback (`fake_server.py`).

`llm_server` is one server per test module (starting uvicorn per test would cost more than the
tests); it is reset before every test, so each test sees an empty script, no responder and no
recorded requests. Use it from any test under tests/llm:

    def test_x(llm_server):
        llm_server.script("{\"ok\": true}")
        config = LLMConfig("custom", llm_server.url, "fake-model", Secret(llm_server.key))
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.llm.fake_server import FakeLLMServer, fake_llm_server


@pytest.fixture(scope="module")
def _llm_server_module() -> Iterator[FakeLLMServer]:
    with fake_llm_server() as server:
        yield server


@pytest.fixture
def llm_server(_llm_server_module: FakeLLMServer) -> Iterator[FakeLLMServer]:
    _llm_server_module.reset()
    yield _llm_server_module
    _llm_server_module.reset()
