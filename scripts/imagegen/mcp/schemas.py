"""Tool schemas from one source, so a tool cannot drift from the script it stands for.

Input schemas are rendered from a command's arguments (``cli.arguments``: its flags, with the
checks of its typed request's fields or of the flags' types): each property's JSON Schema is its
check's own (``validate.schema_of``), its description the flag's help, its default the flag's.
Output schemas are the contract's ``references/schemas/`` files, their references inlined so
that each is one self-contained document.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from ..cli.arguments import Argument

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def input_schema(arguments: Sequence[Argument]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {argument.name: argument.schema() for argument in arguments},
        "required": [argument.name for argument in arguments if argument.field.required],
        "additionalProperties": False,
    }


# -- output schemas -----------------------------------------------------------------------------

def schema_dir() -> Path:
    from ..names import docs_dir

    return docs_dir() / "schemas"  # package data in an install, the checkout's references/ by a link


@cache
def _load(name: str) -> dict[str, Any]:
    with open(schema_dir() / f"{name}.json", encoding="utf-8") as handle:
        return json.load(handle)


def _pointer(document: dict[str, Any], fragment: str) -> Any:
    target: Any = document
    for part in filter(None, fragment.split("/")):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def _inlined(schema: Any, document: dict[str, Any]) -> Any:
    """``schema`` with every ``$ref`` (``#/$defs/x``, ``file.json``, ``file.json#/$defs/x``) replaced
    by what it names; keywords beside a reference still apply (``allOf``), as in draft 2020-12."""
    if isinstance(schema, list):
        return [_inlined(item, document) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _inlined(value, document) for key, value in schema.items()
              if key not in ("$ref", "$defs", "$schema")}
    if "$ref" not in schema:
        return result
    file, _, fragment = schema["$ref"].partition("#")
    target_document = _load(file.removesuffix(".json")) if file else document
    target = _inlined(_pointer(target_document, fragment), target_document)
    return {"allOf": [target, result]} if result else target


@cache
def _form(name: str) -> str:
    return json.dumps(_inlined(_load(name), _load(name)))


def output_schema(names: Sequence[str]) -> dict[str, Any] | None:
    """Any of the documents ``names`` describe, or the error document: what structuredContent holds.
    None where the schemas are not installed (a package without references/)."""
    try:
        forms = [json.loads(_form(name)) for name in (*names, "error")]
    except FileNotFoundError:
        return None
    return {"$schema": DIALECT, "type": "object", "anyOf": forms}
