"""The local runtime per request: a fresh process per request (the old runtime) vs warm workers,
side by side in one run on loopback, with the handler called in-process as the floor.

    .venv/bin/python bench/bench_warm.py [--requests 20] [--old-ref d0ea39a]

One fresh copy of the project gets `inv deploy --all --local --skip-verify` (the real TARS handler
on the embedded emulator). Then, against that one emulator and that one deployed version, every
request is authenticated as issue 14 requires (bench/scenarios/local_auth.py):

* old: the Function URL server of ``--old-ref`` (unpacked with ``git archive`` into a temp dir and
  run from there: a fresh Python per request), sent SigV4-signed requests;
* warm: this tree's Function URL server (warm workers), sent the same SigV4-signed requests, and
  the local site's /api, sent a signed-in user's access token (x-tars-token; the site signs the
  forwarded request as CloudFront's OAC does and the handler checks the token);
* in-process: the deployed code's handler imported once into this process (nothing to spawn, no
  HTTP), given the event the local Function URL builds for a signed call and a context naming the
  function's ARN: the floor.

The old side's default is d0ea39a: main just before warm workers were merged (922f3de), with
issue 14's AWS_IAM Function URL (SigV4 checked, the signer passed as requestContext.authorizer.iam).
The earlier default, 8ed446c, predates user authentication: its server puts no authorizer into
events, so today's handler refuses every request it forwards, and it can no longer be compared.

Requests alternate between the sides (old, warm, site, in-process, old, ...), so load from other
processes hits all of them alike. The first warm request is the cold start: it is reported alone,
the medians are of the rest. Prints a Markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_local import inv  # noqa: E402
from bench.scenarios import local_auth  # noqa: E402
from bench.scenarios.clone import copy_project, extract, link_node_modules  # noqa: E402

FN = "sre-poc-incident-handler"
REQUESTS = {
    "GET /api?action=kb_list": ("GET", "/api?action=kb_list", None),
    "POST /api chat": ("POST", "/api", {"action": "chat", "question": "Are there any errors in the last hour?"}),
}


def send(base: str, method: str, path: str, body: dict | None, *, iam: bool = False, token: str | None = None) -> float:
    """One request's round trip; signed with SigV4 (``iam``) or carrying a user's ``token``
    (both made before the clock starts). Anything but 200 stops the bench."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["x-tars-token"] = token
    if iam:
        headers = local_auth.iam_headers(method, base + path, headers, data)
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            reply.read()
            if reply.status != 200:
                raise SystemExit(f"{method} {base}{path}: HTTP {reply.status}")
    except urllib.error.HTTPError as err:
        raise SystemExit(f"{method} {base}{path}: HTTP {err.code} {err.read()[:300]!r}") from None
    return time.perf_counter() - started


def in_process(root: Path, env: dict[str, str]):
    """The deployed handler imported into this process: a callable taking (method, path, body)."""
    import boto3

    from tars_tasks.local.function_url import read_reply

    os.environ.update(env)
    config = boto3.client("lambda").get_function(FunctionName=FN, Qualifier="production")["Configuration"]
    authorizer = local_auth.iam_authorizer(boto3.client("sts"))
    context = local_auth.FunctionContext(config["FunctionArn"])
    task_root = next(p for p in (root / ".tars" / "cache" / "runtime").iterdir()
                     if p.name == base64.b64decode(config["CodeSha256"]).hex())
    os.environ.update(config.get("Environment", {}).get("Variables", {}))
    sys.path.insert(0, str(task_root))
    import handler  # the deployed copy

    def call(method: str, path: str, body: dict | None) -> float:
        data = json.dumps(body).encode() if body is not None else b""
        started = time.perf_counter()
        event = local_auth.iam_event(method, path, {"content-type": "application/json"}, data, authorizer)
        result = handler.lambda_handler(event, context)
        status, _, _, reply = read_reply({"Payload": json.dumps(result).encode()})
        if status != 200:
            raise SystemExit(f"in-process {method} {path}: {status} {reply[:300]!r}")
        return time.perf_counter() - started

    return call


