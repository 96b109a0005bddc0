"""Operator browser sessions: a random id per login, held in memory with its expiry; logout ends it.

The cookie holds the random id, never the operator token nor anything derived from it, so two logins get two
cookies and a cookie taken from a signed-out browser opens nothing. Only the id's SHA-256 is kept (a memory dump
shows no usable cookie). Sessions end with the process: after a restart the operator signs in again.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

SESSION_SECONDS = 7 * 86400
MAX_SESSIONS = 1000


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Live sessions by the hash of their id, each with the moment it expires."""

    def __init__(self, lifetime: float = SESSION_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self._expiry: dict[str, float] = {}

    def start(self) -> str:
        """A new session's id (for the cookie)."""
        now = self.clock()
        self._expire(now)
        while len(self._expiry) >= MAX_SESSIONS:
            # Logins need the operator token, so this is only many forgotten browsers: the oldest go first.
            del self._expiry[min(self._expiry, key=self._expiry.__getitem__)]
        session_id = secrets.token_urlsafe(32)
        self._expiry[_digest(session_id)] = now + self.lifetime
        return session_id

    def valid(self, session_id: str) -> bool:
        if len(session_id) > 128:
            return False
        expiry = self._expiry.get(_digest(session_id))
        return expiry is not None and expiry > self.clock()

    def end(self, session_id: str) -> None:
        self._expiry.pop(_digest(session_id), None)

    def __len__(self) -> int:
        return len(self._expiry)

    def _expire(self, now: float) -> None:
        for key in [k for k, expiry in self._expiry.items() if expiry <= now]:
            del self._expiry[key]
