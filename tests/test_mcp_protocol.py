"""The MCP server on the wire, driven by raw JSON-RPC lines: what no SDK client would send.

One server process serves the module (a few tests start their own: before initialize, with one
call slot, at the end of input). Every line any of them writes on stdout must be a JSON-RPC 2.0
message, and no key may appear on stdout or stderr.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS, TEST_KEY
from tests.fake_api import FakeAPI, Reply, chat_image_reply, make_png, messages_reply, review_text
from tests.mcp_harness import KEYS, RawServer, ledger_lines, server_env

MODERN_KEY = "io.modelcontextprotocol/protocolVersion"
MODERN = {MODERN_KEY: "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
SERVERS: list[RawServer] = []


@pytest.fixture(scope="module")
def fake():
    with FakeAPI() as server:
        yield server


@pytest.fixture(scope="module")
def setup(tmp_path_factory, fake):
    root = tmp_path_factory.mktemp("mcp-protocol")
    work = root / "work"
    work.mkdir()
    yield server_env(root, fake), work
    for server in SERVERS:  # the audit: protocol messages only, and never a key
        server.close()
        for line in server.lines:
            message = json.loads(line)
            assert isinstance(message, dict) and message["jsonrpc"] == "2.0", line
            assert "method" in message or "id" in message, line
        for text in (b"".join(server.lines), server.stderr):
            for key in KEYS:
                assert key.encode() not in text


def start(setup, *args: str, initialize: str | None = "2025-11-25") -> RawServer:
    env, work = setup
    server = RawServer(env, work, *args)
    SERVERS.append(server)
    if initialize:
        server.initialize(initialize)
    return server


@pytest.fixture(scope="module")
def server(setup):
    return start(setup)


@pytest.fixture(autouse=True)
def fresh_fake(fake):
    fake.clear()


def error_of(reply):
    assert "error" in reply and "result" not in reply, reply
    return reply["error"]


def test_initialize_answers_with_the_clients_revision_when_served(server):
    for asked, answered in [("2024-11-05", "2024-11-05"), ("2025-06-18", "2025-06-18"),
                            ("1999-01-01", "2025-11-25"), ("2025-11-25", "2025-11-25")]:
        result = server.initialize(asked)["result"]
        assert result["protocolVersion"] == answered
        assert result["capabilities"] == {"tools": {"listChanged": False}}
        assert result["serverInfo"]["name"] == "image-gen" and result["instructions"]
    assert server.request("ping")["result"] == {}


@pytest.mark.parametrize("line, code, answer_id", [
    (b"this is not json\n", -32700, None),
    (b"\xff\xfe not utf-8\n", -32700, None),
    (b'{"jsonrpc": "2.0", "id": "n", "method": "ping", "params": {"x": NaN}}\n', -32700, None),
    (b'[{"jsonrpc": "2.0", "id": "b", "method": "ping"}]\n', -32600, None),
    (b'"just a string"\n', -32600, None),
    (b'{"jsonrpc": "2.0", "id": 1.5, "method": "ping"}\n', -32600, None),
    (b'{"jsonrpc": "2.0", "id": true, "method": "ping"}\n', -32600, None),
    (b'{"id": "no-version", "method": "ping"}\n', -32600, "no-version"),
    (b'{"jsonrpc": "2.0", "id": "m", "method": 12}\n', -32600, "m"),
    (b'{"jsonrpc": "2.0", "id": "p", "method": "ping", "params": [1]}\n', -32602, "p"),
    (b'{"jsonrpc": "2.0", "id": "d", "method": "ping", "params": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}\n",
     -32700, None),
    (b'{"jsonrpc": "2.0", "id": "d", "method": "ping", "params": {"x": ' + b"[" * 200 + b"]" * 200 + b"}}\n",
     -32700, None),
    (b'{"jsonrpc": "2.0", "id": "\\ud800", "method": "ping"}\n', -32600, None),
], ids=["not-json", "not-utf8", "nan", "batch", "string", "float-id", "bool-id", "no-jsonrpc", "method-number",
        "params-list", "nested-5000", "nested-200", "lone-surrogate-id"])
def test_lines_that_are_not_requests_get_errors(server, line, code, answer_id):
    """With the request's id when it could be read, else null (JSON-RPC 2.0, section 5)."""
    before = len(server.messages)
    server.send(line)
    assert server.request("ping", request_id="after")["result"] == {}  # still serving, and answered in order
    (reply, pong) = server.messages[before:]
    assert error_of(reply)["code"] == code and reply["id"] == answer_id and pong["id"] == "after"


