"""Operator authentication: the ``DASHBOARD_API_TOKEN`` as a bearer header, or a browser session cookie.

The browser cannot put a header on a page navigation, so ``/login`` exchanges the token for an HttpOnly,
SameSite=Strict cookie holding a random session id (:mod:`dashboard.sessions`; never the token, nor anything
derived from it). State-changing requests made with the cookie must also carry ``X-Tbot-Operator: 1``, which a
cross-site form cannot send.

Failed operator authentication is limited per client address however it arrives (a wrong bearer token, an unknown
session cookie, a wrong token posted to ``/api/operator/session``): only failures take from the address's
allowance, and an address without one gets 429 before its credentials are even compared, so a guesser learns
nothing while locked out, not even from a right guess. The address is the TCP peer, or the client a configured
proxy names (``TRUSTED_PROXIES``); a client cannot pick its own with ``X-Forwarded-For``.
"""

from __future__ import annotations

import hmac
import logging

from fastapi import HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dashboard.state import DashboardState

COOKIE = "tbot_operator"
CSRF_HEADER = "x-tbot-operator"
# Sent with a 401 that refused a cookie: the browser drops a dead session (say, from before a restart) instead of
# presenting it on every 3 s refresh, each a failure that would lock its own operator out.
CLEAR_COOKIE = f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"

log = logging.getLogger(__name__)

operator_bearer = HTTPBearer(auto_error=False, scheme_name="OperatorToken", description="DASHBOARD_API_TOKEN")
subscriber_bearer = HTTPBearer(auto_error=False, scheme_name="SubscriberToken", description="subscriber token")


def state_of(request: Request) -> DashboardState:
    state: DashboardState = request.app.state.dashboard
    return state


def client_address(request: Request) -> str:
    """The client's address as uvicorn resolved it (proxy headers count only from ``TRUSTED_PROXIES``)."""
    return request.client.host if request.client else "unknown"


def operator_token(request: Request) -> str:
    token = state_of(request).operator_token
    if token is None:
        # Only reachable in paper mode with no token configured: main.py generates one before serving.
        raise HTTPException(503, "no DASHBOARD_API_TOKEN configured")
    return token


def refuse_if_locked_out(state: DashboardState, client: str) -> None:
    """429 if ``client`` has used up its allowance of failed operator authentications."""
    failures = state.operator_failures
    if not failures.available(client):
        retry = max(1, int(failures.retry_after(client) + 0.999))
        raise HTTPException(429, "too many failed operator authentications", headers={"Retry-After": str(retry)})


def record_failure(state: DashboardState, client: str) -> None:
    failures = state.operator_failures
    failures.allow(client)
    if not failures.available(client):
        log.warning("operator authentication: too many failures from %s; refused for %.0f s", client,
                    failures.retry_after(client))


def is_operator(request: Request, credentials: HTTPAuthorizationCredentials | None) -> bool:
    """True if the request carries the operator token (header) or a live session cookie.

    Presenting neither is no attempt and costs nothing; a wrong one is a failure (see the module's note), and a
    locked-out address gets 429 whatever it presents.
    """
    state = state_of(request)
    token = state.operator_token
    cookie = request.cookies.get(COOKIE)
    if token is None or (credentials is None and cookie is None):
        return False
    client = client_address(request)
    refuse_if_locked_out(state, client)
    if credentials is not None:
        ok = hmac.compare_digest(credentials.credentials.encode(), token.encode())
    else:
        ok = cookie is not None and state.sessions.valid(cookie)
    if not ok:
        record_failure(state, client)
    return ok


def require_operator(request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
    """Raise 401 unless the request is the operator's; 403 for a cookie write without the CSRF header."""
    if not is_operator(request, credentials):
        headers = {"WWW-Authenticate": "Bearer"}
        if credentials is None and COOKIE in request.cookies:
            headers["Set-Cookie"] = CLEAR_COOKIE
        raise HTTPException(401, "operator token required", headers=headers)
    if credentials is None and request.method not in ("GET", "HEAD") and request.headers.get(CSRF_HEADER) != "1":
        raise HTTPException(403, f"missing {CSRF_HEADER} header")
