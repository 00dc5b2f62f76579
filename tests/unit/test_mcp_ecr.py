"""aws/ecr on moto: the login from the authorization token, and whether a tag exists."""
from __future__ import annotations

import pytest

from tars_tasks.aws import ecr
from tars_tasks.errors import ConfigError
from bench.scenarios.mcp_deploy import put_image, seed


def test_login_decodes_the_token_and_hides_the_password(clients, aws):
    url = seed()["repository_url"]
    login = ecr.login(clients, url)
    assert login.registry == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert login.username == "AWS" and login.password == "123456789012-auth-token"
    assert login.password not in repr(login)


def test_image_exists(clients, aws):
    url = seed()["repository_url"]
    assert ecr.image_exists(clients, url, "abc123") is False
    put_image("abc123")
    assert ecr.image_exists(clients, url, "abc123") is True


def test_missing_repository_is_a_config_error(clients, aws):
    with pytest.raises(ConfigError) as err:
        ecr.image_exists(clients, "123456789012.dkr.ecr.us-east-1.amazonaws.com/nope", "x")
    assert "not found" in err.value.message


@pytest.mark.parametrize("url", ["", "registry-only", "reg/name:tag"])
def test_bad_repository_url(url):
    with pytest.raises(ConfigError):
        ecr.split_repository_url(url)