def start_old_server(root: Path, old_tree: Path, port: int, endpoint: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARS_", "AWS_"))}
    env.update(TARS_ROOT=str(root), TARS_TARGET="local", PYTHONPATH=str(old_tree), AWS_ENDPOINT_URL=endpoint,
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
               AWS_DEFAULT_REGION="us-east-1")
    child = subprocess.Popen([sys.executable, "-m", "tars_tasks.local.function_url", "--port", str(port),
                              "--function", FN, "--qualifier", "production"], cwd=old_tree, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_local/health", timeout=1).close()
            return child
        except OSError:
            time.sleep(0.1)
    child.kill()
    raise SystemExit("the old Function URL server did not start")


def row(name: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"| {name} | {statistics.median(ms):.1f} ms | {min(ms):.1f} ms | {max(ms):.1f} ms | {len(ms)} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="requests per side and kind")
    parser.add_argument("--old-ref", default="d0ea39a",
                        help="git ref of the per-request-process runtime (it must pass the SigV4 signer to the "
                             "handler: issue 14's AWS_IAM Function URL, before warm workers)")
    args = parser.parse_args()
    from tars_tasks.local.processes import free_port

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tars-bench-warm-") as tmp:
        root = copy_project(Path(tmp) / "tars")
        link_node_modules(root)   # the checkout's UI dependencies: no npm ci in the copy
        old_tree = extract(args.old_ref, Path(tmp) / "old", "tars_tasks")
        old = None
        try:
            inv(root, "deploy", "--all", "--local", "--yes", "--skip-verify")
            outputs = json.loads((root / ".tars" / "local" / "outputs.json").read_text())
            warm_url = outputs["function_url"]["value"].rstrip("/")
            site_url = outputs["site_url"]["value"].rstrip("/")
            endpoint = json.loads(urllib.request.urlopen(warm_url + "/_local/health").read())["endpoint"]
            port = free_port()
            old = start_old_server(root, old_tree, port, endpoint)
            old_url = f"http://127.0.0.1:{port}"
            floor = in_process(root, {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                                      "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                                      "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                                      "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
            import boto3

            token = local_auth.user_token(root, outputs, boto3.client("cognito-idp"), "bench@tars.local", inv)
            # first: the cold start
            cold = {name: send(warm_url, *spec, iam=True) for name, spec in REQUESTS.items()}
            results: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.requests):
                for name, spec in REQUESTS.items():
                    for side, call in (("old: fresh process per request", lambda s=spec: send(old_url, *s, iam=True)),
                                       ("warm worker (Function URL)", lambda s=spec: send(warm_url, *s, iam=True)),
                                       ("warm worker through the site's /api",
                                        lambda s=spec: send(site_url, *s, token=token)),
                                       ("in-process handler (floor)", lambda s=spec: floor(*s))):
                        results.setdefault((name, side), []).append(call())
        finally:
            if old is not None:
                os.killpg(old.pid, 15)
                old.wait(timeout=10)
            subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), "local.down"], cwd=root,
                           env=dict(os.environ, TARS_ROOT=str(root), PYTHONPATH=str(ROOT)), capture_output=True)
    print(f"load average (1 min) before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f}; {args.requests} requests per row, "
          f"alternating; old = {args.old_ref}; Function URL sides SigV4-signed, site with a user token")
    print("| request, side | median | min | max | n |\n|---|---|---|---|---|")
    for name in REQUESTS:
        print(f"| {name}, warm: first request (cold start) | {cold[name] * 1000:.1f} ms | | | 1 |")
        for (n, side), times in results.items():
            if n == name:
                print(row(f"{name}, {side}", times))
        old_med = statistics.median(results[(name, "old: fresh process per request")])
        warm_med = statistics.median(results[(name, "warm worker (Function URL)")])
        print(f"| {name}: warm / old (median) | {warm_med / old_med:.3f} | | | |")


if __name__ == "__main__":
    main()
