"""Standing checks on the shape of tars_tasks/ (measured from the source by tests/support/code_shape.py;
bench/code_shape.py prints the same numbers as a table)."""
from __future__ import annotations

from tests.support import code_shape


def test_no_import_cycle_inside_tars_tasks():
    graph = code_shape.imports(code_shape.sources())
    assert code_shape.cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    # the check above can fail: a two-module cycle and a longer one are both reported
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert code_shape.cycles(graph) == [["a", "b"], ["c", "d", "e"]]
