"""Clarify hints: a corpus of good and bad prompts, each asserting exactly which hints fire.

Exact sets check both sides: the hints a prompt must get and those it must not (a hint that
fires on ordinary prompts teaches agents to ignore all of them).
"""

from __future__ import annotations

import pytest

from imagegen.models import registry
from imagegen.prompt import clarify

CORPUS = [
    # (prompt, model, aspect ratio, other facts, the exact hint codes)
    # Good prompts: nothing fires.
    ("A red fox curled up in fresh snow at dawn, telephoto wildlife photo", "flux.2-pro", "1:1", {}, set()),
    ("A cinematic portrait of a cyberpunk crab", "nanobanana-2", "1:1", {}, set()),
    ("A retro 80s crab poster", "nanobanana-2", "2:3", {}, set()),
    ("A minimalist snow crab logo", "nanobanana-2", "1:1", {}, set()),
    ("Tokyo skyline at sunset", "nanobanana-pro", "16:9", {}, set()),
    ('A bakery storefront with a sign that says "Fresh Bread"', "gpt-5-image", "1:1", {}, set()),
    ('A concert poster with the headline "NIGHT SHIFT" in chrome letters', "gpt-5-image", "2:3", {}, set()),
    ('A dog named "Rex" playing fetch in a park', "flux.2-pro", "1:1", {}, set()),
    ('A "vintage" look photo of a car on a country road', "flux.2-pro", "1:1", {}, set()),
    ("A girl reading a book under an oak tree, watercolour", "flux.2-pro", "1:1", {}, set()),
    ("A knight in armour reading the scroll, cinematic", "gpt-5-image", "1:1", {}, set()),
    ("Phone wallpaper of a misty pine forest at dawn", "flux.2-pro", "9:16", {}, set()),
    ("A lock screen wallpaper with a minimalist moon", "nanobanana-2", "9:16", {}, set()),
    ("A YouTube thumbnail of a shocked chef holding a giant burger", "gpt-5-image", "16:9", {}, set()),
    ("A flat vector app icon of a paper plane", "gpt-5-image", "1:1", {}, set()),
    ("A linkedin banner with abstract blue waves", "nanobanana-2", "4:1", {}, set()),
    ("A profile picture of a corgi wearing sunglasses", "flux.2-pro", "1:1", {}, set()),
    ("Protesters holding a banner in a rainy city street", "flux.2-pro", "1:1", {}, set()),
    ("A teenage bedroom with a band poster on the wall", "flux.2-pro", "16:9", {}, set()),
    ("A fashion icon walking down a runway in Paris", "flux.2-pro", "16:9", {}, set()),
    ("A poster child for healthy eating, a kid with an apple", "gpt-5-image", "1:1", {}, set()),
    ("A black and white cat sleeping on a colorful rug", "flux.2-pro", "1:1", {}, set()),
    ("A monochrome ink drawing of a lighthouse in a storm", "flux.2-pro", "1:1", {}, set()),
    ('A poster with the slogan "JUST BREATHE", no other text', "gpt-5-image", "2:3", {}, set()),
    ("A product photo of a sneaker on a transparent background", "gpt-5-image", "1:1",
     {"output_format": "png"}, set()),
    # Negation: saying what not to draw is no request for text.
    ("A minimalist fox illustration, flat vector, no text, no lettering", "gpt-5-image", "1:1", {}, set()),
    ("A watercolor harbour at dawn without lettering or logos", "gpt-5-image", "1:1", {}, set()),
    ("A product photo of a mug on a table, no logos and no words", "flux.2-pro", "1:1", {}, set()),
    ("A vector badge for a cycling club, avoid any caption; plain shapes", "gpt-5-image", "1:1", {}, set()),
    ("A bakery storefront, no people, with a sign that says Fresh Bread", "gpt-5-image", "1:1", {},
     {"text_unquoted"}),
    ("A concert poster without a border but with a bold headline", "gpt-5-image", "2:3", {}, {"text_unquoted"}),
    # The no-medium check is for FLUX rendering literally (upsampling off) only.
    ("A red fox in snow", "flux.2-pro", "1:1", {"upsampling": True}, set()),
    ("A red fox in snow", "nanobanana-2", "1:1", {}, set()),
    ("A red fox in snow, oil painting", "flux.2-pro", "1:1", {"upsampling": False}, set()),
    ("A red fox in snow", "flux.2-pro", "1:1", {"upsampling": False, "has_style": True}, set()),
    ("A red fox in snow", "flux.2-pro", "1:1", {"upsampling": False, "enhance": True}, set()),
    # Short edit requests are complete when there is an image to change.
    ("make it darker", "nanobanana-2", "1:1", {"has_image_input": True}, set()),
    ("warmer", "gpt-5-image", "1:1", {"has_image_input": True}, set()),
    # Bad prompts: the specific hint fires, nothing else.
    ("cat", "flux.2-pro", "1:1", {}, {"too_short"}),
    ("a dog", "gpt-5-image", "1:1", {}, {"too_short"}),
    ("sunset over mountains", "nanobanana-pro", "16:9", {}, {"too_short"}),
    ("something cool", "flux.2-pro", "1:1", {}, {"vague_subject"}),
    ("Surprise me", "flux.2-pro", "1:1", {}, {"vague_subject"}),
    ("Make me an image", "gpt-5-image", "1:1", {}, {"vague_subject"}),
    ("A bakery storefront with a sign that says Fresh Bread", "gpt-5-image", "1:1", {}, {"text_unquoted"}),
    ("A concert poster with a bold headline", "gpt-5-image", "2:3", {}, {"text_unquoted"}),
    ("A newspaper front page with a headline about a moon landing", "nanobanana-pro", "3:4", {}, {"text_unquoted"}),
    ("A wedding invitation card saying Save the Date with floral borders", "gpt-5-image", "5:4", {},
     {"text_unquoted"}),
    ('A bakery storefront with a sign that says "Fresh Bread"', "flux.2-pro", "1:1", {}, {"text_on_flux"}),
    ('A coffee mug mockup, the mug reads "Monday"', "flux.2-klein", "1:1", {}, {"text_on_flux"}),
    ("A wooden sign with the text Welcome Home above a door", "flux.2-pro", "1:1", {},
     {"text_unquoted", "text_on_flux"}),
    ("A retro 80s crab poster", "nanobanana-2", "1:1", {}, {"aspect_mismatch"}),
    ("Travel poster for Lisbon, art deco style", "flux.2-pro", "1:1", {}, {"aspect_mismatch"}),
    ("Phone wallpaper of a misty pine forest at dawn", "flux.2-pro", "1:1", {}, {"aspect_mismatch"}),
    ("An Instagram story background with soft pastel gradients", "nanobanana", "1:1", {}, {"aspect_mismatch"}),
    ("A YouTube thumbnail of a shocked chef holding a giant burger", "gpt-5-image", "1:1", {}, {"aspect_mismatch"}),
    ("A flat vector app icon of a paper plane", "gpt-5-image", "16:9", {}, {"aspect_mismatch"}),
    ("A website hero banner showing a mountain range at sunset", "flux.2-pro", "1:1", {}, {"aspect_mismatch"}),
    ("Desktop wallpaper of a neon city skyline", "flux.2-pro", "9:16", {}, {"aspect_mismatch"}),
    ("A profile picture of a corgi wearing sunglasses", "flux.2-pro", "16:9", {}, {"aspect_mismatch"}),
    ("A red fox in snow", "flux.2-pro", "1:1", {"upsampling": False}, {"no_medium"}),
    ("A product photo of a sneaker on a transparent background", "gpt-5-image", "1:1",
     {"output_format": "jpeg"}, {"transparent_without_alpha"}),
    ("A sticker of a smiling avocado with a transparent background", "flux.2-pro", "1:1", {},
     {"transparent_without_alpha"}),
    ("A black and white photo of a flower market in vibrant colors", "nanobanana", "1:1", {}, {"mono_and_colour"}),
    ('A poster with the slogan "JUST BREATHE", no text', "gpt-5-image", "2:3", {}, {"text_and_no_text"}),
    ("a logo with a tagline", "flux.2-pro", "1:1", {}, {"too_short", "text_unquoted", "text_on_flux"}),
]


