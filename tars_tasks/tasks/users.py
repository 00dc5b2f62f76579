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
from ..skeleton import load_settings, tars_task

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


@tars_task(help={"email": EMAIL_HELP, "role": ROLE_HELP,
                 "exist_ok": "a user that exists already is no error (make demo's demo editor): nothing changes"})
def add(c, email, role=None, env=None, local=False, dry_run=False, json=None, exist_ok=False):
    """Add a person to the user pool with a role (viewer or editor)."""
    from ..aws import cognito

    email, role = check_email(email), check_role(role)
    settings = load_settings(c, env=env, local=local)
    pool_id = pool(settings)
    if dry_run:
        console.info(f"would call AdminCreateUser {email} and AdminAddUserToGroup {cognito.GROUPS[role]} "
                     f"in pool {pool_id}")
        return
    from ..local import users as local_users

    password = settings.user_password or None
    keeps = not settings.target.emails_passwords   # the emulator: a password kept in a local file
    generated = local_users.new_password() if keeps and not password else None
    try:
        user = cognito.add(settings.clients, pool_id, email, role,
                           temporary_password=None if keeps else password,
                           permanent_password=(password or generated) if keeps else None)
    except cognito.UserExists:
        if not exist_ok:
            raise
        kept = local_users.password_file(settings, email) if keeps else None
        where = f"; its password is in {kept}" if kept and kept.is_file() else ""
        console.ok(f"{email} exists already: no changes{where}")
        console.write_report(json, {"task": "users.add", "email": email, "changed": False, "pool": pool_id})
        return
    console.ok(f"added {email} as {role} ({cognito.GROUPS[role]}) to pool {pool_id}")
    report = {"task": "users.add", "email": email, "role": role, "status": user.status, "pool": pool_id}
    if generated:
        path = local_users.keep_password(settings, email, generated)
        console.info(f"local sign-in: {email} with the password in {path} (a local demo secret)")
        report["password_file"] = str(path)
    elif keeps:
        console.info(f"local sign-in: {email} with the password from TARS_USER_PASSWORD")
    else:
        console.info(f"Cognito e-mails {email} a temporary password; they choose their own at first sign-in")
    console.write_report(json, report)


@tars_task
def list(c, env=None, local=False, json=None):  # noqa: A001 - the task is users.list
    """List the user pool's people with their role and status."""
    from ..aws import cognito

    settings = load_settings(c, env=env, local=local)
    pool_id = pool(settings)
    users = cognito.list_users(settings.clients, pool_id)
    console.table(f"users of pool {pool_id}", ["e-mail", "role", "status", "enabled", "created"],
                  [(u.email, u.role or "none (no TARS group)", u.status, "yes" if u.enabled else "no", u.created)
                   for u in users])
    console.write_report(json, {"task": "users.list", "pool": pool_id,
                                "users": [{"email": u.email, "role": u.role, "status": u.status,
                                           "enabled": u.enabled, "created": u.created} for u in users]})
    if not users:
        console.info("no users yet: inv users.add EMAIL --role viewer|editor")


@tars_task(help={"email": EMAIL_HELP})
def remove(c, email, env=None, local=False, dry_run=False, json=None):
    """Remove a person from the user pool (signed out everywhere, then deleted)."""
    from ..aws import cognito

    email = check_email(email)
    settings = load_settings(c, env=env, local=local)
    pool_id = pool(settings)
    if dry_run:
        cognito.get(settings.clients, pool_id, email)
        console.info(f"would call AdminUserGlobalSignOut and AdminDeleteUser for {email} in pool {pool_id}")
        return
    cognito.remove(settings.clients, pool_id, email)
    if not settings.target.emails_passwords:
        from ..local import users as local_users

        local_users.forget_password(settings, email)
    console.ok(f"removed {email} from pool {pool_id}")
    console.write_report(json, {"task": "users.remove", "email": email, "pool": pool_id})


@tars_task(help={"email": EMAIL_HELP, "role": ROLE_HELP})
def role(c, email, role=None, env=None, local=False, dry_run=False, json=None):  # noqa: A002
    """Change a person's role (viewer or editor)."""
    from ..aws import cognito

    email, wanted = check_email(email), check_role(role)
    settings = load_settings(c, env=env, local=local)
    pool_id = pool(settings)
    if dry_run:
        cognito.get(settings.clients, pool_id, email)
        console.info(f"would put {email} in {cognito.GROUPS[wanted]} only, in pool {pool_id}")
        return
    before, changed = cognito.set_role(settings.clients, pool_id, email, wanted)
    if changed:
        console.ok(f"{email}: {before or 'no role'} -> {wanted}")
        if before == "editor":
            console.info("signed out everywhere: a token already issued keeps the old role until it expires (30 min)")
    else:
        console.ok(f"{email} is already {wanted}: no changes")
    console.write_report(json, {"task": "users.role", "email": email, "before": before, "role": wanted,
                                "changed": changed, "pool": pool_id})


ns = Collection(add, list, remove, role)
