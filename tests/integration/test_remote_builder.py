"""The Fabric remote builder against a real OpenSSH server on 127.0.0.1 (tests/support/sshd.py), with the
fake docker on the server side's PATH."""
from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import boto3
import pytest

from tars_tasks.aws.ecr import RegistryLogin
from tars_tasks.errors import StepFailed, UsageError
from tars_tasks.tools import remote
from bench.scenarios.mcp_deploy import CLUSTER, FAKES, SERVICE, environ, head, make_project, seed
from tests.support.sshd import _free_port, sshd  # noqa: F401 - the fixture

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def remote_calls(server):
    return [json.loads(line) for line in server.docker_log.read_text().splitlines()] if server.docker_log.exists() else []


def test_build_and_push_on_the_builder(sshd, tmp_path):
    root = make_project(tmp_path)
    image = f"{REGISTRY}/sre-poc-mcp-server:abc"
    remote.build_and_push(sshd.builder, root / "mcp_server", image, RegistryLogin(REGISTRY, "AWS", "hunter2-secret"))
    seen = remote_calls(sshd)
    assert [c["argv"][1] for c in seen] == ["login", "build", "push"]
    assert seen[0]["stdin"] == "hunter2-secret\n"
    assert all("hunter2-secret" not in " ".join(c["argv"]) for c in seen)
    build = seen[1]
    assert build["platform"] == "linux/amd64" and build["argv"][5] == image
    # the uploaded context honours .dockerignore (*.log out, !keep.log back in)
    assert build["context_files"] == [".dockerignore", "Dockerfile", "keep.log", "server.py"]
    # the work directory on the builder is gone
    assert not Path(build["argv"][-1]).parent.exists()


def test_remote_build_failure_names_the_builder_and_cleans_up(sshd, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "server.py").write_text("x = 1\n")      # no Dockerfile: the remote build fails
    shown = []
    with pytest.raises(StepFailed) as err:
        remote.build_and_push(sshd.builder, ctx, f"{REGISTRY}/r:abc", RegistryLogin(REGISTRY, "AWS", "pw-secret"),
                              on_line=shown.append)
    assert err.value.message.startswith(f"builder 127.0.0.1: cannot build {REGISTRY}/r:abc: ERROR: failed to solve")
    assert any("failed to read dockerfile" in line for line in shown)     # streamed as it came
    build = remote_calls(sshd)[-1]
    assert build["argv"][1] == "build" and not Path(build["argv"][-1]).parent.exists()


def test_pip_install_returns_the_installed_tree(sshd, tmp_path):
    wheel = tmp_path / "tinypkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("tinypkg/__init__.py", "VALUE = 42\n")
        z.writestr("tinypkg-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n")
        z.writestr("tinypkg-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr("tinypkg-0.1.dist-info/RECORD", "")
    data = remote.pip_install(sshd.builder, f"{wheel}\n", ["--no-index"])
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        assert "./tinypkg/__init__.py" in names
        assert tar.extractfile("./tinypkg/__init__.py").read() == b"VALUE = 42\n"


def test_pip_failure_names_the_builder(sshd):
    with pytest.raises(StepFailed) as err:
        remote.pip_install(sshd.builder, "surely-not-a-package-tars==0\n", ["--no-index"])
    assert err.value.message.startswith("builder 127.0.0.1: cannot install the Lambda dependencies")


def test_unreachable_builder_is_one_line(sshd):
    port = _free_port()
    with pytest.raises(StepFailed) as err:
        remote.pip_install(f"{sshd.user}@127.0.0.1:{port}", "", [])
    assert err.value.message == f"builder {sshd.user}@127.0.0.1:{port}: connection refused"
    assert f"-p {port}" in err.value.hint


def test_unauthorized_key_and_no_key(sshd):
    import subprocess

    for key in (sshd.home / ".ssh").glob("id_*"):
        key.unlink()
    with pytest.raises(StepFailed) as err:
        remote.pip_install(sshd.builder, "", [])
    assert err.value.message == f"builder {sshd.builder}: no SSH key or agent to authenticate with"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(sshd.home / ".ssh" / "id_ed25519")],
                   check=True)   # a key the server does not know
    with pytest.raises(StepFailed) as err:
        remote.pip_install(sshd.builder, "", [])
    assert err.value.message.startswith(f"builder {sshd.builder}: authentication failed")


def test_unknown_host_key_is_refused(sshd):
    (sshd.home / ".ssh" / "known_hosts").write_text("")
    with pytest.raises(StepFailed) as err:
        remote.pip_install(sshd.builder, "", [])
    assert err.value.message.startswith(f"builder {sshd.builder}: unknown host key")
    assert not sshd.docker_log.exists()


def test_changed_host_key_is_refused(sshd, tmp_path):
    import subprocess

    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, key = (tmp_path / "other_host_key.pub").read_text().split()[:2]
    (sshd.home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {kind} {key}\n")
    with pytest.raises(StepFailed) as err:
        remote.build_and_push(sshd.builder, tmp_path, "r/x:1", RegistryLogin(REGISTRY, "AWS", "pw-secret"))
    assert "does not match ~/.ssh/known_hosts" in err.value.message
    assert not sshd.docker_log.exists()     # the password never left


@pytest.mark.parametrize("spec", ["", "user@", "a b", "host:99999", "u@h:p"])
def test_bad_builder_spec(spec):
    with pytest.raises(UsageError):
        remote.parse(spec)


def test_parse_defaults_port_22():
    assert str(remote.parse("ci@build-box")) == "ci@build-box:22"
    assert remote.parse("build-box:2222").port == 2222


def test_inv_deploy_mcp_with_builder(run_inv, sshd, endpoint, tmp_path):
    root = make_project(tmp_path)
    tag = head(root)
    seeded = seed(image_tag=tag)   # the service already names the image; ECR lacks it: build + push only
    local_log = tmp_path / "local-docker.log"
    env = environ(root, seeded["repository_url"], AWS_ENDPOINT_URL=endpoint, HOME=str(sshd.home),
                  FAKE_DOCKER_LOG=str(local_log), PATH=f"{FAKES}:{os.environ['PATH']}")
    result = run_inv("deploy-mcp", "--yes", "--builder", sshd.builder, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"on {sshd.builder}" in result.stdout
    assert "#8 exporting to image" in result.stdout    # the remote build output, streamed
    assert not local_log.exists()                      # nothing built locally
    seen = remote_calls(sshd)
    assert [c["argv"][1] for c in seen] == ["login", "build", "push"]
    assert seen[2]["argv"][2] == f"{seeded['repository_url']}:{tag}"
    assert "123456789012-auth-token" not in result.stdout + result.stderr
    assert boto3.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0][
        "taskDefinition"] == seeded["task_definition"]


def test_inv_unreachable_builder_exit_1_one_line(run_inv, sshd, endpoint, tmp_path):
    root = make_project(tmp_path)
    seeded = seed()
    port = _free_port()
    env = environ(root, seeded["repository_url"], AWS_ENDPOINT_URL=endpoint, HOME=str(sshd.home),
                  PATH=f"{FAKES}:{os.environ['PATH']}")
    result = run_inv("deploy-mcp", "--yes", "--builder", f"ci@127.0.0.1:{port}", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: builder ci@127.0.0.1:{port}: connection refused"]
    assert len(boto3.client("ecs").list_task_definitions()["taskDefinitionArns"]) == 1
