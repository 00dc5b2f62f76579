"""SSM parameters: read one, create one unless it exists (the emulator's instance marker)."""
from __future__ import annotations

from .errors import error_code, translate


def parameter_value(clients, name: str) -> str | None:
    """The value of parameter ``name``; None when there is none."""
    from botocore.exceptions import ClientError

    with translate(f"read SSM parameter {name}"):
        try:
            return clients("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise


def create_parameter(clients, name: str, value: str, description: str) -> bool:
    """Create ``name`` as a String unless it exists (never overwritten). True when created here."""
    from botocore.exceptions import ClientError

    with translate(f"create SSM parameter {name}"):
        try:
            clients("ssm").put_parameter(Name=name, Value=value, Type="String", Overwrite=False,
                                         Description=description)
        except ClientError as exc:
            if error_code(exc) == "ParameterAlreadyExists":
                return False
            raise
    return True
