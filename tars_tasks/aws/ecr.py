"""ECR: registry login credentials and whether an image tag is already there. Prints nothing."""
from __future__ import annotations

import base64
from dataclasses import dataclass

from ..errors import ConfigError
from .errors import error_code, translate

REPOSITORY_HINT = "set TARS_ECR_REPOSITORY_URL or run inv deploy-infrastructure (output ecr_repository_url)"


@dataclass(frozen=True)
class RegistryLogin:
    """What `docker login` needs. ``password`` is a secret: give it on stdin only."""

    registry: str
    username: str
    password: str

    def __repr__(self) -> str:  # never leak the password through a repr in a traceback
        return f"RegistryLogin(registry={self.registry!r}, username={self.username!r}, password='****')"


def split_repository_url(url: str) -> tuple[str, str]:
    """'123.dkr.ecr.us-east-1.amazonaws.com/sre-poc-mcp-server' -> (registry host, repository name)."""
    text = (url or "").strip()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    registry, _, name = text.partition("/")
    if not registry or not name or ":" in name or "@" in name:
        raise ConfigError(f"'{url}' is not an ECR repository URL (registry/name, no tag)", REPOSITORY_HINT)
    return registry, name


def login(clients, repository_url: str) -> RegistryLogin:
    """A registry login from ``get_authorization_token`` (the token decodes to 'AWS:<password>')."""
    registry, _ = split_repository_url(repository_url)
    with translate("get an ECR authorization token"):
        data = clients("ecr").get_authorization_token()["authorizationData"]
    if not data:
        raise ConfigError("ECR returned no authorization data", "check the IAM permission ecr:GetAuthorizationToken")
    decoded = base64.b64decode(data[0]["authorizationToken"]).decode("utf-8")
    username, _, password = decoded.partition(":")
    if not password:
        raise ConfigError("the ECR authorization token is malformed", "retry; check the AWS endpoint in use")
    return RegistryLogin(registry=registry, username=username, password=password)


def image_exists(clients, repository_url: str, tag: str) -> bool:
    """True when the repository already holds ``tag`` (so build and push can be skipped)."""
    _, name = split_repository_url(repository_url)
    ecr = clients("ecr")
    try:
        response = ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])
    except Exception as exc:  # noqa: BLE001 - sorted below
        if error_code(exc) == "ImageNotFoundException":
            return False
        with translate(f"look up image {name}:{tag} in ECR", not_found_hint=REPOSITORY_HINT):
            raise
    return any(tag in (d.get("imageTags") or []) for d in response.get("imageDetails", []))
