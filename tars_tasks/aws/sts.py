"""STS: who the run's credentials are."""
from __future__ import annotations

from .errors import translate


def account_id(clients) -> str:
    with translate("read the AWS account id"):
        return clients("sts").get_caller_identity()["Account"]
