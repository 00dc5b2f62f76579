"""Helpers for the MCP server tests: import mcp_server/ modules, run the server as a process."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def server_module():
    sys.path.insert(0, str(ROOT / "mcp_server"))
    try:
        module = importlib.import_module("server")
        module._CLIENT.clear()
        return module
    finally:
        sys.path.remove(str(ROOT / "mcp_server"))


def start_server(port: int, aws_endpoint: str) -> subprocess.Popen:
    """``python mcp_server/server.py --port N`` against the emulator; returns once /health answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": aws_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    proc = subprocess.Popen([sys.executable, str(ROOT / "mcp_server" / "server.py"), "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(300):  # readiness poll of a process we just started (up to ~30 s on a busy CI box)
        if proc.poll() is not None:
            raise RuntimeError(f"MCP server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError("MCP server did not become healthy")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait(timeout=5)
    if proc.stderr:
        proc.stderr.close()
