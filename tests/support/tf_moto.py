"""The real terraform on a copy of infrastructure/, its AWS provider pointed at moto's server.

Offline: providers come from the machine's mirror (TARS_TERRAFORM_PLUGIN_DIR, else
/opt/tf-plugins; CI builds one, see .github/workflows/ci.yml), the backend is a local file
(an override file replaces the S3 backend), and the provider talks only to 127.0.0.1. Only the
targeted resources and what they depend on are planned: moto has no CloudFront policy APIs, so
the whole root does not plan against it (DESIGN.md, "Facts that bite").
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIRROR = os.environ.get("TARS_TERRAFORM_PLUGIN_DIR") or "/opt/tf-plugins"
AVAILABLE = bool(shutil.which("terraform")) and Path(MIRROR, "registry.terraform.io").is_dir()
SKIP_REASON = "needs a real terraform and an AWS provider mirror (offline init)"

OVERRIDE = """
terraform {
  backend "local" {}
}

provider "aws" {
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  endpoints {
    ec2 = "%(url)s"
    iam = "%(url)s"
    kms = "%(url)s"
    sts = "%(url)s"
  }
}
"""


class TerraformOnMoto:
    """``infrastructure/`` copied to ``workdir`` with an override file for ``endpoint``."""

    def __init__(self, tmp_path: Path, endpoint: str, *, locals_: dict[str, str] | None = None):
        self.dir = tmp_path / "infrastructure"
        shutil.copytree(ROOT / "infrastructure", self.dir)
        text = OVERRIDE % {"url": endpoint}
        if locals_:  # an override file replaces these locals, value by value
            text += "\nlocals {\n" + "".join(f"  {k} = {json.dumps(v)}\n" for k, v in locals_.items()) + "}\n"
        (self.dir / "moto_override.tf").write_text(text)
        (tmp_path / "terraformrc").write_text("")
        self.env = {**os.environ, "TF_DATA_DIR": str(tmp_path / "tf-data"), "TF_IN_AUTOMATION": "1",
                    "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1", "NO_COLOR": "1",
                    "TF_CLI_CONFIG_FILE": str(tmp_path / "terraformrc"),
                    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        self.env.pop("AWS_ENDPOINT_URL", None)
        self.run("init", f"-plugin-dir={MIRROR}")

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        done = subprocess.run(["terraform", *args, "-no-color"], cwd=self.dir, env=self.env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode in ok, f"terraform {args[0]} exit {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        return done

    def plan(self, *targets: str, variables: dict[str, str] | None = None, ok: tuple[int, ...] = (0, 2)):
        """``plan -out`` of ``targets``; returns (the plan JSON, the completed process)."""
        plan_file = self.dir.parent / "tfplan"
        args = ["plan", "-input=false", "-detailed-exitcode", f"-out={plan_file}"]
        args += [f"-target={t}" for t in targets]
        args += [f"-var={k}={v}" for k, v in (variables or {}).items()]
        done = self.run(*args, ok=ok)
        if done.returncode not in (0, 2):
            return None, done
        shown = self.run("show", "-json", str(plan_file))
        return json.loads(shown.stdout), done

    def apply_saved_plan(self) -> None:
        self.run("apply", "-input=false", str(self.dir.parent / "tfplan"))


def changes(plan: dict) -> dict[str, dict]:
    """resource address -> its change, from ``terraform show -json``."""
    return {rc["address"]: rc["change"] for rc in plan.get("resource_changes", [])}