def codes(prompt: str, model: str, ratio: str, facts: dict) -> set[str]:
    found = clarify.check(clarify.PromptFacts(prompt=prompt, spec=registry.resolve(model), aspect_ratio=ratio, **facts))
    return {hint.code for hint in found}


@pytest.mark.parametrize("prompt, model, ratio, facts, expected", CORPUS)
def test_corpus(prompt, model, ratio, facts, expected):
    assert codes(prompt, model, ratio, facts) == expected


def test_corpus_is_large_and_covers_every_rule():
    assert len(CORPUS) >= 40
    assert sum(1 for *_, expected in CORPUS if not expected) >= 20
    fired = set().union(*(expected for *_, expected in CORPUS))
    assert fired == {rule.code for rule in clarify.RULES}


def test_every_hint_has_code_message_and_fix():
    for prompt, model, ratio, facts, _expected in CORPUS:
        hints = clarify.check(clarify.PromptFacts(prompt, registry.resolve(model), ratio, **facts))
        for hint in hints:
            document = hint.to_dict()
            assert set(document) == {"code", "message", "fix"} and all(document.values())


def test_aspect_fix_suggests_a_ratio_the_model_supports():
    (hint,) = clarify.check(clarify.PromptFacts("A website hero banner of a harbour at dusk",
                                                registry.resolve("flux.2-pro"), "1:1"))
    assert hint.fix == "--aspect-ratio 21:9" and "1:1" in hint.message
    (hint,) = clarify.check(clarify.PromptFacts("A retro 80s crab poster", registry.resolve("nanobanana-2"), "16:9"))
    assert hint.fix == "--aspect-ratio 2:3"


def test_text_on_flux_suggests_gpt_5_image():
    facts = clarify.PromptFacts('A shop sign "OPEN LATE" in neon', registry.resolve("flux.2-pro"), "1:1")
    (hint,) = clarify.check(facts)
    assert hint.code == "text_on_flux" and "gpt-5-image" in hint.fix


def test_vague_subject_replaces_too_short():
    assert [h.code for h in clarify.check(clarify.PromptFacts("anything", registry.resolve("flux.2-pro"), "1:1"))] \
        == ["vague_subject"]
