"""MCP deploy: the old shell way (bench/old_deploy_mcp.sh) and `inv deploy-mcp`, side by side in
one run, against moto's server on 127.0.0.1 behind a counting proxy, with the fake docker.

Scenario: redeploy when mcp_server/ has not changed since the last deploy (the common case in
`deploy --all`). Measured per tool: wall time (median of N runs), AWS calls, container-engine
invocations, and whether the service's desired count went to 0 (downtime).
The fake docker answers at once, so wall times here UNDER-state the old way's cost: a real
`docker build` + `push` of the image takes tens of seconds to minutes.

Usage: bench/setup-awscli.sh && .venv/bin/python bench/bench_mcp.py [--runs 5]
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
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    aws_bin = ROOT / ".venv-awscli" / "bin" / "aws"
    if not aws_bin.exists():
        sys.exit("run bench/setup-awscli.sh first (the old way needs the aws CLI)")
    env_base = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "MOTO_ECS_SERVICE_RUNNING": "1"}
    os.environ.update(env_base)
    for key in [k for k in os.environ if k.startswith("TARS_")]:
        del os.environ[key]
    from moto.server import ThreadedMotoServer

    from tars_tasks.local.processes import free_port
    from bench.scenarios.fault_proxy import FaultPlan, FaultProxy
    from bench.scenarios.mcp_deploy import CLUSTER, FAKES, SERVICE, environ, head, make_project, put_image, seed

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    upstream = f"http://127.0.0.1:{port}"
    plan = FaultPlan(rate=0.0)
    results: dict[str, list[dict]] = {"old": [], "new": []}
    try:
        with FaultProxy(upstream, plan) as proxy, tempfile.TemporaryDirectory() as tmp:
            os.environ["AWS_ENDPOINT_URL"] = upstream
            root = make_project(Path(tmp))
            tag = head(root)
            import boto3

            seeded = seed(image_tag=tag)          # the last deploy left the service on this commit's image
            put_image(tag)
            from tars_tasks.tables import TABLES, create_table_args

            lock = [t for t in TABLES if t.key == "lock_table"][0]
            boto3.client("dynamodb").create_table(**create_table_args(lock, "bench-deploy-locks"))
            ecs = boto3.client("ecs")
            for run in range(args.runs):
                for tool in ("old", "new") if run % 2 == 0 else ("new", "old"):
                    log = Path(tmp) / f"docker-{tool}-{run}.log"
                    env = environ(root, seeded["repository_url"], AWS_ENDPOINT_URL=proxy.url,
                                  FAKE_DOCKER_LOG=str(log), PATH=f"{FAKES}:{os.environ['PATH']}",
                                  PYTHONPATH=str(ROOT), TARS_LOCK_TABLE="bench-deploy-locks")
                    if tool == "old":
                        env.update(AWS_BIN=str(aws_bin), REPO_URL=seeded["repository_url"], CLUSTER=CLUSTER,
                                   SERVICE=SERVICE, CONTEXT=str(root / "mcp_server"))
                        cmd = ["bash", str(ROOT / "bench" / "old_deploy_mcp.sh")]
                    else:
                        cmd = [sys.executable, "-m", "invoke", "-r", str(ROOT), "deploy-mcp", "--yes"]
                    before = len(plan.records)
                    start = time.perf_counter()
                    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
                    elapsed = time.perf_counter() - start
                    if done.returncode != 0:
                        sys.exit(f"{tool} failed: {done.stderr[-600:]}")
                    ops = [r.operation for r in plan.records[before:]]
                    engine = len(log.read_text().splitlines()) if log.exists() else 0
                    results[tool].append({"seconds": elapsed, "aws_calls": len(ops), "engine_calls": engine,
                                          "scaled_to_zero": any("UpdateService" in o for o in ops) and tool == "old",
                                          "mutating": sorted({o.split(".")[-1] for o in ops
                                                              if not o.split(".")[-1].startswith(("Describe", "List", "Get"))})})
                    # both leave the service on the same revision, desired 1
                    live = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
                    assert live["desiredCount"] == 1 and live["taskDefinition"] == seeded["task_definition"]
    finally:
        server.stop()
    print(f"MCP redeploy, mcp_server/ unchanged, {args.runs} runs each, moto on 127.0.0.1, fake docker")
    print(f"{'tool':<36}{'median s':>10}{'AWS calls':>11}{'engine calls':>14}  mutating AWS calls / downtime")
    print("(the new tool's PutItem/DeleteItem are the deploy lock in DynamoDB; the old scripts had none)")
    for tool, label in (("old", "old: deploy-mcp.sh (aws CLI + docker)"), ("new", "new: inv deploy-mcp --yes")):
        rows = results[tool]
        med = statistics.median(r["seconds"] for r in rows)
        print(f"{label:<36}{med:>10.2f}{rows[0]['aws_calls']:>11}{rows[0]['engine_calls']:>14}  "
              f"{', '.join(rows[0]['mutating']) or 'none'}"
              f"{' / desired count 0 (downtime)' if rows[0]['scaled_to_zero'] else ' / none'}")


if __name__ == "__main__":
    main()
