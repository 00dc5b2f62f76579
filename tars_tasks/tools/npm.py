"""npm: ``npm ci`` and ``npm run build`` in the UI project, failures as one line + hint."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import ConfigError, StepFailed


def program(env: dict[str, str] | None = None) -> str:
    """The npm executable on PATH (of ``env`` when given), or ConfigError."""
    found = shutil.which("npm", path=(env or {}).get("PATH"))
    if not found:
        raise ConfigError("npm is not installed (not found on PATH)",
                          "install Node.js 20 with npm (apt-get install nodejs npm), "
                          "or deploy an existing build with --skip-build")
    return found


def _run(ui_dir: Path, env: dict[str, str], *args: str, what: str, timeout: float) -> None:
    argv = [program(env), *args]
    try:
        result = subprocess.run(argv, cwd=str(ui_dir), env=env, capture_output=True, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{what} did not finish in {int(timeout)} s", f"run it by hand in {ui_dir}") from None
    if result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-8:]
        raise StepFailed(f"{what} failed (exit {result.returncode}) in {ui_dir}",
                         f"run 'npm {' '.join(args)}' in {ui_dir} to see the whole output", details=tail)


def ci(ui_dir: Path, env: dict[str, str], timeout: float = 900) -> None:
    """Clean install from package-lock.json."""
    _run(ui_dir, env, "ci", "--no-audit", "--no-fund", what="npm ci", timeout=timeout)


def run_build(ui_dir: Path, env: dict[str, str], timeout: float = 900) -> None:
    """``npm run build`` with ``env`` (it carries VITE_API_ENDPOINT)."""
    _run(ui_dir, env, "run", "build", what="npm run build", timeout=timeout)
