"""Cognito-shaped tokens for handler tests: a user pool's RSA key pair generated here, its JWKS,
and access tokens with the claims Cognito puts in them (or with one thing wrong)."""
from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

REGION = "us-east-1"
POOL_ID = "us-east-1_TaRsPoOl1"
CLIENT_ID = "4uiclientid0000000000000ab"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Pool:
    """A user pool's signing keys (kid -> private key) and the JWKS it publishes."""
    keys: dict = field(default_factory=lambda: {"key-1": new_key()})
    fetched: list = field(default_factory=list)

    def jwks(self) -> dict:
        out = []
        for kid, key in self.keys.items():
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            out.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": out}

    def fetch(self, url: str) -> dict:
        """The JWKS fetcher injected into auth.py (records each fetch)."""
        self.fetched.append(url)
        if url != JWKS_URL:
            raise OSError(f"no JWKS at {url}")
        return self.jwks()

    def token(self, *, groups=("tars-editors",), username="alice@example.com", kid="key-1", alg="RS256",
              key=None, lifetime=1800, issued=None, **claims) -> str:
        now = int(issued if issued is not None else time.time())
        payload = {"sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, username)), "iss": ISSUER, "client_id": CLIENT_ID,
                   "origin_jti": str(uuid.uuid4()), "event_id": str(uuid.uuid4()), "token_use": "access",
                   "scope": "aws.cognito.signin.user.admin", "auth_time": now, "iat": now, "exp": now + lifetime,
                   "jti": str(uuid.uuid4()), "username": username}
        if groups:
            payload["cognito:groups"] = list(groups)
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.keys[kid], algorithm=alg, headers={"kid": kid})


def unsigned(payload_from: str) -> str:
    """The same claims with ``alg: none`` and no signature."""
    claims = jwt.decode(payload_from, options={"verify_signature": False})
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'key-1'})}.{part(claims)}."


def configure_pool(monkeypatch, pool: Pool) -> None:
    """The handler's environment as Terraform sets it, JWKS fetched from ``pool``."""
    from tests.support.handler import lambda_module

    monkeypatch.setenv("COGNITO_USER_POOL_ID", POOL_ID)
    monkeypatch.setenv("COGNITO_CLIENT_ID", CLIENT_ID)
    lambda_module("auth").reset(pool.fetch)
