"""The local target's infrastructure by the real terraform: ``infrastructure/`` applied to the emulator.

The local target's runner (``LocalTarget.infrastructure``) is :class:`LocalTerraformRunner`, behind the same seam of
``steps/infra`` as AWS's Terraform: init, validate, plan -out, show -json, the destroy guard,
apply of the saved plan, output -json, the apply record. It runs the emulator's work copy
(:mod:`.tf_workcopy`: the unmodified .tf files plus the generated override, a local backend under
``.tars/<env>/emulator-terraform/``), its state bound to the emulator instance
(:mod:`.tf_fingerprint`: a restarted emulator resets the state), and adds what only the local
target needs:

- no plan when nothing that feeds one changed since the last successful apply (the fingerprint;
  ``plan-because.json`` says which input moved otherwise); ``infra-drift`` always plans;
- drift read from a normal plan (:func:`real_drift`: a refresh-only plan reports moto's echo noise);
- the outputs that are URLs point at the local servers (function runtime, site, MCP), and the
  override restates the MCP endpoint local (:func:`local_values`);
- after an apply: the fingerprint, Terraform's placeholder zip kept where the runtime finds code
  by hash, the runtime and site servers started on what Terraform made.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import StepFailed
from . import tf_fingerprint, tf_workcopy

INIT_STAMP = ".tars-init"
# outputs that are URLs of servers: locally they are the local servers (services.NAMES)
URL_OUTPUTS = {"function_url": ("runtime", "/"), "site_url": ("site", ""), "api_endpoint": ("site", "/api"),
               "mcp_endpoint": ("mcp", "")}


def directory(settings) -> Path:
    return settings.state_dir / "emulator-terraform"


def variables(settings) -> dict[str, str]:
    from ..tools.terraform import github_repository

    values = {"project": settings.project, "env": settings.env, "region": settings.region,
              "bedrock_model_id": settings.bedrock_model_id,
              "github_repository": github_repository(settings) or "local/tars"}
    return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class Local:
    """The work copy for the running emulator, its Terraform and what identifies the emulator."""

    copy: tf_workcopy.WorkCopy
    tf: Any
    instance: str
    variables: dict
    program: str

    def inputs(self) -> dict[str, str]:
        return tf_fingerprint.inputs(self.copy, self.variables, self.instance, self.program)

    def unchanged(self) -> bool:
        """True when the last successful apply saw exactly what a plan would see now. Otherwise
        ``plan-because.json`` beside the state says which inputs moved (for the curious and the tests)."""
        found = self.inputs()
        if tf_fingerprint.unchanged(self.copy, tf_fingerprint.combine(found)):
            return True
        (self.copy.directory / "plan-because.json").write_text(
            json.dumps({"changed": tf_fingerprint.changed(self.copy, found)}, indent=1) + "\n")
        return False

    def remember(self) -> None:
        found = self.inputs()
        tf_fingerprint.record(self.copy, tf_fingerprint.combine(found), found)

    def failed(self) -> None:
        """Before an apply: until it succeeded the next run must plan (an interrupted apply too)."""
        tf_fingerprint.forget(self.copy)

    def init(self) -> bool:
        """``terraform init`` when the providers, the lock file, the CLI configuration or the
        configuration's files changed since the last init (2-3 s saved on every run). True when run."""
        stamp = self.copy.data_dir / INIT_STAMP
        want = _init_key(self.copy)
        if stamp.is_file() and stamp.read_text().strip() == want:
            return False
        self.tf.init()
        stamp.write_text(want + "\n")
        return True


def _init_key(copy: tf_workcopy.WorkCopy) -> str:
    digest = hashlib.sha256()
    for path in sorted(copy.config_dir.glob("*.tf")) + [copy.config_dir / ".terraform.lock.hcl"]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    if copy.cli_config and copy.cli_config.is_file():
        digest.update(copy.cli_config.read_bytes())
    return digest.hexdigest()


