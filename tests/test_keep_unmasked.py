"""edit.py --keep-unmasked: outside the mask every pixel is the input's own, inside it the model's."""

from __future__ import annotations

from pathlib import Path

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
    assert not [w for w in doc["warnings"] if "keep-unmasked" in w]


def test_a_result_of_another_size_is_kept_as_returned_with_a_warning(run, fake, workdir):
    (workdir / "room.png").write_bytes(make_png(40, 30, color=RED))
    returned = make_png(64, 64, color=BLUE)
    fake.enqueue("edits", edits_reply([returned]))
    doc = assert_one_json(run("edit.py", "--input-image", "room.png", "--mask-rect", "0,0,5,5", "--prompt", "x",
                              "--keep-unmasked"))
    assert any("--keep-unmasked could not apply" in w and "64x64" in w for w in doc["warnings"])
    assert png.decode_rgba(Path(doc["path"]).read_bytes())[:2] == (64, 64)


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
