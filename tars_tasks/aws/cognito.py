"""Cognito user pools: the SRE team's users and their TARS role (a group), through the admin APIs.

Users are named by their e-mail address (the pool's username, case-insensitive). A role is one of
two groups (infrastructure/cognito.tf): ``tars-viewers`` or ``tars-editors``. No function here
takes or returns a password in a way that reaches argv or a log: ``add`` either lets Cognito
generate the temporary password and e-mail it (AWS), or sets the one it is given through the API.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import TarsError, UsageError
from .errors import error_code, translate

GROUPS = {"viewer": "tars-viewers", "editor": "tars-editors"}
ROLE_OF = {group: role for role, group in GROUPS.items()}
SERVICE = "cognito-idp"


class UnknownUser(UsageError):
    """The pool has no such user (exit 2)."""


class UserExists(UsageError):
    """``add`` of a user the pool already has (exit 2)."""


@dataclass(frozen=True)
class User:
    email: str
    role: str | None          # "editor", "viewer" or None (in neither TARS group)
    status: str               # Cognito's UserStatus: FORCE_CHANGE_PASSWORD, CONFIRMED ...
    enabled: bool
    created: str              # ISO time, UTC
    sub: str = ""


def _attribute(user: dict, name: str) -> str:
    for item in user.get("Attributes") or user.get("UserAttributes") or []:
        if item.get("Name") == name:
            return str(item.get("Value", ""))
    return ""


def _created(user: dict) -> str:
    stamp = user.get("UserCreateDate")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(stamp, "strftime") else str(stamp or "")


def _not_found_hint(pool_id: str) -> str:
    return f"inv users.list shows the users of pool {pool_id}"


def _code(err: BaseException) -> str:
    """The AWS error code behind a TarsError that translate() raised (or of a ClientError)."""
    return error_code(err.__cause__ if err.__cause__ is not None else err)


def get(clients: Callable, pool_id: str, email: str) -> dict:
    """AdminGetUser's reply for ``email``; UnknownUser when the pool has none."""
    try:
        with translate(f"read user {email}"):
            return clients(SERVICE).admin_get_user(UserPoolId=pool_id, Username=email)
    except TarsError as err:
        if _code(err) == "UserNotFoundException":
            raise UnknownUser(f"no user {email} in the user pool", _not_found_hint(pool_id)) from None
        raise


def groups_of(clients: Callable, pool_id: str, email: str) -> list[str]:
    with translate(f"read the groups of {email}"):
        pages = clients(SERVICE).get_paginator("admin_list_groups_for_user").paginate(
            UserPoolId=pool_id, Username=email)
        return [g["GroupName"] for page in pages for g in page.get("Groups", [])]


def exists(clients: Callable, pool_id: str, email: str) -> bool:
    """True when the pool has a user ``email`` (reads only)."""
    try:
        get(clients, pool_id, email)
    except UnknownUser:
        return False
    return True


def user_exists(email: str, role: str) -> UserExists:
    return UserExists(f"user {email} already exists", f"inv users.role {email} --role {role} changes its role")


def add(clients: Callable, pool_id: str, email: str, role: str, *, temporary_password: str | None = None,
        permanent_password: str | None = None) -> User:
    """Create ``email`` in ``role``'s group.

    No password given: Cognito generates a temporary one and e-mails the invitation (the pool's
    own delivery). ``temporary_password``: that one, still e-mailed by Cognito. ``permanent_password``
    (the local emulator, which delivers nothing): set as the user's password, no change required.
    """
    idp = clients(SERVICE)
    args = {"UserPoolId": pool_id, "Username": email, "DesiredDeliveryMediums": ["EMAIL"],
            "UserAttributes": [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]}
    if temporary_password:
        args["TemporaryPassword"] = temporary_password
    try:
        with translate(f"create user {email}"):
            created = idp.admin_create_user(**args)["User"]
    except TarsError as err:
        if _code(err) == "UsernameExistsException":
            raise user_exists(email, role) from None
        raise
    with translate(f"set the password of {email}"):
        if permanent_password:
            idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=permanent_password,
                                        Permanent=True)
    with translate(f"add {email} to {GROUPS[role]}"):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=GROUPS[role])
    status = "CONFIRMED" if permanent_password else created.get("UserStatus", "FORCE_CHANGE_PASSWORD")
    return User(email, role, status, bool(created.get("Enabled", True)), _created(created),
                _attribute(created, "sub"))


def list_users(clients: Callable, pool_id: str) -> list[User]:
    """Every user of the pool with its TARS role (two ListUsersInGroup listings, not one call per user)."""
    idp = clients(SERVICE)
    role_of: dict[str, str] = {}
    with translate("list the users of each TARS group"):
        for role in ("viewer", "editor"):   # editor last: a user in both groups is an editor
            for page in idp.get_paginator("list_users_in_group").paginate(UserPoolId=pool_id, GroupName=GROUPS[role]):
                for user in page.get("Users", []):
                    role_of[user["Username"]] = role
    users = []
    with translate("list the users of the pool"):
        for page in idp.get_paginator("list_users").paginate(UserPoolId=pool_id):
            for user in page.get("Users", []):
                email = _attribute(user, "email") or user["Username"]
                users.append(User(email, role_of.get(user["Username"]), str(user.get("UserStatus", "")),
                                  bool(user.get("Enabled", True)), _created(user), _attribute(user, "sub")))
    return sorted(users, key=lambda u: u.email.lower())


def remove(clients: Callable, pool_id: str, email: str) -> None:
    """Sign ``email`` out everywhere (its refresh tokens stop working), then delete it."""
    get(clients, pool_id, email)
    idp = clients(SERVICE)
    with translate(f"sign out {email}"):
        idp.admin_user_global_sign_out(UserPoolId=pool_id, Username=email)
    with translate(f"delete user {email}"):
        idp.admin_delete_user(UserPoolId=pool_id, Username=email)


@dataclass(frozen=True)
class RoleChange:
    """What putting ``email`` in ``role`` takes: the group to join, the TARS groups to leave, and
    whether to sign them out everywhere (a demotion from editor: a refresh can then no longer mint
    access tokens with the old group; a token already issued lives until it expires, 30 minutes)."""

    email: str
    role: str
    before: str | None
    join: str | None
    leave: tuple[str, ...]
    sign_out: bool

    @property
    def changed(self) -> bool:
        return bool(self.join or self.leave)


def role_change(clients: Callable, pool_id: str, email: str, role: str) -> RoleChange:
    """Reads only: the RoleChange that puts ``email`` in ``role``'s group and out of the other one."""
    get(clients, pool_id, email)
    current = groups_of(clients, pool_id, email)
    before = "editor" if GROUPS["editor"] in current else ("viewer" if GROUPS["viewer"] in current else None)
    if current == [GROUPS[role]] or (before == role and len([g for g in current if g in ROLE_OF]) == 1):
        return RoleChange(email, role, before, None, (), False)
    return RoleChange(email, role, before, None if GROUPS[role] in current else GROUPS[role],
                      tuple(g for g in current if g in ROLE_OF and g != GROUPS[role]),
                      before == "editor" and role != "editor")


def change_role(clients: Callable, pool_id: str, change: RoleChange) -> None:
    """Make exactly the calls ``change`` lists."""
    idp, email = clients(SERVICE), change.email
    if change.join:
        with translate(f"add {email} to {change.join}"):
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=change.join)
    for group in change.leave:
        with translate(f"remove {email} from {group}"):
            idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=email, GroupName=group)
    if change.sign_out:
        with translate(f"sign out {email}"):
            idp.admin_user_global_sign_out(UserPoolId=pool_id, Username=email)
