"""The real infrastructure/, applied by the real terraform to moto once per test session.

``applied_template`` (session) runs ``inv deploy-infrastructure --local --yes`` in a fresh project
copy from an empty moto server that can be forked (bench/scenarios/moto_template.py): the local
target's runner drives the project's own Terraform wrapper on the emulator's work copy
(tars_tasks.local.tf_workcopy): init, validate, plan -out, show -json → destroy guard, apply,
output -json. This is the session's one cold apply, and the proof that it works from empty.
``applied_infra`` (per test) forks that server, an exact copy of everything Terraform made, and
gives the test its own work copy with a copy of the state: the test may change anything, the
next test starts from the applied infrastructure again. Restoring costs a fork (milliseconds)
instead of an apply (~60-90 s: the provider's own waits, see docs/benchmarks.md).

``local_project(applied_template, root)`` makes a fork the ``--local`` emulator of a project
copy at ``root``: the process record, the kept ports and the work copy's state, exactly as a
``deploy-infrastructure --local`` of that project would have left them. The template is applied
with the inputs such a project gives Terraform (``VARIABLES``, the work copy's override on the
template's own port with the MCP server's kept port), so the project's first ``--local`` task
finds nothing changed and runs no plan: its infrastructure step only reads the outputs and
starts the local servers. Every test that starts a local deployment does this instead of an apply.

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
from bench.scenarios.moto_template import MODULE, Child, Template
from bench.scenarios.tf_setup import (AVAILABLE, INFRA, MIRROR, PLUGIN_DIR, SKIP_REASON,  # noqa: F401 - the tests' names
                                       TERRAFORM, VARIABLES)
from bench.scenarios.tf_setup import base_env as _base_env

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AppliedTemplate:
    template: Template
    directory: Path                   # the template's work copy (state, data dir)
    report: dict[str, Any]            # inv deploy-infrastructure --local --json: the plan applied, the outcome
    outputs: dict[str, Any]           # the project's outputs.json (the servers' URLs: the template project's)
    instance: str
    port: int                         # the template's own port: forks on it keep the override's endpoint
    local_values: dict[str, str]      # the locals the override restates (the MCP server's URL, the site's origin)
    timings: dict[str, float] = field(default_factory=dict)
    root: Path | None = None          # the project the template was applied from
    output: str = ""                  # what that inv run printed

    @property
    def server_ports(self) -> dict[str, int]:
        """The local servers the override names (tf_target.LOCAL_VALUES) -> their port in the template."""
        from tars_tasks.local.tf_target import LOCAL_VALUES

        return {server: int(self.local_values[name].rsplit(":", 1)[1]) for name, server in LOCAL_VALUES.items()}


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
        _record_emulator(proc_dir, self.child.pid, self.child.port)


def apply_template(directory: Path) -> AppliedTemplate:
    """Serve an empty emulator and apply infrastructure/ to it as a user does: ``inv
    deploy-infrastructure --local --yes`` in a fresh project copy whose emulator it is (init,
    validate, plan -out, show -json, the destroy guard, apply, output -json: the local target's
    runner, the same steps as for AWS). Then stop the local servers that run started, and freeze."""
    import subprocess

    from tars_tasks.local import processes

    template = Template(_base_env())
    try:
        endpoint = template.serve()
        root = _template_project(directory / "project")
        local_dir = root / ".tars" / "local"
        proc_dir = local_dir / "proc"
        _record_emulator(proc_dir, template.proc.pid, template.port)
        report = directory / "deploy-infrastructure.json"
        env = {**_base_env(), "TARS_ROOT": str(root), "PYTHONPATH": str(ROOT),
               **({"TARS_TERRAFORM_PLUGIN_DIR": PLUGIN_DIR} if PLUGIN_DIR else {})}
        started = time.monotonic()
        try:
            done = subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), "deploy-infrastructure", "--local",
                                   "--yes", "--json", str(report)], cwd=root, env=env, capture_output=True, text=True,
                                  timeout=1800, stdin=subprocess.DEVNULL)
        finally:
            for name in ("runtime", "site"):   # the template serves no local servers; each project starts its own
                processes.stop(proc_dir, name)
            (proc_dir / "emulator.json").unlink(missing_ok=True)   # the template is not a project's emulator
        elapsed = time.monotonic() - started
        if done.returncode != 0:
            raise RuntimeError(f"inv deploy-infrastructure --local exited {done.returncode} on the template:\n"
                               f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        outputs = json.loads((local_dir / "outputs.json").read_text())
        local_values = _local_values(json.loads((local_dir / "ports.json").read_text()))
        instance = tf_fingerprint.emulator_instance(endpoint)
        template.freeze()
    except BaseException:
        template.close()
        raise
    return AppliedTemplate(template, local_dir / "emulator-terraform", json.loads(report.read_text()), outputs,
                           instance, template.port, local_values,
                           {"deploy-infrastructure": elapsed}, root=root, output=done.stdout + done.stderr)


def _local_values(ports: dict[str, int]) -> dict[str, str]:
    """What tars_tasks.local.tf_target.local_values gives a project with these kept ports."""
    from tars_tasks.local.tf_target import LOCAL_VALUES

    return {name: f"http://127.0.0.1:{ports[server]}" for name, server in LOCAL_VALUES.items()}


def _template_project(root: Path) -> Path:
    """A project as a newcomer's copy has it for the infrastructure: infrastructure/ and invoke.yaml
    in a git repository of its own (no remote: GITHUB_REPOSITORY is not set, see VARIABLES)."""
    import subprocess

    root.mkdir(parents=True)
    shutil.copytree(INFRA, root / "infrastructure", ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    shutil.copy(ROOT / "invoke.yaml", root / "invoke.yaml")
    (root / ".gitignore").write_text(".tars/\n")
    git = ["git", "-c", "user.email=t@tars.invalid", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "infrastructure"], cwd=root, check=True)
    return root


def _record_emulator(proc_dir: Path, pid: int, port: int) -> None:
    """Record a template process or a fork as the local target's emulator (tars_tasks.local.processes)."""
    proc_dir.mkdir(parents=True, exist_ok=True)
    record = {"name": "emulator", "pid": pid, "port": port, "argv": [sys.executable, "-m", MODULE],
              "log": os.devnull, "started": time.time()}
    (proc_dir / "emulator.json").write_text(json.dumps(record))


