"""An image of one flat colour is flagged wherever a result is read: the result, the sidecar, the
queue's status; review.py rejects it without paying for a review."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from imagegen.images import blank
from tests.conftest import assert_one_json
from tests.fake_api import chat_image_reply, encode_png, make_jpeg_header_only, make_picture, make_png
from tests.schema_check import assert_valid

WHITE = (255, 255, 255)
#: What a run says of a flat white image, after its file name.
BLANK = ("looks blank: every pixel is one flat colour (#ffffff); check it before using it (generate again, or "
         "rephrase the prompt)")
#: The 64x64 images these tests send are smaller than the 1K asked.
SMALLER = ("asked for about 1024x1024 but the provider returned 64x64: it is smaller than asked (check the model's "
           "supported sizes, or ask again)")


def nearly_flat(width: int, height: int) -> bytes:
    """White with faint noise within the tolerance (a dithered fill), the way an empty generation comes back."""
    return encode_png(width, height, bytes(250 + (x * 7 + y * 3) % 4 for y in range(height)
                                           for x in range(width) for _ in range(3)))


@pytest.mark.parametrize("image, colour", [
    (make_png(64, 64, color=WHITE), "#ffffff"),
    (nearly_flat(64, 48), "#fbfbfb"),
    (make_png(32, 32, rgba=True, color=(10, 200, 30, 0)), "transparent"),
], ids=["white", "dithered-white", "transparent"])
def test_flat_colours_look_blank(image, colour):
    assert blank.flat_colour(image) == colour


@pytest.mark.parametrize("image", [make_picture(64, 64), make_png(64, 64, noise=True), b"not a png",
                                   make_picture(64, 64)[:60], make_jpeg_header_only(64, 64)],
                         ids=["picture", "noise", "not-a-png", "truncated-png", "jpeg-header"])
def test_pictures_and_unreadable_files_do_not(image):
    assert blank.flat_colour(image) is None


def test_the_check_holds_one_row_whatever_the_size():
    image = make_png(2048, 2048, color=WHITE)
    tracemalloc.start()
    try:
        assert blank.flat_colour(image) == "#ffffff"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024  # the decoded image would be 16 MiB


def test_a_blank_result_is_flagged_in_the_result_and_the_sidecar(run, fake):
    fake.enqueue("chat", chat_image_reply([make_png(64, 64, color=WHITE)]))
    doc = assert_one_json(result := run("generate.py", "--prompt", "A fox", "--size", "1K"))
    assert result.code == 0
    warning = f"{Path(doc['path']).name} {BLANK}"
    assert doc["warnings"] == [warning, SMALLER] and doc["blank_paths"] == [doc["path"]]
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert sidecar["image"]["looks_blank"] == "#ffffff" and warning in sidecar["warnings"]
    assert_valid(doc, "generate.success")


def test_an_ordinary_result_carries_no_blank_flag(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", "A fox", "--size", "1K"))
    assert "blank_paths" not in doc and doc["warnings"] == []
    assert "looks_blank" not in json.loads(Path(doc["sidecar"]).read_text())["image"]


def test_a_jpeg_is_not_judged(run, fake):
    fake.enqueue("chat", chat_image_reply([make_jpeg_header_only(64, 64)], mime="image/jpeg"))
    doc = assert_one_json(run("generate.py", "--prompt", "A fox", "--size", "1K"))
    assert "blank_paths" not in doc and doc["warnings"] == [SMALLER]


def test_the_queue_status_shows_a_blank_image(run, fake):
    queue = "generated/imagegen-queue"
    fake.enqueue("chat", chat_image_reply([make_png(64, 64, color=WHITE)]))
    assert_one_json(run("enqueue_image_job.py", "--prompt", "A fox", "--request-id", "blank-1", "--queue-dir", queue))
    assert_one_json(run("run_image_queue.py", "--queue-dir", queue, "--idle-exit-sec", "0", "--quiet"))
    status = assert_one_json(run("queue_status.py", "--queue-dir", queue, "--request-id", "blank-1"))
    (job,) = status["jobs"]
    assert status["blank_paths"] == job["paths"] and any("looks blank" in w for w in job["warnings"])
    assert_valid(status, "queue_status.request")


def test_review_rejects_a_blank_image_without_paying(run, fake, env, workdir):
    (workdir / "empty.png").write_bytes(make_png(64, 64, color=WHITE))
    doc = assert_one_json(result := run("review.py", "--image", "empty.png", "--original-prompt", "A fox", "--auto"))
    assert result.code == 0 and doc["verdict"] == "reject" and doc["looks_blank"] == "#ffffff"
    assert doc["cost_usd"] == 0.0 and doc["warnings"] == [f"empty.png {BLANK} (rejected without a paid review)"]
    assert fake.requests == [] and not (Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl").exists()
    assert json.loads((workdir / "empty.png.review.json").read_text())["verdict"] == "reject"
    assert_valid(doc, "review.auto")


def test_review_compare_pays_only_for_the_image_that_is_not_blank(run, fake, workdir):
    (workdir / "empty.png").write_bytes(make_png(64, 64, color=WHITE))
    (workdir / "fox.png").write_bytes(make_picture(64, 64))
    doc = assert_one_json(run("review.py", "--image", "empty.png", "--compare", "fox.png", "--original-prompt",
                              "A fox", "--auto"))
    assert len(fake.requests) == 1 and doc["winner"].endswith("fox.png")
    assert doc["warnings"] == [f"empty.png {BLANK} (rejected without a paid review)"]
    assert doc["reviews"][0]["looks_blank"] == "#ffffff" and "looks_blank" not in doc["reviews"][1]
    assert_valid(doc, "review.compare")


def test_a_review_dry_run_says_the_image_looks_blank(run, fake, workdir):
    (workdir / "empty.png").write_bytes(make_png(64, 64, color=WHITE))
    doc = assert_one_json(run("review.py", "--image", "empty.png", "--original-prompt", "A fox", "--auto",
                              "--dry-run"))
    assert doc["warnings"] == [f"empty.png {BLANK} (it would be rejected without a paid review)"]
    assert fake.requests == []


def test_a_flat_image_beyond_the_pixel_cap_is_not_read_to_its_end():
    import struct
    import zlib

    from imagegen.images import png

    header = struct.pack(">IIBBBBB", 65536, 65536, 8, 0, 0, 0, 0)  # 4 G pixels of grey, claimed
    bomb = png.SIGNATURE + png.chunk(b"IHDR", header) + png.chunk(b"IDAT", zlib.compress(b"\x00" * 65537 * 4))
    assert blank.flat_colour(bomb) is None


def test_a_manual_review_of_a_blank_image_gives_its_verdict_without_a_review(run, fake, workdir):
    (workdir / "flat.png").write_bytes(make_png(64, 64, color=WHITE))
    doc = assert_one_json(result := run("review.py", "--image", "flat.png", "--original-prompt", "A fox"))
    assert result.code == 0 and doc["mode"] == "manual" and doc["verdict"] == "reject"
    assert doc["looks_blank"] == "#ffffff" and doc["score"] == 1
    assert doc["warnings"] == [f"flat.png {BLANK} (rejected: there is nothing to review)"] and fake.requests == []
    assert_valid(doc, "review.manual")


def test_a_manual_review_of_a_picture_warns_of_nothing(run, fake, workdir):
    (workdir / "fox.png").write_bytes(make_picture(64, 64))
    doc = assert_one_json(run("review.py", "--image", "fox.png", "--original-prompt", "A fox"))
    assert doc["warnings"] == [] and "verdict" not in doc and "looks_blank" not in doc
    assert_valid(doc, "review.manual")