def test_unknown_methods_and_bad_params(server):
    server.initialize()
    assert error_of(server.request("resources/list"))["code"] == -32601
    assert error_of(server.request("tools/call", {"name": "no_such_tool"}))["message"] == "Unknown tool: no_such_tool"
    assert error_of(server.request("tools/call", {"arguments": {}}))["code"] == -32602
    assert error_of(server.request("tools/call", {"name": "models", "arguments": ["x"]}))["code"] == -32602
    assert error_of(server.request("tools/list", {"cursor": "page-2"}))["code"] == -32602
    assert error_of(server.request("initialize", {"capabilities": {}}))["code"] == -32602
    server.initialize()


def test_what_is_echoed_holds_no_lone_surrogate(server):
    """A method or tool name holding \\ud800 is echoed with U+FFFD: strict JSON parsers refuse a lone surrogate."""
    server.initialize()
    before = len(server.lines)
    server.send(b'{"jsonrpc": "2.0", "id": "s1", "method": "x\\ud800y"}\n')
    server.send(b'{"jsonrpc": "2.0", "id": "s2", "method": "tools/call", "params": {"name": "t\\udfff"}}\n')
    assert error_of(server.wait_for("s1"))["message"] == "method not found: x\ufffdy"
    assert error_of(server.wait_for("s2"))["message"] == "Unknown tool: t\ufffd"
    for line in server.lines[before:]:
        assert b"\\ud8" not in line.lower() and b"\\udf" not in line.lower(), line
        line.decode("utf-8", "strict")


def test_notifications_are_never_answered(server):
    before = len(server.messages)
    server.notify("notifications/initialized")
    server.notify("notifications/cancelled", {"requestId": "never-sent"})
    server.notify("notifications/whatever", {"x": 1})
    server.send(b'{"jsonrpc": "2.0", "method": "tools/call", "params": "not an object"}\n')
    server.notify("tools/list")
    assert server.request("ping", request_id="after")["result"] == {}
    assert [m.get("id") for m in server.messages[before:]] == ["after"]


def test_a_tool_failure_is_a_result_not_a_protocol_error(server, setup):
    server.initialize()
    reply = server.request("tools/call", {"name": "generate", "arguments": {"prompt": "A fox", "n": 40}})
    result = reply["result"]
    assert result["isError"] is True and result["structuredContent"]["error_kind"] == "usage"
    assert result["structuredContent"]["success"] is False and result["structuredContent"]["contract_version"] == 1
    assert result["content"][0]["type"] == "text" and "'n'" in result["content"][0]["text"]
    unknown = server.request("tools/call", {"name": "generate", "arguments": {"prompt": "A fox", "colour": "red"}})
    assert "colour" in unknown["result"]["structuredContent"]["error"]


def test_a_key_in_what_a_call_echoes_is_masked(server):
    server.initialize()
    reply = server.request("tools/call", {"name": "generate", "arguments": {"prompt": "A fox", "dry_run": True,
                                                                            "request_id": f"{TEST_KEY}/x"}})
    document = reply["result"]["structuredContent"]
    assert document["error_kind"] == "usage" and "***" in document["error"]
    line = next(line for line in server.lines if b'"***' in line or b"***" in line)
    assert TEST_KEY.encode() not in line


def test_requests_before_initialize_are_refused_but_ping_works(setup):
    fresh = start(setup, initialize=None)
    assert fresh.request("ping")["result"] == {}
    assert error_of(fresh.request("tools/list"))["code"] == -32600
    assert "tools" in fresh.request("tools/list", {"_meta": MODERN})["result"]  # a modern request needs none


