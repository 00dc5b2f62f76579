"""TARS Lambda handler: a router on the request's ``action``.

Requests arrive as Lambda Function URL events (or a direct invoke with ``{"action": ...}``).
Add an action by decorating a function with ``@action("name")`` (``write=True`` when it changes
anything: over HTTP it then answers only POST, and only editors may call it); it receives the
parsed request and returns a JSON-serialisable dict (or raises ApiError for a 4xx).

Every action but ``health`` needs a caller (auth.py): a signed-in person's access token, or an
IAM signature. Writes and refusals leave one audit line (audit.py). S3's ObjectCreated events
for the KB bucket arrive as direct invokes and go to kb.object_created.
"""
from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path
from typing import Any, Callable

import audit
import auth
import chat
import config
import incidents
import kb
from validation import ApiError

logger = logging.getLogger("tars")
logger.setLevel(logging.INFO)

_HERE = Path(__file__).resolve().parent
MAX_BODY = 1024 * 1024
PUBLIC = {"health"}             # the only action answered without a caller
CORS_ALLOW = {
    "Access-Control-Allow-Headers": f"Content-Type,{auth.TOKEN_HEADER},x-amz-content-sha256",
    "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
    "Access-Control-Max-Age": "600",
}


def cors_headers(event: dict) -> dict[str, str]:
    """CORS for an Origin listed in ALLOWED_ORIGINS, else none: the site calls /api on its own
    origin (same-origin needs no CORS), and no other page may read the API's replies."""
    origin = auth.headers_of(event if isinstance(event, dict) else {}).get("origin", "")
    allowed = {o.strip() for o in os.environ.get("ALLOWED_ORIGINS", "").split(",") if o.strip()}
    if origin and origin in allowed:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", **CORS_ALLOW}
    return {"Vary": "Origin"}


def _build_info() -> dict[str, str]:
    try:
        return json.loads((_HERE / "build_info.json").read_text())
    except (OSError, ValueError):
        return {"commit": "unknown"}


BUILD = _build_info()
ACTIONS: dict[str, Callable[["Request"], dict]] = {}
WRITES: set[str] = set()   # actions that change state: POST only over HTTP (a GET must never write)


class Request:
    def __init__(self, event: dict, context: Any):
        self.event = event
        self.context = context
        http = (event.get("requestContext") or {}).get("http") or {}
        self.method = (http.get("method") or event.get("httpMethod") or "").upper() or None
        self.query = dict(event.get("queryStringParameters") or {})
        self.body = self._parse_body(event, is_http=self.method is not None)

    @staticmethod
    def _parse_body(event: dict, is_http: bool) -> dict:
        if not is_http:  # direct invoke: the event itself is the request
            return {k: v for k, v in event.items() if k not in ("requestContext", "headers")}
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(raw).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, "body is not valid base64 UTF-8") from None
        if len(raw.encode("utf-8")) > MAX_BODY:
            raise ApiError(400, f"body larger than {MAX_BODY} bytes")
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "body is not valid JSON") from None
        except RecursionError:  # the parser's own limit (~1,000 levels), never a 500
            raise ApiError(400, "body is nested too deeply") from None
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object")
        return body

    @property
    def action(self) -> str | None:
        name = self.body.get("action") or self.query.get("action")
        if name is not None and not isinstance(name, str):
            raise ApiError(400, f"field 'action' must be a string (got a JSON {type(name).__name__})")
        return name

    @property
    def params(self) -> dict:
        """Query string and body together (the body wins)."""
        return {**self.query, **self.body}

    def field(self, name: str, required: bool = True, default: Any = None) -> Any:
        value = self.body.get(name, self.query.get(name, default))
        if required and (value is None or value == ""):
            raise ApiError(400, f"missing field '{name}'")
        return value


def action(name: str, write: bool = False) -> Callable:
    def register(fn: Callable[[Request], dict]) -> Callable[[Request], dict]:
        ACTIONS[name] = fn
        if write:
            WRITES.add(name)
        return fn
    return register


