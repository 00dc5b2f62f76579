"""What never goes into a package: secret-looking files, secret-looking content, links out of the tree.

One source for the Lambda zip (artifacts/lambda_zip.py) and the UI bundle (artifacts/ui_bundle.py).
Every packed file is scanned whole, whatever its size, in 1 MiB chunks that overlap by more than the
longest pattern, so a key split across two chunks is still found.
"""
from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

from ..errors import ConfigError, Refused

SECRET_NAMES = (".env", ".env.*", "*.pem", "*.key", "id_*", "*.p12", "*.pfx", ".netrc", "credentials")
SECRET_CONTENT = re.compile(
    rb"-----BEGIN [A-Z ]*PRIVATE KEY-----"
    rb"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"                       # long-term and temporary access key ids
    rb"|\baws_secret_access_key\s*=\s*\S"                    # a credentials-file line with a value
    rb"|\bgh[pousr]_[A-Za-z0-9]{36,}")
# Every pattern above begins with one of these literals: a chunk that holds none of them cannot
# match, and a substring search runs at memory speed where the regex tries four branches at every
# byte (a 300-file, 20 MB UI bundle: 2.4 s of a deploy's CPU → ~0.02 s). Keep in step with
# SECRET_CONTENT: tests/unit/test_secrets_scan.py finds a sample of every pattern through find_secret.
PATTERN_STARTS = (b"-----BEGIN ", b"AKIA", b"ASIA", b"aws_secret_access_key",
                  b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_")
_CHUNK = 1 << 20
_OVERLAP = 256


def is_secret_name(name: str) -> bool:
    return any(fnmatch(name, pattern) for pattern in SECRET_NAMES) and not name.endswith(".py")


def find_secret(path: Path) -> bytes | None:
    """The first secret-looking match in the file, or None; the whole file is read."""
    tail = b""
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            window = tail + chunk
            if any(start in window for start in PATTERN_STARTS):
                match = SECRET_CONTENT.search(window)
                if match:
                    return match.group(0)
            tail = chunk[-_OVERLAP:]
    return None


def refuse_secret_content(path: Path, shown: str) -> None:
    match = find_secret(path)
    if match:
        raise Refused(f"{shown} holds what looks like a secret ({match[:10].decode(errors='replace')}...): "
                      "not packing it", "move the secret to SSM/Secrets Manager and read it at run time")


def refuse_link_out(root: Path, path: Path, shown: str) -> None:
    """A symlink (or a file under a linked directory) that leads outside ``root`` is refused."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        raise ConfigError(f"{shown} links outside {root.name}/ (to {path.resolve()}): not packing it",
                          "copy the file into the tree or remove the link") from None
