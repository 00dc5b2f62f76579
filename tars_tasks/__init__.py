"""The TARS deploy task library: builds the Invoke namespace from ``tars_tasks.tasks``.

Every module in ``tars_tasks/tasks/`` ends with ``ns = Collection(...)``. A module that sets
``SUBCOLLECTION = "name"`` is mounted as ``inv name.<task>`` (``inv local.up``); the tasks of
every other module sit at the top level (``inv deploy-lambda``). Module imports stay light
(no boto3, no rich at import time) so ``inv --list`` is fast.
"""
from __future__ import annotations

import importlib
import pkgutil

from invoke import Collection

from . import tasks as _tasks_pkg


def build_namespace() -> Collection:
    root = Collection()
    for info in sorted(pkgutil.iter_modules(_tasks_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_tasks_pkg.__name__}.{info.name}")
        sub = getattr(module, "ns", None)
        if sub is None:
            continue
        name = getattr(module, "SUBCOLLECTION", None)
        if name:
            root.add_collection(sub, name=name)
            continue
        for task_name in sub.task_names:
            root.add_task(sub[task_name], name=task_name)
        root.configure(sub.configuration())
    return root


ns = build_namespace()
