"""Sign-in sessions of the marketer's page: the API's token once, then a cookie.

The sign-in form posts the token (never in a URL); when it matches ``WINBACK_API_TOKEN``
(compared in constant time) the server makes a random session id and sets it as an
``HttpOnly; Secure; SameSite=Strict`` cookie. The cookie holds only that id, never the token.
Each session has its own CSRF token that every state-changing form carries. A session ends on
sign-out, after :data:`SESSION_HOURS`, or as soon as the server's token changes.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from winback.serving.api_guard import configured_token

#: The session cookie's name.
COOKIE = "winback_session"
#: How long a sign-in lasts.
SESSION_HOURS = 8
#: Most sessions kept at once; the oldest go first.
MAX_SESSIONS = 1_000


@dataclass(frozen=True)
class Session:
    """One signed-in browser."""

    id: str
    csrf: str
    expires: float
    #: A digest of the token signed in with: a session dies with the token it was made by.
    token_digest: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """The signed-in browsers of one app, in memory (a restart signs everyone out)."""

    def __init__(self, hours: float = SESSION_HOURS) -> None:
        self.seconds = hours * 3600
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def sign_in(self, given: str) -> Session | None:
        """A new session if ``given`` is the configured token, else None."""
        expected = configured_token()
        if expected is None or not secrets.compare_digest(given.encode(), expected.encode()):
            return None
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            expires=time.monotonic() + self.seconds,
            token_digest=_digest(expected),
        )
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions.values(), key=lambda s: s.expires)
                del self._sessions[oldest.id]
            self._sessions[session.id] = session
        return session

    def find(self, cookie: str | None) -> Session | None:
        """The live session of ``cookie``, or None (unknown, expired, or the token changed)."""
        if not cookie:
            return None
        with self._lock:
            session = self._sessions.get(cookie)
        expected = configured_token()
        if session is None:
            return None
        if (
            session.expires < time.monotonic()
            or expected is None
            or not secrets.compare_digest(session.token_digest, _digest(expected))
        ):
            self.sign_out(session.id)
            return None
        return session

    def sign_out(self, cookie: str | None) -> None:
        """End the session of ``cookie``, if any."""
        with self._lock:
            self._sessions.pop(cookie or "", None)


def same_csrf(session: Session, given: str | None) -> bool:
    """Whether a form's CSRF token is the session's, compared in constant time."""
    return given is not None and secrets.compare_digest(session.csrf.encode(), given.encode())


def cookie_header(session_id: str, max_age: int) -> str:
    """The ``Set-Cookie`` value of a session (``max_age`` 0 deletes it)."""
    return f"{COOKIE}={session_id}; Max-Age={max_age}; Path=/; HttpOnly; Secure; SameSite=Strict"


__all__ = ["COOKIE", "Session", "Sessions", "cookie_header", "same_csrf"]