def test_modern_requests_name_their_revision_in_meta(server):
    discovered = server.request("server/discover", {"_meta": MODERN})["result"]
    assert discovered["resultType"] == "complete" and discovered["supportedVersions"] == ["2026-07-28"]
    assert discovered["capabilities"] == {"tools": {"listChanged": False}}
    assert discovered["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "image-gen"
    assert discovered["ttlMs"] >= 0 and discovered["cacheScope"] == "public"
    listed = server.request("tools/list", {"_meta": MODERN})["result"]
    assert listed["resultType"] == "complete" and listed["cacheScope"] == "public" and listed["tools"]
    unsupported = error_of(server.request("tools/list", {"_meta": {**MODERN, MODERN_KEY: "1900-01-01"}}))
    assert unsupported["code"] == -32022 and unsupported["data"]["requested"] == "1900-01-01"
    assert {"2026-07-28", "2025-11-25"} <= set(unsupported["data"]["supported"])
    no_capabilities = {MODERN_KEY: "2026-07-28"}
    assert error_of(server.request("tools/list", {"_meta": no_capabilities}))["code"] == -32602
    assert error_of(server.request("server/discover"))["code"] == -32602



@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26"])
def test_revisions_before_structured_output_get_the_document_as_json_text(server, version):
    server.initialize(version)
    tools = server.request("tools/list")["result"]["tools"]
    assert all("outputSchema" not in tool and "title" not in tool for tool in tools)
    assert all(("annotations" in tool) is (version != "2024-11-05") for tool in tools)
    result = server.request("tools/call", {"name": "models", "arguments": {"alias": "nanobanana"}})["result"]
    assert "structuredContent" not in result and result["isError"] is False
    assert json.loads(result["content"][1]["text"])["model"]["alias"] == "nanobanana"
    server.initialize()


def test_progress_notifications_run_while_the_call_does_and_stop_before_its_result(server, fake, setup):
    server.initialize()
    fake.enqueue("chat", Reply(delay=0.5, json=chat_image_reply().json))
    out = str(setup[1] / "progress")
    reply = server.request("tools/call", {"name": "generate", "arguments": {"prompt": "A red fox", "output_dir": out},
                                          "_meta": {"progressToken": "p-1"}}, request_id="progress")
    assert reply["result"]["isError"] is False and reply["result"]["structuredContent"]["warnings"] == [], reply
    ticks = [m for m in server.notifications if m["params"].get("progressToken") == "p-1"]
    assert len(ticks) >= 3 and all(m["method"] == "notifications/progress" for m in ticks)
    values = [m["params"]["progress"] for m in ticks]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert all(server.position(m) < server.position(reply) for m in ticks)
    assert any("waiting for flux.2-pro" in m["params"]["message"] for m in ticks)
    time.sleep(0.3)
    assert len([m for m in server.notifications if m["params"].get("progressToken") == "p-1"]) == len(ticks)


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_cancelled_calls_get_no_answer_and_say_whether_they_may_be_billed(setup, fake):
    env, work = setup
    server = start(setup, "--max-calls", "1")
    fake.enqueue("chat", Reply(delay=0.6, json=chat_image_reply().json))
    arguments = {"prompt": "A red fox", "output_dir": str(work / "cancelled"), "request_id": "cancel-out"}
    server.send({"jsonrpc": "2.0", "id": "out", "method": "tools/call",
                 "params": {"name": "generate", "arguments": arguments, "_meta": {"progressToken": "t-out"}}})
    waiting = {**arguments, "request_id": "cancel-waiting"}
    server.send({"jsonrpc": "2.0", "id": "waiting", "method": "tools/call",
                 "params": {"name": "generate", "arguments": waiting}})
    wait_until(lambda: fake.requests_for("chat"))
    server.notify("notifications/cancelled", {"requestId": "out", "reason": "user pressed stop"})
    server.notify("notifications/cancelled", {"requestId": "waiting"})
    wait_until(lambda: any(line.get("request_id") == "cancel-out" for line in ledger_lines(env)))
    assert server.request("ping")["result"] == {}
    time.sleep(0.3)
    assert "out" not in server.responses and "waiting" not in server.responses
    assert len(fake.requests_for("chat")) == 1  # the waiting call never sent anything
    (paid,) = [line for line in ledger_lines(env) if line.get("request_id") == "cancel-out"]
    assert paid["outcome"] == "success" and paid["script"] == "mcp_server.py"
    assert list((work / "cancelled").glob("*.png"))  # paid for, so kept
    log = server.stderr.decode()
    assert "may still be billed (charge_unknown)" in log and "user pressed stop" in log
    assert "with no paid call out: nothing is billed" in log
    positions = [server.position(m) for m in server.notifications if m["params"].get("progressToken") == "t-out"]
    assert all(p < len(server.messages) for p in positions)


def test_end_of_input_lets_quick_calls_finish_and_records_abandoned_ones(setup, fake):
    env, work = setup
    server = start(setup, "--shutdown-grace", "1")
    fake.enqueue("chat", Reply(delay=8.0, json=chat_image_reply().json))
    fake.enqueue("messages", Reply(delay=0.1, json=messages_reply(review_text()).json))
    image = work / "review-me.png"
    image.write_bytes(make_png(32, 32))
    server.send({"jsonrpc": "2.0", "id": "slow", "method": "tools/call", "params": {
        "name": "generate", "arguments": {"prompt": "A red fox", "output_dir": str(work / "slow"),
                                          "request_id": "abandoned-1"}}})
    server.send({"jsonrpc": "2.0", "id": "quick", "method": "tools/call", "params": {
        "name": "review", "arguments": {"image": str(image), "original_prompt": "a fox", "auto": True}}})
    wait_until(lambda: fake.requests_for("chat") and fake.requests_for("messages"))
    started = time.monotonic()
    assert server.close() == 0
    assert time.monotonic() - started < 5
    assert server.responses["quick"]["result"]["structuredContent"]["verdict"] == "accept"
    assert "slow" not in server.responses
    (line,) = [entry for entry in ledger_lines(env) if entry.get("request_id") == "abandoned-1"]
    assert line["outcome"] == "charge_unknown" and line["error_kind"] == "interrupted"
    assert "charge_unknown" in server.stderr.decode()


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGHUP])
def test_a_server_stopped_by_a_signal_records_the_call_it_had_out(setup, fake, sent):
    env, work = setup
    server = start(setup)
    fake.enqueue("chat", Reply(delay=8.0, json=chat_image_reply().json))
    request_id = f"signalled-{signal.Signals(sent).name}"
    server.send({"jsonrpc": "2.0", "id": "slow", "method": "tools/call", "params": {
        "name": "generate", "arguments": {"prompt": "A red fox", "output_dir": str(work / "slow"),
                                          "request_id": request_id}}})
    wait_until(lambda: fake.requests_for("chat"))
    server.process.send_signal(sent)
    server.process.wait(timeout=10)
    (line,) = [entry for entry in ledger_lines(env) if entry.get("request_id") == request_id]
    assert line["outcome"] == "charge_unknown" and line["error_kind"] == "interrupted"


