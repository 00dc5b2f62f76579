"""The destroy guard against every plan fixture (terraform show -json format)."""
from __future__ import annotations

import json

import pytest

from tars_tasks.errors import Refused
from tars_tasks.steps import infra_guard
from tests.support.infra import FIXTURES


def load(name):
    doc = json.loads((FIXTURES / f"{name}.json").read_text())
    return infra_guard.parse_changes(doc), doc["format_version"]


# fixture -> (passes with no flag, passes with --allow-destroy alone, blocked addresses)
CASES = {
    "creates": (True, True, []),
    "updates": (True, True, []),
    "noop": (True, True, []),
    "delete": (False, False, ["aws_dynamodb_table.kb_chunks"]),
    "replace_delete_first": (False, False, ["aws_dynamodb_table.incidents"]),
    "replace_create_first": (False, True, ["aws_cloudfront_response_headers_policy.security"]),
    "forget": (False, False, ["aws_ssm_parameter.github_token"]),
    "delete_role_policy": (False, True, ["aws_iam_role_policy.flow"]),
    "unknown_format": (False, True, ["(whole plan)"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_guard_decisions(name):
    changes, version = load(name)
    plain, destroy_only, blocked = CASES[name]
    assert [addr for addr, _, _ in infra_guard.problems(changes, version)] == blocked
    for flags, should_pass in (({}, plain), ({"allow_destroy": True}, destroy_only),
                               ({"allow_destroy": True, "allow_data_loss": True}, True)):
        kwargs = {"allow_destroy": False, "allow_data_loss": False, **flags}
        if should_pass:
            infra_guard.check(changes, version, **kwargs)
        else:
            with pytest.raises(Refused) as info:
                infra_guard.check(changes, version, **kwargs)
            assert info.value.exit_code == 3
            for address in blocked:
                assert any(line.startswith(address) for line in info.value.details), info.value.details


def test_data_loss_alone_does_not_allow_destroy():
    changes, version = load("delete")
    with pytest.raises(Refused) as info:
        infra_guard.check(changes, version, allow_destroy=False, allow_data_loss=True)
    assert "--allow-destroy --allow-data-loss" in info.value.hint


def test_refusal_says_why_per_address():
    changes, version = load("replace_delete_first")
    with pytest.raises(Refused) as info:
        infra_guard.check(changes, version, allow_destroy=False, allow_data_loss=False)
    (line,) = info.value.details
    assert line == ("aws_dynamodb_table.incidents: replace (delete, then create) (an attribute cannot be "
                    "changed in place; changing hash_key) [holds data]")
    changes, version = load("forget")
    line = infra_guard.problems(changes, version)[0][1]
    assert line.startswith("forget") and "stops managing" in line


def test_action_kinds_for_the_summary():
    kinds = {}
    for name in ("creates", "updates", "delete", "replace_delete_first", "replace_create_first", "forget"):
        for change in load(name)[0]:
            kinds[(name, change.address)] = change.kind
    assert kinds[("creates", "aws_s3_bucket.ui")] == "create"
    assert ("creates", "data.aws_caller_identity.current") not in kinds  # reads are not changes
    assert kinds[("updates", "aws_lambda_function.handler")] == "update"
    assert ("updates", "aws_dynamodb_table.incidents") not in kinds  # no-op
    assert kinds[("delete", "aws_dynamodb_table.kb_chunks")] == "delete"
    assert kinds[("replace_delete_first", "aws_dynamodb_table.incidents")] == "replace"
    assert kinds[("replace_create_first", "aws_cloudfront_response_headers_policy.security")] == "replace"
    assert kinds[("forget", "aws_ssm_parameter.github_token")] == "forget"


@pytest.mark.parametrize("rtype,stateful", [
    ("aws_dynamodb_table", True), ("aws_s3_bucket", True), ("aws_s3_bucket_versioning", True),
    ("aws_ssm_parameter", True), ("aws_lambda_function", False), ("aws_iam_role", False),
    ("aws_s3_bucketeer", False),
])
def test_stateful_types(rtype, stateful):
    assert infra_guard.Change(f"{rtype}.x", rtype, ("delete",)).stateful is stateful


@pytest.mark.parametrize("version", [None, "", "2.0", "0.2", "banana"])
def test_unknown_or_missing_format_is_refused(version):
    with pytest.raises(Refused):
        infra_guard.check((), version, allow_destroy=False, allow_data_loss=False)
    infra_guard.check((), "1.2", allow_destroy=False, allow_data_loss=False)


@pytest.mark.parametrize("before", [{"deletion_protection_enabled": True}, {"deletion_protection": "ACTIVE"}])
def test_a_protected_resource_is_refused_even_with_both_flags(before):
    """AWS refuses the delete of a protected table or pool in the middle of the apply: refuse first."""
    doc = json.loads((FIXTURES / "replace_delete_first.json").read_text())
    for rc in doc["resource_changes"]:
        if rc["address"] == "aws_dynamodb_table.incidents":
            rc["change"]["before"] = {**(rc["change"].get("before") or {}), **before}
    changes = infra_guard.parse_changes(doc)
    with pytest.raises(Refused) as info:
        infra_guard.check(changes, doc["format_version"], allow_destroy=True, allow_data_loss=True)
    assert info.value.exit_code == 3 and "deletion protection" in str(info.value)
    assert info.value.details == ["aws_dynamodb_table.incidents"]
    assert "deletion_protection_enabled = false" in info.value.hint
    unprotected = {"deletion_protection_enabled": False, "deletion_protection": "INACTIVE"}
    for rc in doc["resource_changes"]:
        rc["change"]["before"] = {**(rc["change"].get("before") or {}), **unprotected}
    infra_guard.check(infra_guard.parse_changes(doc), doc["format_version"], allow_destroy=True, allow_data_loss=True)
