"""The triage UI builds with the real npm and Vite: hashed assets, an index.html that points at
them, the API endpoint baked in at build time, no source maps, and the same bytes twice.

Builds go to tmp dirs (`vite build --outDir`), so ui/dist is left alone. ui/node_modules is
installed with `npm ci` from the committed lock file when the install marker (the one `make setup`
and the deploy tasks share) does not match the lock.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

UI = ROOT / "ui"
ASSET_REF = re.compile(r'(?:src|href)="/(assets/[^"]+)"')
HASHED_NAME = re.compile(r"^assets/[A-Za-z0-9_.-]+-[A-Za-z0-9_-]{8}\.(js|css)$")


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not on PATH: the UI needs Node 20.19+ and npm (see README, `make setup`)")
    return npm


@pytest.fixture(scope="module")
def ui_installed():
    npm = _npm()
    from tars_tasks.artifacts import ui_bundle

    if ui_bundle.needs_install(UI):
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=UI, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, f"npm ci failed:\n{result.stderr[-3000:]}"
        ui_bundle.mark_installed(UI)
    return npm


def build(npm: str, out: Path, api_endpoint: str | None = None) -> Path:
    env = {k: v for k, v in os.environ.items() if k != "VITE_API_ENDPOINT"}
    if api_endpoint is not None:
        env["VITE_API_ENDPOINT"] = api_endpoint
    result = subprocess.run(
        [npm, "run", "build", "--", "--outDir", str(out), "--emptyOutDir"],
        cwd=UI,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"npm run build failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return out


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_build_gives_index_html_pointing_at_existing_hashed_assets(ui_installed, tmp_path):
    out = tmp_path / "dist"
    build(ui_installed, out)

    index = (out / "index.html").read_text()
    refs = ASSET_REF.findall(index)
    assert any(r.endswith(".js") for r in refs), index
    assert any(r.endswith(".css") for r in refs), index
    for ref in refs:
        assert HASHED_NAME.match(ref), f"{ref} is not Vite's hashed assets/<name>-<hash>.<ext>"
        assert (out / ref).is_file(), f"index.html references {ref}, which the build did not write"

    built = files_under(out)
    assert set(built) == {"index.html", *refs}, "every built file is index.html or referenced by it"
    assert not [name for name in built if name.endswith(".map")], "no source maps by default"
    bundle = sum(len(built[r]) for r in refs)
    assert bundle < 400_000, f"UI bundle grew to {bundle} bytes (React only, plain CSS)"
    # Without VITE_API_ENDPOINT the client talks to this site's own /api.
    js = b"".join(built[r] for r in refs if r.endswith(".js")).decode()
    assert re.search(r"[`\"']/api[`\"']", js), "the default API base /api is not in the bundle"


def test_api_endpoint_is_baked_in_and_builds_are_reproducible(ui_installed, tmp_path):
    endpoint = "https://abc123example.lambda-url.us-east-1.on.aws/"
    first = files_under(build(ui_installed, tmp_path / "a", endpoint))
    second = files_under(build(ui_installed, tmp_path / "b", endpoint))
    other = files_under(build(ui_installed, tmp_path / "c", "https://other.example.com/api"))

    js = [name for name in first if name.endswith(".js")]
    assert len(js) == 1
    assert endpoint.encode() in first[js[0]]
    # Same source, same endpoint: same names, same bytes (the deploy can tell "unchanged").
    assert first == second
    # Another endpoint changes the JS bundle's hashed name, so caches never serve a stale one.
    assert set(first) != set(other)
    assert [n for n in first if n.endswith(".css")] == [n for n in other if n.endswith(".css")]
