"""Loaded by the `inv` subprocesses of tests/integration/test_lock_deploy_lambda.py only (through
PYTHONPATH): right after a task takes the deploy lock, it writes TARS_TEST_HELD_DIR/<pid> and
waits until TARS_TEST_RELEASE_FILE exists, so two real deploys overlap deterministically."""
import os
import time

if os.environ.get("TARS_TEST_HELD_DIR"):
    import contextlib
    from pathlib import Path

    from tars_tasks import lock

    _real_hold = lock.hold

    @contextlib.contextmanager
    def _pausing_hold(*args, **kwargs):
        with _real_hold(*args, **kwargs) as holder:
            if holder is not None:
                Path(os.environ["TARS_TEST_HELD_DIR"], str(os.getpid())).touch()
                release = Path(os.environ["TARS_TEST_RELEASE_FILE"])
                while not release.exists():
                    time.sleep(0.01)
            yield holder

    lock.hold = _pausing_hold
