"""Deploy to 1 vs 3 environments in parallel, and `deploy --all --local` cold and warm.

Local mode names every resource from the project alone (resource_names), so three environments
cannot share one emulator; each environment is a private copy of the project (its own TARS_ROOT,
hence its own moto emulator and runtime, started by local mode itself). Per copy:

1. cold: `inv deploy --all --local --yes` on a fresh copy (no .tars/, no dist/, emulator not running;
   pip's and npm's own download caches are warm, node_modules hard-linked from the checkout);
2. warm: the same command again (emulator running, nothing changed);
3. then, per run, a one-line change to lambda_src/ in each copy and
   `inv deploy --lambda --local --yes --skip-verify`: once in copy A alone, then in A, B and C at the
   same time (the goal: 3 in parallel at most 1.5x one).

    /work/main/.venv/bin/python bench/bench_parallel_envs.py [--runs 3]

Every process local mode started is stopped at the end with `inv local.down` per copy.
"""
from __future__ import annotations

import argparse
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

from bench.scenarios.clone import copy_components  # noqa: E402


def environ(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARS_", "AWS_"))}
    env.update(TARS_ROOT=str(root), PYTHONPATH=str(ROOT), NO_COLOR="1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return env


def inv(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "invoke", "-r", str(ROOT), *args], cwd=str(ROOT),
                            env=environ(root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


FAILURES: list[str] = []


def finish(proc: subprocess.Popen, what: str, tolerate: bool = False) -> None:
    out, _ = proc.communicate(timeout=900)
    if proc.returncode != 0:
        error = next((line for line in out.splitlines() if line.startswith("error:")), out[-300:])
        if not tolerate:
            raise SystemExit(f"{what} failed ({proc.returncode}):\n{out[-6000:]}")
        FAILURES.append(f"{what}: {error}")


CPU: list[float] = []   # CPU seconds of the inv processes of each timed() call (emulators not counted)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(roots: list[Path], *args: str, tolerate: bool = False) -> float:
    """Start the command in every root at once; wall time until the last one ends."""
    cpu = _children_cpu()
    start = time.perf_counter()
    procs = [(inv(r, *args), r) for r in roots]
    for proc, r in procs:
        finish(proc, f"inv {' '.join(args)} in {r.name}", tolerate)
    CPU.append(_children_cpu() - cpu)
    return time.perf_counter() - start


def change(root: Path, n: int) -> None:
    with (root / "lambda_src" / "handler.py").open("a") as fh:
        fh.write(f"\n# bench change {n}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tars-bench-envs-"))
    roots = [copy_components(work / name) for name in ("env-a", "env-b", "env-c")]
    load_before = os.getloadavg()[0]
    try:
        cold = [timed([r], "deploy", "--all", "--local", "--yes") for r in roots]
        warm = [timed([r], "deploy", "--all", "--local", "--yes") for r in roots]
        one, three, n, cpu_one, cpu_three = [], [], 0, [], []
        for _ in range(args.runs):   # interleaved, so both see the same machine load
            n += 1
            change(roots[0], n)
            one.append(timed(roots[:1], "deploy", "--lambda", "--local", "--yes", "--skip-verify", tolerate=True))
            cpu_one.append(CPU[-1])
            n += 1
            for r in roots:
                change(r, n)
            three.append(timed(roots, "deploy", "--lambda", "--local", "--yes", "--skip-verify", tolerate=True))
            cpu_three.append(CPU[-1])
    finally:
        for r in roots:
            subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), "local.down"], cwd=str(ROOT),
                           env=environ(r), capture_output=True, timeout=120)
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()[0]
    med = statistics.median
    print(f"{os.cpu_count()} cores, load average {load_before:.1f} -> {load_after:.1f}, runs {args.runs}")
    print("| what | median | min | max |\n|---|---|---|---|")
    for name, xs in (("`deploy --all --local`, cold (fresh copy)", cold),
                     ("`deploy --all --local`, warm (nothing changed)", warm),
                     ("`deploy --lambda --local`, 1 env", one),
                     ("`deploy --lambda --local`, 3 envs in parallel", three)):
        print(f"| {name} | {med(xs):.2f} s | {min(xs):.2f} s | {max(xs):.2f} s |")
    print(f"3 in parallel / 1 = {med(three) / med(one):.2f}x (goal <= 1.5x)")
    print(f"failed deploys: {len(FAILURES)} of {len(one) + 3 * len(three)}")
    for failure in FAILURES:
        print(f"  {failure[:300]}")
    print(f"CPU of the inv processes (user+sys, emulators and runtimes not counted): 1 env {med(cpu_one):.2f} s, "
          f"3 envs {med(cpu_three):.2f} s; floor on {os.cpu_count()} cores: "
          f"{med(cpu_three) / (os.cpu_count() or 1):.2f} s")


if __name__ == "__main__":
    main()
