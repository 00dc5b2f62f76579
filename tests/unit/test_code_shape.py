"""Standing checks on the shape of tars_tasks/ (measured from the source by bench/code_shape.py;
bench/code_shape.py prints the same numbers as a table)."""
from __future__ import annotations

from bench import code_shape


def test_no_import_cycle_inside_tars_tasks():
    graph = code_shape.imports(code_shape.sources())
    assert code_shape.cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    # the check above can fail: a two-module cycle and a longer one are both reported
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert code_shape.cycles(graph) == [["a", "b"], ["c", "d", "e"]]


def test_the_target_is_decided_once():
    """No `is_local` and no `local or None` in tars_tasks/: settings.target says what differs."""
    shape = code_shape.measure()
    assert shape.words["is_local"] == 0 and shape.words["local or None"] == 0


def test_aws_calls_go_through_aws():
    """Every boto3 call is in tars_tasks/aws/ (the run's clients are made in aws/clients.py). The
    local bootstrap (tars_tasks/local/bootstrap*.py) is the one exception left: issue 13 replaces
    it with the real Terraform applied to the emulator."""
    shape = code_shape.measure()
    outside = [call for call in shape.raw_calls if not call.startswith("tars_tasks/local/bootstrap")]
    assert outside == []
