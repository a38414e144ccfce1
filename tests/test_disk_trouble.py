"""Disk trouble: an output folder that cannot be written, and a disk that fills up mid-write.

The tests run as root in CI, where permission bits are not enforced, so a read-only folder is made
portably: a path below a regular file (the kernel refuses it whoever asks), or, in-process, a
``tempfile.mkstemp`` that answers EROFS for the output folder, and an ``os.fsync``/write that
answers ENOSPC for the image being written. Each case asserts a clear error (``error_kind``
``output_dir`` before anything is sent, ``output`` after the image arrived, with a message that
says what to do), that nothing half-written is left (no image, no sidecar, no ``.imagegen-*``
temp file), and for the queue that the job ends in failed/ with the reason while every job file
stays in exactly one state and parses.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY, assert_one_json
from tests.fake_api import make_png

QUEUE = "q"


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# -- through the scripts, as an agent sees it ------------------------------------------------------

@pytest.mark.subprocess
@pytest.mark.parametrize("script, args", [
    ("generate.py", ["--prompt", "A red fox in snow", "--output-dir", "blocker/out"]),
    ("generate.py", ["--prompt", "A red fox in snow", "--output-file", "blocker/fox.png"]),
    ("generate.py", ["--prompt", "A red fox in snow", "--api", "images", "--output-dir", "blocker/out"]),
    ("generate_image.py", ["--prompt", "A red fox in snow", "--out", "blocker/fox.png"]),
    ("edit.py", ["--mode", "openai", "--input-image", "photo.png", "--prompt", "Add a hat",
                 "--output-dir", "blocker/out"]),
    ("edit.py", ["--mode", "openai", "--input-image", "photo.png", "--prompt", "Add a hat",
                 "--mask-rect", "0,0,8,8", "--output-dir", "blocker/out"]),
    ("edit.py", ["--input-image", "photo.png", "--prompt", "Make it night", "--output-dir", "blocker/out"]),
])
def test_unwritable_output_folder_is_refused_before_paying(run, fake, workdir, script, args):
    (workdir / "blocker").write_text("a file where a folder is expected\n")
    (workdir / "photo.png").write_bytes(make_png(32, 32))
    result = run(script, *args)
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == "output_dir", doc
    assert "blocker" in doc["error"] and ("--output-dir" in doc["details"] or "permissions" in doc["details"])
    assert fake.requests == []  # refused before anything was sent or paid for
    assert files_in(workdir) == ["blocker", "photo.png"]


@pytest.mark.subprocess
def test_unwritable_gallery_folder(run, fake, workdir):
    (workdir / "blocker").write_text("x")
    (workdir / "pics").mkdir()
    (workdir / "pics" / "a.png").write_bytes(make_png(8, 8))
    doc = assert_one_json(result := run("gallery.py", "--dir", "pics", "--out", "blocker/index.html"))
    assert result.code == 2 and doc["error_kind"] == "output_dir" and "blocker is a file, not a folder" in doc["error"]
    assert files_in(workdir) == ["blocker", "pics/a.png"]


@pytest.mark.subprocess
def test_queue_job_whose_output_cannot_be_written_fails_with_the_reason(run, fake, workdir):
    (workdir / "blocker").write_text("x")
    for name, out in (("good", "out/good.png"), ("bad", "blocker/bad.png")):
        assert_one_json(run("enqueue_image_job.py", "--prompt", f"A {name} lighthouse at dusk", "--out", out,
                            "--request-id", name, "--queue-dir", QUEUE))
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["done"] == 1 and summary["failed"] == 1
    failed = json.loads((workdir / QUEUE / "failed" / "bad--0000.json").read_text())
    assert failed["error_kind"] == "output_dir" and "blocker" in failed["error"] and failed["details"]
    assert len(fake.requests_for("chat")) == 1  # the unwritable job was never sent
    assert_queue_consistent(workdir / QUEUE)
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "bad"))
    assert status["failures"][0]["error_kind"] == "output_dir"


def assert_queue_consistent(queue: Path) -> None:
    """Every job in exactly one state, every file whole JSON, nothing left running or half-written."""
    seen: dict[str, str] = {}
    for state in ("pending", "running", "results", "failed"):
        for path in (queue / state).glob("*.json"):
            json.loads(path.read_text())
            assert path.stem not in seen, f"{path.stem} is in {seen.get(path.stem)} and {state}"
            seen[path.stem] = state
    assert not list((queue / "running").iterdir())
    assert not list(queue.rglob(".imagegen-*"))


# -- in-process: the disk fails while the image is being written -----------------------------------

class Disk:
    """Makes the output folder read-only, or full, for this process only."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
        self.folder = folder.resolve()
        self.folders = {self.folder}  # where the disk is full (add more to fill them too)
        self.temps: dict[int, str] = {}  # fd -> name of the temp files made there
        self.fsyncs = 0
        self.full_after: int | None = None  # fsyncs of temp files that succeed before ENOSPC
        self.read_only = False
        real_mkstemp, real_fsync = tempfile.mkstemp, os.fsync

        def mkstemp(*args, **kwargs):
            directory = Path(kwargs.get("dir") or (args[2] if len(args) > 2 else tempfile.gettempdir()))
            if self.read_only and directory.resolve() in self.folders:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(directory))
            fd, name = real_mkstemp(*args, **kwargs)
            if directory.resolve() in self.folders:
                self.temps[fd] = name
            return fd, name

        def fsync(fd):
            if self.full_after is not None and self._is_temp(fd):
                self.fsyncs += 1
                if self.fsyncs > self.full_after:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_fsync(fd)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        monkeypatch.setattr(os, "fsync", fsync)

    def _is_temp(self, fd: int) -> bool:
        """Descriptor numbers and inodes are reused (by the ledger, say): match the live temp file itself."""
        name = self.temps.get(fd)
        try:
            return name is not None and os.stat(name).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False


