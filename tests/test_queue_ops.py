"""The queue and the operations around it as a new user, or cron, meets them (issue 13): dry runs that
spend nothing, collisions refused at enqueue, unknown request ids, cron logging, worker progress lines,
and the small things (idle exit, kept timeouts, mask files, the ledger's script name)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT, assert_one_json
from tests.fake_api import make_png

QUEUE = "generated/imagegen-queue"


def ledger_lines(env: dict[str, str]) -> list[dict]:
    path = Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_gitignore_keeps_a_virtualenv_out():
    assert ".venv/" in (ROOT / ".gitignore").read_text().splitlines()


def test_idle_exit_zero_leaves_as_soon_as_the_queue_is_empty(run):
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet",
                                  timeout=10))
    assert summary["status"] == "drained" and summary["elapsed_ms"] < 2000


def test_the_ledger_names_generate_image_py(run, env):
    assert_one_json(run("generate_image.py", "--prompt", "A lighthouse at dusk, oil painting", "--quiet"))
    assert [line["script"] for line in ledger_lines(env)] == ["generate_image.py"]


def test_a_drawn_mask_is_not_a_gallery_card(run, workdir):
    folder = workdir / "shots"
    folder.mkdir()
    (folder / "room.png").write_bytes(make_png(8, 8))
    (folder / "room.mask.png").write_bytes(make_png(8, 8))
    page = assert_one_json(run("gallery.py", "--dir", str(folder)))
    assert page["images"] == 1
    assert "room.mask.png" not in Path(page["path"]).read_text()
