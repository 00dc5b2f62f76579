"""Record every AWS API call of this Python process (and of each child that inherits the
environment) as one JSON line in the file named by DEPLOY_CALLS_LOG.

It is a botocore session event hook, installed from outside the code under test: put this
directory first on PYTHONPATH and set DEPLOY_CALLS_LOG. Every botocore Session created afterwards
(whoever creates it, however clients are built) gets a ``before-parameter-build`` handler, so the
record survives changes to how tars_tasks builds its clients. Used by
bench/deploy_role_actions.py and tests/e2e/test_deploy_role_actions.py; nothing in tars_tasks
imports it. Only identifying parameters (names, keys, ids) are written, never bodies or values.

With DEPLOY_CALLS_CREDENTIALS (a JSON file: {"deployer": {...}, "other": {...}}, each with
access_key, secret_key and an optional token), a ``before-sign`` handler also signs each call
with the credentials of whoever makes it on AWS: the deployer's calls (the task process's own
work) with "deployer" (the deploy role's assumed-role keys), every other call (local stand-ins
for Terraform, Lambda, ECS; the function runtime, site and MCP processes) with "other". This is
how tests/e2e/test_deploy_role_enforced.py runs the local deploy under the deploy role while
the emulator enforces IAM.
"""
from __future__ import annotations

import os


def _install(path: str | None, credentials_path: str | None) -> None:
    import json
    import sys
    import threading

    import botocore.session

    lock = threading.Lock()
    keep = ("FunctionName", "Qualifier", "Name", "Bucket", "Key", "Prefix", "TableName", "cluster",
            "service", "services", "taskDefinition", "family", "familyPrefix", "tasks", "repositoryName",
            "logGroupName", "logGroupIdentifier", "logGroupNamePrefix", "DistributionId", "Id",
            "VersionId", "KeyId", "roleArn", "RoleArn", "IndexName", "executionRoleArn", "taskRoleArn")
    argv = " ".join(getattr(sys, "orig_argv", sys.argv))

    def caller() -> tuple[str, str]:
        """(the innermost tars_tasks module outside tars_tasks.aws, the outermost tars_tasks module)."""
        frame, inner, outer = sys._getframe(2), "", ""
        while frame is not None:
            module = frame.f_globals.get("__name__", "")
            if module.startswith("tars_tasks"):
                if not inner and not module.startswith("tars_tasks.aws"):
                    inner = f"{module}.{frame.f_code.co_name}"
                outer = f"{module}.{frame.f_code.co_name}"
            frame = frame.f_back
        return inner, outer

    def record(params=None, model=None, **_kw) -> None:
        if model is None or not path:
            return
        service = model.service_model
        inner, outer = caller()
        row = {"pid": os.getpid(), "argv": argv, "service": service.service_name,
               "signing_name": service.signing_name, "endpoint_prefix": service.endpoint_prefix,
               "operation": model.name, "caller": inner, "entry": outer,
               "params": {k: v for k, v in (params or {}).items()
                          if k in keep and isinstance(v, (str, int, list)) and not isinstance(v, bool)}}
        line = json.dumps(row, sort_keys=True, default=str) + "\n"
        with lock, open(path, "a", encoding="utf-8") as fh:
            fh.write(line)

    signers = {}
    if credentials_path:
        from botocore.credentials import Credentials

        with open(credentials_path, encoding="utf-8") as fh:
            keys = json.load(fh)
        signers = {who: Credentials(k["access_key"], k["secret_key"], k.get("token")) for who, k in keys.items()}
    task_process = any(part in ("invoke", "inv") or part.endswith("/inv") for part in getattr(sys, "orig_argv", sys.argv))

    def sign_as(request_signer=None, **_kw) -> None:
        inner, _ = caller()
        local_stand_in = inner.startswith("tars_tasks.local.")
        who = "deployer" if task_process and not local_stand_in else "other"
        request_signer._credentials = signers[who]

    original = botocore.session.Session.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.register("before-parameter-build", record, unique_id="deploy-calls-recorder")
        if signers:
            self.register("before-sign", sign_as, unique_id="deploy-calls-signer")

    botocore.session.Session.__init__ = init


def _fix_moto_lambda_signature() -> None:
    """moto 5.2.5 checks a Lambda request's signature over the request's headers as if they were
    its body (``IAMRequestBase._create_aws_request`` gets ``data=self._body or self._data``, and
    for Lambda ``_data`` holds the headers): every signed Lambda call is refused, right keys or not.
    In the emulator process only (DEPLOY_CALLS_FIX_MOTO_LAMBDA=1), the signature is checked over
    the real body. Nothing else of moto's checks changes."""
    from moto.iam import access_control

    original = access_control.IAMRequestBase._create_aws_request

    def create(self):
        if self._service == "lambda":
            saved, self._data = self._data, {}
            try:
                return original(self)
            finally:
                self._data = saved
        return original(self)

    access_control.IAMRequestBase._create_aws_request = create


if os.environ.get("DEPLOY_CALLS_FIX_MOTO_LAMBDA") and "moto.server" in " ".join(getattr(__import__("sys"), "orig_argv", [])):
    _fix_moto_lambda_signature()

if os.environ.get("DEPLOY_CALLS_LOG") or os.environ.get("DEPLOY_CALLS_CREDENTIALS"):
    _install(os.environ.get("DEPLOY_CALLS_LOG"), os.environ.get("DEPLOY_CALLS_CREDENTIALS"))
