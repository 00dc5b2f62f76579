"""ApiError (a 4xx/404 reply) and the field checks every action uses."""
from __future__ import annotations

import re
from typing import Any, Iterable


class ApiError(Exception):
    """A 4xx reply: ``{"error": message, **fields}`` with ``headers`` added to the reply's."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None,
                 fields: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.fields = fields or {}


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def text(params: dict, name: str, *, required: bool = True, max_len: int = 200,
         default: str | None = None) -> str | None:
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ApiError(400, f"missing field '{name}'")
        return default
    if not isinstance(value, str):
        raise ApiError(400, f"field '{name}' must be a string")
    value = value.strip()
    if len(value) > max_len:
        raise ApiError(400, f"field '{name}' is longer than {max_len} characters")
    return value


def name(params: dict, field: str, *, required: bool = True) -> str | None:
    """A service/feature-like identifier: letters, digits, '.', '_', '-'."""
    value = text(params, field, required=required, max_len=100)
    if value is not None and not _NAME.match(value):
        raise ApiError(400, f"field '{field}' must be letters, digits, '.', '_' or '-' (got {value!r})")
    return value


def choice(params: dict, field: str, allowed: Iterable[str], *, required: bool = True,
           normalise=str.lower) -> str | None:
    allowed = tuple(allowed)
    value = text(params, field, required=required, max_len=50)
    if value is None:
        return None
    value = normalise(value)
    if value not in allowed:
        raise ApiError(400, f"field '{field}' must be one of {', '.join(allowed)} (got {value!r})")
    return value


def string_list(params: dict, field: str, *, max_items: int = 20) -> list[str]:
    value: Any = params.get(field)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [v for v in (s.strip() for s in value.split(",")) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, f"field '{field}' must be a list of strings")
    if len(value) > max_items:
        raise ApiError(400, f"field '{field}' has more than {max_items} items")
    return [v.strip()[:200] for v in value if v.strip()]
