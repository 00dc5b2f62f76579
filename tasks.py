"""Invoke entry point: exposes the TARS task namespace, and holds what Invoke itself rejects (a bad
flag, a malformed invoke.yaml) to the tasks' contract: one line, a hint, exit 2 (tars_tasks/cli.py)."""
from tars_tasks import cli, ns  # noqa: F401

cli.attach(__file__)
