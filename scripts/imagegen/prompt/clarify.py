"""Clarify hints: specific, actionable warnings about a prompt, from a table of heuristics.

Each rule fires only on a concrete problem it can name (a use whose usual aspect ratio differs
from the one chosen, text to render without its exact words, ...) and says how to fix it. Rules
that would fire on most ordinary prompts are worse than none: agents learn to ignore them.
The checks read the user's prompt only, never the instructions the tooling adds to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..models.table import ModelSpec
from ..record import Record
from . import wording
from .lazyre import Lazy


class Hint(Record):
    """One problem found in a prompt. ``code`` is stable; agents may switch on it."""

    code: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "fix": self.fix}


def hint_line(hint: dict[str, str]) -> str:
    """One hint (as in the JSON) as a line for stderr."""
    return f"hint [{hint['code']}]: {hint['message']} (fix: {hint['fix']})"


class PromptFacts(Record):
    """What the checks know about a request besides its words."""

    prompt: str
    spec: ModelSpec
    aspect_ratio: str
    output_format: str | None = None  # from the output file's extension: "jpeg", "png", "webp"
    has_style: bool = False  # a preset style or style references say how it should look
    has_image_input: bool = False  # a baseline or input image sets subject and look
    upsampling: bool | None = None  # FLUX rewrites the prompt itself when True
    enhance: bool = False  # the prompt will be expanded by --enhance


class Scan(Record):
    """A prompt read once: unquoted lower-case text, its words and its quoted spans."""

    facts: PromptFacts
    text: str
    words: list[str]
    quotes: list[str]


# -- vocabulary ------------------------------------------------------------------------------

# Words that carry no subject: a prompt made only of these (plus stop words) says nothing.
FILLER = frozenset("""
a an the of in on at to for with and or but by from into onto over under as is are be this that
these those it its me my our your please make create generate draw render show give get want need
i we you some very really nice cool good beautiful pretty awesome image picture pic photo art
artwork something anything thing stuff one
""".split())
MIN_CONTENT_WORDS = 3

VAGUE_SUBJECT = Lazy(
    r"^(?:please\s+)?(?:(?:draw|make|generate|create|give|show|render)\s+(?:me\s+)?)?"
    r"(?:something|anything|whatever|surprise me|an? (?:random|cool|nice|good|interesting|beautiful|pretty) "
    r"(?:image|picture|pic|thing|one)|an? (?:image|picture|pic)\s*$)",
    cues=("something", "anything", "whatever", "surprise me", "image", "pic", "thing", "one"),
)

# Phrases that ask for text in the image.
_TEXT_WORDS = ("text", "word", "caption", "headline", "title", "slogan", "tagline", "lettering", "quote")
TEXT_CUES = tuple(Lazy(p, cues) for p, cues in (
    (r"\b(?:with|add|adding|include|including|showing|featuring|containing|bearing|displaying)\s+"
     r"(?:(?:the|a|an|some|bold|large|big|small|short|catchy)\s+)*(?:text|words?|caption|headline|title|slogan|"
     r"tagline|lettering|quote)\b", _TEXT_WORDS),
    (r"\b(?:caption|headline|slogan|tagline|lettering|wordmark)\b",
     ("caption", "headline", "slogan", "tagline", "lettering", "wordmark")),
    (r"\b(?:that|which)\s+(?:says|reads|spells)\b", ("says", "reads", "spells")),
    (r"\b(?:sign|banner|label|text|title|plaque|shirt|t-shirt|badge|sticker|cake|card|mug)\s+"
     r"(?:saying|reading|says|reads)\b", ("saying", "reading", "says", "reads")),
    (r"\b(?:text|title|headline|caption|slogan)\s*:", (":",)),
    (r"\bwritten\s+(?:on|across)\b", ("written",)),
    (r"\bspell(?:s|ing)?\s+out\b", ("spell",)),
))
# A quoted span is text to render when one of these words comes just before it.
TEXT_LEADS = frozenset("""
text words word saying says reads reading titled entitled captioned labeled labelled caption headline title
slogan tagline letters lettering sign banner logo wordmark spelling spells spell
""".split())
TEXT_LEAD_WINDOW = 3

# A medium or style named in the prompt.
MEDIUM = Lazy(r"\b(?:" + "|".join((
    r"photo\w*", r"cinematic", r"film (?:still|photo\w*)", r"35 ?mm", r"dslr", r"shot on", r"lens", r"bokeh",
    r"telephoto", r"macro", r"wide[- ]angle", r"portrait", r"illustrat\w*", r"painting", r"painted", r"watercolou?r",
    r"oil", r"acrylic", r"gouache", r"pastel", r"sketch\w*", r"drawing", r"drawn", r"pencil", r"charcoal", r"ink",
    r"vector", r"flat", r"3d", r"render\w*", r"cgi", r"octane", r"unreal engine", r"blender", r"pixel art",
    r"anime", r"manga", r"cartoon\w*", r"comic\w*", r"line art", r"low[- ]poly", r"isometric", r"clay\w*",
    r"claymation", r"minimal\w*", r"logo", r"icon", r"infographic", r"diagram", r"mock-?up", r"blueprint",
    r"collage", r"woodcut", r"linocut", r"engraving", r"etching", r"lithograph", r"mosaic", r"stained glass",
    r"art deco", r"art nouveau", r"bauhaus", r"pop art", r"impressionis\w*", r"expressionis\w*", r"surreal\w*",
    r"ukiyo-e", r"graffiti", r"poster", r"screen ?print", r"risograph", r"papercut", r"origami", r"embroider\w*",
    r"needlepoint", r"sculpture", r"statue", r"style", r"styled", r"aesthetic", r"realistic", r"photoreal\w*",
    r"hyperreal\w*", r"studio lighting", r"polaroid", r"daguerreotype", r"synthwave", r"vaporwave", r"noir",
)) + r")\b")

TRANSPARENT = Lazy(r"\btransparent\s+(?:background|bg|backdrop)\b|\balpha channel\b|\btransparency\b",
                   ("transparen", "alpha"))
MONOCHROME = Lazy(
    r"\b(?:black[- ]and[- ]white|b&w|monochrome|greyscale|grayscale)\s+(?:photo\w*|image|picture|illustration|"
    r"drawing|style|film|shot|print|portrait|palette)\b|\bin\s+(?:black[- ]and[- ]white|monochrome|greyscale|"
    r"grayscale)\b|^(?:black[- ]and[- ]white|monochrome|greyscale|grayscale)\b",
    ("black", "b&w", "monochrome", "greyscale", "grayscale"),
)
COLOURFUL = Lazy(
    r"\b(?:vibrant|vivid|saturated|neon|rainbow|bright|bold)\s+colou?rs?\b|\bcolou?rful\b|\bfull[- ]colou?r\b"
    r"|\btechnicolou?r\b",
    ("colo",),
)
NO_TEXT = Lazy(
    r"\b(?:no|without(?: any)?)\s+(?:text|words|lettering|letters|writing|typography)\b"
    r"(?!\s+(?:elsewhere|other than|besides|except|apart from|outside))",
    ("no", "without"),
)

# A negated phrase asks for nothing: "no text, no lettering", "without any words or logos". It runs
# to the end of its clause, so "no text, with the headline ..." still asks for a headline.
NEGATED = Lazy(
    r"\b(?:no|not|nor|never|without|avoid(?:ing)?|free of|zero)\b[^.;,:!?()\n]*?(?=[.;,:!?()\n]|\bbut\b|\bexcept\b|$)",
    ("no", "not", "nor", "never", "without", "avoid", "free of", "zero"),
)


def affirmed(text: str) -> str:
    """``text`` with its negated phrases blanked out: what it asks for."""
    return NEGATED.sub(" ", text)


class Use(Record):
    """A use of an image whose aspect ratio is conventional.

    ``specific`` matches anywhere; ``generic`` (a bare noun such as "poster") only near the start
    of the prompt, where it names what to make rather than something in the scene.
    """

    name: str
    ratios: tuple[str, ...]  # acceptable, best first
    specific: Lazy
    generic: str | None = None


USES: tuple[Use, ...] = (
    Use("phone wallpaper", ("9:16",),
        Lazy(r"\b(?:phone|mobile|iphone|android|smartphone)\s+(?:wallpaper|background|lock ?screen)\b"
             r"|\block ?screen\b|\bwallpaper for (?:my |a |an )?(?:phone|iphone|android|mobile|smartphone)\b",
             ("wallpaper", "background", "lock"))),
    Use("story", ("9:16",),
        Lazy(r"\b(?:instagram|insta|ig|facebook|fb|snapchat|whatsapp|social media)\s+stor(?:y|ies)\b"
             r"|\bstory (?:format|post|size)\b|\b(?:tiktok|reels?|shorts) (?:cover|background|video)\b",
             ("stor", "tiktok", "reel", "short"))),
    Use("desktop wallpaper", ("16:9", "21:9"),
        Lazy(r"\b(?:desktop|laptop|monitor|pc|computer|ultrawide)\s+(?:wallpaper|background)\b"
             r"|\bwallpaper for (?:my |a )?(?:desktop|laptop|monitor|pc|computer)\b", ("wallpaper", "background"))),
    Use("video thumbnail", ("16:9",), Lazy(r"\b(?:youtube|yt|video|vimeo|twitch)\s+thumbnail\b", ("thumbnail",))),
    Use("banner", ("21:9", "16:9", "4:1", "8:1"),
        Lazy(r"\b(?:web|website|site|hero|twitter|linkedin|youtube|channel|facebook|email|blog|github|discord)\s+"
             r"(?:banner|header)(?:\s+image)?\b|\bbanner ad\b", ("banner", "header")),
        r"banner"),
    Use("poster", ("2:3", "3:4", "4:5"),
        Lazy(r"\b(?:movie|film|concert|gig|event|festival|propaganda|travel|recruitment|theatre|theater)\s+poster\b",
             ("poster",)),
        r"poster"),
    Use("icon", ("1:1",),
        Lazy(r"\b(?:app|application|ios|android|flat|vector|line|ui|web|glyph|outline|game|desktop)\s+icon\b"
             r"|\bfavicon\b|\bicon (?:set|design)\b|\bprofile (?:picture|photo|pic)\b|\bpfp\b",
             ("icon", "profile", "pfp")),
        r"(?:icon|avatar)"),
)
GENERIC_WINDOW = 6  # a bare use noun counts within the prompt's first six words
NOT_THE_USE_AFTER = Lazy(r"^(?:[\s-]+(?:child|boy|girl|board|paint|session|tube)\b|\s+(?:on|hanging|pinned|taped|"
                               r"behind|in the background|of (?:fashion|style))\b)")
NOT_THE_USE_BEFORE = frozenset(
    "holding carrying waving with under beside behind near fashion style pop cultural".split())


def _use_of(scan: Scan) -> Use | None:
    for use in USES:
        if use.specific.search(scan.text):
            return use
        if use.generic and _generic_use(scan.text, use.generic):
            return use
    return None


def _generic_use(text: str, noun: str) -> bool:
    if not any(word in text for word in noun.strip("(?:)").split("|")):
        return False  # the noun (or each alternative of it) is a cue: no match without one
    for match in re.finditer(rf"\b{noun}\b", text):
        before = wording.words(text[: match.start()])
        if len(before) >= GENERIC_WINDOW or NOT_THE_USE_AFTER.match(text[match.end():]):
            continue
        if NOT_THE_USE_BEFORE.intersection(before[-2:]):
            continue
        return True
    return False


def text_requested(scan: Scan) -> bool:
    """Does the prompt ask for words in the image? ("no text" does not.)"""
    text = affirmed(scan.text)
    if any(cue.search(text) for cue in TEXT_CUES):
        return True
    position = 0
    while (index := scan.text.find(wording.QUOTE_MARK, position)) != -1:
        if TEXT_LEADS.intersection(wording.words(scan.text[:index])[-TEXT_LEAD_WINDOW:]):
            return True
        position = index + len(wording.QUOTE_MARK)
    return False


# -- rules: each returns (message, fix) when it fires ----------------------------------------

Finding = tuple[str, str] | None


def _too_short(scan: Scan) -> Finding:
    if scan.facts.has_image_input:
        return None  # "make it warmer" is a complete request when there is an image to change
    content = [w for w in scan.words if w not in FILLER]
    if len(content) >= MIN_CONTENT_WORDS or scan.quotes:
        return None
    return (f"the prompt names only {len(content)} meaningful word{'s' if len(content) != 1 else ''}: "
            "too little to pin down a subject, setting and look",
            "describe the subject, what it does, where it is and the medium, e.g. "
            "'a red fox curled up in fresh snow at dawn, telephoto wildlife photo'")


def _vague_subject(scan: Scan) -> Finding:
    if not VAGUE_SUBJECT.search(scan.text):
        return None
    return ("the prompt leaves the subject to chance", "say what the image should show")


def _text_unquoted(scan: Scan) -> Finding:
    if scan.quotes or not any(cue.search(affirmed(scan.text)) for cue in TEXT_CUES):
        return None
    return ("the prompt asks for text in the image but gives no exact words in quotes; "
            "the model will invent or misspell them",
            'put the exact words in double quotes, e.g. with the headline "SUMMER SALE"')


def _text_on_flux(scan: Scan) -> Finding:
    if scan.facts.spec.family != "flux" or not text_requested(scan):
        return None
    return (f"{scan.facts.spec.alias} renders lettering poorly and the prompt asks for text",
            "use --model gpt-5-image (or gpt-5-image-mini) for images with words")


def _aspect_mismatch(scan: Scan) -> Finding:
    use = _use_of(scan)
    ratio = scan.facts.aspect_ratio
    if use is None or ratio in use.ratios:
        return None
    supported = [r for r in use.ratios if r in scan.facts.spec.ratios] or list(use.ratios)
    usual = " or ".join(use.ratios[:2])
    return (f"a {use.name} is usually {usual}, but the aspect ratio is {ratio}",
            f"--aspect-ratio {supported[0]}")


def _no_medium(scan: Scan) -> Finding:
    facts = scan.facts
    # Only FLUX with upsampling off renders the words as given; the other models (and FLUX's own
    # upsampler) choose a fitting medium, so asking for one there would fire on most prompts.
    if facts.spec.family != "flux" or facts.upsampling is not False:
        return None
    if facts.has_style or facts.has_image_input or facts.enhance or MEDIUM.search(scan.text):
        return None
    return (f"no medium or style is named and {facts.spec.alias} with prompt upsampling off renders "
            "the prompt literally",
            "name the medium, e.g. 'watercolour illustration', '35mm photo', 'flat vector icon', "
            "or use a --preset, or turn --prompt-upsampling back on")


def _transparent_without_alpha(scan: Scan) -> Finding:
    if not TRANSPARENT.search(scan.text):
        return None
    if scan.facts.output_format == "jpeg":
        return ("the prompt asks for transparency but the output file is a JPEG, which has no alpha channel",
                "write a .png or .webp --output-file")
    if scan.facts.spec.family == "flux":
        return (f"the prompt asks for transparency but {scan.facts.spec.alias} returns opaque images",
                "ask for a plain solid background (e.g. pure white #FFFFFF) and remove it afterwards")
    return None


def _mono_and_colour(scan: Scan) -> Finding:
    if not (MONOCHROME.search(scan.text) and COLOURFUL.search(scan.text)):
        return None
    return ("the prompt asks for black and white and for vivid colour at once",
            "choose one, or say which single element keeps its colour")


def _text_and_no_text(scan: Scan) -> Finding:
    if not (scan.quotes and text_requested(scan) and NO_TEXT.search(scan.text)):
        return None
    return ("the prompt asks for quoted text and for no text at once",
            "write 'no other text' if only the quoted words should appear")


class Rule(Record):
    code: str
    check: Callable[[Scan], Finding]
    unless: tuple[str, ...] = ()  # codes whose hint already covers this one


RULES: tuple[Rule, ...] = (
    Rule("vague_subject", _vague_subject),
    Rule("too_short", _too_short, unless=("vague_subject",)),
    Rule("text_unquoted", _text_unquoted),
    Rule("text_on_flux", _text_on_flux),
    Rule("aspect_mismatch", _aspect_mismatch),
    Rule("no_medium", _no_medium),
    Rule("transparent_without_alpha", _transparent_without_alpha),
    Rule("mono_and_colour", _mono_and_colour),
    Rule("text_and_no_text", _text_and_no_text),
)


def scan(facts: PromptFacts) -> Scan:
    text = wording.unquoted(facts.prompt)
    return Scan(facts, text, wording.words(text), wording.quoted_spans(facts.prompt))


def check(facts: PromptFacts) -> list[Hint]:
    """Every hint that fires for ``facts``, in table order."""
    scanned = scan(facts)
    hints: list[Hint] = []
    for rule in RULES:
        if any(h.code in rule.unless for h in hints):
            continue
        finding = rule.check(scanned)
        if finding:
            hints.append(Hint(rule.code, *finding))
    return hints
