"""The Lambda zip's dependencies: installed once per requirements + platform, then cached.

``lambda_src/requirements.txt`` is installed for the Lambda platform (manylinux2014_x86_64,
CPython 3.11, binary wheels only) into ``.tars/cache/deps-<key>/`` (key: the requirements' text
and the platform). The directory is filled in a staging folder and renamed when complete, so an
interrupted install never serves a half cache; a second build runs no pip at all. With a builder
(``user@host[:port]``) pip runs there (``tools.remote.pip_install``) and its tar.gz is unpacked.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import StepFailed, UsageError

PLATFORM = "manylinux2014_x86_64"
PIP_TARGET_ARGS = ["--platform", PLATFORM, "--python-version", "3.11", "--implementation", "cp",
                   "--abi", "cp311", "--only-binary=:all:"]
COMPLETE_MARKER = ".tars-complete"
SOURCE_DIR = "lambda_src"


def dependency_key(requirements: str) -> str:
    seed = json.dumps([requirements, PIP_TARGET_ARGS])
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def has_requirements(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in text.splitlines())


def run_pip(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=str(cwd), capture_output=True, text=True)


def ensure_dependencies(deps_dir: Path, requirements_file: Path, requirements: str,
                        builder: str | None) -> str:
    """Fill ``deps_dir`` once (pip, or the remote builder). Returns how: cache/none/pip/builder."""
    if (deps_dir / COMPLETE_MARKER).is_file():
        return "cache"
    deps_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{deps_dir.name}.", dir=deps_dir.parent))
    try:
        if not has_requirements(requirements):
            how = "none"
        elif builder:
            _install_remote(builder, requirements, staging)
            how = "builder"
        else:
            _install_pip(requirements_file, staging)
            how = "pip"
        (staging / COMPLETE_MARKER).write_text(requirements)
        if deps_dir.exists():
            shutil.rmtree(deps_dir)   # an incomplete leftover of an interrupted build
        os.replace(staging, deps_dir)
        return how
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _install_pip(requirements_file: Path, target: Path) -> None:
    argv = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-input", "--no-compile", "--target", str(target), *PIP_TARGET_ARGS,
            "-r", str(requirements_file)]
    result = run_pip(argv, requirements_file.parent)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("ERROR")), lines[-1] if lines else "")
        raise StepFailed(f"pip could not install {SOURCE_DIR}/requirements.txt for {PLATFORM}/cp311: {reason}"[:400],
                         "every package needs a binary wheel for manylinux2014_x86_64 and CPython 3.11 "
                         "(pin another version), or build on a Linux host with --builder user@host")


BUILDER = re.compile(r"^[A-Za-z0-9._-]+@(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")   # as tools.remote.parse


def check_builder(builder: str | None) -> None:
    if builder and not BUILDER.match(builder):
        raise UsageError(f"builder {builder!r} is not user@host[:port]",
                         "pass --builder ci@build-host or --builder ci@10.0.0.5:2222 (or set TARS_BUILDER)")


def _install_remote(builder: str, requirements: str, target: Path) -> None:
    import io
    import tarfile

    check_builder(builder)

    from ..tools import remote

    payload = remote.pip_install(builder, requirements, list(PIP_TARGET_ARGS))
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise StepFailed(f"the builder {builder} sent back an unreadable archive ({exc})",
                         "run the build again; check the builder's disk space and pip output") from None
