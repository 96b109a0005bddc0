"""Operator authentication: the ``DASHBOARD_API_TOKEN`` as a bearer header, or a session cookie derived from it.

The browser cannot put a header on a page navigation, so ``/login`` exchanges the token for an HttpOnly,
SameSite=Strict cookie holding an HMAC of the token (never the token itself). State-changing requests made with
the cookie must also carry ``X-Tbot-Operator: 1``, which a cross-site form cannot send.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dashboard.state import DashboardState

COOKIE = "tbot_operator"
CSRF_HEADER = "x-tbot-operator"

operator_bearer = HTTPBearer(auto_error=False, scheme_name="OperatorToken", description="DASHBOARD_API_TOKEN")
subscriber_bearer = HTTPBearer(auto_error=False, scheme_name="SubscriberToken", description="subscriber token")


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"tbot-operator-session-v1", hashlib.sha256).hexdigest()


def state_of(request: Request) -> DashboardState:
    state: DashboardState = request.app.state.dashboard
    return state


def operator_token(request: Request) -> str:
    token = state_of(request).operator_token
    if token is None:
        # Only reachable in paper mode with no token configured: main.py generates one before serving.
        raise HTTPException(503, "no DASHBOARD_API_TOKEN configured")
    return token


def is_operator(request: Request, credentials: HTTPAuthorizationCredentials | None) -> bool:
    """True if the request carries the operator token (header) or a valid session cookie."""
    token = state_of(request).operator_token
    if token is None:
        return False
    if credentials is not None:
        return hmac.compare_digest(credentials.credentials.encode(), token.encode())
    cookie = request.cookies.get(COOKIE)
    return cookie is not None and hmac.compare_digest(cookie.encode(), session_value(token).encode())


def require_operator(request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
    """Raise 401 unless the request is the operator's; 403 for a cookie write without the CSRF header."""
    if not is_operator(request, credentials):
        raise HTTPException(401, "operator token required", headers={"WWW-Authenticate": "Bearer"})
    if credentials is None and request.method not in ("GET", "HEAD") and request.headers.get(CSRF_HEADER) != "1":
        raise HTTPException(403, f"missing {CSRF_HEADER} header")
