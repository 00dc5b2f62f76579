"""Reading a Terraform plan (``terraform show -json``) and the destroy guard.

``resource_changes[].change.actions`` is one of ["no-op"], ["create"], ["read"], ["update"],
["delete","create"], ["create","delete"], ["delete"], ["forget"] (Terraform's JSON output format,
format_version 1.x). Anything whose list holds "delete" or "forget" removes a live object (or stops
managing it) and needs ``--allow-destroy``; on a stateful resource (data lives in it) it also needs
``--allow-data-loss``. A plan in a format this code does not know (another major version) is
refused the same way: the guard cannot vouch for what it does not understand. A resource whose
live object has deletion protection on (``deletion_protection_enabled``, Cognito's
``deletion_protection = "ACTIVE"``) is refused even with both flags: AWS would refuse its delete in
the middle of the apply, after other changes were made; protection is turned off in its own commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import Refused

KNOWN_FORMAT_MAJOR = 1
STATEFUL_TYPES = frozenset({"aws_dynamodb_table", "aws_dynamodb_table_item", "aws_s3_bucket", "aws_s3_object",
                            "aws_ssm_parameter"})
STATEFUL_PREFIXES = ("aws_s3_bucket_",)

ACTION_LABELS = {
    ("create",): "create",
    ("update",): "update",
    ("delete",): "delete",
    ("delete", "create"): "replace (delete, then create)",
    ("create", "delete"): "replace (create, then delete)",
    ("forget",): "forget",
    ("read",): "read",
    ("no-op",): "no-op",
}
REASONS = {
    "replace_because_tainted": "the object is tainted",
    "replace_because_cannot_update": "an attribute cannot be changed in place",
    "replace_by_request": "replacement was requested (-replace)",
    "replace_by_triggers": "replace_triggered_by fired",
    "delete_because_no_resource_config": "its configuration was removed",
    "delete_because_no_module": "its module was removed",
    "delete_because_wrong_repetition": "count/for_each changed",
    "delete_because_count_index": "its count index is gone",
    "delete_because_each_key": "its for_each key is gone",
    "delete_because_no_move_target": "its moved target does not exist",
    "read_because_config_unknown": "the configuration is not known yet",
    "read_because_dependency_pending": "a dependency changes",
}


@dataclass(frozen=True)
class Change:
    address: str
    type: str
    actions: tuple[str, ...]
    reason: str = ""
    replace_paths: tuple[str, ...] = ()
    protected: bool = False  # the live object has deletion protection on (plan's change.before)

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self.actions, "/".join(self.actions) or "unknown")

    @property
    def kind(self) -> str:
        """create / update / replace / delete / forget / read / no-op: the summary's columns."""
        if len(self.actions) == 2 and "delete" in self.actions:
            return "replace"
        return self.actions[0] if len(self.actions) == 1 else "unknown"

    @property
    def destroys(self) -> bool:
        return "delete" in self.actions or "forget" in self.actions

    @property
    def stateful(self) -> bool:
        return self.type in STATEFUL_TYPES or self.type.startswith(STATEFUL_PREFIXES)

    @property
    def reason_text(self) -> str:
        """Why Terraform plans this action (from action_reason and replace_paths)."""
        parts = []
        if self.reason:
            parts.append(REASONS.get(self.reason, self.reason))
        if self.replace_paths:
            parts.append("changing " + ", ".join(self.replace_paths))
        if self.actions == ("forget",):
            parts.append("Terraform stops managing it")
        return "; ".join(parts)

    @property
    def why(self) -> str:
        return self.label + (f" ({self.reason_text})" if self.reason_text else "")


def _path(path: Any) -> str:
    if isinstance(path, list):
        return ".".join(str(p) for p in path)
    return str(path)


def _protected(before: Any) -> bool:
    if not isinstance(before, dict):
        return False
    return before.get("deletion_protection_enabled") is True or before.get("deletion_protection") == "ACTIVE"


def parse_changes(doc: dict[str, Any], key: str = "resource_changes") -> tuple[Change, ...]:
    """Every resource change of a plan document (no-op and read excluded)."""
    changes = []
    for rc in doc.get(key) or []:
        change = rc.get("change") or {}
        actions = tuple(change.get("actions") or ())
        if actions in (("no-op",), ("read",)) or not actions:
            continue
        changes.append(Change(address=str(rc.get("address", "?")), type=str(rc.get("type", "")),
                              actions=actions, reason=str(rc.get("action_reason") or ""),
                              replace_paths=tuple(_path(p) for p in change.get("replace_paths") or ()),
                              protected=_protected(change.get("before"))))
    return tuple(changes)


def format_major(doc: dict[str, Any]) -> int | None:
    try:
        return int(str(doc.get("format_version", "")).split(".")[0])
    except ValueError:
        return None


def problems(changes: tuple[Change, ...], format_version: str | None) -> list[tuple[str, str, bool]]:
    """(address, why, stateful) for everything the destroy guard stops."""
    found = []
    major = format_major({"format_version": format_version}) if format_version is not None else None
    if major != KNOWN_FORMAT_MAJOR:
        found.append(("(whole plan)", f"plan format_version {format_version!r} is not {KNOWN_FORMAT_MAJOR}.x: "
                                      "its actions cannot be checked", False))
    for change in changes:
        if change.destroys:
            found.append((change.address, change.why, change.stateful))
    return found


def check(changes: tuple[Change, ...], format_version: str | None, *, allow_destroy: bool,
          allow_data_loss: bool) -> list[str]:
    """Raise Refused (exit 3) naming each blocked address and why; return the allowed ones' lines."""
    found = problems(changes, format_version)
    lines = [f"{addr}: {why}" + (" [holds data]" if stateful else "") for addr, why, stateful in found]
    if found and not allow_destroy:
        raise Refused(f"destroy guard: the plan would delete or replace {len(found)} thing(s); nothing was applied",
                      "read the plan; if it is intended, re-run with --allow-destroy"
                      + (" --allow-data-loss" if any(s for _, _, s in found) else ""),
                      details=lines)
    data_loss = [line for line, (_, _, stateful) in zip(lines, found) if stateful]
    if data_loss and not allow_data_loss:
        raise Refused(f"destroy guard: {len(data_loss)} resource(s) holding data would be deleted or replaced; "
                      "nothing was applied",
                      "back the data up first (PITR, S3 versions); if it is intended, re-run with "
                      "--allow-destroy --allow-data-loss", details=data_loss)
    protected = [c.address for c in changes if c.destroys and c.protected]
    if protected:
        raise Refused(f"destroy guard: {len(protected)} resource(s) to delete have deletion protection on; AWS "
                      "would refuse the delete in the middle of the apply; nothing was applied",
                      "turn it off in its own commit (deletion_protection_enabled = false), deploy that, "
                      "then re-run with --allow-destroy --allow-data-loss", details=protected)
    return lines
