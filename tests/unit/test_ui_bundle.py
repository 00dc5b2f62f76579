"""Header rules and the dist scan."""
from __future__ import annotations

import pytest

from tars_tasks.artifacts import ui_bundle
from tars_tasks.errors import StepFailed, UsageError
from bench.scenarios.ui_site import write_dist


@pytest.mark.parametrize("key,content_type", [
    ("index.html", "text/html; charset=utf-8"),
    ("assets/index-BkD3xZ9a.js", "text/javascript; charset=utf-8"),
    ("assets/chunk-BkD3xZ9a.mjs", "text/javascript; charset=utf-8"),
    ("assets/index-BkD3xZ9a.css", "text/css; charset=utf-8"),
    ("logo.svg", "image/svg+xml"),
    ("config.json", "application/json"),
    ("manifest.webmanifest", "application/manifest+json"),
    ("assets/inter-BkD3xZ9a.woff2", "font/woff2"),
    ("assets/x-BkD3xZ9a.wasm", "application/wasm"),
    ("assets/index-BkD3xZ9a.js.map", "application/json"),
    ("photo.PNG", "image/png"),
    ("blob.unknownext", "application/octet-stream"),
])
def test_content_type_by_extension(key, content_type):
    assert ui_bundle.content_type(key) == content_type


@pytest.mark.parametrize("key,hashed", [
    ("assets/index-BkD3xZ9a.js", True),
    ("assets/index-a1b2c3d4.css", True),         # older Vite: hex hashes
    ("assets/vendor/react-Dx_9-aQ1.js", True),
    ("assets/index-BkD3xZ9a.js.map", True),
    ("assets/my-component.js", False),             # a word, not a hash
    ("assets/logo.svg", False),
    ("index-BkD3xZ9a.js", False),                  # hashed name outside assets/
    ("index.html", False),
])
def test_hashed_assets_are_immutable_everything_else_revalidates(key, hashed):
    assert ui_bundle.is_hashed_asset(key) is hashed
    assert ui_bundle.cache_control(key) == (ui_bundle.IMMUTABLE if hashed else ui_bundle.REVALIDATE)


def test_scan_hashes_and_leaves_source_maps_out_unless_asked(tmp_path):
    keys = write_dist(tmp_path)
    bundle = ui_bundle.scan(tmp_path)
    assert keys["map"] in bundle.excluded and keys["map"] not in bundle.by_key()
    js = bundle.by_key()[keys["js"]]
    import hashlib

    data = (tmp_path / keys["js"]).read_bytes()
    assert (js.md5, js.sha256, js.size) == (hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest(), len(data))
    assert keys["map"] in ui_bundle.scan(tmp_path, sourcemaps=True).by_key()


def test_scan_refuses_a_dist_without_index_html_or_with_reserved_keys(tmp_path):
    (tmp_path / "app.js").write_text("x")
    with pytest.raises(StepFailed, match="no index.html"):
        ui_bundle.scan(tmp_path)
    (tmp_path / "index.html").write_text("x")
    (tmp_path / "_releases").mkdir()
    (tmp_path / "_releases" / "a.json").write_text("{}")
    with pytest.raises(UsageError, match="reserved"):
        ui_bundle.scan(tmp_path)


def test_scan_leaves_secret_named_files_out_of_the_bundle(tmp_path):
    keys = write_dist(tmp_path)
    for name in (".env", ".env.local", "server.pem", "tls.key"):
        (tmp_path / name).write_text("X=1\n")
    bundle = ui_bundle.scan(tmp_path)
    assert {".env", ".env.local", "server.pem", "tls.key"} <= set(bundle.excluded)
    assert not {".env", ".env.local", "server.pem", "tls.key"} & set(bundle.by_key())
    assert keys["js"] in bundle.by_key()


@pytest.mark.parametrize("content", ['const k="AKIAABCDEFGHIJKLMNOP";', 'const k="ASIAABCDEFGHIJKLMNOP";',
                                     "aws_secret_access_key = abc"])
def test_scan_refuses_a_bundle_file_holding_a_key(tmp_path, content):
    from tars_tasks.errors import Refused

    write_dist(tmp_path)
    (tmp_path / "assets" / "config-Ab12Cd34.js").write_text(content)
    with pytest.raises(Refused) as err:
        ui_bundle.scan(tmp_path)
    assert "dist/assets/config-Ab12Cd34.js" in err.value.message and err.value.exit_code == 3


def test_scan_refuses_a_link_out_of_dist(tmp_path):
    from tars_tasks.errors import ConfigError

    dist = tmp_path / "dist"
    dist.mkdir()
    write_dist(dist)
    (tmp_path / "secret.txt").write_text("private\n")
    (dist / "notes.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ConfigError) as err:
        ui_bundle.scan(dist)
    assert "dist/notes.txt" in err.value.message and "outside" in err.value.message


def test_scan_names_a_file_it_cannot_read(tmp_path, monkeypatch):
    from pathlib import Path

    from tars_tasks.errors import ConfigError

    keys = write_dist(tmp_path)
    unreadable = tmp_path / keys["js"]
    real_open = Path.open

    def refusing_open(self, *args, **kwargs):
        if self == unreadable:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing_open)
    with pytest.raises(ConfigError) as err:
        ui_bundle.scan(tmp_path)
    assert "cannot read" in err.value.message and keys["js"] in err.value.message
