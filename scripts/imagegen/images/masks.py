"""Edit masks for OpenAI image edits: checking a mask PNG, and drawing one from rectangles.

OpenAI edits the pixels whose alpha is 0 and keeps the opaque ones. A mask must be a PNG with an
alpha channel, exactly as wide and tall as the (first) image, and under 4 MB. Every failed check
is a UsageError (exit 2) that says how to fix the mask, raised before anything is uploaded.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import OutputError, UsageError
from ..fsutil import write_atomic
from . import pixels, png
from .files import MB, InputImage

MAX_MASK_BYTES = 4 * MB
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEEP_PIXEL = b"\x00\x00\x00\xff"  # opaque black: left as it is
EDIT_PIXEL = b"\x00\x00\x00\x00"  # fully transparent: the model repaints it
COLOUR_TYPES = {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale+alpha", 6: "RGBA"}
FIX_HINT = "or let edit.py draw one with --mask-rect X,Y,W,H"
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class RectSpec:
    """A --mask-rect as typed: four numbers, each in pixels or a percentage of the image."""

    text: str
    values: tuple[tuple[float, bool], ...]  # (number, is_percent) for x, y, width, height

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) in pixels, clipped to the image; UsageError if nothing is left."""
        scales = (width, height, width, height)
        x, y, w, h = (round(value * scale / 100) if percent else int(value)
                      for (value, percent), scale in zip(self.values, scales, strict=True))
        x1, y1 = min(width, x + w), min(height, y + h)
        if x >= width or y >= height or x1 <= x or y1 <= y:
            raise UsageError(f"--mask-rect {self.text} covers no pixel of the {width}x{height} image",
                             details="give X,Y inside the image and a width and height of at least 1 pixel",
                             kind="mask")
        return x, y, x1 - x, y1 - y


def rect_spec(text: str) -> RectSpec:
    """--mask-rect (and a stored request's mask_rects): ``X,Y,W,H`` in pixels or percentages (``10%,10%,50%,50%``)."""
    fields = text.split(",")
    example = "e.g. 100,50,300,200 (pixels) or 10%,10%,50%,50%"
    if len(fields) != 4:
        raise ValueError(f"expected X,Y,W,H, got {text!r}; {example}")
    values = []
    for name, field in zip(("X", "Y", "W", "H"), fields, strict=True):
        match = _NUMBER.match(field)
        if not match:
            raise ValueError(
                f"{name} must be a number of pixels or a percentage, got {field!r}; {example}")
        number, percent = float(match[1]), bool(match[2])
        if not percent and not number.is_integer():
            raise ValueError(f"{name} in pixels must be a whole number, got {field!r}")
        if percent and number > 100:
            raise ValueError(f"{name} is more than 100%: {field!r}")
        if name in ("W", "H") and number == 0:
            raise ValueError(f"{name} must be greater than 0 in {text!r}")
        values.append((number, percent))
    return RectSpec(text, tuple(values))


@dataclass
class Mask:
    """The mask that goes with an edit: read from --mask or drawn from --mask-rect."""

    data: bytes
    path: Path | None
    width: int
    height: int
    generated: bool
    rects: list[tuple[int, int, int, int]]
    invert: bool = False
    edit_fraction: float | None = None
    coverage: str | None = None  # "none", "some" or "all" of the pixels are repainted; None: not known

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def record(self) -> dict[str, object]:
        return {"path": str(self.path) if self.path else None, "sha256": self.sha256, "generated": self.generated,
                "width": self.width, "height": self.height, "rects": [list(r) for r in self.rects],
                "invert": self.invert, "edit_fraction": self.edit_fraction}


