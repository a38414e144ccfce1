"""A tiny JSON Schema subset validator (standard library only) for the contract tests.

Understands ``type`` (one name or a list), ``required``, ``properties``, ``enum``, ``items`` and
``$ref`` to ``#/$defs/<name>``, to a sibling file (``generate.success.json``) or to a definition in
one (``enqueue_image_job.success.json#/$defs/job``). As in draft 2020-12, keywords beside a
``$ref`` apply too. Every other keyword is ignored, so schemas may carry ``title`` and
``description`` for people.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "references" / "schemas"

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def validate(instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, where: str = "$") -> list[str]:
    """Every way ``instance`` breaks ``schema``, as ``path: problem`` strings (empty when it fits)."""
    root = root if root is not None else schema
    problems: list[str] = []
    if "$ref" in schema:
        target, target_root = _resolve(schema["$ref"], root)
        problems += validate(instance, target, target_root, where)
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        unknown = [n for n in names if n not in _TYPES]
        if unknown:
            raise ValueError(f"unsupported type {unknown} at {where}")
        if not any(_TYPES[name](instance) for name in names):
            got = f"{type(instance).__name__} {instance!r:.60}"
            return problems + [f"{where}: expected {' or '.join(names)}, got {got}"]
    if "enum" in schema and not any(_same(instance, option) for option in schema["enum"]):
        problems.append(f"{where}: {instance!r:.60} is not one of {schema['enum']}")
    if isinstance(instance, dict):
        for name in schema.get("required", []):
            if name not in instance:
                problems.append(f"{where}: missing required property {name!r}")
        for name, subschema in schema.get("properties", {}).items():
            if name in instance:
                problems += validate(instance[name], subschema, root, f"{where}.{name}")
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            problems += validate(item, schema["items"], root, f"{where}[{index}]")
    return problems


def _resolve(reference: str, root: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema, its root) for ``#/$defs/x``, ``file.json`` or ``file.json#/$defs/x``."""
    document, _, fragment = reference.partition("#")
    if document:
        if "/" in document or not document.endswith(".json"):
            raise ValueError(f"unsupported $ref {reference!r}")
        root = json.loads((SCHEMA_DIR / document).read_text(encoding="utf-8"))
    if not fragment:
        return root, root
    if not fragment.startswith("/$defs/"):
        raise ValueError(f"unsupported $ref {reference!r}")
    return root["$defs"][fragment[len("/$defs/"):]], root


def _same(value: Any, option: Any) -> bool:
    """JSON equality: true is not 1, 1 equals 1.0."""
    if isinstance(value, bool) or isinstance(option, bool):
        return isinstance(value, bool) and isinstance(option, bool) and value == option
    return value == option


def load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))


def assert_valid(instance: Any, name: str) -> None:
    problems = validate(instance, load(name))
    assert not problems, f"output does not match references/schemas/{name}.json:\n" + "\n".join(problems)
