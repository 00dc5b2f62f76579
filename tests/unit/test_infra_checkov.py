"""checkov skips in infrastructure/ each carry a reason, and the report parser reads checkov's JSON."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tars_tasks.errors import StepFailed
from tars_tasks.tools import checkov

INFRA = Path(__file__).resolve().parents[2] / "infrastructure"
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?$")


def skip_comments() -> list[tuple[str, str, str]]:
    """(file, check id, reason) of every #checkov:skip comment."""
    found = []
    for path in sorted(INFRA.glob("*.tf")):
        for line in path.read_text().splitlines():
            m = SKIP.search(line.strip())
            if m:
                found.append((path.name, m.group(1), (m.group(2) or "").strip()))
    return found


def test_every_skip_has_a_reason_and_sits_inside_a_resource():
    skips = skip_comments()
    assert skips
    for name, check_id, reason in skips:
        assert re.match(r"^CKV2?_AWS_\d+$", check_id), check_id
        assert len(reason) > 20, f"{name} {check_id}: the reason is missing or too short"
    for path in INFRA.glob("*.tf"):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if "checkov:skip" in line:
                above = next(l for l in reversed(lines[:i]) if "checkov:skip" not in l)
                assert above.rstrip().endswith("{"), f"{path.name}:{i + 1}: skip not at the top of a block"


def test_parse_counts_and_failures():
    report = {"check_type": "terraform",
              "results": {"failed_checks": [{"check_id": "CKV_AWS_1", "resource": "aws_s3_bucket.x",
                                             "file_path": "/s3.tf", "file_line_range": [3, 9],
                                             "check_name": "Bucket is bad"}]},
              "summary": {"passed": 10, "failed": 1, "skipped": 2, "parsing_errors": 0,
                          "resource_count": 3, "checkov_version": "3.3.30"}}
    result = checkov.parse(json.dumps(report))
    assert (result.passed, result.failed, result.skipped, result.version) == (10, 1, 2, "3.3.30")
    assert result.failures == ("CKV_AWS_1 aws_s3_bucket.x (s3.tf:3): Bucket is bad",)
    both = checkov.parse(json.dumps([report, report]))
    assert both.failed == 2 and both.passed == 20
    empty = checkov.parse(json.dumps({"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0,
                                      "resource_count": 0, "checkov_version": "3.3.30"}))
    assert empty.failed == 0 and empty.passed == 0


def test_parse_rejects_non_json():
    with pytest.raises(StepFailed, match="no JSON report"):
        checkov.parse("Traceback (most recent call last): ...")
