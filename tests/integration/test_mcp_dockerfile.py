"""The MCP server image recipe: slim base, non-root, HEALTHCHECK on /health, a small context."""
import fnmatch
import json
import shlex
from importlib.metadata import version

from bench.scenarios.mcp_server import ROOT

MCP = ROOT / "mcp_server"


def instructions():
    lines, joined = [], ""
    for raw in (MCP / "Dockerfile").read_text().splitlines():
        if raw.strip().startswith("#") or not raw.strip():
            continue
        joined += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            word, _, rest = joined.strip().partition(" ")
            lines.append((word.upper(), rest.strip()))
            joined = ""
    return lines


def healthcheck_command() -> list[str]:
    rest = dict(instructions())["HEALTHCHECK"]
    return json.loads(rest[rest.index("CMD") + 3:].strip())


def test_base_user_port_and_healthcheck():
    ins = instructions()
    assert ins[0] == ("FROM", "python:3.11-slim")
    user = [rest for word, rest in ins if word == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert ("EXPOSE", "8000") in ins
    assert "/health" in " ".join(healthcheck_command())


def test_every_copied_file_exists_and_passes_dockerignore():
    ignore = [l.strip() for l in (MCP / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]

    def sent(path: str) -> bool:
        included = True
        for pattern in ignore:
            negate = pattern.startswith("!")
            if fnmatch.fnmatch(path, pattern.lstrip("!")):
                included = negate
        return included

    copied = [src for word, rest in instructions() if word == "COPY" for src in shlex.split(rest)[:-1]]
    assert set(copied) == {"requirements.txt", "server.py", "cwlogs.py"}
    for src in copied:
        assert (MCP / src).is_file() and sent(src), src
    assert not sent("tests/test_x.py") and not sent("__pycache__/server.cpython-311.pyc")
    # the server imports only what the image copies
    local_imports = {l.split()[1] for l in (MCP / "server.py").read_text().splitlines() if l.startswith("import ")}
    assert {m for m in local_imports if (MCP / f"{m}.py").exists()} <= {"cwlogs"}


def test_image_requirements_pin_the_sdk_the_tests_use():
    pins = dict(l.split("==") for l in (MCP / "requirements.txt").read_text().splitlines() if "==" in l)
    assert pins["mcp"] == version("mcp") and pins["boto3"] == version("boto3")
