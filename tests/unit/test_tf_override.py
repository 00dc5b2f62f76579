"""The emulator override, rendered from the one table (tf_override.RULES), against the real
infrastructure/ and against copies changed the way issues change it (a new resource type, a
new reference to a switched-off block). Whether each rule is still *needed* is proven against
moto itself in tests/integration/test_tf_override_needed.py."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import hcl2
import pytest

from tars_tasks.local import hcl_layout, tf_override
from tars_tasks.local.tf_override import KNOWN_TYPES, MANAGED_POLICY_IDS, RULES, IgnoreChanges, Off, Rule

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infrastructure"


def _render(infra: Path = INFRA, rules=RULES) -> str:
    return tf_override.render(infra, "http://127.0.0.1:4566", "../terraform.tfstate", rules)


def _blocks(text: str) -> dict[str, dict]:
    """address -> the block's body, from hcl2 (quotes stripped from keys)."""
    doc = hcl2.loads(text)
    found = {}
    for kind in ("resource", "data"):
        for entry in doc.get(kind, []):
            for type_, named in entry.items():
                for name, body in named.items():
                    address = ("data." if kind == "data" else "") + f"{type_.strip(chr(34))}.{name.strip(chr(34))}"
                    found[address] = body
    return found


def _clean(node):
    if isinstance(node, dict):
        return {k.strip('"'): _clean(v) for k, v in node.items() if k != "__is_block__"}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node.strip('"') if isinstance(node, str) else node


@pytest.fixture
def infra(tmp_path):
    copy = tmp_path / "infrastructure"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform"))
    return copy


def test_every_type_of_infrastructure_is_known_good_or_switched_off():
    blocks = hcl_layout.read_dir(INFRA)
    assert tf_override.uncovered(blocks) == []
    used = {b.type for b in blocks if b.kind in ("resource", "data")}
    assert set(KNOWN_TYPES) <= used, f"KNOWN_TYPES lists types infrastructure/ no longer uses: {set(KNOWN_TYPES) - used}"


def test_a_new_resource_type_is_refused_until_checked(infra):
    (infra / "api.tf").write_text('resource "aws_appsync_graphql_api" "tars" {\n  name = "tars"\n}\n')
    with pytest.raises(ValueError) as error:
        _render(infra)
    assert "aws_appsync_graphql_api.tars (api.tf:1)" in str(error.value) and "KNOWN_TYPES" in str(error.value)
    # adding it is one line in one table, and its endpoint follows
    known = dict(KNOWN_TYPES, aws_appsync_graphql_api="appsync")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tf_override, "KNOWN_TYPES", known)
        assert re.search(r'appsync\s+= "http://127.0.0.1:4566"', _render(infra))


def test_the_override_parses_and_points_every_known_service_at_the_emulator():
    text = _render()
    doc = hcl2.loads(text)
    provider = _clean(doc["provider"][0])["aws"]
    endpoints = provider["endpoints"][0]
    assert set(endpoints) == {s for s in KNOWN_TYPES.values() if s} | set(tf_override.PROVIDER_SERVICES)
    assert set(endpoints.values()) == {"http://127.0.0.1:4566"}
    assert provider["skip_metadata_api_check"] is True and provider["s3_use_path_style"] is True
    assert "access_key" not in provider and "secret_key" not in provider  # dummy ones come from the env
    assert _clean(doc["terraform"][0])["backend"][0]["local"]["path"] == "../terraform.tfstate"


def test_an_aliased_provider_is_pointed_at_the_emulator_too(infra):
    # a second configuration (WAF for CloudFront lives in us-east-1): without its own override
    # block it would call AWS (found applying the auth branch's waf.tf to moto)
    (infra / "edge.tf").write_text('provider "aws" {\n  alias  = "us_east_1"\n  region = "us-east-1"\n}\n')
    doc = hcl2.loads(_render(infra))
    providers = [_clean(p)["aws"] for p in doc["provider"]]
    assert [p.get("alias") for p in providers] == [None, "us_east_1"]
    assert all(set(p["endpoints"][0].values()) == {"http://127.0.0.1:4566"} for p in providers)


def test_local_values_are_restated_in_a_locals_block():
    doc = hcl2.loads(tf_override.render(INFRA, "http://127.0.0.1:4566", "../terraform.tfstate",
                                        local_values={"mcp_endpoint": "http://127.0.0.1:8123"}))
    assert _clean(doc["locals"][-1]) == {"mcp_endpoint": "http://127.0.0.1:8123"}


def test_each_rule_states_its_reason_and_every_switched_off_block_gets_count_or_for_each():
    text = _render()
    flat = re.sub(r"\s*\n#\s+", " ", text)
    for rule in RULES:
        assert rule.why.split(":")[0][:60] in flat, rule.target
    blocks = _blocks(text)
    assert blocks["aws_s3_bucket_logging.data"]["for_each"] == {}        # the original uses for_each
    assert blocks["data.aws_cloudfront_cache_policy.optimized"]["count"] == 0
    assert blocks["aws_cloudfront_response_headers_policy.security"]["count"] == 0


