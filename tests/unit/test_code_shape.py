"""Standing checks on the shape of tars_tasks/ (measured from the source by bench/code_shape.py;
bench/code_shape.py prints the same numbers as a table), and on bench/'s imports."""
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
    """Every boto3 call is in tars_tasks/aws/ (the run's clients are made in aws/clients.py); the
    local infrastructure is Terraform's, so no exception is left."""
    assert code_shape.measure().raw_calls == []


def test_bench_imports_no_test_module():
    """bench/ imports what it shares with the tests from bench/scenarios, never a module of tests/."""
    assert code_shape.bench_test_imports() == []


def test_the_bench_import_check_finds_test_imports():
    # the check above can fail: every way of importing a test module is reported, other imports are not
    source = ("import tests.support.handler\n"
              "from tests.faults import x\n"
              "def f():\n"
              "    from tests import conftest\n"
              "    import importlib\n"
              "    importlib.import_module('tests.support.sshd')\n"
              "from bench.scenarios import clone\n"
              "from . import tests\n"
              "import testsuite\n")
    assert code_shape.test_imports(source, "bench/x.py") == [
        "bench/x.py:1 tests.support.handler", "bench/x.py:2 tests.faults", "bench/x.py:4 tests",
        "bench/x.py:6 tests.support.sshd"]
