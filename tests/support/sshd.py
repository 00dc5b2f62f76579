"""A real OpenSSH server on 127.0.0.1 for the Fabric remote-builder tests.

`sshd -D` runs on a free port with a throwaway host key and an authorized throwaway client key;
the session PATH (SetEnv) puts tests/fakes (the fake docker) first. Stopped by its pid.
The client side finds the key the normal way: $HOME/.ssh/id_ed25519 (the test sets HOME).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parents[1] / "fakes"
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


@dataclass
class SshServer:
    port: int
    user: str
    home: Path          # client HOME holding .ssh/id_ed25519
    docker_log: Path    # what the fake docker on the server side recorded
    pid: int

    @property
    def builder(self) -> str:
        return f"{self.user}@127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@pytest.fixture
def sshd(tmp_path, monkeypatch):
    if not os.path.exists(SSHD) or not shutil.which("ssh-keygen"):
        pytest.fail("openssh-server is not installed: apt-get install -y openssh-server (.ci/run does it)")
    base = tmp_path / "sshd"
    base.mkdir()
    _keygen(base / "host_ed25519")
    home = tmp_path / "client-home"
    (home / ".ssh").mkdir(parents=True)
    _keygen(home / ".ssh" / "id_ed25519")
    (base / "authorized_keys").write_text((home / ".ssh" / "id_ed25519.pub").read_text())
    docker_log = tmp_path / "remote-docker.log"
    path = f"{FAKES}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
    port = _free_port()
    config = base / "sshd_config"
    config.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {base / 'host_ed25519'}
PidFile {base / 'sshd.pid'}
AuthorizedKeysFile {base / 'authorized_keys'}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
SetEnv PATH={path} FAKE_DOCKER_LOG={docker_log}
""")
    try:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    except PermissionError:
        pass  # not root: sshd then runs without privilege separation, or says why it cannot start
    proc = subprocess.Popen([SSHD, "-D", "-e", "-p", str(port), "-f", str(config)],
                            stdout=subprocess.DEVNULL, stderr=open(base / "sshd.err", "wb"))
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = (base / "sshd.err").read_text(errors="replace")
                os.kill(proc.pid, signal.SIGTERM) if proc.poll() is None else None
                pytest.fail(f"sshd did not start: {err[-500:]}")
            time.sleep(0.05)
    host_key = (base / "host_ed25519.pub").read_text().split()
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    import getpass

    yield SshServer(port=port, user=getpass.getuser(), home=home, docker_log=docker_log, pid=proc.pid)
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
