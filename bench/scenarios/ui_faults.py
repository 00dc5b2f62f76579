"""The deploy-ui fault and kill scenarios, shared by tests/faults/ and bench/reliability_report.py:
a real `inv deploy-ui --skip-build --yes` subprocess talks to the emulator through the fault proxy.

The bucket, distribution, lock table and release v0 are set up straight in the emulator (v0 through
an `inv deploy-ui` without the proxy). A run then deploys a site whose JS and index.html differ.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from bench.scenarios.lambda_faults import LOCK_TABLE, ROOT, inv_command, inv_env
from bench.scenarios.fault_proxy import FaultPlan, FaultProxy, Record
from bench.scenarios.ui_site import RECORDS_BUCKET, make_site, write_dist

BUCKET = "sre-poc-ui-123456789012"
LOCK_OPS = ("PutItem", "GetItem", "UpdateItem", "DeleteItem")   # the deploy lock's DynamoDB calls
REFERENCE = re.compile(r"""(?:href|src)=["']/([^"']+)["']|from\s+'\./([^']+)'|['(]/(assets/[^'")]+)['")]""")


def site_files(dist: Path) -> dict[str, bytes]:
    return {p.relative_to(dist).as_posix(): p.read_bytes() for p in sorted(dist.rglob("*")) if p.is_file()}


def ui_env(endpoint_url: str, root: Path, dist_id: str) -> dict:
    return inv_env(endpoint_url, root, TARS_UI_BUCKET=BUCKET, TARS_DISTRIBUTION_ID=dist_id,
                   TARS_ARTIFACT_BUCKET=RECORDS_BUCKET)


def prepare(endpoint: str, root: Path) -> tuple[str, dict[str, bytes]]:
    """Site + lock table + release v0 live. Returns (distribution id, v0's files)."""
    import os

    os.environ["AWS_ENDPOINT_URL"] = endpoint
    _, dist_id = make_site(BUCKET)
    boto3.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=LOCK_TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}])
    dist = root / "ui" / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    write_dist(dist, app="v0")
    first = subprocess.run(inv_command("deploy-ui", "--skip-build", "--yes"), cwd=str(ROOT),
                           env=ui_env(endpoint, root, dist_id), capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    return dist_id, site_files(dist)


def new_site(root: Path, label: str, chunks: int = 4) -> dict[str, bytes]:
    """A release whose main JS, index.html and ``chunks`` preloaded hashed chunks are new."""
    from bench.scenarios.ui_site import vite_hash

    dist = root / "ui" / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    write_dist(dist, app=label)
    links = []
    for i in range(chunks):
        data = f"export const part{i} = '{label}';\n".encode()
        name = f"assets/part{i}-{vite_hash(data)}.js"
        (dist / name).write_bytes(data)
        links.append(f'<link rel="modulepreload" href="/{name}">')
    index = dist / "index.html"
    index.write_text(index.read_text().replace("</head>", "\n".join(links) + "\n</head>"))
    return site_files(dist)


def live(endpoint: str) -> dict[str, bytes]:
    s3 = boto3.client("s3", endpoint_url=endpoint)
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for o in page.get("Contents", [])]
    return {k: s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys if not k.startswith("_releases/")}


def references(files: dict[str, bytes], page: str = "index.html") -> set[str]:
    """Every key ``page`` loads, following the main script's imports and fetches (one level)."""
    found: set[str] = set()
    for m in REFERENCE.finditer(files[page].decode()):
        found.add(next(g for g in m.groups() if g))
    for key in [k for k in found if k.endswith(".js")]:
        if key in files:
            for m in REFERENCE.finditer(files[key].decode("utf-8", "replace")):
                g = next(g for g in m.groups() if g)
                found.add(g if "/" in g else f"assets/{g}")
    return found


def state_of(now: dict[str, bytes], old: dict[str, bytes], new: dict[str, bytes]) -> str:
    """"new": the new release live and complete; "old": the previous index.html live, byte-identical,
    every asset it references present; anything else is "broken: ..."."""
    index = now.get("index.html")
    if index == new["index.html"]:
        missing = [k for k, data in new.items() if now.get(k) != data and not k.endswith(".map")]  # maps not published
        return "new" if not missing else f"broken: new index.html live, {missing} missing or different"
    if index == old["index.html"]:
        missing = [k for k in references(now) if now.get(k) != old.get(k)]
        return "old" if not missing else f"broken: old index.html live, {missing} missing or different"
    return "broken: index.html is neither release's"


