"""How models are billed, and the pixel sizes prices are counted in: shared by the built-in registry
and the live catalogue (which lays OpenRouter's prices over it), so neither imports the other."""

from __future__ import annotations

from ..record import Record

# Pixel size of each aspect ratio at 1K, as OpenRouter documents it.
RATIO_PIXELS_1K = {
    "1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184),
    "4:3": (1184, 864), "4:5": (896, 1152), "5:4": (1152, 896), "9:16": (768, 1344),
    "16:9": (1344, 768), "21:9": (1536, 672), "1:4": (512, 2048), "4:1": (2048, 512),
    "1:8": (384, 3072), "8:1": (3072, 384),
}
SIZE_SCALE = {"0.5K": 0.5, "1K": 1.0, "2K": 2.0, "4K": 4.0}
MEGAPIXEL = 1024 * 1024  # billed per started megapixel of 1024x1024


# Records rather than dataclasses: importing dataclasses (and with it inspect) would cost every
# script's start-up, --help included.
class Pricing(Record):
    """How a model is billed. ``guess`` marks prices not confirmed by the provider's catalogue."""

    kind: str  # "per_mp" | "per_image" | "image_tokens" | "unknown"
    first_mp: float = 0.0
    further_mp: float = 0.0
    per_image: dict[str, float] = {}  # size -> USD (read-only)
    per_million_tokens: float = 0.0  # image_tokens: the rate; per_image: the token rate the table assumes
    tokens_per_image: int = 0
    guess: bool = False
    source: str = "builtin"  # "builtin" | "live" (from the models.py --refresh catalogue) | "direct"
    note: str = ""  # where a direct provider's rates come from, when the table knows more than its date
