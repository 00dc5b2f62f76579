"""Terraform as what runs the infrastructure (the runner steps/infra.py drives).

The target builds the :class:`~tars_tasks.tools.terraform.Terraform` it runs (working directory,
environment, backend arguments: ``AwsTarget.terraform``), so the same runner serves any target that
can run Terraform. ``plan`` runs init, validate, ``plan -detailed-exitcode -out`` (a private 0600
file) and ``show -json``; ``apply`` applies exactly that file (Terraform refuses a saved plan whose
state moved since); the file is removed after use.
"""
from __future__ import annotations

from typing import Any


class TerraformRunner:
    """plan / apply / discard / outputs / state over one Terraform working directory."""

    def __init__(self, settings, tf):
        self.settings = settings
        self.tf = tf

    def plan(self, *, refresh_only: bool = False) -> tuple[bool, dict[str, Any], str]:
        """(changes?, the ``show -json`` document, the saved plan file). Reads only."""
        from ..tools import terraform

        self.tf.init()
        self.tf.validate()
        plan_file = terraform.new_plan_file(self.settings.state_dir)
        try:
            has_changes = self.tf.plan(plan_file, refresh_only=refresh_only)
            doc = self.tf.show_json(plan_file)
        except BaseException:
            terraform.remove_plan_file(plan_file)
            raise
        return has_changes, doc, str(plan_file)

    def apply(self, saved: str) -> None:
        from ..errors import StepFailed

        if not saved:
            raise StepFailed("the plan has no saved plan file to apply", "run the plan again")
        self.tf.apply(saved)

    def discard(self, saved: Any) -> None:
        from ..tools import terraform

        terraform.remove_plan_file(saved)

    def outputs(self) -> dict[str, Any]:
        """``terraform output -json`` of this env (init first: a fresh checkout has no working data)."""
        return self.tf.outputs()

    def read_outputs(self) -> dict[str, Any]:
        self.tf.init()
        return self.tf.outputs()

    def state(self) -> dict[str, Any]:
        """The state's serial, lineage, Terraform version and resource count (init first)."""
        self.tf.init()
        state = self.tf.state_pull()
        return {"serial": state.get("serial"), "lineage": state.get("lineage"),
                "terraform_version": state.get("terraform_version"),
                "resources": len(state.get("resources") or [])}

    def applied(self) -> dict[str, Any]:
        """What the apply just done left (serial, lineage, version): no init, the apply did it."""
        state = self.tf.state_pull()
        return {"serial": state.get("serial"), "lineage": state.get("lineage"),
                "terraform_version": state.get("terraform_version")}