def reply(status: int, payload: dict, headers: dict[str, str] | None = None) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json", **(headers or {})},
            "body": json.dumps(payload, default=str)}


@action("health")
def health(req: Request) -> dict:
    version = getattr(req.context, "function_version", None) or os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    return {"status": "ok", "version": version, "commit": BUILD.get("commit", "unknown")}


def _with_config(fn: Callable[[config.Config, dict], dict]) -> Callable[[Request], dict]:
    return lambda req: fn(config.load(), req.params)


for _name, _fn, _write in (
    ("chat", chat.chat, False),
    ("kb_upload", kb.upload, True),
    ("kb_upload_complete", kb.upload_complete, True),
    ("kb_list", kb.list_documents, False),
    ("kb_update", kb.update, True),
    ("kb_delete", kb.delete, True),
    ("create_incident", incidents.create, True),
    ("update_incident", incidents.update, True),
    ("list_incidents", incidents.list_incidents, False),
):
    action(_name, write=_write)(_with_config(_fn))


def _failure(exc: Exception) -> dict:
    """A 5xx reply naming the failure's kind, never its trace."""
    from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError, EndpointConnectionError)):
        return reply(503, {"error": "a backing AWS service did not answer in time; try again"})
    if isinstance(exc, ClientError):
        return reply(502, {"error": f"AWS call failed: {exc.response.get('Error', {}).get('Code', 'unknown')}"})
    if isinstance(exc, BotoCoreError):
        return reply(502, {"error": f"AWS call failed: {type(exc).__name__}"})
    return reply(500, {"error": "internal error"})


def _is_s3_event(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) and not event.get("requestContext") else None
    return bool(records) and isinstance(records, list) and all(
        isinstance(r, dict) and r.get("eventSource") == "aws:s3" for r in records)


def lambda_handler(event: dict, context: Any) -> dict:
    cors = cors_headers(event)
    caller, name, req = None, None, None
    try:
        if _is_s3_event(event):   # S3 -> Lambda (resource policy: the KB bucket only)
            return reply(200, kb.object_created(config.load(), event["Records"], on_reject=lambda ids, reason: audit.record(
                event, auth.Caller("iam", None, principal="s3.amazonaws.com"), "kb_object_created", 413,
                params=ids, reason=reason)))
        if ((event.get("requestContext") or {}).get("http") or {}).get("method") == "OPTIONS":
            return {"statusCode": 204, "headers": cors, "body": ""}
        parse_error = None
        try:
            req = Request(event, context)
            name = req.action
        except ApiError as err:
            parse_error = err
        if name not in PUBLIC:   # who is calling comes first: an anonymous caller learns nothing more
            caller = auth.authenticate(event, context)
        if parse_error:
            raise parse_error
        if not name:
            raise ApiError(400, "missing field 'action'")
        fn = ACTIONS.get(name)
        if fn is None:
            raise ApiError(400, f"unknown action '{name[:100]}'")
        if name in WRITES and req.method not in (None, "POST"):
            raise ApiError(405, f"action '{name}' changes data: send it as POST with a JSON body",
                           headers={"Allow": "POST"})
        if caller is not None:
            auth.authorize(caller, name, name in WRITES)
        result = fn(req)
        if name in WRITES:
            audit.record(event, caller, name, 200, params=req.params, result=result)
        return reply(200, result, cors)
    except (auth.Unauthorized, auth.Forbidden) as err:
        audit.record(event, caller, name, err.status, params=req.params if req else None, reason=err.code)
        return reply(err.status, {"error": err.message, **err.fields}, {**cors, **err.headers})
    except ApiError as err:
        return reply(err.status, {"error": err.message, **err.fields}, {**cors, **err.headers})
    except Exception as exc:  # noqa: BLE001 - never a stack trace in a reply
        logger.exception("request failed: action=%s", name if name else
                         ((event or {}).get("action") if isinstance(event, dict) else None))
        failed = _failure(exc)
        failed["headers"].update(cors)
        return failed


logger.info("TARS handler initialised version=%s commit=%s",
            os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"), BUILD.get("commit", "unknown"))
