"""A no-op `inv deploy --all --local` (nothing changed), before vs after, side by side in one run.

    .venv/bin/python bench/bench_noop.py [--runs 5] [--old-ref 7bd2abf] [--command "deploy-lambda --local --yes"] [--verify]

One fresh copy of the project gets `inv deploy --all --local --yes` (everything deployed, verify
included). Then, against that one emulator and that one deployment, the same command with
nothing changed, alternating between:

* before: the task library of ``--old-ref`` (``tars_tasks/``, ``tasks.py`` and ``invoke.yaml``
  unpacked with ``git archive`` and run from there);
* after: this tree's.

Both see the same state and both should find nothing to do (the bench stops if one deploys
anything). Wall time and CPU (user + sys of the `inv` process and its children) per run, and in
the same rounds the floors no task goes below (a bare interpreter, Invoke's import, botocore's
session and Lambda client); with
``--verify`` also `inv verify --local` with this tree (the checks through the warm runtime); then
one ``python -X importtime`` run per side (what the command imports). Prints Markdown tables.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scenarios.clone import copy_project, extract  # noqa: E402


def inv(tree: Path, root: Path, *args: str) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of `inv ARGS` run with the task library in ``tree``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARS_", "AWS_"))}
    env.update(TARS_ROOT=str(root), PYTHONPATH=str(tree), NO_COLOR="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "invoke", "-r", str(tree), *args], cwd=tree, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"inv {' '.join(args)} ({tree}) failed ({done.returncode}):\n"
                         f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout + done.stderr


TOP_IMPORTS = ("invoke", "tars_tasks", "botocore.session", "boto3", "s3transfer", "rich.console", "rich.markup")


def imports(tree: Path, root: Path, args: list[str]) -> dict[str, int]:
    """Cumulative import time (µs, ``python -X importtime``) of each of TOP_IMPORTS the command
    imports at all (a module absent from the result was never imported)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARS_", "AWS_"))}
    env.update(TARS_ROOT=str(root), PYTHONPATH=str(tree), NO_COLOR="1")
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "invoke", "-r", str(tree), *args], cwd=tree,
                          env=env, capture_output=True, text=True)
    found: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            _, cumulative, name = (part.strip() for part in line.split("|"))
            if name in TOP_IMPORTS and cumulative.isdigit():
                found[name] = max(found.get(name, 0), int(cumulative))
    return found


FLOORS = (("python -c pass", "pass"),
          ("import invoke (inv's own import)", "import invoke"),
          ("import botocore.session + create_client('lambda')",
           "import botocore.session as s; s.Session().create_client('lambda', region_name='us-east-1', "
           "endpoint_url='http://127.0.0.1:9')"),
          ("both (the floor of any inv task that calls Lambda)",
           "import invoke, botocore.session as s; s.Session().create_client('lambda', region_name='us-east-1', "
           "endpoint_url='http://127.0.0.1:9')"))


def floor(code: str) -> tuple[float, float, str]:
    """(wall s, CPU s, '') of a fresh interpreter running ``code``: what no task can go below."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), ""


def row(name: str, runs: list[tuple[float, float, str]]) -> str:
    wall = [r[0] for r in runs]
    cpu = [r[1] for r in runs]
    return (f"| {name} | {statistics.median(wall):.2f} s | {min(wall):.2f} s | {max(wall):.2f} s "
            f"| {statistics.median(cpu):.2f} s | {len(runs)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="no-op runs per side")
    parser.add_argument("--old-ref", default="7bd2abf",
                        help="git ref of the 'before' task library (one that deploys the local infrastructure with Terraform: older refs used the bootstrap mirror, whose function has no user pool and fails verify)")
    parser.add_argument("--command", default="deploy --all --local --yes", help="the no-op inv command")
    parser.add_argument("--verify", action="store_true", help="also time inv verify --local (this tree) each round")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tars-bench-noop-") as tmp:
        root = copy_project(Path(tmp) / "tars")
        old = extract(args.old_ref, Path(tmp) / "old", "tars_tasks", "tasks.py", "invoke.yaml")
        sides: dict[str, list] = {f"before ({args.old_ref})": [], "after (this tree)": []}
        verify: list = []
        floors: dict[str, list] = {}
        try:
            inv(ROOT, root, "deploy", "--all", "--local", "--yes")
            for _ in range(args.runs):
                for (name, runs), tree in zip(sides.items(), (old, ROOT)):
                    result = inv(tree, root, *args.command.split())
                    if "no changes" not in result[2] or "deployed;" in result[2]:
                        raise SystemExit(f"{name}: not a no-op:\n{result[2][-3000:]}")
                    runs.append(result)
                if args.verify:
                    verify.append(inv(ROOT, root, "verify", "--local"))
                for label, code in FLOORS:
                    floors.setdefault(label, []).append(floor(code))
            imported = {name: imports(tree, root, args.command.split()) for name, tree in zip(sides, (old, ROOT))}
        finally:
            subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), "local.down"], cwd=root,
                           env=dict(os.environ, TARS_ROOT=str(root), PYTHONPATH=str(ROOT)), capture_output=True)
    print(f"load average (1 min) before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f}; "
          f"{args.runs} runs per side, alternating")
    print(f"| `inv {args.command}`, nothing changed | median wall | min | max | median CPU | runs |")
    print("|---|---|---|---|---|---|")
    for name, runs in sides.items():
        print(row(name, runs))
    if verify:
        print(row("`inv verify --local` (after: through the warm runtime)", verify))
    for label, runs in floors.items():
        print(row(f"floor: {label}", runs))
    old_med = statistics.median(r[0] for r in sides[f"before ({args.old_ref})"])
    new_med = statistics.median(r[0] for r in sides["after (this tree)"])
    print(f"| after / before (median wall) | {new_med / old_med:.2f} | | | | |")
    print(f"\n`python -X importtime` of one more `inv {args.command}` per side: cumulative ms ('-': not imported)\n")
    print("| side | " + " | ".join(TOP_IMPORTS) + " |\n|---|" + "---|" * len(TOP_IMPORTS))
    for name, found in imported.items():
        print(f"| {name} | " + " | ".join(f"{found[m] / 1000:.0f}" if m in found else "-" for m in TOP_IMPORTS) + " |")


if __name__ == "__main__":
    main()
