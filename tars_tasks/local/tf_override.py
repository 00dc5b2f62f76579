"""The emulator's override file: what of ``infrastructure/`` moto 5.2.5 cannot run, and why.

``RULES`` is the one table: target (a resource type, ``data.<type>`` or one address) → what is
switched off → why. ``render`` turns it into ``zz_emulator_override.tf`` for the work copy
(:mod:`.tf_workcopy`); the real .tf files are never edited and AWS deploys never see it.

How Terraform merges an override file (developer.hashicorp.com/terraform/language/files/override):
a block merges with the original of the same type and labels; an attribute replaces the
original's; a nested block replaces *every* block of that type (static or ``dynamic``); inside
``lifecycle`` arguments merge one by one, so ``ignore_changes`` replaces the original list (the
original's entries are carried over here); ``depends_on`` cannot be overridden; a ``backend``
block replaces the original backend; ``locals`` merge value by value.

A switched-off block gets ``count = 0`` (``for_each = {}`` where it uses for_each). Every
expression elsewhere that reads one of its attributes is restated with a stand-in value (AWS's
fixed id of a managed CloudFront policy, or null): the whole nested block, attribute or local
that holds it, copied from the original. ``KNOWN_TYPES`` lists every type moto emulates well
enough (a full apply then a plan with no changes proves it) with the provider endpoint it
uses; a type in neither table fails the tests.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from . import hcl_layout
from .hcl_layout import Block, Item

FILE_NAME = "zz_emulator_override.tf"  # "zz": merged after any other override file

# Resource and data types moto emulates faithfully enough → the provider endpoint they call
# (None: computed by the provider, no API call).
KNOWN_TYPES: dict[str, str | None] = {
    "aws_availability_zones": "ec2", "aws_caller_identity": "sts", "aws_partition": None,
    "aws_iam_policy_document": None,
    "aws_cloudfront_distribution": "cloudfront", "aws_cloudfront_origin_access_control": "cloudfront",
    "aws_cloudwatch_log_group": "logs",
    # Cognito and WAF (issue 14): a full apply of the auth branch's configuration then a plan with
    # no changes on moto 5.2.5 (2026-11-30), once the override covers the aliased us_east_1 provider
    "aws_cognito_user_group": "cognitoidp", "aws_cognito_user_pool": "cognitoidp",
    "aws_cognito_user_pool_client": "cognitoidp",
    "aws_wafv2_web_acl": "wafv2", "aws_wafv2_web_acl_logging_configuration": "wafv2",
    "aws_dynamodb_table": "dynamodb",
    "aws_default_security_group": "ec2", "aws_flow_log": "ec2", "aws_route_table": "ec2",
    "aws_route_table_association": "ec2", "aws_security_group": "ec2", "aws_subnet": "ec2", "aws_vpc": "ec2",
    "aws_vpc_endpoint": "ec2", "aws_vpc_security_group_egress_rule": "ec2",
    "aws_vpc_security_group_ingress_rule": "ec2",
    "aws_ecr_lifecycle_policy": "ecr", "aws_ecr_repository": "ecr",
    "aws_ecs_cluster": "ecs", "aws_ecs_service": "ecs", "aws_ecs_task_definition": "ecs",
    "aws_iam_openid_connect_provider": "iam", "aws_iam_role": "iam", "aws_iam_role_policy": "iam",
    "aws_iam_role_policy_attachment": "iam",
    "aws_kms_alias": "kms", "aws_kms_key": "kms",
    "aws_lambda_alias": "lambda", "aws_lambda_function": "lambda", "aws_lambda_function_url": "lambda",
    "aws_lambda_permission": "lambda",
    "aws_s3_bucket": "s3", "aws_s3_bucket_cors_configuration": "s3", "aws_s3_bucket_lifecycle_configuration": "s3",
    "aws_s3_bucket_notification": "s3", "aws_s3_bucket_ownership_controls": "s3", "aws_s3_bucket_policy": "s3",
    "aws_s3_bucket_public_access_block": "s3", "aws_s3_bucket_server_side_encryption_configuration": "s3",
    "aws_s3_bucket_versioning": "s3",
    "aws_service_discovery_private_dns_namespace": "servicediscovery", "aws_service_discovery_service": "servicediscovery",
    "aws_ssm_parameter": "ssm",
}
# The provider itself asks STS (then IAM) for the account id.
PROVIDER_SERVICES = ("iam", "sts")

# AWS's managed CloudFront policies have the same id in every account (CloudFront developer guide,
# "Use managed cache policies" / "Use managed origin request policies").
MANAGED_POLICY_IDS = {
    "Managed-CachingOptimized": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    "Managed-CachingDisabled": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    "Managed-CachingOptimizedForUncompressedObjects": "b2884449-e4de-46a7-ac36-70bc7f1ddd6d",
    "Managed-AllViewer": "216adef6-5c7f-47e4-b989-5492eafa07d3",
    "Managed-AllViewerExceptHostHeader": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
    "Managed-CORS-S3Origin": "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf",
}


def managed_policy_id(block: Block) -> str:
    """Stand-in for ``data.aws_cloudfront_*_policy.X.id``: AWS's fixed id of the policy it names."""
    found = re.search(r'=\s*"([^"]+)"', (block.attribute("name") or Item("attribute", "name", "")).text)
    name = found.group(1) if found else ""
    if name not in MANAGED_POLICY_IDS:
        raise ValueError(f"{block.address}: no fixed id known for managed policy {name!r}: "
                         "add it to MANAGED_POLICY_IDS in tars_tasks/local/tf_override.py")
    return f'"{MANAGED_POLICY_IDS[name]}"'


