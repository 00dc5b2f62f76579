"""The figures of docs/reliability.md: the fault and kill scenarios of tests/faults/, run and counted.

    /work/main/.venv/bin/python bench/reliability_report.py [--runs 20] [--rate 0.2]

Runs, against moto's server on 127.0.0.1 and through bench/scenarios/fault_proxy.py, the same scenarios
the tests assert on: deploy-lambda and deploy-ui under seeded faults (real `inv` subprocesses),
deploy-ui SIGKILLed at its N-th request, deploy-lambda SIGKILLed at PublishVersion. Prints
markdown tables: outcomes, faults injected by kind, attempts per operation and how many faulted
attempts were tried again; "broken" counts end states the tests forbid (must be 0).
"""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scenarios.lambda_faults import reset  # noqa: E402

KINDS = ("500", "503", "throttle", "reset", "delay")


def make_project(base: Path) -> Path:
    root = base / "project"
    root.mkdir()
    shutil.copytree(ROOT / "lambda_src", root / "lambda_src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "invoke.yaml", root / "invoke.yaml")
    (root / ".tars").mkdir()
    (ROOT / ".tars" / "cache").mkdir(parents=True, exist_ok=True)
    (root / ".tars" / "cache").symlink_to(ROOT / ".tars" / "cache")
    return root


def retried_after_fault(records) -> collections.Counter:
    out: collections.Counter = collections.Counter()
    for i, r in enumerate(records):
        if r.fault and any(later.operation == r.operation for later in records[i + 1:]):
            out[r.operation] += 1
    return out


def short(operation: str) -> str:
    """One row per kind of call: object keys, release ids and the distribution id folded."""
    import re

    op = operation.replace("/2015-03-31/functions/sre-poc-incident-handler", "/fn").replace(
        "/sre-poc-ui-123456789012", "/<bucket>")
    op = re.sub(r"/assets/[^ ]+", "/assets/<hashed asset>", op)
    op = re.sub(r"/_releases/[^ ]+", "/_releases/<release>.json", op)
    return re.sub(r"/distribution/[A-Z0-9]+", "/distribution/<id>", op)


def operation_table(runs) -> list[str]:
    attempts, faults, retried = collections.Counter(), collections.Counter(), collections.Counter()
    for run in runs:
        for r in run.records:
            attempts[short(r.operation)] += 1
            faults[short(r.operation)] += bool(r.fault)
        for op, n in retried_after_fault(run.records).items():
            retried[short(op)] += n
    lines = ["| operation | attempts | faulted | faulted, then tried again |", "|---|---:|---:|---:|"]
    for op in sorted(attempts, key=lambda o: (-faults[o], o)):
        if faults[op] or "invocations" in op:
            lines.append(f"| `{op}` | {attempts[op]} | {faults[op]} | {retried[op]} |")
    return lines


def fault_kinds(runs) -> str:
    kinds = collections.Counter(r.fault for run in runs for r in run.records if r.fault)
    total = sum(len(run.records) for run in runs)
    return (f"{sum(kinds.values())} faults in {total} requests: "
            + ", ".join(f"{k} {kinds.get(k, 0)}" for k in KINDS))


def lambda_suite(endpoint, root, runs, rate):
    from bench.scenarios import lambda_faults as sc

    results, broken = [], 0
    for seed in range(runs):
        reset(endpoint)
        sc.prepare(endpoint)
        run = sc.run(endpoint, root, seed, rate)
        results.append(run)
        try:
            sc.check(run)
        except AssertionError as err:
            broken += 1
            print(f"  lambda seed {seed}: {err}", file=sys.stderr)
    deployed = sum(r.deployed for r in results)
    smoke_failed = sum(1 for r in results if not r.deployed and "smoke test" in (r.error_lines() or [""])[0])
    invoke_faulted = sum(1 for r in results if any(x.fault for x in r.records if x.operation == sc.INVOKE))
    invokes = max((sum(1 for x in r.records if x.operation == sc.INVOKE) for r in results), default=0)
    print(f"\n### deploy-lambda under faults ({runs} runs, rate {rate:g})\n")
    print(f"- outcomes: {deployed} deployed (alias on the new smoke-passed version, pruned to 3), "
          f"{runs - deployed} failed clean (one error line, alias on the previous version): "
          f"{smoke_failed} by a failing smoke reply, {invoke_faulted} by a faulted Invoke (not retried); "
          f"broken: {broken}")
    print(f"- {fault_kinds(results)}")
    print(f"- most Invoke attempts in one run: {invokes}\n")
    print("\n".join(operation_table(results)))


def ui_suite(endpoint, root, runs, rate, spare=(), **env):
    from bench.scenarios import ui_faults as sc

    reset(endpoint)
    dist_id, old = sc.prepare(endpoint, root)
    results, broken = [], 0
    for seed in range(runs):
        run = sc.run(endpoint, root, dist_id, old, seed, rate, spare=spare, **env)
        results.append(run)
        try:
            sc.check(run)
        except AssertionError as err:
            broken += 1
            print(f"  ui seed {seed}: {err}", file=sys.stderr)
        old = run.new if run.state == "new" else old
    new = sum(r.state == "new" for r in results)
    how = ", one attempt per call (TARS_MAX_ATTEMPTS=1), lock calls spared" if env else ""
    print(f"\n### deploy-ui under faults ({runs} runs, rate {rate:g}{how})\n")
    failed = [r for r in results if r.returncode != 0]
    print(f"- outcomes: {len(results) - len(failed)} deployed (new release live and complete), {len(failed)} failed "
          f"with one error line: {sum(r.state == 'old' for r in failed)} with the previous index.html live, "
          f"byte-identical, its assets present, {sum(r.state == 'new' for r in failed)} after the switch "
          f"(new release live and complete); broken: {broken}")
    print(f"- {fault_kinds(results)}\n")
    print("\n".join(operation_table(results)))


def ui_kills(endpoint, root, runs):
    from bench.scenarios import ui_faults as sc

    reset(endpoint)
    dist_id, old = sc.prepare(endpoint, root)
    trials = []
    for seed in range(runs):
        trial = sc.kill_run(endpoint, root, dist_id, old, seed)
        trials.append(trial)
        old = trial.new
    killed = [t for t in trials if t.killed_at]
    broken = sum(t.state not in ("old", "new") for t in trials)
    reruns = sum(t.rerun.returncode == 0 and t.rerun_state == "new" for t in trials)
    print(f"\n### deploy-ui SIGKILLed at a seeded request ({runs} trials)\n")
    print(f"- killed mid-deploy: {len(killed)} (at requests {sorted(t.killed_at for t in killed)}); "
          f"the others finished before their kill point")
    print(f"- live after the kill: {sum(t.state == 'old' for t in killed)} previous release whole, "
          f"{sum(t.state == 'new' for t in killed)} new release whole; broken: {broken}")
    print(f"- reruns (after inv unlock --force) that completed with the new release live: {reruns}/{runs}")


def lambda_kill(endpoint, root):
    from bench.scenarios import lambda_faults as sc

    reset(endpoint)
    sc.prepare(endpoint)
    (root / "lambda_src" / "fault_seed.py").write_text("SEED = 'kill'\n")
    proc = sc.start_killed_at_publish(endpoint, root, TARS_LOCK_LEASE_SECONDS="2")
    alias_after_kill, versions_after_kill = sc.alias_version(endpoint), sc.published(endpoint)
    refused, _ = sc.rerun(endpoint, root)
    expires = float(sc.lock_item(endpoint)["expires_at"]["N"])
    while time.time() <= expires:
        time.sleep(0.1)
    done, smoke = sc.rerun(endpoint, root)
    print("\n### deploy-lambda SIGKILLed at PublishVersion\n")
    print(f"- killed: {proc.returncode == -signal.SIGKILL}; alias after the kill: version {alias_after_kill} "
          f"(previous {sc.PREVIOUS}); versions after the kill: {', '.join(versions_after_kill)}")
    print(f"- rerun while the lease is live: exit {refused.returncode}; after the lease (2 s): exit "
          f"{done.returncode}, alias on version {sc.alias_version(endpoint)} (smoke passed: {smoke.passed})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.2)
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    for key in [k for k in os.environ if k.startswith("TARS_")]:
        del os.environ[key]
    from moto.server import ThreadedMotoServer

    from tars_tasks.local.processes import free_port

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = make_project(Path(tmp))
            lambda_suite(endpoint, root, args.runs, args.rate)
            ui_suite(endpoint, root, args.runs, args.rate)
            from bench.scenarios.ui_faults import LOCK_OPS

            ui_suite(endpoint, root, args.runs, args.rate, spare=LOCK_OPS, TARS_MAX_ATTEMPTS="1")
            ui_kills(endpoint, root, args.runs)
            lambda_kill(endpoint, root)
    finally:
        server.stop()
    print(f"\n(total {time.monotonic() - started:.0f} s on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
