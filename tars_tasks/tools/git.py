"""git: the commit being deployed, whether the tree is dirty, reverts, review checks."""
from __future__ import annotations

import subprocess
from pathlib import Path

from ..errors import ConfigError, StepFailed


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(["git", *args], cwd=str(root), capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise ConfigError("git is not installed", "install git (apt-get install git)") from None
    if check and result.returncode != 0:
        raise StepFailed(f"git {' '.join(args)} failed: {result.stderr.strip().splitlines()[-1:] or ['']}"[:300],
                         f"run it by hand in {root} to see why")
    return result


def is_repo(root: Path) -> bool:
    return _git(root, "rev-parse", "--is-inside-work-tree", check=False).returncode == 0


def commit(root: Path, short: bool = True) -> str:
    """HEAD's commit id, or 'unknown' outside a repository (or before the first commit)."""
    args = ["rev-parse", "--short=12", "HEAD"] if short else ["rev-parse", "HEAD"]
    result = _git(root, *args, check=False)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def is_dirty(root: Path, paths: tuple[str, ...] = ()) -> bool:
    """True when tracked or untracked (not ignored) files differ from HEAD (within ``paths``)."""
    if not is_repo(root):
        return False
    result = _git(root, "status", "--porcelain", "--", *paths, check=False)
    return bool(result.stdout.strip())


def describe(root: Path, paths: tuple[str, ...] = ()) -> str:
    """The commit, with '-dirty' when the tree (or ``paths``) has uncommitted changes.

    With ``paths``, the commit is the newest one that changed them (so an MCP image tag or a
    Lambda version description only moves when its own sources do); HEAD otherwise.
    """
    c = commit(root)
    if c != "unknown" and paths:
        c = short_commit_touching(root, *paths) or c
    return f"{c}-dirty" if c != "unknown" and is_dirty(root, paths) else c


def newest_commit_touching(root: Path, path: str) -> str | None:
    result = _git(root, "log", "-n", "1", "--format=%H", "--", path, check=False)
    return result.stdout.strip() or None


def revert_no_edit(root: Path, rev: str) -> None:
    _git(root, "revert", "--no-edit", rev)


def contains_in(root: Path, branch: str, rev: str = "HEAD") -> bool:
    """True when ``rev`` is an ancestor of (contained in) ``branch``."""
    return _git(root, "merge-base", "--is-ancestor", rev, branch, check=False).returncode == 0


def user() -> str:
    import getpass
    import socket

    return f"{getpass.getuser()}@{socket.gethostname()}"


def short_commit_touching(root: Path, *paths: str) -> str | None:
    """``git log -1 --format=%h -- paths``: the abbreviated newest commit that changed ``paths``."""
    result = _git(root, "log", "-1", "--format=%h", "--abbrev=12", "--", *paths, check=False)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def resolve(root: Path, rev: str) -> str | None:
    """The full commit id ``rev`` names, or None when it names no commit."""
    result = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def subject(root: Path, rev: str) -> str:
    return _git(root, "log", "-n", "1", "--format=%s", rev, check=False).stdout.strip()


def touches(root: Path, rev: str, path: str) -> bool:
    """True when commit ``rev`` changed something under ``path``."""
    result = _git(root, "show", "--format=", "--name-only", rev, "--", path, check=False)
    return bool(result.stdout.strip())


def abort_revert(root: Path) -> None:
    """Undo a revert that stopped on a conflict (leaves the tree as before it)."""
    _git(root, "revert", "--abort", check=False)
