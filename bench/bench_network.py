"""Deploys over a network with latency: on loopback and through bench/latency_proxy.py (+40 ms per
request), the old shell sequence, the task library before (``--before-ref``) and after (this tree),
side by side in one run against one moto server.

    bench/setup-awscli.sh && .venv/bin/python bench/bench_network.py [--runs 3] [--ms 0,40] [--before-ref 42ab605]

Cases (each run alternates the order of the sides):

* no-op ``inv deploy-lambda --yes`` (nothing changed) and changed ``inv deploy-lambda --yes`` (one
  line of lambda_src/ changed per run; the smoke test's Invoke answered by the proxy, since moto
  runs no Lambda code) against deploy-lambda.sh's sequence as the runbook describes it: pip install
  + ``zip -r`` + ``aws lambda update-function-code`` + ``aws lambda wait function-updated`` +
  ``aws lambda invoke`` (the smoke test, answered the same way). The old way had no no-op: it
  always ran the whole sequence.
* a 300-file (~20 MB) first UI deploy, ``inv deploy-ui --skip-build --yes`` on fresh buckets against
  deploy-ui.sh's two ``aws s3 sync`` passes and a ``/*`` invalidation (awscli 1.46.3, .venv-awscli).

Loopback goes through the same proxy at 0 ms (so the smoke Invoke is answered and requests are
counted on both sides). Every side: wall time, CPU (user + sys of the process and its children),
the emulator's CPU while it ran (one moto process serves every request, so its CPU is a floor both
sides share on a 2-core box), requests and ``Expect: 100-continue`` round trips through the proxy. Ratios against the old way: median / median and min / min. The machine's
load average is printed per network setting. Prints Markdown (docs/benchmarks.md, "Over a network").
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latency_proxy import LatencyProxy  # noqa: E402
from bench.scenarios.clone import extract  # noqa: E402
from bench.scenarios.old_scripts import OLD_LAMBDA_DEPLOY, OLD_LAMBDA_SMOKE  # noqa: E402
from bench.scenarios.ui_site import RECORDS_BUCKET, make_site, write_dist  # noqa: E402

FN, LOCK_TABLE = "sre-poc-incident-handler", "sre-poc-deploy-locks"
AWS = ROOT / ".venv-awscli" / "bin" / "aws"
INVOKE = f"lambda:POST /2015-03-31/functions/{FN}/invocations"
HEALTHY = json.dumps({"statusCode": 200, "body": json.dumps({"status": "ok"})}).encode()
OLD_LAMBDA = OLD_LAMBDA_DEPLOY + OLD_LAMBDA_SMOKE


def smoke_answer(method: str, path: str, body: bytes):
    return 200, {"Content-Type": "application/json", "X-Amz-Executed-Version": "1"}, HEALTHY


EMULATOR_PID: list[int] = []   # moto's server: its CPU per run is reported too (it serves both sides)


def emulator_cpu() -> float:
    """User + system seconds the emulator process has used so far (0 when unknown)."""
    try:
        fields = Path(f"/proc/{EMULATOR_PID[0]}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (IndexError, OSError, ValueError):
        return 0.0


def run(argv, env, cwd, proxy: LatencyProxy, expect: str | None = None) -> tuple[float, float, int, int, float]:
    """(wall s, CPU s, requests, ``Expect: 100-continue`` round trips, emulator CPU s) of one command
    through the proxy; stops the bench when the command fails."""
    proxy.reset()
    before, served = resource.getrusage(resource.RUSAGE_CHILDREN), emulator_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=str(cwd), capture_output=True, text=True)
    wall = time.perf_counter() - started
    after, served = resource.getrusage(resource.RUSAGE_CHILDREN), emulator_cpu() - served
    if done.returncode != 0 or (expect and expect not in done.stdout + done.stderr):
        raise SystemExit(f"{' '.join(map(str, argv))[:200]} failed ({done.returncode}):\n"
                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return (wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, proxy.count,
            proxy.expect_continue, served)


def base_env(endpoint: str, **extra: str) -> dict:
    # as on a user's machine: bytecode caches are written (this session's PYTHONDONTWRITEBYTECODE
    # would make every run compile tars_tasks from source, ~0.1 s of CPU the old way's installed awscli never pays)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARS_", "AWS_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
               AWS_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_ENDPOINT_URL=endpoint, NO_COLOR="1", TARS_WAITER_DELAY="0.05", TARS_KEEP_VERSIONS="1000",
               TARS_LOCK_TABLE=LOCK_TABLE, PATH=f"{AWS.parent}:{os.environ['PATH']}", **extra)
    return env


def inv(tree: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "invoke", "-r", str(tree), *args]


def prepare(endpoint: str) -> None:
    """Lock table and function, straight to the emulator (not through the proxy)."""
    import io
    import zipfile

    import boto3

    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1")
    boto3.client("dynamodb").create_table(
        TableName=LOCK_TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "placeholder = 1\n")
    role = boto3.client("iam").create_role(RoleName="bench-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda").create_function(FunctionName=FN, Runtime="python3.11", Role=role, Timeout=30,
                                           Handler="handler.lambda_handler", Code={"ZipFile": buf.getvalue()})


def lambda_cases(trees: dict[str, Path], work: Path, proxy: LatencyProxy, runs: int, results: dict) -> None:
    env = base_env(proxy.url, TARS_ROOT=str(work), PYTHONPATH="")
    change = work / "lambda_src" / "bench_change.py"
    for n in range(runs):
        order = list(trees.items()) if n % 2 == 0 else list(trees.items())[::-1]
        for name, tree in order:
            e = dict(env, PYTHONPATH=str(tree))
            results.setdefault(("no-op deploy-lambda", name), []).append(
                run(inv(tree, "deploy-lambda", "--yes"), e, tree, proxy, expect="no changes"))
            change.write_text(f"CHANGE = {time.monotonic_ns()}\n")
            results.setdefault(("changed deploy-lambda", name), []).append(
                run(inv(tree, "deploy-lambda", "--yes"), e, tree, proxy, expect="deployed"))
        results.setdefault(("deploy-lambda.sh sequence", "old"), []).append(
            run(["bash", "-c", OLD_LAMBDA.format(fn=FN)], env, work, proxy))


def ui_cases(trees: dict[str, Path], work: Path, proxy: LatencyProxy, runs: int, results: dict, files: int) -> None:
    project = work / "ui-project"
    dist = project / "ui" / "dist"
    if not dist.exists():
        (project / "ui").mkdir(parents=True)
        shutil.copy(ROOT / "invoke.yaml", project / "invoke.yaml")
        write_dist(dist, "v1", extra_files=files - 12, extra_bytes=20 * 1024 * 1024 // (files - 12))
    count = sum(1 for p in dist.rglob("*") if p.is_file())
    key = f"first UI deploy, {count} files"
    env = base_env(proxy.url, TARS_ROOT=str(project), TARS_ARTIFACT_BUCKET=RECORDS_BUCKET)
    for n in range(runs):
        sides = [*trees.items(), ("old", None)]
        for name, tree in (sides if n % 2 == 0 else sides[::-1]):
            bucket, dist_id = make_site(f"bench-net-{time.monotonic_ns()}")
            if tree is None:
                aws = [str(AWS), "--endpoint-url", proxy.url]
                script = (f"set -e; {' '.join(aws)} s3 sync {dist} s3://{bucket} --delete --no-progress "
                          f"--exclude index.html --cache-control 'public, max-age=31536000' >/dev/null; "
                          f"{' '.join(aws)} s3 sync {dist} s3://{bucket} --no-progress --exclude '*' "
                          f"--include index.html --cache-control no-cache >/dev/null; "
                          f"{' '.join(aws)} cloudfront create-invalidation --distribution-id {dist_id} "
                          f"--paths '/*' >/dev/null")
                results.setdefault(("two aws s3 sync + invalidation", "old", key), []).append(
                    run(["bash", "-c", script], env, work, proxy))
            else:
                e = dict(env, PYTHONPATH=str(tree), TARS_UI_BUCKET=bucket, TARS_DISTRIBUTION_ID=dist_id)
                results.setdefault((f"deploy-ui ({key})", name), []).append(
                    run(inv(tree, "deploy-ui", "--skip-build", "--yes"), e, tree, proxy, expect="is live"))


def table(ms: float, results: dict, load: tuple[float, float]) -> list[str]:
    med = statistics.median
    lambda_old = results.get(("deploy-lambda.sh sequence", "old"))
    ui_old = next((v for k, v in results.items() if k[0].startswith("two aws s3 sync")), None)
    lines = [f"\n### +{ms:g} ms per request (load average {load[0]:.1f} -> {load[1]:.1f})\n",
             "| case | side | wall median | wall min | CPU median | emulator CPU | requests | 100-continue "
             "| / old way (median) | / old way (min) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for key, rows in results.items():
        case, side = key[0], key[1]
        wall, cpu, reqs, expects, served = ([r[i] for r in rows] for i in range(5))
        old = ui_old if "UI" in case or "s3 sync" in case else lambda_old
        ow = [r[0] for r in old or []]
        ratio = "" if side == "old" or not ow else f"{med(wall) / med(ow):.2f}"
        best = "" if side == "old" or not ow else f"{min(wall) / min(ow):.2f}"
        lines.append(f"| {case} | {side} | {med(wall):.2f} s | {min(wall):.2f} s | {med(cpu):.2f} s | {med(served):.2f} s | "
                     f"{med(reqs):g} | {med(expects):g} | {ratio} | {best} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ms", default="0,40", help="latencies to measure at, comma-separated (ms per request)")
    parser.add_argument("--before-ref", default="42ab605", help="git ref of the 'before' task library ('' = none)")
    parser.add_argument("--files", type=int, default=300, help="files in the UI dist")
    parser.add_argument("--only", choices=("lambda", "ui"), help="run only these cases")
    args = parser.parse_args()
    if not AWS.exists():
        raise SystemExit("run bench/setup-awscli.sh first (.venv-awscli/bin/aws)")
    from bench.scenarios.moto_template import moto_process

    work = Path(tempfile.mkdtemp(prefix="tars-bench-net-"))
    trees = {"after (this tree)": ROOT}
    if args.before_ref:
        old = extract(args.before_ref, work / "before", "tars_tasks", "tasks.py", "invoke.yaml")
        trees = {f"before ({args.before_ref})": old, **trees}
    for name in ("lambda_src", "invoke.yaml"):
        src = ROOT / name
        shutil.copytree(src, work / name) if src.is_dir() else shutil.copy(src, work / name)
    moto, url = moto_process(base_env(""))
    EMULATOR_PID.append(moto.pid)
    out = [f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.runs} runs per side, "
           f"moto server on 127.0.0.1, proxy bench/latency_proxy.py"]
    try:
        prepare(url)
        with LatencyProxy(url, 0, answers={INVOKE: smoke_answer}) as proxy:   # first deploy + cold build
            run(inv(ROOT, "deploy-lambda", "--yes"), dict(base_env(proxy.url, TARS_ROOT=str(work)),
                                                           PYTHONPATH=str(ROOT)), ROOT, proxy, expect="deployed")
        for ms in (float(x) for x in args.ms.split(",") if x):
            results: dict = {}
            load = os.getloadavg()[0]
            with LatencyProxy(url, ms, answers={INVOKE: smoke_answer}) as proxy:
                if args.only in (None, "lambda"):
                    lambda_cases(trees, work, proxy, args.runs, results)
                if args.only in (None, "ui"):
                    ui_cases(trees, work, proxy, args.runs, results, args.files)
            out += table(ms, results, (load, os.getloadavg()[0]))
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(out))


if __name__ == "__main__":
    main()
