"""Who may use TARS, as plans: add, role, remove (``inv users.*``).

Each ``plan_*`` reads the user pool only and returns a frozen plan listing the admin calls its
``execute_*`` makes, so ``--dry-run`` shows exactly what the real run does (and changes nothing).
Passwords never enter a plan: ``execute_add`` chooses them (see tasks/users.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import plan as plan_base
from ..outcome import DEPLOYED, UNCHANGED, Outcome

COMPONENT = "users"


@dataclass(frozen=True)
class AddUser(plan_base.Plan):
    component = COMPONENT
    pool: str
    email: str
    role: str
    exists: bool            # the pool has them already (--exist-ok): nothing changes
    keeps_password: bool    # the local emulator: a password set here and kept in a local file

    @property
    def has_changes(self) -> bool:
        return not self.exists

    @property
    def after(self) -> str:
        return self.role

    def summary(self) -> list[str]:
        from ..aws import cognito

        if self.exists:
            return [f"{self.email} exists already in pool {self.pool}: no changes"]
        password = ("AdminSetUserPassword (permanent, kept in a local file)" if self.keeps_password
                    else "Cognito e-mails a temporary password")
        return [f"AdminCreateUser {self.email} in pool {self.pool}", password,
                f"AdminAddUserToGroup {self.email} {cognito.GROUPS[self.role]}"]

    def as_dict(self) -> dict[str, Any]:
        return {"pool": self.pool, "email": self.email, "role": self.role, "exists": self.exists,
                "has_changes": self.has_changes, "summary": self.summary()}


@dataclass(frozen=True)
class SetRole(plan_base.Plan):
    component = COMPONENT
    pool: str
    change: Any   # aws.cognito.RoleChange

    @property
    def has_changes(self) -> bool:
        return self.change.changed

    @property
    def before(self) -> str | None:
        return self.change.before

    @property
    def after(self) -> str:
        return self.change.role

    def summary(self) -> list[str]:
        c = self.change
        if not c.changed:
            return [f"{c.email} is already {c.role}: no changes"]
        lines = [f"AdminAddUserToGroup {c.email} {c.join}"] if c.join else []
        lines += [f"AdminRemoveUserFromGroup {c.email} {group}" for group in c.leave]
        lines += [f"AdminUserGlobalSignOut {c.email}"] if c.sign_out else []
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {"pool": self.pool, "email": self.change.email, "before": self.before, "role": self.after,
                "has_changes": self.has_changes, "summary": self.summary()}


@dataclass(frozen=True)
class RemoveUser(plan_base.Plan):
    component = COMPONENT
    pool: str
    email: str
    has_changes = True   # plan_remove refuses a user the pool does not have

    def summary(self) -> list[str]:
        return [f"AdminUserGlobalSignOut {self.email}", f"AdminDeleteUser {self.email} from pool {self.pool}"]

    def as_dict(self) -> dict[str, Any]:
        return {"pool": self.pool, "email": self.email, "summary": self.summary()}


def plan_add(settings, pool_id: str, email: str, role: str, *, exist_ok: bool = False) -> AddUser:
    """Reads only. A user the pool has already: UserExists (exit 2), or no changes with ``exist_ok``."""
    from ..aws import cognito

    exists = cognito.exists(settings.clients, pool_id, email)
    if exists and not exist_ok:
        raise cognito.user_exists(email, role)
    return AddUser(pool_id, email, role, exists, not settings.target.emails_passwords)


def execute_add(settings, p: AddUser) -> Outcome:
    """AdminCreateUser (+ AdminSetUserPassword on the emulator) + AdminAddUserToGroup.

    On AWS Cognito e-mails the temporary password (TARS_USER_PASSWORD's, when set); on the emulator
    the password (TARS_USER_PASSWORD's, or a generated one kept in .tars/local/users/) is permanent."""
    from ..aws import cognito
    from ..local import users as local_users

    kept = local_users.password_file(settings, p.email) if p.keeps_password else None
    if p.exists:
        return Outcome(COMPONENT, UNCHANGED, p.role, p.role, p.summary()[0],
                       data={"password_file": str(kept) if kept and kept.is_file() else None})
    password = settings.user_password or None
    generated = local_users.new_password() if p.keeps_password and not password else None
    try:
        user = cognito.add(settings.clients, p.pool, p.email, p.role,
                           temporary_password=None if p.keeps_password else password,
                           permanent_password=(password or generated) if p.keeps_password else None)
    except cognito.UserExists:   # created by someone else since the plan
        raise cognito.user_exists(p.email, p.role) from None
    data: dict[str, Any] = {"status": user.status, "password": ("env" if password else "generated")
                            if p.keeps_password else "e-mailed"}
    if generated:
        data["password_file"] = str(local_users.keep_password(settings, p.email, generated))
    return Outcome(COMPONENT, DEPLOYED, None, p.role, f"added {p.email} as {p.role}", data=data)


def plan_role(settings, pool_id: str, email: str, role: str) -> SetRole:
    from ..aws import cognito

    return SetRole(pool_id, cognito.role_change(settings.clients, pool_id, email, role))


def execute_role(settings, p: SetRole) -> Outcome:
    from ..aws import cognito

    if not p.has_changes:
        return Outcome(COMPONENT, UNCHANGED, p.before, p.after, p.summary()[0])
    cognito.change_role(settings.clients, p.pool, p.change)
    return Outcome(COMPONENT, DEPLOYED, p.before, p.after, "; ".join(p.summary()),
                   data={"signed_out": p.change.sign_out})


def plan_remove(settings, pool_id: str, email: str) -> RemoveUser:
    """Reads only: UnknownUser (exit 2) when the pool has no such user."""
    from ..aws import cognito

    cognito.get(settings.clients, pool_id, email)
    return RemoveUser(pool_id, email)


def execute_remove(settings, p: RemoveUser) -> Outcome:
    from ..aws import cognito

    cognito.remove(settings.clients, p.pool, p.email)
    if not settings.target.emails_passwords:
        from ..local import users as local_users

        local_users.forget_password(settings, p.email)
    return Outcome(COMPONENT, DEPLOYED, p.email, None, f"removed {p.email} from pool {p.pool}")
