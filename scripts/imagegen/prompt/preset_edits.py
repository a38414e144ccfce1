"""A preset changed from the command line: ``--preset-set FIELD=VALUE`` for one run, and
``--save-preset NAME`` to keep the result as a user preset.

A setting is laid over the preset's JSON before the preset is checked (``presets.parse``), so a
changed field meets the rules a file does (a palette of HEX colours, a known size) and an error
names the field. Fields are the preset's own (``style.mood``, ``defaults.size``,
``style.camera.angle``), or a style field by its short name (``mood``, ``palette``).
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

from ..errors import OutputExistsError, UsageError

ALIASES = {"palette": "style.color_palette", "colors": "style.color_palette", "colours": "style.color_palette",
           "negative": "style.anti_patterns", "avoid": "style.anti_patterns"}
STYLE_TEXT = ("description", "mood", "lighting", "composition", "rendering")
STYLE_LISTS = ("color_palette", "anti_patterns", "reference_images")
OTHER = ("defaults.model", "defaults.aspect_ratio", "defaults.size", "system_message")
FIELDS = (*(f"style.{name}" for name in (*STYLE_TEXT, *STYLE_LISTS)), *OTHER)
_CAMERA_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")  # \Z: "$" would let a final newline in


def field_path(name: str) -> tuple[str, ...]:
    """Where ``name`` lives in a preset's JSON: ``palette`` -> (style, color_palette)."""
    name = name.strip()
    full = ALIASES.get(name) or (f"style.{name}" if name in (*STYLE_TEXT, *STYLE_LISTS) else name)
    full = f"style.{full}" if full.startswith("camera.") else full
    parts = tuple(full.split("."))
    known = full in FIELDS or (full.startswith("style.camera.") and len(parts) == 3
                               and _CAMERA_KEY.match(parts[2]) is not None)
    if not known:
        names = [*ALIASES, *STYLE_TEXT, *STYLE_LISTS, *FIELDS, "camera.angle", "camera.framing"]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(f"--preset-set: a preset has no field {name!r}",
                         details=hint + "fields: palette, " + ", ".join((*STYLE_TEXT, *STYLE_LISTS[1:],
                                                                         "style.camera.<key>", *OTHER)),
                         kind="preset")
    return parts


def apply(raw: Any, settings: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """``raw`` (a preset's decoded JSON) with each ``FIELD=VALUE`` set; and the fields changed. A list
    field takes comma-separated items (``palette=#2F4858,#F6AE2D``); an empty value clears it."""
    if not isinstance(raw, dict):
        return raw, ()  # parse() names what is wrong with the file itself
    document = copy.deepcopy(raw)
    changed = []
    for setting in settings:
        name, _, value = setting.partition("=")
        parts = field_path(name)
        target = document
        for key in parts[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        if parts[-1] in STYLE_LISTS and parts[0] == "style":
            target[parts[-1]] = [item.strip() for item in value.split(",") if item.strip()]
        else:
            target[parts[-1]] = value.strip()
        changed.append(".".join(parts))
    return document, tuple(dict.fromkeys(changed))


def save(preset: Any, name: str) -> Path:
    """Write ``preset`` (as this run uses it) as the user preset ``name``; its path. Never replaces one."""
    from .. import config
    from ..fsutil import write_json_atomic

    if not NAME.match(name) or name.endswith(".json"):
        raise UsageError(f"--save-preset {name!r} is not a preset name",
                         details="use letters, digits, '.', '_' and '-' (e.g. my-series), without .json",
                         kind="preset")
    folder = config.user_presets_dir()
    target = folder / f"{name}.json"
    if target.exists() or target.is_symlink():
        raise OutputExistsError(f"preset exists: {target}",
                                details="choose another --save-preset name, or edit or delete that file")
    document = copy.deepcopy(preset.document)
    document["name"] = name
    style = document.get("style")
    if isinstance(style, dict) and preset.reference_images:  # relative to the old file: make them absolute
        style["reference_images"] = [str(p.resolve()) for p in preset.reference_images]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        write_json_atomic(target, document, exclusive=True)
    except FileExistsError:
        raise OutputExistsError(f"preset exists: {target}", details="choose another --save-preset name") from None
    return target
