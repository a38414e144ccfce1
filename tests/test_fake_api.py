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
    ANTHROPIC_TEST_KEY,
    GEMINI_TEST_KEY,
    OPENAI_TEST_KEY,
    OPENROUTER_TEST_KEY,
    FakeAPI,
    Reply,
    chat_image_reply,
    edits_reply,
    error_reply,
    gemini_reply,
    generations_reply,
    images_reply,
    make_gif,
    make_jpeg_header_only,
    make_picture,
    make_png,
    png_size,
    read_png_rgba,
)


@pytest.fixture
def fake() -> Iterator[FakeAPI]:
    with FakeAPI() as server:
        yield server


#: The headers each provider's key travels in, with the key the fake accepts.
OPENROUTER = {"Authorization": f"Bearer {OPENROUTER_TEST_KEY}"}
OPENAI = {"Authorization": f"Bearer {OPENAI_TEST_KEY}"}
ANTHROPIC = {"X-Api-Key": ANTHROPIC_TEST_KEY, "anthropic-version": "2023-06-01"}
GEMINI = {"x-goog-api-key": GEMINI_TEST_KEY}


def call(url: str, payload: Any = None, headers: dict[str, str] | None = None, body: bytes | None = None) -> Any:
    data = body if body is not None else (None if payload is None else json.dumps(payload).encode())
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def refusal(url: str, payload: Any = None, headers: dict[str, str] | None = None,
            body: bytes | None = None) -> tuple[int, Any]:
    """(status, JSON body) of a request the fake must refuse."""
    with pytest.raises(urllib.error.HTTPError) as caught:
        call(url, payload, headers, body)
    return caught.value.code, json.loads(caught.value.read())


