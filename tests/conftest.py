"""Suite-wide guards: no test may call a real LLM provider because of a developer's own configuration.

`ALPHAMINE_LLM=off` makes `alphamine run` resolve `--llm` (auto) to off; the LLM tests that want the
agents remove it and point the client at the loopback fake server (tests/llm/fake_server.py)."""

from __future__ import annotations

import os

os.environ["ALPHAMINE_LLM"] = "off"

pytest_plugins = ["tests.browser_support"]  # the `browser` fixture (headless Chromium) for the page tests
