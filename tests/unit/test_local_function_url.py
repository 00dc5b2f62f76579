"""Function URL request/reply translation (payload format 2.0), and the site's key mapping."""
from __future__ import annotations

import base64
import json

from tars_tasks.local.function_url import build_event, read_reply
from tars_tasks.local.runtime import Payload
from tars_tasks.local.site import is_api, object_key


def test_event_has_the_function_url_shape():
    event = build_event("POST", "/api/chat?x=1&y=", {"Content-Type": "application/json", "Cookie": "a=1; b=2",
                                                       "User-Agent": "ua"}, b'{"q": 1}', 9000)
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/api/chat" and event["rawQueryString"] == "x=1&y="
    assert event["queryStringParameters"] == {"x": "1", "y": ""}
    assert event["headers"]["content-type"] == "application/json" and "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2"]
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["userAgent"]) == ("POST", "/api/chat", "ua")
    assert event["body"] == '{"q": 1}' and event["isBase64Encoded"] is False


def test_binary_bodies_are_base64_and_empty_requests_have_no_body():
    event = build_event("PUT", "/", {"Content-Type": "application/pdf"}, b"%PDF\x00\xff", 1)
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"%PDF\x00\xff"
    event = build_event("GET", "/", {}, b"", 1)
    assert "body" not in event and "queryStringParameters" not in event


def test_reply_with_status_code_headers_cookies_and_base64():
    body = base64.b64encode(b"\x00bin").decode()
    reply = {"StatusCode": 200, "Payload": Payload(json.dumps({
        "statusCode": 404, "headers": {"X-A": "b"}, "cookies": ["s=1"], "body": body, "isBase64Encoded": True}).encode())}
    assert read_reply(reply) == (404, {"X-A": "b"}, ["s=1"], b"\x00bin")


def test_reply_without_status_code_is_a_json_200_and_errors_are_502():
    assert read_reply({"Payload": Payload(b'{"a": 1}')}) == (200, {"Content-Type": "application/json"}, [], b'{"a": 1}')
    status, _, _, body = read_reply({"FunctionError": "Unhandled", "Payload": Payload(b'{"errorMessage": "x"}')})
    assert status == 502 and json.loads(body) == {"Message": "Internal Server Error"}
    assert Payload(b"abc").read() == b"abc"


def test_site_maps_paths_as_cloudfront_does():
    assert object_key("/") == "index.html"
    assert object_key("/assets/app-1.js?v=2") == "assets/app-1.js"
    assert object_key("/docs/") == "docs/index.html"
    assert object_key("/a%20b.txt") == "a b.txt"
    assert is_api("/api") and is_api("/api/chat?x") and not is_api("/apix") and not is_api("/assets/api")
