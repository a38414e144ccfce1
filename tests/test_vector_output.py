"""Vector answers: an SVG from the Images API is saved as .svg (checked first), with its sidecar,
hash and ledger line; an answer in a format that cannot be saved is never retryable."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import assert_one_json, ledger_entries
from tests.fake_api import Reply, images_reply, make_svg, vector_images_reply

VECTOR = "recraft/recraft-v4-vector"
PROMPT = "A flat fox logo, two colours"


def generate(run, *extra: str):
    result = run("generate.py", "--prompt", PROMPT, "--model", VECTOR, "--api", "images", *extra)
    return result, assert_one_json(result)


def test_an_svg_answer_is_saved_as_svg_with_sidecar_hash_and_ledger(run, fake, env, workdir):
    result, doc = generate(run)
    assert result.code == 0, doc
    path = Path(doc["path"])
    assert path.suffix == ".svg" and doc["format"] == "svg" and (doc["width"], doc["height"]) == (64, 64)
    assert path.read_bytes() == make_svg()  # the provider's bytes, unchanged
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert sidecar["image"]["format"] == "svg"
    assert sidecar["image"]["sha256"] == hashlib.sha256(make_svg()).hexdigest()
    assert sidecar["request"]["model"] == VECTOR and doc["cost_usd"] == 0.08
    assert doc["warnings"] == []
    (line,) = ledger_entries(env)
    assert line["outcome"] == "success" and line["cost_usd"] == 0.08 and line["images"] == 1
    assert len(fake.requests_for("images")) == 1


def test_an_svg_for_an_output_file_named_png_takes_the_svg_name_with_a_warning(run, fake, workdir):
    (workdir / "logo.svg").write_text("taken")
    result, doc = generate(run, "--output-file", "logo.png")
    assert result.code == 0
    assert Path(doc["path"]).name == "logo-2.svg" and not (workdir / "logo.png").exists()
    assert (workdir / "logo.svg").read_text() == "taken"
    assert doc["warnings"] == [("the provider sent a vector image (SVG), so it was saved as logo-2.svg "
                                "instead of logo.png")]
    assert Path(doc["sidecar"]).name == "logo-2.svg.json"


@pytest.mark.parametrize("body, reason", [
    ('<script>alert(1)</script>', "active content"),
    ('<a href="javascript:alert(1)"><rect width="4" height="4"/></a>', "javascript:"),
    ('<rect width="4" height="4" onclick="x()"/>', "event handler"),
    ('<foreignObject><div/></foreignObject>', "active content"),
])
def test_an_svg_with_active_content_is_refused_and_not_retried(run, fake, env, workdir, body, reason):
    fake.enqueue("images", vector_images_reply([make_svg(body=body)]))
    result, doc = generate(run)
    assert result.code == 1 and doc["error_kind"] == "provider_error" and doc["retryable"] is False
    assert reason in doc["error"] and len(fake.requests_for("images")) == 1
    assert not list(workdir.glob("data/*.svg"))
    assert ledger_entries(env)[0]["cost_usd"] == 0.08  # paid for, and recorded as such


@pytest.mark.parametrize("svg, reason", [
    (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
     "DOCTYPE"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>', "not well-formed"),
    (b'<html><body>not a picture</body></html>', "not <svg>"),
    (b'<svg xmlns="http://www.w3.org/2000/svg">\xff\xfe</svg>', "not UTF-8"),
])
def test_a_broken_svg_is_refused_and_not_retried(run, fake, svg, reason):
    fake.enqueue("images", vector_images_reply([svg]))
    result, doc = generate(run)
    assert result.code == 1 and doc["retryable"] is False and reason in doc["error"], doc


def test_an_oversized_svg_is_refused(run, fake, monkeypatch):
    from imagegen.images import svg

    monkeypatch.setattr(svg, "MAX_BYTES", 1000)
    fake.enqueue("images", vector_images_reply([make_svg(body="<g/>" * 400)]))
    result, doc = generate(run)
    assert result.code == 1 and doc["retryable"] is False and "larger than" in doc["error"]


def test_a_well_formed_answer_in_a_format_that_cannot_be_saved_is_not_retryable(run, fake):
    avif = b"\x00\x00\x00\x1cftypavif" + bytes(64)
    fake.enqueue("images", images_reply([avif], media_type="image/avif"))
    result = run("generate.py", "--prompt", PROMPT, "--model", "flux.2-pro", "--api", "images")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == "provider_error" and doc["retryable"] is False
    assert "not an image" in doc["error"] and len(fake.requests_for("images")) == 1


@pytest.mark.parametrize("body, media_type", [
    (b"<html>..</html>", "image/svg+xml"),  # a page, labelled as a vector image
    (b'{"x":1}', "image/png"),
    (b"GIF8", "image/gif"),
])
def test_a_short_answer_that_is_no_image_is_not_retryable(run, fake, body, media_type):
    fake.enqueue("images", images_reply([body], media_type=media_type))
    result = run("generate.py", "--prompt", PROMPT, "--model", "flux.2-pro", "--api", "images")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == "provider_error" and doc["retryable"] is False, doc
    assert len(fake.requests_for("images")) == 1


def test_a_cut_off_image_stays_retryable(run, fake):
    png = base64.b64decode(images_reply().json["data"][0]["b64_json"])
    fake.enqueue("images", Reply(json={"created": 1, "data": [{"b64_json": base64.b64encode(png[:20]).decode()}]}))
    result = run("generate.py", "--prompt", PROMPT, "--model", "flux.2-pro", "--api", "images")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["retryable"] is True and "truncated" in doc["error"]


def test_svg_checks_in_process():
    from imagegen.images import svg

    assert svg.check(make_svg(100, 50)) == (100, 50)
    assert svg.check(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 200"/>') == (300, 200)
    assert svg.check(b'<svg xmlns="http://www.w3.org/2000/svg" width="100%"/>') == (None, None)
    with pytest.raises(ValueError, match="not <svg>"):
        svg.check(b'<svg:svg xmlns:svg="urn:other"/>')


@pytest.mark.parametrize("document, reason", [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><a href="java&#9;script:alert(1)"/></svg>', "javascript:"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><a href="java&#10;script:alert(1)"/></svg>', "javascript:"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><a href="&#13;java\tscript:alert(1)"/></svg>', "javascript:"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><a href="JaVa&#0;Script:x"/></svg>', "well-formed"),  # NUL: not XML
    (b'<?xml version="1.0"?><?xml-stylesheet href="http://x/a.css"?><svg xmlns="http://www.w3.org/2000/svg"/>',
     "processing instruction"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><?php echo 1; ?></svg>', "processing instruction"),
])
def test_svg_check_refuses_split_script_links_and_processing_instructions(document, reason):
    from imagegen.images import svg

    with pytest.raises(ValueError, match=reason):
        svg.check(document)


def test_svg_check_keeps_the_xml_declaration_and_ordinary_links():
    from imagegen.images import svg

    assert svg.check(b'<?xml version="1.0" encoding="UTF-8"?><svg xmlns="http://www.w3.org/2000/svg" '
                     b'width="10" height="10"><a href="https://example.org/java script"/></svg>') == (10, 10)


def test_svg_can_be_asked_for_on_the_images_api_and_the_dry_run_names_an_svg(run, fake):
    result = run("generate.py", "--prompt", PROMPT, "--model", "recraft/recraft-v4", "--api", "images",
                 "--output-format", "svg", "--dry-run")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0 and doc["request"]["body"]["output_format"] == "svg"
    assert doc["target_paths"][0].endswith(".svg")
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "recraft/recraft-v4", "--api", "images",
                              "--output-format", "svg"))
    assert doc["warnings"] == []
    assert doc["format"] == "svg" and Path(doc["path"]).suffix == ".svg"


@pytest.mark.parametrize("args", [
    ("--provider", "openai", "--output-format", "svg"),
    ("--output-format", "svg"),  # chat completions take no format
])
def test_svg_is_refused_where_it_cannot_be_made(run, fake, args):
    result = run("generate.py", "--prompt", PROMPT, *args)
    assert result.code == 2 and fake.requests == []


def test_an_openai_edit_refuses_svg(run, fake, workdir):
    from tests.fake_api import make_png

    (workdir / "in.png").write_bytes(make_png(32, 32))
    result = run("edit.py", "--mode", "openai", "--input-image", "in.png", "--prompt", "x", "--output-format", "svg")
    assert result.code == 2 and "not svg" in assert_one_json(result)["error"] and fake.requests == []
