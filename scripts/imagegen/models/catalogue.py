"""The live model catalogue: OpenRouter's image models with today's prices, cached on disk.

``models.py --refresh`` fetches ``GET /models?output_modalities=image`` and stores the answer under
the user's cache directory. While that cache is fresh (younger than :data:`MAX_AGE_SECONDS`),
:func:`apply` lays its prices and capabilities over a registry entry and :func:`extra_ids` offers
the image models the built-in registry does not know. A stale or broken cache is ignored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config
from ..fsutil import iso
from ..jsonshape import dict_at
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


MAX_CACHE_BYTES = 64 * 1024 * 1024  # OpenRouter's whole catalogue is a few MB


def _read(path: Path) -> Catalogue | None:
    from ..localjson import read_json

    try:
        doc = read_json(path, MAX_CACHE_BYTES, follow_links=True)
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
    architecture = dict_at(item, "architecture")
    outputs = _modalities(architecture.get("output_modalities"))
    if "image" not in outputs:
        return None
    pricing = dict_at(item, "pricing")
    prices = {str(k): p for k, p in ((k, _price(v)) for k, v in pricing.items()) if p is not None}
    expires = item.get("expiration_date")  # "the date after which the model may be removed", or null
    return {
        "id": item["id"],
        "name": str(item.get("name") or item["id"]),
        "input_modalities": _modalities(architecture.get("input_modalities")),
        "output_modalities": outputs,
        "pricing": prices,
        "expiration_date": expires[:32] if isinstance(expires, str) and expires else None,
    }


def add_discovery(catalogue: Catalogue, models: list[dict[str, Any]],
                  endpoints: dict[str, list[dict[str, Any]]]) -> Catalogue:
    """Lay ``GET /images/models`` (capabilities) and each model's endpoints (pricing lines) over ``catalogue``.

    A model only the discovery list knows joins the catalogue; its chat-side prices stay empty.
    """
    for item in models:
        architecture = dict_at(item, "architecture")
        entry = catalogue.models.setdefault(item["id"], {
            "id": item["id"], "name": str(item.get("name") or item["id"]),
            "input_modalities": _modalities(architecture.get("input_modalities")),
            "output_modalities": _modalities(architecture.get("output_modalities")) or ["image"], "pricing": {}})
        found = endpoints.get(item["id"]) or []
        parameters = _descriptors(item.get("supported_parameters"))
        per_endpoint = [_descriptors(e.get("supported_parameters")) for e in found]
        if any(p is not None for p in per_endpoint):  # each endpoint's set is definitive: their union is
            parameters = {}
            for found_parameters in per_endpoint:
                for name, descriptor in (found_parameters or {}).items():
                    parameters.setdefault(name, descriptor)
        if parameters is not None:
            entry["supported_parameters"] = parameters
        if found:
            entry["endpoint_pricing"] = priced_endpoint(found) or []
            entry["endpoint_count"] = len(found)
    return catalogue


def _descriptors(value: Any) -> dict[str, Any] | None:
    """A ``SupportedParameters`` object (name -> ``{"type": "enum"|"range"|"boolean", ...}``), or None."""
    if not isinstance(value, dict):
        return None
    return {str(k): v for k, v in value.items() if isinstance(v, dict) and isinstance(v.get("type"), str)}


def priced_endpoint(endpoints: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The pricing lines of the first endpoint that prices an output image, or None when none does."""
    for endpoint in endpoints:
        lines = endpoint.get("pricing")
        lines = [line for line in lines if isinstance(line, dict)] if isinstance(lines, list) else []
        if any(line.get("billable") == "output_image" and _price(line.get("cost_usd")) for line in lines):
            return lines
    return None


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


VARIANT_SIZES = {None: "1K", "1k": "1K", "2k": "2K", "4k": "4K", "512": "0.5K", "0.5k": "0.5K"}


def endpoint_pricing(spec: Any, lines: list[dict[str, Any]]) -> Pricing | None:
    """The price of an output image from an endpoint's pricing lines, or None when they do not say."""
    output = [line for line in lines if line.get("billable") == "output_image" and _price(line.get("cost_usd"))]
    if not output:
        return None
    unit = output[0].get("unit")
    if unit == "image":
        per_image: dict[str, float] = {}
        for line in output:
            size = VARIANT_SIZES.get(str(line.get("variant")).lower()) if line.get("variant") else "1K"
            if line.get("unit") == "image" and size is not None:
                per_image[size] = float(line["cost_usd"])
        for size in SIZE_SCALE:
            per_image.setdefault(size, per_image.get("1K", max(per_image.values())))
        return Pricing("per_image", per_image=per_image, source="live")
    if unit == "megapixel":
        cost = float(output[0]["cost_usd"])
        return Pricing("per_mp", first_mp=cost, further_mp=cost, source="live")
    if unit == "token":
        tokens = spec.pricing.tokens_per_image or TOKENS_PER_IMAGE_GUESS
        return Pricing("image_tokens", per_million_tokens=float(output[0]["cost_usd"]) * 1_000_000,
                       tokens_per_image=tokens, guess=True, source="live")
    return None


def supported_parameters(model_id: str) -> dict[str, Any] | None:
    """The fresh catalogue's ``supported_parameters`` for ``model_id``: None when it does not know."""
    catalogue = fresh()
    entry = catalogue.models.get(model_id) if catalogue else None
    parameters = entry.get("supported_parameters") if entry else None
    return parameters if isinstance(parameters, dict) else None


def models_supporting(name: str, value: Any = None) -> list[str]:
    """Models in the fresh catalogue whose ``name`` parameter accepts ``value`` (any value when None)."""
    catalogue = fresh()
    if catalogue is None:
        return []
    return sorted(model_id for model_id, entry in catalogue.models.items()
                  if accepts((entry.get("supported_parameters") or {}).get(name), value))


def accepts(descriptor: Any, value: Any) -> bool:
    """Whether a ``supported_parameters`` descriptor takes ``value`` (None: whether it exists at all)."""
    if not isinstance(descriptor, dict):
        return False
    if value is None:
        return True
    kind = descriptor.get("type")
    if kind == "enum":  # EnumCapability: string values
        values = descriptor.get("values")
        return isinstance(values, list) and str(value) in [str(v) for v in values]
    if kind == "range":  # RangeCapability: inclusive numeric min and max
        low, high = descriptor.get("min"), descriptor.get("max")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return (not isinstance(low, (int, float)) or value >= low) and (not isinstance(high, (int, float))
                                                                         or value <= high)
    return True  # BooleanCapability: present means the parameter is accepted, whatever its value


def live_pricing(spec: Any, entry: dict[str, Any], outputs: tuple[str, ...]) -> Any:
    """Translate OpenRouter's price strings into the registry's billing model for ``spec``.

    The OpenAPI spec's ``PublicPricing``: ``image`` is USD per *input* image (never an output price),
    ``image_output`` per output image and ``image_token`` per image token. ``image_output`` below
    :data:`PER_TOKEN_LIMIT` is read per token (the catalogue quotes token-billed models that way).
    Image-only models quote one price per image or, for FLUX, per first megapixel.
    """
    pricing = spec.pricing
    from_lines = endpoint_pricing(spec, entry.get("endpoint_pricing") or [])
    if from_lines is not None:
        return from_lines
    prices = entry["pricing"]
    image_output, image_token = prices.get("image_output"), prices.get("image_token")
    if "text" in outputs or (image_token and not image_output):
        candidates = [p for p in (image_token, image_output) if p and p < PER_TOKEN_LIMIT]
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
    if not image_output or image_output < PER_TOKEN_LIMIT:
        return pricing
    unit = image_output
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