def restore(applied: AppliedTemplate, directory: Path, port: int | None = None) -> AppliedInfra:
    """A fresh copy of the applied emulator and a work copy of its own, state and data dir copied
    (the backend path is relative, so no ``terraform init`` is needed)."""
    started = time.monotonic()
    child = applied.template.fork(port)
    try:
        copy = _copy_state(applied, INFRA, directory, child.url, applied.local_values)
    except BaseException:
        child.stop()
        raise
    return AppliedInfra(child, copy, applied.outputs, applied.instance, time.monotonic() - started)


def _copy_state(applied: AppliedTemplate, infra_dir: Path, directory: Path, endpoint: str,
                local_values: dict[str, str]) -> tf_workcopy.WorkCopy:
    """A work copy of ``infra_dir`` for ``endpoint`` holding the template's state, data dir (no init
    needed: the backend path is relative), instance binding and last-apply fingerprint."""
    copy = tf_workcopy.prepare(infra_dir, directory, endpoint, mirror=MIRROR, local_values=local_values)
    shutil.copy2(applied.directory / "terraform.tfstate", copy.state_path)
    shutil.rmtree(copy.data_dir, ignore_errors=True)
    shutil.copytree(applied.directory / "data", copy.data_dir, symlinks=True)
    for name in (tf_fingerprint.BOUND, tf_fingerprint.APPLIED):
        shutil.copy2(applied.directory / name, copy.directory / name)
    return copy


