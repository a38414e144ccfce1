"""The prompt checks' lazy patterns: a cue list may only skip texts the pattern could never match."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegen.prompt import clarify, intent, wording
from imagegen.prompt.lazyre import Lazy
from tests.test_clarify import CORPUS
from tests.test_intent import EDITS, ORDINARY, TOOLING


def all_patterns() -> list[Lazy]:
    found = [rule.pattern for rule in intent.RULES]
    found += [value for value in vars(clarify).values() if isinstance(value, Lazy)]
    found += list(clarify.TEXT_CUES) + [use.specific for use in clarify.USES]
    return found


PATTERNS = all_patterns()
# Words the patterns are made of, so that generated texts hit them often.
VOCABULARY = sorted({w for p in PATTERNS for w in re.findall(r"[a-z&][a-z&-]+", p.source) if len(w) > 1}
                    - {"b", "s"})


def corpus_texts() -> list[str]:
    prompts = [entry[0] if isinstance(entry, tuple) else entry for entry in CORPUS + EDITS + ORDINARY + TOOLING]
    return [wording.unquoted(p) for p in prompts if isinstance(p, str)]


def assert_sound(text: str) -> None:
    for pattern in PATTERNS:
        if pattern.compiled.search(text) or pattern.compiled.match(text):
            assert pattern.may_match(text), (pattern.source[:60], pattern.cues, text)


def test_patterns_are_found():
    assert len(PATTERNS) > 30 and len(VOCABULARY) > 100


@pytest.mark.parametrize("text", corpus_texts())
def test_cues_never_hide_a_match_in_the_corpora(text):
    assert_sound(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY + ["it", "this", "the", "a", ":", "my", "now"]), min_size=1, max_size=9))
def test_cues_never_hide_a_match_in_generated_texts(words):
    assert_sound(" ".join(words))


def test_a_pattern_without_its_cues_is_not_compiled():
    pattern = Lazy(r"\bneedle\b", ("needle",))
    assert pattern.search("a haystack") is None and pattern._compiled is None
    assert pattern.search("a needle here") and pattern._compiled is not None


@pytest.mark.parametrize("prompt", ["A red fox", "a lighthouse at dawn", "Poster of a tiger"])
def test_an_ordinary_prompt_compiles_no_edit_intent_pattern(prompt, monkeypatch):
    """Every intent rule has cues: the plain path compiles none of them for an ordinary prompt."""
    fresh = [Lazy(rule.pattern.source, rule.pattern.cues, rule.pattern.flags) for rule in intent.RULES]
    monkeypatch.setattr(intent, "RULES", tuple(rule._replace(pattern=lazy) for rule, lazy in zip(
        intent.RULES, fresh, strict=True)))
    assert intent.detect(prompt) is None
    assert [lazy.source[:40] for lazy in fresh if lazy._compiled is not None] == []
    assert intent.detect("darker") is not None  # the comparative rule still fires on its own
