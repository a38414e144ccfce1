"""The MCP server as an MCP client sees it: the official Python SDK (``mcp``) over stdio, against the
loopback fake. Every test runs twice, once per protocol era: a modern client (2026-07-28, no
handshake, the SDK's default) and a legacy one (``initialize``, 2025-11-25). The SDK checks every
structured result against the tool's outputSchema, so a result that strays from the published
schemas fails here.
"""

from __future__ import annotations

import base64
import struct
import sys
import time
from functools import partial
from pathlib import Path

import pytest

mcp = pytest.importorskip("mcp", reason="the MCP Python SDK drives these tests (python3 tests/run.py installs it)")

import anyio  # noqa: E402  (installed with mcp)
from anyio.from_thread import start_blocking_portal  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

from imagegen.models.table import RETIRED_NOTES  # noqa: E402
from tests.conftest import SCRIPTS  # noqa: E402
from tests.fake_api import (  # noqa: E402
    FakeAPI,
    Reply,
    chat_image_reply,
    error_reply,
    make_png,
    make_png_of_size,
    messages_reply,
    review_text,
)
from tests.mcp_harness import KEYS, ledger_lines, server_env  # noqa: E402

TOOLS = {"generate", "edit", "review", "enqueue", "enqueue_variants", "queue_status", "models", "spend", "preflight"}


class SyncClient:
    """The SDK client, called from plain test functions through an anyio portal."""

    def __init__(self, portal, client, mode: str) -> None:
        self.portal, self.client, self.mode = portal, client, mode

    def call(self, name: str, arguments: dict | None = None, **options):
        return self.portal.call(partial(self.client.call_tool, name, arguments or {}, **options))

    def list_tools(self):
        return self.portal.call(self.client.list_tools)

    def run(self, function, *args):
        return self.portal.call(function, *args)


@pytest.fixture(scope="module")
def fake():
    with FakeAPI() as server:
        yield server


@pytest.fixture(scope="module")
def world(tmp_path_factory, fake):
    root = tmp_path_factory.mktemp("mcp-sdk")
    work = root / "work"
    work.mkdir()
    (work / "photo.png").write_bytes(make_png(64, 64))
    (work / "other.png").write_bytes(make_png(64, 48))  # a picture: a flat one would be rejected unreviewed
    return server_env(root, fake), work, root


@pytest.fixture(scope="module", params=["auto", "legacy"])
def client(request, world):
    env, work, root = world
    log = root / f"stderr-{request.param}.txt"
    params = StdioServerParameters(command=sys.executable, env=env, cwd=str(work),
                                   args=[str(SCRIPTS / "mcp_server.py"), "--progress-interval", "0.1"])
    with open(log, "w") as errlog, start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Client(stdio_client(params, errlog=errlog), mode=request.param)) as c:
            portal.call(c.list_tools)  # the SDK checks structured results against the schemas it has listed
            yield SyncClient(portal, c, request.param)
    text = log.read_text()
    assert "Traceback" not in text and not any(key in text for key in KEYS), text


@pytest.fixture(autouse=True)
def fresh_fake(fake):
    fake.clear()


def document(result, *, error: bool = False):
    assert result.is_error is error, result.content[0].text
    assert result.content[0].type == "text" and result.content[0].text
    return result.structured_content


def test_the_session_speaks_the_current_revision_of_its_era(client):
    assert client.client.protocol_version == ("2026-07-28" if client.mode == "auto" else "2025-11-25")
    assert client.client.server_info.name == "image-gen"


def test_every_tool_is_listed_with_its_schemas(client):
    listed = {tool.name: tool for tool in client.list_tools().tools}
    assert set(listed) == TOOLS
    for tool in listed.values():
        assert tool.input_schema["type"] == "object" and tool.input_schema["additionalProperties"] is False
        assert tool.output_schema["anyOf"] and tool.description and tool.title
    assert listed["generate"].input_schema["required"] == ["prompt"]
    assert listed["edit"].input_schema["properties"]["mask_rects"]["type"] == "array"
    assert listed["models"].annotations.read_only_hint is True


