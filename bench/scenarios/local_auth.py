"""Authenticated calls to a local deployment, the two ways its real callers make them (issue 14,
lambda_src/auth.py):

- a machine signs its request to the Function URL with SigV4 (service ``lambda``) with the
  emulator's key: ``iam_headers``, the way ``inv`` signs its own ``/_local/invoke`` calls
  (tars_tasks.local.warm_api, through tars_tasks.local.sigv4);
- a person signs in to the local user pool (the one Terraform made) and sends the access token in
  ``x-tars-token`` to the site's ``/api``: ``user_token`` adds the user with ``inv users.add
  --local`` (its password kept in .tars/local/users/) and signs in with AdminInitiateAuth, as the
  e2e tests do.

For a handler called in-process, ``iam_event`` is the event the local Function URL builds for a
signed call (``requestContext.authorizer.iam`` from the very check the server runs) and
``FunctionContext`` the context naming the function's ARN, whose account the signer must be of.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

REGION = "us-east-1"


def emulator_credentials():
    """The one key the local servers know (tars_tasks.aws.clients.EMULATOR_CREDENTIALS)."""
    from botocore.credentials import Credentials

    from tars_tasks.aws.clients import EMULATOR_CREDENTIALS

    return Credentials(EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"], EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def iam_headers(method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
    """``headers`` plus a SigV4 signature (service lambda) of the request by the emulator's key."""
    from tars_tasks.local import sigv4

    return sigv4.sign(method, url, headers, body or b"", emulator_credentials(), REGION)


def iam_authorizer(sts_client) -> dict[str, Any]:
    """The ``requestContext.authorizer.iam`` block the local Function URL puts into the event of a
    call signed with the emulator's key: a request signed here, run through the server's own check."""
    from tars_tasks.local import sigv4

    creds = emulator_credentials()
    url = "http://127.0.0.1/"
    headers = iam_headers("POST", url, {"Content-Type": "application/json"}, b"{}")
    who = sts_client.get_caller_identity()
    headers["Host"] = "127.0.0.1"   # what the HTTP client sends (the signature covers it)
    block = sigv4.check("POST", url, headers, b"{}", identity=lambda _key: who,
                        secret_for=lambda key: creds.secret_key if key == creds.access_key else None)
    if block is None:
        raise SystemExit("the emulator key's own signature did not verify")
    return block


def iam_event(method: str, path: str, headers: dict[str, str], body: bytes, authorizer: dict[str, Any]) -> dict:
    """The Function URL event of a signed call (what tars_tasks.local.function_url builds)."""
    from tars_tasks.local.function_url import build_event

    event = build_event(method, path, headers, body, 0)
    event["requestContext"]["accountId"] = authorizer["accountId"]
    event["requestContext"]["authorizer"] = {"iam": authorizer}
    return event


class FunctionContext:
    """The Lambda context the handler reads: the invoked function's ARN names its account."""

    def __init__(self, function_arn: str):
        self.invoked_function_arn = function_arn
        self.function_name = function_arn.split(":")[6] if function_arn.count(":") >= 6 else function_arn
        self.aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def user_token(root: Path, outputs: dict[str, Any], idp_client, email: str,
               inv: Callable[..., Any], role: str = "viewer") -> str:
    """A signed-in person's access token from the local pool: ``inv users.add --local`` in the
    project copy at ``root``, then AdminInitiateAuth with the password it kept."""
    inv(root, "users.add", email, "--role", role, "--local")
    password = (root / ".tars" / "local" / "users" / f"{email}.password").read_text().strip()
    reply = idp_client.admin_initiate_auth(
        UserPoolId=outputs["cognito_user_pool_id"]["value"], ClientId=outputs["cognito_client_id"]["value"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": password})
    return reply["AuthenticationResult"]["AccessToken"]
