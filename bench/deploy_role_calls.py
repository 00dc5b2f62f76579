"""Record every AWS API call the deploy tasks make, in a fresh copy of the project, local target.

    .venv/bin/python bench/deploy_role_calls.py [--out FILE.jsonl] [--keep DIR]

The scenario (each one `inv ... --local` as a user runs it, in order): deploy --all (first:
creates the local infrastructure), a change to every component (Lambda code, UI source, MCP
server, one commit), deploy --all again, deploy --all once more (nothing changed), verify,
status, mcp-stop, mcp-start, rollback --to the first release, releases.

The recorder (tests/support/aws_calls/sitecustomize.py) is a botocore session event hook put in
front of PYTHONPATH: every process of the run that talks to AWS writes its calls, tagged with its
command line and the calling tars_tasks function. bench/deploy_role_actions.py turns the log into
IAM actions; tests/e2e/test_deploy_role_actions.py runs this scenario and compares.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORDER = ROOT / "tests" / "support" / "aws_calls"
sys.path.insert(0, str(ROOT))

from bench.scenarios.clone import copy_project  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
GIT = ["git", "-c", "user.email=bench@tars.invalid", "-c", "user.name=bench"]


def environment(log: Path, extra: dict | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TARS_", "AWS_", "GITHUB_")) and k not in ("VITE_API_ENDPOINT",)}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "NO_COLOR": "1", "TARS_WAITER_DELAY": "0.05",
                # a short lease: the lock's renewal thread runs (and is recorded) during each deploy
                "TARS_LOCK_LEASE_SECONDS": "6",
                "DEPLOY_CALLS_LOG": str(log)})
    env.update(extra or {})
    return env


class Scenario:
    """A project copy and its `inv` runs, each recorded into ``log``."""

    def __init__(self, workdir: Path, log: Path, python: Path = PYTHON, env: dict | None = None):
        self.project = copy_project(workdir / "repo")
        modules = ROOT / "ui" / "node_modules"
        if modules.is_dir():  # hard links: no npm ci in the copy
            subprocess.run(["cp", "-al", str(modules), str(self.project / "ui" / "node_modules")], check=True)
        self.log, self.python = log, python
        self.env = environment(log, env)
        self.env["PYTHONPATH"] = os.pathsep.join([str(RECORDER), str(self.project)])
        self.ran: list[tuple[list[str], int]] = []

    def inv(self, *args: str, check: bool = True, record: bool = True) -> subprocess.CompletedProcess:
        env = dict(self.env)
        if not record:
            env.pop("DEPLOY_CALLS_LOG")
        done = subprocess.run([str(self.python), "-m", "invoke", *args], cwd=self.project, env=env,
                              capture_output=True, text=True, timeout=1200)
        self.ran.append((list(args), done.returncode))
        if check and done.returncode != 0:
            raise RuntimeError(f"inv {' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def change_everything(self) -> None:
        with (self.project / "lambda_src" / "handler.py").open("a") as fh:
            fh.write("\n# a change recorded by bench/deploy_role_calls.py\n")
        app = self.project / "ui" / "src" / "App.jsx"  # a visible change: a new bundle
        text = app.read_text()
        assert "<h1>TARS</h1>" in text, "the UI change of the scenario needs a new anchor"
        app.write_text(text.replace("<h1>TARS</h1>", "<h1>TARS (changed)</h1>", 1))
        with (self.project / "mcp_server" / "server.py").open("a") as fh:
            fh.write("\n# a change recorded by bench/deploy_role_calls.py\n")
        subprocess.run([*GIT, "commit", "-qam", "change every component"], cwd=self.project, check=True)

    def run(self) -> dict:
        """The whole scenario. Returns what it did (commands and exit codes, the release ids)."""
        first = self.report("deploy", "--all", "--local", "--yes")
        self.change_everything()
        self.report("deploy", "--all", "--local", "--yes")
        self.report("deploy", "--all", "--local", "--yes")
        self.inv("verify", "--local")
        self.inv("status", "--local")
        self.inv("mcp-stop", "--local", "--yes")
        self.inv("mcp-start", "--local", "--yes")
        self.report("rollback", "--to", first["release_id"], "--local", "--yes")
        self.inv("releases", "--local")
        return {"ran": self.ran, "first_release": first["release_id"],
                "first_versions": {c["component"]: c["after"] for c in first["components"]}}

    def report(self, *args: str) -> dict:
        path = self.project / ".tars" / f"report-{len(self.ran)}.json"
        self.inv(*args, "--json", str(path))
        return json.loads(path.read_text())

    def down(self) -> None:
        self.inv("local.down", check=False, record=False)


def rows(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.is_file() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where to write the call log (JSON lines)")
    parser.add_argument("--keep", type=Path, default=None, help="run in this directory and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deploy-calls-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        log = args.out or work / "calls.jsonl"
        log.unlink(missing_ok=True)
        scenario = Scenario(work, log)
        try:
            done = scenario.run()
        finally:
            scenario.down()
        print(json.dumps(done, indent=1))
        print(f"{len(rows(log))} calls recorded in {log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
