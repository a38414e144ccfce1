"""The pixel frames OpenAI's image models make, chosen from an aspect ratio and a size tier.

gpt-image-1-era models make three frames (1024x1024, 1536x1024, 1024x1536). gpt-image-2 takes any
``WIDTHxHEIGHT`` within the rules of openai-python's ``image_generate_params.py`` and
``image_edit_params.py`` (``size``): both sides multiples of 16, long side to short side at most
3:1, the long side at most 3840 (3840x2160 is the largest 16:9), and the model's pixel limits
(655,360 to 8,294,400 pixels, from OpenAI's image guide as reported by API resellers; sizes above
2560x1440 are "experimental" in the SDK's words).
"""

from __future__ import annotations

import math

SQUARE, LANDSCAPE, PORTRAIT = "1024x1024", "1536x1024", "1024x1536"
CLASSIC = (SQUARE, LANDSCAPE, PORTRAIT)
STEP = 16
MAX_EDGE = 3840
MAX_RATIO = 3.0
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400
EXPERIMENTAL_PIXELS = 2560 * 1440
# The long side a tier aims at before the pixel limits apply.
TIER_EDGES = {"1K": 1024, "2K": 2048, "4K": 3840}


def ratio_of(aspect_ratio: str) -> float | None:
    width, _, height = aspect_ratio.partition(":")
    try:
        value = float(width) / float(height)
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def frame_for(aspect_ratio: str) -> str:
    """The classic frame nearest ``aspect_ratio`` (w:h): square, landscape or portrait."""
    shape = ratio_of(aspect_ratio)
    if shape is None:
        return SQUARE
    return SQUARE if 0.8 <= shape <= 1.25 else LANDSCAPE if shape > 1 else PORTRAIT


def parse(size: str) -> tuple[int, int] | None:
    """(width, height) of ``"WIDTHxHEIGHT"``, or None for ``auto`` or anything else."""
    width, sep, height = size.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        return None
    return int(width), int(height)


def problem(width: int, height: int) -> str | None:
    """What breaks gpt-image-2's size rules in ``width`` x ``height``, or None when it is valid."""
    if width % STEP or height % STEP:
        return f"both sides must be multiples of {STEP}"
    if max(width, height) > MAX_EDGE:
        return f"the long side may be at most {MAX_EDGE}"
    if max(width, height) > MAX_RATIO * min(width, height):
        return "the long side may be at most 3 times the short one"
    if not MIN_PIXELS <= width * height <= MAX_PIXELS:
        return f"it must have {MIN_PIXELS:,} to {MAX_PIXELS:,} pixels"
    return None


def flexible_frame(aspect_ratio: str, tier: str) -> str:
    """The frame for ``aspect_ratio`` at ``tier`` (1K, 2K, 4K): the long side at the tier's edge, scaled into
    the pixel limits, both sides on the 16-pixel grid nearest the ratio. ValueError when no frame fits."""
    shape = ratio_of(aspect_ratio)
    if shape is None or tier not in TIER_EDGES:
        raise ValueError(f"no frame for aspect ratio {aspect_ratio} at {tier}")
    if max(shape, 1 / shape) > MAX_RATIO:
        raise ValueError(f"aspect ratio {aspect_ratio} is wider than 3:1")
    edge = TIER_EDGES[tier]
    width, height = (edge, edge / shape) if shape >= 1 else (edge * shape, edge)
    area = width * height
    if area > MAX_PIXELS or area < MIN_PIXELS:
        scale = math.sqrt((MAX_PIXELS if area > MAX_PIXELS else MIN_PIXELS) / area)
        width, height = width * scale, height * scale
    # The valid grid points around the target: nearest the ratio first, then nearest the size.
    target = width * height
    best: tuple[float, int, int] | None = None
    for w in _around(width):
        for h in _around(height):
            if problem(w, h) is None:
                score = abs(math.log(w / h / shape)) + 0.25 * abs(math.log(w * h / target))
                best = min(best, (score, w, h)) if best else (score, w, h)
    if best is None:
        raise ValueError(f"no frame for aspect ratio {aspect_ratio} at {tier} keeps gpt-image-2's size rules")
    return f"{best[1]}x{best[2]}"


def _around(side: float) -> range:
    nearest = round(side / STEP) * STEP
    return range(max(STEP, nearest - 4 * STEP), nearest + 5 * STEP, STEP)
