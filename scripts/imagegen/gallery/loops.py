"""Review-loop rounds on the contact sheet: the rounds of one ``generate --review`` run become one card.

A round's image is named ``<base>-r<k>.<ext>`` (``-r<k>-<i>`` for the candidates of ``--best-of``),
its sidecar records ``request.review_round``, and the loop's record ``<base>.loop.json`` names the
chosen image (and the copy delivered at ``--out``). :func:`fold` gathers the items of each loop into the
card of its chosen image, whose ``rounds`` list them in order (each with its own score), so the page
shows them side by side; the delivered copy is that card too, not one more.
Images whose loop record is missing or unreadable stay cards of their own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..localjson import read_json

Item = Any  # a gallery.collect.Item (not imported: collect imports this module)

ROUND_NAME = re.compile(r"^(?P<base>.+)-r(?P<round>\d{1,3})(?:-\d{1,2})?\.[A-Za-z0-9]{1,5}$")
MAX_RECORD_BYTES = 4 * 1024 * 1024


def record_path(item: Item) -> Path | None:
    """The loop record of a round's image, by its name (None for an image that is no round)."""
    if item.path is None or item.review_round is None:
        return None
    match = ROUND_NAME.match(item.path.name)
    if match is None or int(match["round"]) != item.review_round:
        return None
    return item.path.with_name(match["base"] + ".loop.json")


def _chosen(path: Path) -> tuple[Path | None, Path | None, float]:
    """The chosen round's image, the copy delivered at --out that a loop record names, and what its
    reviews cost (read as untrusted: a regular file, bounded, strings and numbers)."""
    try:
        record: Any = read_json(path, MAX_RECORD_BYTES)
    except (OSError, ValueError):
        return None, None, 0.0
    if not isinstance(record, dict):
        return None, None, 0.0
    found = [record.get(key) for key in ("chosen", "delivered")]
    chosen, delivered = (Path(v).resolve() if isinstance(v, str) and v else None for v in found)
    return chosen, delivered, _review_cost(record.get("rounds"))


def _review_cost(rounds: Any) -> float:
    """The reviews' cost in a loop record: each reviewed candidate's ``cost_usd`` (its images' cost is in
    their sidecars)."""
    total = 0.0
    for entry in rounds if isinstance(rounds, list) else []:
        candidates = entry.get("candidates") if isinstance(entry, dict) else None
        for candidate in candidates if isinstance(candidates, list) else []:
            cost = candidate.get("cost_usd") if isinstance(candidate, dict) else None
            if isinstance(cost, (int, float)) and not isinstance(cost, bool) and 0 <= cost < 1e6:
                total += cost
    return round(total, 6)


def fold(items: list[Item]) -> list[Item]:
    """``items`` with each loop's rounds folded into the card of its chosen image (where it first appeared)."""
    groups: dict[Path, list[Item]] = {}
    for item in items:
        found = record_path(item)
        if found is not None:
            groups.setdefault(found, []).append(item)
    folded: dict[int, Item] = {}  # id of a member -> the card that now holds it
    delivered: set[Path] = set()  # the chosen images' copies at --out: the loop's card shows them already
    for path, members in groups.items():
        chosen_path, copy, review_cost = _chosen(path)
        chosen = next((m for m in members if m.path == chosen_path), None)
        if chosen is None:
            continue
        if copy is not None and copy != chosen_path:
            delivered.add(copy)
        chosen.rounds = sorted(members, key=lambda m: (m.review_round or 0, str(m.path)))
        chosen.chosen = True
        chosen.review_cost_usd = review_cost
        for member in members:
            folded[id(member)] = chosen
    result: list[Item] = []
    placed: set[int] = set()
    for item in items:
        if item.path in delivered:
            continue
        card = folded.get(id(item), item)
        if id(card) not in placed:
            placed.add(id(card))
            result.append(card)
    return result
