"""One-line mutations of the safety guards, each run against the suites that claim to catch it.

    .venv/bin/python bench/mutations.py [--only ID ...] [--source DIR] [--list]

For each mutation below: copy the tree (git's tracked and untracked-not-ignored files of
``--source``, default this checkout) to a temp dir, change one line there (the old text must occur
exactly once, the result must compile), run a plain `pytest` there (pytest.ini's ``-m "not faults"``:
the fast default, not the 20-seed CI suites) on the fault and kill suites (tests/faults) plus the
guard's own tests, and report every test that failed. The unmutated copy runs the same tests
first: a test that fails there is flaky or broken and is left out of the attribution (and said).

Prints a markdown table: guard, mutation, the one-line change, the fault/kill tests that failed,
the other tests that failed. A row whose fault/kill column is "none" is a mutation those suites
miss. docs/reliability.md ("Mutations") holds the table of the last run.
"""
from __future__ import annotations

import argparse
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAULTS = ("tests/faults",)


@dataclass(frozen=True)
class Mutation:
    id: str
    guard: str
    what: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]   # the guard's own unit and integration tests
    faults: bool = True      # also run tests/faults (there is no fault/kill suite for Terraform)

    @property
    def change(self) -> str:
        new = " ⏎ ".join(line.strip() for line in self.new.strip("\n").splitlines())
        return f"`{self.path}`: `{self.old.strip()}` → `{new}`"


UI = ("tests/unit/test_ui_steps.py",)
SMOKE = ("tests/unit/test_lambda_deploy.py",)
LOCK = ("tests/unit/test_lock.py", "tests/integration/test_lock_processes.py",
        "tests/integration/test_lock_deploy_lambda.py")
GUARD = ("tests/unit/test_infra_guard.py", "tests/integration/test_infra_deploy.py")
TRANSFER = "tars_tasks/steps/ui_transfer.py"
STEPS_LAMBDA = "tars_tasks/steps/lambda_.py"
AUTH = "lambda_src/auth.py"
HANDLER_AUTH = "tests/unit/test_handler_auth.py"

MUTATIONS = (
    Mutation("html-in-asset-pool", "index-last", "HTML uploaded in the same pool as the assets", TRANSFER,
             "    assets = [i for i in items if not is_html(_key(i))]", "    assets = list(items)", UI),
    Mutation("asset-failure-ignored", "index-last", "a failed asset upload no longer stops the HTML switch",
             TRANSFER, "                    if failed:", "                    if False:", UI),
    Mutation("html-first", "index-last", "HTML uploaded first (one line inserted before the asset pool)",
             TRANSFER, "        if assets:\n",
             "        for item in html: versions[_key(item)] = transfer(item)\n        if assets:\n", UI),
    Mutation("smoke-invoke-retried", "smoke gate", "the smoke-test Invoke retried (botocore's standard mode)",
             "tars_tasks/aws/lambda_.py", 'client("lambda", read_timeout=timeout, total_max_attempts=1)',
             'client("lambda", read_timeout=timeout)', SMOKE),
    Mutation("smoke-failure-ignored", "smoke gate", "the alias moved although the smoke test failed",
             STEPS_LAMBDA, "    if not ok:\n", "    if False:\n", SMOKE),
    Mutation("alias-before-smoke", "smoke gate",
             "the alias moved before the smoke test (one line inserted)", STEPS_LAMBDA,
             '    smoke = {"skipped": True}\n',
             "    lambda_.point_alias(fn, plan.alias, version, exists=plan.live_version is not None)\n"
             '    smoke = {"skipped": True}\n', SMOKE),
    Mutation("lock-unconditional", "deploy lock", "the lock taken without its condition (a held lock overwritten)",
             "tars_tasks/aws/dynamodb.py",
             'ddb.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(lock_id)")',
             "ddb.put_item(TableName=table, Item=item)", LOCK),
    Mutation("destroy-guard-off", "destroy guard", "a plan that deletes or replaces is applied without --allow-destroy",
             "tars_tasks/steps/infra_guard.py", "    if found and not allow_destroy:", "    if False:", GUARD,
             faults=False),
    # issue 14 phase B: the auth guards (no fault/kill suite covers them: their own tests only)
    Mutation("auth-fail-open", "auth check", "no user pool configured: a person's request is let through",
             AUTH, "    if cfg is None:   # fail closed", "    if False:   # fail closed",
             (f"{HANDLER_AUTH}::test_without_a_user_pool_it_fails_closed_for_people_and_answers_iam",), faults=False),
    Mutation("cdn-taken-for-machine", "auth check", "a request through CloudFront taken for an IAM machine client",
             AUTH, '    if "x-amz-cf-id" in headers_of(event):', "    if False:",
             (f"{HANDLER_AUTH}::test_iam_alone_authorizes_only_a_direct_signer_of_this_account",), faults=False),
    Mutation("url-iam-off", "auth check", "the local Function URL no longer checks SigV4 (AuthType ignored)",
             "tars_tasks/local/function_url.py", "            if iam.required():", "            if False:",
             ("tests/integration/test_local_runtime.py::test_function_url_server_serves_requests_and_picks_up_a_new_alias_target",),
             faults=False),
    Mutation("sigv4-not-compared", "auth check", "the local SigV4 check accepts any signature", "tars_tasks/local/sigv4.py",
             "    if not hmac.compare_digest(expected, signature):", "    if False:",
             ("tests/unit/test_local_sigv4.py",), faults=False),
    Mutation("site-without-cf-id", "auth check", "the local site forwards /api without CloudFront's X-Amz-Cf-Id",
             "tars_tasks/local/site.py", '            headers["X-Amz-Cf-Id"] = base64.urlsafe_b64encode(os.urandom(42)).decode()',
             "            pass",
             ("tests/integration/test_local_site.py::test_the_site_signs_api_requests_as_cloudfront_oac_and_adds_its_own_cf_id",),
             faults=False),
    Mutation("prod-without-pool", "auth check", "a production env deploys the API without a user pool",
             STEPS_LAMBDA, "    if settings.env in production and not settings.cognito_user_pool_id:", "    if False:",
             ("tests/integration/test_sign_in_guard.py",), faults=False),
    Mutation("users-any-role", "bad input", "inv users.add/role accept any role name", "tars_tasks/tasks/users.py",
             "    if value not in ROLES:", "    if False:", ("tests/integration/test_users_tasks.py",), faults=False),
)


