"""Infrastructure tasks (replace deploy-infrastructure.sh): deploy, lint, drift, rollback.

``inv deploy-infrastructure``: init (the env's backend), validate, plan, a summary table, the
destroy guard, a confirmation, apply of exactly that plan, outputs saved for every other task.
"""
from __future__ import annotations

from invoke import Collection
from invoke.exceptions import Exit

from .. import console
from ..skeleton import CHANGES, READS, load_settings, run, tars_task

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


def _question(settings, plan) -> str:
    counts = plan.counts() if hasattr(plan, "counts") else {}
    what = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "the changes above"
    return f"Apply {what} to {settings.env}?"


def _apply(settings, command, json, *, dry_run, yes, allow_destroy, allow_data_loss):
    """The task skeleton over the infrastructure plan: plan → summary table → destroy guard →
    --dry-run stops → confirm outside the lock → lock → apply exactly the plan shown (a saved
    Terraform plan is its own staleness check: terraform apply refuses it when the state moved,
    so it is not planned again under the lock). Every saved plan file is removed at the end."""
    from ..steps import infra

    made = []

    def planned():
        made.append(infra.plan(settings))
        return made[-1]

    console.step(f"Planning infrastructure ({settings.env})")
    try:
        return run(settings, command, planned,
                   lambda plan: infra.execute(settings, plan, allow_destroy=allow_destroy,
                                              allow_data_loss=allow_data_loss),
                   json=json, component="infra", dry_run=dry_run, yes=yes, show=show_plan, replan=False,
                   check=lambda plan: infra.guard(plan, allow_destroy=allow_destroy, allow_data_loss=allow_data_loss),
                   question=lambda plan: _question(settings, plan))
    finally:
        for plan in made:
            infra.discard(plan)


def _said(outcome) -> None:
    if outcome.status == "unchanged":
        console.ok(outcome.detail if "no changes" in outcome.detail else f"no changes; {outcome.detail}")
    else:
        console.ok(f"infrastructure {outcome.status}: {outcome.detail}")


@tars_task(common=CHANGES, help=GUARD_HELP)
def deploy_infrastructure(c, flags, allow_destroy=False, allow_data_loss=False):
    """Plan and apply infrastructure/ with the destroy guard; save the outputs for the other tasks."""
    settings = load_settings(c, flags)
    _, outcome = _apply(settings, "deploy-infrastructure", flags.json, dry_run=flags.dry_run, yes=flags.yes,
                        allow_destroy=allow_destroy, allow_data_loss=allow_data_loss)
    if flags.dry_run:
        console.info("dry run: nothing applied")
    else:
        _said(outcome)


@tars_task(common=("json",))
def lint_infra(c, flags):
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
    console.write_report(flags.json, report)
    if result.failed or result.parsing_errors:
        raise StepFailed(f"checkov: {result.failed} failed check(s), {result.parsing_errors} parsing error(s) "
                         f"({result.passed} passed)", "fix them, or skip one with #checkov:skip=CKV_...:reason "
                         "next to the resource", details=list(result.failures))
    console.ok(f"checkov {result.version}: {result.passed} passed, 0 failed, {result.skipped} skipped with a reason")


@tars_task(common=READS)
def infra_drift(c, flags):
    """Refresh-only plan: exit 2 when live resources differ from the Terraform state."""
    from ..steps import infra

    settings = load_settings(c, flags)
    console.step(f"Checking drift ({settings.env}): terraform plan -refresh-only")
    plan = infra.plan(settings, refresh_only=True)
    infra.discard(plan)
    rows = [(c_.address, c_.label, c_.reason_text) for c_ in plan.drift]
    console.write_report(flags.json, {"task": "infra-drift", "env": settings.env, "plan": plan.as_dict(), "outcome": None,
                                "drift": plan.has_changes})
    if not plan.has_changes:
        console.ok("no drift: live resources match the state")
        return
    console.warn(f"drift found: {len(rows) or 'some'} resource(s) changed outside Terraform")
    if rows:
        console.table("drift", ["resource", "change", "detail"], rows)
    console.info("inv deploy-infrastructure puts them back as the configuration says")
    raise Exit(code=2)


@tars_task(common=READS)
def infra_outputs(c, flags):
    """Save this env's Terraform outputs to .tars/<env>/outputs.json (read only; CI runs it first)."""
    from ..settings import Settings
    from ..steps import infra

    settings = Settings.load(c, **flags.settings)
    settings.ensure_valid()
    path, outputs = infra.fetch_outputs(settings)
    console.write_report(flags.json, {"env": settings.env, "path": str(path) if path else None, "outputs": sorted(outputs)})
    if path is None:
        console.ok("no local deployment yet: inv deploy --all --local writes the outputs")
    elif not outputs:
        console.warn(f"the {settings.env} state has no outputs yet: inv deploy-infrastructure creates them")
    else:
        console.ok(f"{len(outputs)} Terraform outputs of {settings.env} in {path}")


@tars_task(common=CHANGES, help={"commit": "the commit to revert (default: the newest one touching infrastructure/)",
                                 **GUARD_HELP})
def rollback_infrastructure(c, flags, commit=None, allow_destroy=False, allow_data_loss=False):
    """git revert --no-edit the last infrastructure change, then the same guarded plan and apply."""
    from ..steps import infra

    settings = load_settings(c, flags)
    revert = infra.plan_rollback(settings, commit)   # reads only: --dry-run stops at its preview
    outcome = revert.preview() if flags.dry_run else infra.rollback(settings, revert, lambda: _apply(
        settings, "rollback-infrastructure", None, dry_run=False, yes=flags.yes, allow_destroy=allow_destroy,
        allow_data_loss=allow_data_loss)[1])
    console.ok(f"infrastructure rollback {outcome.status}: {outcome.detail}")
    console.write_report(flags.json, {"task": "rollback-infrastructure", "env": settings.env,
                                      "dry_run": bool(flags.dry_run),
                                      "plan": revert.as_dict(), "outcome": outcome.as_dict()})


ns = Collection(deploy_infrastructure, lint_infra, infra_drift, rollback_infrastructure, infra_outputs)
