"""Invoke entry point: exposes the TARS task namespace, nothing else."""
from tars_tasks import ns  # noqa: F401
