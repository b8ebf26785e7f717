"""What the HTTP API checks before any endpoint runs, and how it answers errors.

- **Auth first**: the customer-level routes need ``Authorization: Bearer <token>`` matching the
  environment variable ``WINBACK_API_TOKEN`` (read at each request; blank counts as unset, and
  then those routes answer 503). :class:`Guard` checks it from the headers alone, before the
  body is read, so a stranger's garbage gets 401, never a parse error.
- **Limits**: bodies over ``max_body_bytes`` (by Content-Length or as streamed) get 413.
- **One error shape**: ``{"error": {"code", "message", "details"}}``, with server paths cut to
  their file names; unexpected failures are logged with their traceback under an incident id
  and answered with a 500 naming only that id.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import uuid
from collections.abc import Collection
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from winback.common import WinbackError

#: The environment variable holding the bearer token of the customer-level endpoints.
TOKEN_ENV = "WINBACK_API_TOKEN"

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered as ``{"error": {...}}`` with this status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers


# --- auth ---------------------------------------------------------------------------------------


def configured_token() -> str | None:
    """The API token from the environment, or None when it is unset or blank."""
    return os.environ.get(TOKEN_ENV, "").strip() or None


def check_token(authorization: str | None) -> None:
    """Refuse (503, 401) unless ``authorization`` carries the configured bearer token."""
    expected = configured_token()
    if expected is None:
        raise ApiError(
            503,
            "auth_not_configured",
            f"customer endpoints are disabled because no API token is configured: set {TOKEN_ENV} "
            f"in the environment of `winback serve` (e.g. export {TOKEN_ENV}=$(openssl rand -hex "
            "32)), restart it, and send the token as 'Authorization: Bearer <token>'",
        )
    scheme, _, given = (authorization or "").partition(" ")
    given = given.strip() if scheme.lower() == "bearer" else ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "missing or wrong bearer token: send 'Authorization: Bearer <token>' with the token "
            f"in the server's {TOKEN_ENV}",
            headers={"WWW-Authenticate": "Bearer"},
        )


_bearer = HTTPBearer(
    auto_error=False,
    description=f"The token in the server's environment variable {TOKEN_ENV}.",
)


def authorize(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The route dependency: documents the bearer scheme and checks again behind the guard."""
    check_token(f"Bearer {credentials.credentials}" if credentials is not None else None)


# --- error bodies -------------------------------------------------------------------------------

_STOP = r"\s'\"`<>()\[\]{},;"
#: Absolute paths: in file URIs (``sqlite:////srv/db``), on Windows, and POSIX paths of two or
#: more parts (``/model`` is an endpoint, ``models:/winback@champion`` a registry URI).
_PATHS = re.compile(
    rf"\b[A-Za-z][\w+.-]*:///[^{_STOP}]*"
    rf"|\b[A-Za-z]:\\[^{_STOP}]*"
    rf"|(?<![\w.~:/-])/[^{_STOP}/]+/[^{_STOP}]*"
)


def without_paths(text: str) -> str:
    """``text`` with every absolute path replaced by its last part (a file or folder name)."""

    def name(match: re.Match[str]) -> str:
        parts = [p for p in re.split(r"[/\\]", match.group()) if p]
        return parts[-1] if parts else match.group()

    return _PATHS.sub(name, text)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return without_paths(value)
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    return value


def _body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> bytes:
    error = {"code": code, "message": without_paths(message), "details": _scrubbed(details)}
    return json.dumps({"error": error}).encode()


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The one error shape, paths cut to names."""
    body = _body(code, message, details)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


# --- the guard, in front of the app -------------------------------------------------------------


class Guard:
    """Auth for ``protected`` (method, path) routes, then the body limit, then the app.

    Unexpected failures become a JSON 500 naming an incident id the server log has.
    """

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, protected: Collection[tuple[str, str]]
    ) -> None:
        self.app, self.max_body_bytes, self.protected = app, max_body_bytes, protected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One request: refused here, or passed on with its body read and replayed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if (scope["method"], _route_path(scope)) in self.protected:
            try:
                check_token(headers.get(b"authorization", b"").decode("latin-1") or None)
            except ApiError as exc:
                await _reply(send, exc.status, exc.code, exc.message, exc.headers)
                return
        too_big = f"request body over {self.max_body_bytes:,} bytes; send fewer rows per request"
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _reply(send, 413, "body_too_large", too_big)
            return
        # Read the whole body here (it is small by now), counting what arrives without a length.
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body_bytes:
                await _reply(send, 413, "body_too_large", too_big)
                return
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, replay, watch)
        except Exception:
            incident = uuid.uuid4().hex[:12]
            logger.exception(
                "incident %s: %s %s failed", incident, scope.get("method"), scope.get("path")
            )
            if started:
                raise
            said = f"internal error; the server log has incident {incident}"
            await _reply(send, 500, "internal_error", said)


def _route_path(scope: Scope) -> str:
    """The path the router matches: without the ``root_path`` a proxy mounts the app under."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


async def _reply(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    body = _body(code, message)
    raw = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def install_error_handlers(app: FastAPI) -> None:
    """Answer API, winback, HTTP and validation errors in the one error shape."""

    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    async def winback_error(_: Request, exc: Exception) -> Response:
        return error_response(422, _snake(type(exc).__name__), str(exc))

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(
            exc.status_code,
            codes.get(exc.status_code, f"http_{exc.status_code}"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    async def invalid(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "message": e.get("msg", ""),
             "type": e.get("type", "")}
            for e in exc.errors()
        ]  # fmt: skip
        shown = "; ".join(f"{'.'.join(d['loc'])}: {d['message']}" for d in details[:5])
        more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
        return error_response(422, "invalid_request", f"invalid request: {shown}{more}", details)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(WinbackError, winback_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


__all__ = [
    "TOKEN_ENV",
    "ApiError",
    "Guard",
    "authorize",
    "check_token",
    "configured_token",
    "error_response",
    "install_error_handlers",
    "without_paths",
]