def png_header(data: bytes) -> tuple[int, int, int, int, bool]:
    """(width, height, bit depth, colour type, has tRNS) from a PNG's chunks before the image data."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("no PNG header")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    position, transparency = 8, False
    while position + 8 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind in (b"IDAT", b"IEND"):
            break
        transparency = transparency or kind == b"tRNS"
        position += 12 + length
    return width, height, depth, colour, transparency


def check_mask(mask: InputImage, image: InputImage) -> Mask:
    """Refuse a mask OpenAI would reject (or misread), saying what to change."""
    where = str(mask.path)
    if mask.format != "png":
        raise UsageError(f"mask {where} is a {mask.format.upper()} file; the mask must be a PNG with an alpha channel",
                         details=f"export it as PNG, transparent where the image should change, {FIX_HINT}",
                         kind="mask")
    try:
        width, height, _, colour, transparency = png_header(mask.data)
    except (ValueError, struct.error):
        raise UsageError(f"mask {where} is not a readable PNG", details=f"export it again, {FIX_HINT}",
                         kind="mask") from None
    if colour not in (4, 6) and not transparency:
        raise UsageError(
            f"mask {where} has no alpha channel (PNG colour type {colour}, {COLOUR_TYPES.get(colour, 'unknown')})",
            details="OpenAI edits only where the mask is transparent: save it as RGBA with the area to change "
                    f"erased to full transparency, {FIX_HINT}",
            kind="mask",
        )
    if image.width is not None and (width, height) != (image.width, image.height):
        raise UsageError(
            f"mask {where} is {width}x{height} but the image {image.path.name} is {image.width}x{image.height}",
            details=f"the mask must have exactly the image's size: resize or redraw it, {FIX_HINT}",
            kind="mask",
        )
    if len(mask.data) >= MAX_MASK_BYTES:
        raise UsageError(
            f"mask {where} is {len(mask.data) / MB:.1f} MB; OpenAI takes masks under 4 MB",
            details="save it with stronger PNG compression or fewer colours (a mask needs only alpha), "
                    f"{FIX_HINT}",
            kind="mask",
        )
    coverage = _coverage(mask.data, width * height)
    return Mask(mask.data, mask.path, width, height, generated=False, rects=[], coverage=coverage,
                edit_fraction={"none": 0.0, "all": 1.0}.get(coverage or ""))


def _coverage(data: bytes, pixels_in_all: int) -> str | None:
    """``none``, ``some`` or ``all``: how many pixels of a mask PNG are fully transparent (the ones
    OpenAI edits). Rows are read only until both kinds were seen, so a usual mask costs a few rows.
    None when its pixels cannot be read here (16-bit, interlaced: the provider still takes it)."""
    edited = 0
    kept = False
    try:
        _, _, rows = png.read_rows(data)
        for row in rows:
            zeros = row[3::4].count(0)
            edited += zeros
            kept = kept or zeros < len(row) // 4
            if edited and kept:
                return "some"
    except png.PngError:
        return None
    return "none" if not edited else "all" if edited == pixels_in_all else "some"


def draw_mask(width: int, height: int, specs: list[RectSpec], *, invert: bool = False) -> Mask:
    """An RGBA PNG the image's size: transparent (edited) inside the rectangles, opaque elsewhere.

    With ``invert`` the rectangles are kept and everything else is edited. Rows are built from
    merged spans and cached, so a 4096-pixel mask costs a few milliseconds, not a pixel loop.
    """
    rects = [spec.to_pixels(width, height) for spec in specs]
    compressor = zlib.compressobj(9)
    idat: list[bytes] = []
    rows: dict[tuple[tuple[int, int], ...], tuple[bytes, int]] = {}
    edited = 0
    for y in range(height):
        spans = _merge([(x, x + w) for x, top, w, h in rects if top <= y < top + h])
        key = tuple(spans)
        if key not in rows:
            rows[key] = _row(width, spans, invert)
        row, count = rows[key]
        edited += count
        idat.append(compressor.compress(row))
    idat.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    data = PNG_SIGNATURE + png.chunk(b"IHDR", header) + png.chunk(b"IDAT", b"".join(idat)) + png.chunk(b"IEND", b"")
    fraction = round(edited / (width * height), 4)
    coverage = "none" if not edited else "all" if edited == width * height else "some"
    return Mask(data, None, width, height, generated=True, rects=rects, invert=invert, edit_fraction=fraction,
                coverage=coverage)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _row(width: int, spans: list[tuple[int, int]], invert: bool) -> tuple[bytes, int]:
    """One filtered scanline (filter byte 0) and how many of its pixels are edited."""
    inside, outside = (KEEP_PIXEL, EDIT_PIXEL) if invert else (EDIT_PIXEL, KEEP_PIXEL)
    parts, cursor, covered = [b"\x00"], 0, 0
    for start, end in spans:
        parts += [outside * (start - cursor), inside * (end - start)]
        covered += end - start
        cursor = end
    parts.append(outside * (width - cursor))
    return b"".join(parts), (width - covered) if invert else covered


def name_beside(planned_output: Path, number: int = 1) -> Path:
    """``<output stem>.mask.png`` (``<stem>-N.mask.png`` when that is taken) next to the output."""
    stem = planned_output.with_suffix("").name
    return planned_output.parent / (f"{stem}.mask.png" if number == 1 else f"{stem}-{number}.mask.png")


def save_beside(mask: Mask, planned_output: Path) -> Path:
    """Write a drawn mask next to where the edit will land, never over an existing file."""
    for number in range(1, 1000):
        target = name_beside(planned_output, number)
        try:
            write_atomic(target, mask.data, exclusive=True)
        except FileExistsError:
            continue
        except OSError as error:
            raise OutputError(f"could not write the mask {target}: {error.strerror or error}",
                              details="free some space or fix the folder's permissions") from None
        mask.path = target.resolve()
        return mask.path
    raise UsageError(f"no free name for the mask beside {planned_output}", kind="output_dir")


def check_coverage(mask: Mask, *, keep_unmasked: bool) -> None:
    """Refuse, before paying, a mask whose edit cannot change anything: one that edits no pixel, or
    (with --keep-unmasked, which puts back every pixel the mask keeps) one that keeps none."""
    if mask.coverage is None:
        return
    where = f"the mask {mask.path.name}" if mask.path and not mask.generated else "the drawn mask"
    if mask.coverage == "none":
        how = ("--mask-invert keeps the rectangles, so they must not cover the whole image"
               if mask.invert else "make the area to change fully transparent (alpha 0)")
        raise UsageError(f"{where} edits no pixel of the {mask.width}x{mask.height} image: nothing would change",
                         details=f"{how}, {FIX_HINT}", kind="mask")
    if keep_unmasked and mask.coverage == "all":
        raise UsageError(f"{where} edits every pixel, so --keep-unmasked has nothing to keep",
                         details="drop --keep-unmasked, or draw a mask that leaves the part to keep opaque",
                         kind="mask")


def sent_mask(mask: Mask, frame: pixels.Frame) -> Mask:
    """The mask as sent with an input scaled into ``frame``: the padding kept, edges as sharp as scaled."""
    _, _, rows = png.decode_rgba(mask.data)
    framed = [bytearray(row) for row in pixels.into_frame(frame, rows, fill=KEEP_PIXEL)]
    for row in framed:
        row[3::4] = row[3::4].translate(_THRESHOLD)  # scaling blurs the edge: each pixel is edited or kept
    data = png.encode_rgba(frame.frame_width, frame.frame_height, framed)
    return replace(mask, data=data, width=frame.frame_width, height=frame.frame_height)


_THRESHOLD = bytes(0 if value < 128 else 255 for value in range(256))


def keep_unmasked(original: bytes, result: bytes, mask: bytes, frame: pixels.Frame | None = None) -> bytes:
    """``result`` brought back to the original's exact size (from whatever size it came, through
    ``frame``: the padding and scale the input was sent with) with every pixel the mask keeps
    (alpha above 0) taken back from ``original``, exactly.

    ``original`` and ``mask`` are PNGs of one size; a result that cannot be read raises ValueError,
    which says why the image is left as the provider returned it."""
    try:
        width, height, result_rows = png.decode_rgba(result)
        original_width, original_height, original_rows = png.read_rows(original)  # streamed: one row at a time
        mask_width, mask_height, mask_rows = png.read_rows(mask)
        if (mask_width, mask_height) != (original_width, original_height):
            raise png.PngError(f"the mask is {mask_width}x{mask_height}, the input {original_width}x{original_height}")
        if (width, height) != (original_width, original_height):
            frame = frame or pixels.frame_for(original_width, original_height, width, height)
            result_rows = pixels.out_of_frame(frame, width, height, result_rows)  # type: ignore[assignment]
        return png.encode_rgba(original_width, original_height,
                               pixels.keep_outside(original_rows, result_rows, mask_rows))
    except png.PngError as error:
        raise ValueError(f"--keep-unmasked could not apply ({error}); the image is the provider's as returned") \
            from None
