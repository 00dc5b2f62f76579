"""botocore errors turned into TarsError kinds, each with a hint."""
from __future__ import annotations

import contextlib
from typing import Iterator

from ..errors import ConfigError, StepFailed, TarsError

NO_CREDENTIALS_HINT = "run aws configure or set AWS_PROFILE (or use --local for the embedded emulator)"
EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
                "SignatureDoesNotMatch"}
NOT_FOUND_CODES = {"ResourceNotFoundException", "NoSuchBucket", "NoSuchKey", "NoSuchDistribution",
                   "RepositoryNotFoundException", "ClusterNotFoundException", "ServiceNotFoundException",
                   "ParameterNotFound", "NotFound", "404"}


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def convert(exc: BaseException, what: str, not_found_hint: str | None = None) -> TarsError | None:
    """The TarsError for a botocore exception, or None when ``exc`` is not one of botocore's."""
    from botocore import exceptions as bx

    if isinstance(exc, TarsError):
        return exc
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError, bx.ProfileNotFound)):
        return ConfigError(f"cannot {what}: no usable AWS credentials ({exc})", NO_CREDENTIALS_HINT)
    if isinstance(exc, (bx.TokenRetrievalError, bx.SSOTokenLoadError, bx.UnauthorizedSSOTokenError)):
        return ConfigError(f"cannot {what}: the AWS session has expired",
                           "run aws sso login (or refresh your credentials) and retry")
    if isinstance(exc, bx.NoRegionError):
        return ConfigError(f"cannot {what}: no AWS region set", "set AWS_REGION or tars.region in invoke.yaml")
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError)):
        return StepFailed(f"cannot {what}: the AWS endpoint does not answer ({exc})",
                          "check the network, AWS_REGION and AWS_ENDPOINT_URL (inv local.up for --local)")
    if isinstance(exc, bx.ReadTimeoutError):
        return StepFailed(f"cannot {what}: AWS did not answer in time", "retry; raise TARS_READ_TIMEOUT if it persists")
    if isinstance(exc, bx.ClientError):
        code = error_code(exc)
        message = error_message(exc)
        if code in EXPIRED_CODES:
            return ConfigError(f"cannot {what}: the AWS session has expired ({code})",
                               "run aws sso login (or refresh your credentials) and retry")
        if code in DENIED_CODES:
            return ConfigError(f"cannot {what}: access denied ({code}: {message})",
                               "check the credentials and IAM permissions of the profile in use")
        if code in NOT_FOUND_CODES or code.endswith("NotFound") or code.endswith("NotFoundException"):
            return ConfigError(f"cannot {what}: not found ({message})",
                               not_found_hint or "run inv deploy-infrastructure first")
        if code in ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"):
            return StepFailed(f"cannot {what}: AWS is throttling requests ({code})", "wait a minute and retry")
        return StepFailed(f"cannot {what}: {code}: {message}", "see the message above; --debug shows the full error")
    if isinstance(exc, bx.BotoCoreError):
        return StepFailed(f"cannot {what}: {exc}", "--debug shows the full error")
    return None


@contextlib.contextmanager
def translate(what: str, not_found_hint: str | None = None) -> Iterator[None]:
    """Run AWS calls; re-raise botocore failures as TarsError naming ``what`` failed."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - re-raised as is when not botocore's
        converted = convert(exc, what, not_found_hint)
        if converted is None or converted is exc:
            raise
        raise converted from exc
