"""The emulator's Terraform work copy: ``infrastructure/`` plus the generated override, elsewhere.

Layout of ``directory`` (the local state directory's ``terraform/``, given by the caller)::

    config/            infrastructure/*.tf and its files, copied; zz_emulator_override.tf (generated)
    data/              TF_DATA_DIR (providers, backend settings)
    terraform.tfstate  the local backend's state (the override points the backend here)
    terraformrc        CLI configuration using the machine's provider mirror, when there is one

``prepare`` brings ``config/`` in line with ``infrastructure/`` (copying only what changed,
removing what is gone) and rewrites the override for the emulator's endpoint. Copies, not
symlinks: ``terraform init`` may rewrite the lock file, and nothing run in the work copy may
write into ``infrastructure/``. The real backend settings (``backend/``) are not copied: the
work copy can only reach the emulator.

Terraform runs with an explicit environment (:meth:`WorkCopy.environment`): every ``AWS_*``
variable of the caller removed (no profile, token or real key reaches the child), dummy
credentials, no shared config files, no instance metadata.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..errors import ConfigError
from . import tf_override

# Where machines of this kind keep a filesystem mirror of the providers (CI sets
# TARS_TERRAFORM_PLUGIN_DIR instead). Terraform's own implied mirror directories
# (~/.terraform.d/plugins, /usr/share/terraform/plugins ...) need no help.
MACHINE_MIRRORS = ("/opt/tf-plugins",)
SKIPPED = {".terraform", "backend"}
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def find_mirror(configured: str | None = None) -> Path | None:
    """The provider mirror to install from: ``configured`` (TARS_TERRAFORM_PLUGIN_DIR), else the
    machine's; None when there is none (terraform init then downloads as usual)."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_dir():
            raise ConfigError(f"TARS_TERRAFORM_PLUGIN_DIR={configured} is not a directory",
                              "point it at a provider mirror (terraform providers mirror DIR) or unset it")
        return path
    for candidate in MACHINE_MIRRORS:
        if mirrored_providers(Path(candidate)):
            return Path(candidate)
    return None


def mirrored_providers(mirror: Path) -> list[str]:
    """``host/namespace/type`` of every provider in a filesystem mirror (packed or unpacked)."""
    if not mirror.is_dir():
        return []
    found = []
    for host in sorted(p for p in mirror.iterdir() if p.is_dir() and "." in p.name):
        for namespace in sorted(p for p in host.iterdir() if p.is_dir()):
            found += [f"{host.name}/{namespace.name}/{t.name}" for t in sorted(namespace.iterdir()) if t.is_dir()]
    return found


def cli_config(mirror: Path) -> str:
    """A Terraform CLI configuration: the mirrored providers from the mirror, the others direct."""
    providers = mirrored_providers(mirror)
    if not providers:
        raise ConfigError(f"{mirror} holds no provider (expected <host>/<namespace>/<type>/...)",
                          "fill it with terraform providers mirror, or unset TARS_TERRAFORM_PLUGIN_DIR")
    listed = ", ".join(f'"{p}"' for p in providers)
    return ("disable_checkpoint = true\n\nprovider_installation {\n  filesystem_mirror {\n"
            f'    path    = "{mirror}"\n    include = [{listed}]\n  }}\n'
            f"  direct {{\n    exclude = [{listed}]\n  }}\n}}\n")


