"""Who is calling, and may they: Cognito access tokens for people, IAM for machines.

Two ways in (docs/security.md):

- **Through the CDN** (the triage UI): CloudFront's origin access control signs the request to the
  Function URL with SigV4 in ``Authorization``, for anyone who reaches the distribution. So the
  person's Cognito *access token* travels in ``x-tars-token`` (a header OAC leaves alone) and is
  checked here: RS256 signature against the user pool's JWKS, issuer, ``token_use == "access"``,
  ``client_id`` (the UI's app client), expiry. Roles come from ``cognito:groups``: ``tars-editors``
  may write, ``tars-viewers`` may read. Access tokens, not ID tokens: they are what Cognito issues
  for calling a resource server, they carry the groups and the client id, and no personal
  attributes (the ID token is for the client to learn who signed in).
- **Directly, signed by an IAM principal of this account** (``inv verify``, CI, an operator's
  script): the Function URL's ``AWS_IAM`` auth already proved the signer holds
  ``lambda:InvokeFunctionUrl``, so IAM alone authorizes it. The event's
  ``requestContext.authorizer.iam`` names the signer (``accountId``, ``callerId``, ``userArn``,
  ``userId``, ``accessKey``, ``principalOrgId``: the Lambda developer guide's "Invoking Lambda
  function URLs", request payload, and aws-lambda-go's events/testdata/lambda-urls-request.json).
  A request that came through CloudFront always carries ``X-Amz-Cf-Id``: "the headers that
  CloudFront automatically includes in every origin request, including Host, User-Agent, and
  X-Amz-Cf-Id" (CloudFront API reference, OriginRequestPolicy), and CloudFront overwrites a
  viewer's own value. Such a request is never taken for a machine, whatever OAC's signer looks
  like: it needs a user token. A direct invoke (no HTTP request) was authorized by
  ``lambda:InvokeFunction``: IAM too.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

from validation import ApiError

logger = logging.getLogger("tars")

TOKEN_HEADER = "x-tars-token"
ALGORITHMS = ["RS256"]            # Cognito signs with RS256; nothing else is accepted
LEEWAY_S = 30                     # clock skew allowed on exp/iat
JWKS_REFETCH_AFTER_S = 60.0       # an unknown kid refetches the JWKS at most once a minute
JWKS_TIMEOUT_S = 3.0
EDITORS, VIEWERS = "tars-editors", "tars-viewers"
_IAM_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


@dataclass(frozen=True)
class Caller:
    kind: str                     # "user" (Cognito token) or "iam" (SigV4 / invoke)
    role: str | None              # "editor", "viewer", or None (signed in but in no TARS group)
    sub: str | None = None
    username: str | None = None
    principal: str | None = None  # the IAM signer's ARN
    groups: tuple[str, ...] = field(default_factory=tuple)

    def who(self) -> dict:
        return {k: v for k, v in (("kind", self.kind), ("sub", self.sub), ("username", self.username),
                                  ("principal", self.principal)) if v}


class Unauthorized(ApiError):
    """401: no token or a bad one; ``code`` says which."""

    def __init__(self, code: str, message: str):
        super().__init__(401, message, fields={"code": code},
                         headers={"WWW-Authenticate": f'Bearer realm="tars", error="invalid_token", '
                                                      f'error_description="{code}"'})
        self.code = code


class Forbidden(ApiError):
    def __init__(self, code: str, message: str):
        super().__init__(403, message, fields={"code": code})
        self.code = code


@dataclass(frozen=True)
class Settings:
    user_pool_id: str
    client_ids: tuple[str, ...]
    region: str
    issuer: str
    jwks_url: str


def settings() -> Settings | None:
    """The user pool the environment names, or None when it names none."""
    pool = os.environ.get("COGNITO_USER_POOL_ID", "").strip()
    if not pool:
        return None
    region = pool.split("_", 1)[0] if "_" in pool else (os.environ.get("AWS_REGION") or "us-east-1")
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool}"
    clients = tuple(c.strip() for c in os.environ.get("COGNITO_CLIENT_ID", "").split(",") if c.strip())
    # An AWS endpoint override (boto3's AWS_ENDPOINT_URL: only the local emulator's runtime sets one)
    # serves the pool's JWKS at <endpoint>/<pool>/.well-known/jwks.json, as moto does; its tokens
    # still carry the AWS issuer.
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").strip().rstrip("/")
    jwks = (os.environ.get("COGNITO_JWKS_URL", "").strip()
            or (f"{endpoint}/{pool}/.well-known/jwks.json" if endpoint else f"{issuer}/.well-known/jwks.json"))
    return Settings(pool, clients, region, issuer, jwks)


# ------------------------------------------------------------------------------- the signing keys
def _fetch_url(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=JWKS_TIMEOUT_S) as reply:  # noqa: S310 - https (or the emulator)
        return json.loads(reply.read(1_000_000))


class KeySet:
    """The user pool's JWKS, cached for the execution environment; an unknown ``kid`` (key
    rotation) refetches it, at most once per JWKS_REFETCH_AFTER_S, so forged kids cannot turn
    every request into a fetch."""

    def __init__(self, url: str, fetch: Callable[[str], dict], clock: Callable[[], float] = time.monotonic):
        self.url, self.fetch, self.clock = url, fetch, clock
        self.keys: dict[str, Any] = {}
        self.fetched_at: float | None = None
        self.fetches = 0
        self._lock = threading.Lock()

    def _load(self) -> None:
        from jwt import PyJWKSet
        from jwt.exceptions import PyJWKSetError

        self.fetches += 1
        try:
            jwks = PyJWKSet.from_dict(self.fetch(self.url))
        except (OSError, ValueError, PyJWKSetError) as err:
            logger.warning("Cannot fetch the user pool's signing keys from %s: %s", self.url, type(err).__name__)
            raise ApiError(503, "cannot fetch the user pool's signing keys; try again") from None
        self.fetched_at = self.clock()
        self.keys = {k.key_id: k for k in jwks.keys if k.key_id}

    def get(self, kid: str):
        with self._lock:
            if self.fetched_at is None:   # never loaded (or every fetch so far failed: a 503 each)
                self._load()
            if kid not in self.keys and self.clock() - self.fetched_at >= JWKS_REFETCH_AFTER_S:
                self._load()
            return self.keys.get(kid)


_KEYSETS: dict[str, KeySet] = {}
_FETCH: Callable[[str], dict] = _fetch_url


def keyset(url: str) -> KeySet:
    if url not in _KEYSETS:
        _KEYSETS[url] = KeySet(url, _FETCH)
    return _KEYSETS[url]


def reset(fetch: Callable[[str], dict] | None = None) -> None:
    """Forget cached keys (tests); optionally fetch JWKS documents with ``fetch``."""
    global _FETCH
    _KEYSETS.clear()
    _FETCH = fetch or _fetch_url


# ------------------------------------------------------------------------------- the user token
def verify_token(token: str, cfg: Settings) -> dict:
    """The claims of a valid access token of this pool and client; Unauthorized otherwise."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("malformed_token", "the token is not a JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise Unauthorized("unsupported_alg", f"token algorithm {str(header.get('alg'))[:20]!r} is not accepted "
                                              f"(only {', '.join(ALGORITHMS)})")
    key = keyset(cfg.jwks_url).get(str(header.get("kid")))
    if key is None:
        raise Unauthorized("unknown_key", "the token was not signed by a key of this user pool")
    try:
        claims = jwt.decode(token, key.key, algorithms=ALGORITHMS, issuer=cfg.issuer, leeway=LEEWAY_S,
                            options={"require": ["exp", "iat", "iss", "sub", "token_use"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token_expired", "the token has expired: sign in again") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized("wrong_issuer", "the token was issued by another user pool") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("bad_signature", "the token's signature does not verify") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("wrong_token_use", "an ID token is not accepted: send the access token") from None
    except jwt.PyJWTError as err:
        raise Unauthorized("invalid_token", f"the token is not valid: {type(err).__name__}") from None
    if claims.get("token_use") != "access":
        raise Unauthorized("wrong_token_use", "only access tokens are accepted (got "
                                              f"{str(claims.get('token_use'))[:20]!r})")
    if claims.get("client_id") not in cfg.client_ids:
        raise Unauthorized("wrong_client", "the token was issued to another app client")
    return claims


def _role(groups: tuple[str, ...]) -> str | None:
    if EDITORS in groups:
        return "editor"
    if VIEWERS in groups:
        return "viewer"
    return None


# ------------------------------------------------------------------------------- the caller
def headers_of(event: dict) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}


def _own_account(context: Any) -> str | None:
    arn = getattr(context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def iam_signer(event: dict, context: Any) -> str | None:
    """The ARN of the IAM principal of this account that signed a direct Function URL request,
    or None (through CloudFront, no IAM authorizer, another account)."""
    if "x-amz-cf-id" in headers_of(event):
        return None
    iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
    arn, account = str(iam.get("userArn") or ""), str(iam.get("accountId") or "")
    own = _own_account(context)
    match = _IAM_ARN.match(arn)
    if own and match and match.group(1) == own and account == own:
        return arn
    return None


def _token(event: dict) -> str | None:
    value = headers_of(event).get(TOKEN_HEADER, "").strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    return value or None


def authenticate(event: dict, context: Any) -> Caller:
    """The caller of ``event``; Unauthorized when a person's token is missing or bad."""
    if not (event.get("requestContext") or {}).get("http"):
        return Caller("iam", "editor", principal="lambda:InvokeFunction")   # a direct invoke
    signer = iam_signer(event, context)
    if signer:
        return Caller("iam", "editor", principal=signer)
    cfg = settings()
    if cfg is None:   # fail closed: no pool to check people against, so no person gets in
        raise ApiError(503, "sign-in is not configured (no COGNITO_USER_POOL_ID): only IAM-signed calls are "
                            "answered")
    token = _token(event)
    if not token:
        raise Unauthorized("missing_token", f"sign in: this API needs a user token in the {TOKEN_HEADER} header")
    if not cfg.client_ids:
        raise ApiError(503, "the API's user pool client is not configured (COGNITO_CLIENT_ID)")
    claims = verify_token(token, cfg)
    groups = tuple(g for g in claims.get("cognito:groups") or () if isinstance(g, str))
    return Caller("user", _role(groups), sub=str(claims.get("sub")), username=str(claims.get("username") or ""),
                  groups=groups)


def authorize(caller: Caller, action: str, write: bool) -> None:
    """Forbidden unless ``caller``'s role allows ``action``."""
    if caller.role is None:
        raise Forbidden("no_role", f"your account is in neither {VIEWERS} nor {EDITORS}: ask an operator "
                                   "to add you (inv users.role)")
    if write and caller.role != "editor":
        raise Forbidden("viewer_cannot_write", f"'{action}' changes data: it needs the editor role "
                                               f"({EDITORS}); you are a viewer")
