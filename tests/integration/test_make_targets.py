"""`make test` installs what the tests need (Chromium, an OpenSSH server) on a fresh machine, and
CI's `.ci/run` is nothing but the README's test command.

The apt-get run is checked with a stand-in program (APT_GET=...) that records its argv: the real
one would change this machine. CHROMIUM / SSHD point at paths that do not exist to play a fresh
machine.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ROOT


def make(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_make_test_runs_test_deps_before_any_test():
    plan = make("-n", "test").stdout
    assert "apt-get install" in plan and "-m pytest" in plan
    assert plan.index("apt-get install") < plan.index("npm test") < plan.index("-m pytest")


def test_nothing_is_installed_when_everything_is_there(tmp_path):
    fake = _fake_apt(tmp_path)
    present = tmp_path / "present"
    present.write_text("")
    present.chmod(0o755)
    done = make("test-deps", f"CHROMIUM={present}", f"SSHD={present}", f"APT_GET={fake}")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "apt.log").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the install branch runs as root (CI runs as root)")
def test_a_fresh_machine_gets_chromium_and_openssh_server_with_apt_get(tmp_path):
    fake = _fake_apt(tmp_path)
    done = make("test-deps", "CHROMIUM=/nonexistent/chromium", "SSHD=/nonexistent/sshd", f"APT_GET={fake}")
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "apt.log").read_text().splitlines()
    assert calls[0].startswith("update") and calls[1].startswith("install -y")
    assert calls[1].split()[-3:-1] == ["chromium", "openssh-server"]
    assert "DEBIAN_FRONTEND=noninteractive" in calls[1]


def test_without_apt_get_or_root_the_command_to_run_is_printed(tmp_path):
    fake = _fake_apt(tmp_path)
    done = make("test-deps", "CHROMIUM=/nonexistent/chromium", f"APT_GET={tmp_path / 'no-such-apt-get'}")
    assert done.returncode != 0
    assert "error: the tests need chromium" in done.stderr
    assert "hint: sudo apt-get install -y --no-install-recommends chromium" in done.stderr
    assert fake.exists() and not (tmp_path / "apt.log").exists()


def test_ci_run_is_a_thin_call_of_the_readme_command():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert lines[-1] in ("make test", "exec make test")
    assert not any("apt-get" in line for line in lines)
    assert "make test" in (ROOT / "README.md").read_text()


def _fake_apt(tmp_path):
    fake = tmp_path / "apt-get"
    fake.write_text(f'#!/bin/sh\necho "$* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> {tmp_path / "apt.log"}\n')
    fake.chmod(0o755)
    return fake