@pytest.fixture
def inproc(fake, workdir, monkeypatch, tmp_path):
    """Run scripts in this process against the fake, from ``workdir``."""
    monkeypatch.chdir(workdir)
    env = {**fake.env(), "OPENROUTER_API_KEY_IMAGES": TEST_KEY, "IMAGEGEN_RETRY_BASE_SEC": "0.01",
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (workdir / "out").mkdir()
    return Disk(monkeypatch, workdir / "out")


def generate(capsys, *args: str) -> tuple[int, dict]:
    from imagegen.commands import generate as command

    code = command.main(["--prompt", "A red fox in snow", "--model", "nanobanana", "--quiet", "--retries", "0",
                         *args])
    return code, json.loads(capsys.readouterr().out)


def test_read_only_folder_is_refused_before_paying(inproc, fake, workdir, capsys):
    inproc.read_only = True
    code, doc = generate(capsys, "--output-dir", "out")
    assert code == 2 and doc["error_kind"] == "output_dir" and "Read-only file system" in doc["error"]
    assert fake.requests == [] and files_in(workdir / "out") == []


@pytest.mark.parametrize("target", [["--output-dir", "out"], ["--output-file", "out/fox.png"]])
def test_full_disk_while_writing_the_image(inproc, fake, workdir, capsys, target):
    inproc.full_after = 0
    code, doc = generate(capsys, *target)
    assert code == 1 and doc["error_kind"] == "output", doc
    assert "No space left on device" in doc["error"] and "free some space" in doc["details"]
    assert doc["generation_id"] and doc["cost_usd"] == 0.04  # it was paid for: say which call it was
    assert files_in(workdir / "out") == []  # no partial image, no temp file


def test_folder_turns_read_only_after_the_image_arrived(inproc, fake, workdir, capsys, monkeypatch):
    from imagegen.images import writer

    real_check = writer.ImageWriter.check_before_request

    def check_then_lose_the_folder(self, *args):
        real_check(self, *args)
        inproc.read_only = True

    monkeypatch.setattr(writer.ImageWriter, "check_before_request", check_then_lose_the_folder)
    code, doc = generate(capsys, "--output-dir", "out")
    assert code == 1 and doc["error_kind"] == "output" and "Read-only file system" in doc["error"]
    assert len(fake.requests_for("chat")) == 1 and files_in(workdir / "out") == []


def test_disk_fills_up_mid_write_of_the_image_bytes(inproc, fake, workdir, capsys, monkeypatch):
    """ENOSPC after part of the image is on disk: the temp file goes, nothing takes the final name."""
    from imagegen.images import writer

    real_stream = writer._stream_image

    def stream_then_fill(handle, chunks, metadata):
        handle.write(b"\x89PNG\r\n\x1a\n partial")
        handle.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writer, "_stream_image", stream_then_fill)
    code, doc = generate(capsys, "--output-file", "out/fox.png")
    assert real_stream is not stream_then_fill
    assert code == 1 and doc["error_kind"] == "output" and "No space left" in doc["error"]
    assert files_in(workdir / "out") == []


