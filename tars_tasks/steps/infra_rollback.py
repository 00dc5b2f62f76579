"""Infrastructure rollback: revert the Terraform change in git, then the guarded plan and apply.

This is the runbook's "git revert HEAD; terraform apply", made careful: only a commit that
touches ``infrastructure/`` is reverted, a conflicting revert is aborted (the tree is left as it
was), and the apply goes through the same destroy guard as ``inv deploy-infrastructure``.
"""
from __future__ import annotations

from ..errors import ConfigError, Refused, StepFailed, UsageError

PATH = "infrastructure"


def _target(settings, target: str | None) -> str:
    from ..tools import git

    root = settings.root
    if not git.is_repo(root):
        raise ConfigError(f"{root} is not a git repository", "infrastructure rollback reverts a git commit")
    if target:
        sha = git.resolve(root, target)
        if not sha:
            raise UsageError(f"--commit {target} names no commit", "give a commit id, tag or HEAD~N")
        if not git.touches(root, sha, PATH):
            raise UsageError(f"commit {sha[:12]} does not touch {PATH}/",
                             f"git log -- {PATH} lists the commits that do")
        return sha
    sha = git.newest_commit_touching(root, PATH)
    if not sha:
        raise ConfigError(f"no commit touches {PATH}/: nothing to roll back", "deploy the infrastructure first")
    return sha


def revert(settings, target: str | None = None) -> tuple[str, str, str]:
    """Revert the infrastructure commit: (sha, title, the revert commit). Refused over uncommitted
    changes in infrastructure/; a conflicting revert is aborted (StepFailed, nothing changed)."""
    from ..tools import git

    root = settings.root
    sha, title = describe(settings, target)
    try:
        git.revert_no_edit(root, sha)
    except StepFailed as exc:
        git.abort_revert(root)
        raise StepFailed(f"git revert of {title} failed: {exc.message}",
                         "it was aborted and nothing changed; revert it by hand (git revert) and resolve the "
                         "conflicts, then run inv deploy-infrastructure") from None
    return sha, title, git.commit(root)


def describe(settings, target: str | None = None) -> tuple[str, str]:
    """(sha, 'sha12 subject') of the commit a rollback reverts; Refused over uncommitted changes."""
    from ..tools import git

    root = settings.root
    sha = _target(settings, target)
    title = f"{sha[:12]} {git.subject(root, sha)}".strip()
    if git.is_dirty(root, (PATH,)):
        raise Refused(f"uncommitted changes in {PATH}/: not reverting {sha[:12]} over them",
                      "commit or stash them first (git stash), then run the rollback again")
    return sha, title


def kept_hint(reverted_as: str) -> str:
    return (f"the revert is committed as {reverted_as}; keep it and fix forward, or undo it with "
            f"git revert {reverted_as}")
