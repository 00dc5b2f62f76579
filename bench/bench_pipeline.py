#!/usr/bin/env python3
"""deploy --all and status vs the old way, side by side, in one run against one local emulator.

1. a no-change `inv deploy --all --local --yes --skip-verify` (one process, each component's own
   no-op detection, one lock) vs deploy.sh --all's way: the four component tasks one after the
   other, one process each (`inv deploy-infrastructure`, `deploy-mcp`, `deploy-lambda`, `deploy-ui`);
2. `inv status --local` (one process, every component's current()) vs check-status.sh's way: one
   `aws` CLI call per fact (alias, function configuration, ECS service, UI objects, lock item).

Setup (not timed): a project copy and one `inv deploy --all --local --yes`.
Usage:  bench/setup-awscli.sh && .venv/bin/python bench/bench_pipeline.py [--runs 5]
Prints a markdown table (docs/benchmarks.md, ## Pipeline). Needs the real components merged.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AWS = ROOT / ".venv-awscli" / "bin" / "aws"
INV = [sys.executable, "-m", "invoke", "-r", str(ROOT)]


def run(argv, env, check=True) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=str(ROOT))
    took = time.perf_counter() - start
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not AWS.exists():
        raise SystemExit("run bench/setup-awscli.sh first")
    sys.path.insert(0, str(ROOT))
    from bench.scenarios.clone import copy_components
    from tars_tasks.local import processes
    from tars_tasks.names import resource_names

    with tempfile.TemporaryDirectory() as tmp:
        root = copy_components(Path(tmp) / "project")
        env = dict(os.environ, TARS_ROOT=str(root), PYTHONPATH=str(ROOT), NO_COLOR="1")
        try:
            run(INV + ["deploy", "--all", "--local", "--yes", "--skip-verify"], env)
            url = processes.read(root / ".tars" / "local" / "proc", "emulator").url
            names = resource_names("sre-poc", "123456789012")
            aws_env = dict(env, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                           AWS_DEFAULT_REGION="us-east-1")
            fn = names["function_name"]
            status_calls = [
                ["lambda", "get-alias", "--function-name", fn, "--name", "production"],
                ["lambda", "get-function-configuration", "--function-name", fn, "--qualifier", "production"],
                ["ecs", "describe-services", "--cluster", names["ecs_cluster"], "--services", names["ecs_service"]],
                ["s3api", "list-objects-v2", "--bucket", names["artifact_bucket"], "--prefix", "releases/local/"],
                ["dynamodb", "get-item", "--table-name", names["lock_table"], "--key", '{"lock_id":{"S":"sre-poc/local"}}'],
            ]
            cases = {
                "deploy --all, no changes": (
                    lambda: run(INV + ["deploy", "--all", "--local", "--yes", "--skip-verify"], env),
                    lambda: sum(run(INV + [t, "--local", "--yes"], env)
                                for t in ("deploy-infrastructure", "deploy-mcp", "deploy-lambda", "deploy-ui"))),
                "status": (
                    lambda: run(INV + ["status", "--local"], env),
                    lambda: sum(run([str(AWS)] + call, aws_env) for call in status_calls)),
            }
            rows = []
            for name, (new, old) in cases.items():
                new_t = [new() for _ in range(args.runs)]
                old_t = [old() for _ in range(args.runs)]
                rows.append((name, statistics.median(new_t), statistics.median(old_t)))
        finally:
            run(INV + ["local.down"], env, check=False)
    print(f"| case ({args.runs} runs, median) | inv (one process) | old way (one process per step) | speed-up |")
    print("|---|---|---|---|")
    for name, new_s, old_s in rows:
        print(f"| {name} | {new_s:.2f} s | {old_s:.2f} s | {old_s / new_s:.1f}x |")


if __name__ == "__main__":
    main()
