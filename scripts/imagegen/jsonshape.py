"""Typed reads into JSON that came from elsewhere (a provider's reply, a sidecar, a record): the value
at a key when it has the expected shape, else an empty one, so a reader never trips on a field that
is missing, null or of another type."""

from __future__ import annotations

from typing import Any


def dict_at(parent: Any, key: str) -> dict[str, Any]:
    """``parent[key]`` when ``parent`` is a dict and that value is a dict, else ``{}``."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, dict) else {}


def list_at(parent: Any, key: str) -> list[Any]:
    """``parent[key]`` when ``parent`` is a dict and that value is a list, else ``[]``."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, list) else []


def text_at(parent: Any, key: str) -> str | None:
    """``parent[key]`` when it is a string, else None."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, str) else None