def prepare(settings) -> Local:
    """The work copy brought in line with infrastructure/ for the running emulator, the state
    reset when it was made on another emulator instance. Reads and compares; writes only what changed."""
    from ..tools.terraform import find_program

    endpoint = settings.target.endpoint
    if not endpoint:
        raise StepFailed("the local emulator is not running (no endpoint)", "inv local.up")
    mirror = tf_workcopy.find_mirror(settings.terraform_plugin_dir)
    copy = tf_workcopy.prepare(settings.root / "infrastructure", directory(settings), endpoint, mirror=mirror,
                               local_values=local_values(settings))
    try:
        instance = tf_fingerprint.emulator_instance(endpoint, claim=True, region=settings.region)
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is the same to the user
        raise StepFailed(f"cannot reach the local emulator at {endpoint}: {exc}", "inv local.down, then inv local.up")
    tf_fingerprint.bind_state(copy, instance)
    program = find_program(settings)
    values = variables(settings)
    return Local(copy, copy.terraform(program, values, base_env=settings.child_env()), instance, values, program)


# Locals of infrastructure/ that name a server -> the local server that stands in for it
LOCAL_VALUES = {"mcp_endpoint": "mcp",   # the function's MCP_ENDPOINT (an internal name on AWS)
                "ui_origin": "site"}     # the KB bucket's CORS origin (the CloudFront domain on AWS)


def local_values(settings) -> dict[str, str]:
    """Locals of infrastructure/ that name a server: the local one (the override restates them)."""
    from . import services

    return {name: services.url(settings, server) for name, server in LOCAL_VALUES.items()}


def local_outputs(settings, outputs: dict[str, Any]) -> dict[str, Any]:
    """``terraform output -json`` with the server URLs replaced by the local servers'."""
    from . import services

    result = dict(outputs)
    for name, (server, suffix) in URL_OUTPUTS.items():
        if name in result:
            result[name] = {**result[name], "value": services.url(settings, server) + suffix}
    return result


def _value(outputs: dict[str, Any], name: str) -> Any:
    entry = outputs.get(name)
    return entry.get("value") if isinstance(entry, dict) else None


def after_apply(settings, local: Local, outputs: dict[str, Any], *, start_services: bool = True) -> None:
    """After a successful apply (or a plan with no changes): the fingerprint, the placeholder's
    bytes for the runtime, the runtime and site servers (which read outputs.json: saved first)."""
    from ..tools import terraform
    from . import code

    local.remember()
    terraform.save_outputs(settings.state_dir, outputs)
    placeholder = settings.root / "infrastructure" / "bootstrap" / "placeholder.zip"
    if placeholder.is_file():
        code.keep(settings, placeholder.read_bytes())
    if start_services:
        from . import services

        # the runtime serves the function and alias Terraform made (the servers read the rest from outputs.json)
        services.ensure(settings.replace(function_name=_value(outputs, "function_name") or settings.function_name,
                                         alias=_value(outputs, "lambda_alias") or settings.alias))


