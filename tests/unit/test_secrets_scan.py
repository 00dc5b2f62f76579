"""artifacts/secrets.find_secret: every pattern of SECRET_CONTENT is found, wherever it sits in a file.

find_secret skips a chunk holding none of PATTERN_STARTS (the regex is slow over a whole bundle), so a
pattern added to SECRET_CONTENT without its literal there would be skipped silently: each sample
below must be found alone in a small file, and across the 1 MiB chunk boundary of a large one.
"""
from __future__ import annotations

import re

import pytest

from tars_tasks.artifacts import secrets

SAMPLES = {
    "private key block": b"-----BEGIN RSA PRIVATE KEY-----",
    "unlabelled private key block": b"-----BEGIN PRIVATE KEY-----",
    "long-term key id": b"AKIAABCDEFGHIJKLMNOP",
    "temporary key id": b"ASIAABCDEFGHIJKLMNOP",
    "credentials-file line": b"aws_secret_access_key = wJalrXUtnFEMI",
    **{f"github {kind} token": b"gh" + kind.encode() + b"_" + b"a1B2" * 9 for kind in "pousr"},
}


def branches() -> list[bytes]:
    """The top-level alternatives of SECRET_CONTENT, as written (split on '|' outside brackets)."""
    out, depth, start, pattern = [], 0, 0, secrets.SECRET_CONTENT.pattern
    for i, ch in enumerate(pattern):
        if ch in b"([" and pattern[i - 1:i] != b"\\":
            depth += 1
        elif ch in b")]" and pattern[i - 1:i] != b"\\":
            depth -= 1
        elif ch == ord("|") and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
    return out + [pattern[start:]]


def test_every_pattern_has_a_sample():
    assert len(branches()) >= 4
    for branch in branches():
        assert any(re.search(branch, sample) for sample in SAMPLES.values()), branch


@pytest.mark.parametrize("name", SAMPLES)
def test_found_alone(tmp_path, name):
    path = tmp_path / "file.js"
    path.write_bytes(b"const x = 1; " + SAMPLES[name] + b" ;\n")
    assert secrets.find_secret(path) == re.search(secrets.SECRET_CONTENT, SAMPLES[name]).group(0)


@pytest.mark.parametrize("name", SAMPLES)
def test_found_across_a_chunk_boundary(tmp_path, name):
    sample = b" " + SAMPLES[name] + b" "
    data = bytearray(b"x" * (2 * secrets._CHUNK + 100))
    at = secrets._CHUNK - len(sample) // 2
    data[at:at + len(sample)] = sample
    path = tmp_path / "bundle.js"
    path.write_bytes(bytes(data))
    assert secrets.find_secret(path) is not None


def test_clean_text_is_not_flagged(tmp_path):
    path = tmp_path / "app.js"
    path.write_bytes(b"function ghost_(a){return 'BEGIN' + a.AKIAS + aws_secret}\n" * 50_000)
    assert secrets.find_secret(path) is None
