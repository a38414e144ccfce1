"""Files that carry C2PA Content Credentials are saved exactly as the provider sent them.

A C2PA manifest binds itself to the file's bytes (PNG: a ``caBX`` chunk; JPEG: JUMBF in APP11
segments; WebP: a ``C2PA`` chunk), so adding our metadata chunk would break it. Such a file is
saved byte for byte and the result says ``content_credentials: true``; other PNGs get our record
as an ``iTXt`` chunk before ``IEND``, where the queue's recovery still finds it.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from pathlib import Path

import pytest

from imagegen.images.credentials import CredentialScanner
from imagegen.images.writer import read_png_metadata
from tests.conftest import assert_one_json
from tests.fake_api import chat_image_reply, edits_reply, images_reply, make_png, make_webp

SMALLER = ("asked for about 2048x2048 but the provider returned 32x24: its aspect ratio differs and it is smaller "
           "than asked (check the model's supported sizes, or ask again)")  # the deliberately small 32x24 files

JUMBF = b"JP\x00\x01\x00\x00\x00\x01" + struct.pack(">I", 40) + b"jumb" + b"c2pa.manifest-store" + b"\x00" * 9


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_credentials(where: str = "before_idat") -> bytes:
    """A real PNG with a ``caBX`` chunk before its image data, or (as some signers write it) before IEND."""
    plain = make_png(32, 24)
    cabx = _chunk(b"caBX", JUMBF + b"Made with Google AI")
    ihdr_end = 8 + 25
    if where == "before_idat":
        return plain[:ihdr_end] + cabx + plain[ihdr_end:]
    return plain[:-12] + cabx + plain[-12:]


def jpeg_with_credentials(app11: bytes = JUMBF) -> bytes:
    """A minimal JPEG: SOI, an APP11 segment, SOF0 (32x24), SOS, a little scan data, EOI."""
    segment = b"\xff\xeb" + struct.pack(">H", len(app11) + 2) + app11
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 24, 32, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + segment + sof + sos + b"\x12\x34" * 50 + b"\xff\xd9"


def webp_with_credentials() -> bytes:
    plain = make_webp(32, 24)
    extra = b"C2PA" + struct.pack("<I", len(JUMBF)) + JUMBF
    body = plain[12:] + extra
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def scan(data: bytes, fmt: str, piece: int) -> bool:
    scanner = CredentialScanner(fmt)
    for start in range(0, len(data), piece):
        scanner.feed(data[start:start + piece])
    return scanner.found


@pytest.mark.parametrize("piece", [1, 3, 7, 4096])
@pytest.mark.parametrize("data, fmt, found", [
    (png_with_credentials("before_idat"), "png", True),
    (png_with_credentials("before_iend"), "png", True),
    (make_png(32, 24), "png", False),
    (jpeg_with_credentials(), "jpeg", True),
    (jpeg_with_credentials(b"JP\x00\x01" + b"\x00" * 20), "jpeg", False),  # APP11 without a JUMBF box
    (webp_with_credentials(), "webp", True),
    (make_webp(32, 24), "webp", False),
], ids=["png-before-idat", "png-before-iend", "png-without", "jpeg", "jpeg-app11-without-jumbf", "webp",
        "webp-without"])
def test_the_scanner_finds_credentials_however_the_bytes_arrive(data, fmt, found, piece):
    assert scan(data, fmt, piece) is found


def _saved(doc: dict) -> bytes:
    return Path(doc["path"]).read_bytes()


@pytest.mark.parametrize("make, mime", [
    (lambda: png_with_credentials("before_idat"), "image/png"),
    (lambda: png_with_credentials("before_iend"), "image/png"),
    (jpeg_with_credentials, "image/jpeg"),
    (webp_with_credentials, "image/webp"),
])
def test_a_file_with_credentials_is_saved_byte_for_byte(run, fake, workdir, make, mime):
    sent = make()
    fake.enqueue("chat", chat_image_reply(images=[sent], mime=mime))
    doc = assert_one_json(run("generate.py", "--prompt", "A lighthouse at dusk, oil painting", "--model",
                              "nanobanana-2"))
    assert doc["content_credentials"] is True and doc["warnings"] == [SMALLER]
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert _saved(doc) == sent and sidecar["image"]["sha256"] == hashlib.sha256(sent).hexdigest()
    assert sidecar["image"]["content_credentials"] is True
    assert read_png_metadata(Path(doc["path"])) is None  # provenance lives in the sidecar only


def test_other_pngs_keep_our_record_before_iend_where_recovery_reads_it(run, fake, workdir):
    sent = make_png(32, 24)
    fake.enqueue("chat", chat_image_reply(images=[sent]))
    doc = assert_one_json(run("generate.py", "--prompt", "A lighthouse at dusk, oil painting"))
    saved = _saved(doc)
    assert doc["content_credentials"] is False and doc["warnings"] == [SMALLER]
    assert saved.startswith(sent[:-12]) and saved.endswith(sent[-12:]) and len(saved) > len(sent)
    record = read_png_metadata(Path(doc["path"]))
    assert record is not None and record["request"]["prompt"] == "A lighthouse at dusk, oil painting"


def test_the_images_api_and_mask_edits_keep_credentials_too(run, fake, workdir):
    sent = png_with_credentials()
    fake.enqueue("images", images_reply(images=[sent]))
    doc = assert_one_json(run("generate.py", "--prompt", "A lighthouse at dusk, oil painting", "--api", "images"))
    assert doc["content_credentials"] is True and _saved(doc) == sent and doc["warnings"] == [SMALLER]
    (workdir / "room.png").write_bytes(make_png(64, 64))
    fake.enqueue("edits", edits_reply(images=[sent]))
    doc = assert_one_json(run("edit.py", "--input-image", "room.png", "--mask-rect", "0,0,10,10",
                              "--prompt", "A small window"))
    assert doc["content_credentials"] is True and _saved(doc) == sent
    assert doc["warnings"] == ["asked for about 1024x1024 but the provider returned 32x24: its aspect ratio differs "
                               "and it is smaller than asked (check the model's supported sizes, or ask again)"]


# -- a real manifest, checked by the C2PA reference verifier (the c2pa-python test extra) -----------

def _signed_png(tmp_path: Path) -> bytes:
    """A PNG signed with a throwaway ES256 chain (made with openssl), by c2pa-python's Builder."""
    import io
    import shutil
    import subprocess

    c2pa = pytest.importorskip("c2pa", reason="the C2PA verifier is not installed (python3 tests/run.py installs it)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a throwaway signing certificate")
    commands = [
        "openssl ecparam -name prime256v1 -genkey -noout -out ca.key",
        "openssl req -x509 -new -key ca.key -sha256 -days 2 -subj /CN=test-ca -out ca.pem "
        "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
        "openssl ecparam -name prime256v1 -genkey -noout -out leaf.key",
        "openssl pkcs8 -topk8 -nocrypt -in leaf.key -out leaf.pk8",
        "openssl req -new -key leaf.key -subj /CN=test-signer -out leaf.csr",
        "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 "
        "-extfile leaf.ext -out leaf.pem",
    ]
    (tmp_path / "leaf.ext").write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                       "extendedKeyUsage=emailProtection\n")
    for command in commands:
        subprocess.run(command.split(), cwd=tmp_path, check=True, capture_output=True)
    chain = (tmp_path / "leaf.pem").read_bytes() + (tmp_path / "ca.pem").read_bytes()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg=b"es256", sign_cert=chain,
                                                       private_key=(tmp_path / "leaf.pk8").read_bytes(), ta_url=None))
    manifest = {"claim_generator_info": [{"name": "image-gen tests", "version": "1"}], "title": "fox.png",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
                    "action": "c2pa.created",
                    "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}]}}]}
    signed = io.BytesIO()
    c2pa.Builder(json.dumps(manifest)).sign(signer, "image/png", io.BytesIO(make_png(32, 24)), signed)
    return signed.getvalue()


def _validation_state(data: bytes) -> str:
    import io

    import c2pa

    return c2pa.Reader("image/png", io.BytesIO(data)).get_validation_state()


def test_a_saved_file_still_verifies_with_the_c2pa_reader(run, fake, tmp_path):
    signed = _signed_png(tmp_path)
    assert _validation_state(signed) == "Valid"
    # What image-gen did before: our chunk after IHDR breaks the hard binding.
    broken = signed[:33] + _chunk(b"iTXt", b"image-gen\x00\x00\x00\x00\x00{}") + signed[33:]
    assert _validation_state(broken) == "Invalid"
    fake.enqueue("chat", chat_image_reply(images=[signed]))
    doc = assert_one_json(run("generate.py", "--prompt", "A lighthouse at dusk, oil painting", "--model",
                              "nanobanana-2"))
    saved = _saved(doc)
    assert doc["content_credentials"] is True and saved == signed and _validation_state(saved) == "Valid"
