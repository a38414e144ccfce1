"""One object per provider route, behind one interface: which options it takes, how a plan is fitted
to it, the calls that make the plan's images (its endpoint modules under ``providers/`` read its
errors), what is done after a run, and its batch engine. A provider, or a rule of one, lives here
and nowhere else; the pipeline and the queue ask :func:`route` instead of comparing provider names.

Model resolution (aliases as chains of candidates, shut-down ids, the catalogues) is the models
layer's (``models.chains``, ``models.registry``), and so are the live alternatives an error
names (``models.alternatives``, attached by its ``with_fallbacks``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .images_options import OPTION_FLAGS, ImagesOptions

if TYPE_CHECKING:
    from ..prompt.plan import GenerationPlan
    from ..providers.call import Call
    from .paid_call import PaidRun


def _given(request: Any) -> list[str]:
    return [flag for name, flag in OPTION_FLAGS if getattr(request, name, None) is not None]


def _checked(request: Any, route: str) -> ImagesOptions:
    options = ImagesOptions(request.quality, request.output_format, request.background, request.output_compression,
                            request.moderation)
    if options.background == "transparent" and options.output_format == "jpeg":
        raise UsageError("--background transparent cannot be saved as JPEG",
                         details="use --output-format png or webp (or leave it out)")
    check_openai_options(options, route)
    return options


def check_openai_options(options: Any, route: str) -> None:
    """--moderation is OpenAI's alone, and so are raster formats only; --output-compression needs a lossy
    --output-format (openai-python: "only supported ... with the webp or jpeg output formats")."""
    if getattr(options, "moderation", None) is not None and route != "openai":
        raise UsageError("--moderation is offered by OpenAI's Images API only",
                         details="add --provider openai (with a gpt-image model), or drop --moderation")
    if options.output_format == "svg" and route == "openai":
        raise UsageError("OpenAI's Images API makes png, jpeg or webp, not svg",
                         details="choose one of those, or a vector model through OpenRouter's --api images")
    if options.output_compression is not None and options.output_format not in ("jpeg", "webp"):
        raise UsageError("--output-compression applies to jpeg or webp output only",
                         details="add --output-format jpeg or webp, or drop --output-compression")


class Route:
    """What every route offers; the defaults suit a route without the feature."""

    name = ""
    has_batch = False  # a batch engine of its own takes image jobs (``--via batch``)

    def options(self, request: Any) -> ImagesOptions | None:
        """The Images API options of ``request`` on this route (None: chat), or UsageError when the
        route cannot honour them: refused rather than dropped, since an image made without the
        asked-for transparency is worse than an error naming the fix."""
        raise NotImplementedError

    def adapt(self, plan: GenerationPlan, options: ImagesOptions | None, upsampling_flag: bool | None) -> None:
        """Fit the checked plan to the route (frames, prices, what it cannot take)."""

    def check(self, plan: GenerationPlan, options: ImagesOptions | None) -> None:
        """Refuse, before paying, what the route's live catalogue says the model does not take."""

    def image_calls(self, plan: GenerationPlan, options: ImagesOptions | None) -> list[Call]:
        raise NotImplementedError

    def cost_lookup(self, paid: PaidRun) -> Callable[[Any], float | None] | None:
        """How to learn a reply's cost when it did not say (None: the route cannot ask): the call sent
        alone to learn a price is asked about before the others go."""
        return None

    def after_run(self, replies: list[Any], result: dict[str, Any], paid: PaidRun) -> None:
        """Work after the images are saved: refresh the route's model list when it is stale."""
        from .. import config
        from ..models import listings

        age = listings.age_seconds(self.name)
        if age is None or age < STALE_AFTER_SECONDS:
            return  # no list: the user has not asked for live data (models.py --refresh does)
        from ..errors import ImageGenError
        from ..providers import model_lists

        try:
            model_lists.refresh(self.name, paid.side_client(REFRESH_TIMEOUT),
                                with_key=bool(config.key_variable(self.name)))
        except ImageGenError as error:
            result["warnings"].append(f"{self.name}'s model list is over a day old and could not be refreshed "
                                      f"({error.kind}: {error.message})")

    def batch_engine(self) -> Any:
        raise UsageError(f"{self.name} has no batch engine for images", details="queue without --via batch")


STALE_AFTER_SECONDS = 24 * 3600
REFRESH_TIMEOUT = 10.0


