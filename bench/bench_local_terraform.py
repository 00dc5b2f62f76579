"""Benchmark of the local target's infrastructure, the real Terraform on the emulator.

    .venv/bin/python bench/bench_local_terraform.py

On a fresh copy of this tree (bench_demo's recipe: own git repository, this checkout's
virtualenvs linked in, a shell with no virtualenv active): a cold `inv deploy --all --local --yes`
(what `make demo` runs first, from an empty emulator), then a warm no-op `inv deploy --all --local
--yes`, then `inv deploy-infrastructure --local --yes` with one real change (log retention 365 -> 30
days, committed). The side by side with the Python bootstrap it replaced (commit 42ab605 and
before) is `bench/bench_demo.py --ref 42ab605` (the whole `make demo`, both sides in one run). Everything runs on
127.0.0.1. Prints a Markdown table for docs/benchmarks.md. Stops every local process it started,
by pid.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_demo import down, shell, tree  # noqa: E402


def side(tmp: Path) -> dict:
    root = tree(None, tmp / "terraform")
    prefix = ".venv/bin/inv"
    try:
        cold, _ = shell(root, f"{prefix} deploy --all --local --yes")
        warm, _ = shell(root, f"{prefix} deploy --all --local --yes")
        row = {"mode": "terraform", "cold": cold, "warm": warm}
        variables = root / "infrastructure" / "variables.tf"
        variables.write_text(variables.read_text().replace("default     = 365", "default     = 30", 1))
        subprocess.run(["git", "-c", "user.email=b@b.invalid", "-c", "user.name=b", "commit", "-qam", "30 days"],
                       cwd=root, check=True)
        row["change"], _ = shell(root, f"{prefix} deploy-infrastructure --local --yes")
        return row
    finally:
        down(root)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tars-bench-localtf-") as tmp:
        rows = [side(Path(tmp))]
    print("| local infrastructure | cold `deploy --all --local` (s) | warm no-op `deploy --all --local` (s) "
          "| `deploy-infrastructure --local`, one real change (s) |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['cold']:.1f} | {r['warm']:.1f} | {r['change']:.1f} |")


if __name__ == "__main__":
    main()
