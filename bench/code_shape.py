"""The shape of ``tars_tasks/``, measured from its source (ast, no import of the package).

    .venv/bin/python bench/code_shape.py [--source DIR] [--details]

prints issue 12's before/after table (``--source`` measures another checkout, e.g. a worktree of
the commit before a change). The standing checks on the same numbers import this module:
tests/unit/test_code_shape.py (no import cycle, no AWS call outside ``aws/``).

* lines: every line of every ``.py`` file (what ``wc -l`` counts).
* the longest function: ``end_lineno - lineno + 1`` of every (async) function, nested ones too.
* words: occurrences of ``is_local``, ``local or None`` and ``dry_run`` in the source text.
* raw AWS calls outside ``aws/``: a method called on a boto3 client obtained outside
  ``tars_tasks/aws/``: ``client("x").api(...)`` or ``c = ...client("x"); c.api(...)``, and every
  ``boto3.client`` / ``boto3.session.Session`` / ``boto3.Session`` made outside ``aws/``.
* import cycles: the graph of ``tars_tasks`` modules importing each other (module-level and
  function-level imports alike, since lazy imports are imports too), its strongly connected
  components of more than one module (or a module importing itself).
"""
from __future__ import annotations

import argparse
import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "tars_tasks"
WORDS = ("is_local", "local or None", "dry_run", "getattr(", "hasattr(")
# Modules allowed to call boto3 clients outside aws/, each with the reason. Keep it short.
RAW_CALLS_ALLOWED: dict[str, str] = {}


@dataclass
class Shape:
    files: int = 0
    lines: int = 0
    longest: tuple[int, str] = (0, "")
    words: dict[str, int] = field(default_factory=dict)
    raw_calls: list[str] = field(default_factory=list)     # "path:line api"
    cycles: list[list[str]] = field(default_factory=list)
    longest_task: tuple[int, str] = (0, "")
    task_locks: list[str] = field(default_factory=list)     # tasks/ modules that call lock.hold themselves
    report_helpers: list[str] = field(default_factory=list)  # tasks/ functions that write a --json report for others

    def rows(self) -> list[tuple[str, str]]:
        return [("files in tars_tasks/", str(self.files)),
                ("lines of tars_tasks/ (wc -l)", str(self.lines)),
                ("longest function", f"{self.longest[0]} lines ({self.longest[1]})"),
                *((f"occurrences of `{w}`", str(n)) for w, n in self.words.items()),
                ("raw AWS calls outside aws/", str(len(self.raw_calls))),
                ("import cycles in tars_tasks", str(len(self.cycles))),
                ("longest task function (tasks/)", f"{self.longest_task[0]} lines ({self.longest_task[1]})"),
                ("tasks/ modules taking the deploy lock themselves", str(len(self.task_locks))),
                ("report helpers in tasks/ (a def other than a task calling write_report)",
                 str(len(self.report_helpers)))]


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """{module: the tars_tasks modules it imports}."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, path.name == "__init__.py", node)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.add(sub if sub in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _is_tests(module: str | None) -> bool:
    return bool(module) and (module == "tests" or module.startswith("tests."))


def test_imports(source: str, rel: str) -> list[str]:
    """``rel:line module`` for every import of the test package in ``source`` (module- or
    function-level, ``importlib.import_module("tests...")`` and ``__import__`` too): bench/ imports
    shared code from bench/scenarios, never a test module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module")))):
            names = [node.args[0].value]
        found += [f"{rel}:{node.lineno} {n}" for n in names if _is_tests(n)]
    return found


