"""The real infrastructure/, applied by the real terraform to moto once per test session.

``applied_template`` (session) runs the project's own Terraform wrapper on the emulator's work
copy (tars_tasks.local.tf_workcopy): init, validate, plan -out, show -json → destroy guard,
apply, output -json, against a moto server that can be forked (tests/support/moto_template.py).
``applied_infra`` (per test) forks that server, an exact copy of everything Terraform made, and
gives the test its own work copy with a copy of the state: the test may change anything, the
next test starts from the applied infrastructure again. Restoring costs a fork (milliseconds)
instead of an apply (~60-90 s: the provider's own waits, see docs/benchmarks.md).

Skipped, with the reason, only where terraform or a provider mirror is absent (every machine
of this kind has both; CI sets TARS_TERRAFORM_PLUGIN_DIR).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tars_tasks.local import tf_fingerprint, tf_workcopy
from tests.support.moto_template import MODULE, Child, Template

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
VARIABLES = {"project": "sre-poc", "env": "dev", "region": "us-east-1", "github_repository": "acme/tars"}


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TARS_"))}
    env["NO_COLOR"] = "1"
    return env


@dataclass
class AppliedTemplate:
    template: Template
    directory: Path                   # the template's work copy (state, data dir)
    plan: dict[str, Any]              # terraform show -json of the plan that was applied
    outputs: dict[str, Any]
    instance: str
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class AppliedInfra:
    """One test's copy: its own emulator process and work copy, holding the applied state."""

    child: Child
    copy: tf_workcopy.WorkCopy
    outputs: dict[str, Any]
    instance: str
    restore_seconds: float

    @property
    def endpoint(self) -> str:
        return self.child.url

    def terraform(self, variables: dict[str, str] | None = None):
        return self.copy.terraform(TERRAFORM, {**VARIABLES, **(variables or {})}, base_env=_base_env())

    def client(self, service: str):
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=VARIABLES["region"],
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def adopt_as_local_emulator(self, proc_dir: Path) -> None:
        """Record this copy as the local target's emulator (tars_tasks.local.processes format), so
        ``--local`` tasks run against it instead of starting an empty one."""
        proc_dir.mkdir(parents=True, exist_ok=True)
        record = {"name": "emulator", "pid": self.child.pid, "port": self.child.port,
                  "argv": [sys.executable, "-m", MODULE], "log": os.devnull, "started": time.time()}
        (proc_dir / "emulator.json").write_text(json.dumps(record))


def apply_template(directory: Path) -> AppliedTemplate:
    """Serve an empty emulator, apply infrastructure/ to it through the project's wrapper, freeze."""
    from tars_tasks.steps import infra_guard
    from tars_tasks.tools.terraform import new_plan_file, remove_plan_file

    template = Template(_base_env())
    timings: dict[str, float] = {}
    try:
        endpoint = template.serve()
        copy = tf_workcopy.prepare(INFRA, directory / "work", endpoint, mirror=MIRROR)
        instance = tf_fingerprint.emulator_instance(endpoint, claim=True)
        tf_fingerprint.bind_state(copy, instance)
        tf = copy.terraform(TERRAFORM, VARIABLES, base_env=_base_env())
        for step in ("init", "validate", "plan", "apply"):
            started = time.monotonic()
            if step == "init":
                tf.init()
            elif step == "validate":
                tf.validate()
            elif step == "plan":
                plan_file = new_plan_file(directory / "plans")
                assert tf.plan(plan_file) is True
                doc = tf.show_json(plan_file)
                infra_guard.check(infra_guard.parse_changes(doc), doc.get("format_version"),
                                  allow_destroy=False, allow_data_loss=False)
            else:
                tf.apply(plan_file)
                remove_plan_file(plan_file)
            timings[step] = time.monotonic() - started
        outputs = tf.outputs()
        tf_fingerprint.record(copy, tf_fingerprint.fingerprint(copy, VARIABLES, instance, TERRAFORM))
        template.freeze()
    except BaseException:
        template.close()
        raise
    return AppliedTemplate(template, copy.directory, doc, outputs, instance, timings)


def restore(applied: AppliedTemplate, directory: Path, port: int | None = None) -> AppliedInfra:
    """A fresh copy of the applied emulator and a work copy of its own, state and data dir copied
    (the backend path is relative, so no ``terraform init`` is needed)."""
    started = time.monotonic()
    child = applied.template.fork(port)
    try:
        copy = tf_workcopy.prepare(INFRA, directory, child.url, mirror=MIRROR)
        shutil.copy2(applied.directory / "terraform.tfstate", copy.state_path)
        shutil.rmtree(copy.data_dir, ignore_errors=True)
        shutil.copytree(applied.directory / "data", copy.data_dir, symlinks=True)
        shutil.copy2(applied.directory / tf_fingerprint.BOUND, copy.directory / tf_fingerprint.BOUND)
    except BaseException:
        child.stop()
        raise
    return AppliedInfra(child, copy, applied.outputs, applied.instance, time.monotonic() - started)


@pytest.fixture(scope="session")
def applied_template(tmp_path_factory):
    if not AVAILABLE:
        pytest.skip(SKIP_REASON)
    applied = apply_template(tmp_path_factory.mktemp("tf-applied"))
    yield applied
    applied.template.close()


@pytest.fixture
def applied_infra(applied_template, tmp_path):
    infra = restore(applied_template, tmp_path / "terraform")
    yield infra
    infra.child.stop()
