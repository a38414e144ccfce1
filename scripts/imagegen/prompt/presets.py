"""Style presets: find them, parse them, and say exactly which field is wrong."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..errors import UsageError
from ..models import pricing, registry

HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})\Z")
TEXT_STYLE_FIELDS = ("description", "mood", "lighting", "composition", "rendering")
KNOWN_TOP = {"name", "description", "defaults", "style", "system_message"}
KNOWN_DEFAULTS = {"model", "aspect_ratio", "size"}
KNOWN_STYLE = set(TEXT_STYLE_FIELDS) | {"color_palette", "camera", "anti_patterns", "reference_images"}


@dataclass
class Preset:
    name: str  # the name inside the file (else its file name)
    path: Path  # the file that was used
    description: str = ""
    defaults: dict[str, str] = field(default_factory=dict)
    style: dict[str, Any] = field(default_factory=dict)
    system_message: str | None = None
    reference_images: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    asked: str = ""  # what --preset said: a name or a path
    document: dict[str, Any] = field(default_factory=dict)  # the JSON it was parsed from (with any --preset-set)
    changed: tuple[str, ...] = ()  # the fields --preset-set changed for this run

    @property
    def shown(self) -> str:
        """The name to report: the one that was asked for."""
        return self.asked or self.name


# The built-in presets are package data (imagegen/presets/), so an installed copy has them too; a
# checkout's top-level presets/ is a link to this folder.
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "presets"


def builtin_dir() -> Path:
    return BUILTIN_DIR


def search_dirs() -> list[Path]:
    """Where a preset name is looked up, in order: the current folder's presets/ (unless it is the
    built-in folder, as in this project's checkout), the user's folder, the built-ins. A user's
    edited copy of a built-in thus wins over the original."""
    local = Path.cwd() / "presets"
    first = [] if _same_folder(local, BUILTIN_DIR) else [local]
    return [*first, config.user_presets_dir(), BUILTIN_DIR]


def _same_folder(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:  # either is missing (or unreadable): not the same folder
        return False


def find(name_or_path: str) -> Path:
    candidate = Path(name_or_path).expanduser()
    try:
        if candidate.is_file():
            return candidate
    except OSError:  # a name too long for the file system, say: not a preset file, so not found
        pass
    if "/" not in name_or_path and name_or_path not in ("", ".", ".."):
        filename = name_or_path if name_or_path.endswith(".json") else name_or_path + ".json"
        for directory in search_dirs():
            if (directory / filename).is_file():
                return directory / filename
    looked = ", ".join(str(d) for d in dict.fromkeys(search_dirs()))
    raise UsageError(
        f"preset not found: {name_or_path}",
        details=f"give a path to a JSON file or a name from: {looked}; available: {', '.join(available()) or 'none'}",
        kind="preset",
    )


def available() -> list[str]:
    names: set[str] = set()
    for directory in search_dirs():
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.json") if p.is_file())  # as find() sees them
    return sorted(names)


def load(name_or_path: str, settings: tuple[str, ...] = ()) -> Preset:
    """The preset ``--preset`` names, with ``--preset-set FIELD=VALUE`` ``settings`` laid over it
    (``preset_edits``) before it is checked, so a changed field is held to the same rules."""
    path = find(name_or_path)
    from ..localjson import LocalFileError, read_json

    try:
        raw = read_json(path, follow_links=True)
    except LocalFileError as error:  # a FIFO, too big, not UTF-8 JSON, nested too deep
        raise _invalid(path, str(error).removeprefix(path.name + ": ")) from None
    except OSError as error:
        raise _invalid(path, f"cannot be read: {error}") from None
    changed: tuple[str, ...] = ()
    if settings:
        from .preset_edits import apply

        raw, changed = apply(raw, settings)
    try:
        preset = parse(raw, path)
    except UsageError as error:
        field_name = str(error.extra.get("preset_field") or "")
        if not any(field_name == c or field_name.startswith((c + "[", c + ".")) for c in changed):
            raise
        problem = error.message.split(f"'{field_name}': ", 1)[-1]
        raise UsageError(f"--preset-set {field_name}: {problem}", details=f"the preset is {path}",
                         kind="preset", extra=error.extra) from None
    preset.asked, preset.document, preset.changed = name_or_path, raw, changed
    return preset


def _invalid(path: Path, problem: str, field_name: str | None = None) -> UsageError:
    where = f" field '{field_name}'" if field_name else ""
    return UsageError(f"preset {path}{where}: {problem}", kind="preset", extra={"preset_field": field_name})


def _expect(value: Any, kind: type | tuple[type, ...], path: Path, name: str, what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        got = "null" if value is None else type(value).__name__
        raise _invalid(path, f"must be {what}, got {got}", name)
    return value


def parse(raw: Any, path: Path) -> Preset:
    """Validate a decoded preset document; every problem names its field."""
    _expect(raw, dict, path, "(top level)", "a JSON object")
    preset = Preset(name=str(raw.get("name") or path.stem), path=path.resolve())
    preset.warnings += [f"preset {path.name}: unknown field '{k}' ignored" for k in raw if k not in KNOWN_TOP]
    for key in ("name", "description"):
        if key in raw:
            _expect(raw[key], str, path, key, "a string")
    preset.description = raw.get("description", "")
    if "system_message" in raw and raw["system_message"] is not None:
        preset.system_message = _expect(raw["system_message"], str, path, "system_message", "a string") or None
    if "defaults" in raw:
        preset.defaults = _parse_defaults(_expect(raw["defaults"], dict, path, "defaults", "an object"), path, preset)
    if "style" in raw:
        preset.style = _parse_style(_expect(raw["style"], dict, path, "style", "an object"), path, preset)
    return preset


def _parse_defaults(defaults: dict, path: Path, preset: Preset) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in defaults.items():
        name = f"defaults.{key}"
        if key not in KNOWN_DEFAULTS:
            preset.warnings.append(f"preset {path.name}: unknown field '{name}' ignored")
            continue
        result[key] = _expect(value, str, path, name, "a string")
    if "model" in result:
        try:
            registry.resolve(result["model"])
        except UsageError as error:
            raise _invalid(path, f"{error.message} ({error.details})", "defaults.model") from None
    if "aspect_ratio" in result and result["aspect_ratio"] not in pricing.RATIO_PIXELS_1K:
        raise _invalid(path, f"unknown aspect ratio {result['aspect_ratio']!r}", "defaults.aspect_ratio")
    if "size" in result and result["size"] not in pricing.SIZE_SCALE:
        raise _invalid(path, f"unknown size {result['size']!r} (use 1K, 2K or 4K)", "defaults.size")
    return result


def _parse_style(style: dict, path: Path, preset: Preset) -> dict[str, Any]:
    for key in style:
        if key not in KNOWN_STYLE:
            preset.warnings.append(f"preset {path.name}: unknown field 'style.{key}' ignored")
    for key in TEXT_STYLE_FIELDS:
        if key in style:
            _expect(style[key], str, path, f"style.{key}", "a string")
    for key in ("color_palette", "anti_patterns", "reference_images"):
        if key in style:
            items = _expect(style[key], list, path, f"style.{key}", "a list of strings")
            for index, item in enumerate(items):
                _expect(item, str, path, f"style.{key}[{index}]", "a string")
    for index, colour in enumerate(style.get("color_palette", [])):
        if not HEX_COLOUR.match(colour):
            raise _invalid(path, f"{colour!r} is not a HEX colour like #1A2B3C", f"style.color_palette[{index}]")
    if "camera" in style:
        camera = _expect(style["camera"], dict, path, "style.camera", "an object")
        for key, value in camera.items():
            _expect(value, str, path, f"style.camera.{key}", "a string")
    preset.reference_images = [
        (path.parent / Path(item).expanduser()) if not Path(item).expanduser().is_absolute() else Path(item)
        for item in style.get("reference_images", [])
    ]
    return {k: v for k, v in style.items() if k in KNOWN_STYLE}
