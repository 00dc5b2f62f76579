"""What the Terraform scenarios need of this machine and this project: the real infrastructure/, the
terraform binary, the provider mirror, the inputs a fresh ``--local`` project copy gives Terraform,
and a clean environment for its child processes. Shared by tests/support/tf_applied.py (the
session's applied emulator) and bench/bench_tf_emulator.py."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from tars_tasks.local import tf_workcopy

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infrastructure"
PLUGIN_DIR = os.environ.get("TARS_TERRAFORM_PLUGIN_DIR")  # read at import: tests clear TARS_*
TERRAFORM = shutil.which("terraform")
try:
    MIRROR = tf_workcopy.find_mirror(PLUGIN_DIR)
except Exception:  # noqa: BLE001 - a bad setting means: no mirror here
    MIRROR = None
AVAILABLE = bool(TERRAFORM and MIRROR)
SKIP_REASON = ("needs terraform on PATH and a provider mirror (TARS_TERRAFORM_PLUGIN_DIR or "
               f"{', '.join(tf_workcopy.MACHINE_MIRRORS)}): "
               + ("terraform is missing" if not TERRAFORM else "no mirror found"))
# What tars_tasks.local.tf_target.variables gives for a fresh `--local` project copy (no GITHUB_REPOSITORY,
# no origin remote); tests/integration/test_tf_emulator.py checks the two agree.
VARIABLES = {"project": "sre-poc", "env": "local", "region": "us-east-1",
             "bedrock_model_id": "anthropic.claude-3-5-sonnet-20240620-v1:0", "github_repository": "local/tars"}


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TARS_"))}
    env["NO_COLOR"] = "1"
    return env
