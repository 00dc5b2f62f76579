"""The shape of tars_tasks/: lines, the longest function, `is_local` / `local or None` / `dry_run`
occurrences, raw AWS calls outside aws/, import cycles (issue 12's before/after table).

    .venv/bin/python bench/code_shape.py [--source DIR] [--details]

``--source`` measures another checkout (e.g. a worktree of the commit before a change).
The standing checks on the same numbers are in tests/tool/test_code_shape.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import code_shape  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--details", action="store_true", help="list every raw call and cycle")
    args = parser.parse_args()
    shape = code_shape.measure(args.source.resolve())
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
