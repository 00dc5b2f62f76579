"""`inv deploy [--all] [--infra] [--mcp] [--lambda] [--ui]`: replaces deploy.sh.

Order: preflight (prod, or --preflight) → plan every selected component → ask once (without the
lock) → deploy lock → plan again (refused, exit 3, if it changed since the question) → infra → mcp
→ lambda → ui → verify, under that one lock. The summary says for every component:
deployed (old → new), unchanged, failed (why) or not reached, with the rollback command of each
deployed one. A successful run writes a release record. The pipeline itself is the plain function
steps/deploy.run; this module reads the flags. ``--env dev,staging`` deploys several environments
in parallel, each its own `inv deploy --env NAME` process (steps/environments.py).
"""
from __future__ import annotations

from invoke import Collection

from ..skeleton import CHANGES, load_settings, tars_task


@tars_task(common=CHANGES, help={
    "all": "deploy every component: infra, mcp, lambda, ui (then verify)",
    "infra": "deploy the Terraform infrastructure",
    "mcp": "deploy the MCP server (ECS)",
    "lambda_": "deploy the Lambda handler",
    "ui": "deploy the triage UI",
    "skip_verify": "do not run the post-deployment checks",
    "skip_preflight": "do not run the preflight checklist (even in prod)",
    "preflight": "run the preflight checklist first (always done for TARS_PREFLIGHT_ENVS)",
    "force_preflight": "go ahead when preflight items fail (recorded in the release record)",
    "skip_tests": "preflight without its test item (CI: the same commit already passed make test)",
    "env": "environment, or several in parallel: --env dev,staging (each its own process, lock and report; "
           "one summary; the worst exit code)",
})
def deploy(c, all=False, infra=False, mcp=False, lambda_=False, ui=False, skip_verify=False,  # noqa: A002
           skip_preflight=False, preflight=False, force_preflight=False, skip_tests=False, *, flags):  # -l: --lambda
    """Deploy components in order (infra → mcp → lambda → ui → verify) with one summary."""
    from ..errors import UsageError
    from ..steps import deploy as steps, pipeline

    if skip_preflight and (preflight or force_preflight):
        raise UsageError("--skip-preflight contradicts --preflight / --force-preflight", "pass only one")
    names = pipeline.select(all, infra=infra, mcp=mcp, lambda_=lambda_, ui=ui)
    if flags.env and "," in flags.env:   # several environments, in parallel: steps/environments.py
        from ..settings import declared_envs
        from ..steps import environments

        switches = dict(skip_verify=skip_verify, skip_preflight=skip_preflight, preflight=preflight,
                        force_preflight=force_preflight, skip_tests=skip_tests)
        environments.deploy(declared_envs(c), flags.env, environments.child_flags(
            names, local=flags.local, dry_run=flags.dry_run, yes=flags.yes, **switches), dry_run=flags.dry_run,
            yes=flags.yes, json_path=flags.json, local=flags.local)
        return
    settings = load_settings(c, flags)
    prod_like = settings.env in [e.strip() for e in (settings.preflight_envs or "").split(",")]
    steps.run(settings, names, dry_run=flags.dry_run, yes=flags.yes, json_path=flags.json, skip_verify=skip_verify,
        preflight=(preflight or force_preflight or prod_like) and not skip_preflight,
        force_preflight=force_preflight, skip_tests=skip_tests,
        reload=lambda: load_settings(c, flags))


ns = Collection(deploy)
