"""deploy --all with fake components injected through the registry (moto in-process for the
lock table and the release bucket): order, summary, exit code, --json, release record, lock."""
import json
from dataclasses import dataclass

import boto3
import pytest

from tars_tasks import lock
from tars_tasks.aws import dynamodb
from tars_tasks.errors import Refused, StepFailed
from tars_tasks.settings import Settings
from tars_tasks.steps import pipeline, release
from tars_tasks.tables import create_all
from tars_tasks.steps import deploy as task
from tests.fakes.components import registry

ALL = ["infra", "mcp", "lambda", "ui"]


@dataclass
class R:
    name: str
    status: str
    reason: str = ""


def ok_verify(settings):
    return [R("logs", "pass"), R("kb", "pass"), R("chat", "pass", "answered in 1.2 s")]


@pytest.fixture(autouse=True)
def fresh_console(monkeypatch):
    from tars_tasks import console
    monkeypatch.setattr(console, "_consoles", {})  # print to this test's captured stdout


@pytest.fixture
def settings(aws, tmp_path):
    create_all(boto3.client("dynamodb", region_name="us-east-1"), "sre-poc")
    for bucket in ("tars-ui", "tars-artifacts"):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    s = Settings.load(None, root=tmp_path, environ={"TARS_UI_BUCKET": "tars-ui", "TARS_ARTIFACT_BUCKET": "tars-artifacts"})
    return s


def lock_item(s):
    return dynamodb.read_lock(s.clients, s.lock_table, lock.lock_id(s))


def test_all_components_deploy_in_order_and_record_the_release(settings, tmp_path, capsys):
    reg = registry(mcp={"changes": False})
    order = []
    for name, comp in reg.items():
        comp.on_execute = lambda s, n=name: order.append((n, lock_item(s)["command"]))
    report_path = tmp_path / "report.json"
    report = task.run(settings, ALL, registry=reg, yes=True, json_path=str(report_path), verify=ok_verify)
    # each component ran while the pipeline held the lock, in pipeline order
    assert order == [(n, "deploy --infra --mcp --lambda --ui") for n in ALL]
    assert lock_item(settings) is None
    statuses = {c["component"]: (c["status"], c["before"], c["after"]) for c in report["components"]}
    assert statuses == {"infra": ("deployed", "serial-4", "serial-5"), "mcp": ("unchanged", "rev-7", "rev-7"),
                        "lambda": ("deployed", "11", "12"), "ui": ("deployed", "r-a", "r-b"),
                        "verify": ("passed", None, None)}
    assert json.loads(report_path.read_text())["components"] == json.loads(json.dumps(report["components"]))
    # the release record holds what is live afterwards
    rid = report["release_id"]
    assert release.list_ids(settings) == [rid]
    record = release.read(settings, rid)
    assert record["components"]["lambda"]["version"] == "12"
    assert record["components"]["ui"]["release"] == "r-b"
    assert record["components"]["mcp"]["task_definition"] == "rev-7"
    assert record["components"]["infra"]["serial"] == "serial-5"
    out = capsys.readouterr().out
    assert "11 → 12" in out and "inv rollback-lambda --to 11" in out


def test_a_deploy_that_changes_nothing_skips_verify_replanning_and_the_record(settings, tmp_path):
    reg = registry()
    verified = []

    def verify(s):
        verified.append(1)
        return ok_verify(s)

    first = task.run(settings, ALL, registry=reg, yes=True, verify=verify, reload=lambda: settings)
    assert len(verified) == 1 and release.list_ids(settings) == [first["release_id"]]
    for comp in reg.values():
        comp.changes = False
        comp.calls.clear()
    again = task.run(settings, ALL, registry=reg, yes=True, verify=verify, reload=lambda: settings)
    assert len(verified) == 1                                          # nothing deployed: nothing to verify
    assert again["release_id"] == first["release_id"] and release.list_ids(settings) == [first["release_id"]]
    assert all(c.calls.count("plan") == 1 for c in reg.values())        # unchanged infra: no second plan
    # something deployed outside the pipeline (inv deploy-lambda): the next deploy records it
    reg["lambda"].live = "13"
    third = task.run(settings, ALL, registry=reg, yes=True, verify=verify, reload=lambda: settings)
    assert third["release_id"] != first["release_id"]
    assert release.read(settings, third["release_id"])["components"]["lambda"]["version"] == "13"


@pytest.mark.parametrize("broken", ALL)
def test_a_failing_component_stops_the_pipeline(settings, tmp_path, broken):
    reg = registry(**{broken: {"fail": f"{broken} exploded"}})
    report_path = tmp_path / "r.json"
    with pytest.raises(StepFailed) as err:
        task.run(settings, ALL, registry=reg, yes=True, json_path=str(report_path), verify=ok_verify)
    assert err.value.exit_code == 1 and f"{broken} exploded" in err.value.message
    report = json.loads(report_path.read_text())
    assert report["ok"] is False and report["release_id"] is None
    idx = ALL.index(broken)
    rows = {c["component"]: c for c in report["components"]}
    assert list(rows) == ALL  # verify not run
    for name in ALL[:idx]:
        assert rows[name]["status"] == "deployed"
        assert rows[name]["rollback_command"] == f"inv rollback-{name} --to {rows[name]['before']}"
    assert rows[broken]["status"] == "failed" and f"{broken} exploded" in rows[broken]["detail"]
    assert rows[broken]["rollback_command"] is None
    for name in ALL[idx + 1:]:
        assert rows[name]["status"] == "not reached"
        assert "execute" not in reg[name].calls
    assert release.list_ids(settings) == []
    assert lock_item(settings) is None


