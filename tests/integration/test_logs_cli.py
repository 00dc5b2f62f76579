"""`inv logs` as a subprocess against moto's server: exit codes for CI and bad input."""
from __future__ import annotations

import time

import boto3
import pytest

GROUP = "/aws/lambda/sre-poc-incident-handler"


@pytest.fixture
def inv(run_inv, endpoint, tmp_path):
    def run(*args):
        return run_inv("logs", *args, env={"AWS_ENDPOINT_URL": endpoint, "TARS_ROOT": str(tmp_path)})
    return run


def write(*messages, minutes_ago=1):
    cw = boto3.client("logs", region_name="us-east-1")
    try:
        cw.create_log_group(logGroupName=GROUP)
        cw.create_log_stream(logGroupName=GROUP, logStreamName="s1")
    except cw.exceptions.ResourceAlreadyExistsException:
        pass
    at = int((time.time() - minutes_ago * 60) * 1000)
    cw.put_log_events(logGroupName=GROUP, logStreamName="s1",
                      logEvents=[{"timestamp": at + i, "message": m} for i, m in enumerate(messages)])


def test_errors_flag_fails_ci_on_an_error_line(inv):
    write("[INFO] TARS handler initialised", "[ERROR] Bedrock throttled")
    result = inv("--since", "10m", "--errors")
    assert result.returncode == 1, result.stderr
    assert "[ERROR] Bedrock throttled" in result.stdout and "1 ERROR line(s)" in result.stderr
    assert "Traceback" not in result.stderr


def test_clean_window_passes_and_old_lines_are_outside_it(inv):
    write("[ERROR] long ago", minutes_ago=180)
    write("[INFO] TARS handler initialised")
    result = inv("--since", "10m", "--errors")
    assert result.returncode == 0, result.stderr
    assert "TARS handler initialised" in result.stdout and "long ago" not in result.stdout
    wide = inv("--since", "1d")
    assert wide.returncode == 0 and "long ago" in wide.stdout


@pytest.mark.parametrize("args", [("--since", "yesterday"), ("--since", "5 minutes"), ("--follow", "--errors")])
def test_bad_usage_is_exit_2(inv, args):
    result = inv(*args)
    assert result.returncode == 2 and "hint:" in result.stderr and "Traceback" not in result.stderr


def test_missing_log_group_is_exit_2(inv):
    result = inv("--since", "10m")
    assert result.returncode == 2 and f"log group {GROUP} not found" in result.stderr
