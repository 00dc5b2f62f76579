"""Plain-function deploy steps, one module per component (Chalice's deploy/ shape).

Each component module honours the contract in :mod:`.component`: ``plan(settings, ...)`` (reads
only, returns frozen data with ``has_changes``, ``summary()``, ``as_dict()``),
``execute(settings, plan, ...) -> Outcome``, ``current(settings) -> Live``, ``plan_rollback`` /
``rollback`` and ``PLAN_INPUTS``.
Tasks (``tars_tasks/tasks``) and the pipeline call these; ``--dry-run`` only prints the plan.
"""
