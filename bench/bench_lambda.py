"""Lambda path benchmark: no-op `inv deploy-lambda` vs the old shell sequence, warm `inv build`, `inv --list`.

Runs against a moto server this script starts (and stops) on 127.0.0.1, with a private copy of
lambda_src/. The shell sequence is what build.sh + deploy-lambda.sh did: pip install into a
folder, `zip -r`, `aws lambda update-function-code`, `aws lambda wait function-updated`, with the
awscli package from .venv-awscli (bench/setup-awscli.sh creates it).

    bench/setup-awscli.sh && .venv/bin/python bench/bench_lambda.py [--runs 5] [--requirements FILE]
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scenarios.moto_template import moto_process  # noqa: E402
from bench.scenarios.old_scripts import OLD_LAMBDA_DEPLOY as SHELL_SEQUENCE  # noqa: E402

FN = "sre-poc-incident-handler"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict, cwd: Path, runs: int, check_output: str | None = None) -> list[tuple[float, float]]:
    """[(wall seconds, CPU seconds of the command and its children)] per run."""
    times = []
    for _ in range(runs):
        cpu, start = _children_cpu(), time.perf_counter()
        result = subprocess.run(argv, env=env, cwd=str(cwd), capture_output=True, text=True)
        times.append((time.perf_counter() - start, _children_cpu() - cpu))
        if result.returncode != 0 or (check_output and check_output not in result.stdout):
            raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return times


def create_function(url: str) -> None:
    import boto3

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "placeholder = 1\n")
    role = boto3.client("iam", endpoint_url=url).create_role(
        RoleName="bench-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", endpoint_url=url).create_function(
        FunctionName=FN, Runtime="python3.11", Role=role, Handler="handler.lambda_handler",
        Code={"ZipFile": buf.getvalue()}, Timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requirements", type=Path,
                        help="use this requirements.txt instead of lambda_src's (both sides install it)")
    args = parser.parse_args()
    aws_bin = ROOT / ".venv-awscli" / "bin"
    if not (aws_bin / "aws").exists():
        raise SystemExit("run bench/setup-awscli.sh first (creates .venv-awscli with awscli 1.46.3)")

    work = Path(tempfile.mkdtemp(prefix="tars-bench-lambda-"))
    for name in ("lambda_src", "invoke.yaml"):
        src = ROOT / name
        shutil.copytree(src, work / name) if src.is_dir() else shutil.copy(src, work / name)
    if args.requirements:
        shutil.copy(args.requirements, work / "lambda_src" / "requirements.txt")
    requirements = [line for line in (work / "lambda_src" / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARS_", "AWS_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               TARS_ROOT=str(work), PYTHONPATH=str(ROOT), NO_COLOR="1")
    moto, url = moto_process(env)
    env["AWS_ENDPOINT_URL"] = url
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    inv = [sys.executable, "-m", "invoke", "-r", str(ROOT)]
    try:
        create_function(url)
        timed([*inv, "deploy-lambda", "--yes", "--no-smoke"], env, ROOT, 1)       # first deploy (and cold build)
        shell_env = dict(env, PATH=f"{aws_bin}:{env['PATH']}")
        noop, shell, warm, listing = [], [], [], []
        load_before = os.getloadavg()[0]
        for _ in range(args.runs):   # interleaved, so both sides see the same machine load
            noop += timed([*inv, "deploy-lambda", "--yes"], env, ROOT, 1, check_output="no changes")
            shell += timed(["bash", "-c", SHELL_SEQUENCE.format(fn=FN)], shell_env, work, 1)
            warm += timed([*inv, "build"], env, ROOT, 1, check_output="reused")
            listing += timed([*inv, "--list"], env, ROOT, 1)
        load_after = os.getloadavg()[0]
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    rows = [("no-op `inv deploy-lambda`", noop, "-"),
            ("shell: pip + zip -r + update-function-code + wait", shell, "-"),
            ("warm `inv build` (nothing changed)", warm, "<= 0.5 s"),
            ("`inv --list`", listing, "<= 0.25 s")]
    print(f"runs per row: {args.runs}, interleaved; python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load average {load_before:.1f} -> {load_after:.1f}; requirements: {', '.join(requirements) or 'none'}")
    print("| what | wall median | wall min | wall max | CPU median | target |\n|---|---|---|---|---|---|")
    for name, runs, target in rows:
        wall, cpu = [w for w, _ in runs], [c for _, c in runs]
        print(f"| {name} | {med(wall):.3f} s | {min(wall):.3f} s | {max(wall):.3f} s | {med(cpu):.3f} s | {target} |")
    ratio = med([w for w, _ in shell]) / med([w for w, _ in noop])
    best = min(w for w, _ in shell) / min(w for w, _ in noop)
    cpu_ratio = med([c for _, c in shell]) / med([c for _, c in noop])
    print(f"\nno-op deploy vs shell sequence: {ratio:.1f}x (wall medians), {best:.1f}x (wall minima), "
          f"{cpu_ratio:.1f}x (CPU medians); target >= 10x")


if __name__ == "__main__":
    main()
