"""The no-op fingerprint of the emulator's Terraform: it moves with everything that feeds a plan,
and only with that; the emulator instance marker lives in the emulator (moto's server here), so
a restart or a reset is seen and the state that pointed at the lost resources is dropped."""
from __future__ import annotations

import json
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

from tars_tasks.local import tf_fingerprint, tf_workcopy

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = {"project": "sre-poc", "env": "dev"}


@pytest.fixture
def infra(tmp_path):
    copy = tmp_path / "infrastructure"
    shutil.copytree(ROOT / "infrastructure", copy, ignore=shutil.ignore_patterns(".terraform"))
    return copy


def _reset(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST", data=b""),
                           timeout=10).close()


def test_the_instance_marker_lives_and_dies_with_the_emulator(endpoint):
    assert tf_fingerprint.emulator_instance(endpoint) is None
    first = tf_fingerprint.emulator_instance(endpoint, claim=True)
    assert first and tf_fingerprint.emulator_instance(endpoint) == first
    assert tf_fingerprint.emulator_instance(endpoint, claim=True) == first
    _reset(endpoint)
    assert tf_fingerprint.emulator_instance(endpoint) is None
    assert tf_fingerprint.emulator_instance(endpoint, claim=True) not in (None, first)


def test_racing_claims_agree_on_one_instance(endpoint):
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(tf_fingerprint.emulator_instance(endpoint, claim=True)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and len(set(seen)) == 1


def test_the_fingerprint_moves_with_each_input_and_only_with_them(infra, tmp_path):
    program = tmp_path / "terraform"
    program.write_text("v1")
    copy = tf_workcopy.prepare(infra, tmp_path / "wc", "http://127.0.0.1:1")

    def fp(variables=VARIABLES, instance="i-1"):
        return tf_fingerprint.fingerprint(copy, variables, instance, str(program))

    base = fp()
    assert fp() == base
    tf_workcopy.prepare(infra, tmp_path / "wc", "http://127.0.0.1:1")
    assert fp() == base                                       # prepared again, nothing changed
    seen = {base}

    def changed(label):
        now = fp()
        assert now not in seen, label
        seen.add(now)

    assert fp(variables={**VARIABLES, "env": "staging"}) != base
    assert fp(instance="i-2") != base and fp(instance=None) != base
    (infra / "ssm.tf").write_text((infra / "ssm.tf").read_text().replace("placeholder:", "placeholder -"))
    tf_workcopy.prepare(infra, tmp_path / "wc", "http://127.0.0.1:1")
    changed("a .tf file")
    lock = infra / ".terraform.lock.hcl"
    lock.write_text(lock.read_text() + "\n# another hash\n")
    tf_workcopy.prepare(infra, tmp_path / "wc", "http://127.0.0.1:1")
    changed("the provider lock")
    tf_workcopy.prepare(infra, tmp_path / "wc", "http://127.0.0.1:2")
    changed("the override (another emulator endpoint)")
    copy.state_path.write_text(json.dumps({"lineage": "l", "serial": 1}))
    changed("the state")
    copy.state_path.write_text(json.dumps({"lineage": "l", "serial": 2}))
    changed("the state's serial (an apply by hand)")
    program.write_text("v2 is longer")
    changed("the terraform program")


def test_record_unchanged_forget(tmp_path):
    copy = tf_workcopy.prepare(ROOT / "infrastructure", tmp_path / "wc", "http://127.0.0.1:1")
    assert not tf_fingerprint.unchanged(copy, "abc")
    tf_fingerprint.record(copy, "abc")
    assert tf_fingerprint.unchanged(copy, "abc") and not tf_fingerprint.unchanged(copy, "abd")
    tf_fingerprint.forget(copy)
    assert not tf_fingerprint.unchanged(copy, "abc")
    (copy.directory / tf_fingerprint.APPLIED).write_text("not json")
    assert not tf_fingerprint.unchanged(copy, "abc")


def test_a_state_made_on_another_instance_is_reset(tmp_path):
    copy = tf_workcopy.prepare(ROOT / "infrastructure", tmp_path / "wc", "http://127.0.0.1:1")
    assert tf_fingerprint.bind_state(copy, "i-1") is False          # first use: nothing to reset
    copy.state_path.write_text('{"serial": 3}')
    tf_fingerprint.record(copy, "abc")
    assert tf_fingerprint.bind_state(copy, "i-1") is False and copy.state_path.exists()
    assert tf_fingerprint.unchanged(copy, "abc")
    assert tf_fingerprint.bind_state(copy, "i-2") is True           # the emulator was restarted
    assert not copy.state_path.exists() and not tf_fingerprint.unchanged(copy, "abc")
    assert (copy.directory / tf_fingerprint.BOUND).read_text().strip() == "i-2"
    # a state file left without any record of its instance is not trusted either
    (copy.directory / tf_fingerprint.BOUND).unlink()
    copy.state_path.write_text('{"serial": 1}')
    assert tf_fingerprint.bind_state(copy, "i-2") is True and not copy.state_path.exists()


def test_changed_names_the_inputs_that_moved(tmp_path):
    copy = tf_workcopy.WorkCopy(tmp_path, "http://127.0.0.1:1")
    before = {"file:main.tf": "aa", "state": "bb", "instance": "cc"}
    assert tf_fingerprint.changed(copy, before) == sorted(before)             # nothing recorded: all
    tf_fingerprint.record(copy, tf_fingerprint.combine(before), before)
    assert tf_fingerprint.unchanged(copy, tf_fingerprint.combine(before))
    assert tf_fingerprint.changed(copy, before) == []
    after = {"file:main.tf": "aa", "state": "dd", "instance": "cc", "file:new.tf": "ee"}
    assert tf_fingerprint.changed(copy, after) == ["file:new.tf", "state"]
