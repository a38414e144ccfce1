"""In-process tests of the dense parts of editing and review: masks, forms, payloads, reply parsing."""

from __future__ import annotations

import time

import pytest

from imagegen.errors import ProviderError, UsageError
from imagegen.http import multipart
from imagegen.images import masks
from imagegen.models import registry, table
from imagegen.pipeline import edit as editing
from imagegen.pipeline import rubric
from imagegen.providers import call as provider_call
from imagegen.providers import openrouter_images
from tests.fake_api import make_png, parse_multipart, read_png_rgba


@pytest.mark.parametrize("text, pixels", [
    ("10,20,30,40", (10, 20, 30, 40)),
    ("10%,10%,50%,50%", (20, 10, 100, 50)),
    (" 0 , 0% , 100% ,1 ", (0, 0, 200, 1)),
    ("150,50,100,100", (150, 50, 50, 50)),
    ("12.5%,0,25%,100%", (25, 0, 50, 100)),
])
def test_rect_specs_in_pixels_and_percent(text, pixels):
    assert masks.rect_spec(text).to_pixels(200, 100) == pixels


@pytest.mark.parametrize("text", ["", "1,2,3", "1,2,3,4,5", "-1,0,5,5", "x,0,5,5", "0,0,5,0", "0,0,101%,5",
                                  "0.5,0,5,5"])
def test_bad_rect_specs(text):
    with pytest.raises(ValueError):
        masks.rect_spec(text)


def test_rect_off_the_image():
    with pytest.raises(UsageError, match="covers no pixel"):
        masks.rect_spec("0,100,5,5").to_pixels(200, 100)


def test_drawn_mask_pixels_and_fraction():
    mask = masks.draw_mask(8, 4, [masks.rect_spec("1,1,3,2"), masks.rect_spec("2,0,1,1")])
    width, height, rows = read_png_rgba(mask.data)
    assert (width, height) == (8, 4)
    alpha = ["".join("." if row[x * 4 + 3] == 0 else "#" for x in range(width)) for row in rows]
    assert alpha == ["##.#####", "#...####", "#...####", "########"]
    assert all(row[i] == 0 for row in rows for i in range(len(row)) if i % 4 != 3)  # black, transparent or not
    assert mask.edit_fraction == pytest.approx(7 / 32, abs=1e-4)
    inverted = masks.draw_mask(8, 4, [masks.rect_spec("1,1,3,2")], invert=True)
    assert [r[3::4] for r in read_png_rgba(inverted.data)[2]][1] == b"\x00\xff\xff\xff\x00\x00\x00\x00"
    assert inverted.edit_fraction == pytest.approx(26 / 32, abs=1e-4)


def test_large_mask_is_fast_and_small():
    started = time.monotonic()
    mask = masks.draw_mask(4096, 4096, [masks.rect_spec("10%,10%,30%,30%"), masks.rect_spec("50%,50%,20%,40%")])
    assert time.monotonic() - started < 2
    assert len(mask.data) < masks.MAX_MASK_BYTES
    assert masks.png_header(mask.data)[:4] == (4096, 4096, 8, 6)


def test_png_header_sees_trns_before_idat():
    plain = make_png(3, 3)
    assert masks.png_header(plain) == (3, 3, 8, 2, False)
    trns = b"\x00\x00\x00\x06tRNS" + b"\x00" * 6 + b"\x00\x00\x00\x00"
    assert masks.png_header(plain[:33] + trns + plain[33:])[4] is True
    assert masks.png_header(plain[:-12] + trns + plain[-12:])[4] is False  # after IDAT it does not count


def test_multipart_names_survive_a_strict_parser():
    fields = [("prompt", 'say "hi"\r\n--x'), ('we"ird\nname', "ü")]
    files = [multipart.FilePart("image[]", 'a"b\\c\r\nd.png', "image/png\r\nX-Evil: 1", b"\x89PNG data")]
    content_type, chunks, length = multipart.encode(fields, files)
    body = b"".join(chunks)
    assert len(body) == length
    parts = parse_multipart(body, content_type)
    assert [(p.name, p.text) for p in parts[:2]] == [("prompt", 'say "hi"\r\n--x'), ("we%22ird%0Aname", "ü")]
    assert parts[2].filename == "a%22b%5Cc%0D%0Ad.png" and parts[2].content_type == "image/pngX-Evil: 1"
    assert "x-evil" not in parts[2].headers and parts[2].data == b"\x89PNG data"


def test_images_request_leaves_out_unset_options():
    spec = registry.resolve("nanobanana")
    assert openrouter_images.body(spec, "p") == {"model": spec.id, "prompt": "p", "n": 1}
    body = openrouter_images.body(spec, "p", reference_urls=["https://x/y.png"], aspect_ratio="4:3",
                                   resolution="4K", n=2, quality="low", output_format="jpeg",
                                   background="opaque", seed=0)
    assert body == {"model": spec.id, "prompt": "p", "resolution": "4K", "aspect_ratio": "4:3", "quality": "low",
                    "output_format": "jpeg", "background": "opaque", "seed": 0, "n": 2,
                    "input_references": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}


def test_redaction_shortens_bare_base64_but_not_prompts():
    body = {"source": {"data": "A" * 5000}, "text": "B" * 5000, "data": "short"}
    shown = provider_call.shorten_images(body)
    assert shown["source"]["data"] == "A" * 24 + "…(5000 chars)"
    assert shown["text"] == "B" * 5000 and shown["data"] == "short"


@pytest.mark.parametrize("size, ratio", [((300, 200), "3:2"), ((1920, 1080), "16:9"), ((1000, 1000), "1:1"),
                                         ((1080, 1920), "9:16"), ((2560, 1080), "21:9"), ((800, 1000), "4:5")])
def test_closest_ratio(size, ratio):
    assert editing.closest_ratio(*size, table.STANDARD_RATIOS) == ratio


@pytest.mark.parametrize("score, verdict", [(1, "reject"), (3, "reject"), (4, "refine"), (6, "refine"),
                                            (7, "accept"), (10, "accept")])
def test_verdict_thresholds(score, verdict):
    assert rubric.verdict(score) == verdict


def test_parse_reply_takes_the_last_scored_object():
    text = ('Example shape: {"score": 1}. My answer:\n'
            '{"score": 9, "prompt_adherence": 9, "technical_quality": 8, "composition": 8, "critique": "Great."}')
    parsed = rubric.parse_reply(text)
    assert parsed["score"] == 9 and parsed["verdict"] == "accept" and parsed["suggested_refinement"] == ""


@pytest.mark.parametrize("text", [None, "   ", "[1, 2]", '{"score": true, "prompt_adherence": 5, '
                                  '"technical_quality": 5, "composition": 5, "critique": "x"}'])
def test_parse_reply_failures(text):
    with pytest.raises(ProviderError) as caught:
        rubric.parse_reply(text)
    assert caught.value.kind == "bad_review_reply" and caught.value.retryable is True


def test_user_message_carries_the_prompt_and_shape():
    message = rubric.user_message("  A fox  ")
    assert "<prompt>\nA fox\n</prompt>" in message and rubric.REPLY_SHAPE in message
    assert all(name in rubric.SYSTEM_PROMPT for name in rubric.RUBRIC)


def test_pick_winner_breaks_ties_on_adherence():
    base = {"score": 7, "prompt_adherence": 7, "technical_quality": 7, "composition": 7}
    assert rubric.pick_winner(base, {**base, "prompt_adherence": 8}) == 1
    assert rubric.pick_winner({**base, "composition": 9}, base) == 0
    assert rubric.pick_winner(base, dict(base)) is None
