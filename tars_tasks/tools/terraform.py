"""terraform (or OpenTofu): init, validate, plan, show, apply, output, fmt, as plain functions.

The program is ``settings.terraform_bin`` (TARS_TERRAFORM_BIN), else ``terraform`` on PATH, else
``tofu``. Each environment has its own working data (``TF_DATA_DIR`` = ``.tars/<env>/terraform``)
so switching ``--env`` never re-initialises another env's backend. Saved plans live in a private
directory, mode 0600, and are removed after use (they can hold sensitive values).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError, StepFailed

INSTALL_HINT = ("install Terraform 1.6+ (https://developer.hashicorp.com/terraform/install) or OpenTofu "
                "(https://opentofu.org/docs/intro/install/), or set TARS_TERRAFORM_BIN to its path")


def find_program(settings) -> str:
    """The terraform program to run, or ConfigError saying how to install one."""
    configured = settings.terraform_bin
    if configured:
        found = shutil.which(configured)
        if not found:
            raise ConfigError(f"TARS_TERRAFORM_BIN={configured} is not an executable program", INSTALL_HINT)
        return found
    for name in ("terraform", "tofu"):
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError("neither terraform nor tofu is installed (not on PATH)", INSTALL_HINT)


def github_repository(settings) -> str | None:
    """OWNER/REPO the deploy role trusts: GITHUB_REPOSITORY (GitHub Actions sets it), else the
    origin remote's GitHub URL, else None (infrastructure/ then asks for it)."""
    if settings.github_repository:
        return settings.github_repository
    from . import github

    try:
        return "/".join(github.repository(settings.root))
    except ConfigError:
        return None


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip() and not set(line.strip()) <= set("╷╵│")]
    return " ".join(line.lstrip("│ ").strip() for line in kept[-lines:])[:400]


@dataclass
class Terraform:
    """One terraform program working on ``workdir`` with its data in ``data_dir``. The target gives it
    the child's environment (``env``: the AWS variables it needs, no other secret) and the backend
    arguments of ``init`` (``backend``; None: ``-backend=false``)."""

    program: str
    workdir: Path
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict, repr=False)
    backend: tuple[str, ...] | None = None
    plugin_dir: str | None = None
    variables: dict[str, str] | None = None   # input variables, given as TF_VAR_<name>

    # ------------------------------------------------------------ running
    def _env(self) -> dict[str, str]:
        env = dict(self.env)
        env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "TF_DATA_DIR": str(self.data_dir),
                    "NO_COLOR": "1"})
        env.update({f"TF_VAR_{name}": value for name, value in (self.variables or {}).items()})
        return env

    def call(self, *args: str, what: str, ok_codes: tuple[int, ...] = (0,), hint: str | None = None,
             timeout: float = 3600) -> subprocess.CompletedProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            result = _run([self.program, *args], cwd=str(self.workdir), env=self._env(), timeout=timeout)
        except FileNotFoundError:
            raise ConfigError(f"cannot run {self.program}", INSTALL_HINT) from None
        except subprocess.TimeoutExpired:
            raise StepFailed(f"terraform {what} did not finish in {int(timeout)} s",
                             "check for a stuck state lock (terraform force-unlock) and retry") from None
        if result.returncode not in ok_codes:
            raise StepFailed(f"terraform {what} failed (exit {result.returncode}): "
                             f"{_tail(result.stderr or result.stdout)}",
                             hint or f"run terraform {args[0]} in {self.workdir} to see the whole message")
        return result

    # ------------------------------------------------------------ commands
    def init(self) -> None:
        args = ["init", "-input=false", "-no-color"]
        args += list(self.backend) if self.backend is not None else ["-backend=false"]
        if self.plugin_dir:
            args.append(f"-plugin-dir={self.plugin_dir}")
        self.call(*args, what="init",
                  hint="check the backend bucket and credentials; offline, set TARS_TERRAFORM_PLUGIN_DIR "
                       "to a provider mirror")

    def validate(self) -> None:
        self.call("validate", "-no-color", what="validate", hint="fix the configuration error it names")

    def fmt_check(self) -> list[str]:
        """Files terraform fmt would rewrite (empty: all formatted)."""
        result = self.call("fmt", "-check", "-recursive", "-no-color", what="fmt -check", ok_codes=(0, 3))
        return [line.strip() for line in result.stdout.splitlines() if line.strip()] if result.returncode else []

    def plan(self, out: Path, refresh_only: bool = False) -> bool:
        """``plan -detailed-exitcode -out``: True when there are changes (exit 2), False for none (0)."""
        args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", "-lock-timeout=60s", f"-out={out}"]
        if refresh_only:
            args.insert(1, "-refresh-only")
        result = self.call(*args, what="plan", ok_codes=(0, 2))
        _private(out)
        return result.returncode == 2

    def show_json(self, plan_file: Path) -> dict[str, Any]:
        result = self.call("show", "-json", "-no-color", str(plan_file), what="show -json")
        try:
            return json.loads(result.stdout)
        except ValueError as exc:
            raise StepFailed(f"terraform show -json printed no JSON ({exc})",
                             "check the terraform version (1.6+ needed)") from None

    def apply(self, plan_file: Path) -> None:
        """Apply exactly the saved plan (a saved plan never prompts and fails if the state moved)."""
        self.call("apply", "-input=false", "-no-color", "-lock-timeout=60s", str(plan_file), what="apply",
                  hint="nothing beyond what apply reported was changed; read the error, fix, and deploy again")

    def outputs(self) -> dict[str, Any]:
        result = self.call("output", "-json", "-no-color", what="output -json")
        try:
            data = json.loads(result.stdout or "{}")
        except ValueError as exc:
            raise StepFailed(f"terraform output -json printed no JSON ({exc})", "run terraform output -json") from None
        if not isinstance(data, dict):
            raise StepFailed("terraform output -json did not print an object", "run terraform output -json")
        return data

    def state_pull(self) -> dict[str, Any]:
        result = self.call("state", "pull", what="state pull")
        try:
            return json.loads(result.stdout) if result.stdout.strip() else {}
        except ValueError:
            return {}


