"""inv build's engine: deterministic zip, exclusions, secrets, dependency cache, import check, limits."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import types
import zipfile
from pathlib import Path

import pytest

from tars_tasks.artifacts import lambda_deps, lambda_zip
from tars_tasks.errors import Refused, StepFailed
from tars_tasks.settings import Settings


def settings_for(root: Path, **environ) -> Settings:
    return Settings.load(None, root=root, environ=environ)


@pytest.fixture
def own_cache(project):
    """A project whose dependency cache is private (not shared with the other tests)."""
    (project / ".tars" / "cache").unlink()
    (project / ".tars" / "cache").mkdir()
    return project


def make_wheel(where: Path, name: str = "tinypkg", version: str = "1.0") -> Path:
    """A real (pure-Python) wheel, so pip installs offline with --no-index --find-links."""
    files = {f"{name}/__init__.py": "VALUE = 42\n",
             f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join(record) + "\n"
    where.mkdir(parents=True, exist_ok=True)
    wheel = where / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


def force_rebuild(root: Path) -> None:
    (root / "dist" / "lambda.build.json").unlink()


def test_same_sources_give_the_same_bytes(project, tmp_path):
    first = lambda_zip.build(settings_for(project))
    data = first.path.read_bytes()
    force_rebuild(project)
    second = lambda_zip.build(settings_for(project))
    assert not second.reused and second.path.read_bytes() == data
    assert first.sha256_b64 == second.sha256_b64 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    with zipfile.ZipFile(first.path) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
    # two modes only: 0644, and 0755 where the source was executable (the handler's own files are
    # not; the crypto wheels' shared objects are, as pip installs them)
    assert set(modes.values()) <= {0o644, 0o755}
    assert {modes[n] for n in modes if n.endswith(".py") and "/" not in n} == {0o644}
    assert all(modes[n] == 0o755 for n in modes if n.endswith(".so"))
    assert first.file_count == len(infos) and first.size == len(data)
    assert first.unzipped_size == sum(i.file_size for i in infos)


def test_changing_one_file_changes_the_hash_and_exec_bit_is_0755(project):
    before = lambda_zip.build(settings_for(project))
    script = project / "lambda_src" / "tool.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o700)
    after = lambda_zip.build(settings_for(project))
    assert after.sha256_b64 != before.sha256_b64 and not after.reused
    with zipfile.ZipFile(after.path) as zf:
        assert (zf.getinfo("tool.sh").external_attr >> 16) & 0o777 == 0o755


def test_warm_build_reuses_the_zip_and_a_tampered_zip_is_rebuilt(project):
    first = lambda_zip.build(settings_for(project))
    mtime = first.path.stat().st_mtime_ns
    again = lambda_zip.build(settings_for(project))
    assert again.reused and again.sha256_b64 == first.sha256_b64 and first.path.stat().st_mtime_ns == mtime
    first.path.write_bytes(b"not a zip")
    rebuilt = lambda_zip.build(settings_for(project))
    assert not rebuilt.reused and rebuilt.path.read_bytes() != b"not a zip"
    assert rebuilt.sha256_b64 == first.sha256_b64


def test_secrets_and_junk_are_never_packed(project):
    src = project / "lambda_src"
    for name in (".env", ".env.prod", "server.pem", "deploy.key", "id_rsa"):
        (src / name).write_text("SECRET=1\n")
    (src / "tests").mkdir()
    (src / "tests" / "test_x.py").write_text("x = 1\n")
    (src / "__pycache__").mkdir(exist_ok=True)
    (src / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"junk")
    (src / "test_handler.py").write_text("x = 1\n")
    artifact = lambda_zip.build(settings_for(project))
    with zipfile.ZipFile(artifact.path) as zf:
        names = set(zf.namelist())
    assert {"build_info.json", "handler.py"} <= names
    for junk in (".env", ".env.prod", "server.pem", "deploy.key", "id_rsa", "tests/test_x.py", "test_handler.py"):
        assert junk not in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert set(artifact.skipped_secrets) == {".env", ".env.prod", "server.pem", "deploy.key", "id_rsa"}


def test_a_source_file_holding_a_key_is_refused(project):
    (project / "lambda_src" / "config.py").write_text('KEY = "AKIAABCDEFGHIJKLMNOP"\n')
    with pytest.raises(Refused) as err:
        lambda_zip.build(settings_for(project))
    assert "config.py" in err.value.message and err.value.exit_code == 3
    assert not (project / "dist" / "lambda.zip").exists()


def test_build_info_is_in_the_zip_not_in_lambda_src(project):
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run([*git, "-C", str(project), "add", "lambda_src"], check=True)
    subprocess.run([*git, "-C", str(project), "commit", "-qm", "src"], check=True)
    expected = subprocess.run(["git", "-C", str(project), "log", "-1", "--format=%h", "--abbrev=12", "--", "lambda_src"],
                              capture_output=True, text=True, check=True).stdout.strip()
    artifact = lambda_zip.build(settings_for(project))
    with zipfile.ZipFile(artifact.path) as zf:
        assert json.loads(zf.read("build_info.json")) == {"commit": expected}
        zf.extractall(project / "unpacked")
    assert not (project / "lambda_src" / "build_info.json").exists()
    health = subprocess.run(   # the packed handler's health action reports it
        [sys.executable, "-c", "import json, handler; "
         "print(handler.lambda_handler({'action': 'health'}, None)['body'])"],
        cwd=project / "unpacked", capture_output=True, text=True, env={"AWS_REGION": "us-east-1", "PATH": "/usr/bin:/bin"})
    assert json.loads(health.stdout)["commit"] == expected, health.stderr
    (project / "lambda_src" / "handler.py").write_text((project / "lambda_src" / "handler.py").read_text() + "\n# edit\n")
    dirty = lambda_zip.build(settings_for(project))
    with zipfile.ZipFile(dirty.path) as zf:
        assert json.loads(zf.read("build_info.json")) == {"commit": expected + "-dirty"}


def test_missing_dependency_fails_the_import_check(project):
    (project / "lambda_src" / "handler.py").write_text("import requests\n\ndef lambda_handler(e, c):\n    return {}\n")
    with pytest.raises(StepFailed) as err:
        lambda_zip.build(settings_for(project))
    assert "No module named 'requests'" in err.value.message   # requests sits in the venv, not in the zip
    assert not (project / "dist" / "lambda.zip").exists()


def test_boto3_counts_as_provided_by_the_runtime(project):
    handler = project / "lambda_src" / "handler.py"
    handler.write_text(handler.read_text() + "\nimport boto3  # noqa\n")
    artifact = lambda_zip.build(settings_for(project))   # the import check passes ...
    with zipfile.ZipFile(artifact.path) as zf:           # ... without boto3 in the zip
        assert not any(n.startswith(("boto3/", "botocore/")) for n in zf.namelist())


def test_dependencies_installed_once_then_served_from_the_cache(own_cache, tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    src = own_cache / "lambda_src"
    (src / "requirements.txt").write_text(f"--no-index\n--find-links {wheels}\ntinypkg==1.0\n")
    (src / "handler.py").write_text((src / "handler.py").read_text() + "\nimport tinypkg  # noqa\n")
    calls = []
    real = lambda_deps.run_pip
    monkeypatch.setattr(lambda_deps, "run_pip", lambda argv, cwd: calls.append(argv) or real(argv, cwd))
    first = lambda_zip.build(settings_for(own_cache))
    assert len(calls) == 1 and "manylinux2014_x86_64" in calls[0] and "--only-binary=:all:" in calls[0]
    assert first.dependencies == "pip"
    with zipfile.ZipFile(first.path) as zf:
        assert "tinypkg/__init__.py" in zf.namelist()
        assert not any(n.startswith(".tars") for n in zf.namelist())
    (src / "extra.py").write_text("X = 1\n")   # sources change, requirements do not
    second = lambda_zip.build(settings_for(own_cache))
    assert len(calls) == 1 and second.dependencies == "cache" and second.sha256_b64 != first.sha256_b64
    key = lambda_zip.dependency_key((src / "requirements.txt").read_text())
    assert (own_cache / ".tars" / "cache" / f"deps-{key}" / "tinypkg" / "__init__.py").is_file()


def test_pip_failure_is_one_clear_line(own_cache, tmp_path):
    (own_cache / "lambda_src" / "requirements.txt").write_text(f"--no-index\n--find-links {tmp_path}\nnosuchpkg==9\n")
    with pytest.raises(StepFailed) as err:
        lambda_zip.build(settings_for(own_cache))
    assert "nosuchpkg" in err.value.message and "manylinux2014_x86_64" in err.value.hint


def test_builder_output_is_unpacked_into_the_cache(own_cache, monkeypatch):
    """tools.remote.pip_install (Fabric, another module) is monkeypatched: it returns a tar.gz."""
    try:
        from tars_tasks.tools import remote
    except ImportError:
        remote = types.ModuleType("tars_tasks.tools.remote")
        monkeypatch.setitem(sys.modules, "tars_tasks.tools.remote", remote)
    received = []

    def fake_pip_install(builder, requirements_text, pip_args):
        received.append((builder, requirements_text, pip_args))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:   # as `tar -czf - -C site .` packs it
            root = tarfile.TarInfo(".")
            root.type = tarfile.DIRTYPE
            tar.addfile(root)
            data = b"VALUE = 7\n"
            info = tarfile.TarInfo("./remotepkg/__init__.py")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    monkeypatch.setattr(remote, "pip_install", fake_pip_install, raising=False)
    monkeypatch.setattr(lambda_deps, "run_pip", lambda *a: pytest.fail("pip must not run locally"))
    (own_cache / "lambda_src" / "requirements.txt").write_text("remotepkg==1.0\n")
    artifact = lambda_zip.build(settings_for(own_cache), builder="ci@127.0.0.1:2222")
    assert received[0][0] == "ci@127.0.0.1:2222" and received[0][1] == "remotepkg==1.0\n"
    assert "manylinux2014_x86_64" in received[0][2]
    with zipfile.ZipFile(artifact.path) as zf:
        assert zf.read("remotepkg/__init__.py") == b"VALUE = 7\n"
    force_rebuild(own_cache)
    lambda_zip.build(settings_for(own_cache), builder="ci@127.0.0.1:2222")
    assert len(received) == 1   # the cache serves the second build


def test_over_the_unzipped_limit_is_refused_naming_the_three_largest(own_cache):
    requirements = "big==1\n"
    (own_cache / "lambda_src" / "requirements.txt").write_text(requirements)
    deps = own_cache / ".tars" / "cache" / f"deps-{lambda_zip.dependency_key(requirements)}"
    for name, mb in (("numpy", 120), ("pandas", 90), ("scipy", 60), ("tiny", 1)):
        (deps / name).mkdir(parents=True)
        with open(deps / name / "blob.so", "wb") as f:
            f.truncate(mb * 1024 * 1024)     # sparse: costs no disk
    (deps / lambda_zip.COMPLETE_MARKER).write_text(requirements)
    with pytest.raises(Refused) as err:
        lambda_zip.build(settings_for(own_cache))
    message = err.value.message
    assert "262,144,000" in message and "numpy" in message and "pandas" in message and "scipy" in message
    assert "tiny" not in message
    assert not (own_cache / "dist" / "lambda.zip").exists()


@pytest.mark.parametrize("bad", ["build-host", "ci@", "ci@host:port", "ci@host;rm -rf /"])
def test_a_malformed_builder_is_usage_error(project, bad):
    from tars_tasks.errors import UsageError

    with pytest.raises(UsageError) as err:   # refused even when the cache would serve the build
        lambda_zip.build(settings_for(project), builder=bad)
    assert err.value.exit_code == 2 and "user@host[:port]" in err.value.message


@pytest.mark.parametrize("content", [
    'KEY = "ASIAABCDEFGHIJKLMNOP"\n',                                   # a temporary key id
    "[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n",        # a credentials-file line
])
def test_temporary_key_ids_and_credentials_lines_are_refused(project, content):
    (project / "lambda_src" / "settings.txt").write_text(content)
    with pytest.raises(Refused) as err:
        lambda_zip.build(settings_for(project))
    assert "settings.txt" in err.value.message and err.value.exit_code == 3
    assert not (project / "dist" / "lambda.zip").exists()


def test_a_key_deep_in_a_large_file_is_found(project):
    """No size cut-off: a 3 MB file with the key across a 1 MiB chunk boundary is still refused."""
    data = bytearray(b"x" * (3 * 1024 * 1024))
    key = b" AKIAABCDEFGHIJKLMNOP "
    data[(1 << 20) - 10:(1 << 20) - 10 + len(key)] = key
    (project / "lambda_src" / "model.bin").write_bytes(bytes(data))
    with pytest.raises(Refused) as err:
        lambda_zip.build(settings_for(project))
    assert "model.bin" in err.value.message


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_a_link_out_of_lambda_src_is_refused_with_its_path(project, tmp_path, kind):
    from tars_tasks.errors import ConfigError

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.txt").write_text("private\n")
    link = project / "lambda_src" / ("notes.txt" if kind == "file" else "shared")
    link.symlink_to(outside / "notes.txt" if kind == "file" else outside)
    with pytest.raises(ConfigError) as err:
        lambda_zip.build(settings_for(project))
    assert f"lambda_src/{link.name}" in err.value.message and "outside" in err.value.message
    assert not (project / "dist" / "lambda.zip").exists()


def test_a_link_inside_lambda_src_is_packed(project):
    (project / "lambda_src" / "alias.py").symlink_to(project / "lambda_src" / "handler.py")
    artifact = lambda_zip.build(settings_for(project))
    with zipfile.ZipFile(artifact.path) as zf:
        assert "alias.py" in zf.namelist()
