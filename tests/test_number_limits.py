"""Numbers a caller can get wrong: not-a-number, infinity, negative, absurdly large, and image
headers that claim sizes no real input has. Each is refused with exit 2 before anything runs."""

from __future__ import annotations

import struct
import zlib

import pytest

from tests.conftest import assert_one_json


@pytest.mark.parametrize("script, args, flag", [
    ("generate.py", ["--prompt", "A fox", "--dry-run", "--timeout", "nan"], "--timeout"),
    ("generate.py", ["--prompt", "A fox", "--dry-run", "--timeout", "inf"], "--timeout"),
    ("generate.py", ["--prompt", "A fox", "--dry-run", "--max-baseline-mb", "nan"], "--max-baseline-mb"),
    ("generate.py", ["--prompt", "A fox", "--dry-run", "--retries", "100000"], "--retries"),
    ("run_image_queue.py", ["--queue-dir", "q", "--idle-exit-sec", "nan"], "--idle-exit-sec"),
    ("run_image_queue.py", ["--queue-dir", "q", "--orphan-timeout-sec", "nan"], "--orphan-timeout-sec"),
    ("run_image_queue.py", ["--queue-dir", "q", "--max-background-workers", "100000000"],
     "--max-background-workers"),
    ("run_image_queue.py", ["--queue-dir", "q", "--max-background-workers", "0"], "--max-background-workers"),
    ("run_image_queue.py", ["--queue-dir", "q", "--max-attempts", "-5"], "--max-attempts"),
    ("queue_status.py", ["--queue-dir", "q", "--timeout", "nan"], "--timeout"),
    ("queue_status.py", ["--queue-dir", "q", "--max-background-workers", "100000000"], "--max-background-workers"),
    ("preflight_check.py", ["--json", "--max-background-workers", "100000000"], "--max-background-workers"),
    ("enqueue_variants.py", ["--prompt", "A fox", "--count", "99999999999999999999"], "--count"),
    ("enqueue_variants.py", ["--prompt", "A fox", "--start-index", "99999999999"], "--start-index"),
    ("queue_and_return.py", ["--prompt", "A fox", "--count", "1001", "--dry-run-worker"], "--count"),
    ("enqueue_image_job.py", ["--prompt", "A fox", "--variant-index", "-1"], "--variant-index"),
])
def test_unusable_numbers_are_refused(run, fake, workdir, script, args, flag):
    doc = assert_one_json(result := run(script, *args, timeout=20))
    assert result.code == 2 and doc["error_kind"] == "usage" and flag in doc["error"], doc
    assert fake.requests == [] and not (workdir / "generated").exists()


def test_help_states_the_bounds(run):
    text = run("queue_and_return.py", "--help").stdout
    assert "1-64" in " ".join(text.split()) and "1-1000" in " ".join(text.split())


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk claiming ``width`` x ``height``, with no pixels after it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 64


@pytest.mark.parametrize("width, height", [(30000, 30000), (2**31, 1), (1, 2**31), (0, 10), (9000, 9000)])
@pytest.mark.parametrize("command", [
    ("generate.py", "--prompt", "A fox in the style of this picture", "--dry-run", "--input-image", "huge.png"),
    ("edit.py", "--prompt", "Add a hat", "--mode", "openai", "--mask-rect", "0,0,10%,10%", "--dry-run",
     "--input-image", "huge.png"),
    ("review.py", "--image", "huge.png", "--original-prompt", "A fox"),
])
def test_image_headers_claiming_absurd_sizes_are_refused(run, fake, workdir, width, height, command):
    (workdir / "huge.png").write_bytes(png_header(width, height))
    doc = assert_one_json(result := run(*command, timeout=20))
    assert result.code == 2 and f"{width}x{height}" in doc["error"] and "16384" in doc["error"], doc
    assert fake.requests == []