def test_full_disk_for_the_sidecar_keeps_the_image_and_warns(inproc, fake, workdir, capsys):
    inproc.full_after = 1  # the image fits, its sidecar does not
    code, doc = generate(capsys, "--output-dir", "out")
    assert code == 0, doc
    assert doc["sidecar"] is None and any("sidecar could not be written" in w for w in doc["warnings"])
    assert files_in(workdir / "out") == [Path(doc["path"]).name]
    assert Path(doc["path"]).read_bytes().startswith(b"\x89PNG")


def test_second_image_hits_a_full_disk(inproc, fake, workdir, capsys):
    inproc.full_after = 2  # first image and its sidecar fit
    code, doc = generate(capsys, "--output-dir", "out", "--n", "2")
    assert code == 1 and doc["error_kind"] == "output"
    (kept,) = doc["saved_paths"]  # the first image is whole and reported, not silently left behind
    assert sorted(files_in(workdir / "out")) == sorted([Path(kept).name, Path(kept).name + ".json"])


def test_queue_job_on_a_full_disk_fails_and_the_queue_stays_consistent(inproc, fake, workdir, capsys):
    from imagegen.commands import enqueue_image_job, run_image_queue

    for number in range(3):
        assert enqueue_image_job.main(["--prompt", f"A lighthouse number {number}", "--out", f"out/l-{number}.png",
                                       "--request-id", "full", "--queue-dir", QUEUE]) == 0
    capsys.readouterr()
    inproc.full_after = 2  # one image and its sidecar fit, then the disk is full
    code = run_image_queue.main(["--queue-dir", QUEUE, "--idle-exit-sec", "0.05", "--concurrency", "1", "--quiet"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["done"] == 1 and summary["failed"] == 2, summary
    queue = workdir / QUEUE
    assert_queue_consistent(queue)
    for path in (queue / "failed").glob("*.json"):
        job = json.loads(path.read_text())
        assert job["error_kind"] == "output" and "No space left on device" in job["error"]
        assert "free some space" in job["details"]
    assert len(files_in(workdir / "out")) == 2  # one whole image and its sidecar


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_whole_disk_full_stops_the_worker_cleanly_and_nothing_is_lost(inproc, fake, workdir, capsys):
    """Output and queue on one full disk: the worker stops (it would only pay for images it cannot
    keep), says why, leaves every job recoverable, and the next worker finishes each exactly once."""
    from imagegen.commands import enqueue_image_job, run_image_queue

    for number in range(3):
        assert enqueue_image_job.main(["--prompt", f"A lighthouse number {number}", "--out", f"out/l-{number}.png",
                                       "--request-id", "disk", "--queue-dir", QUEUE]) == 0
    capsys.readouterr()
    queue = workdir / QUEUE
    inproc.folders |= {(queue / state).resolve() for state in ("pending", "running", "results", "failed")}
    inproc.full_after = 0
    code = run_image_queue.main(["--queue-dir", QUEUE, "--idle-exit-sec", "0.05", "--concurrency", "1", "--quiet"])
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert "Traceback" not in captured.err
    assert code == 0 and summary["done"] == 0 and "No space left on device" in " ".join(summary["errors"])
    assert len(fake.requests_for("chat")) == 1  # stopped after the first paid call it could not record
    for state in ("pending", "running", "results", "failed"):
        for path in (queue / state).glob("*.json"):
            json.loads(path.read_text())
    inproc.full_after = None  # space is freed
    assert run_image_queue.main(["--queue-dir", QUEUE, "--idle-exit-sec", "0.05", "--quiet",
                                 "--orphan-timeout-sec", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["done"] == 3 and summary["failed"] == 0, summary
    assert_queue_consistent(queue)
    assert sorted(p.name for p in (queue / "results").glob("*.json")) == [f"disk--000{i}.json" for i in range(3)]
    assert sorted(files_in(workdir / "out")) == sorted(f"l-{i}.png{s}" for i in range(3) for s in ("", ".json"))
