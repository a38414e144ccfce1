"""The contact sheet page: one self-contained HTML file, every value escaped, no external assets.

Images are referenced by paths relative to the page and sized by CSS; a little inline script
filters by model and verdict (also from the address, ``index.html#verdict=accept&model=<id>``)
and shows an image full size in a dialog. Without script the thumbnails are plain links to the
full images.
"""

from __future__ import annotations

import html
import os
import time
from pathlib import Path
from urllib.parse import quote

from ..contract import replace_lone_surrogates
from .collect import Item

NOT_REVIEWED = "none"

CSP = ("default-src 'none'; img-src 'self' file: data: blob:; style-src 'unsafe-inline'; "
       "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")

STYLE = """
:root { color-scheme: light dark; --bg: #f6f6f4; --card: #fff; --ink: #1d1d1f; --muted: #6b6b70;
  --line: #deded9; --accept: #1f7a3a; --refine: #9a6700; --reject: #b42318; --failed: #b42318; }
@media (prefers-color-scheme: dark) { :root { --bg: #151517; --card: #222226; --ink: #ececef;
  --muted: #a0a0a8; --line: #34343a; --accept: #5cc27c; --refine: #e0b14d; --reject: #f0776d; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       background: var(--bg); color: var(--ink); }
header { padding: 20px 24px 8px; }
h1 { margin: 0 0 4px; font-size: 20px; }
.summary { color: var(--muted); margin: 0; }
.filters { display: flex; gap: 12px; flex-wrap: wrap; align-items: center; padding: 8px 24px 16px; }
.filters label { color: var(--muted); }
.filters select { margin-left: 6px; font: inherit; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 16px; padding: 0 24px 32px; }
.card { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden;
  display: flex; flex-direction: column; }
.card[hidden] { display: none; }
.thumb { display: block; aspect-ratio: 1 / 1; background: var(--line); }
.thumb img { width: 100%; height: 100%; object-fit: contain; display: block; }
.placeholder { display: flex; align-items: center; justify-content: center; aspect-ratio: 1 / 1; padding: 16px;
  text-align: center; color: var(--muted); background: var(--line); }
.card.broken .thumb img { visibility: hidden; }
.card.broken .thumb { display: flex; align-items: center; justify-content: center; }
.card.broken .thumb::after { content: "image not found"; color: var(--muted); }
figcaption { padding: 10px 12px 12px; display: flex; flex-direction: column; gap: 6px; }
.name { font-weight: 600; word-break: break-all; }
.prompt { margin: 0; max-height: 7.5em; overflow: auto; white-space: pre-wrap; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 0; color: var(--muted); font-size: 12.5px; }
dt { font-weight: 600; } dd { margin: 0; word-break: break-word; }
.verdict { font-weight: 700; text-transform: uppercase; font-size: 11.5px; letter-spacing: .04em; }
.verdict-accept { color: var(--accept); } .verdict-refine { color: var(--refine); }
.verdict-reject { color: var(--reject); } .status-failed .name, .error { color: var(--failed); }
.critique { margin: 0; color: var(--muted); font-style: italic; }
dialog { max-width: 96vw; max-height: 96vh; padding: 0; border: 0; background: transparent; }
dialog::backdrop { background: rgba(0, 0, 0, .85); }
dialog img { max-width: 96vw; max-height: 88vh; display: block; margin: 0 auto; }
dialog p { color: #eee; text-align: center; margin: 8px 0 0; }
.empty { padding: 24px; color: var(--muted); }
.card.loop { grid-column: 1 / -1; }
.rounds { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 10px; padding: 10px; }
.round { margin: 0; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.round.chosen { border: 2px solid var(--accept); }
.round figcaption { padding: 6px 8px; font-size: 12.5px; gap: 2px; }
"""

