#!/usr/bin/env python3
"""deploy-ui vs the old deploy-ui.sh (two `aws s3 sync` passes + a /* invalidation), side by side.

One run, one moto server on 127.0.0.1 (its own process), fresh buckets per case:

1. full first deploy of a generated dist (300 files, ~20 MB): wall time of `inv deploy-ui
   --skip-build --yes` vs the two `aws s3 sync` passes (+ the invalidation);
2. fresh checkout (every mtime new) with one source file changed: uploads and wall time;
3. first deploy and a no-change redeploy at 100, 1,000 and 5,000 files (small files).

Usage:  bench/setup-awscli.sh && .venv/bin/python bench/bench_ui.py [--sizes 100,1000,5000]
Prints a markdown table (docs/benchmarks.md, ## UI).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scenarios.moto_template import moto_process  # noqa: E402
from bench.scenarios.ui_site import RECORDS_BUCKET, make_site, touch_all, write_dist  # noqa: E402

AWS = ROOT / ".venv-awscli" / "bin" / "aws"


def timed(argv: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed, result


class Bench:
    def __init__(self, endpoint: str, work: Path):
        self.endpoint, self.work, self.n = endpoint, work, 0
        self.env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench",
                        AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
                        PYTHONPATH=str(ROOT), NO_COLOR="1", TARS_WAITER_DELAY="0.05")
        os.environ.update({k: self.env[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                                                     "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})

    def site(self) -> tuple[str, str]:
        self.n += 1
        return make_site(f"bench-ui-{self.n}")

    def tars(self, root: Path, bucket: str, dist_id: str) -> tuple[float, dict]:
        report = root / f"report-{time.monotonic_ns()}.json"
        env = dict(self.env, TARS_ROOT=str(root), TARS_UI_BUCKET=bucket, TARS_DISTRIBUTION_ID=dist_id,
                   TARS_ARTIFACT_BUCKET=RECORDS_BUCKET)
        elapsed, _ = timed([sys.executable, "-m", "invoke", "-r", str(ROOT), "deploy-ui", "--skip-build",
                            "--yes", "--json", str(report)], env)
        data = json.loads(report.read_text())
        return elapsed, data["plan"]["counts"]

    def old_script(self, dist: Path, bucket: str, dist_id: str) -> tuple[float, int]:
        """deploy-ui.sh: assets with a long cache, then index.html no-cache, then /* invalidation."""
        aws = [str(AWS), "--endpoint-url", self.endpoint]
        start = time.perf_counter()
        _, a = timed(aws + ["s3", "sync", str(dist), f"s3://{bucket}", "--delete", "--no-progress",
                            "--exclude", "index.html", "--cache-control", "public, max-age=31536000"], self.env)
        _, b = timed(aws + ["s3", "sync", str(dist), f"s3://{bucket}", "--no-progress", "--exclude", "*",
                            "--include", "index.html", "--cache-control", "no-cache"], self.env)
        timed(aws + ["cloudfront", "create-invalidation", "--distribution-id", dist_id, "--paths", "/*"], self.env)
        uploads = sum(line.startswith("upload:") for line in (a.stdout + b.stdout).splitlines())
        return time.perf_counter() - start, uploads

    def project(self, name: str, files: int, total_bytes: int, app: str = "v1") -> Path:
        root = self.work / name
        shutil.rmtree(root, ignore_errors=True)
        (root / "ui").mkdir(parents=True)
        shutil.copy(ROOT / "invoke.yaml", root / "invoke.yaml")
        extra = max(files - 12, 0)
        write_dist(root / "ui" / "dist", app, extra_files=extra, extra_bytes=total_bytes // max(extra, 1))
        return root


def median(values):
    import statistics

    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the median is reported")
    args = parser.parse_args()
    if not AWS.exists():
        raise SystemExit("run bench/setup-awscli.sh first (.venv-awscli/bin/aws)")
    proc, endpoint = moto_process()
    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    rows = []
    mb = 20 * 1024 * 1024
    try:
        b = Bench(endpoint, work)
        first, fresh, same = {"ours": [], "old": []}, {"ours": [], "old": []}, []
        for rep in range(args.repeat):
            root = b.project("main", 300, mb)
            dist = root / "ui" / "dist"
            count = sum(1 for p in dist.rglob("*") if p.is_file() and not p.name.endswith(".map"))
            size = sum(p.stat().st_size for p in dist.rglob("*") if p.is_file())
            ours_site, old_site = b.site(), b.site()
            runs = [("ours", lambda: b.tars(root, *ours_site)), ("old", lambda: b.old_script(dist, *old_site))]
            for name, run in (runs if rep % 2 == 0 else runs[::-1]):  # alternate who goes first
                t, n = run()
                first[name].append((t, n["upload"] if isinstance(n, dict) else n))
            # fresh checkout: the tree rebuilt (every mtime new) with one source file changed
            time.sleep(1.1)  # S3 LastModified has 1 s resolution: the new mtimes are strictly newer
            shutil.rmtree(dist)
            write_dist(dist, "v2", extra_files=count - 12, extra_bytes=mb // (count - 12))
            touch_all(dist)
            for name, run in (runs if rep % 2 == 0 else runs[::-1]):
                t, n = run()
                fresh[name].append((t, n["upload"] if isinstance(n, dict) else n))
            t, c = b.tars(root, *ours_site)
            same.append((t, c["upload"]))
        for label, case in ((f"first deploy, {count} files, {size / 1e6:.1f} MB", first),
                            ("fresh checkout, 1 source file changed", fresh)):
            rows.append((label, case["ours"][0][1], median(t for t, _ in case["ours"]),
                         case["old"][0][1], median(t for t, _ in case["old"])))
        rows.append(("redeploy, nothing changed", same[0][1], median(t for t, _ in same), None, None))
        for n in [int(x) for x in args.sizes.split(",") if x]:
            r = b.project(f"n{n}", n, n * 2048)
            d = r / "ui" / "dist"
            s_ours, s_old = b.site(), b.site()
            t1, c1 = b.tars(r, *s_ours)
            t2, n2 = b.old_script(d, *s_old)
            rows.append((f"first deploy, {n} files (2 KB each), 1 run", c1["upload"], t1, n2, t2))
            t3, c3 = b.tars(r, *s_ours)
            rows.append((f"redeploy, {n} files, nothing changed, 1 run", c3["upload"], t3, None, None))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"median of {args.repeat} runs unless noted; moto server on 127.0.0.1, {os.cpu_count()} cores")
    print("| case | deploy-ui uploads | deploy-ui s | deploy-ui.sh uploads | deploy-ui.sh s | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, up, t, up_old, t_old in rows:
        old = ("", "", "") if t_old is None else (up_old, f"{t_old:.2f}", f"{t / t_old:.2f}×")
        print(f"| {name} | {up} | {t:.2f} | {old[0]} | {old[1]} | {old[2]} |")


if __name__ == "__main__":
    main()
