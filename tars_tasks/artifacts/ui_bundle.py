"""The UI bundle: build ui/ with npm, then describe ui/dist as files with hashes and headers.

``build(settings, ui_dir)`` runs ``npm ci`` only when ``package-lock.json`` changed since the
last install (a marker in node_modules, the one `make setup` writes too), then ``npm run build``
with VITE_API_ENDPOINT from settings in the child's environment (no ``.env.production`` is ever
written), only when the sources or that variable changed since the build that dist holds.
``scan(dist_dir)`` returns a :class:`Bundle`: every file with its MD5 (S3's single-part ETag),
SHA-256 (stored in object metadata), Content-Type and Cache-Control.
"""
from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import StepFailed, UsageError

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"

# mimetypes alone gets these wrong or leaves them out on some systems.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".wasm": "application/wasm",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".ico": "image/x-icon",
}
# Vite names hashed assets assets/<name>-<hash>.<ext> with an 8-character base64url hash.
# A hash must hold a digit or a capital: a plain word ("assets/my-component.js") is not one,
# and a file wrongly thought unhashed only loses caching, never correctness.
_HASHED = re.compile(r"^assets/(?:.+/)?[^/]+-(?P<hash>[A-Za-z0-9_-]{8,})\.[A-Za-z0-9]+(?:\.map)?$")


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(key, strict=False)
    return guessed or "application/octet-stream"


def is_hashed_asset(key: str) -> bool:
    match = _HASHED.match(key)
    return bool(match and re.search(r"[0-9A-Z]", match.group("hash")))


def cache_control(key: str) -> str:
    return IMMUTABLE if is_hashed_asset(key) else REVALIDATE


def is_html(key: str) -> bool:
    return key.lower().endswith((".html", ".htm"))


@dataclass(frozen=True)
class BundleFile:
    key: str
    path: Path
    size: int
    md5: str
    sha256: str
    content_type: str
    cache_control: str

    @property
    def html(self) -> bool:
        return is_html(self.key)

    @property
    def immutable(self) -> bool:
        return self.cache_control == IMMUTABLE


@dataclass(frozen=True)
class Bundle:
    dist_dir: Path
    files: tuple[BundleFile, ...]
    excluded: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def by_key(self) -> dict[str, BundleFile]:
        return {f.key: f for f in self.files}


def _hashes(path: Path) -> tuple[str, str]:
    """(MD5, SHA-256) of a file; ConfigError (exit 2, nothing changed) when it cannot be read."""
    from ..errors import ConfigError

    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                md5.update(chunk)
                sha.update(chunk)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}",
                          "make it readable (or rebuild the UI without --skip-build), then deploy again") from None
    return md5.hexdigest(), sha.hexdigest()


def scan(dist_dir: Path, *, sourcemaps: bool = False,
         cache_rule: Callable[[str], str] = cache_control) -> Bundle:
    """Every file under ``dist_dir`` with its hashes and headers (source maps only if asked)."""
    dist_dir = Path(dist_dir)
    if not (dist_dir / "index.html").is_file():
        raise StepFailed(f"no index.html in {dist_dir}: nothing to deploy",
                         "run the build (without --skip-build) and check that it writes dist/index.html")
    from ..steps.release import LEGACY_PREFIXES
    from . import secrets

    reserved = tuple(LEGACY_PREFIXES.values())
    files, excluded = [], []
    for path in sorted(p for p in dist_dir.rglob("*") if p.is_file()):
        key = path.relative_to(dist_dir).as_posix()
        if key.startswith(reserved):
            raise UsageError(f"dist holds {key}: {', '.join(reserved)} are reserved (older versions of this "
                             "tool kept release records there)", "rename that folder in the UI build")
        secrets.refuse_link_out(dist_dir, path, f"dist/{key}")
        if (key.endswith(".map") and not sourcemaps) or secrets.is_secret_name(path.name):
            excluded.append(key)
            continue
        md5, sha = _hashes(path)             # an unreadable file is a ConfigError here, before the scan
        secrets.refuse_secret_content(path, f"dist/{key}")
        files.append(BundleFile(key, path, path.stat().st_size, md5, sha, content_type(key), cache_rule(key)))
    return Bundle(dist_dir, tuple(files), tuple(excluded))


# ---------------------------------------------------------------- building with npm
# Both markers live in node_modules (npm ci replaces it, so they go with what they describe). The
# Makefile's `make setup` writes the install marker through mark_installed() after its own npm ci.
INSTALL_MARKER = ".package-lock.sha256"
BUILD_MARKER = ".tars-ui-build.json"
NOT_INPUTS = {"node_modules", "dist"}


def lock_marker(ui_dir: Path) -> Path:
    return Path(ui_dir) / "node_modules" / INSTALL_MARKER


