"""Browser sessions: a new random cookie per login, ended by logout (and by expiry), never derived from the token."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from dashboard.app import asgi_app
from dashboard.sessions import MAX_SESSIONS, SessionStore


def _login(client: TestClient, token: str) -> str:
    reply = client.post("/api/operator/session", json={"token": token})
    assert reply.status_code == 204
    cookie = client.cookies.get("tbot_operator")
    assert cookie
    return cookie


def _overview(app: Any, cookie: str) -> int:
    with TestClient(app, cookies={"tbot_operator": cookie}) as other:
        return other.get("/api/operator/overview").status_code


def test_each_login_gets_its_own_cookie_and_logout_ends_it(tools: Any) -> None:
    app = asgi_app(tools.settings)
    with TestClient(app) as first, TestClient(app) as second:
        one = _login(first, tools.operator_token)
        two = _login(second, tools.operator_token)
        assert one != two
        assert tools.operator_token not in one and tools.operator_token not in two
        assert _overview(app, one) == 200 and _overview(app, two) == 200

        assert first.post("/api/operator/logout").status_code == 204
        assert _overview(app, one) == 401  # the old cookie, replayed after logout, opens nothing
        assert _overview(app, two) == 200  # another browser's session is untouched

        # Logging in again from a browser that still holds a session replaces it.
        three = _login(second, tools.operator_token)
        assert three != two
        assert _overview(app, two) == 401 and _overview(app, three) == 200


def test_a_session_expires() -> None:
    now = [1000.0]
    store = SessionStore(lifetime=60, clock=lambda: now[0])
    session = store.start()
    assert store.valid(session)
    now[0] += 61
    assert not store.valid(session)
    store.start()
    assert len(store) == 1  # the expired one was dropped, not kept forever


def test_sessions_are_bounded_and_ids_are_not_stored_in_clear() -> None:
    store = SessionStore()
    ids = [store.start() for _ in range(MAX_SESSIONS + 5)]
    assert len(store) == MAX_SESSIONS
    assert not store.valid(ids[0]) and store.valid(ids[-1])
    assert all(i not in repr(vars(store)) for i in ids[-3:])
    assert not store.valid("x" * 500)