class OpenRouter(Route):
    name = "openrouter"

    def options(self, request: Any) -> ImagesOptions | None:
        if getattr(request, "moderation", None) is not None:
            check_openai_options(request, self.name)
        if request.api != "images":
            given = _given(request)
            if given:
                verb = "applies" if len(given) == 1 else "apply"
                raise UsageError(f"{', '.join(given)} only {verb} to the Images API",
                                 details="add --api images, or drop " + ", ".join(given))
            return None
        return _checked(request, self.name)

    def adapt(self, plan: GenerationPlan, options: ImagesOptions | None, upsampling_flag: bool | None) -> None:
        """With the Images API: record the options, and say what it cannot take."""
        if options is None:
            return
        if plan.system_message:
            plan.warnings.append("the Images API takes no system message; it was not sent (use --api chat for it)")
            plan.system_message = None
        if upsampling_flag is not None:
            plan.warnings.append("the Images API takes no prompt_upsampling; the flag was ignored")
        plan.upsampling = None
        plan.extra_result.update(options.record())

    def check(self, plan: GenerationPlan, options: ImagesOptions | None) -> None:
        from .parameters import check_parameters

        check_parameters(plan, options)

    def image_calls(self, plan: GenerationPlan, options: ImagesOptions | None) -> list[Call]:
        """One chat call per image, or one Images API call for all."""
        if options is None:
            from ..providers import openrouter_chat

            body = openrouter_chat.body(plan.spec, plan.final_prompt, image_urls=plan.image_urls(),
                                        system_message=plan.system_message, aspect_ratio=plan.aspect_ratio,
                                        size=plan.size, seed=plan.seed, upsampling=plan.upsampling)
            return [openrouter_chat.call(body)] * plan.count
        from ..providers import openrouter_images

        references = [image.data_url() for image in plan.input_images + plan.style_refs]
        body = openrouter_images.body(
            plan.spec, plan.final_prompt, reference_urls=references, aspect_ratio=plan.aspect_ratio,
            resolution=plan.size, n=plan.count, quality=options.quality, output_format=options.output_format,
            background=options.background, seed=plan.seed, output_compression=options.output_compression,
        )
        return [openrouter_images.call(body)]

    def cost_lookup(self, paid: PaidRun) -> Callable[[Any], float | None] | None:
        def look_up(reply: Any) -> float | None:
            from .cost_lookup import look_up_cost  # only for a reply that did not state its cost

            return look_up_cost(reply, paid)

        return look_up

    def after_run(self, replies: list[Any], result: dict[str, Any], paid: PaidRun) -> None:
        """GET /generation for costs the replies did not say, then the catalogue if it is stale."""
        if any(reply.cost_usd is None for reply in replies):  # most replies state it: no lookup to load
            from .cost_lookup import look_up_missing_costs

            look_up_missing_costs(replies, result, paid)
        super().after_run(replies, result, paid)


class Google(Route):
    name = "google"
    has_batch = True

    def options(self, request: Any) -> ImagesOptions | None:
        if getattr(request, "moderation", None) is not None:
            check_openai_options(request, self.name)
        given = _given(request)
        if request.api == "images" or given:
            named = ", ".join(given) or "--api images"
            raise UsageError(f"{named} {'is' if len(given) < 2 else 'are'} not offered by Google's Gemini API",
                             details="drop " + ", ".join(given or ["--api images"]) + ", or use --provider openai "
                                     "or OpenRouter's --api images for them")
        return None

    def adapt(self, plan: GenerationPlan, options: ImagesOptions | None, upsampling_flag: bool | None) -> None:
        from . import direct_routes

        direct_routes.adapt_google(plan)

    def image_calls(self, plan: GenerationPlan, options: ImagesOptions | None) -> list[Call]:
        """One generateContent call per image (Gemini makes one per call)."""
        from ..providers import gemini
        from .direct_routes import gemini_body

        return [gemini.call(plan.spec.id, gemini_body(plan), plan.estimate_each_usd)] * plan.count

    def batch_engine(self) -> Any:
        from ..providers import gemini_batch

        return gemini_batch


class OpenAI(Route):
    name = "openai"
    has_batch = True

    def options(self, request: Any) -> ImagesOptions | None:
        return _checked(request, self.name)  # OpenAI's Images API always takes them

    def adapt(self, plan: GenerationPlan, options: ImagesOptions | None, upsampling_flag: bool | None) -> None:
        from . import direct_routes

        direct_routes.adapt_openai(plan, options)
        if options is not None:
            plan.extra_result.update(options.record())
            plan.extra_result["api"] = "images/generations"

    def image_calls(self, plan: GenerationPlan, options: ImagesOptions | None) -> list[Call]:
        """One /images/generations call for all the plan's images."""
        from ..providers import openai_images

        extra = options or ImagesOptions()
        body = openai_images.generation_body(plan.spec.id, plan.final_prompt, size=plan.extra_result["openai_size"],
                                             n=plan.count, quality=extra.quality, output_format=extra.output_format,
                                             background=extra.background,
                                             output_compression=extra.output_compression,
                                             moderation=extra.moderation)
        return [openai_images.generation_call(body)]

    def batch_engine(self) -> Any:
        from ..providers import openai_batch

        return openai_batch


ROUTES: dict[str, Route] = {route.name: route for route in (OpenRouter(), Google(), OpenAI())}


def route(name: str | None) -> Route:
    """The route called ``name`` (None: OpenRouter, the default)."""
    return ROUTES[name or "openrouter"]
