"""Record every AWS API call of this Python process (and of each child that inherits the
environment) as one JSON line in the file named by DEPLOY_CALLS_LOG.

It is a botocore session event hook, installed from outside the code under test: put this
directory first on PYTHONPATH and set DEPLOY_CALLS_LOG. Every botocore Session created afterwards
(whoever creates it, however clients are built) gets a ``before-parameter-build`` handler, so the
record survives changes to how tars_tasks builds its clients. A request the code signs itself
with ``SigV4Auth`` (verify's Function URL calls) is recorded as lambda ``InvokeFunctionUrl``. Used by
bench/deploy_role_actions.py and tests/e2e/test_deploy_role_actions.py; nothing in tars_tasks
imports it. Only identifying parameters (names, keys, ids) are written, never bodies or values.

With DEPLOY_CALLS_CREDENTIALS (a JSON file: {"deployer": {access_key, secret_key, token}}), a
``before-sign`` handler signs each call the deployer makes on AWS (the task process's own work,
not a local stand-in's) with those keys, the deploy role's assumed-role keys; every other call
keeps its own (the local target's dummy keys). Each re-signed call is logged ("signed_as"). In
the emulator process, DEPLOY_CALLS_EMULATOR=1 adapts moto for that run
(``_adapt_moto_for_the_enforced_run``). This is how tests/e2e/test_deploy_role_enforced.py runs
the local deploy under the deploy role while the emulator enforces IAM.
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

    def sign_as(request_signer=None, operation_name=None, **_kw) -> None:
        inner, _ = caller()
        if not task_process or inner.startswith("tars_tasks.local."):
            return   # a local stand-in: its own (dummy) keys
        request_signer._credentials = signers["deployer"]
        if path:
            line = json.dumps({"pid": os.getpid(), "signed_as": "deployer", "operation": operation_name}) + "\n"
            with lock, open(path, "a", encoding="utf-8") as fh:
                fh.write(line)

    import botocore.auth

    original_add_auth = botocore.auth.SigV4Auth.add_auth

    def add_auth(self, request):
        """A request the code signs itself (not through a client): verify's Function URL calls.
        AWS evaluates lambda:InvokeFunctionUrl for them, as the signer."""
        frame, through_client = sys._getframe(1), False
        while frame is not None and not through_client:
            through_client = frame.f_globals.get("__name__", "") == "botocore.signers"
            frame = frame.f_back
        if path and not through_client and self._service_name == "lambda":
            inner, outer = caller()
            row = {"pid": os.getpid(), "argv": argv, "service": "lambda", "signing_name": "lambda",
                   "endpoint_prefix": "lambda", "operation": "InvokeFunctionUrl", "caller": inner, "entry": outer,
                   "params": {"url": request.url.split("?")[0]}}
            with lock, open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, sort_keys=True) + "\n")
        return original_add_auth(self, request)

    botocore.auth.SigV4Auth.add_auth = add_auth
    original = botocore.session.Session.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.register("before-parameter-build", record, unique_id="deploy-calls-recorder")
        if signers and task_process:
            self.register("before-sign", sign_as, unique_id="deploy-calls-signer")

    botocore.session.Session.__init__ = init


def _adapt_moto_for_the_enforced_run() -> None:
    """Two changes to moto 5.2.5's IAM enforcement, in the emulator process only:

    1. Its signature check of a Lambda or CloudFront request is computed over the request's
       headers as if they were its body (``IAMRequestBase._create_aws_request`` gets
       ``data=self._body or self._data``, and for these services ``_data`` holds the headers):
       every signed Lambda GET and CloudFront call is refused, right keys or not. Here the check
       is computed over the real body; the check itself is unchanged.
    2. The local target's dummy key "testing" (what the local stand-ins sign with: the work copy's instance marker
       standing in for Terraform, the function runtime for Lambda, the MCP process for ECS, the
       site server for CloudFront) is a principal allowed everything, as those services act with
       their own roles on AWS. Any other key must be moto's (the deploy role's assumed keys).
    3. A presigned request (query-string auth, no Authorization header) makes moto answer 500
       (it reads the header unconditionally). Such a URL carries its signer's authority (verify's
       KB upload URL is signed by the function), not the deploy role's: it passes unchecked here.
    """
    import json

    from botocore.credentials import Credentials
    from moto.iam import access_control

    original_request = access_control.IAMRequestBase._create_aws_request

    def create_request(self):
        if self._service in ("lambda", "cloudfront"):
            saved, self._data = self._data, {}
            try:
                return original_request(self)
            finally:
                self._data = saved
        return original_request(self)

    class LocalStandIns:
        def __init__(self, account_id: str):
            self.arn = f"arn:aws:iam::{account_id}:user/local-stand-ins"

        def create_credentials(self):
            return Credentials("testing", "testing")

        def collect_policies(self):
            return [json.dumps({"Version": "2012-10-17",
                                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})]

    original_key = access_control.create_access_key

    def create_access_key(account_id, partition, access_key_id, headers):
        if access_key_id == "testing":
            return LocalStandIns(account_id)
        return original_key(account_id, partition, access_key_id, headers)

    from urllib.parse import urlparse

    from moto.core.authorization import ActionAuthenticatorMixin

    original_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authorize(self, iam_request_cls, resource="*"):
        if "Authorization" not in self.headers and "X-Amz-Credential" in (urlparse(self.uri).query or ""):
            return
        return original_authorize(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize
    access_control.IAMRequestBase._create_aws_request = create_request
    access_control.create_access_key = create_access_key


if os.environ.get("DEPLOY_CALLS_EMULATOR") and "moto.server" in " ".join(getattr(__import__("sys"), "orig_argv", [])):
    _adapt_moto_for_the_enforced_run()

if os.environ.get("DEPLOY_CALLS_LOG") or os.environ.get("DEPLOY_CALLS_CREDENTIALS"):
    _install(os.environ.get("DEPLOY_CALLS_LOG"), os.environ.get("DEPLOY_CALLS_CREDENTIALS"))
