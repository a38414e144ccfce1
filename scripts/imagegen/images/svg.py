"""Vector images: an SVG a provider sent (OpenRouter's Images API answers ``media_type:
image/svg+xml`` for vector models such as Recraft's), checked before it is saved.

An SVG is text that a browser runs, so it is held to more than a raster: bounded in size, UTF-8
XML without a DOCTYPE (no entities to expand), an ``<svg>`` root, and no active content (scripts,
event handlers, embedded HTML, ``javascript:`` links, processing instructions). What fails is
refused, never retried: the same request would bring the same answer.
"""

from __future__ import annotations

import re

MAX_BYTES = 20 * 1024 * 1024
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_ACTIVE_TAGS = frozenset({"script", "foreignobject", "iframe", "embed", "object"})
_CONTROLS = re.compile(r"[\x00-\x20]")
_SCHEME = re.compile(r"(?:java|vb)script:")
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$")


def check(data: bytes) -> tuple[int | None, int | None]:
    """The nominal (width, height) of a safe, well-formed SVG; ValueError saying what is wrong otherwise."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"it is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise ValueError("it declares a DOCTYPE or entities")
    from xml.etree import ElementTree

    # The XML declaration is not a "pi" event.
    parser: ElementTree.XMLPullParser[ElementTree.Element] = ElementTree.XMLPullParser(events=("start", "pi"))
    root: ElementTree.Element | None = None
    try:
        parser.feed(text)
        parser.close()
    except ElementTree.ParseError as error:
        raise ValueError(f"it is not well-formed XML ({error})") from None
    for event in parser.read_events():
        item = event[-1]
        if event[0] == "pi":  # <?xml-stylesheet?> and the like make a browser fetch or run something
            raise ValueError("it holds a processing instruction (<?...?>)")
        if root is None and isinstance(item, ElementTree.Element):
            root = item
    assert root is not None  # a well-formed document has a root element
    if _local(root.tag) != "svg" or _namespace(root.tag) not in ("", SVG_NAMESPACE):
        raise ValueError(f"its root element is <{_local(root.tag)}>, not <svg>")
    for element in root.iter():
        if _local(element.tag).lower() in _ACTIVE_TAGS:
            raise ValueError(f"it holds active content (<{_local(element.tag)}>)")
        for name, value in element.attrib.items():
            if _local(name).lower().startswith("on"):
                raise ValueError(f"it holds an event handler ({_local(name)})")
            # A browser drops tabs, line breaks and control characters (entities already decoded here) from a URL.
            if _SCHEME.search(_CONTROLS.sub("", value).lower()):
                raise ValueError("it holds a javascript: link")
    return _size(root.attrib)


def _size(attributes: dict[str, str]) -> tuple[int | None, int | None]:
    width, height = (_NUMBER.match(attributes.get(name, "")) for name in ("width", "height"))
    if width and height:
        return round(float(width[1])), round(float(height[1]))
    box = attributes.get("viewBox", "").replace(",", " ").split()
    try:
        return (round(float(box[2])), round(float(box[3]))) if len(box) == 4 else (None, None)
    except ValueError:
        return None, None


def size_of_head(head: bytes) -> tuple[int, int] | None:
    """The nominal size from the root element's attributes in a file's first bytes (None: not said)."""
    found = re.search(rb"<svg\b([^>]*)>", head)
    if found is None:
        return None
    attributes = {m[1].decode("ascii", "replace"): m[2].decode("utf-8", "replace")
                  for m in re.finditer(rb"""([\w:-]+)\s*=\s*["']([^"']*)["']""", found[1])}
    width, height = _size(attributes)
    return (width, height) if width and height else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""
