"""Only signed-in SREs (or IAM principals of this account) reach the handler (issue 14, item 2).

Every action x every kind of caller, through the Function URL event shape (payload 2.0), with
real RS256 keys generated here and the pool's JWKS served to the handler by an injected fetcher:
401 without or with a bad token, 403 for a viewer's write, 200 for editors and IAM signers; a
refused request changes nothing.
"""
from __future__ import annotations

import json
import time

import boto3
import pytest

from tests.support.auth import CLIENT_ID, ISSUER, JWKS_URL, POOL_ID, Pool, configure_pool, new_key, unsigned
from tests.support.handler import (ACCOUNT, BUCKET, Context, action_event, configure, create_resources,
                                   handler_module, lambda_module, signed_by_iam, via_cdn)

READS = ("chat", "kb_list", "list_incidents")
WRITES = ("kb_upload", "kb_upload_complete", "kb_update", "kb_delete", "create_incident", "update_incident")
RUNBOOK = "# Ledger runbook\n## KafkaConsumerLagExceeded\nScale the ledger consumer to six replicas.\n"


@pytest.fixture
def pool():
    return Pool()


@pytest.fixture
def world(aws, monkeypatch, pool):
    """Tables, bucket, one active document and one incident; the handler with a user pool."""
    configure(monkeypatch)
    create_resources()
    h = handler_module()
    configure_pool(monkeypatch, pool)
    invoke = lambda payload: json.loads(h.lambda_handler(payload, Context())["body"])   # direct invoke: IAM
    up = invoke({"action": "kb_upload", "service_name": "ledger", "feature_name": "lag", "file_name": "r.md"})
    boto3.client("s3").put_object(Bucket=BUCKET, Key=up["s3_key"], Body=RUNBOOK.encode(), ContentType="text/plain")
    assert invoke({"action": "kb_upload_complete", "document_id": up["document_id"]})["status"] == "active"
    pending = invoke({"action": "kb_upload", "service_name": "ledger", "feature_name": "lag", "file_name": "p.md"})
    boto3.client("s3").put_object(Bucket=BUCKET, Key=pending["s3_key"], Body=RUNBOOK.encode())
    incident = invoke({"action": "create_incident", "service": "ledger", "severity": "P2", "title": "lag"})
    return h, {"active": up["document_id"], "pending": pending["document_id"], "incident": incident["incident_id"]}


def fields_for(action: str, ids: dict) -> dict:
    ids = {"pending": "none", "active": "none", "incident": "none", **ids}
    return {
        "chat": {"question": "any errors in the last hour?"},
        "kb_list": {}, "list_incidents": {}, "health": {},
        "kb_upload": {"service_name": "ledger", "feature_name": "lag", "file_name": "new.md"},
        "kb_upload_complete": {"document_id": ids["pending"]},
        "kb_update": {"document_id": ids["active"], "status": "disabled"},
        "kb_delete": {"document_id": ids["active"]},
        "create_incident": {"service": "ledger", "severity": "P3", "title": "slow"},
        "update_incident": {"incident_id": ids["incident"], "status": "resolved"},
    }[action]


def state():
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    tables = {t: sorted(json.dumps(i, sort_keys=True) for i in ddb.scan(TableName=t)["Items"])
              for t in ddb.list_tables()["TableNames"]}
    objects = sorted((o["Key"], o["ETag"]) for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))
    return tables, objects


# caller -> (how the request arrives, expected status for a read, for a write, error code)
CALLERS = {
    "no-token": (lambda p, ev: via_cdn(ev), 401, 401, "missing_token"),
    "expired": (lambda p, ev: via_cdn(ev, p.token(issued=time.time() - 3600, lifetime=1800)), 401, 401, "token_expired"),
    "wrong-audience": (lambda p, ev: via_cdn(ev, p.token(client_id="someotherappclient0000000")), 401, 401,
                       "wrong_client"),
    "forged": (lambda p, ev: via_cdn(ev, p.token(key=new_key())), 401, 401, "bad_signature"),
    "alg-none": (lambda p, ev: via_cdn(ev, unsigned(p.token())), 401, 401, "unsupported_alg"),
    "viewer": (lambda p, ev: via_cdn(ev, p.token(groups=("tars-viewers",), username="victor@example.com")),
               200, 403, "viewer_cannot_write"),
    "editor": (lambda p, ev: via_cdn(ev, p.token(groups=("tars-editors",))), 200, 200, None),
    "iam-direct": (lambda p, ev: signed_by_iam(ev), 200, 200, None),
}