def bench_test_imports(root: Path = ROOT) -> list[str]:
    """Every import of a test module by a module under bench/."""
    return [hit for path in sorted((root / "bench").rglob("*.py"))
            for hit in test_imports(path.read_text(encoding="utf-8"), str(path.relative_to(root)))]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def _is_client_call(node: ast.AST) -> bool:
    """``client("x")``, ``session.client("x")``, ``anything.client("x")``, ``boto3.client(...)``, and
    the run's clients: ``clients("x")``, ``settings.clients("x")``."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name == "clients":
        return bool(node.args) and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    return name == "client"


def _is_boto3_entry(node: ast.Call) -> bool:
    text = ast.unparse(node.func)
    return text in ("boto3.client", "boto3.session.Session", "boto3.Session", "boto3.resource")


def raw_calls(path: Path, rel: str) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for scope in ast.walk(tree):
        if not isinstance(scope, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        clients: set[str] = set()
        body_nodes = list(ast.walk(scope))
        used = set()
        for node in body_nodes:
            if isinstance(node, ast.Assign) and _is_client_call(node.value):
                clients.update(t.id for t in node.targets if isinstance(t, ast.Name))
                used.add(id(node.value))
            elif isinstance(node, ast.Attribute) and _is_client_call(node.value):
                used.add(id(node.value))
        for node in body_nodes:   # a client handed to other code, which calls it
            if scope is tree and _is_client_call(node) and id(node) not in used:
                found.append(f"{rel}:{node.lineno} client passed on")
        for node in body_nodes:
            if not isinstance(node, ast.Call):
                continue
            if scope is tree and _is_boto3_entry(node):
                found.append(f"{rel}:{node.lineno} {ast.unparse(node.func)}")
            func = node.func
            if not isinstance(func, ast.Attribute):
                continue
            owner = func.value
            if _is_client_call(owner) or (isinstance(owner, ast.Name) and owner.id in clients):
                found.append(f"{rel}:{node.lineno} {func.attr}")
    return sorted(set(found), key=lambda s: (s.split(":")[0], int(s.split(":")[1].split()[0])))


def longest_function(modules: dict[str, Path], root: Path = ROOT) -> tuple[int, str]:
    best = (0, "")
    for path in modules.values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > best[0]:
                    best = (size, f"{path.relative_to(root)}:{node.lineno} {node.name}")
    return best


def measure(root: Path = ROOT) -> Shape:
    modules = sources(root)
    shape = Shape(files=len(modules))
    text_of = {name: path.read_text(encoding="utf-8") for name, path in modules.items()}
    shape.lines = sum(t.count("\n") for t in text_of.values())
    shape.longest = longest_function(modules, root)
    shape.words = {w: sum(len(re.findall(re.escape(w), t)) for t in text_of.values()) for w in WORDS}
    for name, path in modules.items():
        rel = str(path.relative_to(root))
        if name.startswith(f"{PACKAGE}.aws.") or name == f"{PACKAGE}.aws":
            continue
        shape.raw_calls += raw_calls(path, rel)
    shape.cycles = cycles(imports(modules))
    tasks = {n: p for n, p in modules.items() if n.startswith(f"{PACKAGE}.tasks.")}
    shape.longest_task = longest_function(tasks, root)
    for name, path in tasks.items():
        tree = ast.parse(text_of[name])
        if "lock.hold(" in text_of[name]:
            shape.task_locks.append(name)
        for node in tree.body:   # module-level helpers that are not tasks (no decorator) and write reports
            if isinstance(node, ast.FunctionDef) and not node.decorator_list \
                    and "write_report(" in ast.get_source_segment(text_of[name], node):
                shape.report_helpers.append(f"{name}.{node.name}")
    return shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--details", action="store_true", help="list every raw call and cycle")
    args = parser.parse_args()
    shape = measure(args.source.resolve())
    print("| measure | value |\n|---|---|")
    for name, value in shape.rows():
        print(f"| {name} | {value} |")
    if args.details:
        print("\nraw AWS calls outside aws/:")
        for line in shape.raw_calls:
            print(f"  {line}")
        print("\nimport cycles:")
        for cycle in shape.cycles:
            print("  " + " <-> ".join(cycle))


if __name__ == "__main__":
    main()