# ----------------------------------------------------------------- what a rule does
@dataclass(frozen=True)
class Off:
    """Switch the block off; references to its attributes read these stand-in expressions."""

    stand_ins: Mapping[str, str | Callable[[Block], str]] = field(default_factory=dict)

    def describe(self) -> str:
        return "switched off" + (f" (references to {', '.join(sorted(self.stand_ins))} read a stand-in)"
                                 if self.stand_ins else "")


@dataclass(frozen=True)
class IgnoreChanges:
    """``lifecycle.ignore_changes`` these attributes (added to the original's list)."""

    attributes: tuple[str, ...]

    def describe(self) -> str:
        return "ignore_changes: " + ", ".join(self.attributes)


@dataclass(frozen=True)
class Rewrite:
    """Replace attribute ``name`` by ``template`` with ``{expr}`` = the original expression."""

    name: str
    template: str
    what: str

    def describe(self) -> str:
        return f"{self.name}: {self.what}"


@dataclass(frozen=True)
class Rule:
    target: str    # "aws_s3_bucket_logging" (every block of the type), "data.aws_x", or one address
    action: Off | IgnoreChanges | Rewrite
    why: str

    def matches(self, block: Block) -> bool:
        if block.kind not in ("resource", "data"):
            return False
        kind = "data." if block.kind == "data" else ""
        return self.target in (block.address, kind + block.type)


NO_TLS_DENY = """jsonencode(merge(jsondecode({expr}), {{
    Statement = [for s in jsondecode({expr}).Statement : s
    if !(s.Effect == "Deny" && can(s.Condition.Bool["aws:SecureTransport"]))]
  }}))"""

RULES: tuple[Rule, ...] = (
    Rule("data.aws_cloudfront_cache_policy", Off({"id": managed_policy_id}),
         "moto has no CloudFront cache-policy API (GetCachePolicy, ListCachePolicies)"),
    Rule("data.aws_cloudfront_origin_request_policy", Off({"id": managed_policy_id}),
         "moto has no CloudFront origin-request-policy API"),
    Rule("aws_cloudfront_response_headers_policy", Off({"id": "null"}),
         "moto has no CloudFront response-headers-policy API: behaviours go without security headers"),
    Rule("aws_cloudfront_distribution",
         IgnoreChanges(("origin", "viewer_certificate", "default_cache_behavior", "ordered_cache_behavior")),
         "moto does not echo an origin's origin_access_control_id, answers ssl_support_method sni-only for "
         "the default certificate and adds legacy forwarded_values to every cache behaviour: each plan "
         "would update the distribution"),
    Rule("aws_s3_bucket_logging", Off(),
         "moto checks the target bucket's policy by exact Resource (<bucket>/<prefix>*, <bucket>/* or the "
         "bucket) where AWS accepts s3/* (400 InvalidTargetBucketForLogging), and fails with 500 on a "
         "Principal \"*\" statement, which the provider retries for 15+ minutes"),
    Rule("aws_s3_bucket_policy", Rewrite("policy", NO_TLS_DENY, "without the TLS-only deny"),
         "the emulator serves plain http, and moto enforces aws:SecureTransport: the deny would refuse "
         "every object call"),
    Rule("aws_lambda_function", IgnoreChanges(("logging_config",)),
         "moto returns no LoggingConfig: each plan would update the function and publish a version"),
    Rule("aws_ecs_service", IgnoreChanges(("availability_zone_rebalancing",)),
         "moto does not echo availabilityZoneRebalancing: each plan would update the service"),
    Rule("aws_vpc_security_group_egress_rule", IgnoreChanges(("description",)),
         "moto drops the description of a rule that references a security group or a prefix list: each "
         "plan would update those rules"),
    Rule("aws_vpc_security_group_ingress_rule", IgnoreChanges(("description",)), "as for egress rules"),
)


