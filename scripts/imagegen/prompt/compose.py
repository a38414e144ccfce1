"""Prompt shaping: a preset's style as FLUX JSON or as a natural-language block."""

from __future__ import annotations

import json
from typing import Any

from ..models.table import ModelSpec

STYLE_TRANSFER = (
    "Use the attached reference image{s} as the style reference: match {its} colour palette, rendering, "
    "line quality, texture and lighting. Do not copy {its} subject or layout; draw the scene described below."
)
STYLE_AFTER_BASELINE = (
    "The attached image{s} after the baseline {are} style reference{s}: match {its} rendering, line quality, "
    "texture and lighting, but not {its} subject or layout."
)

_LABELS = (
    ("description", "Style"),
    ("mood", "Mood"),
    ("lighting", "Lighting"),
    ("composition", "Composition"),
    ("rendering", "Rendering"),
)


def style_transfer_instruction(count: int, after_baseline: bool = False) -> str:
    plural = count > 1
    template = STYLE_AFTER_BASELINE if after_baseline else STYLE_TRANSFER
    return template.format(s="s" if plural else "", its="their" if plural else "its", are="are" if plural else "is")


def flux_json_prompt(scene: str, style: dict[str, Any]) -> str:
    """The structured prompt FLUX follows best: one JSON object, scene first."""
    doc: dict[str, Any] = {"scene": scene}
    for key, _ in _LABELS:
        if style.get(key):
            doc["style" if key == "description" else key] = style[key]
    if style.get("color_palette"):
        doc["color_palette"] = style["color_palette"]
    if style.get("camera"):
        doc["camera"] = style["camera"]
    if style.get("anti_patterns"):
        doc["avoid"] = style["anti_patterns"]
    return json.dumps(doc, ensure_ascii=False)


def style_block(style: dict[str, Any], structured: bool) -> str:
    """Style as labelled lines (structured, Gemini) or as sentences (natural, GPT)."""
    lines = [f"{label}: {style[key].rstrip('.')}." for key, label in _LABELS if style.get(key)]
    if style.get("color_palette"):
        lines.append("Colour palette: " + ", ".join(style["color_palette"]) + ".")
    camera = style.get("camera") or {}
    if camera:
        lines.append("Camera: " + ", ".join(f"{k} {v}" for k, v in camera.items()) + ".")
    if style.get("anti_patterns"):
        lines.append("Avoid: " + ", ".join(style["anti_patterns"]) + ".")
    return ("\n" if structured else " ").join(lines)


def compose(spec: ModelSpec, scene: str, style: dict[str, Any], *, reference_count: int = 0,
            instructions: list[str] | None = None, after_baseline: bool = False) -> str:
    """The prompt text sent to ``spec`` for ``scene`` with a preset ``style`` and extra instructions.

    With ``after_baseline`` the first image is a baseline to edit (its rails lead ``instructions``),
    so the style-reference note comes after them and points past the first image.
    """
    extra = list(instructions or [])
    if reference_count:
        note = style_transfer_instruction(reference_count, after_baseline)
        extra.insert(len(extra) if after_baseline else 0, note)
    if spec.prompt_format == "flux_json":
        body = flux_json_prompt(scene, style) if style else (f"Request: {scene}" if after_baseline else scene)
        return "\n\n".join(extra + [body])
    parts = list(extra)
    label = "Request" if after_baseline else "Scene"
    if style:
        structured = spec.prompt_format == "structured"
        parts.append(style_block(style, structured))
        parts.append(f"{label}: {scene}")
    else:
        parts.append(f"{label}: {scene}" if after_baseline else scene)
    return "\n\n".join(parts)
