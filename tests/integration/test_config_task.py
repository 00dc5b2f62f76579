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
