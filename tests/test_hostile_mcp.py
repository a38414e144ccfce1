"""The MCP server under attack through its tools: file reads and writes outside the user's folders,
key files and devices as "images", waits that never end.

A tool call comes from a model; it may touch files only inside ``--workdir``, the ``--allow-root``
folders and the roots the client lists, and the bytes of a file go back only when it is an image.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY
from tests.fake_api import FakeAPI, Reply, chat_image_reply, make_png
from tests.mcp_harness import KEYS, RawServer, ledger_lines, server_env

SERVERS: list[RawServer] = []


@pytest.fixture(scope="module")
def fake():
    with FakeAPI() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_fake(fake):
    fake.clear()


@pytest.fixture(scope="module")
def setup(tmp_path_factory, fake):
    root = tmp_path_factory.mktemp("mcp-hostile")
    work = root / "work"
    work.mkdir()
    env = server_env(root, fake)
    secret = Path(env["XDG_CONFIG_HOME"]) / "image-gen" / "env"
    secret.parent.mkdir(parents=True)
    secret.write_text(f"OPENROUTER_API_KEY={TEST_KEY}\n")
    yield env, work, secret
    for server in SERVERS:
        server.close()
        everything = b"".join(server.lines) + server.stderr
        for key in KEYS:
            assert key.encode() not in everything
            assert base64.b64encode(key.encode())[:16] not in everything


def start(setup, *args: str) -> RawServer:
    env, work, _ = setup
    server = RawServer(env, work, *args)
    SERVERS.append(server)
    server.initialize()
    return server


def call(server: RawServer, name: str, arguments: dict, timeout: float = 30) -> dict:
    reply = server.request("tools/call", {"name": name, "arguments": arguments}, timeout=timeout)
    assert "result" in reply, reply
    return reply["result"]


def image_blocks(result: dict) -> list[dict]:
    return [block for block in result["content"] if block["type"] == "image"]


def test_review_of_a_key_file_outside_the_workdir_is_refused_unread(setup):
    secret = setup[2]
    server = start(setup)
    result = call(server, "review", {"image": str(secret), "inline_preview": True})
    assert result["isError"] and result["structuredContent"]["error_kind"] == "outside_roots", result
    assert image_blocks(result) == []


def test_no_bytes_of_a_file_that_is_not_an_image_even_inside_the_roots(setup):
    _, work, secret = setup
    server = start(setup, "--allow-root", str(secret.parent))
    disguised = work / "key.png"
    disguised.write_text(f"OPENROUTER_API_KEY={TEST_KEY}\n")
    for path in (secret, disguised):
        result = call(server, "review", {"image": str(path), "inline_preview": True})
        assert result["isError"] and image_blocks(result) == [], result
        assert "not a recognised image" in json.dumps(result)


def test_a_real_image_still_gets_its_preview(setup):
    _, work, _ = setup
    server = start(setup)
    (work / "fine.png").write_bytes(make_png(16, 16))
    result = call(server, "review", {"image": "fine.png", "original_prompt": "a square", "inline_preview": True})
    assert not result["isError"], result
    (block,) = image_blocks(result)
    assert block["mimeType"] == "image/png" and base64.b64decode(block["data"]) == make_png(16, 16)


@pytest.mark.parametrize("device", ["/dev/stdin", "/dev/zero", "/dev/fd/0"])
def test_devices_and_the_servers_own_stdin_are_never_read(setup, device):
    """Even allowed as a root, a device is no image: the call answers, and the protocol stream is untouched."""
    server = start(setup, "--allow-root", "/dev")
    result = call(server, "review", {"image": device, "inline_preview": True}, timeout=20)
    assert result["isError"] and image_blocks(result) == [], result
    assert server.request("ping", request_id=f"after-{device}")["result"] == {}
    assert call(server, "models", {})["isError"] is False  # later messages are still served


def test_a_fifo_in_the_workdir_is_never_read(setup):
    _, work, _ = setup
    server = start(setup)
    os.mkfifo(work / "pipe.png")
    result = call(server, "review", {"image": "pipe.png", "inline_preview": True}, timeout=20)
    assert result["isError"] and image_blocks(result) == [], result


@pytest.mark.parametrize("arguments", [
    {"prompt": "A red fox", "output_file": "{outside}/victim.txt", "overwrite": True},
    {"prompt": "A red fox", "output_file": "../victim.txt", "overwrite": True},
    {"prompt": "A red fox", "output_file": "link/victim.txt", "overwrite": True},
    {"prompt": "A red fox", "output_dir": "{outside}"},
    {"prompt": "A red fox", "input_images": ["{outside}/private.png"]},
    {"prompt": "Make the sky darker", "baseline_image": "{outside}/private.png", "confirm_external_upload": True},
], ids=["absolute", "dotdot", "symlink", "output-dir", "input-image", "baseline"])
def test_generate_touches_nothing_outside_the_roots(setup, fake, arguments):
    _, work, _ = setup
    outside = work.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "private.png").write_bytes(make_png(8, 8))
    victim = work.parent / "victim.txt" if "../" in arguments.get("output_file", "") else outside / "victim.txt"
    victim.write_text("keep me\n")
    if not (work / "link").exists():
        (work / "link").symlink_to(outside)
    server = start(setup)
    filled = json.loads(json.dumps(arguments).replace("{outside}", str(outside)))
    result = call(server, "generate", filled)
    assert result["isError"] and result["structuredContent"]["error_kind"] == "outside_roots", result
    assert victim.read_text() == "keep me\n" and fake.requests == []


def test_edit_and_queue_folders_are_held_to_the_roots_too(setup, fake, tmp_path):
    server = start(setup)
    (tmp_path / "in.png").write_bytes(make_png(8, 8))
    edit = call(server, "edit", {"prompt": "darker sky", "input_images": [str(tmp_path / "in.png")]})
    status = call(server, "queue_status", {"queue_dir": str(tmp_path)})
    enqueue = call(server, "enqueue", {"prompt": "A red fox", "queue_dir": str(tmp_path / "q")})
    for result in (edit, status, enqueue):
        assert result["structuredContent"]["error_kind"] == "outside_roots", result
    assert not (tmp_path / "q").exists() and fake.requests == []


def test_an_allowed_root_is_usable(setup, fake, tmp_path):
    server = start(setup, "--allow-root", str(tmp_path))
    result = call(server, "generate", {"prompt": "A red fox", "output_file": str(tmp_path / "fox.png")})
    assert not result["isError"], result
    assert (tmp_path / "fox.png").exists()


def test_tools_that_can_replace_a_file_say_so(setup):
    server = start(setup)
    tools = {t["name"]: t["annotations"] for t in server.request("tools/list")["result"]["tools"]}
    for name in ("generate", "edit", "review", "enqueue", "enqueue_variants"):
        assert tools[name]["destructiveHint"] is True, name
    for name in ("queue_status", "models", "spend"):
        assert tools[name]["readOnlyHint"] is True and tools[name]["destructiveHint"] is False, name


def test_cancelled_waits_free_their_slots(setup, tmp_path):
    """queue_status wait with a day-long timeout, cancelled: the slot is free at once for the next call."""
    server = start(setup, "--max-calls", "1")
    queued = call(server, "enqueue", {"prompt": "A lighthouse at dusk, watercolour", "request_id": "never-done",
                                      "output_file": "out/never.png"})
    assert not queued["isError"], queued
    for number in range(4):
        server.send({"jsonrpc": "2.0", "id": f"wait-{number}", "method": "tools/call", "params": {
            "name": "queue_status", "arguments": {"request_id": "never-done", "wait": True, "timeout": 86400}}})
        time.sleep(0.2)
        server.notify("notifications/cancelled", {"requestId": f"wait-{number}"})
    assert call(server, "spend", {}, timeout=20)["isError"] is False
    assert not any(f"wait-{n}" in server.responses for n in range(4))


def test_the_client_roots_are_asked_for_and_honoured(setup, fake, tmp_path):
    """A client with the roots capability is asked for roots/list; a root it lists becomes usable."""
    env, work, _ = setup
    server = RawServer(env, work)
    SERVERS.append(server)
    server.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {"roots": {"listChanged": True}},
                                  "clientInfo": {"name": "raw-test", "version": "1"}})
    server.notify("notifications/initialized")
    deadline = time.monotonic() + 10
    while not [m for m in server.notifications if m.get("method") == "roots/list"]:
        assert time.monotonic() < deadline, server.messages
        time.sleep(0.02)
    (ask,) = [m for m in server.notifications if m.get("method") == "roots/list"]
    server.send({"jsonrpc": "2.0", "id": ask["id"], "result": {"roots": [{"uri": tmp_path.as_uri(), "name": "t"}]}})
    deadline = time.monotonic() + 10
    while True:
        result = call(server, "generate", {"prompt": "A red fox", "output_file": str(tmp_path / "fox.png")})
        if not result["isError"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not result["isError"], result


def test_a_cancellation_reaches_a_call_waiting_to_retry(setup, fake):
    """A call backing off after a 503 (for tens of seconds here) stops at once when cancelled: no second
    attempt is sent, its slot is free for the next call."""
    from tests.fake_api import error_reply
    from tests.mcp_harness import ledger_lines

    env, work, _ = setup
    server = RawServer({**env, "IMAGEGEN_RETRY_BASE_SEC": "60"}, work, "--max-calls", "1")
    SERVERS.append(server)
    server.initialize()
    fake.enqueue("chat", error_reply(503, "overloaded"))
    server.send({"jsonrpc": "2.0", "id": "retrying", "method": "tools/call", "params": {
        "name": "generate", "arguments": {"prompt": "A red fox", "request_id": "retry-cancel", "retries": 2}}})
    deadline = time.monotonic() + 20
    while not fake.requests_for("chat"):  # the first attempt is out (its 503 back or on its way)
        assert time.monotonic() < deadline, server.stderr
        time.sleep(0.02)
    server.notify("notifications/cancelled", {"requestId": "retrying"})
    assert call(server, "spend", {}, timeout=20)["isError"] is False  # the slot was freed long before 60 s
    assert len(fake.requests_for("chat")) == 1 and "retrying" not in server.responses
    assert [line["outcome"] for line in ledger_lines(env) if line.get("request_id") == "retry-cancel"] == ["error"]


@pytest.mark.parametrize("name, arguments", [
    ("generate", {"prompt": "A red fox\ud800"}),
    ("generate", {"prompt": "A red fox", "output_file": "fox\ud800.png"}),
    ("generate", {"prompt": "A red fox", "preset": "p\udfff"}),
    ("generate", {"prompt": "A red fox", "model": "x\ud800/y"}),
    ("generate", {"prompt": "A red fox", "instructions": ["keep \ud800"]}),
    ("review", {"image": "a\ud800.png"}),
    ("generate", {"prompt": "A red fox", "x\ud800": 1}),
])
def test_an_argument_holding_a_lone_surrogate_is_a_usage_error_and_nothing_is_sent(setup, fake, name, arguments):
    server = start(setup)
    before = len(server.lines)
    result = call(server, name, arguments)
    assert result["isError"] and result["structuredContent"]["error_kind"] == "usage", result
    assert "lone surrogate" in result["structuredContent"]["error"] and fake.requests == []
    for line in server.lines[before:]:
        line.decode("utf-8", "strict")
        assert b"\\ud8" not in line.lower() and b"\\udf" not in line.lower(), line


def wait_for_request(fake: FakeAPI, route: str, server: RawServer) -> None:
    deadline = time.monotonic() + 20
    while not fake.requests_for(route):
        assert time.monotonic() < deadline, server.stderr
        time.sleep(0.02)


@pytest.mark.parametrize("stall_after", [None, 20], ids=["before the reply", "mid-body"])
@pytest.mark.parametrize("name, arguments, route", [
    ("models", {"refresh": True}, "models"),
    ("preflight", {"online": True}, "key"),
])
def test_a_cancelled_call_breaks_off_the_request_it_waits_for(setup, fake, name, arguments, route, stall_after):
    """A catalogue refresh or an online check whose reply stalls (for a minute): cancelled, its GET is
    broken off, the call gets no answer, its slot serves the next call at once, the ledger is untouched."""
    env, _, _ = setup
    server = start(setup, "--max-calls", "1")
    before = len(ledger_lines(env))
    stall = threading.Event()
    fake.enqueue(route, Reply(json={"data": [{"id": "stalled/" + "x" * 200}]}, stall=stall, stall_after=stall_after))
    try:
        server.send({"jsonrpc": "2.0", "id": "stalled", "method": "tools/call",
                     "params": {"name": name, "arguments": arguments}})
        wait_for_request(fake, route, server)
        server.notify("notifications/cancelled", {"requestId": "stalled"})
        assert call(server, "spend", {}, timeout=5)["isError"] is False  # long before the minute is up
    finally:
        stall.set()
    assert "stalled" not in server.responses
    assert len(ledger_lines(env)) == before
    log = server.stderr.decode()
    assert "nothing is billed" in log and "Traceback" not in log and "ended in" not in log


def send_generate(server, call_id: str, request_id: str, work) -> None:
    """Start a generate tool call (not waiting for its answer): request ``request_id``, images in work/<it>."""
    server.send({"jsonrpc": "2.0", "id": call_id, "method": "tools/call", "params": {
        "name": "generate", "arguments": {"prompt": "A red fox", "request_id": request_id,
                                          "output_dir": str(work / request_id)}}})


def test_a_cancelled_cost_lookup_is_broken_off_and_the_paid_call_stays_on_the_ledger(setup, fake):
    """The image came back without its cost; the GET /generation that asks for it stalls: cancelled, the
    lookup is broken off, and the paid call is on the ledger (counted at its estimate)."""
    env, work, _ = setup
    server = start(setup, "--max-calls", "1")
    stall = threading.Event()
    fake.enqueue("chat", chat_image_reply(cost=None))
    fake.enqueue("generation", Reply(json={"data": {"total_cost": 0.04}}, stall=stall))
    try:
        send_generate(server, "costly", "cost-cancel", work)
        wait_for_request(fake, "generation", server)
        server.notify("notifications/cancelled", {"requestId": "costly"})
        assert call(server, "spend", {}, timeout=5)["isError"] is False
    finally:
        stall.set()
    assert "costly" not in server.responses
    (paid,) = [line for line in ledger_lines(env) if line.get("request_id") == "cost-cancel"]
    assert paid["outcome"] == "success"
    assert list((work / "cost-cancel").glob("*.png"))
    assert "Traceback" not in server.stderr.decode()


def test_a_paid_call_whose_reply_stalls_is_not_broken_off_by_a_cancellation(setup, fake):
    """The image reply stops mid-body: the provider did the work, so the call waits for the rest,
    saves the image and ledgers it, cancelled or not."""
    env, work, _ = setup
    server = start(setup)
    stall = threading.Event()
    fake.enqueue("chat", Reply(json=chat_image_reply().json, stall=stall, stall_after=100))
    try:
        send_generate(server, "paid", "paid-stall", work)
        wait_for_request(fake, "chat", server)
        server.notify("notifications/cancelled", {"requestId": "paid"})
        assert server.request("ping")["result"] == {}
        time.sleep(0.5)  # many times the slice a cancellable request waits: this one must still be waiting
        assert not [line for line in ledger_lines(env) if line.get("request_id") == "paid-stall"]
    finally:
        stall.set()
    # The call is ledgered as its reply arrives and its image saved just after: wait for both.
    deadline = time.monotonic() + 20
    while not ([line for line in ledger_lines(env) if line.get("request_id") == "paid-stall"]
               and list((work / "paid-stall").glob("*.png"))):
        assert time.monotonic() < deadline, server.stderr
        time.sleep(0.02)
    (paid,) = [line for line in ledger_lines(env) if line.get("request_id") == "paid-stall"]
    assert paid["outcome"] == "success"
    assert "paid" not in server.responses
