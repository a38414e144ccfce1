"""Edit-intent detection: edit requests fire, ordinary prompts and tooling text do not."""

from __future__ import annotations

import pytest

from imagegen.cli import from_flags
from imagegen.commands import generate
from imagegen.errors import EXIT_EDIT_INTENT, EditIntentError
from imagegen.prompt import intent, rails
from imagegen.prompt.plan import build
from imagegen.requests import GenerateRequest

EDITS = [
    ("edit this photo so the sky is stormy", "edit_command"),
    ("Make it darker", "make_it"),
    ("make the background a bit warmer", "make_it"),
    ("Same but with a red hat", "same_but"),
    ("the same logo but in green", "same_but"),
    ("Keep the logo, change the background to navy", "keep_part"),
    ("Put the same character in a forest, keep the face the same", "keep_part"),
    ("keep everything else the same and add snow", "keep_same"),
    ("Based on this, draw a winter version", "based_on"),
    ("based on the attached photo, make a cartoon", "based_on"),
    ("Remove the background", "edit_command"),
    ("Please crop it to a square", "edit_command"),
    ("Can you fix the hands?", "edit_command"),
    ("Upscale to 4K", "edit_command"),
    ("zoom out to show the whole building", "edit_command"),
    ("swap the cat for a dog", "edit_command"),
    ("recolor the logo to teal", "edit_command"),
    ("Now with a hat", "continuation"),
    ("but without the dog", "continuation"),
    ("darker", "comparative_only"),
    ("a bit warmer and softer", "comparative_only"),
    ("more contrast please", "comparative_only"),
    ("blue instead", "instead"),
    ("Turn this into a watercolour painting", "turn_into"),
    ("Another version, more playful", "variation_of"),
    ("a variation of this logo with rounded corners", "variation_of"),
    ("Use the attached image as the base and add fireworks", "refers_to_image"),
    ("like the last one but at night", "like_last"),
    ("more like this", "like_last"),
    ("this photo, but at golden hour", "this_image"),
    ("Try again but brighter", "try_again"),
    ("a cartoon of me, from the uploaded selfie", "refers_to_image"),
]

ORDINARY = [
    "A video editor's desk with two monitors and a coffee",
    "Keep Calm and Carry On poster with a crown",
    "a same-sex couple dancing at their wedding",
    "photo editing software open on a laptop",
    "An editorial portrait of a chef",
    "An older man reading a newspaper on a bench",
    "A boy who keeps bees, in a sunny meadow",
    "A changing room in a clothing store",
    'A poster that reads "EDIT YOUR LIFE"',
    'A neon sign saying "make it happen"',
    'A sticker that says "same but different"',
    "A garage attached to a red barn",
    "an original logo for my bakery",
    "Expand your horizons travel poster",
    "A variation on a theme: jazz musicians in the rain",
    "A photographer adjusting her camera at sunrise",
    "The last unicorn in a misty forest",
    "A restored vintage car in a garage",
    "Two dogs wearing the same collar",
    "A darker fantasy take on Little Red Riding Hood in a forest",
    "A warmer color palette kitchen interior, photo",
    "Brighter days ahead poster with sunflowers",
    "A remix album cover with vinyl records",
    "A woman removing her makeup in front of a mirror",
    "In this image, show a lighthouse at dusk",
    "A minimalist snow crab logo",
    "A retro 80s crab poster",
]

# Text our own tooling adds to prompts: it must never read as an edit even if it were scanned.
TOOLING = [
    "Variant 2 of 4",
    "Variant 3 of 4: a different pose",
    "Variation 4 of 4.",
    "Image 2 of 3 in the series.",
]


@pytest.mark.parametrize("prompt, rule", EDITS)
def test_edit_requests_are_detected(prompt, rule):
    found = intent.detect(prompt)
    assert found is not None and found.rule == rule, found
    assert found.phrase and found.phrase.lower() in prompt.lower()


@pytest.mark.parametrize("prompt", ORDINARY + TOOLING)
def test_ordinary_prompts_are_not_edits(prompt):
    assert intent.detect(prompt) is None


def parse(*argv: str, instructions: tuple[str, ...] = ()) -> GenerateRequest:
    """The request generate.py would build from ``argv`` (plus a queue's instruction lines)."""
    request = from_flags.generate_request(generate.build_parser().parse_args(["--dry-run", *argv]))
    return request.replace(instructions=instructions)


def test_queue_instructions_are_sent_but_never_read_as_intent():
    """A queue adds its own variation line through the request's instructions."""
    line = "Variant 2 of 4: make it darker and keep the same composition."
    assert intent.detect(line) is not None  # it would trip the detector if it were read
    plan = build(parse("--prompt", "A minimalist snow crab logo", instructions=(line,)))
    assert plan.edit_intent is None and plan.instructions == [line]
    assert line in plan.final_prompt and plan.final_prompt.endswith("A minimalist snow crab logo")
    assert plan.diagnostics()["instructions"] == [line] and plan.request_record()["instructions"] == [line]


def test_rails_text_is_not_read_as_intent(tmp_path, monkeypatch):
    from tests.fake_api import make_png

    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.png").write_bytes(make_png(4, 4))
    plan = build(parse("--prompt", "A snowy mountain cabin at night, oil painting",
                                           "--baseline-image", "base.png", "--confirm-external-upload"))
    assert plan.instructions[:2] == [rails.BASELINE_LEAD, rails.VARIATION_TEXT["low"]]
    assert plan.edit_intent is None and plan.diagnostics()["edit_intent_detected"] is False


def test_plan_from_args_refuses_edit_intent_like_the_script():
    from imagegen.contract import RunContext, error_envelope

    with pytest.raises(EditIntentError) as caught:
        build(parse("--prompt", "make it darker"))
    assert caught.value.exit_code == EXIT_EDIT_INTENT == 4
    document = error_envelope(caught.value, RunContext())
    assert document["error_kind"] == "edit_intent_without_baseline" and document["edit_intent_detected"] is True
    assert document["edit_intent_phrase"] == "make it darker" and "clarify_hints" in document