def _write(path: Path, text: str) -> None:
    """Atomically, as a new file (a node_modules hard-linked from another checkout stays untouched)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def mark_installed(ui_dir: Path | str) -> None:
    """Record that node_modules matches package-lock.json (after an npm ci)."""
    _write(lock_marker(Path(ui_dir)), _lock_digest(Path(ui_dir) / "package-lock.json") + "\n")


def needs_install(ui_dir: Path, marker: Path | None = None) -> bool:
    """True when node_modules is missing or package-lock.json changed since the last npm ci."""
    lock = ui_dir / "package-lock.json"
    marker = marker or lock_marker(ui_dir)
    if not marker.is_file() or marker.read_text().strip() != _lock_digest(lock):
        return True
    return _has_dependencies(lock) and not (ui_dir / "node_modules").is_dir()


def _has_dependencies(lock: Path) -> bool:
    import json

    try:
        packages = json.loads(lock.read_text()).get("packages", {})
    except (OSError, ValueError):
        return True
    return any(name for name in packages)


def _lock_digest(lock: Path) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "no-lock"


def _input_files(ui_dir: Path):
    """The project's files outside NOT_INPUTS, without walking node_modules (tens of thousands
    of files a no-op deploy used to list only to skip them)."""
    for top in ui_dir.iterdir():
        if top.name in NOT_INPUTS:
            continue
        if top.is_dir():
            yield from (p for p in top.rglob("*") if p.is_file())
        elif top.is_file():
            yield top


def _build_inputs(ui_dir: Path, env: dict[str, str]) -> str:
    """Everything `npm run build` reads: the project's files (not node_modules or dist, whose
    content package-lock.json pins) and the VITE_* / NODE_ENV variables."""
    digest = hashlib.sha256()
    for path in sorted(_input_files(ui_dir)):
        digest.update(f"{path.relative_to(ui_dir).as_posix()}\0{_hashes(path)[1]}\n".encode())
    for key in sorted(k for k in env if k.startswith("VITE_") or k == "NODE_ENV"):
        digest.update(f"{key}={env[key]}\n".encode())
    return digest.hexdigest()


def _dist_state(dist: Path) -> list:
    return sorted([p.relative_to(dist).as_posix(), p.stat().st_size, p.stat().st_mtime_ns]
                  for p in dist.rglob("*") if p.is_file()) if dist.is_dir() else []


def _built(ui_dir: Path, inputs: str) -> bool:
    """True when dist is exactly what a build of these inputs wrote (untouched since)."""
    import json

    try:
        stamp = json.loads((ui_dir / "node_modules" / BUILD_MARKER).read_text())
    except (OSError, ValueError):
        return False
    dist = ui_dir / "dist"
    return stamp == {"inputs": inputs, "dist": _dist_state(dist)} and (dist / "index.html").is_file()


def sign_in_environment(settings) -> dict[str, str]:
    """The UI's sign-in configuration (ui/src/auth.js): the user pool and app client from the
    cognito_* outputs; locally also the emulator that plays Cognito. None without a pool."""
    if not (settings.cognito_user_pool_id and settings.cognito_client_id):
        return {}
    return {"VITE_COGNITO_USER_POOL_ID": settings.cognito_user_pool_id,
            "VITE_COGNITO_CLIENT_ID": settings.cognito_client_id, "VITE_COGNITO_REGION": settings.region,
            **settings.target.sign_in_build_env()}


def build(settings, ui_dir: Path | None = None, *, api_endpoint: str | None = None,
          on_step: Callable[[str], None] = lambda _text: None) -> Path:
    """Install (when the lock changed) and build the UI (when its inputs changed), one build at a
    time per checkout. Returns this environment's own copy of dist (``dist/ui-<env>``): the bundle
    is built for one env's API endpoint, so a parallel deploy of another env (which rebuilds ui/dist
    for its own) never changes the files this one scans and uploads."""
    from ..lock import one_at_a_time

    ui_dir = Path(ui_dir or settings.root / "ui")
    with one_at_a_time(settings.dist_dir / ".ui-build.lock"):
        return _snapshot(_build(settings, ui_dir, api_endpoint, on_step), settings.dist_dir / f"ui-{settings.state_dir.name}")


def _snapshot(dist: Path, copy: Path) -> Path:
    """``dist`` copied to ``copy`` (links kept as links: scan refuses one that leaves it)."""
    import os
    import shutil

    fresh = copy.with_name(f"{copy.name}.{os.getpid()}.tmp")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(dist, fresh, symlinks=True)
    shutil.rmtree(copy, ignore_errors=True)
    os.replace(fresh, copy)
    return copy


def _build(settings, ui_dir: Path, api_endpoint: str | None, on_step: Callable[[str], None]) -> Path:
    import json

    from ..tools import npm

    if not (ui_dir / "package.json").is_file():
        raise UsageError(f"no UI project at {ui_dir} (package.json missing)",
                         "run from the project root, or deploy an existing build with --skip-build")
    endpoint = api_endpoint or settings.vite_api_endpoint
    if not endpoint:
        settings.require("vite_api_endpoint")
    env = settings.child_env(VITE_API_ENDPOINT=endpoint, **sign_in_environment(settings))   # no AWS variable, no secret
    if needs_install(ui_dir):
        on_step("npm ci (package-lock.json changed)")
        npm.ci(ui_dir, env)
        mark_installed(ui_dir)
    else:
        on_step("npm ci skipped (package-lock.json unchanged)")
    dist = ui_dir / "dist"
    inputs = _build_inputs(ui_dir, env)
    if _built(ui_dir, inputs):
        on_step(f"npm run build skipped ({dist} is the build of these sources and VITE_API_ENDPOINT={endpoint})")
        return dist
    on_step(f"npm run build (VITE_API_ENDPOINT={endpoint})")
    npm.run_build(ui_dir, env)
    if not (dist / "index.html").is_file():
        raise StepFailed(f"npm run build wrote no {dist / 'index.html'}: nothing uploaded",
                         "check the build's outDir (vite.config) and its output above")
    _write(ui_dir / "node_modules" / BUILD_MARKER, json.dumps({"inputs": inputs, "dist": _dist_state(dist)}))
    return dist


if __name__ == "__main__":   # `python -m tars_tasks.artifacts.ui_bundle --mark-installed ui` (the Makefile)
    import sys

    if sys.argv[1:2] != ["--mark-installed"] or len(sys.argv) != 3:
        sys.exit("usage: python -m tars_tasks.artifacts.ui_bundle --mark-installed UI_DIR")
    mark_installed(sys.argv[2])
