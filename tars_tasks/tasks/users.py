"""`inv users.*`: who may use TARS. The SRE team's Cognito user pool, through its admin APIs.

    inv users.add alice@example.com --role editor     # Cognito e-mails a temporary password
    inv users.list
    inv users.role alice@example.com --role viewer
    inv users.remove alice@example.com

A role is a group (``tars-viewers``: chat, read; ``tars-editors``: also write the knowledge base
and incidents). A password never reaches argv or a log: on AWS Cognito generates the temporary
one and e-mails it (or takes TARS_USER_PASSWORD from the environment); the local emulator
delivers no e-mail, so ``--local`` generates one into ``.tars/local/users/<email>.password``
(mode 0600, a local demo secret) and prints where it is.
"""
from __future__ import annotations

import re

from invoke import Collection

from .. import console
from ..errors import ConfigError, UsageError
from ..skeleton import READS, load_settings, run, tars_task

COMMON = ("env", "local", "dry_run", "json")   # no --yes: nothing asks (the user pool is not a deploy)

SUBCOLLECTION = "users"
ROLES = ("viewer", "editor")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
ROLE_HELP = "viewer (chat, read the knowledge base and incidents) or editor (also change them)"
EMAIL_HELP = "the person's e-mail address (their user name)"


def check_email(email: str | None) -> str:
    value = (email or "").strip()
    if not EMAIL.match(value) or len(value) > 254:
        raise UsageError(f"{value[:80]!r} is not an e-mail address", "give the person's address, like alice@example.com")
    return value


def check_role(role: str | None) -> str:
    value = (role or "").strip().lower()
    if value not in ROLES:
        raise UsageError(f"unknown role {role!r}" if role else "--role is required",
                         f"use --role viewer or --role editor ({ROLE_HELP})")
    return value


def pool(settings) -> str:
    if not settings.cognito_user_pool_id:
        raise ConfigError("no user pool configured (cognito_user_pool_id)",
                          "run inv deploy-infrastructure (its outputs name the pool), or set TARS_COGNITO_USER_POOL_ID")
    return settings.cognito_user_pool_id


@tars_task(common=COMMON, help={"email": EMAIL_HELP, "role": ROLE_HELP,
                                 "exist_ok": "a user that exists already is no error (make demo's demo editor): nothing changes"})
def add(c, email, role=None, *, flags, exist_ok=False):   # email, role first: --env is -n
    """Add a person to the user pool with a role (viewer or editor)."""
    from ..aws import cognito
    from ..steps import users

    email, role = check_email(email), check_role(role)
    settings = load_settings(c, flags)
    pool_id = pool(settings)
    plan, outcome = _run(settings, "users.add", flags,
                         lambda: users.plan_add(settings, pool_id, email, role, exist_ok=exist_ok),
                         lambda p: users.execute_add(settings, p))
    if flags.dry_run:
        return
    if not plan.has_changes:
        kept = outcome.data.get("password_file")
        console.ok(f"{email} exists already: no changes" + (f"; its password is in {kept}" if kept else ""))
        return
    console.ok(f"added {email} as {role} ({cognito.GROUPS[role]}) to pool {pool_id}")
    how = outcome.data["password"]
    if outcome.data.get("password_file"):
        console.info(f"local sign-in: {email} with the password in {outcome.data['password_file']} "
                     "(a local demo secret)")
    elif how == "env":
        console.info(f"local sign-in: {email} with the password from TARS_USER_PASSWORD")
    else:
        console.info(f"Cognito e-mails {email} a temporary password; they choose their own at first sign-in")


def _run(settings, command, flags, plan, execute):
    """The task skeleton without the deploy lock or a question (the user pool is not a deploy):
    plan (reads only) → show it → --dry-run stops → execute that plan → the --json report."""
    def show(p) -> None:
        for line in p.summary():
            console.detail(line)

    made, outcome = run(settings, command, plan, execute, json=flags.json, component="users", dry_run=flags.dry_run,
                        yes=True, question=lambda p: None, show=show, locked=False)
    if flags.dry_run and made.has_changes:
        console.ok("dry run: nothing changed")
    return made, outcome


@tars_task(common=READS)
def list(c, flags):  # noqa: A001 - the task is users.list
    """List the user pool's people with their role and status."""
    from ..aws import cognito

    settings = load_settings(c, flags)
    pool_id = pool(settings)
    users = cognito.list_users(settings.clients, pool_id)
    console.table(f"users of pool {pool_id}", ["e-mail", "role", "status", "enabled", "created"],
                  [(u.email, u.role or "none (no TARS group)", u.status, "yes" if u.enabled else "no", u.created)
                   for u in users])
    console.write_report(flags.json, {"task": "users.list", "pool": pool_id,
                                "users": [{"email": u.email, "role": u.role, "status": u.status,
                                           "enabled": u.enabled, "created": u.created} for u in users]})
    if not users:
        console.info("no users yet: inv users.add EMAIL --role viewer|editor")


@tars_task(common=COMMON, help={"email": EMAIL_HELP})
def remove(c, email, *, flags):
    """Remove a person from the user pool (signed out everywhere, then deleted)."""
    from ..steps import users

    email = check_email(email)
    settings = load_settings(c, flags)
    pool_id = pool(settings)
    _, outcome = _run(settings, "users.remove", flags, lambda: users.plan_remove(settings, pool_id, email),
                      lambda p: users.execute_remove(settings, p))
    if not flags.dry_run:
        console.ok(outcome.detail)


@tars_task(common=COMMON, help={"email": EMAIL_HELP, "role": ROLE_HELP})
def role(c, email, role=None, *, flags):
    """Change a person's role (viewer or editor)."""
    from ..steps import users

    email, wanted = check_email(email), check_role(role)
    settings = load_settings(c, flags)
    pool_id = pool(settings)
    plan, _ = _run(settings, "users.role", flags, lambda: users.plan_role(settings, pool_id, email, wanted),
                   lambda p: users.execute_role(settings, p))
    if not plan.has_changes:
        console.ok(plan.summary()[0])
    elif not flags.dry_run:
        console.ok(f"{email}: {plan.before or 'no role'} -> {wanted}")
        if plan.change.sign_out:
            console.info("signed out everywhere: a token already issued keeps the old role until it expires (30 min)")


ns = Collection(add, list, remove, role)
