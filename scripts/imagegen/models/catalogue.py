"""The live model catalogue: OpenRouter's image models with today's prices, cached on disk.

``models.py --refresh`` fetches ``GET /models?output_modalities=image`` and stores the answer under
the user's cache directory. While that cache is fresh (younger than :data:`MAX_AGE_SECONDS`),
:func:`apply` lays its prices and capabilities over a registry entry and :func:`extra_ids` offers
the image models the built-in registry does not know. A stale or broken cache is ignored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config
from ..fsutil import iso
from .pricing import SIZE_SCALE, Pricing

MAX_AGE_SECONDS = 7 * 24 * 3600
CACHE_VERSION = 1
TOKENS_PER_IMAGE_GUESS = 1290  # a 1K Gemini image; used only for models the registry does not know
PER_TOKEN_LIMIT = 0.001  # prices below this are per token, above it per image or per megapixel


@dataclass
class Catalogue:
    fetched_at: float  # seconds since the epoch
    models: dict[str, dict[str, Any]]
    path: Path

    @property
    def age_seconds(self) -> float:
        return max(0.0, time.time() - self.fetched_at)

    @property
    def fresh(self) -> bool:
        return self.age_seconds < MAX_AGE_SECONDS


_memo: dict[Path, tuple[int, Catalogue | None]] = {}


def cache_path() -> Path:
    return config.catalogue_path()


def load(path: Path | None = None) -> Catalogue | None:
    """The cached catalogue, fresh or not; None when there is none or it cannot be read."""
    path = path or cache_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    cached = _memo.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    catalogue = _read(path)
    _memo[path] = (stamp, catalogue)
    return catalogue


def _read(path: Path) -> Catalogue | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        models = {m["id"]: m for m in doc["models"] if isinstance(m, dict) and isinstance(m.get("id"), str)}
        return Catalogue(float(doc["fetched_at_epoch"]), models, path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def fresh() -> Catalogue | None:
    catalogue = load()
    return catalogue if catalogue is not None and catalogue.fresh else None


def _price(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _modalities(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def normalise(item: Any) -> dict[str, Any] | None:
    """One ``/models`` entry reduced to what the registry uses, or None when it is not an image model."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    architecture = item.get("architecture") if isinstance(item.get("architecture"), dict) else {}
    outputs = _modalities(architecture.get("output_modalities"))
    if "image" not in outputs:
        return None
    pricing = item.get("pricing") if isinstance(item.get("pricing"), dict) else {}
    prices = {str(k): p for k, p in ((k, _price(v)) for k, v in pricing.items()) if p is not None}
    return {
        "id": item["id"],
        "name": str(item.get("name") or item["id"]),
        "input_modalities": _modalities(architecture.get("input_modalities")),
        "output_modalities": outputs,
        "pricing": prices,
    }


def from_entries(entries: list[Any]) -> Catalogue:
    """A catalogue fetched now from OpenRouter's ``/models`` entries (those that are image models)."""
    models = {m["id"]: m for m in (normalise(item) for item in entries) if m is not None}
    return Catalogue(time.time(), models, cache_path())


def save(catalogue: Catalogue) -> Path:
    """Store ``catalogue`` atomically at its path (the directory is created when missing)."""
    from ..fsutil import write_json_atomic

    catalogue.path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": CACHE_VERSION,
        "fetched_at": iso(catalogue.fetched_at),
        "fetched_at_epoch": catalogue.fetched_at,
        "models": sorted(catalogue.models.values(), key=lambda m: m["id"]),
    }
    write_json_atomic(catalogue.path, document)
    _memo.pop(catalogue.path, None)
    return catalogue.path


def human_age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def status() -> dict[str, Any]:
    """Where the cache is, whether it is used, and how old it is."""
    catalogue = load()
    info: dict[str, Any] = {"path": str(cache_path()), "present": catalogue is not None,
                            "fresh": False, "max_age_hours": MAX_AGE_SECONDS // 3600}
    if catalogue is not None:
        info.update({
            "fresh": catalogue.fresh,
            "age_seconds": int(catalogue.age_seconds),
            "age": human_age(catalogue.age_seconds),
            "fetched_at": iso(catalogue.fetched_at),
            "models": len(catalogue.models),
        })
    return info


def extra_ids(known: dict[str, Any]) -> list[str]:
    """Image models in the fresh catalogue that ``known`` (id -> spec) lacks."""
    catalogue = fresh()
    return sorted(i for i in catalogue.models if i not in known) if catalogue else []


def apply(spec: Any) -> Any:
    """``spec`` with the fresh catalogue's capabilities and prices, or unchanged without one."""
    catalogue = fresh()
    entry = catalogue.models.get(spec.id) if catalogue else None
    if entry is None:
        return spec
    outputs = ("image", "text") if "text" in entry["output_modalities"] else ("image",)
    changes: dict[str, Any] = {"output_modalities": outputs, "pricing": live_pricing(spec, entry, outputs)}
    if entry["input_modalities"]:
        changes["image_input"] = "image" in entry["input_modalities"]
        if not changes["image_input"]:
            changes["max_refs"] = 0
    if not spec.known:
        changes["system_message"] = "text" in outputs
    return spec._replace(**changes)


def live_pricing(spec: Any, entry: dict[str, Any], outputs: tuple[str, ...]) -> Any:
    """Translate OpenRouter's price strings into the registry's billing model for ``spec``.

    Token-billed models (image and text out) quote USD per output image token in ``image_output``
    (``image`` there is the price of an *input* image). Image-only models quote one price per image
    or, for FLUX, per first megapixel.
    """
    pricing = spec.pricing
    prices = entry["pricing"]
    image_output, image = prices.get("image_output"), prices.get("image")
    if "text" in outputs:
        candidates = [p for p in (image_output, image) if p and p < PER_TOKEN_LIMIT]
        if not candidates:
            return pricing
        per_million = candidates[0] * 1_000_000
        if pricing.kind == "image_tokens":
            return pricing._replace(per_million_tokens=per_million, source="live")
        if pricing.kind == "per_image" and pricing.per_million_tokens:
            factor = per_million / pricing.per_million_tokens
            scaled = {size: round(usd * factor, 6) for size, usd in pricing.per_image.items()}
            return pricing._replace(per_image=scaled, per_million_tokens=per_million, source="live")
        return Pricing("image_tokens", per_million_tokens=per_million, tokens_per_image=TOKENS_PER_IMAGE_GUESS,
                       guess=True, source="live")
    candidates = [p for p in (image_output, image) if p and p >= PER_TOKEN_LIMIT]
    if not candidates:
        return pricing
    unit = candidates[0]
    if pricing.kind == "per_mp":
        further = pricing.further_mp * unit / pricing.first_mp if pricing.first_mp else unit / 2
        return pricing._replace(first_mp=unit, further_mp=round(further, 6), source="live")
    if pricing.kind == "per_image" and pricing.per_image.get("1K"):
        factor = unit / pricing.per_image["1K"]
        scaled = {size: round(usd * factor, 6) for size, usd in pricing.per_image.items()}
        return pricing._replace(per_image=scaled, source="live")
    if spec.family == "flux":
        return Pricing("per_mp", first_mp=unit, further_mp=unit / 2, guess=True, source="live")
    return Pricing("per_image", per_image={size: unit for size in SIZE_SCALE}, guess=True, source="live")
