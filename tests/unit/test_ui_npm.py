"""Building the UI with real npm on a fixture project: npm ci only when the lock changed."""
from __future__ import annotations

import json

import pytest

from tars_tasks.artifacts import ui_bundle
from tars_tasks.errors import ConfigError, StepFailed
from tars_tasks.settings import Settings
from tests.support.npm_project import write_project



def _settings(root, **environ):
    return Settings.load(None, root=root, environ={"VITE_API_ENDPOINT": "https://api.example.test", **environ})


def test_build_passes_the_api_endpoint_in_the_environment_and_writes_no_env_file(tmp_path):
    ui = write_project(tmp_path / "ui")
    dist = ui_bundle.build(_settings(tmp_path))
    assert (dist / "index.html").read_text() == "<!doctype html><p>api=https://api.example.test</p>"
    assert not (ui / ".env.production").exists() and not list(ui.glob(".env*"))
    flag = ui_bundle.build(_settings(tmp_path), api_endpoint="https://flag.example.test")
    assert "api=https://flag.example.test" in (flag / "index.html").read_text()


def test_npm_ci_runs_only_when_package_lock_changed(tmp_path):
    ui = write_project(tmp_path / "ui")
    steps = []
    ui_bundle.build(_settings(tmp_path), on_step=steps.append)
    sentinel = ui / "node_modules" / "sentinel"
    sentinel.parent.mkdir(exist_ok=True)
    sentinel.write_text("npm ci would remove me")
    ui_bundle.build(_settings(tmp_path), on_step=steps.append)
    assert sentinel.exists()  # no npm ci the second time
    lock = json.loads((ui / "package-lock.json").read_text())
    lock["version"] = lock["packages"][""]["version"] = "1.0.1"
    (ui / "package-lock.json").write_text(json.dumps(lock))
    ui_bundle.build(_settings(tmp_path), on_step=steps.append)
    assert not sentinel.exists()  # the lock changed: clean install
    assert [s.split(" (")[0] for s in steps if s.startswith("npm ci")] == ["npm ci", "npm ci skipped", "npm ci"]


def test_npm_run_build_runs_only_when_its_inputs_or_dist_changed(tmp_path):
    ui = write_project(tmp_path / "ui")
    steps = []

    def builds():
        ui_bundle.build(_settings(tmp_path), on_step=steps.append)
        return [s.split(" (")[0] for s in steps if s.startswith("npm run build")][-1]

    assert builds() == "npm run build"
    assert builds() == "npm run build skipped"                       # nothing changed: dist stands
    (ui / "src.js").write_text("export const x = 1\n")
    assert builds() == "npm run build"                               # a source file changed
    assert builds() == "npm run build skipped"
    steps.append(ui_bundle.build(_settings(tmp_path, VITE_API_ENDPOINT="https://other.test"),
                                 on_step=steps.append).name)
    assert "api=https://other.test" in (ui / "dist" / "index.html").read_text()   # the endpoint is an input
    (ui / "dist" / "index.html").write_text("edited by hand")
    assert builds() == "npm run build"                               # dist no longer what was built
    assert "api=https://api.example.test" in (ui / "dist" / "index.html").read_text()


def test_the_makefile_marker_is_the_one_the_build_reads(tmp_path):
    """`make setup` runs npm ci then `python -m tars_tasks.artifacts.ui_bundle --mark-installed ui`."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    ui = write_project(tmp_path / "ui")
    assert ui_bundle.needs_install(ui)
    makefile = (ROOT / "Makefile").read_text()
    assert "-m tars_tasks.artifacts.ui_bundle --mark-installed ui" in makefile
    subprocess.run([sys.executable, "-m", "tars_tasks.artifacts.ui_bundle", "--mark-installed", str(ui)],
                   cwd=ROOT, check=True)
    steps = []
    ui_bundle.build(_settings(tmp_path), on_step=steps.append)
    assert steps[0].startswith("npm ci skipped")


def test_a_failing_build_is_a_step_failure_with_its_output(tmp_path):
    write_project(tmp_path / "ui", build="node -e \"console.error('vite: syntax error in App.tsx');process.exit(3)\"")
    with pytest.raises(StepFailed, match="npm run build failed \\(exit 3\\)") as err:
        ui_bundle.build(_settings(tmp_path))
    assert any("syntax error in App.tsx" in line for line in err.value.details)


def test_a_build_without_index_html_is_refused(tmp_path):
    write_project(tmp_path / "ui", build="node -e \"require('fs').mkdirSync('dist',{recursive:true})\"")
    with pytest.raises(StepFailed, match="wrote no .*index.html"):
        ui_bundle.build(_settings(tmp_path))


def test_npm_missing_is_a_config_error(tmp_path, monkeypatch):
    write_project(tmp_path / "ui")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="npm is not installed"):
        ui_bundle.build(_settings(tmp_path))


def test_no_api_endpoint_is_a_config_error(tmp_path):
    write_project(tmp_path / "ui")
    settings = Settings.load(None, root=tmp_path, environ={})
    with pytest.raises(ConfigError, match="vite_api_endpoint"):
        ui_bundle.build(settings)
