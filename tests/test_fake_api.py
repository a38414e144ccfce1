"""Quick self-tests of the loopback fake API (tests/fake_api.py)."""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_api import (
    FakeAPI,
    Reply,
    error_reply,
    make_gif,
    make_jpeg_header_only,
    make_png,
    png_size,
    read_png_rgba,
)


@pytest.fixture
def fake() -> Iterator[FakeAPI]:
    with FakeAPI() as server:
        yield server


def call(url: str, payload: Any = None, headers: dict[str, str] | None = None, body: bytes | None = None) -> Any:
    data = body if body is not None else (None if payload is None else json.dumps(payload).encode())
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_default_chat_reply_has_png_of_scaled_aspect_size(fake: FakeAPI) -> None:
    request = {
        "model": "google/gemini-3-pro-image-preview",
        "modalities": ["image", "text"],
        "image_config": {"aspect_ratio": "16:9"},
        "messages": [{"role": "user", "content": "a fox"}],
    }
    reply = call(fake.openrouter_url + "/chat/completions", request)
    assert reply["model"] == request["model"] and reply["id"].startswith("gen-")
    assert reply["usage"]["cost"] == 0.04
    url = reply["choices"][0]["message"]["images"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    png = base64.b64decode(url.split(",", 1)[1])
    assert png_size(png) == (1344 // 16, 768 // 16)
    width, height, rows = read_png_rgba(png)
    assert (width, height, len(rows)) == (84, 48, 48) and rows[0][:4] == bytes([200, 80, 40, 255])


def test_enqueued_429_is_served_once_then_default_resumes(fake: FakeAPI) -> None:
    fake.enqueue("key", error_reply(429, "slow down", retry_after=1))
    with pytest.raises(urllib.error.HTTPError) as caught:
        call(fake.openrouter_url + "/key")
    assert caught.value.code == 429 and caught.value.headers["Retry-After"] == "1"
    assert json.loads(caught.value.read())["error"] == {"code": 429, "message": "slow down", "metadata": {}}
    assert call(fake.openrouter_url + "/key")["data"]["limit_remaining"] == 7.5
    assert len(fake.requests_for("key")) == 2 and fake.pending("key") == 0


def test_multipart_parts_are_parsed(fake: FakeAPI) -> None:
    image = make_png(8, 4)
    boundary = "xYz-boundary"
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nmake it blue\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="image[]"; '
            f'filename="a \\"q\\"; b.png"\r\nContent-Type: image/png\r\n\r\n'.encode(),
            image,
            b"\r\n",
            f'--{boundary}\r\nContent-Disposition: form-data; name="mask"; filename="m.png"; '
            f"filename*=UTF-8''m%C3%A4sk.png\r\n\r\n".encode(),
            b"\x00\r\n--not-the-boundary",
            b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
    )
    content_type = f'multipart/form-data; boundary="{boundary}"'
    reply = call(fake.openai_url + "/images/edits", body=body, headers={"Content-Type": content_type})
    assert png_size(base64.b64decode(reply["data"][0]["b64_json"])) == (64, 64)
    record = fake.requests_for("edits")[0]
    assert record.json is None and record.form == {"prompt": "make it blue"}
    picture, mask = record.part("image[]"), record.part("mask")
    assert picture.filename == 'a "q"; b.png' and picture.content_type == "image/png" and picture.data == image
    assert mask.filename == "mäsk.png" and mask.content_type is None and mask.data == b"\x00\r\n--not-the-boundary"
    assert mask.headers["content-disposition"].startswith("form-data; name=")


def test_reset_gives_a_connection_error_and_recording_keeps_headers(fake: FakeAPI) -> None:
    fake.enqueue("messages", Reply(reset=True))
    payload = {"model": "claude-sonnet-4-6", "max_tokens": 10}
    with pytest.raises(OSError):
        headers = {"X-Api-Key": "k", "anthropic-version": "2023-06-01"}
        call(fake.anthropic_url + "/v1/messages", payload, headers=headers)
    record = fake.requests[0]
    assert (record.route, record.method, record.path) == ("messages", "POST", "/v1/messages")
    assert record.headers["x-api-key"] == "k" and record.headers["anthropic-version"] == "2023-06-01"
    assert record.json == payload
    review = json.loads(call(fake.anthropic_url + "/v1/messages", payload)["content"][0]["text"])
    assert review["score"] == 8


def test_truncated_body_and_unknown_route(fake: FakeAPI) -> None:
    fake.enqueue("images", Reply(json={"data": ["x" * 100]}, truncate=10))
    with pytest.raises(http.client.IncompleteRead):
        call(fake.openrouter_url + "/images", {"model": "m", "prompt": "p"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        call(fake.url + "/api/v1/nope")
    assert caught.value.code == 404 and fake.requests[-1].route == "unknown"


def test_image_helpers_sniffable() -> None:
    assert make_jpeg_header_only(640, 480)[:2] == b"\xff\xd8"
    assert make_gif(7, 5)[6:10] == bytes([7, 0, 5, 0])
    assert read_png_rgba(make_png(3, 2, rgba=True, color=(1, 2, 3, 0)))[2] == [bytes([1, 2, 3, 0]) * 3] * 2


def test_runs_as_a_script() -> None:
    script = Path(__file__).with_name("fake_api.py")
    process = subprocess.Popen([sys.executable, str(script), "--latency", "0"], stdout=subprocess.PIPE, text=True)
    try:
        urls = json.loads(process.stdout.readline())
        assert call(urls["openrouter_url"] + "/models")["data"][0]["architecture"]["output_modalities"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
