"""Benchmark of the real Terraform on the emulator: apply, where its time goes, a no-change plan,
the no-op fingerprint check that replaces that plan, and three ways to get an applied emulator
back for the next test: a fork of the applied server, moto's recorder replay, a new apply.

    .venv/bin/python bench/bench_tf_emulator.py [--variant wait_for_deployment]

Needs terraform and a provider mirror (as the tests). Everything runs on 127.0.0.1. Prints a
Markdown report for docs/benchmarks.md ("Terraform on the emulator").
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tars_tasks.local import tf_fingerprint, tf_workcopy  # noqa: E402
from bench.scenarios.moto_template import Template  # noqa: E402
from bench.scenarios.tf_setup import INFRA, MIRROR, TERRAFORM, VARIABLES  # noqa: E402
from bench.scenarios.tf_setup import base_env as _base_env  # noqa: E402

VARIANTS = {"wait_for_deployment": 'resource "aws_cloudfront_distribution" "site" {\n  wait_for_deployment = false\n}\n'}


def api(endpoint: str, path: str, data: bytes = b"") -> bytes:
    request = urllib.request.Request(endpoint + path, method="POST", data=data,
                                     headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(request, timeout=600) as r:
        return r.read()


def terraform(copy, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    env = copy.environment(_base_env())
    env.update({"TF_DATA_DIR": str(copy.data_dir), "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"})
    env.update({f"TF_VAR_{k}": v for k, v in VARIABLES.items()})
    started = time.monotonic()
    done = subprocess.run([TERRAFORM, *args, "-no-color"], cwd=copy.config_dir, env=env, capture_output=True,
                          text=True, timeout=1800)
    if done.returncode not in (0, 2):
        raise SystemExit(f"terraform {args[0]} failed: {done.stderr[-800:]}")
    return done, time.monotonic() - started


def creation_times(stdout: str) -> list[tuple[int, str]]:
    found = re.finditer(r"^(\S+): Creation complete after (?:(\d+)m)?(\d+)s", stdout, re.M)
    return sorted(((int(m.group(2) or 0) * 60 + int(m.group(3)), m.group(1)) for m in found), reverse=True)


def plan_changes(copy) -> tuple[str, float]:
    done, seconds = terraform(copy, "plan", "-input=false", "-detailed-exitcode", "-lock-timeout=60s")
    summary = re.search(r"Plan: .*|No changes\.", done.stdout)
    return (summary.group(0) if summary else "?"), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=sorted(VARIANTS), help="an extra override, to measure its effect")
    args = parser.parse_args()
    if not (TERRAFORM and MIRROR):
        raise SystemExit("needs terraform and a provider mirror")
    work = Path(tempfile.mkdtemp(prefix="bench-tf-"))
    template = Template({**_base_env(), "MOTO_RECORDER_FILEPATH": str(work / "recording.jsonl")})
    rows: list[tuple[str, str]] = []
    try:
        endpoint = template.serve()
        api(endpoint, "/moto-api/seed?a=42")
        api(endpoint, "/moto-api/recorder/start-recording")
        copy = tf_workcopy.prepare(INFRA, work / "tf", endpoint, mirror=MIRROR)
        if args.variant:
            (copy.config_dir / "zzz_bench_override.tf").write_text(VARIANTS[args.variant])
        instance = tf_fingerprint.emulator_instance(endpoint, claim=True)
        tf_fingerprint.bind_state(copy, instance)
        _, seconds = terraform(copy, "init", "-input=false", "-reconfigure")
        rows.append(("`terraform init` (provider from the mirror)", f"{seconds:.1f} s"))
        plan_file = work / "tfplan"
        done, seconds = terraform(copy, "plan", "-input=false", f"-out={plan_file}")
        creates = len(re.findall(r"will be created", done.stdout))
        rows.append((f"`plan -out` from an empty emulator ({creates} to create)", f"{seconds:.1f} s"))
        done, seconds = terraform(copy, "apply", "-input=false", str(plan_file))
        rows.append(("`apply` of that plan", f"{seconds:.1f} s"))
        slowest = creation_times(done.stdout)[:6]
        rows.append(("slowest resources (provider's own waits)", "; ".join(f"{a} {s} s" for s, a in slowest)))
        api(endpoint, "/moto-api/recorder/stop-recording")
        summary, seconds = plan_changes(copy)
        rows.append((f"second `plan` ({summary})", f"{seconds:.1f} s"))

        started = time.monotonic()
        fp = tf_fingerprint.fingerprint(copy, VARIABLES, tf_fingerprint.emulator_instance(endpoint), TERRAFORM)
        tf_fingerprint.record(copy, fp)
        check = tf_fingerprint.unchanged(copy, tf_fingerprint.fingerprint(
            copy, VARIABLES, tf_fingerprint.emulator_instance(endpoint), TERRAFORM))
        rows.append((f"no-op check instead of that plan (fingerprint + instance marker, unchanged={check})",
                     f"{(time.monotonic() - started) / 2:.2f} s"))

        recording = urllib.request.urlopen(endpoint + "/moto-api/recorder/download-recording", timeout=60).read()
        template.freeze()
        # restore 1: a fork of the applied server
        started = time.monotonic()
        child = template.fork()
        forked = time.monotonic() - started
        fork_copy = tf_workcopy.prepare(INFRA, work / "fork", child.url, mirror=MIRROR)
        fork_copy.state_path.write_bytes(copy.state_path.read_bytes())
        terraform(fork_copy, "init", "-input=false", "-reconfigure")
        summary, seconds = plan_changes(fork_copy)
        rows.append(("restore by fork of the applied server", f"{forked * 1000:.0f} ms; then plan: {summary}"))
        # restore 2: moto's recorder, replayed into a reset server with the same seed
        api(child.url, "/moto-api/reset")
        api(child.url, "/moto-api/seed?a=42")
        api(child.url, "/moto-api/recorder/upload-recording", recording)
        started = time.monotonic()
        api(child.url, "/moto-api/recorder/replay-recording")
        replayed = time.monotonic() - started
        summary, seconds = plan_changes(fork_copy)
        requests = len(recording.splitlines())
        rows.append((f"restore by recorder replay ({requests} requests, seeded ids)",
                     f"{replayed:.1f} s; then plan: {summary}"))
        child.stop()
    finally:
        template.close()
    print(f"\n`bench/bench_tf_emulator.py{' --variant ' + args.variant if args.variant else ''}`\n")
    print("| what | measured |\n|---|---|")
    for what, value in rows:
        print(f"| {what} | {value} |")
    print(json.dumps({"work": str(work)}))


if __name__ == "__main__":
    main()
