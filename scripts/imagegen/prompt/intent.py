"""Edit-intent detection: does the user's prompt ask to change an existing image?

"Make it darker", "same but with a hat" and "keep the logo" only make sense with a baseline
image; without one the model invents a new picture and the user gets something unrelated.
The detector reads the user's prompt only -- never instructions the tooling adds (rails text,
"Variant 2 of 4", style-reference notes) -- and ignores quoted text meant to be rendered.
Each rule is written to match the edit sense of a word and not its other senses ("a video
editor's desk", "Keep Calm poster", "same-sex couple").
"""

from __future__ import annotations

from ..record import Record
from . import wording
from .lazyre import Lazy

IMAGE_NOUN = (r"(?:image|images|photo|photos|picture|pictures|pic|pics|shot|screenshot|drawing|render|rendering|"
              r"illustration|artwork|design|logo|poster|version|file|graphic|banner|icon|sketch|painting|portrait|"
              r"selfie|headshot|thumbnail|wallpaper|one)")
REFERRING = (r"(?:this|that|these|those|the attached|the uploaded|the above|the previous|the last|the original|"
             r"the earlier|the current|the existing|the first|the second|my|our)")
EDIT_VERBS = (r"(?:edit|retouch|recolou?r|touch up|photoshop|modify|alter|tweak|adjust|crop|upscale|colou?ri[sz]e|"
              r"restore|redo|redraw|rework|revise|refine|fix|change|replace|swap|remove|erase|delete|get rid of|move|"
              r"flip|mirror|brighten|darken|lighten|blur|sharpen|desaturate|zoom (?:in|out)|extend|expand|outpaint|"
              r"undo)")
ADJ_COMPARATIVE_WORDS = ("darker", "lighter", "brighter", "dimmer", "bigger", "smaller", "larger", "warmer", "cooler",
                         "colder", "hotter", "sharper", "softer", "bolder", "cleaner", "simpler", "busier", "calmer",
                         "happier", "sadder", "scarier", "cuter", "older", "younger", "taller", "shorter", "wider",
                         "narrower", "thicker", "thinner", "longer", "richer", "deeper", "moodier", "punchier")
ADJ_COMPARATIVES = "(?:" + "|".join(ADJ_COMPARATIVE_WORDS) + ")"
COMPARATIVES = rf"(?:{ADJ_COMPARATIVES}|more|less)"
MODIFIERS = r"(?:a (?:bit|little|lot|touch)|slightly|much|way|even|somewhat|a lot)"
# What may follow an edit verb that opens the prompt: its object, not a new subject ("Change the
# background" is an edit, "Expand your horizons poster" is not).
EDIT_OBJECT = r"(?:it|this|that|them|the|its|his|her|their|my|our|all|any|every|to|on|up the|\s*$|\s*[:,.!])"
LEAD_INS = r"(?:(?:now|please|ok(?:ay)?|just|and|then|also|can you|could you|pls|so|hmm)\s*,?\s+)*"
SHORT_PROMPT_WORDS = 6
# Substrings every match of a rule contains (see lazyre): rules whose cues are absent cost nothing.
EDIT_VERB_CUES = ("edit", "retouch", "recolo", "touch up", "photoshop", "modify", "alter", "tweak", "adjust", "crop",
                  "upscale", "colo", "restore", "redo", "redraw", "rework", "revise", "refine", "fix", "change",
                  "replace", "swap", "remove", "erase", "delete", "get rid of", "move", "flip", "mirror", "brighten",
                  "darken", "lighten", "blur", "sharpen", "desaturate", "zoom", "extend", "expand", "outpaint",
                  "undo")


class IntentRule(Record):
    name: str
    pattern: Lazy
    max_words: int | None = None  # the rule only applies to prompts this short


def _rule(name: str, pattern: str, max_words: int | None = None, cues: tuple[str, ...] = ()) -> IntentRule:
    return IntentRule(name, Lazy(pattern, cues), max_words)