def uncovered(blocks: tuple[Block, ...], rules: tuple[Rule, ...] = RULES) -> list[str]:
    """Resources and data sources whose type is neither in KNOWN_TYPES nor switched off by a rule:
    the emulator's endpoints would miss their service, or moto may not emulate them."""
    off = {b.address for r in rules if isinstance(r.action, Off) for b in blocks if r.matches(b)}
    return [f"{b.address} ({b.path}:{b.line})" for b in blocks
            if b.kind in ("resource", "data") and b.type not in KNOWN_TYPES and b.address not in off]


# ----------------------------------------------------------------- rendering
@dataclass
class _Patch:
    """What the override sets on one original block."""

    block: Block
    attributes: dict[str, str] = field(default_factory=dict)     # name -> HCL (indented)
    nested: dict[str, str] = field(default_factory=dict)         # block type -> HCL of all of them
    ignore: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=None)
def _reference(address: str) -> re.Pattern:
    # not preceded by a word or a dot: "aws_x.y" must not match inside "data.aws_x.y"
    return re.compile(r"(?<![\w.])" + re.escape(address) + r"(\[[^\]]*\])?(?:\.(\w+))?")


def _original_ignore(block: Block) -> list[str]:
    for item in block.nested("lifecycle"):
        found = re.search(r"ignore_changes\s*=\s*\[(.*?)\]", item.text, re.S)
        if found:
            return [name.strip() for name in re.sub(r"#.*", "", found.group(1)).split(",") if name.strip()]
    return []


def _substitute(text: str, switched: dict[str, tuple[Block, Off]], where: str) -> tuple[str, list[str]]:
    used = []
    for address, (block, off) in switched.items():
        def stand_in(match: re.Match) -> str:
            attr = match.group(2)
            value = off.stand_ins.get(attr) if attr else None
            if value is None:
                raise ValueError(f"{where} reads {match.group(0)}, which the emulator override switches off, "
                                 f"and RULES give no stand-in for it")
            used.append(address)
            return value(block) if callable(value) else value
        text = _reference(address).sub(stand_in, text)
    return text, used


def _patches(blocks: tuple[Block, ...], rules: tuple[Rule, ...]) -> dict[str, _Patch]:
    patches: dict[str, _Patch] = {}

    def patch(block: Block) -> _Patch:
        key = block.address if block.kind != "locals" else "locals"
        return patches.setdefault(key, _Patch(block))

    for rule in rules:
        if not any(rule.matches(b) for b in blocks):
            raise ValueError(f"emulator override rule {rule.target!r} matches nothing in infrastructure/: "
                             "remove it from RULES")
    switched = {b.address: (b, r.action) for r in rules if isinstance(r.action, Off) for b in blocks if r.matches(b)}
    for address, (block, off) in switched.items():
        p = patch(block)
        meta = "for_each" if block.attribute("for_each") else "count"
        p.attributes[meta] = f"  {meta} = {'{}' if meta == 'for_each' else '0'}"
    # every other expression that reads a switched-off block: restated with stand-ins
    for block in blocks:
        if block.address in switched:
            continue
        for item in block.items:
            if item.kind == "attribute" and item.name == "depends_on":
                continue
            text, used = _substitute(item.text, switched, f"{block.path}: {block.address}.{item.name}")
            if not used:
                continue
            p = patch(block)
            note = f"restated: {item.name} reads {', '.join(sorted(set(used)))} (switched off)"
            if note not in p.notes:
                p.notes.append(note)
            if item.kind == "attribute":
                p.attributes[item.name] = text
            else:  # a nested block replaces all of its type: restate every one of them
                p.nested[item.name] = "\n".join(
                    _substitute(n.text, switched, f"{block.path}: {block.address}.{n.name}")[0]
                    for n in block.nested(item.name))
    for rule in rules:
        for block in (b for b in blocks if rule.matches(b)):
            p = patch(block)
            p.notes.append(f"{rule.action.describe()}: {rule.why}")
            if isinstance(rule.action, IgnoreChanges):
                p.ignore.extend(a for a in rule.action.attributes if a not in p.ignore)
            elif isinstance(rule.action, Rewrite):
                original = p.attributes.get(rule.action.name) or (block.attribute(rule.action.name) or Item(
                    "attribute", "", "")).text
                if "=" not in original:
                    raise ValueError(f"{block.address} has no {rule.action.name} to rewrite")
                expr = original.split("=", 1)[1].strip()
                p.attributes[rule.action.name] = f"  {rule.action.name} = " + rule.action.template.format(expr=expr)
    return patches