def test_unexpected_exception_is_a_failure_not_a_traceback(settings):
    reg = registry()
    reg["lambda"].crash = KeyError("CodeSha256")
    with pytest.raises(StepFailed) as err:
        task.run(settings, ALL, registry=reg, yes=True, verify=ok_verify)
    assert "unexpected error: KeyError" in err.value.message
    assert "execute" not in reg["ui"].calls


def test_verify_failure_exits_1_and_writes_no_release(settings, tmp_path):
    reg = registry()
    report_path = tmp_path / "r.json"
    with pytest.raises(StepFailed) as err:
        task.run(settings, ["lambda"], registry=reg, yes=True, json_path=str(report_path),
                 verify=lambda s: [R("logs", "fail", "2 ERROR lines"), R("chat", "pass")])
    assert "verify" in err.value.message and "2 ERROR lines" in err.value.message
    rows = {c["component"]: c for c in json.loads(report_path.read_text())["components"]}
    assert rows["lambda"]["status"] == "deployed" and rows["lambda"]["rollback_command"]
    assert rows["verify"]["status"] == "failed"
    assert release.list_ids(settings) == []


def test_dry_run_plans_only(settings, tmp_path):
    reg = registry(ui={"changes": False})
    report = task.run(settings, ALL, registry=reg, dry_run=True, json_path=str(tmp_path / "r.json"))
    assert [c["status"] for c in report["components"]] == ["planned", "planned", "planned", "unchanged"]
    assert all("execute" not in c.calls for c in reg.values())
    assert release.list_ids(settings) == []


def test_no_confirmation_without_terminal_refuses_and_changes_nothing(settings):
    reg = registry()
    with pytest.raises(Refused) as err:
        task.run(settings, ALL, registry=reg, yes=False)
    assert err.value.exit_code == 3
    assert all("execute" not in c.calls for c in reg.values())
    assert lock_item(settings) is None


def test_component_taking_the_lock_itself_is_not_refused(settings):
    reg = registry()
    seen = []

    def nested(s):
        with lock.hold(s, "deploy-lambda") as h:
            seen.append(h["command"])
    reg["lambda"].on_execute = nested
    task.run(settings, ["lambda"], registry=reg, yes=True, skip_verify=True)
    assert seen == ["deploy --lambda"]
    assert lock_item(settings) is None


def test_second_pipeline_refused_while_lock_is_held(clients, settings):
    dynamodb.acquire_lock(clients, settings.lock_table, lock.lock_id(settings),
                          {"holder": "ann@ci", "pid": 9, "commit": "c", "command": "deploy-ui",
                           "started": "t", "expires_at": 9e12, "token": "x"}, now=1.0)
    reg = registry()
    with pytest.raises(Refused) as err:
        task.run(settings, ALL, registry=reg, yes=True)
    assert "ann@ci" in err.value.message
    assert all(c.calls == [] for c in reg.values())


def test_failed_preflight_refuses_before_any_change(settings):
    from tars_tasks.steps.preflight import Check
    reg = registry()
    with pytest.raises(Refused) as err:
        task.run(settings, ALL, registry=reg, yes=True, preflight=True,
                 preflight_run=lambda s, **k: [Check("window", "fail", "10:30 inside 09:00-11:00")])
    assert "window" in err.value.message
    assert all("execute" not in c.calls for c in reg.values())


def test_missing_component_is_a_config_error(settings):
    from tars_tasks.errors import ConfigError
    reg = registry()
    reg["mcp"] = None
    with pytest.raises(ConfigError):
        task.run(settings, ALL, registry=reg, yes=True)
    assert all("execute" not in c.calls for c in reg.values() if c)


def test_select_orders_and_rejects_nothing():
    assert pipeline.select(False, ui=True, infra=True) == ["infra", "ui"]
    assert pipeline.select(True) == ALL
    from tars_tasks.errors import UsageError
    with pytest.raises(UsageError):
        pipeline.select(False)


def test_default_rollback_command_names_previous_release(settings):
    reg = registry()
    first = task.run(settings, ["lambda"], registry=reg, yes=True, skip_verify=True)
    reg["lambda"].next = "13"
    original = reg["lambda"].execute

    def no_cmd(s, plan, **o):
        out = original(s, plan)
        import dataclasses
        return dataclasses.replace(out, rollback_command=None)
    reg["lambda"].execute = no_cmd
    second = task.run(settings, ["lambda"], registry=reg, yes=True, skip_verify=True)
    assert second["components"][0]["rollback_command"] == f"inv rollback --to {first['release_id']} --env dev"