def local_project(applied: AppliedTemplate, root: Path, hook: str | None = None) -> AppliedInfra:
    """Make a fork of the applied emulator the ``--local`` emulator of the project at ``root``
    (its infrastructure/ copied there first when it has none): the next ``--local`` task of that
    project finds the infrastructure applied and, when its inputs are the template's, runs no plan
    (a project whose infrastructure/ differs plans and applies the difference, as a user's would).
    Env local only: the template is applied with its variables (another env's Environment tags and
    deploy role name differ: its first apply replaces the role, which the destroy guard refuses).
    ``hook``: see bench/scenarios/moto_template.py. The caller stops the fork (``.child.stop()``;
    ``inv local.down`` does too)."""
    from tars_tasks.local import processes

    started = time.monotonic()
    local_dir = root / ".tars" / "local"
    if not (root / "infrastructure").is_dir():
        shutil.copytree(INFRA, root / "infrastructure", ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    child = applied.template.fork(applied.port, hook)   # the same endpoint in the override, if the port is free
    try:
        ports_file = local_dir / "ports.json"
        if not ports_file.exists():
            # the servers the override names (the MCP server in the function's environment, the
            # site's origin in the KB bucket's CORS rule) on the template's ports when free
            ports = {server: port for server, port in applied.server_ports.items() if _free(port)}
            for name in ("runtime", "site", "mcp"):
                while name not in ports:
                    port = processes.free_port()
                    if port not in ports.values():
                        ports[name] = port
            ports_file.parent.mkdir(parents=True, exist_ok=True)
            ports_file.write_text(json.dumps(ports, indent=2, sort_keys=True) + "\n")
        ports = json.loads(ports_file.read_text())
        copy = _copy_state(applied, root / "infrastructure", local_dir / "emulator-terraform", child.url,
                           _local_values(ports))
        # the outputs that apply saved, the server URLs this project's (tf_target.local_outputs)
        from tars_tasks.local.tf_target import URL_OUTPUTS
        from tars_tasks.tools.terraform import save_outputs

        save_outputs(local_dir, {name: ({**entry, "value": f"http://127.0.0.1:{ports[URL_OUTPUTS[name][0]]}"
                                                              + URL_OUTPUTS[name][1]} if name in URL_OUTPUTS else entry)
                                 for name, entry in applied.outputs.items()})
        infra = AppliedInfra(child, copy, applied.outputs, applied.instance, 0.0)
        infra.adopt_as_local_emulator(local_dir / "proc")
    except BaseException:
        child.stop()
        raise
    infra.restore_seconds = time.monotonic() - started
    return infra


def _free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


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


@pytest.fixture
def local_emulator(applied_template):
    """``local_emulator(root)``: the project at ``root`` gets a fork of the applied emulator as its
    ``--local`` emulator (:func:`local_project`); every fork is stopped after the test."""
    made: list[AppliedInfra] = []

    def adopt(root: Path, hook: str | None = None) -> AppliedInfra:
        made.append(local_project(applied_template, root, hook))
        return made[-1]

    yield adopt
    for infra in made:
        infra.child.stop()


def deploy_local_infrastructure(settings):
    """What ``inv deploy-infrastructure --local --yes`` runs, in this process: the plan (none on an
    adopted fork whose inputs are the template's), then execute (outputs saved, runtime and site
    started on what Terraform made). Returns the plan."""
    from tars_tasks.steps import infra

    plan = infra.plan(settings)
    infra.execute(settings, plan)
    return plan


@pytest.fixture
def local_settings(local_emulator, monkeypatch):
    """``local_settings(root)``: Settings of a ``--local`` project at ``root`` on a fork of the
    applied infrastructure, its local infrastructure step run in this process, and boto3 here
    pointed at the fork (AWS_ENDPOINT_URL). For the suites that test one local component (runtime,
    site, MCP, lifecycle) on what Terraform made, without an apply of their own."""
    from tars_tasks.settings import Settings

    def make(root: Path, **flags) -> Any:
        infra = local_emulator(root)
        monkeypatch.setenv("AWS_ENDPOINT_URL", infra.endpoint)
        deploy_local_infrastructure(Settings.load(None, root=root, local=True, **flags))
        return Settings.load(None, root=root, local=True, **flags)

    return make
