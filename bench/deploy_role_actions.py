"""Derive the deploy role's actions from recorded calls; write docs/deploy-role-actions.json.

    .venv/bin/python bench/deploy_role_actions.py            # record, then write the file
    .venv/bin/python bench/deploy_role_actions.py --check    # record, then compare (exit 1 on a difference)

Two recordings, both of the task process only (the botocore hook of tests/support/aws_calls):
1. the local scenario of bench/deploy_role_calls.py: deploy --all (x3, every component changed
   once), verify, status, mcp-stop, mcp-start, rollback --to, releases, on the local target;
2. the AWS-target code paths the local target does not take (the smoke test's Invoke, pruning
   old versions, the ECR login, the ECS rollout and its watch, the UI rollback from object
   versions, the Terraform lock and outputs): the tests in ``AWS_PATH_TESTS``, integration tests
   that run `inv` against moto's server as an AWS account and unit tests that run the steps in
   process (there only calls made through a step, a task or the lock count, not test setup).

Calls the task process makes only as a local stand-in (actions.LOCAL_STAND_INS) and calls of other
processes (the function runtime, the site server, the MCP server: their own roles) are counted
but not granted. Actions of the programs the tasks run with the role's credentials (terraform,
the container engine's push) cannot be recorded by a botocore hook: ``EXTERNAL`` lists them and why.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scenarios import aws_actions as A  # noqa: E402

OUT = ROOT / "docs" / "deploy-role-actions.json"
AWS_PATH_TESTS = [
    # unit tests: the steps on the AWS target, in-process (moto; the smoke test's Invoke, the lock's
    # renewal, the rollout's failure reasons, the UI's copies and deletes answered by before-send)
    "tests/unit/test_lambda_deploy.py", "tests/unit/test_lock.py", "tests/unit/test_mcp_ecs.py",
    "tests/unit/test_mcp_ecr.py", "tests/unit/test_mcp_steps.py", "tests/unit/test_ui_steps.py",
    "tests/unit/test_ui_cloudfront.py", "tests/unit/test_verify_api.py", "tests/unit/test_pipeline_run.py",
    "tests/unit/test_pipeline_rollback.py", "tests/unit/test_release_records.py",
    "tests/unit/test_preflight_checks.py", "tests/unit/test_status_table.py",
    # integration tests: `inv` against moto's server as an AWS account
    "tests/integration/test_lambda_tasks.py",
    "tests/integration/test_mcp_deploy_cli.py",
    "tests/integration/test_ui_deploy_task.py",
    "tests/integration/test_pipeline_tasks.py",
    "tests/integration/test_infra_deploy.py",
]

# Actions of programs the tasks start with the role's credentials (no botocore in them)
EXTERNAL = {
    "ecr:BatchCheckLayerAvailability": "docker/podman push of the MCP image (tools/engine.py): layer check",
    "ecr:InitiateLayerUpload": "docker/podman push: layer upload",
    "ecr:UploadLayerPart": "docker/podman push: layer upload",
    "ecr:CompleteLayerUpload": "docker/podman push: layer upload",
    "ecr:PutImage": "docker/podman push: the image manifest",
    "ecr:BatchGetImage": "docker/podman push: reads the manifest back (ECR's documented push permissions)",
    "s3:GetObject": "terraform's S3 backend reads this env's state (and the tasks read records)",
    "s3:PutObject": "terraform's S3 backend writes this env's state (plan -lock, apply)",
    "s3:ListBucket": "terraform's S3 backend lists the state bucket",
    "dynamodb:GetItem": "terraform's state lock table",
    "dynamodb:PutItem": "terraform's state lock table",
    "dynamodb:DeleteItem": "terraform's state lock table",
}
# terraform plan (deploy --infra) refreshes every resource of infrastructure/: read-only verbs,
# granted as the TerraformPlanRead statement's patterns (not recordable here, see docs/security.md)
TERRAFORM_PLAN_STATEMENT = "TerraformPlanRead"


def record_local(work: Path) -> list[dict]:
    from bench.deploy_role_calls import Scenario

    log = work / "local-calls.jsonl"
    scenario = Scenario(work, log)
    try:
        scenario.run()
    finally:
        scenario.down()
    return A.load_rows(log)


def record_aws_paths(work: Path) -> list[dict]:
    log = work / "aws-calls.jsonl"
    recorder = ROOT / "tests" / "support" / "aws_calls"
    env = dict(os.environ, DEPLOY_CALLS_LOG=str(log), PYTHONPATH=os.pathsep.join([str(recorder), str(ROOT)]))
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *AWS_PATH_TESTS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the AWS-path tests failed, nothing written:\n{done.stdout[-4000:]}")
    return A.load_rows(log)


def derive(local_rows: list[dict], aws_rows: list[dict]) -> dict:
    granted: dict[str, dict] = defaultdict(lambda: {"operations": set(), "callers": set(), "recorded_in": set()})
    left_out: dict[str, set] = defaultdict(set)
    for where, rows in (("local scenario", local_rows), ("AWS-path tests", aws_rows)):
        for row in rows:
            who = A.origin(row, A.LOCAL_STAND_INS)
            for action, _resources in A.iam_calls(row):
                if who != "deployer":
                    left_out[who].add(action)
                    continue
                entry = granted[action]
                entry["operations"].add(f"{row['service']}.{row['operation']}")
                entry["callers"].add(row.get("caller") or "(a worker thread of the task)")
                entry["recorded_in"].add(where)
    return {
        "generated_by": "bench/deploy_role_actions.py (see its docstring)",
        "actions": {a: {k: sorted(v) for k, v in e.items()} for a, e in sorted(granted.items())},
        "external": EXTERNAL,
        "terraform_plan_statement": TERRAFORM_PLAN_STATEMENT,
        "not_granted": {who: sorted(acts) for who, acts in sorted(left_out.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the checked-in file instead of writing it")
    parser.add_argument("--local-log", type=Path, help="use this recorded local log instead of running the scenario")
    parser.add_argument("--aws-log", type=Path, help="use this recorded AWS-path log instead of running the tests")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deploy-role-") as tmp:
        work = Path(tmp)
        local_rows = A.load_rows(args.local_log) if args.local_log else record_local(work)
        aws_rows = A.load_rows(args.aws_log) if args.aws_log else record_aws_paths(work)
    derived = derive(local_rows, aws_rows)
    text = json.dumps(derived, indent=1, sort_keys=True) + "\n"
    if args.check:
        saved = json.loads(OUT.read_text())
        new, gone = set(derived["actions"]) - set(saved["actions"]), set(saved["actions"]) - set(derived["actions"])
        print(f"called now, not in {OUT.name}: {sorted(new) or 'none'}")
        print(f"in {OUT.name}, not called now: {sorted(gone) or 'none'}")
        return 1 if new or gone else 0
    OUT.write_text(text)
    print(f"{len(derived['actions'])} actions from {len(local_rows)} + {len(aws_rows)} recorded calls -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
