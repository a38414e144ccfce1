"""An edit's lineage: the edited image as a sidecar remembers it, so edits form a chain back to the
original (both edit modes record it: ``pipeline.edit`` and ``pipeline.mask_edit``)."""

from __future__ import annotations

from typing import Any

from ..images.files import InputImage


def parent_record(image: InputImage) -> dict[str, Any]:
    """The edited image as the sidecar remembers it."""
    return {"path": str(image.path), "sha256": image.sha256, "format": image.format,
            "width": image.width, "height": image.height}
