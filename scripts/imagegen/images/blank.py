"""Whether an image is blank: one flat colour, the failure a model sometimes returns instead of a picture.

A blank image is flagged wherever a result is read (a warning in the result, its sidecar and the
queue's status) and is not worth a paid review: ``review.py --auto`` and the review loop reject it
for free. Only PNGs are read (the standard library decodes nothing else); any other format, or a
PNG this module cannot read, is not called blank. Rows are decoded one at a time and the reading
stops at the first row that shows variation, so a real picture costs a row or two and memory stays
one row whatever the image's size.
"""

from __future__ import annotations

from typing import BinaryIO

from . import png

TOLERANCE = 3  # levels per channel: encoders dither a flat fill by a step or two


def flat_colour(source: BinaryIO | bytes) -> str | None:
    """``#rrggbb`` (or ``transparent``) when every pixel of a PNG is within :data:`TOLERANCE` of
    every other in each channel (or every pixel is transparent); None when it varies or cannot be read."""
    low, high = [255] * 4, [0] * 4
    try:
        width, height, rows = png.read_rows(source)
        if width * height > png.MAX_PIXELS:
            return None  # not judged: a flat image this large would be read to its last row
        for row in rows:
            for channel in range(4):
                values = row[channel::4]
                low[channel], high[channel] = min(low[channel], min(values)), max(high[channel], max(values))
            if high[3] - low[3] > TOLERANCE:
                return None
            if high[3] > TOLERANCE and any(high[c] - low[c] > TOLERANCE for c in range(3)):
                return None  # visible, and its colours vary
    except (png.PngError, OSError):
        return None
    if high[3] <= TOLERANCE:
        return "transparent"
    if any(high[c] - low[c] > TOLERANCE for c in range(3)):
        return None
    return "#" + "".join(f"{(low[c] + high[c]) // 2:02x}" for c in range(3))


def looks_blank(data: bytes) -> bool:
    """True when every pixel of the PNG ``data`` is one colour (within :data:`TOLERANCE`)."""
    return flat_colour(data) is not None


def warning(name: str, colour: str) -> str:
    """The warning a blank image carries in results, sidecars and the queue's status."""
    shade = "fully transparent" if colour == "transparent" else f"one flat colour ({colour})"
    return (f"{name} looks blank: every pixel is {shade}; check it before using it "
            "(generate again, or rephrase the prompt)")
