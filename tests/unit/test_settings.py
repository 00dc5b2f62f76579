import json

import pytest

from tars_tasks import console
from tars_tasks.errors import ConfigError
from tars_tasks.settings import Settings, resource_names


class Ctx:
    def __init__(self, tars):
        self.config = {"tars": tars}


YAML = {"project": "sre-poc", "env": "dev", "envs": ["dev", "staging", "prod", "local"],
        "region": "us-east-1", "alias": "production", "keep_versions": 3}


def load(tmp_path, environ=None, tars=None, **flags):
    return Settings.load(Ctx(tars or YAML), root=tmp_path, environ=environ or {}, **flags)


def test_defaults_keep_the_runbook_names(tmp_path):
    s = load(tmp_path, tars={})
    assert s.project == "sre-poc"
    assert s.function_name == "sre-poc-incident-handler"
    assert s.alias == "production"
    assert s.region == "us-east-1"
    assert s.keep_versions == 3
    assert s.source("function_name") == "default"


def test_precedence_flag_env_dotenv_yaml_outputs_default(tmp_path):
    (tmp_path / ".env").write_text("TARS_ALIAS=from-dotenv\nTARS_KEEP_VERSIONS=7\nKB_S3_BUCKET=dotenv-bucket\n")
    (tmp_path / ".env.dev").write_text("TARS_KEEP_VERSIONS=5\n")
    out = tmp_path / ".tars" / "dev"
    out.mkdir(parents=True)
    (out / "outputs.json").write_text(json.dumps({
        "ui_bucket": {"value": "tf-ui", "type": "string", "sensitive": False},
        "kb_bucket": {"value": "tf-kb", "type": "string", "sensitive": False},
        "function_name": {"value": "tf-fn", "type": "string", "sensitive": False}}))
    s = load(tmp_path, environ={"TARS_ALIAS": "from-env"}, alias=None)
    assert s.alias == "from-env" and s.source("alias") == "environment TARS_ALIAS"
    assert s.keep_versions == 5 and s.source("keep_versions") == ".env.dev:1"
    assert s.kb_s3_bucket == "dotenv-bucket" and s.source("kb_s3_bucket") == ".env:3"
    assert s.ui_bucket == "tf-ui" and "terraform output" in s.source("ui_bucket")
    assert s.function_name == "tf-fn"  # outputs beat built-in defaults
    s2 = load(tmp_path, environ={"TARS_ALIAS": "from-env"}, alias="from-flag")
    assert s2.alias == "from-flag" and s2.source("alias") == "flag --alias"
    assert load(tmp_path, tars=dict(YAML, keep_versions=9)).keep_versions == 5  # .env.dev beats yaml


def test_malformed_dotenv_line_names_file_and_line(tmp_path):
    (tmp_path / ".env").write_text("A=1\nthis line is wrong\n")
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert ".env:2" in err.value.message


def test_unknown_env_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, env="prdo")
    assert "unknown environment 'prdo'" in err.value.message
    assert "dev" in err.value.hint and err.value.exit_code == 2


def test_malformed_values_are_reported_and_refused(tmp_path):
    s = load(tmp_path, environ={"AWS_REGION": "mars-1", "TARS_KEEP_VERSIONS": "zero"})
    problems = s.check()
    assert any(p.startswith("region:") for p in problems)
    assert any(p.startswith("keep_versions:") for p in problems)
    with pytest.raises(ConfigError):
        s.ensure_valid()


def test_check_names_missing_required_values(tmp_path):
    missing = load(tmp_path).check()
    assert any("ui_bucket: missing" in p for p in missing)
    assert any("distribution_id: missing" in p for p in missing)


def test_secrets_are_redacted_and_registered(tmp_path, capsys):
    s = load(tmp_path, environ={"GITHUB_TOKEN": "ghp_supersecretvalue123"})
    row = next(r for r in s.rows() if r[0] == "github_token")
    assert row[2] == "****"
    console.info("token is ghp_supersecretvalue123")
    assert "ghp_supersecretvalue123" not in capsys.readouterr().out