def test_default_chat_reply_has_png_of_the_asked_size(fake: FakeAPI) -> None:
    request = {
        "model": "google/gemini-3-pro-image-preview",
        "modalities": ["image", "text"],
        "image_config": {"aspect_ratio": "16:9"},
        "messages": [{"role": "user", "content": "a fox"}],
    }
    reply = call(fake.openrouter_url + "/chat/completions", request, OPENROUTER)
    assert reply["model"] == request["model"] and reply["id"].startswith("gen-")
    assert reply["usage"]["cost"] == 0.04
    url = reply["choices"][0]["message"]["images"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    png = base64.b64decode(url.split(",", 1)[1])
    width, height, rows = read_png_rgba(png)
    assert (width, height, len(rows)) == (1344, 768, 768) and rows[0][:4] == bytes([200, 80, 40, 255])
    assert rows[1][-4:] != rows[1][:4]  # two colours: not a blank image


def image_of_chat(reply: Any) -> bytes:
    return base64.b64decode(reply["choices"][0]["message"]["images"][0]["image_url"]["url"].split(",", 1)[1])


def test_every_image_route_answers_at_the_size_asked(fake: FakeAPI) -> None:
    prompt = [{"role": "user", "content": "a fox"}]
    chat = {"model": "google/gemini-3-pro-image", "modalities": ["image", "text"], "messages": prompt}
    sizes = {
        (1024, 1024): image_of_chat(call(fake.openrouter_url + "/chat/completions", chat, OPENROUTER)),
        (4096, 4096): image_of_chat(call(fake.openrouter_url + "/chat/completions",
                                         {**chat, "image_config": {"image_size": "4K"}}, OPENROUTER)),
        (2688, 1536): image_of_chat(call(fake.openrouter_url + "/chat/completions",
                                         {**chat, "image_config": {"aspect_ratio": "16:9", "image_size": "2K"}},
                                         OPENROUTER)),
    }
    images = fake.openrouter_url + "/images"
    for asked, expected in (({"size": "1536x640"}, (1536, 640)), ({"size": "2K"}, (2048, 2048)),
                            ({"resolution": "4K", "aspect_ratio": "9:16"}, (3072, 5376)), ({}, (1024, 1024))):
        reply = call(images, {"model": "black-forest-labs/flux.2-pro", "prompt": "a fox", **asked}, OPENROUTER)
        sizes[expected] = base64.b64decode(reply["data"][0]["b64_json"])
    gemini = {"contents": [{"parts": [{"text": "a fox"}]}],
              "generationConfig": {"imageConfig": {"aspectRatio": "3:2", "imageSize": "2K"}}}
    reply = call(fake.gemini_url + "/models/gemini-3-pro-image:generateContent", gemini, GEMINI)
    sizes[(2496, 1664)] = base64.b64decode(reply["candidates"][0]["content"]["parts"][1]["inlineData"]["data"])
    reply = call(fake.openai_url + "/images/generations", {"model": "gpt-image-2", "prompt": "a fox",
                                                           "size": "3840x2160"}, OPENAI)
    sizes[(3840, 2160)] = base64.b64decode(reply["data"][0]["b64_json"])
    for (width, height), png in sizes.items():
        assert png_size(png) == (width, height)
    assert len(set(sizes.values())) == len(sizes)  # every reply a new picture


def test_a_scripted_reply_without_images_answers_at_the_size_asked_and_an_explicit_image_stays(
        fake: FakeAPI) -> None:
    fake.enqueue("chat", chat_image_reply(cost=0.07), chat_image_reply([make_png(8, 8)]))
    fake.enqueue("images", images_reply(cost=0.09))
    fake.enqueue("gemini", gemini_reply())
    fake.enqueue("generations", generations_reply())
    chat = {"model": "google/gemini-3-pro-image", "modalities": ["image", "text"],
            "messages": [{"role": "user", "content": "a fox"}], "image_config": {"aspect_ratio": "16:9"}}
    reply = call(fake.openrouter_url + "/chat/completions", chat, OPENROUTER)
    assert png_size(image_of_chat(reply)) == (1344, 768) and reply["usage"]["cost"] == 0.07
    assert png_size(image_of_chat(call(fake.openrouter_url + "/chat/completions", chat, OPENROUTER))) == (8, 8)
    reply = call(fake.openrouter_url + "/images", {"model": "black-forest-labs/flux.2-pro", "prompt": "a fox",
                                                   "size": "1536x640"}, OPENROUTER)
    assert png_size(base64.b64decode(reply["data"][0]["b64_json"])) == (1536, 640) and reply["usage"]["cost"] == 0.09
    gemini = {"contents": [{"parts": [{"text": "a fox"}]}], "generationConfig": {"imageConfig": {"aspectRatio": "3:2"}}}
    reply = call(fake.gemini_url + "/models/gemini-3-pro-image:generateContent", gemini, GEMINI)
    parts = reply["candidates"][0]["content"]["parts"]
    assert png_size(base64.b64decode(parts[1]["inlineData"]["data"])) == (1248, 832)
    reply = call(fake.openai_url + "/images/generations", {"model": "gpt-image-2", "prompt": "a fox",
                                                           "size": "1536x1024"}, OPENAI)
    assert png_size(base64.b64decode(reply["data"][0]["b64_json"])) == (1536, 1024)
    # read directly, with no request to answer, a helper's JSON still holds a valid small PNG
    assert png_size(base64.b64decode(edits_reply().json["data"][0]["b64_json"])) == (64, 64)


def test_openai_image_replies_bill_the_quality_and_size_asked(fake: FakeAPI) -> None:
    generations = fake.openai_url + "/images/generations"
    tokens = {}
    for model, quality, size in (("gpt-image-2", "low", "1024x1024"), ("gpt-image-2", "high", "1536x1024"),
                                 ("gpt-image-2", "auto", "1024x1024"), ("gpt-image-2.5-flare", "medium", "1536x1024")):
        usage = call(generations, {"model": model, "prompt": "a fox", "quality": quality, "size": size, "n": 2},
                     OPENAI)["usage"]
        assert usage["output_tokens"] == usage["output_tokens_details"]["image_tokens"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        tokens[(model, quality, size)] = usage["output_tokens"] // 2
    assert tokens == {("gpt-image-2", "low", "1024x1024"): 196, ("gpt-image-2", "high", "1536x1024"): 5488,
                      ("gpt-image-2", "auto", "1024x1024"): 7024, ("gpt-image-2.5-flare", "medium", "1536x1024"): 1568}
    scripted = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    fake.enqueue("generations", generations_reply(usage=scripted))
    assert call(generations, {"model": "gpt-image-2", "prompt": "a fox"}, OPENAI)["usage"] == scripted


def test_make_picture_is_cheap_at_4k_varies_and_decodes() -> None:
    first, second = make_picture(4096, 2304), make_picture(4096, 2304)
    assert first != second and len(first) < 200_000  # rows compressed once per size
    width, height, rows = read_png_rgba(make_picture(33, 7))
    assert (width, height, len(rows)) == (33, 7, 7) and len({rows[0][i:i + 4] for i in range(0, 132, 4)}) == 2
    assert read_png_rgba(make_picture(1, 3))[:2] == (1, 3) and read_png_rgba(make_picture(5, 1))[:2] == (5, 1)


def test_a_missing_or_wrong_key_gets_each_providers_401(fake: FakeAPI) -> None:
    chat = {"model": "m/x", "messages": [{"role": "user", "content": "hi"}]}
    for headers, message in (({}, "No auth credentials found"),
                             ({"Authorization": "Bearer sk-or-wrong-0000"}, "User not found.")):
        assert refusal(fake.openrouter_url + "/chat/completions", chat, headers) == (
            401, {"error": {"message": message, "code": 401}})
        assert refusal(fake.openrouter_url + "/key", headers=headers)[0] == 401
    review = {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    for headers, message in (({"anthropic-version": "2023-06-01"}, "x-api-key header is required"),
                             ({"X-Api-Key": "sk-ant-wrong", "anthropic-version": "2023-06-01"}, "invalid x-api-key")):
        assert refusal(fake.anthropic_url + "/v1/messages", review, headers) == (
            401, {"type": "error", "error": {"type": "authentication_error", "message": message}})
    status, body = refusal(fake.openai_url + "/images/generations", {"prompt": "a fox"},
                           {"Authorization": "Bearer sk-openai-wrong-1234"})
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    assert "sk-openai-wrong-1234" not in json.dumps(body)  # OpenAI shows the key masked
    assert refusal(fake.openai_url + "/images/generations", {"prompt": "a fox"})[1]["error"]["code"] is None
    gemini = {"contents": [{"parts": [{"text": "a fox"}]}]}
    url = fake.gemini_url + "/models/gemini-3-pro-image:generateContent"
    assert refusal(url, gemini)[1]["error"]["status"] == "PERMISSION_DENIED"
    status, body = refusal(url, gemini, {"x-goog-api-key": "AIza-wrong"})
    assert status == 400 and body["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    fake.keys["gemini"].add("AIza-added-by-a-test")
    assert call(url, gemini, {"x-goog-api-key": "AIza-added-by-a-test"})["candidates"]


def test_a_body_missing_a_field_or_with_an_unknown_one_gets_each_providers_400(fake: FakeAPI) -> None:
    chat = fake.openrouter_url + "/chat/completions"
    assert refusal(chat, {"model": "m/x"}, OPENROUTER) == (
        400, {"error": {"code": 400, "message": "Input validation error: messages: Required", "metadata": {}}})
    status, body = refusal(chat, {"messages": [{"role": "user", "content": "hi"}], "image_confg": {}}, OPENROUTER)
    assert status == 400 and "image_confg" in body["error"]["message"]
    assert refusal(fake.openrouter_url + "/images", {"model": "m/x"}, OPENROUTER)[0] == 400
    review = fake.anthropic_url + "/v1/messages"
    assert refusal(review, {"model": "claude-sonnet-4-6", "messages": []}, ANTHROPIC) == (
        400, {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}})
    status, body = refusal(review, {"model": "c", "max_tokens": 5, "messages": [], "temprature": 0}, ANTHROPIC)
    assert body["error"]["message"] == "temprature: Extra inputs are not permitted"
    no_version = {"X-Api-Key": ANTHROPIC_TEST_KEY}
    assert refusal(review, {"model": "c", "max_tokens": 5, "messages": []}, no_version)[1]["error"]["message"] == (
        "anthropic-version: header is required")
    generations = fake.openai_url + "/images/generations"
    assert refusal(generations, {"model": "gpt-image-2"}, OPENAI)[1]["error"] == {
        "message": "Missing required parameter: 'prompt'.", "type": "invalid_request_error", "param": "prompt",
        "code": "missing_required_parameter"}
    assert refusal(generations, {"prompt": "p", "sise": "1x1"}, OPENAI)[1]["error"]["code"] == "unknown_parameter"
    gemini = fake.gemini_url + "/models/gemini-3-pro-image:generateContent"
    status, body = refusal(gemini, {"contents": [{"parts": [{"text": "a"}]}], "generation_config": {}, "config": {}},
                           GEMINI)
    assert status == 400 and body["error"]["message"].startswith('Invalid JSON payload received. Unknown name "config"')
    assert fake.requests_for("chat")[0].json == {"model": "m/x"}  # refused requests are recorded too


def test_enqueued_429_is_served_once_then_default_resumes(fake: FakeAPI) -> None:
    fake.enqueue("key", error_reply(429, "slow down", retry_after=1))
    with pytest.raises(urllib.error.HTTPError) as caught:
        call(fake.openrouter_url + "/key", headers=OPENROUTER)
    assert caught.value.code == 429 and caught.value.headers["Retry-After"] == "1"
    assert json.loads(caught.value.read())["error"] == {"code": 429, "message": "slow down", "metadata": {}}
    assert call(fake.openrouter_url + "/key", headers=OPENROUTER)["data"]["limit_remaining"] == 7.5
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
    reply = call(fake.openai_url + "/images/edits", body=body, headers={"Content-Type": content_type, **OPENAI})
    assert png_size(base64.b64decode(reply["data"][0]["b64_json"])) == (1536, 1024)  # auto: the input is landscape
    record = fake.requests_for("edits")[0]
    assert record.json is None and record.form == {"prompt": "make it blue"}
    picture, mask = record.part("image[]"), record.part("mask")
    assert picture.filename == 'a "q"; b.png' and picture.content_type == "image/png" and picture.data == image
    assert mask.filename == "mäsk.png" and mask.content_type is None and mask.data == b"\x00\r\n--not-the-boundary"
    assert mask.headers["content-disposition"].startswith("form-data; name=")


def test_reset_gives_a_connection_error_and_recording_keeps_headers(fake: FakeAPI) -> None:
    fake.enqueue("messages", Reply(reset=True))
    payload = {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(OSError):
        call(fake.anthropic_url + "/v1/messages", payload, headers=ANTHROPIC)
    record = fake.requests[0]
    assert (record.route, record.method, record.path) == ("messages", "POST", "/v1/messages")
    assert record.headers["x-api-key"] == ANTHROPIC_TEST_KEY and record.headers["anthropic-version"] == "2023-06-01"
    assert record.json == payload
    review = json.loads(call(fake.anthropic_url + "/v1/messages", payload, ANTHROPIC)["content"][0]["text"])
    assert review["score"] == 8


def test_truncated_body_and_unknown_route(fake: FakeAPI) -> None:
    fake.enqueue("images", Reply(json={"data": ["x" * 100]}, truncate=10))
    with pytest.raises(http.client.IncompleteRead):
        call(fake.openrouter_url + "/images", {"model": "m", "prompt": "p"}, OPENROUTER)
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
