"""gallery.py: contact sheets from a folder, a queue request and a manifest, checked in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_one_json
from tests.fake_api import chat_image_reply, error_reply, make_png

NASTY_PROMPT = '<script>alert("x")</script> & a "quoted" fox'
NASTY_NAME = 'odd "name" <b> & #1?.png'


def generate(run, *args: str) -> dict:
    result = run("generate.py", *args)
    assert result.code == 0, result.stdout
    return result.json


@pytest.fixture
def folder(run, fake, workdir) -> dict[str, Path]:
    """A data folder made by real runs: two models, a review, an edit and an awkward file name."""
    first = Path(generate(run, "--prompt", NASTY_PROMPT, "--size", "1K")["path"])
    second = Path(generate(run, "--prompt", "A harbour at dawn", "--model", "nanobanana")["path"])
    first.with_name(first.name + ".review.json").write_text(json.dumps(
        {"success": True, "score": 8, "verdict": "accept", "critique": "Crisp <b>fur</b>"}))
    second.with_name(second.name + ".review.json").write_text(json.dumps({"review": {"score": 3, "verdict": "reject"}}))
    edit = workdir / "data" / "edit-1.png"
    edit.write_bytes(make_png(20, 30, color=(20, 40, 200)))
    edit.with_name("edit-1.png.json").write_text(json.dumps({
        "created": "2026-02-03T04:05:06+0000",
        "request": {"prompt": "Make it night", "model": "openai/gpt-5-image", "parent": str(first)},
        "result": {"cost_usd": 0.05, "generation_time_ms": 12000}}))
    odd = workdir / "data" / NASTY_NAME
    odd.write_bytes(make_png(16, 16))
    (workdir / "data" / ".imagegen-temp.part.png").write_bytes(b"partial")
    return {"first": first, "second": second, "edit": edit, "odd": odd, "dir": workdir / "data"}


def cards(page: str) -> list[str]:
    return re.findall(r"<figure [^>]*>", page)


@pytest.mark.subprocess  # as an agent sees it: real processes, stdout and exit status
def test_directory_gallery(run, folder):
    result = run("gallery.py", "--dir", "data")
    doc = assert_one_json(result)
    page_path = folder["dir"] / "index.html"
    assert result.code == 0 and doc["path"] == str(page_path.absolute())
    assert doc["images"] == 4 and doc["cards"] == 4 and doc["missing"] == [] and doc["failed"] == 0
    assert doc["models"] == ["black-forest-labs/flux.2-pro", "google/gemini-2.5-flash-image", "openai/gpt-5-image"]
    assert doc["verdicts"] == {"accept": 1, "none": 2, "reject": 1}
    assert doc["total_cost_usd"] == 0.13
    page = page_path.read_text()
    assert len(cards(page)) == 4
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; a" in page
    assert "Crisp &lt;b&gt;fur&lt;/b&gt;" in page
    assert 'src="odd%20%22name%22%20%3Cb%3E%20%26%20%231%3F.png"' in page
    assert f'src="{folder["first"].name}"' in page
    assert not re.search(r'(src|href)="(https?:)?//', page), "no external assets"
    assert "<link" not in page and "@import" not in page
    assert ".imagegen-temp" not in page
    first_card = next(c for c in cards(page) if 'data-verdict="accept"' in c)
    assert 'data-model="black-forest-labs/flux.2-pro"' in first_card
    assert "1K · 1:1 · 1024x1024" in page and "$0.0500" in page and "12.0s" in page
    assert re.search(r"<dt>edited from</dt><dd><a href=\"#item-\d\">", page)
    assert re.search(r"<dt>edits</dt><dd><a href=\"#item-\d\">edit-1.png</a>", page)
    assert "8/10 " in page and 'verdict-reject">reject' in page


def test_regenerating_replaces_our_own_page_but_not_a_foreign_one(run, folder):
    assert run("gallery.py", "--dir", "data").code == 0
    assert run("gallery.py", "--dir", "data", "--title", "Second").code == 0
    assert "<title>Second</title>" in (folder["dir"] / "index.html").read_text()
    foreign = folder["dir"] / "index.html"
    foreign.write_text("<html>my own page</html>")
    result = run("gallery.py", "--dir", "data")
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == "output_exists"
    assert foreign.read_text() == "<html>my own page</html>"
    assert run("gallery.py", "--dir", "data", "--overwrite").code == 0


def test_out_elsewhere_uses_relative_paths_from_there(run, folder, workdir):
    doc = assert_one_json(run("gallery.py", "--dir", "data", "--out", "site/sheet.html"))
    page = (workdir / "site" / "sheet.html").read_text()
    assert doc["path"] == str(workdir / "site" / "sheet.html")
    assert f'src="../data/{folder["first"].name}"' in page


@pytest.mark.parametrize("shape", ["variants", "outputs"])
def test_manifest_gallery(run, folder, workdir, shape):
    relative = [f"data/{folder['first'].name}", "data/not-yet.png"]
    entries = [{"path": p, "index": i} for i, p in enumerate(relative)] if shape == "variants" else relative
    manifest = workdir / "batch-manifest.json"
    manifest.write_text(json.dumps({"prompt": "x", shape: entries}))
    doc = assert_one_json(run("gallery.py", "--manifest", str(manifest)))
    assert doc["path"] == str(workdir / "batch-manifest.html")
    assert doc["images"] == 1 and doc["cards"] == 2 and doc["missing"] == [str(workdir / "data" / "not-yet.png")]
    page = Path(doc["path"]).read_text()
    assert "not generated yet" in page and f'src="data/{folder["first"].name}"' in page


def test_queue_request_gallery(run, fake, workdir):
    """Real records: three jobs drained by a worker (one refused by the provider), one still pending."""
    queue = workdir / "generated" / "imagegen-queue"
    enqueue = ("enqueue_image_job.py", "--request-id", "discord-9")
    assert run(*enqueue, "--prompt", "A harbour at dawn", "--out", "gen/harbour.png").code == 0
    assert run(*enqueue, "--prompt", "Two foxes in snow", "--out", "gen/foxes.png", "--n", "2",
               "--model", "nanobanana").code == 0
    assert run(*enqueue, "--prompt", "A <b>bold</b> idea", "--out", "gen/bold.png").code == 0
    assert run("enqueue_image_job.py", "--request-id", "other-request", "--prompt", "An odd one",
               "--out", "gen/odd.png").code == 0
    # One job at a time, oldest first: harbour (1 call), foxes (2 calls), then the refused one.
    fake.enqueue("chat", chat_image_reply(), chat_image_reply(), chat_image_reply(), error_reply(403, "flagged"))
    drained = assert_one_json(run("run_image_queue.py", "--queue-dir", str(queue), "--concurrency", "1",
                                  "--idle-exit-sec", "0.05", "--quiet"))
    assert drained["done"] == 3 and drained["failed"] == 1
    assert run(*enqueue, "--prompt", "A late idea", "--out", "gen/late.png").code == 0
    result = run("gallery.py", "--request-id", "discord-9")
    doc = assert_one_json(result)
    assert result.code == 0 and doc["path"] == str(queue / "gallery-discord-9.html")
    assert doc["images"] == 3 and doc["failed"] == 1 and doc["cards"] == 4
    assert doc["source"]["jobs"] == {"pending": 1, "running": 0, "submitted": 0, "results": 2, "failed": 1}
    page = Path(doc["path"]).read_text()
    assert "flagged" in page and "A &lt;b&gt;bold&lt;/b&gt; idea" in page
    assert "1 failed, 1 still queued or running" in page
    assert "odd.png" not in page and 'src="../../gen/harbour.png"' in page
    assert 'src="../../gen/foxes.png"' in page and 'src="../../gen/foxes-2.png"' in page


@pytest.mark.parametrize("args, fragment", [
    ([], "one of the arguments"),
    (["--dir", "data", "--manifest", "m.json"], "not allowed with"),
    (["--dir", "nowhere"], "not a directory"),
    (["--queue-dir", "q", "--dir", "data"], "--queue-dir needs --request-id"),
    (["--request-id", "x", "--queue-dir", "missing-queue"], "not a directory"),
    (["--manifest", "bad.json"], "not a readable JSON object"),
    (["--manifest", "empty.json"], "no 'variants' or 'outputs'"),
    (["--request-id", "x", "--recursive"], "--recursive"),
])
def test_usage_errors(run, workdir, args, fragment):
    (workdir / "data").mkdir(exist_ok=True)
    (workdir / "bad.json").write_text("[1, 2")
    (workdir / "empty.json").write_text('{"items": []}')
    result = run("gallery.py", *args)
    doc = assert_one_json(result)
    assert result.code == 2 and fragment in doc["error"], doc


def test_recursive_and_empty(run, workdir):
    (workdir / "deep" / "a" / "b").mkdir(parents=True)
    (workdir / "deep" / "a" / "b" / "x.png").write_bytes(make_png(4, 4))
    flat = assert_one_json(run("gallery.py", "--dir", "deep"))
    assert flat["images"] == 0 and "No images yet." in Path(flat["path"]).read_text()
    deep = assert_one_json(run("gallery.py", "--dir", "deep", "--recursive"))
    assert deep["images"] == 1 and 'src="a/b/x.png"' in Path(deep["path"]).read_text()


# -- in a real browser -------------------------------------------------------------------------

def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = find_chromium()
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine "
                                   "(apt-get install -y chromium; .ci/run installs it when it can)")


def chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--window-size=1400,2400", "--virtual-time-budget=4000",
               "--enable-logging=stderr", "--v=0", *extra, url]
    # its crash database and certificate store go under HOME and XDG_CONFIG_HOME, so these are the test's own
    home = tmp_path / "chromium-home"
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}
    return subprocess.run(command, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL, check=False,
                          env=env)


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Refused to" in line]


@needs_browser
def test_gallery_in_a_headless_browser(run, folder, tmp_path):
    doc = assert_one_json(run("gallery.py", "--dir", "data"))
    url = Path(doc["path"]).as_uri()
    loaded = chromium(url, tmp_path, "--dump-dom")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    dom = loaded.stdout
    assert len(cards(dom)) == 4
    assert dom.count('data-state="loaded"') == 4, "every thumbnail loads"
    assert 'data-state="broken"' not in dom and "<script>alert" not in dom
    assert console_messages(loaded.stderr) == []
    filtered = chromium(url + "#verdict=accept", tmp_path, "--dump-dom")
    visible = [c for c in cards(filtered.stdout) if 'hidden=""' not in c]
    assert len(visible) == 1 and 'data-verdict="accept"' in visible[0]
    assert '<span id="shown">1</span>' in filtered.stdout
    assert console_messages(filtered.stderr) == []
    shot = tmp_path / "shot.png"
    taken = chromium(url, tmp_path, f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 5000
    assert console_messages(taken.stderr) == []


@needs_browser
def test_missing_image_is_marked_broken_in_the_browser(run, folder, tmp_path):
    doc = assert_one_json(run("gallery.py", "--dir", "data"))
    folder["odd"].unlink()
    dom = chromium(Path(doc["path"]).as_uri(), tmp_path, "--dump-dom").stdout
    assert dom.count('data-state="broken"') == 1 and dom.count('data-state="loaded"') == 3
    assert re.search(r'class="card status-ok broken"', dom)
