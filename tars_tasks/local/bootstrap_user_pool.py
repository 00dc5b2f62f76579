"""The local user pool: what infrastructure/cognito.tf creates, in the emulator (moto's cognito-idp).

One place, easy to drop once the local target applies infrastructure/ with Terraform (issue 13):
the pool ``<project>-sre`` (admin-created users only, the same password policy), the UI's app
client (no secret, SRP and refresh), the two role groups; its outputs (the ``cognito_*`` names of
infrastructure/outputs.tf) and the handler's COGNITO_* environment. With a pool the local handler
enforces sign-in, exactly as in AWS.

The handler fetches the pool's JWKS from ``$AWS_ENDPOINT_URL/<pool>/.well-known/jwks.json`` (moto
serves it there; lambda_src/auth.py), the UI signs in against the emulator (VITE_COGNITO_ENDPOINT).
"""
from __future__ import annotations

from typing import Any

from ..aws.errors import translate

GROUPS = {"tars-viewers": 20, "tars-editors": 10}     # name -> precedence (cognito.tf)
SERVICE = "cognito-idp"


def pool_name(ctx) -> str:
    return f"{ctx.project}-sre"


def client_name(ctx) -> str:
    return f"{ctx.project}-ui"


def pool_id(ctx) -> str | None:
    with translate("list the user pools"):
        for page in ctx.client(SERVICE).get_paginator("list_user_pools").paginate(MaxResults=60):
            for pool in page.get("UserPools", []):
                if pool.get("Name") == pool_name(ctx):
                    return pool["Id"]
    return None


def client_id(ctx, pool: str | None) -> str | None:
    if not pool:
        return None
    with translate("list the user pool's app clients"):
        for page in ctx.client(SERVICE).get_paginator("list_user_pool_clients").paginate(UserPoolId=pool, MaxResults=60):
            for client in page.get("UserPoolClients", []):
                if client.get("ClientName") == client_name(ctx):
                    return client["ClientId"]
    return None


def missing(ctx) -> tuple[str, str] | None:
    """("create" | "update", why) when the pool, its app client or a group is missing; else None."""
    pool = pool_id(ctx)
    if pool is None:
        return "create", "app client and groups with it"
    with translate("list the user pool's groups"):
        have = {g["GroupName"] for g in ctx.client(SERVICE).list_groups(UserPoolId=pool).get("Groups", [])}
    if client_id(ctx, pool) is None or set(GROUPS) - have:
        return "update", "app client or groups missing"
    return None


def apply(ctx, change) -> None:
    idp = ctx.client(SERVICE)
    pool = pool_id(ctx)
    with translate(f"create user pool {change.name}"):
        if pool is None:
            pool = idp.create_user_pool(
                PoolName=pool_name(ctx), AutoVerifiedAttributes=["email"], MfaConfiguration="OPTIONAL",
                UsernameConfiguration={"CaseSensitive": False},
                AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
                Policies={"PasswordPolicy": {"MinimumLength": 14, "RequireUppercase": True, "RequireLowercase": True,
                                             "RequireNumbers": True, "RequireSymbols": True,
                                             "TemporaryPasswordValidityDays": 3}})["UserPool"]["Id"]
        if client_id(ctx, pool) is None:
            idp.create_user_pool_client(
                UserPoolId=pool, ClientName=client_name(ctx), GenerateSecret=False,
                # cognito.tf allows SRP only; locally the UI signs in with USER_PASSWORD_AUTH (moto
                # cannot complete SRP: see ui/src/auth.js)
                ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                PreventUserExistenceErrors="ENABLED", EnableTokenRevocation=True,
                AccessTokenValidity=30, IdTokenValidity=30, RefreshTokenValidity=12,
                TokenValidityUnits={"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "hours"})
        have = {g["GroupName"] for g in idp.list_groups(UserPoolId=pool).get("Groups", [])}
        for group, precedence in GROUPS.items():
            if group not in have:
                idp.create_group(UserPoolId=pool, GroupName=group, Precedence=precedence)


def values(ctx) -> dict[str, Any]:
    """Settings values and outputs of the local pool (None before it exists)."""
    pool = pool_id(ctx)
    return {"cognito_user_pool_id": pool, "cognito_client_id": client_id(ctx, pool)}


def outputs(ctx) -> dict[str, str | None]:
    """infrastructure/outputs.tf's cognito_* outputs, for the emulator's pool."""
    found = values(ctx)
    pool, region = found["cognito_user_pool_id"], ctx.settings.region
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool}" if pool else None
    return {**found, "cognito_region": region, "cognito_issuer": issuer,
            "cognito_jwks_url": f"{issuer}/.well-known/jwks.json" if issuer else None}


def lambda_environment(ctx) -> dict[str, str]:
    """What lambda.tf sets for the handler's sign-in check (only once the pool exists)."""
    found = values(ctx)
    if not found["cognito_user_pool_id"] or not found["cognito_client_id"]:
        return {}
    return {"COGNITO_USER_POOL_ID": found["cognito_user_pool_id"], "COGNITO_CLIENT_ID": found["cognito_client_id"]}
