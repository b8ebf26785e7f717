"""The marketer's page of ``winback serve``: sign in, choose a list, preview, download, mark sent.

Routes (none in the OpenAPI schema; every one but the sign-in form needs a session):

- ``GET /``: the sign-in form, or signed in, the page of the list the query chooses
  (``budget``, ``offer`` repeated, ``control_share``, ``as_of``);
- ``POST /sign-in`` (the token, in the body) and ``POST /sign-out``;
- ``GET /list.csv`` and ``GET /list-summary.html``: the chosen list as ``winback list`` writes it,
  and its summary page; without a session, 401;
- ``GET /send`` (a confirmation screen) and ``POST /send`` (record the list as sent, after
  that confirmation, with the session's CSRF token; see :mod:`serving.sent_lists`).

The list comes from the API's own ``/list`` machinery (``lists``), so the page's list is exactly
what ``POST /list`` returns for the same choices. The page never changes a model or the data.
Rendering (a plot), CSV and records are made off the event loop: ``/health`` never waits.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import QueryParams

from winback.common import WinbackError
from winback.serving.api_guard import ApiError, configured_token, error_response
from winback.serving.api_schemas import ListRequest
from winback.serving.lists import ListFile, list_summary_html
from winback.serving.page_html import (
    Choice,
    PageList,
    confirm_page,
    list_page,
    message_page,
    problems_page,
    recorded_page,
    sign_in_page,
)
from winback.serving.page_session import (
    COOKIE,
    SESSION_HOURS,
    Session,
    Sessions,
    cookie_header,
    same_csrf,
)
from winback.serving.sent_lists import list_csv, record_sent
from winback.serving.settings import PolicySettings

#: Every page response: no script, nothing from elsewhere, no caching, no framing.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: Every route of the page, for tests and the docs: (method, path).
ROUTES = (
    ("GET", "/"),
    ("POST", "/sign-in"),
    ("POST", "/sign-out"),
    ("GET", "/list.csv"),
    ("GET", "/list-summary.html"),
    ("GET", "/send"),
    ("POST", "/send"),
)

ListMaker = Callable[[ListRequest], Awaitable[PageList]]


def read_choice(query: Mapping[str, list[str]], policy: PolicySettings) -> tuple[Choice, list[str]]:
    """The choices in a query (or form), and what is wrong with them in plain words."""
    problems: list[str] = []

    def one(name: str) -> str:
        values = query.get(name) or [""]
        return values[-1].strip()

    def amount(name: str, shown: str) -> float | None:
        text = one(name).replace(",", "")
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            problems.append(f"{shown}: enter a number, e.g. 2000 (got {one(name)!r})")
            return None
        if not math.isfinite(value):
            problems.append(f"{shown}: enter a finite number (got {one(name)!r})")
            return None
        return value

    budget = amount("budget", "Budget")
    if budget is not None and budget < 0:
        problems.append(f"Budget: cannot be negative (got {budget:g}); leave it empty for no limit")
        budget = None
    share = amount("control_share", "Control share")
    if share is not None and not 0 <= share < 1:
        problems.append(f"Control share: enter a share from 0 to 0.99 (got {share:g})")
        share = None
    offers: tuple[str, ...] | None = None
    if one("chosen"):
        offers = tuple(dict.fromkeys(o.strip() for o in query.get("offer", []) if o.strip()))
        catalog = [o.name for o in policy.offers]
        unknown = [o for o in offers if o not in catalog]
        if unknown:
            known = ", ".join(catalog)
            problems.append(f"Offers: {', '.join(unknown)} not in the catalog ({known})")
            offers = tuple(o for o in offers if o in catalog)
        if not offers and not unknown:
            problems.append("Offers: choose at least one offer")
        if offers == tuple(catalog):
            offers = None  # all of them: the same list as without a choice
    as_of: date | None = None
    if one("as_of"):
        try:
            as_of = date.fromisoformat(one("as_of"))
        except ValueError:
            problems.append(f"Cutoff: enter a date as YYYY-MM-DD (got {one('as_of')!r})")
    return Choice(budget, offers or None, share, as_of), problems


def list_request(choice: Choice) -> ListRequest:
    """The ``POST /list`` body of a choice: the API gives the same list for it."""
    return ListRequest(
        budget=choice.budget,
        as_of=choice.as_of,
        offers=list(choice.offers) if choice.offers is not None else None,
        control_share=choice.control_share,
    )


def _html(body: str, status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={**HEADERS, **(headers or {})})


def _unauthorized() -> Response:
    return error_response(
        401, "unauthorized", "sign in on the page first (GET /), or use the API with a bearer token"
    )


def _file_name(day: date, choice: Choice, suffix: str) -> str:
    budget = "nolimit" if choice.budget is None else f"{choice.budget:g}"
    return f"winback_list_{day:%Y%m%d}_budget{budget}{suffix}"


class _Page:
    """The page's endpoints over one app's list maker, catalog and sessions."""

    def __init__(
        self,
        lists: ListMaker,
        policy: PolicySettings,
        data_end: Callable[[], date],
        sent_lists: Path | None,
    ) -> None:
        self.lists, self.policy, self.data_end, self.sent_lists = (
            lists,
            policy,
            data_end,
            sent_lists,
        )
        self.sessions = Sessions()
        self._recording = threading.Lock()

    def session_of(self, request: Request) -> Session | None:
        return self.sessions.find(request.cookies.get(COOKIE))

    async def build(self, choice: Choice, session: Session) -> PageList | HTMLResponse:
        """The chosen list, or the page saying why it cannot be made."""
        try:
            return await self.lists(list_request(choice))
        except ApiError as exc:
            if exc.status == 422:
                return self.problems([exc.message], choice, session)
            said = message_page("The list could not be made", exc.message, session.csrf)
            return _html(said, exc.status if exc.status == 503 else 500)
        except WinbackError as exc:
            return self.problems([str(exc)], choice, session)

    def problems(self, problems: list[str], choice: Choice, session: Session) -> HTMLResponse:
        page = problems_page(problems, choice, self.policy, session.csrf, self.data_end())
        return _html(page, 422)

    async def chosen(
        self, session: Session, query: Mapping[str, list[str]]
    ) -> tuple[Choice, PageList | HTMLResponse]:
        """The choice in ``query`` and its list, or the page saying what is wrong."""
        choice, problems = read_choice(query, self.policy)
        if problems:
            return choice, self.problems(problems, choice, session)
        return choice, await self.build(choice, session)

    async def home(self, request: Request) -> Response:
        """The sign-in form, or the chosen list's page."""
        session = self.session_of(request)
        if session is None:
            if configured_token() is None:
                return _html(sign_in_page(_NO_TOKEN), 503)
            return _html(sign_in_page())
        choice, built = await self.chosen(session, _query(request.query_params))
        if isinstance(built, HTMLResponse):
            return built
        can_send = self.sent_lists is not None
        page = await run_in_threadpool(
            partial(list_page, can_send=can_send), built, choice, self.policy, session.csrf
        )
        return _html(page)

    async def sign_in(self, request: Request) -> Response:
        """Check the posted token; on a match, set the session cookie and go to the page."""
        given = (await _form(request)).get("token", [""])[-1].strip()
        if configured_token() is None:
            return _html(sign_in_page(_NO_TOKEN), 503)
        session = self.sessions.sign_in(given)
        if session is None:
            return _html(sign_in_page("That token is not the server's. Try again."), 401)
        response = RedirectResponse("./", status_code=303, headers=HEADERS)
        response.headers["Set-Cookie"] = cookie_header(session.id, SESSION_HOURS * 3600)
        return response

    async def sign_out(self, request: Request) -> Response:
        """End the session (with its CSRF token) and drop the cookie."""
        session = self.session_of(request)
        if session is not None and same_csrf(session, (await _form(request)).get("csrf", [""])[-1]):
            self.sessions.sign_out(session.id)
        response = RedirectResponse("./", status_code=303, headers=HEADERS)
        response.headers["Set-Cookie"] = cookie_header("", 0)
        return response

    async def download(self, request: Request, kind: str) -> Response:
        """The chosen list as CSV (``winback list``'s bytes) or its summary page."""
        session = self.session_of(request)
        if session is None:
            return _unauthorized()
        choice, built = await self.chosen(session, _query(request.query_params))
        if isinstance(built, HTMLResponse):
            return built
        wl = built.wl
        data = await run_in_threadpool(list_csv, wl)
        name = _file_name(wl.day, choice, ".csv")
        if kind == "summary":
            digest = hashlib.sha256(data).hexdigest()
            page = await run_in_threadpool(list_summary_html, wl, ListFile(name, digest))
            data = page.encode()
            name = _file_name(wl.day, choice, ".summary.html")
        media = "text/csv; charset=utf-8" if kind == "csv" else "text/html; charset=utf-8"
        headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
        return Response(data, media_type=media, headers=headers)

    async def list_csv(self, request: Request) -> Response:
        """``GET /list.csv``."""
        return await self.download(request, "csv")

    async def list_summary(self, request: Request) -> Response:
        """``GET /list-summary.html``."""
        return await self.download(request, "summary")

    async def confirm(self, request: Request) -> Response:
        """The confirmation screen before a list is recorded as sent."""
        session = self.session_of(request)
        if session is None:
            return _html(sign_in_page("Sign in first."), 401)
        if self.sent_lists is None:
            return _html(message_page("Not available", _SENDING_OFF, session.csrf), 404)
        choice, built = await self.chosen(session, _query(request.query_params))
        if isinstance(built, HTMLResponse):
            return built
        digest = hashlib.sha256(await run_in_threadpool(list_csv, built.wl)).hexdigest()
        return _html(confirm_page(built, choice, session.csrf, digest))

    async def send(self, request: Request) -> Response:
        """Record the confirmed list as sent, if it is still the list that was confirmed."""
        session = self.session_of(request)
        if session is None:
            return _unauthorized()
        posted = await _form(request)
        if not same_csrf(session, posted.get("csrf", [""])[-1]) or self.sent_lists is None:
            said = "Not recorded: this form has expired, or marking lists as sent is off."
            return _html(message_page("Not recorded", said, session.csrf), 403)
        choice, built = await self.chosen(session, posted)
        if isinstance(built, HTMLResponse):
            return built
        digest = hashlib.sha256(await run_in_threadpool(list_csv, built.wl)).hexdigest()
        if digest != posted.get("sha256", [""])[-1]:
            return _html(message_page("Not recorded", _CHANGED, session.csrf), 409)
        choices: dict[str, Any] = {
            "budget": choice.budget,
            "offers": list(choice.offers or [o.name for o in self.policy.offers]),
            "control_share": built.wl.settings.control_share,
            "model": f"{built.model_name} version {built.model_version}",
        }
        try:
            where = await run_in_threadpool(self._record, built, self.sent_lists, choices)
        except WinbackError as exc:
            return _html(message_page("Not recorded", str(exc), session.csrf), 409)
        return _html(recorded_page(built, choice, session.csrf, str(where)))

    def _record(self, built: PageList, folder: Path, choices: dict[str, Any]) -> Path:
        """One record at a time: two confirmations of one list cannot both pass the check."""
        with self._recording:
            return record_sent(built.wl, folder, choices, datetime.now(UTC))


