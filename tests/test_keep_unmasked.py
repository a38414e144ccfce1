"""edit.py --keep-unmasked: outside the mask every pixel is the input's own, inside it the model's."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegen.images import png
from tests.conftest import assert_one_json
from tests.fake_api import edits_reply, make_png, read_png_rgba

RED, BLUE = (200, 30, 30), (20, 40, 220)


def test_only_the_masked_rectangle_changes(run, fake, workdir):
    (workdir / "room.png").write_bytes(make_png(40, 30, color=RED))
    fake.enqueue("edits", edits_reply([make_png(40, 30, color=BLUE)]))
    doc = assert_one_json(result := run("edit.py", "--input-image", "room.png", "--mask-rect", "10,5,20,10",
                                        "--prompt", "A small window", "--keep-unmasked"))
    assert result.code == 0 and doc["keep_unmasked"] is True
    width, height, rows = read_png_rgba(Path(doc["path"]).read_bytes())
    assert (width, height) == (40, 30)
    for y, row in enumerate(rows):
        for x in range(width):
            inside = 10 <= x < 30 and 5 <= y < 15
            assert tuple(row[4 * x:4 * x + 3]) == (BLUE if inside else RED), (x, y)
    assert doc["warnings"] == []


def logo(width: int, height: int) -> bytes:
    """A picture whose every pixel differs from its neighbours: a pasted pixel off by one shows."""
    from tests.fake_api import encode_png

    return encode_png(width, height, bytes((x * 7 + y * 3 + (x * y) % 11) % 256 for y in range(height)
                                           for x in range(width) for _ in range(3)))


def assert_unmasked_pixels_are_the_inputs(result: bytes, original: bytes, inside) -> None:
    width, height, rows = png.decode_rgba(result)
    _, _, before = png.decode_rgba(original)
    assert (width, height) == (len(before[0]) // 4, len(before))
    changed = 0
    for y in range(height):
        for x in range(width):
            if inside(x, y):
                changed += rows[y][4 * x:4 * x + 4] != before[y][4 * x:4 * x + 4]
            else:
                assert rows[y][4 * x:4 * x + 4] == before[y][4 * x:4 * x + 4], (x, y)
    assert changed  # the masked area is the model's


@pytest.mark.parametrize("size, rect, frame", [
    ((512, 512), (100, 120, 200, 90), (1024, 1024)),  # the logo the model answered at 1024x1024
    ((300, 160), (10, 20, 50, 40), (1120, 592)),  # gpt-image-2's frame of that shape (a little padding)
    ((900, 200), (10, 20, 50, 40), (1536, 1024)),  # wider than 3:1: padded into the landscape frame
])
def test_any_size_is_sent_in_a_frame_the_model_makes_and_brought_back_exactly(run, fake, workdir, size, rect,
                                                                               frame):
    width, height = size
    original = logo(width, height)
    (workdir / "logo.png").write_bytes(original)
    doc = assert_one_json(result := run("edit.py", "--input-image", "logo.png", "--mask-rect",
                                        ",".join(map(str, rect)), "--prompt", "A small star", "--keep-unmasked"))
    assert result.code == 0, doc
    (sent,) = fake.requests_for("edits")
    assert sent.form["size"] == f"{frame[0]}x{frame[1]}"
    assert png.decode_rgba(sent.part("image").data)[:2] == frame
    assert png.decode_rgba(sent.part("mask").data)[:2] == frame
    assert doc["sent_as"]["width"] == frame[0] and (doc["width"], doc["height"]) == size
    x0, y0, w, h = rect
    assert_unmasked_pixels_are_the_inputs(Path(doc["path"]).read_bytes(), original,
                                          lambda x, y: x0 <= x < x0 + w and y0 <= y < y0 + h)
    assert doc["warnings"] == []


def test_an_answer_of_yet_another_size_is_still_brought_back(run, fake, workdir):
    original = logo(96, 64)
    (workdir / "logo.png").write_bytes(original)
    fake.enqueue("edits", edits_reply([make_png(777, 500)]))  # neither the input's size nor the frame
    doc = assert_one_json(run("edit.py", "--input-image", "logo.png", "--mask-rect", "0,0,20,20", "--prompt", "x",
                              "--keep-unmasked"))
    assert (doc["width"], doc["height"]) == (96, 64)
    assert_unmasked_pixels_are_the_inputs(Path(doc["path"]).read_bytes(), original, lambda x, y: x < 20 and y < 20)
    assert doc["warnings"] == []


def test_an_input_already_in_a_frame_is_sent_as_it_is(run, fake, workdir):
    original = make_png(1024, 1024)
    (workdir / "square.png").write_bytes(original)
    doc = assert_one_json(run("edit.py", "--input-image", "square.png", "--mask-rect", "0,0,5,5", "--prompt", "x",
                              "--keep-unmasked"))
    assert doc["warnings"] == []
    (sent,) = fake.requests_for("edits")
    assert sent.part("image").data == original and doc["sent_as"]["padding"] == [0, 0, 0, 0]


def test_an_unreadable_png_is_refused_before_sending(run, fake, workdir):
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", 8, 8, 16, 2, 0, 0, 0)  # 16-bit: not read here
    (workdir / "deep.png").write_bytes(png.SIGNATURE + png.chunk(b"IHDR", header)
                                       + png.chunk(b"IDAT", zlib.compress(b"\x00" * 8 * 49)) + png.chunk(b"IEND", b""))
    doc = assert_one_json(result := run("edit.py", "--input-image", "deep.png", "--mask-rect", "0,0,5,5",
                                        "--prompt", "x", "--keep-unmasked"))
    assert result.code == 2 and "--keep-unmasked cannot read" in doc["error"] and fake.requests_for("edits") == []


def test_keep_unmasked_needs_a_mask_and_a_png(run, fake, workdir):
    (workdir / "room.png").write_bytes(make_png(40, 30))
    doc = assert_one_json(result := run("edit.py", "--mode", "openai", "--input-image", "room.png", "--prompt", "x",
                                        "--keep-unmasked"))
    assert result.code == 2 and "needs a mask" in doc["error"]
    from tests.fake_api import make_webp

    (workdir / "room.webp").write_bytes(make_webp(40, 30))
    doc = assert_one_json(result := run("edit.py", "--input-image", "room.webp", "--mask-rect", "0,0,5,5",
                                        "--prompt", "x", "--keep-unmasked"))
    assert result.code == 2 and "PNG input" in doc["error"] and fake.requests_for("edits") == []
    doc = assert_one_json(result := run("edit.py", "--mode", "openrouter", "--input-image", "room.png",
                                        "--prompt", "x", "--keep-unmasked"))
    assert result.code == 2 and "--keep-unmasked" in doc["error"]


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _filtered_png(width: int, height: int, pixels: bytes, bpp: int = 3) -> bytes:
    """An RGB PNG whose rows use filter types 0-4 in turn (what real encoders mix)."""
    import struct
    import zlib

    stride, raw, previous = width * bpp, bytearray(), bytes(width * bpp)
    for y in range(height):
        row, kind = pixels[y * stride:(y + 1) * stride], y % 5
        out = bytearray()
        for i, value in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            predictor = (0, a, b, (a + b) >> 1, _paeth(a, b, c))[kind]
            out.append((value - predictor) & 255)
        raw += bytes([kind]) + out
        previous = row

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return png.SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


def test_the_png_reader_undoes_every_filter_and_round_trips():
    pixels = bytes((x * 7 + y * 13 + (x * y) % 5) % 256 for y in range(10) for x in range(12 * 3))
    width, height, rows = png.decode_rgba(_filtered_png(12, 10, pixels))
    assert (width, height) == (12, 10)
    for y, row in enumerate(rows):
        expected = b"".join(pixels[y * 36 + 3 * x:y * 36 + 3 * x + 3] + b"\xff" for x in range(12))
        assert bytes(row) == expected, y
    assert png.decode_rgba(png.encode_rgba(width, height, rows))[2] == rows


def test_an_answer_that_is_not_a_png_is_kept_as_returned_with_a_warning(run, fake, workdir):
    from tests.fake_api import make_jpeg_header_only

    (workdir / "logo.png").write_bytes(logo(64, 64))
    fake.enqueue("edits", edits_reply([make_jpeg_header_only(64, 64)]))
    doc = assert_one_json(run("edit.py", "--input-image", "logo.png", "--mask-rect", "0,0,8,8", "--prompt", "x",
                              "--keep-unmasked"))
    assert doc["format"] == "jpeg" and doc["warnings"] == [
        "--keep-unmasked could not apply (not a PNG file); the image is the provider's as returned"]


# -- the resampler, in-process -------------------------------------------------------------------

def test_halving_is_a_box_average_and_a_flat_colour_stays_flat():
    import random

    from imagegen.images import pixels

    generator = random.Random(7)
    rows = [bytes(generator.randrange(256) for _ in range(4 * 6)) for _ in range(4)]
    half = pixels.resize(6, 4, rows, 3, 2)
    for y in range(2):
        for x in range(3):
            for channel in range(4):
                block = [rows[2 * y + dy][4 * (2 * x + dx) + channel] for dy in (0, 1) for dx in (0, 1)]
                assert abs(half[y][4 * x + channel] - sum(block) / 4) <= 1
    flat = [bytes((10, 20, 30, 255)) * 6] * 4
    for size in ((13, 7), (2, 1), (6, 9), (1024, 3)):
        out = pixels.resize(6, 4, flat, *size)
        assert len(out) == size[1] and set(out) == {bytes((10, 20, 30, 255)) * size[0]}


def test_scaling_up_and_back_down_by_two_returns_the_pixels():
    from imagegen.images import pixels

    rows = [bytes((x * 9 % 256, y * 5 % 256, 7, 255)) * 1 for y in range(8) for x in range(10)]
    rows = [b"".join(rows[y * 10:(y + 1) * 10]) for y in range(8)]
    back = pixels.resize(20, 16, pixels.resize(10, 8, rows, 20, 16), 10, 8)
    assert all(abs(a - b) <= 3 for row, again in zip(rows, back, strict=True) for a, b in zip(row, again, strict=True))


def test_the_frame_pads_evenly_to_the_frames_shape():
    from imagegen.images import pixels

    frame = pixels.frame_for(300, 160, 1536, 1024)
    assert (frame.padded_width, frame.padded_height, frame.left, frame.top) == (300, 200, 0, 20)
    assert not pixels.frame_for(1024, 1024, 1024, 1024).changed


def test_a_dithered_mask_keeps_every_other_pixel_exactly_and_fast():
    from imagegen.images import pixels

    width = 4096  # a mask that alternates on every pixel: one run per kept pixel
    original = [bytes((x % 256, 1, 2, 255)) for x in range(width)]
    rows = list(pixels.keep_outside([b"".join(original)] * 2, [b"\x09" * 4 * width] * 2,
                                    [(b"\x00" * 4 + b"\x00\x00\x00\xff") * (width // 2)] * 2))
    for row in rows:
        assert [row[4 * x:4 * x + 4] for x in range(1, width, 2)] == original[1::2]
        assert {bytes(row[4 * x:4 * x + 4]) for x in range(0, width, 2)} == {b"\x09" * 4}
