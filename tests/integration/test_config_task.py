def test_config_check_exits_2_naming_missing(run_inv, tmp_path):
    result = run_inv("config", "--check", env={"TARS_ROOT": str(tmp_path)})
    assert result.returncode == 2
    assert "ui_bucket: missing" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_config_shows_sources_and_redacts(run_inv, tmp_path):
    result = run_inv("config", env={"TARS_ROOT": str(tmp_path), "GITHUB_TOKEN": "ghp_abcdefghijkl"})
    assert result.returncode == 0
    assert "ghp_abcdefghijkl" not in result.stdout
    assert "sre-poc-incident-handler" in result.stdout


def test_malformed_dotenv_is_one_line_exit_2(run_inv, tmp_path):
    (tmp_path / ".env").write_text("GOOD=1\n=broken\n")
    result = run_inv("config", env={"TARS_ROOT": str(tmp_path)})
    assert result.returncode == 2
    assert ".env:2" in result.stderr and "Traceback" not in result.stderr


def test_config_redacts_whatever_looks_like_a_credential(run_inv, tmp_path):
    """Not only the secret fields: a password in a URL and a key id in any setting are masked too,
    in the table and in --json."""
    env = {"TARS_ROOT": str(tmp_path), "MCP_ENDPOINT": "http://ops:s3cretpass@mcp.internal:8080/mcp",
           "TARS_ECR_REPOSITORY_URL": "AKIAABCDEFGHIJKLMNOP"}
    report = tmp_path / "config.json"
    result = run_inv("config", "--json", str(report), env=env)
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr + report.read_text()
    assert "s3cretpass" not in shown and "AKIAABCDEFGHIJKLMNOP" not in shown
    assert "http://ops:****@mcp.internal:8080/mcp" in shown


def test_a_malformed_dotenv_line_is_named_without_its_value(run_inv, tmp_path):
    (tmp_path / ".env").write_text('GOOD=1\nDB_PASSWORD="hunter2-unclosed\n')
    result = run_inv("config", env={"TARS_ROOT": str(tmp_path)})
    assert result.returncode == 2
    assert ".env:2" in result.stderr and "DB_PASSWORD" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout and "Traceback" not in result.stderr
