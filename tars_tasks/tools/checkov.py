"""checkov, the Terraform security linter, run offline from its own venv.

checkov pins a dependency tree of its own, so it lives in ``.venv-checkov`` (``make
.venv-checkov``), never in the tool's venv. It runs with ``--skip-download`` and
CKV_SKIP_PACKAGE_UPDATE_CHECK=true: no network, and the result does not depend on a platform
account. Skips are ``#checkov:skip=CKV_...:reason`` comments next to the resource.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, StepFailed

TOOL_ROOT = Path(__file__).resolve().parent.parent.parent
INSTALL_HINT = "run make .venv-checkov (or make setup), or set TARS_CHECKOV_BIN to a checkov program"


def find_program(settings) -> str:
    if settings.checkov_bin:
        found = shutil.which(settings.checkov_bin)
        if not found:
            raise ConfigError(f"TARS_CHECKOV_BIN={settings.checkov_bin} is not an executable program", INSTALL_HINT)
        return found
    for candidate in (settings.root / ".venv-checkov" / "bin" / "checkov",
                      TOOL_ROOT / ".venv-checkov" / "bin" / "checkov"):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("checkov")
    if found:
        return found
    raise ConfigError("checkov is not installed", INSTALL_HINT)


@dataclass(frozen=True)
class Result:
    passed: int
    failed: int
    skipped: int
    parsing_errors: int
    version: str | None
    failures: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "failed": self.failed, "skipped": self.skipped,
                "parsing_errors": self.parsing_errors, "checkov_version": self.version,
                "failures": list(self.failures)}


def parse(stdout: str) -> Result:
    """checkov's ``-o json`` report: one object per framework (a list when several ran).

    With ``--quiet`` the report lists failed checks only; passed and skipped are counted in the
    summary (the skip reasons are in the .tf files, checked by tests/unit/test_infra_checkov.py).
    """
    try:
        data = json.loads(stdout)
    except ValueError as exc:
        raise StepFailed(f"checkov printed no JSON report ({exc}): {stdout.strip()[:200]}",
                         "run it by hand: checkov -d infrastructure --skip-download") from None
    reports = data if isinstance(data, list) else [data]
    passed = failed = skipped = errors = 0
    version = None
    failures: list[str] = []
    for report in reports:
        summary = report.get("summary") or report  # an empty run prints only the summary
        passed += int(summary.get("passed", 0))
        failed += int(summary.get("failed", 0))
        skipped += int(summary.get("skipped", 0))
        errors += int(summary.get("parsing_errors", 0))
        version = summary.get("checkov_version") or version
        results = report.get("results") or {}
        for check in results.get("failed_checks") or []:
            lines = check.get("file_line_range") or ["?"]
            failures.append(f"{check.get('check_id')} {check.get('resource')} "
                            f"({check.get('file_path', '?').lstrip('/')}:{lines[0]}): {check.get('check_name')}")
    return Result(passed, failed, skipped, errors, version, tuple(failures))


def run(program: str, directory: Path, timeout: float = 600) -> Result:
    from ..settings import plain_environment

    env = plain_environment()   # no AWS variable, no secret
    env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"
    env["BC_SKIP_MAPPING"] = "TRUE"
    args = [program, "-d", str(directory), "--framework", "terraform", "--skip-download",
            "--quiet", "--compact", "-o", "json"]
    try:
        result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    except FileNotFoundError:
        raise ConfigError(f"cannot run {program}", INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise StepFailed(f"checkov did not finish in {int(timeout)} s", "run it by hand to see where it hangs") from None
    if result.returncode not in (0, 1):  # 1 = some check failed; anything else is checkov itself failing
        raise StepFailed(f"checkov failed (exit {result.returncode}): {result.stderr.strip()[-300:]}",
                         "run it by hand: checkov -d infrastructure --skip-download")
    return parse(result.stdout)