def test_components_are_planned_again_with_the_outputs_infra_wrote(settings, capsys):
    from tars_tasks.errors import ConfigError
    reg = registry()
    applied = {"infra": False}
    reg["infra"].on_execute = lambda s: applied.update(infra=True)

    def needs_infra(s):
        if not applied["infra"]:
            raise ConfigError("function sre-poc-incident-handler not found")
    reg["lambda"].plan_hook = needs_infra
    seen, reloads = [], []
    reg["lambda"].on_execute = lambda s: seen.append(s.function_name)
    reg["ui"].on_execute = lambda s: seen.append(s.function_name)

    def reload():
        reloads.append(1)
        return settings.replace(function_name="from-outputs")
    report = task.run(settings, ["infra", "lambda", "ui"], registry=reg, yes=True, skip_verify=True, reload=reload)
    assert "planned after infra (function sre-poc-incident-handler not found)" in capsys.readouterr().out
    assert [c["status"] for c in report["components"]] == ["deployed"] * 3
    assert seen == ["from-outputs", "from-outputs"] and reloads == [1]
    assert reg["ui"].calls.count("plan") == 2  # planned for the prompt, then again after infra


def test_plan_failure_without_infra_changes_stops_before_any_change(settings):
    from tars_tasks.errors import ConfigError
    reg = registry(infra={"changes": False})

    def missing(s):
        raise ConfigError("function not found")
    reg["lambda"].plan_hook = missing
    with pytest.raises(ConfigError):
        task.run(settings, ALL, registry=reg, yes=True)
    assert all("execute" not in c.calls for c in reg.values())
    assert lock_item(settings) is None


def test_first_setup_takes_the_lock_once_infra_created_its_table(aws, tmp_path):
    for bucket in ("tars-ui", "tars-artifacts"):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    s = Settings.load(None, root=tmp_path, environ={"TARS_UI_BUCKET": "tars-ui", "TARS_ARTIFACT_BUCKET": "tars-artifacts"})
    reg = registry()
    reg["infra"].on_execute = lambda st: create_all(boto3.client("dynamodb", region_name="us-east-1"), "sre-poc")
    holders = []
    reg["lambda"].on_execute = lambda st: holders.append(lock_item(st)["command"])
    task.run(s, ["infra", "lambda"], registry=reg, yes=True, skip_verify=True, reload=lambda: s)
    assert holders == ["deploy --infra --lambda"]
    assert lock_item(s) is None


def test_lock_taken_by_another_deploy_after_infra_stops_the_pipeline(clients, aws, tmp_path):
    for bucket in ("tars-ui", "tars-artifacts"):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    s = Settings.load(None, root=tmp_path, environ={"TARS_UI_BUCKET": "tars-ui", "TARS_ARTIFACT_BUCKET": "tars-artifacts"})
    reg = registry()

    def infra_then_rival(st):
        create_all(boto3.client("dynamodb", region_name="us-east-1"), "sre-poc")
        dynamodb.acquire_lock(clients, st.lock_table, lock.lock_id(st), {"holder": "eve@ci", "pid": 7, "commit": "c",
                              "command": "deploy-ui", "started": "t", "expires_at": 9e12, "token": "r"}, now=1.0)
    reg["infra"].on_execute = infra_then_rival
    with pytest.raises(StepFailed) as err:
        task.run(s, ["infra", "lambda"], registry=reg, yes=True, skip_verify=True, reload=lambda: s)
    assert "eve@ci" in err.value.message
    assert "execute" not in reg["lambda"].calls
    assert lock_item(s)["holder"] == "eve@ci"  # the rival keeps its lock


def test_ctrl_c_during_a_component_still_writes_the_summary_and_releases_the_lock(settings, tmp_path):
    reg = registry()
    reg["lambda"].crash = KeyboardInterrupt()
    report_path = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        task.run(settings, ALL, registry=reg, yes=True, json_path=str(report_path), verify=ok_verify)
    rows = {c["component"]: c["status"] for c in json.loads(report_path.read_text())["components"]}
    assert rows == {"infra": "deployed", "mcp": "deployed", "lambda": "failed", "ui": "not reached"}
    assert json.loads(report_path.read_text())["interrupted"] is True
    assert lock_item(settings) is None and release.list_ids(settings) == []


def test_forced_preflight_goes_ahead_and_is_recorded(settings):
    from tars_tasks.steps.preflight import Check
    reg = registry()
    checks = lambda s, **k: [Check("window", "fail", "10:30 inside 09:00-11:00"), Check("tests", "pass", "ok")]  # noqa: E731
    report = task.run(settings, ["lambda"], registry=reg, yes=True, skip_verify=True, preflight=True,
                      force_preflight=True, preflight_run=checks)
    record = release.read(settings, report["release_id"])
    assert record["preflight"]["forced"] is True
    assert [c["status"] for c in record["preflight"]["checks"]] == ["fail", "pass"]
    unforced = task.run(settings, ["lambda"], registry=reg, yes=True, skip_verify=True)
    assert release.read(settings, unforced["release_id"])["preflight"] == {"ran": False, "forced": False, "checks": []}