def test_generate_saves_the_image_and_links_it(client, fake, world):
    out = world[1] / f"gen-{client.mode}"
    result = client.call("generate", {"prompt": "A red fox in snow", "output_dir": str(out), "request_id": "sdk-1"})
    doc = document(result)
    path = Path(doc["path"])
    assert doc["warnings"] == []
    assert path.is_file() and path.parent == out and Path(doc["sidecar"]).is_file()
    (link,) = [block for block in result.content if block.type == "resource_link"]
    assert str(link.uri) == path.as_uri() and link.mime_type == "image/png" and link.name == path.name
    assert not [block for block in result.content if block.type == "image"]  # no base64 unless asked
    assert str(path) in result.content[0].text and "$0.0400" in result.content[0].text
    (sent,) = fake.requests_for("chat")
    assert sent.json["model"] == "black-forest-labs/flux.2-pro"
    assert any(line["request_id"] == "sdk-1" and line["script"] == "mcp_server.py" for line in ledger_lines(world[0]))


def test_inline_preview_is_a_small_image_block(client, fake, world):
    fake.enqueue("chat", chat_image_reply(images=[make_png_of_size(400_000)]))
    result = client.call("generate", {"prompt": "A red fox in snow", "output_dir": str(world[1] / "preview"),
                                      "inline_preview": True})
    assert document(result)["warnings"] == [  # the 365x365 noise the test sends
        "asked for about 2048x2048 but the provider returned 365x365: it is smaller than asked (check the model's "
        "supported sizes, or ask again)"]
    (image,) = [block for block in result.content if block.type == "image"]
    data = base64.b64decode(image.data)
    width, height = struct.unpack(">II", data[16:24])
    assert image.mime_type == "image/png" and data.startswith(b"\x89PNG") and max(width, height) == 256


def test_dry_run_sends_nothing(client, fake):
    doc = document(client.call("generate", {"prompt": "A red fox", "dry_run": True, "model": "nanobanana"}))
    assert doc["dry_run"] is True and doc["request"]["body"]["model"] == "google/gemini-2.5-flash-image"
    assert doc["warnings"] == [RETIRED_NOTES["google/gemini-2.5-flash-image"]]
    assert fake.requests_for("chat") == []


def test_edit_in_both_modes(client, fake, world):
    work = world[1]
    doc = document(client.call("edit", {"input_images": [str(work / "photo.png")], "prompt": "Make it night",
                                        "output_dir": str(work / f"edit-{client.mode}")}))
    assert doc["mode"] == "openrouter" and doc["parent"]["path"].endswith("photo.png") and doc["warnings"] == []
    doc = document(client.call("edit", {"input_images": [str(work / "photo.png")], "prompt": "A window",
                                        "mask_rects": ["25%,25%,50%,50%"], "keep_unmasked": True,
                                        "output_dir": str(work / f"mask-{client.mode}")}))
    assert doc["mode"] == "openai" and Path(doc["mask_path"]).is_file() and Path(doc["path"]).is_file()
    assert doc["warnings"] == []
    assert len(fake.requests_for("edits")) == 1 and len(fake.requests_for("chat")) == 1


def test_review_auto_and_compare(client, fake, world):
    work = world[1]
    doc = document(client.call("review", {"image": str(work / "photo.png"), "original_prompt": "a fox", "auto": True}))
    assert doc["verdict"] == "accept" and doc["score"] == 8 and doc["warnings"] == []
    fake.enqueue("messages", messages_reply(review_text(score=5)), messages_reply(review_text(score=9)))
    result = client.call("review", {"image": str(work / "photo.png"), "compare": str(work / "other.png"),
                                    "original_prompt": "a fox", "auto": True})
    assert document(result)["compare"] is True and result.structured_content["warnings"] == []
    assert sorted(r["score"] for r in result.structured_content["reviews"]) == [5, 9]
    manual = client.call("review", {"image": str(work / "photo.png"), "original_prompt": "a fox",
                                    "inline_preview": True})
    assert document(manual)["mode"] == "manual" and manual.structured_content["warnings"] == []
    assert [block.type for block in manual.content] == ["text", "resource_link", "image"]


def test_enqueue_then_queue_status(client, fake, world):
    work = world[1]
    queue = str(work / f"queue-{client.mode}")
    doc = document(client.call("enqueue", {"prompt": "A red fox", "output_file": str(work / "q" / "fox.png"),
                                           "request_id": "chat-7", "queue_dir": queue}))
    assert doc["status"] == "queued" and len(doc["job_ids"]) == 1 and doc["cost_estimate_usd"] > 0
    doc = document(client.call("enqueue_variants", {"prompt": "A red crab logo", "count": 2, "prefix": "crab",
                                                    "out_dir": str(work / "v"), "request_id": "chat-8",
                                                    "queue_dir": queue}))
    assert len(doc["job_ids"]) == 2 and Path(doc["manifest"]).is_file()
    status = document(client.call("queue_status", {"request_id": "chat-7", "queue_dir": queue}))
    assert status["total"] == 1 and status["done"] is False and status["states"] == {"pending": 1}
    counts = document(client.call("queue_status", {"queue_dir": queue}))["counts"]
    assert counts["pending"] == 3
    assert fake.requests == []  # queueing sends nothing


