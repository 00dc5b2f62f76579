"""A process that takes the deploy lock as a mutating task does (lock.hold), for the lock tests.

python hold_lock.py MODE GO_FILE RELEASE_FILE [CLOCK_OFFSET]
  waits for GO_FILE (so two processes start together), takes the lock, prints HELD, then
  MODE=hold: holds until RELEASE_FILE exists, exit 0; MODE=fail: raises, exit 1.
  Refused → the error line on stderr, exit 3; Ctrl-C (SIGINT) → exit 130.
CLOCK_OFFSET shifts this process's clock (a lease "expires" without the test sleeping).
"""
import os
import sys
import time
from pathlib import Path

from tars_tasks import lock
from tars_tasks.errors import TarsError
from tars_tasks.settings import Settings


def wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.01)


def main() -> int:
    mode, go, release = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    offset = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    settings = Settings.load(None)
    wait_for(go)
    try:
        with lock.hold(settings, f"test-{mode}", clock=lambda: time.time() + offset):
            print(f"HELD {os.getpid()}", flush=True)
            if mode == "fail":
                raise TarsError("the deploy step failed")
            wait_for(release)
    except TarsError as err:
        print(f"error: {err.message}", file=sys.stderr, flush=True)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
