"""Rails: how far an edit may stray from its baseline image, as prompt instructions.

With a baseline, every rail the caller did not set takes a drift-averse default: low variation,
palette and composition locked. The record says which rails were defaulted and which were asked
for, so a reviewer of the result can tell the caller's intent from ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..requests import GenerateRequest

DEFAULTS: dict[str, Any] = {"variation_strength": "low", "lock_palette": True, "lock_composition": True}

BASELINE_LEAD = ("The first attached image is the baseline. Edit that image to carry out the request below; "
                 "do not start a new picture.")
VARIATION_TEXT = {
    "low": "Change only what the request asks for and keep everything else exactly as it is in the baseline.",
    "medium": "Keep the baseline's subject and overall look; moderate changes beyond the request are acceptable.",
    "high": "Treat the baseline as a loose starting point; bold changes are welcome.",
}
PALETTE_TEXT = {
    True: "Keep the baseline's colour palette: the same hues, saturation and brightness, and no new colours.",
    False: "The colour palette may change.",
}
COMPOSITION_TEXT = {
    True: "Keep the baseline's composition: the same framing, camera angle, layout, and the position and size "
          "of every element.",
    False: "The composition may change.",
}
MUST_KEEP_TEXT = "These must stay exactly as they are in the baseline: {items}."


@dataclass
class Rails:
    variation_strength: str
    lock_palette: bool
    lock_composition: bool
    must_keep: list[str] = field(default_factory=list)
    defaulted: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    provider_parameters: dict[str, Any] = field(default_factory=dict)

    def instructions(self) -> list[str]:
        """The rails as sentences for the prompt, the baseline lead first."""
        lines = [BASELINE_LEAD, VARIATION_TEXT[self.variation_strength]]
        # An unlocked rail is spelled out only when asked for: silence already leaves it free.
        if self.lock_palette or "lock_palette" in self.requested:
            lines.append(PALETTE_TEXT[self.lock_palette])
        if self.lock_composition or "lock_composition" in self.requested:
            lines.append(COMPOSITION_TEXT[self.lock_composition])
        if self.must_keep:
            lines.append(MUST_KEEP_TEXT.format(items="; ".join(self.must_keep)))
        return lines

    def record(self) -> dict[str, Any]:
        return {
            "variation_strength": self.variation_strength,
            "lock_palette": self.lock_palette,
            "lock_composition": self.lock_composition,
            "must_keep": list(self.must_keep),
            "defaulted": list(self.defaulted),
            "requested": list(self.requested),
            "provider_parameters": dict(self.provider_parameters),
        }


def requested_flags(request: GenerateRequest) -> list[str]:
    """The rail flags the request sets."""
    names = [name for name in DEFAULTS if getattr(request, name) is not None]
    if request.must_keep:
        names.append("must_keep")
    return names


def from_request(request: GenerateRequest, has_baseline: bool) -> Rails | None:
    """The rails for this run: None without a baseline (and then no rail flag may be given)."""
    requested = requested_flags(request)
    if not has_baseline:
        if requested:
            flags = ", ".join("--" + name.replace("_", "-") for name in requested)
            raise UsageError(f"{flags} need{'s' if len(requested) == 1 else ''} a --baseline-image to hold the "
                             "result to", details="add --baseline-image PATH|URL, or drop the rail flags")
        return None
    must_keep = [" ".join(item.split()) for item in request.must_keep]
    if any(not item for item in must_keep):
        raise UsageError("--must-keep is empty", details="name what must not change, e.g. --must-keep 'logo mark'")
    values = {name: getattr(request, name) if name in requested else default for name, default in DEFAULTS.items()}
    return Rails(
        variation_strength=values["variation_strength"],
        lock_palette=values["lock_palette"],
        lock_composition=values["lock_composition"],
        must_keep=list(dict.fromkeys(must_keep)),
        defaulted=[name for name in DEFAULTS if name not in requested],
        requested=requested,
    )
