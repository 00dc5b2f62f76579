"""Test-only: put on PYTHONPATH of an `inv` subprocess so botocore's standard retries skip their
backoff sleep (every fault is still retried, with the same attempt count; tests never really sleep)."""
import os

if os.environ.get("TARS_TEST_NO_BACKOFF") == "1":
    from botocore.retries import standard

    standard.ExponentialBackoff.delay_amount = lambda self, context: 0.0
