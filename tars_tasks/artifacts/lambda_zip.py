"""The Lambda artifact: ``lambda_src/`` + its dependencies -> a deterministic ``dist/lambda.zip``.

- Dependencies from ``lambda_src/requirements.txt`` are installed for the Lambda platform
  (manylinux2014_x86_64, CPython 3.11, binary wheels only) into ``.tars/cache/deps-<key>/``,
  keyed by the requirements' text and the platform: a second build runs no pip at all. With a
  builder (``user@host[:port]``) they are installed remotely (tools.remote) and unpacked there.
- The zip is deterministic: sorted entries, 1980-01-01 timestamps, 0644/0755 permissions.
  ``build_info.json`` (the last commit touching lambda_src, ``-dirty`` when it has uncommitted
  changes) is written into the zip, never into lambda_src.
- Secret-looking files are reported and never packed; a source file holding a key is refused.
- The handler must import from the extracted zip in a fresh interpreter.
- Warm path: the inputs are hashed; when nothing changed the previous zip is reused as is.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Callable

from ..errors import ConfigError, Refused, StepFailed
from . import secrets as secrets_
from .lambda_deps import COMPLETE_MARKER, check_builder, dependency_key, ensure_dependencies

DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024      # bytes, zipped: above this the zip goes through S3
UNZIPPED_LIMIT = 262_144_000                # bytes, Lambda's hard limit
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
LAYOUT = "2"                                # bump when the zip layout changes
SOURCE_DIR = "lambda_src"
HANDLER_MODULE = "handler"
BUILD_INFO = "build_info.json"
EXCLUDED_DIRS = {"__pycache__", ".git", "tests", "test", ".pytest_cache", ".mypy_cache"}
EXCLUDED_FILES = ("*.pyc", "*.pyo", "test_*.py", "*_test.py", "conftest.py", ".DS_Store", BUILD_INFO)
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256_b64: str          # as Lambda reports CodeSha256
    size: int
    unzipped_size: int
    file_count: int
    commit: str = "unknown"
    skipped_secrets: tuple[str, ...] = ()
    reused: bool = False
    dependencies: str = "none"   # how they were obtained: none, cache, pip, builder

    @property
    def needs_s3(self) -> bool:
        return self.size > DIRECT_UPLOAD_LIMIT

    def as_dict(self) -> dict:
        data = asdict(self)
        data["path"] = str(self.path)
        data["needs_s3"] = self.needs_s3
        return data


# ------------------------------------------------------------------ inputs

def collect_sources(src: Path) -> tuple[list[Path], list[str]]:
    """(files to pack, secret-looking files skipped), relative to ``src``, sorted."""
    files, secrets = [], []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
        for name in dirnames:
            rel = Path(dirpath, name).relative_to(src)
            secrets_.refuse_link_out(src, src / rel, f"{SOURCE_DIR}/{rel.as_posix()}")
        for name in sorted(filenames):
            rel = Path(dirpath, name).relative_to(src)
            secrets_.refuse_link_out(src, src / rel, f"{SOURCE_DIR}/{rel.as_posix()}")
            if secrets_.is_secret_name(name):
                secrets.append(rel.as_posix())
            elif not any(fnmatch(name, pattern) for pattern in EXCLUDED_FILES):
                files.append(rel)
    return files, secrets


def refuse_secret_content(src: Path, files: list[Path]) -> None:
    """Every packed file is scanned whole (no size cut-off): Refused on the first secret-looking one."""
    for rel in files:
        secrets_.refuse_secret_content(src / rel, f"{SOURCE_DIR}/{rel.as_posix()}")


def source_commit(root: Path) -> str:
    """``git log -1 --format=%h --abbrev=12 -- lambda_src`` plus ``-dirty``; 'unknown' outside a repository."""
    from ..tools import git

    commit = git.short_commit_touching(root, SOURCE_DIR)   # None outside a repository
    if commit is None:
        return "unknown"
    return f"{commit}-dirty" if git.is_dirty(root, (SOURCE_DIR,)) else commit


def fingerprint(src: Path, files: list[Path], deps_key: str, info: bytes) -> str:
    h = hashlib.sha256(f"{LAYOUT}\0{deps_key}\0".encode() + info)
    for rel in files:
        path = src / rel
        h.update(f"\0{rel.as_posix()}\0{_mode(path):o}\0".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _mode(path: Path) -> int:
    return 0o755 if path.stat().st_mode & 0o111 else 0o644


def largest_packages(deps_dir: Path, src: Path, files: list[Path], count: int = 3) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {SOURCE_DIR: sum((src / rel).stat().st_size for rel in files)}
    if deps_dir.is_dir():
        for entry in deps_dir.iterdir():
            if entry.name.endswith(".dist-info") or entry.name == COMPLETE_MARKER:
                continue
            name = entry.name[:-5] if entry.name.endswith(".libs") else entry.name.removesuffix(".py")
            total = entry.stat().st_size if entry.is_file() else sum(
                p.stat().st_size for p in entry.rglob("*") if p.is_file())
            sizes[name] = sizes.get(name, 0) + total
    return sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:count]


# ------------------------------------------------------------------ the zip

def gather_entries(deps_dir: Path, src: Path, files: list[Path]) -> dict[str, Path]:
    """{arcname: file}; lambda_src wins over a dependency of the same name."""
    entries: dict[str, Path] = {}
    if deps_dir.is_dir():
        for path in deps_dir.rglob("*"):
            rel = path.relative_to(deps_dir)
            if (path.is_file() and rel.as_posix() != COMPLETE_MARKER and path.suffix not in (".pyc", ".pyo")
                    and "__pycache__" not in rel.parts):
                entries[rel.as_posix()] = path
    for rel in files:
        entries[rel.as_posix()] = src / rel
    return entries


def write_zip(target: Path, entries: dict[str, Path], extra: dict[str, bytes]) -> None:
    # a private temp name: two builds of one checkout (two deploys racing for the lock) must not
    # write the same file; the deterministic bytes make whichever rename lands last identical
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for name in sorted(set(entries) | set(extra)):
                info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
                info.create_system = 3
                info.compress_type = zipfile.ZIP_DEFLATED
                if name in extra:
                    data, mode = extra[name], 0o644
                else:
                    data, mode = entries[name].read_bytes(), _mode(entries[name])
                info.external_attr = (stat.S_IFREG | mode) << 16
                zf.writestr(info, data, compresslevel=6)
        os.chmod(tmp, 0o644)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)


def import_check(zip_path: Path, region: str) -> None:
    """Import the handler from the extracted zip in a fresh interpreter (no site-packages;
    only what the Lambda runtime itself provides: boto3 and its dependencies)."""
    import importlib.util

    with tempfile.TemporaryDirectory(prefix="tars-import-check-") as tmp:
        package, runtime = Path(tmp, "package"), Path(tmp, "runtime")
        runtime.mkdir()
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(package)
        for name in RUNTIME_PROVIDED:
            spec = importlib.util.find_spec(name)
            if spec and spec.submodule_search_locations:
                (runtime / name).symlink_to(list(spec.submodule_search_locations)[0])
            elif spec and spec.origin:
                (runtime / Path(spec.origin).name).symlink_to(spec.origin)
        code = ("import sys; sys.path[:0] = sys.argv[1:3]; import importlib; "
                f"m = importlib.import_module('{HANDLER_MODULE}'); "
                "assert callable(getattr(m, 'lambda_handler', None)), 'handler.lambda_handler is not a function'")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_REGION": region,
               "AWS_DEFAULT_REGION": region, "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
        result = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(package), str(runtime)],
                                cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise StepFailed(f"import check failed: {HANDLER_MODULE}.py does not import from the zip: "
                         f"{lines[-1] if lines else 'exit ' + str(result.returncode)}",
                         f"add the missing package to {SOURCE_DIR}/requirements.txt (boto3 is provided by Lambda)")


def sha256_b64(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return base64.b64encode(h.digest()).decode()


# ------------------------------------------------------------------ the build

def build(settings, *, builder: str | None = None, report: Callable[[str], None] = lambda line: None) -> Artifact:
    """Build (or reuse) ``dist/lambda.zip``, one build at a time per checkout (environments deployed
    in parallel share it: the second reuses the first's zip). Raises ConfigError/Refused/StepFailed."""
    from ..lock import one_at_a_time

    with one_at_a_time(settings.dist_dir / ".lambda-build.lock"):
        return _build(settings, builder=builder, report=report)


def _build(settings, *, builder: str | None, report: Callable[[str], None]) -> Artifact:
    builder = builder or getattr(settings, "builder", None)
    check_builder(builder)
    src = settings.root / SOURCE_DIR
    if not (src / f"{HANDLER_MODULE}.py").is_file():
        raise ConfigError(f"{src / (HANDLER_MODULE + '.py')} not found",
                          "run inv from the project root (or point TARS_ROOT at it)")
    files, secrets = collect_sources(src)
    refuse_secret_content(src, files)
    requirements_file = src / "requirements.txt"
    requirements = requirements_file.read_text() if requirements_file.is_file() else ""
    deps_key = dependency_key(requirements)
    deps_dir = settings.cache_dir / f"deps-{deps_key}"
    commit = source_commit(settings.root)
    info = (json.dumps({"commit": commit}, sort_keys=True) + "\n").encode()
    inputs = fingerprint(src, files, deps_key, info)
    zip_path = settings.dist_dir / "lambda.zip"
    record_path = settings.dist_dir / "lambda.build.json"

    previous = _reusable(record_path, zip_path, inputs)
    if previous is not None:
        return Artifact(path=zip_path, commit=commit, skipped_secrets=tuple(secrets), reused=True,
                        dependencies="cache", **previous)

    report(f"dependencies: {deps_dir.name}")
    how = ensure_dependencies(deps_dir, requirements_file, requirements, builder)
    entries = gather_entries(deps_dir, src, files)
    unzipped = sum(p.stat().st_size for p in entries.values()) + len(info)
    if unzipped > UNZIPPED_LIMIT:
        top = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in largest_packages(deps_dir, src, files))
        raise Refused(f"the package would be {unzipped:,} bytes unzipped, over Lambda's {UNZIPPED_LIMIT:,}; "
                      f"largest: {top}", "drop or slim those dependencies (or move them to a layer or a container image)")
    settings.dist_dir.mkdir(parents=True, exist_ok=True)
    record_path.unlink(missing_ok=True)
    write_zip(zip_path, entries, {BUILD_INFO: info})
    try:
        import_check(zip_path, settings.region)
    except StepFailed:
        zip_path.unlink(missing_ok=True)   # a broken zip must not be deployable
        raise
    fields = {"sha256_b64": sha256_b64(zip_path), "size": zip_path.stat().st_size,
              "unzipped_size": unzipped, "file_count": len(entries) + 1}
    record_path.write_text(json.dumps({"inputs": inputs, **fields}, indent=2, sort_keys=True) + "\n")
    return Artifact(path=zip_path, commit=commit, skipped_secrets=tuple(secrets), dependencies=how, **fields)


def _reusable(record_path: Path, zip_path: Path, inputs: str) -> dict | None:
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return None
    if record.get("inputs") != inputs or not zip_path.is_file():
        return None
    if zip_path.stat().st_size != record.get("size") or sha256_b64(zip_path) != record.get("sha256_b64"):
        return None
    return {k: record[k] for k in ("sha256_b64", "size", "unzipped_size", "file_count")}