SCRIPT = """
(function () {
  "use strict";
  var cards = Array.prototype.slice.call(document.querySelectorAll(".card"));
  var model = document.getElementById("filter-model");
  var verdict = document.getElementById("filter-verdict");
  var shown = document.getElementById("shown");
  function fromHash() {
    var hash = window.location.hash.slice(1);
    if (hash.indexOf("=") < 0) { return; }
    hash.split("&").forEach(function (pair) {
      var parts = pair.split("=");
      var select = { model: model, verdict: verdict }[decodeURIComponent(parts[0])];
      var value = decodeURIComponent(parts.slice(1).join("=") || "");
      if (select && Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
        select.value = value;
      }
    });
  }
  function toHash() {
    var parts = [];
    if (model.value) { parts.push("model=" + encodeURIComponent(model.value)); }
    if (verdict.value) { parts.push("verdict=" + encodeURIComponent(verdict.value)); }
    try { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : window.location.pathname); }
    catch (ignored) { /* some browsers refuse to rewrite file: URLs; the filter still works */ }
  }
  function apply() {
    var count = 0;
    cards.forEach(function (card) {
      var visible = (!model.value || card.getAttribute("data-model") === model.value) &&
                    (!verdict.value || card.getAttribute("data-verdict") === verdict.value);
      card.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = String(count);
  }
  function changed() { toHash(); apply(); }
  model.addEventListener("change", changed);
  verdict.addEventListener("change", changed);
  Array.prototype.forEach.call(document.querySelectorAll(".thumb img"), function (img) {
    function loaded() { img.setAttribute("data-state", "loaded"); }
    function broken() { img.setAttribute("data-state", "broken"); img.closest(".card").classList.add("broken"); }
    if (img.complete) { (img.naturalWidth > 0 ? loaded : broken)(); }
    img.addEventListener("load", loaded);
    img.addEventListener("error", broken);
  });
  var viewer = document.getElementById("viewer");
  var full = document.getElementById("viewer-image");
  var caption = document.getElementById("viewer-caption");
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.thumb") : null;
    if (!link || typeof viewer.showModal !== "function") { return; }
    event.preventDefault();
    full.src = link.getAttribute("href");
    full.alt = link.getAttribute("data-caption") || "";
    caption.textContent = link.getAttribute("data-caption") || "";
    viewer.showModal();
  });
  viewer.addEventListener("click", function () { viewer.close(); });
  window.addEventListener("hashchange", function () { fromHash(); apply(); });
  fromHash();
  apply();
})();
"""




def e(value: object) -> str:
    """``value`` as HTML text; a byte that was not UTF-8 (held as a lone surrogate) shows as U+FFFD."""
    return html.escape(replace_lone_surrogates(str(value), "\ufffd"), quote=True)


def relative_url(path: Path, page_dir: Path) -> str:
    """A URL for ``path`` relative to the page, percent-encoded so any file name survives (its bytes, when
    the name is not UTF-8)."""
    relative = os.path.relpath(path, page_dir)
    return quote(os.fsencode(Path(relative).as_posix()), safe="/")


def _short_model(model: str | None) -> str:
    return model.split("/")[-1] if model else "unknown"


def _card(index: int, item: Item, page_dir: Path, anchors: dict[Path, str]) -> str:
    verdict = (item.verdict or NOT_REVIEWED).lower()
    classes = f"card status-{item.status}" + (" loop" if item.rounds else "")
    attrs = (f'class="{e(classes)}" id="item-{index}" data-model="{e(item.model or "unknown")}" '
             f'data-verdict="{e(verdict)}"')
    if item.rounds:
        visual = _rounds_strip(item, page_dir)
    elif item.status == "ok" and item.path is not None:
        url = relative_url(item.path, page_dir)
        caption = item.prompt or item.title
        visual = (f'<a class="thumb" href="{e(url)}" data-caption="{e(caption)}">'
                  f'<img src="{e(url)}" alt="{e(caption)}" loading="lazy" decoding="async"></a>')
    elif item.status == "failed":
        visual = '<div class="placeholder">generation failed</div>'
    else:
        visual = '<div class="placeholder">not generated yet</div>'
    rows: list[tuple[str, str]] = []
    if item.model:
        rows.append(("model", e(_short_model(item.model))))
    if item.size or item.aspect_ratio or item.dimensions:
        rows.append(("size", e(" · ".join(v for v in (item.size, item.aspect_ratio, item.dimensions) if v))))
    if item.preset:
        rows.append(("preset", e(item.preset)))
    if item.cost_usd is not None:
        rows.append(("cost", e(f"${item.cost_usd:.4f}")))
    if item.generation_time_ms is not None:
        rows.append(("time", e(f"{item.generation_time_ms / 1000:.1f}s")))
    if item.created:
        rows.append(("created", e(item.created)))
    if item.request_id:
        rows.append(("request", e(item.request_id)))
    if item.score is not None or item.verdict:
        score = f"{item.score:g}/10 " if item.score is not None else ""
        rows.append(("review", f'{e(score)}<span class="verdict verdict-{e(verdict)}">{e(item.verdict or "")}</span>'))
    if item.parent is not None:
        target = anchors.get(item.parent)
        name = e(item.parent.name)
        rows.append(("edited from", f'<a href="#{target}">{name}</a>' if target else name))
    if item.children:
        links = ", ".join(f'<a href="#{anchors[c]}">{e(c.name)}</a>' for c in item.children if c in anchors)
        rows.append(("edits", links))
    details = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    parts = [f'<span class="name">{e(item.title)}</span>']
    if item.prompt:
        parts.append(f'<p class="prompt">{e(item.prompt)}</p>')
    if item.error:
        parts.append(f'<p class="error">{e(item.error)}</p>')
    if details:
        parts.append(f"<dl>{details}</dl>")
    if item.critique:
        parts.append(f'<p class="critique">{e(item.critique)}</p>')
    return f'<figure {attrs}>{visual}<figcaption>{"".join(parts)}</figcaption></figure>'


