"""Error answers that never echo what was sent, and the JSON rule that keeps NaN and Infinity out.

A validation error names the field (its location) and what is wrong with it, never the submitted value: a
malformed login must not send the token back, and a value like ``NaN`` cannot even be written as standard JSON
(it turned every such error into a 500). Python's ``json`` accepts ``NaN``, ``Infinity`` and overflowing numbers
such as ``1e999`` as floats; no field of this API means any of them, so a body holding one is refused up front.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

NON_FINITE_MESSAGE = "NaN and Infinity are not valid JSON numbers"


def safe_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each error's location, message and type only: pydantic's ``input`` and ``ctx`` carry the submitted value."""
    return [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "invalid value")),
            "type": str(error.get("type", "value_error")),
        }
        for error in errors
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": safe_errors(exc.errors())}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Answer request validation errors with :func:`safe_errors` instead of FastAPI's echoing default."""
    app.add_exception_handler(RequestValidationError, _validation_error)


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf
        raise _NonFinite(text)
    return value


def has_non_finite_number(body: bytes) -> bool:
    """True if ``body`` is JSON holding NaN, Infinity or a number too large for a float.

    Anything else that is not JSON is left to the route's own parsing, which answers it with a 422 of its own.
    """
    try:
        json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NonFinite:
        return True
    except (ValueError, RecursionError):
        return False
    return False


def is_json_request(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether FastAPI will parse this request's body as JSON: no content type, or ``application/json`` or
    ``application/*+json`` (its own rule, so nothing it parses escapes the check)."""
    for name, value in headers:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))
    return True


def non_finite_reply() -> bytes:
    """The 422 body for a request holding NaN or Infinity: names the problem, not the value."""
    return json.dumps(
        {"detail": [{"loc": ["body"], "msg": NON_FINITE_MESSAGE, "type": "json_invalid"}]}, separators=(",", ":")
    ).encode()