@dataclass
class UiRun:
    seed: int
    returncode: int
    stdout: str
    stderr: str
    state: str
    records: list[Record] = field(default_factory=list)
    new: dict[str, bytes] = field(default_factory=dict)
    killed_at: int | None = None          # kill trials: the request number the SIGKILL came at
    rerun: subprocess.CompletedProcess | None = None
    rerun_state: str = ""

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def run(endpoint: str, root: Path, dist_id: str, old: dict[str, bytes], seed: int, rate: float = 0.2,
        *, delay_seconds: float = 1.5, spare: tuple[str, ...] = (), **env: str) -> UiRun:
    new = new_site(root, f"fault{seed}")
    plan = FaultPlan(rate=rate, seed=seed, delay_seconds=delay_seconds, spare=spare)
    with FaultProxy(endpoint, plan) as proxy:
        done = subprocess.run(inv_command("deploy-ui", "--skip-build", "--yes"), cwd=str(ROOT),
                              env=dict(ui_env(proxy.url, root, dist_id), **env), capture_output=True, text=True,
                              timeout=180)
    return UiRun(seed, done.returncode, done.stdout, done.stderr, state_of(live(endpoint), old, new),
                 list(plan.records), new)


def kill_run(endpoint: str, root: Path, dist_id: str, old: dict[str, bytes], seed: int, *,
             most_requests: int = 19) -> UiRun:
    """SIGKILL `inv deploy-ui` at its N-th AWS request (N seeded in 1..most_requests; the request
    still lands, as one in flight would), check the live site, then `inv unlock --force` and rerun.

    A deploy of new_site makes 20 requests: 5 plan reads, the lock's PutItem, the same 5 reads
    again under the lock (skeleton.apply's re-plan), 5 asset PUTs, index.html (the 17th), the
    release record, the invalidation, the lock's DeleteItem; 1..19 reaches every step but the
    last, before and after the switch."""
    import os
    import random
    import signal

    new = new_site(root, f"kill{seed}")
    target = random.Random(f"kill-{seed}").randint(1, most_requests)
    proc: dict[str, subprocess.Popen] = {}
    count = [0]

    def observe(record: Record) -> None:
        count[0] += 1
        if count[0] == target and "p" in proc:
            os.kill(proc["p"].pid, signal.SIGKILL)

    plan = FaultPlan(rate=0.0, seed=seed)
    with FaultProxy(endpoint, plan, observe=observe) as proxy:
        proc["p"] = subprocess.Popen(inv_command("deploy-ui", "--skip-build", "--yes"), cwd=str(ROOT),
                                     env=ui_env(proxy.url, root, dist_id), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        out, err = proc["p"].communicate(timeout=120)
    state = state_of(live(endpoint), old, new)
    env = ui_env(endpoint, root, dist_id)
    unlock = subprocess.run(inv_command("unlock", "--force"), cwd=str(ROOT), env=env, capture_output=True,
                            text=True, timeout=60)
    assert unlock.returncode == 0, unlock.stderr
    again = subprocess.run(inv_command("deploy-ui", "--skip-build", "--yes"), cwd=str(ROOT), env=env,
                           capture_output=True, text=True, timeout=120)
    return UiRun(seed, proc["p"].returncode, out, err, state, list(plan.records), new,
                 killed_at=target if proc["p"].returncode == -signal.SIGKILL else None, rerun=again,
                 rerun_state=state_of(live(endpoint), old, new))


def put_key(record: Record) -> str | None:
    """The key of an S3 PUT into the site bucket (an upload or a header copy), else None."""
    prefix = f"s3:PUT /{BUCKET}/"
    return record.operation[len(prefix):] if record.operation.startswith(prefix) else None


class Boundary:
    """Acts on a deploy-ui's requests, seen through the proxy, at one boundary of the upload order.

    ``point`` is one of:

    - ``first-html``: SIGKILL as the first HTML PUT arrives; that PUT still lands (it was sent), every
      later request is cut. The last asset PUT is held until then (at most ``window`` seconds), so an
      HTML PUT sent while an asset is still unanswered (HTML in the assets' pool, or sent first) is
      caught whatever the thread timing: the held asset is then cut and never lands. (The client's
      read timeout must be longer than ``window``, or the held PUT would be sent again.)
    - ``last-asset``: SIGKILL as the last asset PUT arrives; it and every later request are cut.
    - ``fail-last-asset``: the last asset PUT fails (500) on every attempt; no kill.

    ``assets`` is how many asset PUTs the deploy makes (the last one is the ``assets``-th to arrive).
    Release records (keys under ``_``) are neither assets nor HTML.
    """

    POINTS = ("first-html", "last-asset", "fail-last-asset")

    def __init__(self, point: str, assets: int, window: float = 2.0):
        import threading

        assert point in self.POINTS, point
        self.point, self.assets, self.window = point, assets, window
        self.pid: int | None = None
        self.cut = False                 # the client is dead: nothing it sent from now on lands
        self.killed_at: str | None = None
        self.failing: str | None = None
        self.held: str | None = None      # the asset PUT held until the first HTML PUT (first-html)
        self.held_cut = False            # an HTML PUT came while that asset was still unanswered
        self.assets_before_html: int | None = None   # asset PUTs seen when the first HTML PUT came
        self._seen = 0
        self._lock = threading.Lock()
        self._html = threading.Event()

    def _kill(self, key: str) -> None:
        import os
        import signal

        self.cut, self.killed_at = True, key
        os.kill(self.pid, signal.SIGKILL)

    def __call__(self, record: Record) -> str | None:
        with self._lock:
            if self.cut:
                return "reset"
            key = put_key(record)
            if key is None or key.startswith("_"):
                return None
            if key == self.failing:
                return "500"
            if key.endswith(".html"):
                if self.assets_before_html is None:
                    self.assets_before_html = self._seen
                if self.point == "first-html":
                    self._kill(key)
                    self._html.set()
                return None
            self._seen += 1
            if self._seen != self.assets:
                return None
            if self.point == "last-asset":
                self._kill(key)
                return "reset"
            if self.point == "fail-last-asset":
                self.failing = key
                return "500"
            self.held = key
        self._html.wait(self.window)     # outside the lock: the HTML PUT must be able to come in
        with self._lock:
            if self.cut:
                self.held_cut = True
                return "reset"
        return None


def asset_uploads(now: dict[str, bytes], new: dict[str, bytes]) -> int:
    """How many asset PUTs deploying ``new`` over the live ``now`` makes (source maps are not uploaded)."""
    return sum(1 for k, data in new.items() if not k.endswith((".html", ".map")) and now.get(k) != data)


def boundary_run(endpoint: str, root: Path, dist_id: str, old: dict[str, bytes], point: str,
                 **env: str) -> tuple[UiRun, Boundary]:
    """One `inv deploy-ui` through the proxy, acted on at ``point`` (see Boundary); the live site is
    checked right after. When the run was killed, `inv unlock --force` and a plain rerun follow."""
    import signal

    new = new_site(root, point)
    boundary = Boundary(point, asset_uploads(live(endpoint), new))
    plan = FaultPlan(rate=0.0)
    env = {"TARS_READ_TIMEOUT": "30", **env}   # a held PUT must not time out and be sent again
    with FaultProxy(endpoint, plan, observe=boundary) as proxy:
        proc = subprocess.Popen(inv_command("deploy-ui", "--skip-build", "--yes"), cwd=str(ROOT),
                                env=dict(ui_env(proxy.url, root, dist_id), **env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        boundary.pid = proc.pid
        out, err = proc.communicate(timeout=120)
    trial = UiRun(0, proc.returncode, out, err, state_of(live(endpoint), old, new), list(plan.records), new)
    if proc.returncode == -signal.SIGKILL:
        trial.killed_at = len(plan.records)
        direct = ui_env(endpoint, root, dist_id)
        unlock = subprocess.run(inv_command("unlock", "--force"), cwd=str(ROOT), env=direct, capture_output=True,
                                text=True, timeout=60)
        assert unlock.returncode == 0, unlock.stderr
        trial.rerun = subprocess.run(inv_command("deploy-ui", "--skip-build", "--yes"), cwd=str(ROOT), env=direct,
                                     capture_output=True, text=True, timeout=120)
        trial.rerun_state = state_of(live(endpoint), old, new)
    return trial, boundary


def check(run: UiRun) -> None:
    """What every run under faults must end as (the tests assert it, the report counts "broken")."""
    assert "Traceback" not in run.stdout + run.stderr, run.stderr
    assert not run.state.startswith("broken"), (run.seed, run.state, run.stderr)
    if run.returncode == 0:
        assert run.state == "new", (run.seed, run.state)
    else:
        assert run.returncode == 1 and len(run.error_lines()) == 1, (run.returncode, run.stderr)
