"""The handler against moto's real Cognito (its server on 127.0.0.1): a user pool, an app client,
users in tars-editors / tars-viewers, access tokens moto issues (RS256) for USER_PASSWORD_AUTH,
and the JWKS moto serves at /<pool_id>/.well-known/jwks.json, fetched by the handler over HTTP.
"""
from __future__ import annotations

import json

import boto3
import pytest

from tests.support.handler import Context, action_event, configure, create_resources, handler_module, lambda_module, via_cdn

PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture
def cognito(endpoint, monkeypatch):
    idp = boto3.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="sre-poc-sre", AdminCreateUserConfig={"AllowAdminCreateUserOnly": True})[
        "UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="sre-poc-ui", GenerateSecret=False,
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH",
                                                            "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    for group in ("tars-viewers", "tars-editors"):
        idp.create_group(UserPoolId=pool, GroupName=group)

    def user(name: str, group: str) -> dict:
        idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": name}])
        idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=PASSWORD, Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=pool, Username=name, GroupName=group)
        return idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD})["AuthenticationResult"]

    configure(monkeypatch, COGNITO_USER_POOL_ID=pool, COGNITO_CLIENT_ID=client,
              COGNITO_JWKS_URL=f"{endpoint}/{pool}/.well-known/jwks.json")
    create_resources()
    h = handler_module()
    lambda_module("auth").reset()          # the real fetcher: HTTP to moto's server
    return h, user, pool


def call(h, ev):
    r = h.lambda_handler(ev, Context())
    return r["statusCode"], json.loads(r["body"])


def test_a_moto_issued_access_token_is_verified_end_to_end(cognito):
    h, user, pool = cognito
    editor = user("alice@example.com", "tars-editors")
    viewer = user("victor@example.com", "tars-viewers")
    fields = {"service": "ledger", "severity": "P2", "title": "consumer lag"}

    status, body = call(h, via_cdn(action_event("create_incident", fields), editor["AccessToken"]))
    assert status == 200, body
    item = boto3.client("dynamodb").get_item(TableName="sre-poc-incidents",
                                             Key={"incident_id": {"S": body["incident_id"]}})["Item"]
    assert item["title"]["S"] == "consumer lag"

    status, listed = call(h, via_cdn(action_event("list_incidents", {}), viewer["AccessToken"]))
    assert status == 200 and listed["total"] == 1
    status, refused = call(h, via_cdn(action_event("create_incident", fields), viewer["AccessToken"]))
    assert (status, refused["code"]) == (403, "viewer_cannot_write")

    # moto's ID token is RS256 by the same key, for the same client: still not an access token
    status, refused = call(h, via_cdn(action_event("list_incidents", {}), editor["IdToken"]))
    assert (status, refused["code"]) == (401, "wrong_token_use")
    assert call(h, via_cdn(action_event("list_incidents", {})))[0] == 401
    assert lambda_module("auth").keyset(f"{boto3.client('cognito-idp').meta.endpoint_url}/{pool}/.well-known/jwks.json").fetches == 1


def test_a_token_of_another_pool_on_the_same_emulator_is_refused(cognito):
    h, user, pool = cognito
    idp = boto3.client("cognito-idp")
    other = idp.create_user_pool(PoolName="elsewhere")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=other, ClientName="x",
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=other, Username="eve@example.com", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=other, Username="eve@example.com", Password=PASSWORD, Permanent=True)
    token = idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": "eve@example.com", "PASSWORD": PASSWORD}
                              )["AuthenticationResult"]["AccessToken"]
    # moto signs every pool's tokens with one key, so only the issuer check tells them apart
    status, body = call(h, via_cdn(action_event("list_incidents", {}), token))
    assert (status, body["code"]) == (401, "wrong_issuer")