def test_models_spend_and_preflight(client, world):
    assert document(client.call("models", {}))["default_model"] == "flux.2-pro"
    assert document(client.call("models", {"alias": "nanobanana"}))["model"]["id"] == "google/gemini-2.5-flash-image"
    spent = document(client.call("spend", {"request_id": "sdk-1"}))
    assert spent["request_id"] == "sdk-1" and "calls" in spent
    result = client.call("preflight", {"output_dir": str(world[1])})
    assert result.structured_content["checks"] and result.is_error is not result.structured_content["success"]


@pytest.mark.parametrize("arguments, kind", [
    ({"prompt": "A fox", "n": 40}, "usage"),
    ({}, "usage"),
    ({"prompt": "A fox", "aspect_ratio": 3}, "usage"),
    ({"prompt": "A fox", "max_cost": 0.0001}, "budget"),
    ({"prompt": "Make the sky stormy", "baseline_image": "photo.png"}, "upload_consent_required"),
    ({"prompt": "A fox", "model": "no/such-model-anywhere", "api": "chat", "quality": "high"}, "usage"),
])
def test_bad_arguments_and_refusals_are_tool_errors_before_anything_is_sent(client, fake, arguments, kind):
    doc = document(client.call("generate", arguments), error=True)
    assert doc["success"] is False and doc["error_kind"] == kind and doc["retryable"] is False
    assert fake.requests_for("chat") == []


def test_a_provider_failure_is_a_tool_error_with_the_error_document(client, fake, world):
    fake.enqueue("chat", error_reply(503, "upstream overloaded"))
    doc = document(client.call("generate", {"prompt": "A red fox", "retries": 0,
                                            "output_dir": str(world[1] / "fail")}), error=True)
    assert doc["error_kind"] == "provider_error" and doc["retryable"] is True and doc["http_status"] == 503
    fake.enqueue("chat", error_reply(402, "Insufficient credits"))
    doc = document(client.call("generate", {"prompt": "A red fox", "retries": 0}), error=True)
    assert doc["error_kind"] == "credits" and doc["retryable"] is False


def test_an_unknown_tool_is_a_protocol_error(client):
    with pytest.raises(MCPError) as caught:
        client.call("no_such_tool", {})
    assert caught.value.error.code == -32602


def test_progress_reaches_the_client_while_a_generation_runs(client, fake, world):
    fake.enqueue("chat", Reply(delay=0.4, json=chat_image_reply().json))
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, message))

    doc = document(client.call("generate", {"prompt": "A red fox", "output_dir": str(world[1] / "slow")},
                               progress_callback=on_progress))
    assert doc["warnings"] == []
    assert len(seen) >= 2 and [p for p, _ in seen] == sorted(p for p, _ in seen)
    assert any("waiting for flux.2-pro" in (message or "") for _, message in seen)


def test_cancelling_a_call_stops_the_wait_and_the_server_goes_on(client, fake, world):
    fake.enqueue("chat", Reply(delay=0.6, json=chat_image_reply().json))
    request_id = f"cancel-{client.mode}"

    async def call_and_give_up_once_it_is_sent():
        async with anyio.create_task_group() as group:
            group.start_soon(partial(client.client.call_tool, "generate", {
                "prompt": "A red fox", "request_id": request_id, "output_dir": str(world[1] / "gave-up")}))
            while not fake.requests_for("chat"):
                await anyio.sleep(0.01)
            group.cancel_scope.cancel()  # the SDK sends notifications/cancelled and stops waiting

    client.run(call_and_give_up_once_it_is_sent)
    assert document(client.call("models", {"alias": "flux.2-pro"}))["model"]["alias"] == "flux.2-pro"
    deadline = time.monotonic() + 10
    while not any(line.get("request_id") == request_id for line in ledger_lines(world[0])):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (line,) = [line for line in ledger_lines(world[0]) if line.get("request_id") == request_id]
    assert line["outcome"] == "success"  # it was out when cancelled: it ran on, so its cost is on record
