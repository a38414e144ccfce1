"""Pixel work in the standard library, on RGBA rows from ``images.png``: the one resampler, and the
frame an edit is sent in and brought back from (``edit.py --keep-unmasked``).

Rows are ``bytes``/``bytearray`` of RGBA, never per-pixel objects. The resampler is bilinear
going up and an area average going down (exactly 2x down is a 2x2 box average), applied to whole
rows at once: rows are mixed as wide integers with one 16-bit lane per byte, and columns
become rows by a transpose of 32-bit pixels (array slicing).
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence

from ..record import Record

_WEIGHT = 256  # the resampler's weights are whole 1/256ths


# -- the resampler ---------------------------------------------------------------------------------

def _taps(size: int, new_size: int) -> list[list[tuple[int, int]]]:
    """For each output index, (source index, weight in 1/256ths) pairs summing to 256: the source
    pixels an output pixel covers, by how much of each (going down), or its two nearest, by
    distance (going up)."""
    scale = size / new_size
    taps = []
    for index in range(new_size):
        if scale > 1:
            start, end = index * scale, (index + 1) * scale
            raw = [(source, min(end, source + 1) - max(start, source))
                   for source in range(math.floor(start), min(size, math.ceil(end)))]
        else:
            centre = (index + 0.5) * scale - 0.5
            below = math.floor(centre)
            raw = [(min(size - 1, max(0, below)), 1 - (centre - below)),
                   (min(size - 1, max(0, below + 1)), centre - below)]
        total = sum(weight for _, weight in raw)
        merged: dict[int, int] = {}
        for source, weight in raw:
            merged[source] = merged.get(source, 0) + round(weight / total * _WEIGHT)
        biggest = max(merged, key=merged.__getitem__)
        merged[biggest] += _WEIGHT - sum(merged.values())  # whole 1/256ths that sum to exactly 256
        taps.append([(source, weight) for source, weight in merged.items() if weight > 0])
    return taps


def _lanes(row: bytes | bytearray) -> int:
    """``row`` as one integer with each byte in its own 16-bit lane (room for a weighted sum)."""
    spread = bytearray(2 * len(row))
    spread[1::2] = row
    return int.from_bytes(spread, "big")


def _mix_rows(rows: Sequence[bytes | bytearray], new_count: int) -> list[bytes]:
    """Resample a list of equal rows to ``new_count`` rows (the vertical pass)."""
    if not rows:
        return []
    width = len(rows[0])
    rounding = int.from_bytes(b"\x00\x80" * width, "big")
    cache: dict[int, int] = {}
    out = []
    for taps in _taps(len(rows), new_count):
        for stale in [index for index in cache if index < taps[0][0] - 2]:
            del cache[stale]
        if len(taps) == 1:
            out.append(bytes(rows[taps[0][0]]))
            continue
        total = rounding
        for source, weight in taps:
            if source not in cache:
                cache[source] = _lanes(rows[source])
            total += cache[source] * weight
        out.append((total >> 8).to_bytes(2 * width, "big")[1::2])  # each lane's high byte: the sum / 256
    return out


def _transpose(rows: Sequence[bytes | bytearray], width: int) -> list[bytes]:
    """Columns of RGBA pixels as rows (pixels as 32-bit items; their bytes are never reordered)."""
    pixels = array("I")
    if pixels.itemsize != 4:  # pragma: no cover - every platform CPython runs on has a 4-byte "I"
        pixels = array("L")
    for row in rows:
        pixels.frombytes(bytes(row))
    return [pixels[x::width].tobytes() for x in range(width)]


def resize(width: int, height: int, rows: Sequence[bytes | bytearray], new_width: int,
           new_height: int) -> list[bytes]:
    """RGBA ``rows`` of ``width`` x ``height`` resampled to ``new_width`` x ``new_height``."""
    if (width, height) == (new_width, new_height):
        return [bytes(row) for row in rows]
    mixed = _mix_rows(rows, new_height)
    if new_width == width:
        return mixed
    columns = _mix_rows(_transpose(mixed, width), new_width)
    return _transpose(columns, new_height)


# -- the frame an edit is sent in ------------------------------------------------------------------

class Frame(Record):
    """An input of ``width`` x ``height`` padded by ``left``/``top`` (to ``padded_width`` x
    ``padded_height``, the frame's shape) and scaled to ``frame_width`` x ``frame_height``."""

    width: int
    height: int
    left: int
    top: int
    padded_width: int
    padded_height: int
    frame_width: int
    frame_height: int

    @property
    def changed(self) -> bool:
        return (self.width, self.height) != (self.frame_width, self.frame_height)


def frame_for(width: int, height: int, frame_width: int, frame_height: int) -> Frame:
    """Pad ``width`` x ``height`` evenly to the shape of the frame (the least padding), to be scaled into it."""
    if width * frame_height >= height * frame_width:  # wider than the frame: pad above and below
        padded_width, padded_height = width, max(height, round(width * frame_height / frame_width))
    else:
        padded_width, padded_height = max(width, round(height * frame_width / frame_height)), height
    return Frame(width, height, (padded_width - width) // 2, (padded_height - height) // 2, padded_width,
                 padded_height, frame_width, frame_height)


def into_frame(frame: Frame, rows: Sequence[bytes | bytearray], *, fill: bytes | None = None) -> list[bytes]:
    """``rows`` padded (edge pixels repeated, or ``fill``) and scaled into the frame."""
    right = frame.padded_width - frame.width - frame.left
    padded = []
    for row in rows:
        before = (fill or bytes(row[:4])) * frame.left
        after = (fill or bytes(row[-4:])) * right
        padded.append(before + bytes(row) + after)
    above = [padded[0] if fill is None else fill * frame.padded_width] * frame.top
    below_rows = frame.padded_height - frame.height - frame.top
    below = [padded[-1] if fill is None else fill * frame.padded_width] * below_rows
    return resize(frame.padded_width, frame.padded_height, above + padded + below, frame.frame_width,
                  frame.frame_height)


def out_of_frame(frame: Frame, width: int, height: int, rows: Sequence[bytes | bytearray]) -> list[bytes]:
    """An answer of any size brought back to the input's exact size: scaled to the padded size, then cropped."""
    full = resize(width, height, rows, frame.padded_width, frame.padded_height)
    start, end = 4 * frame.left, 4 * (frame.left + frame.width)
    return [row[start:end] for row in full[frame.top:frame.top + frame.height]]


def keep_outside(original: Iterable[bytes | bytearray], result: Iterable[bytes | bytearray],
                 mask: Iterable[bytes | bytearray]) -> Iterator[bytearray]:
    """``result`` with every pixel whose mask alpha is above 0 taken from ``original``, exactly,
    one row at a time (the original and the mask can be streamed)."""
    for original_row, result_row, mask_row in zip(original, result, mask, strict=False):
        row = bytearray(result_row)
        for run in _KEPT.finditer(mask_row[3::4]):  # runs of kept pixels, found in one pass, copied as slices
            start, end = 4 * run.start(), 4 * run.end()
            row[start:end] = original_row[start:end]
        yield row


_KEPT = re.compile(rb"[^\x00]+")
