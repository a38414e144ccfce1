"""Unit tests for the dense parts of the core: header parsing, inline base64, retries, multipart."""

from __future__ import annotations

import base64
import io
import json
import time
from email.utils import formatdate

import pytest

from imagegen.errors import ProviderError
from imagegen.http import b64stream, multipart
from imagegen.http.client import HttpClient
from imagegen.http.statuses import retry_after_seconds
from imagegen.images import files
from imagegen.models import registry
from tests.fake_api import make_gif, make_jpeg_header_only, make_png, make_webp, parse_multipart


@pytest.mark.parametrize("maker, fmt", [(make_png, "png"), (make_jpeg_header_only, "jpeg"),
                                        (make_webp, "webp"), (make_gif, "gif")])
def test_sniff_and_dimensions(maker, fmt):
    data = maker(321, 123)
    assert files.sniff_format(data[:16]) == fmt
    assert files.dimensions(data[:65536]) == (321, 123)


def test_unknown_bytes_have_no_format():
    assert files.sniff_format(b"GIF88a....") is None
    assert files.dimensions(b"hello") is None


def test_retry_after_seconds_and_dates():
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("-3") == 0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    future = formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds(future) <= 31


def _body(*payloads: bytes, escaped: bool = False) -> bytearray:
    urls = []
    for data in payloads:
        encoded = base64.b64encode(data).decode()
        if escaped:
            encoded = encoded.replace("/", "\\/")
        urls.append({"image_url": {"url": "data:image/png;base64," + encoded}})
    doc = {"choices": [{"message": {"images": urls}}]}
    text = json.dumps(doc)
    return bytearray(text.replace("\\\\/", "\\/").encode())


@pytest.mark.parametrize("escaped", [False, True])
def test_inline_images_are_cut_out_and_decoded(escaped):
    first, second = make_png(300, 200, noise=True), make_png(5, 5)
    skeleton, found = b64stream.split_body(_body(first, second, escaped=escaped))
    assert len(skeleton) < 300
    doc = json.loads(skeleton)
    urls = [i["image_url"]["url"] for i in doc["choices"][0]["message"]["images"]]
    decoded = [b"".join(b64stream.placeholder_in(u, found).decoded_chunks()) for u in urls]
    assert decoded == [first, second]


def test_inline_slices_cover_large_images(monkeypatch):
    monkeypatch.setattr(b64stream, "SLICE", 8)
    data = bytes(range(256)) * 3
    _, found = b64stream.split_body(_body(data))
    (image,) = found.values()
    assert b"".join(image.decoded_chunks()) == data


@pytest.mark.parametrize("value", ["!!!!", "QUJD\\q", "QUJDR", "QUJD\\"])
def test_inline_rejects_invalid_base64(value):
    body = bytearray(b'{"data": [{"b64_json": "' + value.encode() + b'"}]}')
    _, found = b64stream.split_body(body)
    with pytest.raises(ProviderError):
        list(next(iter(found.values())).decoded_chunks())


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 4096])
def test_streamed_split_is_independent_of_chunk_boundaries(chunk):
    first, second = make_png(40, 30, noise=True), make_png(3, 3)
    body = bytes(_body(first, second, escaped=True)) + b' , "tail": "data:image/png;base64 is not an opener"'
    splitter = b64stream.Splitter(io.BytesIO)
    for start in range(0, len(body), chunk):
        splitter.feed(body[start:start + chunk])
    skeleton, found = splitter.finish()
    assert skeleton == b64stream.split_body(body)[0]
    assert [b"".join(i.decoded_chunks()) for i in found.values()] == [first, second]


def test_multipart_escapes_names_and_keeps_bytes():
    payload = bytes(range(256))
    content_type, chunks, length = multipart.encode(
        [("prompt", 'say "hi"\r\nnow ünïcode')],
        [multipart.FilePart("image[]", 'we"ird\r\nname ü.png', "image/png", payload)],
    )
    body = b"".join(chunks)
    assert len(body) == length
    parts = parse_multipart(body, content_type)
    assert parts[0].name == "prompt" and parts[0].data.decode() == 'say "hi"\r\nnow ünïcode'
    assert parts[1].name == "image[]" and parts[1].data == payload
    assert parts[1].filename == "we%22ird%0D%0Aname ü.png" and parts[1].content_type == "image/png"


def test_backoff_grows_and_caps(monkeypatch):
    client = HttpClient(retries=10)
    monkeypatch.setenv("IMAGEGEN_RETRY_BASE_SEC", "1")
    error = ProviderError("x", kind="provider_error", resend=True)
    delays = [client._retry_delay(error, attempt) for attempt in range(8)]
    assert 0.5 <= delays[0] <= 1 and delays[-1] <= 30
    assert client._retry_delay(ProviderError("x", extra={}), 0) is None
    assert client._retry_delay(error, 10) is None


@pytest.mark.parametrize("alias, ratio, size, expected", [
    ("flux.2-pro", "1:1", "1K", 0.03),
    ("flux.2-pro", "1:1", "2K", 0.03 + 0.015 * 3),
    ("flux.2-klein", "16:9", "1K", 0.014),
    ("flux.2-klein", "16:9", "2K", 0.014 + 0.001 * 3),  # 2688x1536 is 3.9 MP
    ("nanobanana-pro", "1:1", "4K", 0.24),
    ("nanobanana", "1:1", "2K", 0.039),
])
def test_estimates(alias, ratio, size, expected):
    spec = registry.resolve(alias)
    value = registry.estimate_usd(spec, ratio, size)
    assert value == pytest.approx(expected)


def test_full_ids_pass_through_with_assumptions():
    spec = registry.resolve("bytedance-seed/seedream-4.5")
    assert spec.output_modalities == ("image",) and not spec.known
    assert registry.estimate_usd(spec, "1:1", "1K") is None
    assert registry.resolve("google/gemini-2.5-flash-image").alias == "nanobanana"


@pytest.mark.parametrize("chunk", [1, 5, 4096])
def test_a_data_url_quoted_inside_text_is_not_an_image(chunk):
    image = make_png(4, 4)
    doc = {"choices": [{"message": {
        "content": 'I drew it; inline it as "data:image/png;base64,AAAA" if you like.',
        "images": [{"image_url": {"url": "data:image/png;base64," + base64.b64encode(image).decode()}}]}}]}
    body = json.dumps(doc).encode()
    splitter = b64stream.Splitter(io.BytesIO)
    for start in range(0, len(body), chunk):
        splitter.feed(body[start:start + chunk])
    skeleton, found = splitter.finish()
    parsed = json.loads(skeleton)
    assert parsed["choices"][0]["message"]["content"] == doc["choices"][0]["message"]["content"]
    assert len(found) == 1 and b"".join(next(iter(found.values())).decoded_chunks()) == image


def test_a_body_whose_text_besides_its_images_is_endless_is_refused(monkeypatch):
    import io

    from imagegen.errors import ProviderError
    monkeypatch.setattr(b64stream, "MAX_SKELETON", 4096)  # 64 MB in use
    splitter = b64stream.Splitter(io.BytesIO)
    splitter.feed(b'{"data": "' + b"QUJD" * 10_000 + b'", ')  # a large image is fine: it goes to a spool
    with pytest.raises(ProviderError, match="besides its images"):
        for _ in range(100):
            splitter.feed(b'"padding": "' + b"x" * 500 + b'", ')
