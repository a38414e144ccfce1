"""The one human line a run ends with on a terminal's stderr: what was saved, its size, the cost,
the time and how many warnings; stdout keeps the JSON document."""

from __future__ import annotations

import os
from typing import Any


def human_line(document: dict[str, Any], elapsed_ms: int) -> str | None:
    """The line for ``document`` (None when there is nothing a person needs to be told)."""
    seconds = f"{elapsed_ms / 1000:.1f} s"
    listed = document.get("warnings")
    warnings: list[Any] = listed if isinstance(listed, list) else []
    count = f"{len(warnings)} warning{'' if len(warnings) == 1 else 's'}"
    if document.get("success") is False:
        if "error" not in document:
            return None
        return f"failed: {document['error']}" + (f" ({document['details']})" if document.get("details") else "")
    if document.get("dry_run"):
        targets = document.get("target_paths") or document.get("targets") or []
        where = f"; would save {_paths(targets)}" if targets else ""
        return f"dry run, nothing sent{where}; {_money(document.get('cost_estimate_usd'), 'about ')}; {count}"
    if document.get("status") == "queued":
        jobs = document.get("job_ids") or []
        return (f"queued {len(jobs)} job{'' if len(jobs) == 1 else 's'} (request {document.get('request_id')}), "
                f"{_money(document.get('cost_estimate_usd'), 'about ')}; {seconds}")
    paths = document.get("all_paths") or ([document["path"]] if isinstance(document.get("path"), str) else [])
    if not paths:
        return None
    cost = _money(document.get("cost_usd"), "", unknown="cost not reported")
    return f"saved {_paths(paths, sizes=True, document=document)}, {cost}, {seconds}, {count}"


def _paths(paths: list[Any], *, sizes: bool = False, document: dict[str, Any] | None = None) -> str:
    shown = []
    for index, path in enumerate(paths[:3]):
        text = _relative(str(path))
        if sizes:
            detail = []
            if index == 0 and document and document.get("width") and document.get("height"):
                detail.append(f"{document['width']}x{document['height']}")
            try:
                detail.append(_size(os.path.getsize(path)))
            except OSError:
                pass
            text += f" ({', '.join(detail)})" if detail else ""
        shown.append(text)
    more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
    return ", ".join(shown) + more


def _relative(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1000 or unit == "MB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000  # type: ignore[assignment]
    return f"{count} B"


def _money(value: Any, prefix: str, unknown: str = "cost unknown") -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{prefix}${value:.3f}"
    return unknown