def _call(h, ev):
    r = h.lambda_handler(ev, Context())
    return r["statusCode"], json.loads(r["body"]), r["headers"]


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("action", READS + WRITES)
def test_every_action_for_every_caller(world, pool, action, caller):
    h, ids = world
    arrive, read_status, write_status, code = CALLERS[caller]
    expected = write_status if action in WRITES else read_status
    before = state()
    status, body, headers = _call(h, arrive(pool, action_event(action, fields_for(action, ids))))
    assert status == expected, body
    if status != 200:
        assert body["code"] == code and body["error"], body
        assert state() == before, "a refused request changed something"
    if status == 401:
        assert headers["WWW-Authenticate"].startswith("Bearer ") and code in headers["WWW-Authenticate"]
    if status == 200 and action in WRITES:
        assert state() != before


@pytest.mark.parametrize("caller", list(CALLERS))
def test_health_answers_anyone(world, pool, caller):
    h, _ = world
    arrive = CALLERS[caller][0]
    status, body, _ = _call(h, arrive(pool, action_event("health", {})))
    assert status == 200 and body["status"] == "ok"


BAD_TOKENS = {
    "wrong-issuer": (lambda p: p.token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool"),
                     "wrong_issuer"),
    "rs512-with-the-pool-key": (lambda p: p.token(alg="RS512"), "unsupported_alg"),
    "hs256-with-the-public-key-as-secret": (
        lambda p: _hs256_with_public_key(p), "unsupported_alg"),
    "unknown-kid": (lambda p: p.token(kid="key-9", key=new_key()), "unknown_key"),
    "id-token": (lambda p: p.token(token_use="id", client_id=None, aud=CLIENT_ID), "wrong_token_use"),
    "token-use-id-shaped-like-access": (lambda p: p.token(token_use="id"), "wrong_token_use"),
    "no-exp": (lambda p: p.token(exp=None), "invalid_token"),
    "garbage": (lambda p: "not.a.jwt", "malformed_token"),
    "no-group": (lambda p: p.token(groups=()), "no_role"),
}


