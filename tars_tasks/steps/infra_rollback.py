"""Infrastructure rollback: revert the Terraform change in git, then the guarded plan and apply.

This is the runbook's "git revert HEAD; terraform apply", made careful: only a commit that
touches ``infrastructure/`` is reverted, a conflicting revert is aborted (the tree is left as it
was), and the apply goes through the same destroy guard as ``inv deploy-infrastructure``.
"""
from __future__ import annotations

from ..errors import ConfigError, Refused, StepFailed, TarsError, UsageError
from ..outcome import PLANNED, Outcome

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


def run(settings, target: str | None = None, *, dry_run: bool = False, allow_destroy: bool = False,
        allow_data_loss: bool = False, show=None, confirm=None) -> Outcome:
    from ..tools import git
    from . import infra

    root = settings.root
    sha = _target(settings, target)
    title = f"{sha[:12]} {git.subject(root, sha)}".strip()
    if git.is_dirty(root, (PATH,)):
        raise Refused(f"uncommitted changes in {PATH}/: not reverting {sha[:12]} over them",
                      "commit or stash them first (git stash), then run the rollback again")
    if dry_run:
        return Outcome(infra.COMPONENT, PLANNED, before=git.commit(root),
                       detail=f"would git revert --no-edit {title}, then plan and apply with the destroy guard",
                       data={"revert": sha})
    try:
        git.revert_no_edit(root, sha)
    except StepFailed as exc:
        git.abort_revert(root)
        raise StepFailed(f"git revert of {title} failed: {exc.message}",
                         "it was aborted and nothing changed; revert it by hand (git revert) and resolve the "
                         "conflicts, then run inv deploy-infrastructure") from None
    reverted_as = git.commit(root)
    kept = (f"the revert is committed as {reverted_as}; keep it and fix forward, or undo it with "
            f"git revert {reverted_as}")
    plan = None
    try:
        plan = infra.plan(settings)
        if show:
            show(plan)
        infra.guard(plan, allow_destroy=allow_destroy, allow_data_loss=allow_data_loss)
        if plan.has_changes and confirm:
            confirm(plan)
        outcome = infra.execute(settings, plan, allow_destroy=allow_destroy, allow_data_loss=allow_data_loss)
    except TarsError as exc:
        if plan is not None:
            infra.discard(plan)
        exc.hint = f"{exc.hint}. {kept}" if exc.hint else kept
        raise
    return Outcome(infra.COMPONENT, outcome.status, before=outcome.before, after=outcome.after,
                   detail=f"reverted {title} as {reverted_as}; {outcome.detail}",
                   rollback_command=f"git revert {reverted_as} && inv deploy-infrastructure",
                   elapsed=outcome.elapsed, data={"reverted": sha, "revert_commit": reverted_as, **outcome.data})
