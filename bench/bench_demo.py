"""Benchmark of the newcomer's path: `make demo` on a fresh clone, then `make demo` again, for this
tree and for a git ref (default: main) side by side in one run.

    .venv/bin/python bench/bench_demo.py [--ref main] [--runs 1]

Each side is a fresh copy (its own git repository, no .tars/ except the shared Lambda dependency
cache, no ui/node_modules: the first `make demo` runs npm ci from npm's cache) with this checkout's
virtualenvs linked in as .venv and .venv-checkov (so `make setup` has nothing to install), run in a
shell with no virtualenv active. For the second `make demo` it reports the wall time, whether npm ci
ran, the release records and the payment-service ERROR events in the emulator (the chat's count).
Prints a Markdown table for docs/benchmarks.md. Stops every local process it started, by pid.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scenarios.clone import copy_project, extract, stop_recorded  # noqa: E402  (the e2e tests' fresh-clone recipe)


def shell(root: Path, script: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {"HOME": os.environ.get("HOME", "/root"), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "TERM": "dumb"}
    started = time.perf_counter()
    done = subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{script} failed in {root} ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed, done


def tree(ref: str | None, dest: Path) -> Path:
    """A fresh clone of ``ref`` (None: this working tree)."""
    if ref is None:
        root = copy_project(dest)
    else:
        extract(ref, dest)
        git = ["git", "-c", "user.email=bench@tars.invalid", "-c", "user.name=bench"]
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
        subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
        subprocess.run([*git, "commit", "-q", "-m", f"snapshot of {ref}"], cwd=dest, check=True)
        (dest / ".tars").mkdir()
        (dest / ".tars" / "cache").symlink_to(ROOT / ".tars" / "cache")
        root = dest
    for venv in (".venv", ".venv-checkov"):
        (root / venv).symlink_to(ROOT / venv)
    return root


def observe(root: Path) -> dict:
    import boto3

    from tars_tasks.local import processes

    url = processes.read(root / ".tars" / "local" / "proc", "emulator").url
    logs = boto3.client("logs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")
    errors = logs.filter_log_events(logGroupName="/ecs/payment-service", filterPattern="ERROR")["events"]
    _, listed = shell(root, f".venv/bin/inv releases --local --json {root / 'releases.json'}")
    return {"errors": len(errors), "records": len(json.loads((root / "releases.json").read_text())["releases"])}


def side(ref: str | None, tmp: Path) -> dict:
    root = tree(ref, tmp / (ref or "this-tree").replace("/", "-"))
    try:
        first, _ = shell(root, "make demo")
        after_first = observe(root)
        second, done = shell(root, "make demo")
        after_second = observe(root)
        out = done.stdout + done.stderr
        return {"side": ref or "this tree", "first": first, "second": second,
                "npm_ci_again": "npm ci --no-audit" in out,
                "records": (after_first["records"], after_second["records"]),
                "errors": (after_first["errors"], after_second["errors"])}
    finally:
        down(root)


def down(root: Path) -> None:
    """The clone's own ``inv local.down``, then whatever it left recorded."""
    subprocess.run([str(root / ".venv" / "bin" / "inv"), "local.down"], cwd=root, capture_output=True)
    stop_recorded(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main", help="the git ref to compare with (default main)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for _ in range(args.runs):
        for ref in (args.ref, None):   # interleaved: the old side, then this tree
            with tempfile.TemporaryDirectory(prefix="tars-bench-demo-") as tmp:
                rows.append(side(ref, Path(tmp)))
                shutil.rmtree(tmp, ignore_errors=True)
    print("| tree | first `make demo` (s) | second `make demo` (s) | npm ci again | release records after 1st / 2nd "
          "| payment-service ERROR events after 1st / 2nd |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['side']} | {r['first']:.1f} | {r['second']:.1f} | {'yes' if r['npm_ci_again'] else 'no'} "
              f"| {r['records'][0]} / {r['records'][1]} | {r['errors'][0]} / {r['errors'][1]} |")


if __name__ == "__main__":
    main()
