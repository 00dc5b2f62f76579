"""`inv infra-outputs` (CI runs it before every deploy: a fresh checkout has no
.tars/<env>/outputs.json): read only, init with the env's backend then `output -json`, saved
where Settings reads it. Fake terraform, as the other infrastructure task tests."""
from __future__ import annotations

import json

from tests.support.infra import FIXTURES, call, commands, fake_env, make_project


def test_saves_the_envs_outputs_read_only(run_inv, tmp_path):
    project = make_project(tmp_path)
    done = run_inv("infra-outputs", "--env", "staging", "--json", str(tmp_path / "r.json"), env=fake_env(project))
    assert done.returncode == 0, done.stderr
    assert commands(project) == ["init", "output"]  # no plan, no apply
    assert "-backend-config=backend/staging.hcl" in call(project, "init")["argv"]
    saved = json.loads((project / ".tars" / "staging" / "outputs.json").read_text())
    assert saved == json.loads((FIXTURES / "outputs.json").read_text())
    shown = run_inv("config", "--env", "staging", env={"TARS_ROOT": str(project)})
    assert "terraform output ui_bucket (.tars/staging/outputs.json)" in shown.stdout
    assert json.loads((tmp_path / "r.json").read_text())["outputs"] == sorted(saved)


def test_a_failing_init_is_exit_1_and_saves_nothing(run_inv, tmp_path):
    project = make_project(tmp_path)
    done = run_inv("infra-outputs", env=fake_env(project, FAKE_TF_FAIL="init"))
    assert done.returncode == 1 and "terraform init failed" in done.stderr and "Traceback" not in done.stderr
    assert not (project / ".tars" / "dev" / "outputs.json").exists()


def test_local_mode_reads_what_the_bootstrap_wrote(run_inv, tmp_path):
    project = make_project(tmp_path)
    done = run_inv("infra-outputs", "--local", env={"TARS_ROOT": str(project)})
    assert done.returncode == 0 and "no local deployment yet" in done.stdout
    assert not (project / ".tars" / "local").exists()  # nothing started, nothing written
