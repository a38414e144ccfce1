"""Model names that outlive a model: aliases and defaults as ordered chains of candidates, resolved
at run time against the route's live catalogue, and the ids a maker has shut down with their successors.

A route is who is called: ``openrouter``, ``google`` or ``openai`` (and ``anthropic`` for reviews).
:func:`choose` picks the first candidate the route's catalogue lists (with no catalogue: the first
candidate); the candidates after it are what a run tries once, automatically, when the provider
says the chosen one is gone. A shut-down id is never sent: :func:`moved` names its successor.
Changing the catalogue changes the choice; no code changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..record import Record

if TYPE_CHECKING:
    import datetime as dt

# alias -> route -> candidates, best first. Dated facts (checked 2026-12-06): Google's GA image
# models since 2026-05-28 (gemini-3.1-flash-image, gemini-3-pro-image) and 2026-06-30
# (gemini-3.1-flash-lite-image); their previews were shut down on the Gemini API on 2026-06-25,
# so only OpenRouter's chains keep them, behind the GA ids.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "flux.2-pro": {"openrouter": ("black-forest-labs/flux.2-pro",)},
    "flux.2-klein": {"openrouter": ("black-forest-labs/flux.2-klein-4b",)},
    "gpt-5-image": {"openrouter": ("openai/gpt-5-image",)},
    "gpt-5-image-mini": {"openrouter": ("openai/gpt-5-image-mini",)},
    "nanobanana-pro": {"openrouter": ("google/gemini-3-pro-image", "google/gemini-3-pro-image-preview"),
                       "google": ("gemini-3-pro-image",)},
    # Google shut gemini-2.5-flash-image down on 2026-10-02: OpenRouter's catalogue decides whether it
    # still serves it, and gemini-3.1-flash-lite-image follows it there as it does on Google's route.
    "nanobanana": {"openrouter": ("google/gemini-2.5-flash-image", "google/gemini-3.1-flash-lite-image"),
                   "google": ("gemini-3.1-flash-lite-image",)},
    "nanobanana-2": {"openrouter": ("google/gemini-3.1-flash-image", "google/gemini-3.1-flash-image-preview"),
                     "google": ("gemini-3.1-flash-image",)},
    "nanobanana-2-lite": {"openrouter": ("google/gemini-3.1-flash-lite-image",),
                          "google": ("gemini-3.1-flash-lite-image",)},
}

# The default models of the text and vision calls, by (role, route): current models first (Google
# shut gemini-2.5-flash down on 2026-10-16; gemini-3.5-flash, GA since 2026-05-19, is its successor,
# gemini-3.1-flash-lite the cheap one, fit for rewriting a prompt).
DEFAULTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("review", "openrouter"): ("google/gemini-3.5-flash", "google/gemini-3.1-flash-lite",
                               "anthropic/claude-sonnet-4.6"),
    ("review", "anthropic"): ("claude-sonnet-4-6", "claude-haiku-4-5"),
    ("enhance", "openrouter"): ("google/gemini-3.1-flash-lite", "google/gemini-3.5-flash"),
}

# route -> id -> (the day its maker shut it down, its successor). Ids here are never sent.
SHUT_DOWN: dict[str, dict[str, tuple[str, str]]] = {
    "google": {
        "gemini-3.1-flash-image-preview": ("2026-06-25", "gemini-3.1-flash-image"),
        "gemini-3-pro-image-preview": ("2026-06-25", "gemini-3-pro-image"),
        "gemini-2.5-flash-image": ("2026-10-02", "gemini-3.1-flash-lite-image"),
        "gemini-2.5-flash-image-preview": ("2026-10-02", "gemini-3.1-flash-lite-image"),
        "gemini-2.0-flash-preview-image-generation": ("2025-11-14", "gemini-3.1-flash-lite-image"),
    },
    "openai": {
        "gpt-image-1": ("2026-10-23", "gpt-image-2"),
        "gpt-image-1-mini": ("2026-12-01", "gpt-image-2"),
        "gpt-image-1.5": ("2026-12-01", "gpt-image-2"),
        "chatgpt-image-latest": ("2026-12-01", "gpt-image-2"),
    },
}
MAKERS = {"openrouter": "OpenRouter", "google": "Google", "openai": "OpenAI", "anthropic": "Anthropic"}
EXPIRY_WARNING_DAYS = 30


class Choice(Record):
    """The id a name resolved to on a route, where it came from, and what is tried if it is gone."""

    id: str
    alias: str | None  # the alias or default chain it came from; None when the id was named
    rest: tuple[str, ...] = ()  # the candidates after ``id``, best first
    notes: tuple[str, ...] = ()  # warnings for the run (a moved id, an unlisted chain)


def chain(alias: str, route: str) -> tuple[str, ...]:
    return ALIASES.get(alias, {}).get(route, ())


def choose(candidates: tuple[str, ...], route: str, alias: str | None, *, models: str = "image") -> Choice:
    """The first of ``candidates`` the route's catalogue of ``models`` (image or text) lists, or the first
    candidate when there is no such catalogue. Shut-down ids are skipped."""
    from . import listings

    gone = SHUT_DOWN.get(route, {})
    live = tuple(c for c in candidates if c not in gone) or tuple(gone[c][1] for c in candidates[:1])
    listed = listings.listed(route, models)
    if listed is None:
        return Choice(live[0], alias, live[1:])
    for index, candidate in enumerate(live):
        if candidate in listed:
            return Choice(candidate, alias, live[index + 1:])
    note = (f"none of {alias}'s models ({', '.join(live)}) is in {MAKERS.get(route, route)}'s model list; "
            f"trying {live[0]} unchecked (run models.py --refresh to update the list, or choose a model it has)")
    return Choice(live[0], alias, live[1:], (note,))


def moved(model_id: str, route: str) -> tuple[str, str] | None:
    """(successor, warning) for an id its maker has shut down on ``route``; None for a live one."""
    found = SHUT_DOWN.get(route, {}).get(model_id)
    if found is None:
        return None
    day, successor = found
    return successor, (f"{MAKERS.get(route, route)} shut {model_id} down on {day}; its successor {successor} "
                       "was used instead")


def expiry_warning(model_id: str, expires: str | None, successor: str | None,
                   today: dt.date | None = None) -> str | None:
    """The warning for a model the catalogue says expires within :data:`EXPIRY_WARNING_DAYS` days (or has)."""
    import datetime as dt

    if not expires:
        return None
    try:
        day = dt.date.fromisoformat(expires[:10])
    except ValueError:
        return None
    left = (day - (today or dt.date.today())).days
    if left > EXPIRY_WARNING_DAYS:
        return None
    instead = f"; use {successor}" if successor else ""
    if left < 0:
        return f"{model_id} expired on {day} (the provider may remove it at any time){instead}"
    return f"{model_id} expires on {day} ({left} days from now){instead}"


def default_chain(role: str, route: str) -> tuple[str, ...]:
    return DEFAULTS.get((role, route), ())