def test_a_message_too_long_is_refused_and_the_next_one_served(server):
    server.send(b'{"jsonrpc": "2.0", "id": "big", "method": "ping", "params": {"x": "' + b"x" * (17 << 20) + b'"}}\n')
    assert server.request("ping", request_id="after-big")["result"] == {}
    refused = [m for m in server.messages if m.get("id") is None and "at most" in m.get("error", {}).get("message", "")]
    assert refused and "big" not in server.responses


def test_stray_writes_to_stdout_go_to_stderr():
    code = ("import os, sys; sys.path.insert(0, sys.argv[1]); from imagegen.commands.mcp_server import _claim_stdout; "
            "out = _claim_stdout(); print('stray print'); os.system('echo from a child'); os.write(1, b'raw fd\\n'); "
            "out.write(b'protocol\\n'); out.flush()")
    done = subprocess.run([sys.executable, "-c", code, str(SCRIPTS)], capture_output=True, timeout=30)
    assert done.stdout == b"protocol\n"
    assert b"stray print" in done.stderr and b"from a child" in done.stderr and b"raw fd" in done.stderr


def test_a_bad_command_line_is_told_on_stderr_not_stdout(base_env):
    done = subprocess.run([sys.executable, str(SCRIPTS / "mcp_server.py"), "--max-calls", "0"],
                          capture_output=True, timeout=30, stdin=subprocess.DEVNULL, env=base_env)
    assert done.returncode == 2 and done.stdout == b""
    assert json.loads(done.stderr)["error_kind"] == "usage"


def test_workdir_is_where_relative_paths_start(setup, tmp_path):
    server = start(setup, "--workdir", str(tmp_path))
    reply = server.request("tools/call", {"name": "generate", "arguments": {"prompt": "A fox"}})
    assert Path(reply["result"]["structuredContent"]["path"]).parent == tmp_path.resolve() / "data"
    assert reply["result"]["structuredContent"]["warnings"] == []
    done = subprocess.run([sys.executable, str(SCRIPTS / "mcp_server.py"), "--workdir", str(tmp_path / "missing")],
                          capture_output=True, timeout=30, stdin=subprocess.DEVNULL, env=setup[0])
    assert done.returncode == 2 and done.stdout == b"" and json.loads(done.stderr)["error_kind"] == "usage"