def install_page(
    app: FastAPI,
    *,
    lists: ListMaker,
    policy: PolicySettings,
    data_end: Callable[[], date],
    sent_lists: Path | None,
) -> None:
    """Add the page's routes to ``app``.

    ``lists`` makes a list as ``POST /list`` does; ``data_end`` is the served data's last day;
    lists marked as sent are recorded under ``sent_lists`` (None: marking is off).
    """
    page = _Page(lists, policy, data_end, sent_lists)
    endpoints = {
        ("GET", "/"): page.home,
        ("POST", "/sign-in"): page.sign_in,
        ("POST", "/sign-out"): page.sign_out,
        ("GET", "/list.csv"): page.list_csv,
        ("GET", "/list-summary.html"): page.list_summary,
        ("GET", "/send"): page.confirm,
        ("POST", "/send"): page.send,
    }
    for (method, path), endpoint in endpoints.items():
        app.add_api_route(path, endpoint, methods=[method], include_in_schema=False)


async def _form(request: Request) -> dict[str, list[str]]:
    """A posted form (``application/x-www-form-urlencoded``), read without python-multipart."""
    return parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)


_NO_TOKEN = (
    "The server has no access token configured (WINBACK_API_TOKEN): ask whoever runs "
    "winback serve to set it and restart it."
)
_CHANGED = (
    "The list changed since you confirmed it (the model or the data was reloaded). Nothing was "
    "recorded: review the list again."
)
_SENDING_OFF = (
    "Marking lists as sent is off on this server: set [api] sent_lists_dir in its winback.toml."
)


def _query(params: QueryParams) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in params.multi_items():
        found.setdefault(key, []).append(value)
    return found


__all__ = ["ROUTES", "ListMaker", "install_page", "list_request", "read_choice"]
