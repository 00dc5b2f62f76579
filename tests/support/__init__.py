"""Test helpers, in one package: emulator resources and projects per component (handler, auth,
infra, tf_moto, tf_applied), local servers (bucket_server, recorder, sshd), npm_project,
iam_request. What bench/ also needs lives in bench/scenarios instead (a fresh clone, the UI site, the
MCP deploy and server, the forkable moto template, the Terraform setup, the fault proxy and the fault
scenarios, the recorded calls → IAM actions); bench/ imports no test module (tests/unit/test_code_shape.py).

Three folders hold a ``sitecustomize.py``, each put first on the PYTHONPATH of the ``inv``
subprocesses of the tests that need it (Python's site module imports the first ``sitecustomize``
on sys.path at start-up, the only way to patch a child process from outside the code under test,
and only one per process, hence a folder each):
``aws_calls/`` records every AWS call (the deploy-role tests and bench), ``lock_pause/`` pauses a
task right after it took the deploy lock (tests/integration/test_lock_deploy_lambda.py),
``nobackoff/`` zeroes botocore's retry backoff sleep (the fault suites).
"""

import pytest


@pytest.fixture(autouse=False)
def fresh_console():
    """console caches rich Consoles bound to the sys.stdout of their first use; pytest swaps it per test."""
    from tars_tasks import console

    console._consoles.clear()
    yield
    console._consoles.clear()
