"""inv local.up refuses malformed settings before it starts anything (exit 2, one line)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from invoke import Context
from invoke.exceptions import Exit

from tars_tasks.local import emulator
from tars_tasks.tasks import local as local_tasks

ROOT = Path(__file__).resolve().parents[2]


def test_a_malformed_warm_pool_size_is_refused_before_the_emulator_starts(tmp_path, monkeypatch, capsys):
    shutil.copy(ROOT / "invoke.yaml", tmp_path / "invoke.yaml")
    monkeypatch.setenv("TARS_ROOT", str(tmp_path))
    monkeypatch.setenv("TARS_WARM_POOL_SIZE", "0")
    started = []
    monkeypatch.setattr(emulator, "up", lambda settings: started.append(settings) or (_ for _ in ()).throw(
        AssertionError("the emulator was started")))
    with pytest.raises(Exit) as err:
        local_tasks.up.body(Context(), env=None)
    assert err.value.code == 2
    assert "bad setting: TARS_WARM_POOL_SIZE='0' must be at least 1" in capsys.readouterr().err
    assert started == []
