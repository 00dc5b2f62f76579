"""Copies of the project: a newcomer's fresh clone (copy_project: for the local e2e test and
bench/bench_local.py), and the components alone with the UI's dependencies hard-linked
(copy_components: the pipeline, secrets and environments tests, bench/bench_parallel_envs.py)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("lambda_src", "mcp_server", "ui", "infrastructure")
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


def copy_components(dest: Path, names: tuple[str, ...] = COMPONENTS) -> Path:
    """The components and invoke.yaml into a new ``dest`` (no caches, builds or .tars), with the
    checkout's ui/node_modules hard-linked (no second npm ci) and marked installed when it has one."""
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "dist", ".tars")
    for name in names:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    shutil.copy(ROOT / "invoke.yaml", dest / "invoke.yaml")
    link_node_modules(dest)
    return dest


def link_node_modules(dest: Path) -> None:
    """The checkout's ui/node_modules hard-linked into the copy at ``dest`` and marked installed, when
    the checkout has one (no second npm ci)."""
    modules = ROOT / "ui" / "node_modules"
    if modules.is_dir() and not (dest / "ui" / "node_modules").exists():
        subprocess.run(["cp", "-al", str(modules), str(dest / "ui" / "node_modules")], check=True)
        from tars_tasks.artifacts import ui_bundle

        ui_bundle.mark_installed(dest / "ui")


def stop_recorded(root: Path) -> None:
    """Stop every local process still recorded under the copy's .tars/local/proc (after
    ``inv local.down``: never leave one behind)."""
    from tars_tasks.local import processes

    proc_dir = root / ".tars" / "local" / "proc"
    for proc in processes.recorded(proc_dir):
        processes.stop(proc_dir, proc.name)


def extract(ref: str, dest: Path, *paths: str) -> Path:
    """``paths`` (default: the whole tree) as they are at git ``ref``, unpacked into ``dest``: the
    "before" side of a benchmark."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, *paths], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest
