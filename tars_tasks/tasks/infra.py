"""Infrastructure tasks (replace deploy-infrastructure.sh): deploy, lint, drift, rollback.

``inv deploy-infrastructure``: init (the env's backend), validate, plan, a summary table, the
destroy guard, a confirmation, apply of exactly that plan, outputs saved for every other task.
"""
from __future__ import annotations

from invoke import Collection
from invoke.exceptions import Exit

from .. import console
from ..errors import TarsError
from ..skeleton import load_settings, tars_task

GUARD_HELP = {
    "allow_destroy": "let the plan delete, replace or forget resources (the destroy guard refuses otherwise)",
    "allow_data_loss": "also let it delete or replace resources that hold data (tables, buckets, SSM)",
}


def show_plan(plan) -> None:
    """The summary table: create / update / replace / delete per resource."""
    lines = plan.summary()
    if not plan.has_changes:
        console.ok(lines[0] if lines else "no changes")
        return
    console.step(lines[0])
    console.table(None, ["resource", "action", "why"], plan.rows())


def _confirm(settings, plan, yes) -> None:
    counts = plan.counts() if hasattr(plan, "counts") else {}
    what = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "the changes above"
    console.confirm(f"Apply {what} to {settings.env}?", yes)


def _report(json, settings, plan, outcome=None, extra=None) -> None:
    console.write_report(json, {"env": settings.env, "plan": plan.as_dict() if plan is not None else None,
                                "outcome": outcome.as_dict() if outcome else None, **(extra or {})})


@tars_task(help=GUARD_HELP)
def deploy_infrastructure(c, env=None, local=False, dry_run=False, yes=False, json=None,
                          allow_destroy=False, allow_data_loss=False):
    """Plan and apply infrastructure/ with the destroy guard; save the outputs for the other tasks."""
    from .. import lock
    from ..steps import infra

    settings = load_settings(c, env=env, local=local)
    with lock.hold(settings, "deploy-infrastructure", dry_run=dry_run):
        console.step(f"Planning infrastructure ({settings.env})")
        plan = infra.plan(settings)
        try:
            show_plan(plan)
            try:
                infra.guard(plan, allow_destroy=allow_destroy, allow_data_loss=allow_data_loss)
            except TarsError as err:
                _report(json, settings, plan, extra={"error": err.as_dict()})
                raise
            if dry_run:
                _report(json, settings, plan)
                console.info("dry run: nothing applied")
                return
            if plan.has_changes:
                _confirm(settings, plan, yes)
            outcome = infra.execute(settings, plan, allow_destroy=allow_destroy, allow_data_loss=allow_data_loss)
        finally:
            infra.discard(plan)
    if outcome.status == "unchanged":
        console.ok(outcome.detail if "no changes" in outcome.detail else f"no changes; {outcome.detail}")
    else:
        console.ok(f"infrastructure {outcome.status}: {outcome.detail}")
    _report(json, settings, plan, outcome)


@tars_task
def lint_infra(c, json=None):
    """terraform fmt -check and validate (when terraform is installed) and checkov (always, offline)."""
    from ..errors import ConfigError, StepFailed
    from ..settings import Settings
    from ..tools import checkov, terraform

    settings = Settings.load(c)
    settings.ensure_valid()
    workdir = settings.root / "infrastructure"
    if not workdir.is_dir():
        raise ConfigError(f"no Terraform configuration: {workdir} does not exist",
                          "run the task from the TARS checkout (or set TARS_ROOT to it)")
    report: dict = {}
    try:
        tf = terraform.Terraform(terraform.find_program(settings), workdir, settings.cache_dir / "terraform-lint",
                                 env=settings.child_env(), plugin_dir=settings.terraform_plugin_dir)
    except ConfigError as exc:
        console.warn(f"{exc.message}: skipped terraform fmt -check and validate ({exc.hint})")
        tf = None
        report["terraform"] = "not installed"
    if tf:
        console.step(f"terraform fmt -check ({tf.program})")
        unformatted = tf.fmt_check()
        if unformatted:
            raise StepFailed(f"{len(unformatted)} file(s) not formatted: {', '.join(unformatted)}",
                             "run terraform fmt -recursive infrastructure")
        console.step("terraform validate")
        tf.init()   # no backend: validate needs only the providers
        tf.validate()
        console.ok("formatted and valid")
        report["terraform"] = "fmt and validate passed"
    program = checkov.find_program(settings)
    console.step(f"checkov (offline) on {workdir}")
    result = checkov.run(program, workdir)
    report["checkov"] = result.as_dict()
    console.write_report(json, report)
    if result.failed or result.parsing_errors:
        raise StepFailed(f"checkov: {result.failed} failed check(s), {result.parsing_errors} parsing error(s) "
                         f"({result.passed} passed)", "fix them, or skip one with #checkov:skip=CKV_...:reason "
                         "next to the resource", details=list(result.failures))
    console.ok(f"checkov {result.version}: {result.passed} passed, 0 failed, {result.skipped} skipped with a reason")


@tars_task
def infra_drift(c, env=None, local=False, json=None):
    """Refresh-only plan: exit 2 when live resources differ from the Terraform state."""
    from ..steps import infra

    settings = load_settings(c, env=env, local=local)
    console.step(f"Checking drift ({settings.env}): terraform plan -refresh-only")
    plan = infra.plan(settings, refresh_only=True)
    infra.discard(plan)
    rows = [(c_.address, c_.label, c_.reason_text) for c_ in plan.drift]
    _report(json, settings, plan, extra={"drift": plan.has_changes})
    if not plan.has_changes:
        console.ok("no drift: live resources match the state")
        return
    console.warn(f"drift found: {len(rows) or 'some'} resource(s) changed outside Terraform")
    if rows:
        console.table("drift", ["resource", "change", "detail"], rows)
    console.info("inv deploy-infrastructure puts them back as the configuration says")
    raise Exit(code=2)


@tars_task
def infra_outputs(c, env=None, local=False, json=None):
    """Save this env's Terraform outputs to .tars/<env>/outputs.json (read only; CI runs it first)."""
    from ..settings import Settings
    from ..steps import infra

    settings = Settings.load(c, env=env, local=local)
    settings.ensure_valid()
    path, outputs = infra.fetch_outputs(settings)
    console.write_report(json, {"env": settings.env, "path": str(path) if path else None, "outputs": sorted(outputs)})
    if path is None:
        console.ok("no local deployment yet: inv deploy --all --local writes the outputs")
    elif not outputs:
        console.warn(f"the {settings.env} state has no outputs yet: inv deploy-infrastructure creates them")
    else:
        console.ok(f"{len(outputs)} Terraform outputs of {settings.env} in {path}")


@tars_task(help={"commit": "the commit to revert (default: the newest one touching infrastructure/)", **GUARD_HELP})
def rollback_infrastructure(c, env=None, local=False, dry_run=False, yes=False, json=None, commit=None,
                            allow_destroy=False, allow_data_loss=False):
    """git revert --no-edit the last infrastructure change, then the same guarded plan and apply."""
    from .. import lock
    from ..steps import infra

    settings = load_settings(c, env=env, local=local)
    with lock.hold(settings, "rollback-infrastructure", dry_run=dry_run):
        outcome = infra.rollback(settings, commit, dry_run=dry_run, allow_destroy=allow_destroy,
                                 allow_data_loss=allow_data_loss, show=show_plan,
                                 confirm=lambda plan: _confirm(settings, plan, yes))
    console.ok(f"infrastructure rollback {outcome.status}: {outcome.detail}")
    console.write_report(json, {"env": settings.env, "outcome": outcome.as_dict()})


ns = Collection(deploy_infrastructure, lint_infra, infra_drift, rollback_infrastructure, infra_outputs)