def _hs256_with_public_key(pool: Pool) -> str:
    """The classic key-confusion forgery: HMAC keyed with the pool's public key bytes."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    pem = pool.keys["key-1"].public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    good = pool.token().split(".")
    header = json.loads(__import__("base64").urlsafe_b64decode(good[0] + "==")) | {"alg": "HS256"}
    b64 = lambda raw: __import__("base64").urlsafe_b64encode(raw).decode().rstrip("=")
    signing_input = f"{b64(json.dumps(header).encode())}.{good[1]}"
    return f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_bad_tokens_are_401_and_a_token_without_role_is_403(world, pool, case):
    h, _ = world
    make, code = BAD_TOKENS[case]
    before = state()
    status, body, _ = _call(h, via_cdn(action_event("kb_list", {}), make(pool)))
    assert (status, body["code"]) == (403 if code == "no_role" else 401, code), body
    assert state() == before


def test_a_token_in_bearer_form_and_a_small_clock_skew_are_accepted(world, pool):
    h, _ = world
    token = pool.token(issued=time.time() + 10)   # iat 10 s ahead of the function's clock
    assert _call(h, via_cdn(action_event("kb_list", {}), "Bearer " + token))[0] == 200


@pytest.mark.parametrize("how", ["other-account", "through-cloudfront", "no-iam-authorizer"])
def test_iam_alone_authorizes_only_a_direct_signer_of_this_account(world, pool, how):
    """The machine path: SigV4 by an IAM principal of the function's own account, not through
    CloudFront (X-Amz-Cf-Id), is enough; anything else needs a user token."""
    h, _ = world
    ev = action_event("create_incident", fields_for("create_incident", {}))
    if how == "other-account":
        ev = signed_by_iam(ev, user_arn="arn:aws:iam::999999999999:user/mallory", account="999999999999")
    elif how == "through-cloudfront":
        ev = via_cdn(signed_by_iam(ev))
    before = state()
    status, body, _ = _call(h, ev)
    assert (status, body["code"]) == (401, "missing_token")
    assert state() == before
    assert _call(h, signed_by_iam(action_event("create_incident", fields_for("create_incident", {}))))[0] == 200


def test_iam_signer_needs_the_functions_own_account_in_the_arn_too(world):
    h, _ = world
    auth = lambda_module("auth")
    ev = signed_by_iam(action_event("kb_list", {}), user_arn="arn:aws:iam::999999999999:user/x")  # accountId ours
    assert auth.iam_signer(ev, Context()) is None
    assert auth.iam_signer(signed_by_iam(action_event("kb_list", {})), Context()) == \
        f"arn:aws:sts::{ACCOUNT}:assumed-role/tars-deploy/ci"
    assert auth.iam_signer(signed_by_iam(action_event("kb_list", {})), None) is None   # no context: no account


def test_a_direct_invoke_is_an_iam_caller(world):
    h, _ = world
    r = h.lambda_handler({"action": "create_incident", "service": "x", "severity": "P4", "title": "t"}, Context())
    assert r["statusCode"] == 200


def test_without_a_user_pool_it_fails_closed_for_people_and_answers_iam(aws, monkeypatch):
    """No COGNITO_USER_POOL_ID: no person can be checked, so none gets in (503, nothing written);
    an IAM signer of this account and health still answer."""
    configure(monkeypatch)
    create_resources()
    h = handler_module()
    monkeypatch.delenv("COGNITO_USER_POOL_ID", raising=False)
    table = boto3.resource("dynamodb").Table("sre-poc-incidents")
    for ev in (via_cdn(action_event("create_incident", fields_for("create_incident", {}))),
               action_event("create_incident", fields_for("create_incident", {}))):   # no signer at all
        status, body, _ = _call(h, ev)
        assert status == 503 and "COGNITO_USER_POOL_ID" in body["error"]
    assert table.scan()["Items"] == []
    assert _call(h, signed_by_iam(action_event("create_incident", fields_for("create_incident", {}))))[0] == 200
    assert len(table.scan()["Items"]) == 1
    assert _call(h, via_cdn(action_event("health", {})))[0] == 200


def test_the_jwks_comes_from_the_emulator_when_an_endpoint_override_is_set(monkeypatch, aws):
    handler_module()
    auth = lambda_module("auth")
    monkeypatch.setenv("COGNITO_USER_POOL_ID", POOL_ID)
    monkeypatch.delenv("COGNITO_JWKS_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5123/")
    cfg = auth.settings()
    assert cfg.jwks_url == f"http://127.0.0.1:5123/{POOL_ID}/.well-known/jwks.json" and cfg.issuer == ISSUER
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert auth.settings().jwks_url == JWKS_URL


def test_the_pool_settings_come_from_the_environment(monkeypatch, aws):
    handler_module()
    auth = lambda_module("auth")
    monkeypatch.setenv("COGNITO_USER_POOL_ID", POOL_ID)
    monkeypatch.setenv("COGNITO_CLIENT_ID", f" {CLIENT_ID} ,second")
    cfg = auth.settings()
    assert (cfg.issuer, cfg.jwks_url, cfg.client_ids, cfg.region) == (ISSUER, JWKS_URL, (CLIENT_ID, "second"), "us-east-1")
    monkeypatch.setenv("COGNITO_JWKS_URL", "http://127.0.0.1:5000/pool/.well-known/jwks.json")
    assert auth.settings().jwks_url == "http://127.0.0.1:5000/pool/.well-known/jwks.json"
    assert auth.settings().issuer == ISSUER   # moto's tokens keep the AWS issuer


def test_a_pool_without_a_client_id_is_503_not_open(world, pool, monkeypatch):
    h, _ = world
    monkeypatch.setenv("COGNITO_CLIENT_ID", "")
    status, body, _ = _call(h, via_cdn(action_event("kb_list", {}), pool.token()))
    assert status == 503 and "COGNITO_CLIENT_ID" in body["error"]


# ------------------------------------------------------------------ the JWKS cache
def test_jwks_is_fetched_once_per_execution_environment(world, pool):
    h, _ = world
    for _ in range(5):
        assert _call(h, via_cdn(action_event("kb_list", {}), pool.token()))[0] == 200
    assert pool.fetched == [JWKS_URL]


def test_a_rotated_key_is_picked_up_by_one_refetch_and_forged_kids_are_rate_limited(world, pool):
    h, _ = world
    auth = lambda_module("auth")
    clock = [1000.0]
    keys = auth.keyset(JWKS_URL)
    keys.clock = lambda: clock[0]
    assert _call(h, via_cdn(action_event("kb_list", {}), pool.token()))[0] == 200
    assert len(pool.fetched) == 1
    clock[0] += auth.JWKS_REFETCH_AFTER_S            # a minute later Cognito rotates its keys
    pool.keys["key-2"] = new_key()
    assert _call(h, via_cdn(action_event("kb_list", {}), pool.token(kid="key-2")))[0] == 200
    assert len(pool.fetched) == 2                    # one refetch found the new kid
    for i in range(20):                              # a flood of unknown kids: no refetch within the minute
        status, body, _ = _call(h, via_cdn(action_event("kb_list", {}), pool.token(kid=f"forged-{i}", key=new_key())))
        assert (status, body["code"]) == (401, "unknown_key")
    assert len(pool.fetched) == 2
    clock[0] += auth.JWKS_REFETCH_AFTER_S
    assert _call(h, via_cdn(action_event("kb_list", {}), pool.token(kid="forged-x", key=new_key())))[0] == 401
    assert len(pool.fetched) == 3


def test_an_unreachable_jwks_is_503_and_retried_on_the_next_request(world, pool, monkeypatch):
    h, _ = world
    auth = lambda_module("auth")
    failing = []

    def down(url):
        failing.append(url)
        raise OSError("connection refused")

    auth.reset(down)
    status, body, _ = _call(h, via_cdn(action_event("kb_list", {}), pool.token()))
    assert status == 503 and "signing keys" in body["error"]
    auth.reset(pool.fetch)
    assert _call(h, via_cdn(action_event("kb_list", {}), pool.token()))[0] == 200


# ------------------------------------------------------------------ audit
def _audit_lines(caplog):
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "tars.audit"]


def test_a_write_and_a_refusal_each_leave_one_audit_line(world, pool, caplog):
    import logging

    h, ids = world
    caplog.set_level(logging.INFO, logger="tars.audit")
    caplog.clear()
    token = pool.token(groups=("tars-editors",), username="alice@example.com")
    assert _call(h, via_cdn(action_event("kb_update", {"document_id": ids["active"], "status": "disabled"}), token))[0] == 200
    assert _call(h, via_cdn(action_event("kb_list", {}), token))[0] == 200          # a read: no line
    viewer = pool.token(groups=("tars-viewers",), username="victor@example.com")
    assert _call(h, via_cdn(action_event("kb_delete", {"document_id": ids["active"]}), viewer))[0] == 403
    assert _call(h, via_cdn(action_event("create_incident", fields_for("create_incident", ids))))[0] == 401
    ok, forbidden, anonymous = _audit_lines(caplog)
    assert ok["result"] == "ok" and ok["action"] == "kb_update" and ok["ids"] == {"document_id": ids["active"]}
    assert ok["who"]["username"] == "alice@example.com" and ok["who"]["kind"] == "user" and ok["who"]["sub"]
    assert ok["source_ip"] == "198.51.100.7" and ok["forwarded_for"] == "198.51.100.7"
    assert (forbidden["result"], forbidden["status"], forbidden["reason"]) == ("refused", 403, "viewer_cannot_write")
    assert forbidden["who"]["username"] == "victor@example.com" and forbidden["ids"] == {"document_id": ids["active"]}
    assert (anonymous["status"], anonymous["reason"], anonymous["who"]) == (401, "missing_token", {"kind": "unauthenticated"})
    assert all(token not in json.dumps(line) and viewer not in json.dumps(line) for line in (ok, forbidden, anonymous))


def test_an_iam_write_names_the_signer_in_its_audit_line(world, caplog):
    import logging

    h, _ = world
    caplog.set_level(logging.INFO, logger="tars.audit")
    caplog.clear()
    status, body, _ = _call(h, signed_by_iam(action_event("create_incident", fields_for("create_incident", {}))))
    assert status == 200
    (line,) = _audit_lines(caplog)
    assert line["who"] == {"kind": "iam", "principal": f"arn:aws:sts::{ACCOUNT}:assumed-role/tars-deploy/ci"}
    assert line["ids"] == {"incident_id": body["incident_id"]}