def test_restated_behaviours_equal_the_originals_but_for_the_stand_ins():
    original = _clean(_blocks((INFRA / "cloudfront.tf").read_text())["aws_cloudfront_distribution.site"])
    override = _clean(_blocks(_render())["aws_cloudfront_distribution.site"])
    stand_ins = {"data.aws_cloudfront_cache_policy.optimized.id": MANAGED_POLICY_IDS["Managed-CachingOptimized"],
                 "data.aws_cloudfront_cache_policy.disabled.id": MANAGED_POLICY_IDS["Managed-CachingDisabled"],
                 "data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id":
                     MANAGED_POLICY_IDS["Managed-AllViewerExceptHostHeader"],
                 "aws_cloudfront_response_headers_policy.security.id": None}

    def substituted(node):
        if isinstance(node, dict):
            return {k: substituted(v) for k, v in node.items()}
        if isinstance(node, list):
            return [substituted(v) for v in node]
        if isinstance(node, str) and node.startswith("${") and node[2:-1] in stand_ins:
            return stand_ins[node[2:-1]]
        return node

    for kind in ("default_cache_behavior", "dynamic"):
        assert override[kind] == substituted(original[kind]), kind
    assert "origin" not in override and "viewer_certificate" not in override  # kept from the original


def test_ignore_changes_keeps_the_originals_list():
    originals = {a: b for a, b in _blocks("\n".join(p.read_text() for p in INFRA.glob("*.tf"))).items()}
    for address, body in _blocks(_render()).items():
        if "lifecycle" not in body:
            continue
        ignored = body["lifecycle"][0]["ignore_changes"]
        before = (originals[address].get("lifecycle") or [{}])[0].get("ignore_changes", [])
        assert [x for x in ignored if x in before] == before, address
    lambda_ignored = _blocks(_render())["aws_lambda_function.handler"]["lifecycle"][0]["ignore_changes"]
    assert lambda_ignored[-1] == "logging_config" and "publish" in lambda_ignored


def test_a_reference_without_a_stand_in_is_refused(infra):
    (infra / "outputs.tf").write_text((infra / "outputs.tf").read_text()
                                      + '\noutput "headers" {\n  value = aws_cloudfront_response_headers_policy.security.etag\n}\n')
    with pytest.raises(ValueError, match=r"output headers\.value reads aws_cloudfront_response_headers_policy"
                                         r"\.security\.etag"):
        _render(infra)


def test_a_new_reference_to_a_switched_off_block_is_restated_with_its_stand_in(infra):
    (infra / "outputs.tf").write_text((infra / "outputs.tf").read_text()
                                      + '\noutput "api_cache_policy" {\n  value = data.aws_cloudfront_cache_policy.disabled.id\n}\n')
    out = [o for o in hcl2.loads(_render(infra))["output"] if '"api_cache_policy"' in o or "api_cache_policy" in o]
    assert _clean(out[0])["api_cache_policy"]["value"] == MANAGED_POLICY_IDS["Managed-CachingDisabled"]


def test_an_unknown_managed_policy_is_refused(infra):
    path = infra / "cloudfront.tf"
    path.write_text(path.read_text().replace('"Managed-CachingDisabled"', '"Managed-Elastic"'))
    with pytest.raises(ValueError, match="no fixed id known for managed policy 'Managed-Elastic'"):
        _render(infra)


def test_a_rule_that_matches_nothing_is_refused():
    stale = RULES + (Rule("aws_elasticache_cluster", IgnoreChanges(("engine",)), "gone"),)
    with pytest.raises(ValueError, match="'aws_elasticache_cluster' matches nothing"):
        _render(rules=stale)


def test_off_stand_ins_are_described():
    assert "stand-in" in Off({"id": "null"}).describe() and Off().describe() == "switched off"


# ----------------------------------------------------------------- hcl_layout
def test_layout_splits_what_terraform_fmt_writes():
    text = '''# a comment
locals {
  arn = (var.x != "" ? var.x :
  "${local.prefix}:iam::${local.account}")
  doc = <<-EOT
{ "not": "a block" }
  }
  EOT
  braces = "a { in a string } and ${jsonencode({ a = "}" })}"
}

resource "aws_x" "y" {
  for_each = { a = 1 }
  dynamic "rule" {
    for_each = [1]
    content {
      id = "r"
    }
  }
  rule {}
  backend "s3" {}
}

data "aws_partition" "current" {}
'''
    blocks = hcl_layout.split(text, "t.tf")
    assert [b.address for b in blocks] == ["locals", "aws_x.y", "data.aws_partition.current"]
    assert [i.name for i in blocks[0].items] == ["arn", "doc", "braces"]
    assert blocks[0].items[0].text.endswith('"${local.prefix}:iam::${local.account}")')
    assert [(i.name, i.dynamic) for i in blocks[1].items] == [("for_each", False), ("rule", True), ("rule", False),
                                                              ("backend", False)]
    assert len(blocks[1].nested("rule")) == 2 and blocks[1].attribute("for_each")
    assert blocks[2].items == () and blocks[1].line == 12


def test_layout_names_the_line_it_cannot_split():
    with pytest.raises(ValueError, match=r"t\.tf:2: not laid out as terraform fmt does"):
        hcl_layout.split('resource "a" "b" {\n  oops\n}\n', "t.tf")
    with pytest.raises(ValueError, match=r"t\.tf:1: never closes"):
        hcl_layout.split('resource "a" "b" {\n  x = 1\n', "t.tf")
