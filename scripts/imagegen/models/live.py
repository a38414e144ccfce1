"""A spec of the built-in table as its route serves it today: an alias through its chain of
candidates (``models.chains``), Google's and OpenAI's models from ``models.direct_resolve``,
OpenRouter's with the live catalogue's prices and capabilities laid over the table's."""

from __future__ import annotations

from . import chains
from .table import DIRECT_ROUTES, ModelSpec


def live(spec: ModelSpec) -> ModelSpec:
    """``spec`` with the live catalogue's prices laid over it (its module loads only when a cache exists)."""
    from .. import config  # not for --help

    if not config.catalogue_path().exists():
        return spec
    from . import catalogue

    return catalogue.apply(spec)


def on_route(spec: ModelSpec, route: str) -> ModelSpec:
    """The table's alias ``spec`` as ``route`` serves it: its chain's first live candidate, the rest
    kept as successors, priced as the route prices it (``registry.resolve`` adds expiry notes)."""
    if route in DIRECT_ROUTES:
        from .direct_resolve import direct_spec

        return direct_spec(spec.alias, route)
    choice = chains.choose(chains.chain(spec.alias, "openrouter") or (spec.id,), "openrouter", spec.alias)
    return live(as_candidate(spec, choice.id)._replace(requested=spec.alias, successors=choice.rest,
                                                       notes=choice.notes))


def as_candidate(spec: ModelSpec, model_id: str) -> ModelSpec:
    """``spec`` with ``model_id`` as its model: with that model's own capabilities and prices when
    another alias of the table owns it (nanobanana's successor is nanobanana-2-lite's model, 1K only)."""
    from .table import BY_ID

    owner = BY_ID.get(model_id)
    if owner is not None and owner.alias != spec.alias:
        return owner._replace(alias=spec.alias, requested=spec.requested)
    return spec._replace(id=model_id)
