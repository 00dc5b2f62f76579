"""Two local environments from one checkout: one after the other vs `--env dev,staging` (parallel).

Per run, two fresh copies of the project (no .tars/, no dist/, no emulator running; pip's and npm's
download caches warm, ui/node_modules hard-linked from the checkout), side by side in one run:

1. sequential: `inv deploy --all --local --yes --env dev`, then the same with `--env staging`;
2. parallel:   `inv deploy --all --local --yes --env dev,staging` (one process per env).

Both end with two environments deployed and verified, each in its own emulator. Wall time of the
whole, and every process local mode started stopped afterwards with `inv local.down`.

    /work/main/.venv/bin/python bench/bench_env_list.py [--runs 3]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_parallel_envs import environ  # noqa: E402
from bench.scenarios.clone import copy_components  # noqa: E402


def inv(root: Path, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), *args], cwd=str(ROOT),
                          env=environ(root), capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        sys.exit(f"inv {' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def one_run(tmp: Path, n: int) -> tuple[float, float]:
    seq, par = copy_components(tmp / f"seq-{n}"), copy_components(tmp / f"par-{n}")
    try:
        sequential = sum(inv(seq, "deploy", "--all", "--local", "--yes", "--env", env) for env in ("dev", "staging"))
        parallel = inv(par, "deploy", "--all", "--local", "--yes", "--env", "dev,staging")
    finally:
        for root in (seq, par):
            subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), "local.down"], cwd=str(ROOT),
                           env=environ(root), capture_output=True, timeout=120)
    return sequential, parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    results = []
    with tempfile.TemporaryDirectory(prefix="tars-bench-envs-") as tmp:
        for n in range(runs):
            results.append(one_run(Path(tmp), n))
            print(f"run {n + 1}: sequential {results[-1][0]:.2f} s, parallel {results[-1][1]:.2f} s", flush=True)
    print("\n| what | median | min | max |\n|---|---|---|---|")
    for label, values in (("dev then staging (two commands)", [r[0] for r in results]),
                          ("`--env dev,staging` (parallel)", [r[1] for r in results])):
        print(f"| {label} | {statistics.median(values):.2f} s | {min(values):.2f} s | {max(values):.2f} s |")
    ratio = statistics.median([r[1] / r[0] for r in results])
    print(f"\nparallel / sequential = {ratio:.2f}x (median of the runs)")


if __name__ == "__main__":
    main()
