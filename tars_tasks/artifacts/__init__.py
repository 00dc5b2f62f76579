"""Artifact builders: the Lambda zip, the UI bundle, the MCP image."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def one_build_at_a_time(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (flock) for the duration: runs on one checkout (several
    environments deployed in parallel, two terminals) build into the same directories one after the
    other instead of over each other. Released when the block ends or the process dies."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