RULES: tuple[IntentRule, ...] = (
    # "Edit this", "Please remove the background", "Now fix the hands": an edit verb opening the request.
    _rule("edit_command", rf"^{LEAD_INS}{EDIT_VERBS}\b\s*{EDIT_OBJECT}(?:\s*[\w-]+)?",
          cues=EDIT_VERB_CUES),
    # "... then retouch the photo", "can you crop this": an edit verb aimed at an image or a pronoun.
    _rule("edit_verb_on_image",
          rf"\b{EDIT_VERBS}\s+(?:(?:it|this|that|them)\b|(?:the|my|our|this|that)\s+(?:\w+\s+)?{IMAGE_NOUN}\b)",
          cues=EDIT_VERB_CUES),
    _rule("make_it", rf"\bmake\s+(?:it|this|that|them|(?:the|my|our) (?:image|photo|picture|background|sky|colou?rs?|"
                     rf"logo|text|lighting|design))\s+(?:{MODIFIERS}\s+)?"
                     rf"(?:{COMPARATIVES}|look|feel|seem|appear|pop)\b",
          cues=("make",)),
    _rule("turn_into", r"\b(?:turn|transform|convert)\s+(?:it|this|that|them|(?:the|my|our|this)\s+(?:\w+\s+)?"
                       + IMAGE_NOUN + r")\s+(?:into|to)\b",
          cues=("turn", "transform", "convert")),
    _rule("same_but", r"\b(?:the\s+)?same\s+(?:again|but|thing but|one but|as (?:before|last time|the (?:last|previous|"
                      r"original|first|attached|other)\b)|(?:image|picture|photo|design|logo|poster|scene|shot|"
                      r"composition|layout)\s+(?:but|with|without|again)\b)",
          cues=("same",)),
    _rule("like_last", rf"\b(?:like|as in|similar to)\s+(?:the\s+)?(?:last|previous|earlier|attached|original)\s+"
                       rf"(?:\w+\s+)?{IMAGE_NOUN}\b|\bmore like (?:this|that|these|it)\b|\blike this one\b",
          cues=("like", "as in", "similar to")),
    _rule("keep_part", r"\bkeep\s+(?:the|its|their|my|our|his|her)\s+(?:\w+\s+)?(?:logo|wordmark|colou?rs?|palette|"
                       r"background|composition|layout|framing|text|font|face|pose|expression|title|lighting|"
                       r"proportions|subject|character|outfit)\b",
          cues=("keep",)),
    _rule("keep_same", r"\bkeep(?:ing)?\s+(?:it|everything|all|the rest|everything else|the rest of (?:it|the \w+))\s+"
                       r"(?:else\s+)?(?:the same|unchanged|intact|as is|as-is|untouched|identical)\b"
                       r"|\bkeep everything else\b",
          cues=("keep",)),
    _rule("based_on", rf"\bbased on\s+(?:this|that|these|it|the attached|the uploaded|the above|{REFERRING}\s+"
                      rf"(?:\w+\s+)?{IMAGE_NOUN})\b",
          cues=("based",)),
    _rule("refers_to_image", rf"\b(?:attached|uploaded|provided|supplied|enclosed)\s+(?:\w+\s+)?{IMAGE_NOUN}\b"
                             rf"|\bthe\s+(?:above|previous|last|original|earlier|existing|current)\s+(?:\w+\s+)?"
                             rf"{IMAGE_NOUN}\b",
          cues=("attached", "uploaded", "provided", "supplied", "enclosed", "above", "previous", "last", "original",
                "earlier", "existing", "current")),
    _rule("this_image", r"(?<!\bin )\b(?:this|these)\s+(?:image|images|photo|photos|picture|pictures|pic|pics|"
                        r"screenshot|render|selfie|headshot|sketch)\b",
          cues=("this", "these")),
    _rule("variation_of", rf"\b(?:variations?|variants?|versions?|iterations?|remix(?:es)?|edits?)\s+of\s+"
                          rf"(?:it|this|that|these|{REFERRING}\b)"
                          rf"|\b(?:another|one more|a different)\s+(?:version|variant|variation|iteration)\b",
          cues=("varia", "version", "iteration", "remix", "edit")),
    _rule("try_again", r"^(?:(?:now|ok(?:ay)?|please)\s+)*(?:again|once more|try again|one more time|redo)\b"
                       r"|\b(?:again|once more)\s*,?\s+but\b",
          cues=("again", "once more", "one more time", "redo")),
    _rule("continuation", r"^(?:now|but)\s+(?:with|without|in|as|make|add|try|do|give)\b",
          cues=("now", "but")),
    # "darker", "a bit warmer and softer", "more contrast" -- the whole prompt, nothing else.
    _rule("comparative_only", rf"^{LEAD_INS}(?:{MODIFIERS}\s+)?"
                              rf"(?:{ADJ_COMPARATIVES}(?:\s*(?:,|and)\s*(?:{MODIFIERS}\s+)?{ADJ_COMPARATIVES})*"
                              rf"|(?:more|less)\s+[a-z-]+(?:\s*(?:,|and)\s*(?:more|less)\s+[a-z-]+)*)"
                              rf"(?:\s+(?:please|overall|than before|than that|this time))?\s*[.!]*$",
          max_words=SHORT_PROMPT_WORDS, cues=(*ADJ_COMPARATIVE_WORDS, "more", "less")),
    _rule("instead", r"\binstead\b", max_words=SHORT_PROMPT_WORDS,
          cues=("instead",)),
)


class IntentMatch(Record):
    """Why the prompt reads as an edit: the rule and the words that matched."""

    rule: str
    phrase: str


def detect(prompt: str) -> IntentMatch | None:
    """The first rule that reads ``prompt`` as an edit of an existing image, or None."""
    text = wording.unquoted(prompt)
    count = len(wording.words(text))
    for rule in RULES:
        if rule.max_words is not None and count > rule.max_words:
            continue
        match = rule.pattern.search(text)
        if match:
            return IntentMatch(rule.name, match.group(0).strip())
    return None
