import importlib
import json
import sys
from pathlib import Path

from tests.support.handler import Context, signed_by_iam

ROOT = Path(__file__).resolve().parents[2]


def handler():
    sys.path.insert(0, str(ROOT / "lambda_src"))
    try:
        return importlib.import_module("handler")
    finally:
        sys.path.remove(str(ROOT / "lambda_src"))


def test_health_direct_invoke():
    h = handler()
    reply = h.lambda_handler({"action": "health"}, None)
    assert reply["statusCode"] == 200
    assert json.loads(reply["body"])["status"] == "ok"


def test_unknown_action_is_400_without_trace():
    h = handler()
    reply = h.lambda_handler(signed_by_iam({"body": json.dumps({"action": "nope"}),
                                            "requestContext": {"http": {"method": "POST"}}}), Context())
    assert reply["statusCode"] == 400
    assert json.loads(reply["body"]) == {"error": "unknown action 'nope'"}


def test_invalid_json_is_400():
    h = handler()
    reply = h.lambda_handler(signed_by_iam({"body": "{nope", "requestContext": {"http": {"method": "POST"}}}), Context())
    assert reply["statusCode"] == 400