def _rounds_strip(chosen: Item, page_dir: Path) -> str:
    """A review loop's rounds side by side, each with its score and verdict; the chosen one marked."""
    cells = []
    for member in chosen.rounds:
        verdict = (member.verdict or NOT_REVIEWED).lower()
        url = relative_url(member.path, page_dir) if member.path is not None else ""
        caption = member.prompt or member.title
        score = f"{member.score:g}/10 " if member.score is not None else ""
        mark = " · chosen" if member is chosen else ""
        cells.append(
            f'<figure class="round{" chosen" if member is chosen else ""}">'
            f'<a class="thumb" href="{e(url)}" data-caption="{e(caption)}">'
            f'<img src="{e(url)}" alt="{e(caption)}" loading="lazy" decoding="async"></a>'
            f'<figcaption><span>round {e(member.review_round)}{e(mark)}</span>'
            f'<span>{e(score)}<span class="verdict verdict-{e(verdict)}">{e(member.verdict or "not reviewed")}</span>'
            f'</span><span>{e(_short_model(member.model))}</span></figcaption></figure>')
    return f'<div class="rounds">{"".join(cells)}</div>'


def _options(label: str, element_id: str, values: list[tuple[str, str]]) -> str:
    options = "".join(f'<option value="{e(value)}">{e(text)}</option>' for value, text in values)
    return f'<label>{e(label)}<select id="{element_id}"><option value="">all</option>{options}</select></label>'


def render(items: list[Item], page: Path, title: str, summary: str) -> str:
    """The whole page for ``items``, to be written at ``page``."""
    page_dir = page.parent.resolve()
    anchors = {item.path: f"item-{i}" for i, item in enumerate(items) if item.path is not None}
    models = sorted({item.model or "unknown" for item in items})
    verdicts = sorted({(item.verdict or NOT_REVIEWED).lower() for item in items})
    verdict_options = [(v, "not reviewed" if v == NOT_REVIEWED else v) for v in verdicts]
    cards = "\n".join(_card(i, item, page_dir, anchors) for i, item in enumerate(items))
    body = cards or '<p class="empty">No images yet.</p>'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">
<meta name="generator" content="image-gen gallery">
<title>{e(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1>{e(title)}</h1><p class="summary">{e(summary)} · made {e(time.strftime("%Y-%m-%d %H:%M"))}</p></header>
<nav class="filters">{_options("Model", "filter-model", [(m, _short_model(m)) for m in models])}
{_options("Verdict", "filter-verdict", verdict_options)}<span><span id="shown">{len(items)}</span> shown</span></nav>
<main id="cards">
{body}
</main>
<dialog id="viewer"><img id="viewer-image" alt=""><p id="viewer-caption"></p></dialog>
<script>{SCRIPT}</script>
</body>
</html>
"""
