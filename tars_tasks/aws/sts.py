"""STS: who the run's credentials are."""
from __future__ import annotations

from .errors import translate


def account_id(clients) -> str:
    with translate("read the AWS account id"):
        return clients("sts").get_caller_identity()["Account"]


def caller_identity(clients) -> dict[str, str]:
    """Account, Arn and UserId of the run's credentials."""
    with translate("read the caller identity"):
        found = clients("sts").get_caller_identity()
    return {"Account": found["Account"], "Arn": found["Arn"], "UserId": found["UserId"]}
