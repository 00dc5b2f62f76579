"""Where the local runtime gets a function version's code, proven by its CodeSha256.

The emulator keeps the zip but its ``Code.Location`` is not a URL anyone can fetch, so the
runtime looks for bytes whose sha256 equals the CodeSha256 the emulator reports for the version:
the Location when it is served on 127.0.0.1, then ``dist/lambda.zip`` (what deploy-lambda
uploaded), then zips kept in ``.tars/local/code/`` (Terraform's placeholder, infrastructure/bootstrap/placeholder.zip), then objects
of the artifact bucket of the same size. It runs nothing else: no match is an error. The zip
is unpacked once into ``.tars/cache/runtime/<sha>/``.
"""
from __future__ import annotations

import base64
import hashlib
import io
import shutil
import tempfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from ..errors import StepFailed

def sha256_b64(data: bytes) -> str:
    """sha256 as Lambda reports CodeSha256 (base64)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _hex(sha_b64: str) -> str:
    return base64.b64decode(sha_b64).hex()


def store_dir(settings) -> Path:
    return settings.local_dir / "code"


def keep(settings, data: bytes) -> Path:
    """Keep ``data`` where the runtime finds it by hash (for code that is in no dist/)."""
    path = store_dir(settings) / f"{_hex(sha256_b64(data))}.zip"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


def cache_dir(settings, sha_b64: str) -> Path:
    return settings.cache_dir / "runtime" / _hex(sha_b64)


def _local_location(location: str | None) -> bool:
    host = urllib.parse.urlparse(location or "").hostname or ""
    return host in ("127.0.0.1", "localhost")


def _candidates(settings, sha_b64: str, size: int | None, location: str | None):
    if _local_location(location):
        try:
            with urllib.request.urlopen(location, timeout=30) as reply:
                yield f"Code.Location {location}", lambda data=reply.read(): data
        except OSError:
            pass
    for path in (settings.dist_dir / "lambda.zip", store_dir(settings) / f"{_hex(sha_b64)}.zip"):
        if path.is_file() and (size is None or path.stat().st_size == size):
            yield str(path), path.read_bytes
    bucket = getattr(settings, "artifact_bucket", None)
    if bucket and size:
        from ..aws import s3

        try:
            for key, obj in s3.list_objects(settings.clients, bucket).items():
                if obj["size"] == size:
                    yield f"s3://{bucket}/{key}", lambda key=key: s3.get_bytes(settings.clients, bucket, key)
        except Exception:  # noqa: BLE001 - the artifact bucket is only a last resort
            return


def unpacked(settings, sha_b64: str, size: int | None = None, location: str | None = None) -> Path:
    """The directory holding the code whose sha256 is ``sha_b64`` (unpacked on first use)."""
    target = cache_dir(settings, sha_b64)
    if (target / ".complete").exists():
        return target
    for source, read in _candidates(settings, sha_b64, size, location):
        data = read()
        if sha256_b64(data) != sha_b64:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        # one directory per call, not per process: the runtime's threads cold-start workers of
        # one version at once (a shared name made one thread's extract fail on the other's dirs)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=target.name + ".tmp"))
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            zf.extractall(tmp)
        (tmp / ".complete").write_text(source + "\n")
        if target.exists() and not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)  # left half-unpacked by a killed run
        try:
            tmp.rename(target)
        except OSError:  # another worker unpacked it first
            shutil.rmtree(tmp, ignore_errors=True)
        return target
    raise StepFailed(f"the code of this version (CodeSha256 {sha_b64}) is not available locally",
                     "the runtime runs only the exact deployed zip: rebuild it (inv build) or redeploy "
                     "with inv deploy-lambda --local")
