"""Plain-function deploy steps, one module per component (Chalice's deploy/ shape).

Each module offers ``plan(settings, ...)`` (reads only, returns frozen data with
``has_changes``, ``summary()``, ``as_dict()``), ``execute(settings, plan, ...) -> Outcome``,
``current(settings) -> dict`` and ``rollback(settings, target=None, dry_run=False) -> Outcome``.
Tasks (``tars_tasks/tasks``) and the pipeline call these; ``--dry-run`` only prints the plan.
"""