class LocalTerraformRunner:
    """The emulator's Terraform behind the runner seam of steps/infra.py (see the module docstring)."""

    NO_PLAN = "nothing that feeds the plan changed since the last apply"

    def __init__(self, settings):
        self.settings = settings
        self._local: Local | None = None

    @property
    def local(self) -> Local:
        """The work copy, prepared on first use (reading the saved outputs needs no emulator)."""
        if self._local is None:
            self._local = prepare(self.settings)
        return self._local

    def plan(self, *, refresh_only: bool = False) -> tuple[bool, dict[str, Any], str | None]:
        from ..tools import terraform

        if not refresh_only and self.local.unchanged():
            return False, {"format_version": "1.2", "resource_changes": [], "no_plan_because": self.NO_PLAN}, None
        tf = self.local.tf
        self.local.init()
        tf.validate()
        plan_file = terraform.new_plan_file(self.settings.state_dir)
        try:
            has_changes = tf.plan(plan_file)     # never -refresh-only here: see real_drift
            doc = tf.show_json(plan_file)
        except BaseException:
            terraform.remove_plan_file(plan_file)
            raise
        if refresh_only:
            has_changes, doc = filter_drift(doc)
            if has_changes:
                self.local.failed()   # drift found: the next deploy must plan and put it back
        return has_changes, doc, str(plan_file)

    def apply(self, saved: str | None) -> None:
        if not saved:
            raise StepFailed("the plan has no saved plan file to apply", "run the plan again")
        self.local.failed()   # forgotten until the apply succeeded: an interrupted apply plans again
        self.local.tf.apply(saved)

    def discard(self, saved: Any) -> None:
        from ..tools import terraform

        terraform.remove_plan_file(saved)

    def outputs(self) -> dict[str, Any]:
        """Terraform's outputs with the local servers' URLs; then the fingerprint and the servers."""
        outputs = local_outputs(self.settings, self.local.tf.outputs())
        after_apply(self.settings, self.local, outputs)
        return outputs

    def read_outputs(self) -> dict[str, Any] | None:
        """What the last apply saved (None before the local infrastructure exists)."""
        try:
            return json.loads((self.settings.state_dir / "outputs.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def state(self) -> dict[str, Any]:
        """The local state's serial, lineage, version and resource count (the file itself: no terraform)."""
        try:
            state = json.loads(self.local.copy.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {"serial": state.get("serial"), "lineage": state.get("lineage"),
                "terraform_version": state.get("terraform_version"), "resources": len(state.get("resources") or [])}

    def applied(self) -> dict[str, Any]:
        found = self.state()
        found.pop("resources", None)
        return found


MINIMUM = (1, 6)   # the wrapper needs show -json of this format (tools/terraform.INSTALL_HINT)


def installation(program: str | None = None, mirror: str | None = None) -> tuple[bool, str]:
    """(usable, one line): is there a terraform >= 1.5, and where its AWS provider comes from."""
    import json
    import shutil
    import subprocess

    from ..tools.terraform import INSTALL_HINT

    found = shutil.which(program or "terraform") or shutil.which("tofu")
    if not found:
        return False, f"terraform: not installed (every infrastructure task needs it, --local too): {INSTALL_HINT}"
    try:
        done = subprocess.run([found, "version", "-json"], capture_output=True, text=True, timeout=60)
        version = json.loads(done.stdout)["terraform_version"]
        parts = tuple(int(p) for p in version.split("-")[0].split(".")[:2])
    except (OSError, ValueError, KeyError, TypeError, subprocess.TimeoutExpired):
        return False, f"terraform: {found} did not say its version (terraform version -json): {INSTALL_HINT}"
    if parts < MINIMUM:
        return False, f"terraform: {found} is {version}, older than {'.'.join(map(str, MINIMUM))}: {INSTALL_HINT}"
    try:
        where = tf_workcopy.find_mirror(mirror)
    except Exception as exc:  # noqa: BLE001 - a bad setting is reported, not raised, here
        return False, f"terraform {version} at {found}; {getattr(exc, 'message', exc)}"
    source = f"providers from the mirror {where}" if where else "providers downloaded by terraform init"
    return True, f"terraform {version} at {found}; {source}"


def main(argv: list[str] | None = None) -> int:
    """``python -m tars_tasks.local.tf_target --check`` (make setup): one line; exit 0 when a usable
    terraform is there, 2 (error and how to install it) when not: ``--local`` applies infrastructure/."""
    import os
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args != ["--check"]:
        print("usage: python -m tars_tasks.local.tf_target --check", file=sys.stderr)
        return 2
    ok, line = installation(os.environ.get("TARS_TERRAFORM_BIN"), os.environ.get("TARS_TERRAFORM_PLUGIN_DIR"))
    print(("ok: " if ok else "error: ") + line, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 2


if __name__ == "__main__":
    raise SystemExit(main())


# ----------------------------------------------------------------- drift on the emulator
def real_drift(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``resource_drift`` entries of a (normal, refreshing) plan that the configuration would
    put back: changed behind Terraform's back *and* planned to change again.

    A refresh-only plan cannot be trusted on the emulator: measured right after a create, it
    reports 45 resources, none changed by anyone (the provider stored null where moto answers {},
    a bucket's lifecycle/policy/versioning and a role's inline policies that sibling resources
    manage, the attributes the override already ignores because moto does not echo them); the
    normal plan of the same state wants no change at all."""
    planned = {rc.get("address") for rc in doc.get("resource_changes") or []
               if tuple((rc.get("change") or {}).get("actions") or ()) not in ((), ("no-op",), ("read",))}
    return [entry for entry in doc.get("resource_drift") or []
            if entry.get("address") in planned
            and tuple((entry.get("change") or {}).get("actions") or ()) not in ((), ("no-op",), ("read",))]


def filter_drift(doc: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """A normal plan's document read as a drift check: (drift?, the document with only the real
    drift and no resource changes, as a refresh-only plan shows it)."""
    kept = real_drift(doc)
    return bool(kept), {**doc, "resource_drift": kept, "resource_changes": []}
