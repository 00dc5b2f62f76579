"""docs/deploy-role.md lists every action of the derived deploy role and why, and no other."""
from __future__ import annotations

import json
import re

from bench.deploy_role_actions import EXTERNAL
from tests.conftest import ROOT


def test_every_derived_and_external_action_is_explained_and_nothing_else():
    derived = json.loads((ROOT / "docs" / "deploy-role-actions.json").read_text())
    text = (ROOT / "docs" / "deploy-role.md").read_text().split("**Mutations checked")[0]  # the action tables
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    documented = {a for row in rows for a in re.findall(r"`([a-z0-9]+:[A-Za-z]+)`", row.split("|")[1])}
    expected = set(derived["actions"]) | set(EXTERNAL)
    assert documented == expected, (sorted(expected - documented), sorted(documented - expected))
    assert derived["external"] == EXTERNAL  # the checked-in file was generated with this list
