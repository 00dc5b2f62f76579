"""A fresh copy of the project, as a newcomer's clone: for the local e2e test and bench/bench_local.py."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".tars", "dist", "node_modules", "__pycache__", ".pytest_cache", ".terraform"}


def copy_project(dest: Path) -> Path:
    """Copy the working tree (no .git, .tars, dist, node_modules, .venv*, .env*) into ``dest`` as a git
    repository of its own with one commit; share the Lambda dependency cache (.tars/cache)."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP_DIRS or n.startswith((".venv", ".env")) or n.endswith(".pyc")}

    shutil.copytree(ROOT, dest, ignore=ignore)
    git = ["git", "-c", "user.email=e2e@tars.invalid", "-c", "user.name=e2e"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot"], cwd=dest, check=True)
    (dest / ".tars").mkdir()
    cache = ROOT / ".tars" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (dest / ".tars" / "cache").symlink_to(cache)
    return dest
