"""A tiny npm project whose build is a node one-liner writing dist/ (no registry needed)."""
from __future__ import annotations

import json
from pathlib import Path

BUILD_WRITES_DIST = (
    "node -e \"const fs=require('fs');fs.mkdirSync('dist/assets',{recursive:true});"
    "fs.writeFileSync('dist/index.html','<!doctype html><p>api='+process.env.VITE_API_ENDPOINT+'</p>');"
    "fs.writeFileSync('dist/assets/index-BkD3xZ9a.js','console.log(1)')\""
)


def write_project(ui_dir: Path, build: str = BUILD_WRITES_DIST) -> Path:
    ui_dir.mkdir(parents=True, exist_ok=True)
    (ui_dir / "package.json").write_text(json.dumps(
        {"name": "tars-ui-fixture", "version": "1.0.0", "private": True, "scripts": {"build": build}}))
    (ui_dir / "package-lock.json").write_text(json.dumps(
        {"name": "tars-ui-fixture", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
         "packages": {"": {"name": "tars-ui-fixture", "version": "1.0.0"}}}))
    return ui_dir
