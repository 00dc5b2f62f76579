"""The runbook's pre-deployment checklist: five items, each pass / fail / skip with a reason.

Every item is a plain function; the clock, the git root and the test runner are injectable.
"""
from __future__ import annotations

import shlex
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

PASS, FAIL, SKIP = "pass", "fail", "skip"
UNRESOLVED = ("open", "investigating", "mitigated")
BLOCKING_SEVERITIES = ("P1", "P2")


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    reason: str
    details: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def tests_pass(settings, *, skip: bool = False, root: Path | None = None,
               run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> Check:
    if skip:
        return Check("tests", SKIP, "skipped with --skip-tests")
    argv = shlex.split(settings.test_command or "")
    if not argv:
        return Check("tests", SKIP, "no test command configured (TARS_TEST_COMMAND)")
    try:
        result = run(argv, cwd=str(root or settings.root), capture_output=True, text=True,
                     env=settings.child_env())   # no AWS credentials, no GitHub token
    except FileNotFoundError:
        return Check("tests", FAIL, f"test command not found: {argv[0]}")
    if result.returncode == 0:
        return Check("tests", PASS, f"'{settings.test_command}' passed")
    tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
    return Check("tests", FAIL, f"'{settings.test_command}' exited {result.returncode}", tail)


def unresolved_incidents(settings) -> list[dict[str, str]]:
    """P1/P2 incidents whose status is not resolved (StatusIndex, one query per open status)."""
    from ..aws import dynamodb

    found = []
    for status in UNRESOLVED:
        for item in dynamodb.query(settings.clients, settings.incidents_table, "StatusIndex", "status", status):
            plain = {k: next(iter(v.values())) for k, v in item.items()}
            if str(plain.get("severity", "")).upper() in BLOCKING_SEVERITIES:
                found.append(plain)
    return found


def no_incidents(settings) -> Check:
    from ..aws.errors import error_code

    try:
        found = unresolved_incidents(settings)
    except Exception as exc:  # noqa: BLE001
        if error_code(exc.__cause__) == "ResourceNotFoundException":
            return Check("incidents", SKIP, f"incidents table {settings.incidents_table} does not exist yet")
        return Check("incidents", FAIL, f"cannot read the incidents table: {exc}")
    if not found:
        return Check("incidents", PASS, "no unresolved P1/P2 incident")
    lines = [f"{i.get('incident_id')} {i.get('severity')} {i.get('status')}: {i.get('title', '')}".strip()
             for i in found]
    return Check("incidents", FAIL, f"{len(found)} unresolved P1/P2 incident(s)", lines)


def reviewed(settings, *, root: Path | None = None, remote: str = "origin", branch: str = "main") -> Check:
    from ..tools import git

    root = Path(root or settings.root)
    if not git.is_repo(root):
        return Check("reviewed", FAIL, f"{root} is not a git repository")
    if git.is_dirty(root):
        return Check("reviewed", FAIL, "the working tree has uncommitted changes")
    fetched = git._git(root, "fetch", "--quiet", remote, branch, check=False)
    if fetched.returncode != 0:
        return Check("reviewed", FAIL, f"cannot fetch {remote}/{branch}: "
                     + (fetched.stderr.strip().splitlines() or ["no such remote"])[-1])
    if not git.contains_in(root, f"{remote}/{branch}"):
        return Check("reviewed", FAIL, f"HEAD {git.commit(root)} is not in {remote}/{branch} (not reviewed)")
    reason = f"clean, HEAD {git.commit(root)} is in {remote}/{branch}"
    if settings.github_token:
        from ..errors import TarsError
        from ..tools import github

        try:
            owner, repo = github.repository(root, remote)
            number, approved = github.approved_pull_request(settings.github_api_url, owner, repo,
                                                            git.commit(root, short=False), settings.github_token)
        except TarsError as err:
            return Check("reviewed", FAIL, f"cannot check the pull request: {err.message}")
        if number is None:
            return Check("reviewed", FAIL, f"HEAD {git.commit(root)} came through no pull request of {owner}/{repo}")
        if not approved:
            return Check("reviewed", FAIL, f"pull request #{number} of {owner}/{repo} has no approval")
        reason += f"; pull request #{number} approved"
    return Check("reviewed", PASS, reason)


def _zone(name: str):
    if not name or name == "local":
        return None
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def window(settings, *, clock: Callable[[], float] = time.time) -> Check:
    zone = _zone(settings.timezone)
    now = datetime.fromtimestamp(clock(), tz=zone or timezone.utc)
    if zone is None:
        now = datetime.fromtimestamp(clock()).astimezone()
    hhmm = now.strftime("%H:%M")
    for part in filter(None, (p.strip() for p in (settings.deploy_windows_blocked or "").split(","))):
        start, end = part.split("-")
        if start <= hhmm < end:
            return Check("window", FAIL, f"{hhmm} ({settings.timezone}) is inside the blocked window {part}")
    return Check("window", PASS, f"{hhmm} ({settings.timezone}) is outside {settings.deploy_windows_blocked or 'any blocked window'}")


def rollback_plan(settings, *, registry: Mapping[str, Any] | None = None, dry_run: bool = False,
                  clock: Callable[[], float] = time.time, root: Path | None = None) -> Check:
    """Record what is live now (a release record) and name the command that returns to it."""
    from ..tools import git
    from . import pipeline, release

    states = pipeline.current_all(settings, registry)
    live = {k: v for k, v in states.items() if k in pipeline.ROLLBACK_COMPONENTS and v.rollback_target}
    if not live:
        return Check("rollback plan", SKIP, "nothing is deployed yet: there is nothing to roll back to",
                     data={"components": {k: v.as_record() for k, v in states.items()}})
    try:
        latest = release.latest(settings)
        if release.matches(latest, live, live):
            rid = latest["release_id"]
        else:
            record = release.build(settings, states, commit=git.commit(Path(root or settings.root)),
                                   who=git.user(), preflight=None, command="preflight (live before deploy)",
                                   clock=clock)
            rid = record["release_id"]
            if not dry_run:
                release.write(settings, record)
    except Exception as exc:  # noqa: BLE001
        return Check("rollback plan", FAIL, f"cannot record what is live now: {pipeline.describe_failure(exc)}")
    command = release.rollback_command(settings, rid)
    return Check("rollback plan", PASS, f"live now = release {rid}; to return to it: {command}",
                 data={"release_id": rid, "rollback_command": command})


def run_checklist(settings, *, skip_tests: bool = False, clock: Callable[[], float] = time.time,
                  root: Path | None = None, registry: Mapping[str, Any] | None = None,
                  dry_run: bool = False, run: Callable[..., Any] = subprocess.run) -> list[Check]:
    return [tests_pass(settings, skip=skip_tests, root=root, run=run), no_incidents(settings),
            reviewed(settings, root=root), window(settings, clock=clock),
            rollback_plan(settings, registry=registry, dry_run=dry_run, clock=clock, root=root)]


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == FAIL]
