"""The MCP server under test: its environment against the loopback fake, and a raw JSON-RPC client.

``RawServer`` starts ``scripts/mcp_server.py`` as an MCP client would (a subprocess on pipes) and
keeps every line it writes on stdout, so a test can check that each one is a protocol message.
The SDK-driven tests (``test_mcp_sdk.py``) start it through the ``mcp`` package instead.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, SCRIPTS, TEST_KEY
from tests.fake_api import FakeAPI

SERVER = [sys.executable, str(SCRIPTS / "mcp_server.py"), "--progress-interval", "0.1"]
KEYS = (TEST_KEY, OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY)


def server_env(root: Path, fake: FakeAPI) -> dict[str, str]:
    """As conftest's ``env``: user folders under ``root``, the fake's URLs, marker keys, fast back-off."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "SYSTEMROOT")}
    return {**keep, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"), "XDG_STATE_HOME": str(home / ".local/state"),
            "IMAGEGEN_RETRY_BASE_SEC": "0.01", "NO_COLOR": "1", **fake.env(),
            "OPENROUTER_API_KEY_IMAGES": TEST_KEY, "OPENAI_API_KEY": OPENAI_TEST_KEY,
            "ANTHROPIC_API_KEY": ANTHROPIC_TEST_KEY}


def ledger_lines(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class RawServer:
    """The server on pipes: send messages (or raw bytes), wait for a response by id, see every line."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self.process = subprocess.Popen([*SERVER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=env, cwd=cwd)
        self.lines: list[bytes] = []
        self.messages: list[dict[str, Any]] = []  # every message, in the order it came
        self.responses: dict[Any, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.stderr = b""
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            message = json.loads(line)  # a line that is not JSON fails the audit below as well
            with self._changed:
                self.lines.append(line)
                self.messages.append(message)
                if "id" in message and ("result" in message or "error" in message):
                    self.responses[message["id"]] = message
                else:
                    self.notifications.append(message)
                self._changed.notify_all()

    def position(self, message: dict[str, Any]) -> int:
        return next(i for i, seen in enumerate(self.messages) if seen is message)

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr += line

    def send(self, message: dict[str, Any] | bytes) -> None:
        data = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def wait_for(self, request_id: Any, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while request_id not in self.responses:
                left = deadline - time.monotonic()
                assert left > 0, f"no response to {request_id!r}; stderr: {self.stderr.decode(errors='replace')}"
                self._changed.wait(left)
            return self.responses[request_id]

    def request(self, method: str, params: dict[str, Any] | None = None, *, request_id: Any = None,
                timeout: float = 30) -> dict[str, Any]:
        request_id = next(self._ids) if request_id is None else request_id
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        with self._changed:
            self.responses.pop(request_id, None)  # an id may be used again once answered
        self.send(message)
        return self.wait_for(request_id, timeout)

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {})})

    def initialize(self, version: str = "2025-11-25") -> dict[str, Any]:
        reply = self.request("initialize", {"protocolVersion": version, "capabilities": {},
                                            "clientInfo": {"name": "raw-test", "version": "1"}})
        self.notify("notifications/initialized")
        return reply

    def close(self, timeout: float = 15) -> int:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
