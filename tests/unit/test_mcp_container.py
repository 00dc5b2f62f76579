"""tools/container with the fake docker: engine detection, password on stdin, failures."""
from __future__ import annotations

import json
import os

import pytest

from tars_tasks.errors import ConfigError, StepFailed
from tars_tasks.tools import container
from bench.scenarios.mcp_deploy import FAKES


@pytest.fixture
def fake(tmp_path, monkeypatch):
    log = tmp_path / "docker.log"
    monkeypatch.setenv("PATH", f"{FAKES}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    return lambda: [json.loads(line) for line in log.read_text().splitlines()]


def test_detects_docker_and_honours_the_override(fake, tmp_path, monkeypatch):
    assert container.detect() == str(FAKES / "docker")
    podman = tmp_path / "bin" / "podman"
    podman.parent.mkdir()
    podman.symlink_to(FAKES / "docker")
    monkeypatch.setenv("PATH", f"{podman.parent}:{os.environ['PATH']}")
    assert container.detect("podman") == str(podman)
    assert container.detect() == str(FAKES / "docker")   # docker first when both exist


def test_missing_engine_is_a_config_error_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        container.detect()
    assert "docker or podman" in err.value.message and "--builder" in err.value.hint


def test_login_build_push_password_only_on_stdin(fake, tmp_path):
    program = container.detect()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    container.login(program, "reg.example", "AWS", "pa55word-secret")
    container.build(program, ctx, "reg.example/r:abc")
    container.push(program, "reg.example/r:abc")
    calls = fake()
    assert [c["argv"][1:] for c in calls] == [
        ["login", "--username", "AWS", "--password-stdin", "reg.example"],
        ["build", "--platform", "linux/amd64", "-t", "reg.example/r:abc", str(ctx)],
        ["push", "reg.example/r:abc"]]
    assert calls[0]["stdin"] == "pa55word-secret\n"
    assert all("pa55word-secret" not in " ".join(c["argv"]) for c in calls)
    assert container.version(program) == "24.0.7"


def test_push_without_login_fails_in_one_line(fake, tmp_path):
    program = container.detect()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    container.build(program, ctx, "reg.example/r:abc")
    with pytest.raises(StepFailed) as err:
        container.push(program, "reg.example/r:abc")
    assert err.value.message == "cannot push reg.example/r:abc: no basic auth credentials"


def test_build_without_dockerfile(fake, tmp_path):
    with pytest.raises(ConfigError):
        container.build(container.detect(), tmp_path, "t")


def test_build_output_is_streamed_and_a_failure_keeps_its_last_line(fake, tmp_path, monkeypatch):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    shown = []
    container.build(container.detect(), ctx, "reg.example/r:abc", on_line=shown.append)
    assert "#8 exporting to image" in shown
    monkeypatch.setenv("FAKE_DOCKER_FAIL", "build")
    with pytest.raises(StepFailed) as err:
        container.build(container.detect(), ctx, "reg.example/r:abc")
    assert err.value.message.startswith("cannot build reg.example/r:abc: ERROR: failed to solve")


def test_fake_docker_image_inspect_answers_like_the_cli(fake, tmp_path):
    import subprocess

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    container.build(container.detect(), ctx, "reg.example/r:abc")
    found = subprocess.run(["docker", "image", "inspect", "reg.example/r:abc"], capture_output=True, text=True)
    assert found.returncode == 0
    assert json.loads(found.stdout)[0]["Architecture"] == "amd64"
    missing = subprocess.run(["docker", "image", "inspect", "nope:1"], capture_output=True, text=True)
    assert missing.returncode == 1 and "No such image: nope:1" in missing.stderr
