"""deploy --all after an infra deploy plans again only the components whose inputs infra changed
(issue 16.2): the plans of the others stand, as after an unchanged infra."""
from dataclasses import dataclass

import boto3
import pytest

from tars_tasks.settings import Settings
from tars_tasks.steps import deploy as task
from tars_tasks.steps import pipeline
from tars_tasks.tables import create_all
from tests.fakes.components import registry

ALL = ["infra", "mcp", "lambda", "ui"]
BUCKETS = {"TARS_UI_BUCKET": "tars-ui", "TARS_ARTIFACT_BUCKET": "tars-artifacts"}


@dataclass(frozen=True)
class Changed:
    type: str


@dataclass(frozen=True)
class InfraPlan:
    changes: tuple
    has_changes: bool = True

    def summary(self):
        return [c.type for c in self.changes]


@pytest.fixture(autouse=True)
def fresh_console(monkeypatch):
    from tars_tasks import console
    monkeypatch.setattr(console, "_consoles", {})


@pytest.fixture
def settings(aws, tmp_path):
    create_all(boto3.client("dynamodb", region_name="us-east-1"), "sre-poc")
    for bucket in BUCKETS.values():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    return Settings.load(None, root=tmp_path, environ=dict(BUCKETS))


def real_inputs(reg):
    """The fakes say what they read as the real components do."""
    for name, module in (("mcp", "mcp"), ("lambda", "lambda_"), ("ui", "ui")):
        reg[name].PLAN_INPUTS = __import__(f"tars_tasks.steps.{module}", fromlist=["PLAN_INPUTS"]).PLAN_INPUTS
    return reg


def deploy_after_infra(settings, reg, changes, after):
    reg["infra"].plan = lambda s, **kw: (reg["infra"].calls.append("plan"), InfraPlan(tuple(map(Changed, changes))))[1]
    for name in ("mcp", "lambda", "ui"):
        reg[name].changes = False
    task.run(settings, ALL, registry=reg, yes=True, skip_verify=True, reload=lambda: after)
    return {name: reg[name].calls.count("plan") for name in ("mcp", "lambda", "ui")}


def test_an_infra_change_to_the_function_plans_only_lambda_again(settings):
    reg = real_inputs(registry())
    plans = deploy_after_infra(settings, reg, ["aws_lambda_function", "aws_iam_role_policy"], settings)
    assert plans == {"mcp": 1, "lambda": 2, "ui": 1}


def test_a_changed_output_plans_again_the_component_that_reads_it(settings, tmp_path):
    reg = real_inputs(registry())
    after = Settings.load(None, root=tmp_path, environ=dict(BUCKETS, VITE_API_ENDPOINT="http://127.0.0.1:9/api"))
    assert after.vite_api_endpoint != settings.vite_api_endpoint
    plans = deploy_after_infra(settings, reg, ["aws_dynamodb_table"], after)
    assert plans == {"mcp": 1, "lambda": 1, "ui": 2}


def test_the_local_runners_resource_types_count_too(settings):
    reg = real_inputs(registry())
    plans = deploy_after_infra(settings, reg, ["ecs_service", "cloudfront_distribution"], settings)
    assert plans == {"mcp": 2, "lambda": 1, "ui": 2}


def test_a_component_that_does_not_say_what_it_reads_is_planned_again(settings):
    reg = registry()   # the fakes declare no PLAN_INPUTS
    assert deploy_after_infra(settings, reg, ["aws_dynamodb_table"], settings) == {"mcp": 2, "lambda": 2, "ui": 2}


def test_every_declared_input_is_a_settings_field_and_every_component_declares_them(settings):
    """A misspelt field would read None before and after, and never plan again: none is."""
    for name in ("mcp", "lambda", "ui"):
        inputs = pipeline.resolve(name).PLAN_INPUTS
        assert inputs["resources"] and inputs["settings"]
        for field in inputs["settings"]:
            assert hasattr(type(settings), field) or field in settings.as_dict(), (name, field)
