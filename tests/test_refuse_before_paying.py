"""Edits that cannot change anything are refused before a request is sent: a mask that edits no
pixel, a region outside the image, and with --keep-unmasked a mask that keeps no pixel."""

from __future__ import annotations

import pytest

from tests.conftest import assert_one_json
from tests.fake_api import make_png


def transparent_mask(width: int, height: int, alpha: int) -> bytes:
    return make_png(width, height, rgba=True, color=(0, 0, 0, alpha))


@pytest.mark.parametrize("flags, words", [
    (["--mask-rect", "50,0,10,10"], "covers no pixel"),  # starts right of the 40-pixel image
    (["--mask-rect", "0,40,10,10"], "covers no pixel"),
    (["--mask-rect", "0,0,100%,100%", "--mask-invert"], "edits no pixel"),  # keeps the whole image
    (["--mask", "opaque.png"], "edits no pixel"),
    (["--mask", "clear.png", "--keep-unmasked"], "--keep-unmasked has nothing to keep"),
    (["--mask-rect", "0,0,40,30", "--keep-unmasked"], "--keep-unmasked has nothing to keep"),
])
def test_an_edit_that_cannot_change_anything_is_refused_before_sending(run, fake, workdir, flags, words):
    (workdir / "room.png").write_bytes(make_png(40, 30))
    (workdir / "opaque.png").write_bytes(transparent_mask(40, 30, 255))
    (workdir / "clear.png").write_bytes(transparent_mask(40, 30, 0))
    doc = assert_one_json(result := run("edit.py", "--input-image", "room.png", "--prompt", "A window", *flags))
    assert result.code == 2 and doc["error_kind"] == "mask" and words in doc["error"], doc
    assert doc["details"] and fake.requests_for("edits") == []


def test_a_mask_that_edits_every_pixel_is_fine_without_keep_unmasked(run, fake, workdir):
    (workdir / "room.png").write_bytes(make_png(40, 30))
    (workdir / "clear.png").write_bytes(transparent_mask(40, 30, 0))
    doc = assert_one_json(result := run("edit.py", "--input-image", "room.png", "--mask", "clear.png",
                                        "--prompt", "A window"))
    assert result.code == 0 and doc["mask"]["edit_fraction"] == 1.0
    assert doc["warnings"] == []  # answered in the frame the model makes for an input of that shape


@pytest.mark.parametrize("size, words", [("1000x1000", "multiples of 16"), ("3200x1024", "3 times"),
                                         ("4096x2304", "at most 3840")])
def test_a_size_the_model_does_not_make_is_refused_before_sending(run, fake, workdir, size, words):
    (workdir / "room.png").write_bytes(make_png(40, 30))
    doc = assert_one_json(result := run("edit.py", "--input-image", "room.png", "--mask-rect", "0,0,9,9",
                                        "--openai-size", size, "--prompt", "A window"))
    assert result.code == 2 and doc["error_kind"] == "unsupported" and words in doc["error"], doc
    assert fake.requests_for("edits") == []


def test_a_size_the_model_makes_is_sent(run, fake, workdir):
    (workdir / "room.png").write_bytes(make_png(40, 30))
    result = run("edit.py", "--input-image", "room.png", "--mask-rect", "0,0,9,9", "--openai-size", "2048x1152",
                 "--prompt", "A window")
    assert result.code == 0 and assert_one_json(result)["warnings"] == []
    assert fake.requests_for("edits")[0].form["size"] == "2048x1152"
