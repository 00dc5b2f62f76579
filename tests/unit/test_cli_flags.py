"""Every task's command-line surface, pinned: what users type must keep working.

For every task of the ``tars_tasks`` namespace (``local.*`` and ``users.*`` included) the
fixture ``tests/fixtures/cli_flags.json`` holds its names (aliases included) and, in Invoke's
order, each flag: its long name, its short flag, whether it takes a value, whether it is
positional, and its help text. It was generated from main before the task signatures were
declared through ``tars_task(common=...)``; Invoke gives short flags by parameter order (the
first letter of a name not yet taken), so a signature change that silently moves ``-d``, ``-y``,
``-e``, ``-l``, ``-j``... fails here.

Deliberate edits since main (each in the commit that made it): ``releases-ui`` became an alias
of ``ui-versions``, ``deploy-ui`` gained ``--keep-versions`` (``--keep-releases`` kept, its help
now says deprecated) and ``rollback-ui --to``'s help says "UI version" (deploy-ui and rollback-ui
have no short flags: ``auto_shortflags=False``).

The surface is read the way ``inv`` reads it: the parser contexts of ``ns.to_contexts()``.
A deliberate change to the surface is a reviewed edit of the fixture (regenerate with
``python -m tests.unit.test_cli_flags`` and read the diff: every line of it is something
users see).
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "cli_flags.json"
ROOT = Path(__file__).resolve().parents[2]


def surface(ns=None) -> dict:
    """``{task name: {"aliases": [...], "flags": [{long, short, value, positional, help}, ...]}}``."""
    if ns is None:
        from tars_tasks import build_namespace

        ns = build_namespace()
    saved = {}
    for name in ns.task_names:   # get_arguments() consumes each task's help dict: keep it intact
        task = ns[name]
        saved[id(task)] = (task, copy.copy(task.help))
    try:
        contexts = ns.to_contexts()
    finally:
        for task, help_ in saved.values():
            task.help = help_
    result = {}
    for ctx in contexts:
        flags = []
        for arg in ctx.args.values():   # each argument once (aliases are not values), in Invoke's order
            longs = [n for n in arg.names if len(n) > 1]
            shorts = [n for n in arg.names if len(n) == 1]
            flags.append({"long": "--" + longs[0], "short": "-" + shorts[0] if shorts else None,
                          "value": bool(arg.takes_value), "optional_value": bool(arg.optional),
                          "positional": bool(arg.positional), "help": arg.help,
                          "inverse": ctx.inverse_flags.get("--no-" + longs[0]) is not None})
        result[ctx.name] = {"aliases": sorted(ctx.aliases), "flags": flags}
    return dict(sorted(result.items()))


def fresh_surface() -> dict:
    """:func:`surface` in a new interpreter, as ``inv`` sees it: the task objects are module-level,
    and another test that parsed them in this process (Invoke's get_arguments pops each task's help
    as it reads it) would leave them without help."""
    code = "import json; from tests.unit.test_cli_flags import surface; print(json.dumps(surface()))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _diff(expected: dict, actual: dict) -> list[str]:
    """What users would see changed: a task or alias gone or new, a flag gone, new or changed (short
    flag, takes a value, positional, help), positional arguments reordered. The order of the other
    flags is not compared: ``inv --help`` sorts them, and a reorder that moves a short flag shows as
    that flag's change."""
    lines = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            lines.append(f"inv {name}: gone")
            continue
        if name not in expected:
            lines.append(f"inv {name}: new (not in the fixture)")
            continue
        exp, act = expected[name], actual[name]
        if exp["aliases"] != act["aliases"]:
            lines.append(f"inv {name}: aliases {exp['aliases']} -> {act['aliases']}")
        by_long_e = {f["long"]: f for f in exp["flags"]}
        by_long_a = {f["long"]: f for f in act["flags"]}
        lines += [f"inv {name} {long}: {by_long_e.get(long)} -> {by_long_a.get(long)}"
                  for long in sorted(set(by_long_e) | set(by_long_a)) if by_long_e.get(long) != by_long_a.get(long)]
        positional_e = [f["long"] for f in exp["flags"] if f["positional"]]
        positional_a = [f["long"] for f in act["flags"] if f["positional"]]
        if positional_e != positional_a:
            lines.append(f"inv {name}: positional arguments {positional_e} -> {positional_a}")
    return lines


def test_every_task_keeps_its_flags_short_flags_and_help():
    expected = json.loads(FIXTURE.read_text())
    problems = _diff(expected, fresh_surface())
    assert not problems, "the command-line surface changed:\n" + "\n".join(problems)


def test_the_fixture_covers_the_whole_namespace_and_its_common_flags():
    """The pin is not vacuous: every task (top level, local.*, users.*) is in it, with its flags."""
    expected = json.loads(FIXTURE.read_text())
    assert {"deploy-lambda", "deploy", "local.up", "users.add", "status"} <= set(expected)
    assert len(expected) >= 30
    deploy_lambda = {f["long"]: f for f in expected["deploy-lambda"]["flags"]}
    assert deploy_lambda["--env"]["short"] == "-e" and deploy_lambda["--env"]["value"] is True
    assert deploy_lambda["--dry-run"]["short"] == "-d" and deploy_lambda["--dry-run"]["value"] is False
    assert all(f["help"] for flags in expected.values() for f in flags["flags"]), "a flag without help"


def test_a_swapped_signature_is_caught():
    """Two parameters swapped in a task's signature move a short flag: the comparison sees it."""
    from invoke import Collection, task

    @task(help={"env": "e", "dry_run": "d", "debug_dump": "x"})
    def before(c, env=None, dry_run=False, debug_dump=False):
        pass

    @task(name="before", help={"env": "e", "dry_run": "d", "debug_dump": "x"})
    def after(c, env=None, debug_dump=False, dry_run=False):
        pass

    old, new = surface(Collection(before)), surface(Collection(after))
    problems = _diff(old, new)
    assert [line.split(":")[0] for line in problems] == ["inv before --debug-dump", "inv before --dry-run"]
    shorts = {f["long"]: f["short"] for f in new["before"]["flags"]}
    assert shorts == {"--env": "-e", "--debug-dump": "-d", "--dry-run": "-r"}


def dump(data: dict) -> str:
    """The fixture's text: one task per block, one flag per line (a reviewable diff)."""
    blocks = []
    for name, entry in data.items():
        flags = ",\n".join(f"   {json.dumps(f, sort_keys=True)}" for f in entry["flags"])
        blocks.append(f" {json.dumps(name)}: {{\"aliases\": {json.dumps(entry['aliases'])}, \"flags\": [\n{flags}\n ]}}")
    return "{\n" + ",\n".join(blocks) + "\n}\n"


if __name__ == "__main__":
    FIXTURE.write_text(dump(surface()))
    print(f"wrote {FIXTURE}")