def test_lambda_environment_carries_the_runbook_table(tmp_path):
    s = load(tmp_path, environ={"KB_S3_BUCKET": "kb", "MCP_ENDPOINT": "http://mcp.internal:8000"})
    env = s.lambda_environment()
    for name in ("BEDROCK_MODEL_ID", "INCIDENTS_TABLE", "KB_DOCUMENTS_TABLE", "KB_CHUNKS_TABLE",
                 "KB_S3_BUCKET", "MCP_ENDPOINT", "GITHUB_TOKEN_SSM_PARAM"):
        assert env[name]
    assert env["KB_DOCUMENTS_TABLE"] == "sre-poc-kb-documents"


def test_local_flag_selects_local_env(tmp_path):
    s = load(tmp_path, local=True)
    from tars_tasks.target import AwsTarget, LocalTarget

    assert s.target_name == "local" and s.env == "local"
    assert isinstance(s.target, LocalTarget) and s.target.disposable and not s.target.prunes_versions
    assert isinstance(load(tmp_path).target, AwsTarget)


def test_resource_names_with_account():
    names = resource_names("sre-poc", "123456789012")
    assert names["kb_bucket"] == "sre-poc-kb-documents-123456789012"


def test_tables_create_in_moto(aws):
    import boto3

    from tars_tasks.tables import create_all

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    created = create_all(ddb, "sre-poc")
    assert "sre-poc-kb-chunks" in created
    desc = ddb.describe_table(TableName="sre-poc-kb-chunks")["Table"]
    assert desc["GlobalSecondaryIndexes"][0]["IndexName"] == "DocumentIndex"


def test_warm_pool_settings_come_from_env_or_invoke_yaml_and_reach_the_runtime_server(tmp_path):
    from tars_tasks.local import services, warm

    default = load(tmp_path)
    assert (default.warm_pool_size, default.warm_idle_seconds) == (4, 300)
    s = load(tmp_path, tars={**YAML, "warm_pool_size": 2}, environ={"TARS_WARM_IDLE_SECONDS": "60"}, local=True)
    assert (s.warm_pool_size, s.source("warm_pool_size")) == (2, "invoke.yaml")
    assert (s.warm_idle_seconds, s.source("warm_idle_seconds")) == (60, "environment TARS_WARM_IDLE_SECONDS")
    pool = warm.Pool(s)
    assert (pool.size, pool.idle_seconds) == (2, 60.0)
    assert warm.Pool(s, size=1).size == 1   # an explicit size (runtime.invoke's one-off pool) wins
    # the runtime server reads no invoke.yaml (no ctx): it gets the values this run resolved
    env = services._server_env(s)
    assert (env["TARS_WARM_POOL_SIZE"], env["TARS_WARM_IDLE_SECONDS"]) == ("2", "60")


@pytest.mark.parametrize("variable, value", [("TARS_WARM_POOL_SIZE", "0"), ("TARS_WARM_POOL_SIZE", "many"),
                                             ("TARS_WARM_IDLE_SECONDS", "-5"), ("TARS_WARM_IDLE_SECONDS", "1.5")])
def test_a_bad_warm_pool_setting_is_one_config_error(tmp_path, variable, value):
    from tars_tasks.local import services, warm

    s = load(tmp_path, environ={variable: value}, local=True)
    for refuse in (lambda: s.ensure_valid(), lambda: warm.Pool(s), lambda: services._server_env(s)):
        with pytest.raises(ConfigError) as err:
            refuse()
        assert err.value.exit_code == 2 and variable in err.value.message and "\n" not in err.value.message
    load(tmp_path, environ={"TARS_KEEP_VERSIONS": "zero"}).ensure_valid("warm_pool_size")   # only the names asked