def _run(argv: list[str], *, cwd: str, env: dict[str, str], timeout: float,
         popen: Callable[..., subprocess.Popen] = subprocess.Popen) -> subprocess.CompletedProcess:
    """Run terraform; on Ctrl-C let it stop gracefully instead of killing it.

    Terraform gets the same SIGINT (same process group) and finishes the operation in flight,
    writes the state and releases the lock. subprocess.run would kill it after 0.25 s, which can
    lose state and leave the lock held. A second Ctrl-C while waiting kills it.
    """
    with popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        except KeyboardInterrupt:
            try:
                proc.wait()
            except KeyboardInterrupt:
                proc.kill()
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def _private(path: Path) -> None:
    if path.exists():
        os.chmod(path, 0o600)


def new_plan_file(state_dir: Path) -> Path:
    """A fresh plan file path in a private (0700) directory, pre-created with mode 0600."""
    state_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_plans(state_dir)
    directory = Path(tempfile.mkdtemp(prefix="plan-", dir=state_dir))
    path = directory / "tfplan"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    os.close(fd)
    return path


def _remove_stale_plans(state_dir: Path, max_age: float = 86400.0) -> None:
    """Plan files a killed run left behind (older than a day): they may hold sensitive values."""
    import time

    for directory in state_dir.glob("plan-*"):
        try:
            if time.time() - directory.stat().st_mtime > max_age:
                shutil.rmtree(directory, ignore_errors=True)
        except OSError:
            continue


def remove_plan_file(path: str | Path | None) -> None:
    if not path:
        return
    path = Path(path)
    path.unlink(missing_ok=True)
    if path.parent.name.startswith("plan-"):
        shutil.rmtree(path.parent, ignore_errors=True)


def save_outputs(state_dir: Path, outputs: dict[str, Any]) -> Path:
    """Write ``terraform output -json`` to ``.tars/<env>/outputs.json`` (what Settings reads)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    target = state_dir / "outputs.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(target)
    return target