def _render_patch(p: _Patch) -> str:
    import textwrap

    lines = [line for note in p.notes for line in textwrap.wrap(note, 98, initial_indent="# ",
                                                                 subsequent_indent="#   ")]
    head = "locals" if p.block.kind == "locals" else " ".join([p.block.kind, *(f'"{l}"' for l in p.block.labels)])
    lines.append(head + " {")
    lines.extend(p.attributes.values())
    lines.extend(p.nested.values())
    if p.ignore:
        kept = _original_ignore(p.block)
        merged = kept + [a for a in p.ignore if a not in kept]
        lines += ["  lifecycle {", f"    ignore_changes = [{', '.join(merged)}]", "  }"]
    lines.append("}")
    return "\n".join(lines)


def render(infra_dir: Path, endpoint: str, state_path: str, rules: tuple[Rule, ...] = RULES,
           local_values: Mapping[str, str] | None = None) -> str:
    """The override file's text for the configuration in ``infra_dir`` and the emulator at ``endpoint``;
    ``state_path``: the local backend's state file, relative to the work copy (so the work copy and
    its TF_DATA_DIR can move); ``local_values``: locals restated for the local target (a server's
    URL: the local server instead of one only AWS's network resolves)."""
    blocks = hcl_layout.read_dir(infra_dir)
    unknown = uncovered(blocks, rules)
    if unknown:
        raise ValueError(f"not known to run on the emulator: {', '.join(unknown)}; check each type against "
                         "moto, then add it to KNOWN_TYPES (with its endpoint) or to RULES")
    services = sorted({s for s in KNOWN_TYPES.values() if s} | set(PROVIDER_SERVICES))
    width = max(len(s) for s in services)
    endpoints = "\n".join(f'    {s.ljust(width)} = "{endpoint}"' for s in services)
    aliases = sorted({re.sub(r'^.*=\s*"([^"]+)".*$', r"\1", b.attribute("alias").text.strip())
                      for b in blocks if b.kind == "provider" and b.labels == ("aws",) and b.attribute("alias")})
    parts = [
        "# Generated by tars_tasks/local/tf_override.py for the local emulator: do not edit, do not copy",
        "# into infrastructure/. Terraform merges it into the real configuration of this work copy only.",
        "",
        "# The state lives next to this work copy (the emulator forgets everything when it stops).",
        "terraform {",
        "  backend \"local\" {",
        f"    path = \"{state_path}\"",
        "  }",
        "}",
        "",
        "# Every service the configuration uses goes to the emulator; credentials are the dummy ones in",
        "# terraform's environment; never the instance metadata service, never AWS. Every aliased",
        "# configuration too (an override merges with the provider block of the same alias only).",
    ]
    for alias in [None, *aliases]:
        parts += ([""] if alias else []) + ['provider "aws" {'] + ([f'  alias                       = "{alias}"'] if alias else []) + [
            "  skip_credentials_validation = true",
            "  skip_metadata_api_check     = true",
            "  s3_use_path_style           = true",
            "  endpoints {",
            endpoints,
            "  }",
            "}",
        ]
    if local_values:
        import json

        parts += ["", "# The local target's servers (tars_tasks/local/services.py), not AWS's internal names.",
                  "locals {"] + [f"  {name} = {json.dumps(str(value))}" for name, value in sorted(local_values.items())] + ["}"]
    for p in _patches(blocks, rules).values():
        parts += ["", _render_patch(p)]
    return "\n".join(parts) + "\n"