def copy_tree(source: Path, dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=source,
                           capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        src = source / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    cache = source / ".tars" / "cache"     # built Lambda dependencies: shared, not rebuilt per copy
    cache.mkdir(parents=True, exist_ok=True)
    (dest / ".tars").mkdir(exist_ok=True)
    (dest / ".tars" / "cache").symlink_to(cache)


def apply(tree: Path, m: Mutation) -> None:
    path = tree / m.path
    text = path.read_text()
    if text.count(m.old) != 1:
        raise SystemExit(f"mutation {m.id}: {m.old.strip()!r} occurs {text.count(m.old)} times in {m.path} "
                         "(the product changed: update bench/mutations.py)")
    path.write_text(text.replace(m.old, m.new))
    py_compile.compile(str(path), doraise=True)


def run_pytest(tree: Path, paths: list[str], log: Path) -> tuple[dict[str, str], float]:
    """{test id: "failed" | "error"} of a plain pytest run in ``tree``, and its wall time."""
    report = log.with_suffix(".xml")
    started = time.monotonic()
    with log.open("w") as out:
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                        *paths], cwd=tree, stdout=out, stderr=subprocess.STDOUT,
                       env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST")})
    elapsed = time.monotonic() - started
    failed: dict[str, str] = {}
    if not report.exists():
        return {"(pytest did not run: see the log)": "error"}, elapsed
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome = next((c.tag for c in case if c.tag in ("failure", "error")), None)
        if outcome:
            module = case.get("classname", "").replace(".", "/") + ".py"
            failed[f"{module}::{case.get('name')}"] = "failed" if outcome == "failure" else "error"
    return failed, elapsed


def suites(m: Mutation) -> list[str]:
    return [*(FAULTS if m.faults else ()), *m.tests]


def cell(tests: list[str]) -> str:
    """Test functions (the first 4), ``(n)`` after one whose n parametrizations failed."""
    counts: dict[str, int] = {}
    for t in tests:
        name = t.replace("tests/", "", 1).split("[", 1)[0]
        counts[name] = counts.get(name, 0) + 1
    shown = [f"`{n}`" + (f" ({c})" if c > 1 else "") for n, c in counts.items()]
    return "<br>".join(shown[:4] + ([f"and {len(shown) - 4} more"] if len(shown) > 4 else []))


def short(test: str) -> str:
    return test.replace("tests/", "", 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=[], help="mutation ids to run (default: all)")
    parser.add_argument("--source", type=Path, default=ROOT, help="the tree to copy and mutate (a git checkout)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--keep", action="store_true", help="keep the temp trees and pytest logs")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.only or m.id in args.only]
    if args.list or not chosen:
        for m in MUTATIONS:
            print(f"{m.id:24} {m.guard:14} {m.change}")
        raise SystemExit(0 if args.list else 2)
    paths = sorted({t for m in chosen for t in suites(m)})
    work = Path(tempfile.mkdtemp(prefix="tars-mutations-"))
    print(f"trees and logs in {work}", file=sys.stderr)
    try:
        base = work / "baseline"
        copy_tree(args.source.resolve(), base)
        flaky, took = run_pytest(base, paths, work / "baseline.log")
        print(f"baseline (no mutation): {len(flaky)} failing in {took:.0f} s", file=sys.stderr)
        rows = []
        for m in chosen:
            tree = work / m.id
            copy_tree(args.source.resolve(), tree)
            apply(tree, m)
            failed, took = run_pytest(tree, suites(m), work / f"{m.id}.log")
            caught = sorted(t for t in failed if t not in flaky)
            print(f"{m.id}: {len(caught)} failing in {took:.0f} s", file=sys.stderr)
            rows.append((m, [t for t in caught if t.startswith("tests/faults/")],
                         [t for t in caught if not t.startswith("tests/faults/")]))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("| guard | mutation | the one-line change | fault/kill tests that fail | other tests that fail |")
    print("|---|---|---|---|---|")
    for m, faults, others in rows:
        print(f"| {m.guard} | {m.what} | {m.change} | {cell(faults) or ('none' if m.faults else 'n/a')} "
              f"| {cell(others) or 'none'} |")
    if args.keep:
        print(f"\ntrees and pytest logs kept in {work}")
    if flaky:
        print(f"\nFailed without any mutation (left out above): {', '.join(map(short, sorted(flaky)))}")
    missed = [m.id for m, faults, others in rows if not faults and not others]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} mutations fail a test in the plain run"
          + (f"; missed: {', '.join(missed)}" if missed else ""))
    raise SystemExit(1 if missed or flaky else 0)


if __name__ == "__main__":
    main()