@dataclass(frozen=True)
class WorkCopy:
    directory: Path
    endpoint: str
    cli_config: Path | None = None

    @property
    def config_dir(self) -> Path:
        return self.directory / "config"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def state_path(self) -> Path:
        return self.directory / "terraform.tfstate"

    @property
    def override_path(self) -> Path:
        return self.config_dir / tf_override.FILE_NAME

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """terraform's environment: ``base`` (default: this process's) without any AWS_* variable,
        plus dummy credentials and the CLI configuration of the mirror."""
        env = {k: v for k, v in (os.environ if base is None else base).items()
               if not k.startswith("AWS_") and k not in ("TF_CLI_CONFIG_FILE", "TF_DATA_DIR")}
        env.update(DUMMY_CREDENTIALS)
        env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                    "AWS_EC2_METADATA_DISABLED": "true", "CHECKPOINT_DISABLE": "1"})
        if self.cli_config:
            env["TF_CLI_CONFIG_FILE"] = str(self.cli_config)
        return env

    def terraform(self, program: str, variables: Mapping[str, str] | None = None,
                  base_env: Mapping[str, str] | None = None):
        """The project's Terraform wrapper driving this work copy: ``init`` uses the backend the
        override declares (a local file beside the work copy), in the environment above."""
        from ..tools.terraform import Terraform

        return Terraform(program, self.config_dir, self.data_dir, env=self.environment(base_env),
                         backend=("-reconfigure",), variables=dict(variables or {}))

    def reset_state(self) -> None:
        """Forget every resource: the emulator that held them is gone (restarted or reset)."""
        for path in (self.state_path, self.state_path.with_name(self.state_path.name + ".backup")):
            path.unlink(missing_ok=True)
        (self.config_dir / ".terraform.tfstate.lock.info").unlink(missing_ok=True)


def _wanted(infra_dir: Path) -> dict[Path, Path]:
    """relative path in the work copy -> source file."""
    wanted = {}
    for root, dirs, files in os.walk(infra_dir):
        rel_root = Path(root).relative_to(infra_dir)
        dirs[:] = sorted(d for d in dirs if not (rel_root == Path(".") and d in SKIPPED) and d != ".terraform")
        for name in files:
            if name.endswith((".tfstate", ".tfstate.backup")) or name == tf_override.FILE_NAME:
                continue
            wanted[rel_root / name] = Path(root) / name
    return wanted


def _sync(infra_dir: Path, config_dir: Path) -> None:
    wanted = _wanted(infra_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    for rel, source in wanted.items():
        target = config_dir / rel
        data = source.read_bytes()
        if target.is_symlink() or not target.is_file() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            target.write_bytes(data)
    for root, dirs, files in os.walk(config_dir, topdown=False):
        rel_root = Path(root).relative_to(config_dir)
        if rel_root.parts[:1] == (".terraform",):
            continue
        for name in files:
            if rel_root / name not in wanted and name not in (tf_override.FILE_NAME, ".terraform.tfstate.lock.info"):
                (Path(root) / name).unlink()
        if root != str(config_dir) and not os.listdir(root):
            os.rmdir(root)


def prepare(infra_dir: Path, directory: Path, endpoint: str, *, mirror: Path | None = None,
            local_values: Mapping[str, str] | None = None) -> WorkCopy:
    """Bring the work copy under ``directory`` in line with ``infra_dir`` for the emulator at
    ``endpoint`` (``local_values``: locals the override restates, see tf_override.render). Cheap
    when nothing changed (reads, compares, writes nothing)."""
    if not infra_dir.is_dir():
        raise ConfigError(f"no Terraform configuration: {infra_dir} does not exist",
                          "run the task from the TARS checkout (or set TARS_ROOT to it)")
    directory.mkdir(parents=True, exist_ok=True)
    copy = WorkCopy(directory, endpoint, directory / "terraformrc" if mirror else None)
    _sync(infra_dir, copy.config_dir)
    try:
        text = tf_override.render(infra_dir, endpoint, os.path.relpath(copy.state_path, copy.config_dir),
                                  local_values=local_values)
    except ValueError as exc:
        raise ConfigError(f"cannot write the emulator override: {exc}",
                          "format infrastructure/ with terraform fmt, or update tars_tasks/local/tf_override.py")
    _write_if_changed(copy.override_path, text)
    if mirror:
        _write_if_changed(copy.cli_config, cli_config(mirror))
    elif (directory / "terraformrc").exists():
        (directory / "terraformrc").unlink()
    return copy


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)


def remove(directory: Path) -> None:
    """Delete the whole work copy (state included)."""
    shutil.rmtree(directory, ignore_errors=True)
