"""STS: who the run's credentials are."""
from __future__ import annotations

from .errors import translate


def account_id(clients) -> str:
    with translate("read the AWS account id"):
        return clients("sts").get_caller_identity()["Account"]


def caller(clients) -> dict:
    """GetCallerIdentity: {"Account", "UserId", "Arn"} of the run's credentials."""
    with translate("read who the AWS credentials are"):
        return clients("sts").get_caller_identity()
