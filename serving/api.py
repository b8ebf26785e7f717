"""The HTTP API of ``winback serve``: health, model facts, scores, feature-row scoring, lists.

:func:`create_app` builds a FastAPI app (OpenAPI docs at ``/docs``, schema at ``/openapi.json``).

- **Model and data** are loaded once, when the app is created. ``POST /reload`` loads the model
  at the same URI again (``models:/winback@champion`` resolves to the new champion), optionally
  the data too, prepares it completely and only then swaps it in, in one assignment: a request
  runs on one model and one dataset from start to end, and a failed reload leaves the old model
  serving.
- **Caching**: features of every customer, their segments and the reason reference are built
  once per (model, data, ``as_of``) and kept for the latest cutoff and a few others; ``/scores``
  predicts and explains only the requested rows. ``/list`` scores everyone once per cutoff and
  learns offer effects once, then applies the policy per budget. A reload starts new caches.
- **Auth**: customer-level endpoints need ``Authorization: Bearer <token>`` matching the
  environment variable ``WINBACK_API_TOKEN``, read at each request. Without it they answer 503.
- **Limits and errors**: bodies over ``ApiSettings.max_body_bytes`` (by Content-Length or as
  streamed) get 413, as do requests with more than ``max_rows`` ids or rows. Every error is
  ``{"error": {"code", "message", "details"}}``; unexpected failures are logged with their
  traceback under an incident id and answered with a 500 naming only that id.
"""

import json
import logging
import os
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, Protocol

import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from winback.common import WinbackError
from winback.features import Dataset, FeatureSettings, SegmentSettings, build_features
from winback.features import build_segments as build_segment_rows
from winback.features.snapshots import data_end
from winback.serving.api_schemas import (
    ErrorResponse,
    FeaturesRequest,
    FeaturesResponse,
    Health,
    ListFigures,
    ListRequest,
    ListResponse,
    ListRow,
    LoadedModel,
    ModelInfo,
    ModelRef,
    Prediction,
    ReloadRequest,
    ReloadResponse,
    ScoreRow,
    ScoresRequest,
    ScoresResponse,
)
from winback.serving.lists import WinbackList, build_list, summary_lines
from winback.serving.model import ServedModel, load_model
from winback.serving.policy import EffectModel
from winback.serving.reasons import reason_codes, reason_reference
from winback.serving.scoring import (
    SEGMENT_OUTPUTS,
    check_inputs,
    check_types,
    explain,
    score_columns,
    score_table,
)
from winback.serving.settings import ApiSettings, PolicySettings, ScoringSettings
from winback.serving.uplift import fit_uplift

#: The environment variable holding the bearer token of the customer-level endpoints.
TOKEN_ENV = "WINBACK_API_TOKEN"
#: Cutoffs whose features stay cached besides the latest (least recently used go first).
CACHED_CUTOFFS = 4

logger = logging.getLogger(__name__)


class ServingSettings(Protocol):
    """The serving parts of a composite settings object (``winback.settings.Settings`` is one)."""

    @property
    def api(self) -> ApiSettings: ...  # noqa: D102
    @property
    def scoring(self) -> ScoringSettings: ...  # noqa: D102
    @property
    def policy(self) -> PolicySettings: ...  # noqa: D102
    @property
    def segments(self) -> SegmentSettings: ...  # noqa: D102


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


# --- state: one model over one dataset, with its caches -----------------------------------------


@dataclass(frozen=True)
class _Config:
    api: ApiSettings
    scoring: ScoringSettings
    policy: PolicySettings
    segments: SegmentSettings
    lapsed_after_days: int


@dataclass
class _Data:
    """A loaded dataset; its DuckDB connection is used by one thread at a time."""

    dataset: Dataset
    end: datetime
    loaded_at: datetime
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Cutoff:
    """Everything about one ``as_of`` that does not depend on the request."""

    as_of: datetime
    features: pd.DataFrame
    #: Row position of each customer id.
    rows: pd.Index
    #: Lifecycle, value and RFM segment, indexed by customer id.
    segments: pd.DataFrame
    reference: pd.DataFrame | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Every customer's scores, and the offer effects: built by the first list at this cutoff.
    scores: pd.DataFrame | None = None
    uplift: EffectModel | None = None
    notes: list[str] = field(default_factory=list)


class _State:
    """One model over one dataset; replaced whole on reload, which drops its caches."""

    def __init__(self, model: ServedModel, data: _Data, config: _Config) -> None:
        self.model, self.data, self.config = model, data, config
        self.loaded_at = datetime.now(UTC)
        self.dictionary = model.bundle.dictionary(FeatureSettings())
        self._cutoffs: OrderedDict[datetime, _Cutoff] = OrderedDict()
        self._lock = threading.Lock()

    def cutoff(self, as_of: datetime) -> _Cutoff:
        """The cached cutoff, built on first use (the latest data's is never evicted)."""
        with self._lock:
            if as_of not in self._cutoffs:
                self._cutoffs[as_of] = self._build(as_of)
            self._cutoffs.move_to_end(as_of)
            while len(self._cutoffs) > CACHED_CUTOFFS + 1:
                del self._cutoffs[next(k for k in self._cutoffs if k != self.data.end)]
            return self._cutoffs[as_of]

    def _build(self, as_of: datetime) -> _Cutoff:
        bundle = self.model.bundle
        with self.data.lock:
            check_inputs(self.model, self.data.dataset)
            features = build_features(self.data.dataset, as_of, plan=bundle.plan)
            check_types(self.model, features)
            segment_rows = build_segment_rows(self.data.dataset, features, self.config.segments)
        segments = segment_rows.drop_duplicates("customer_id").set_index("customer_id")
        use_reasons = self.config.scoring.reasons > 0
        return _Cutoff(
            as_of=as_of,
            features=features,
            rows=pd.Index(features["customer_id"].astype(str)),
            segments=segments[list(SEGMENT_OUTPUTS)],
            reference=reason_reference(bundle.model_inputs(features)) if use_reasons else None,
        )

    def score_rows(self, cut: _Cutoff, rows: np.ndarray, *, explained: bool = True) -> pd.DataFrame:
        """Rows of the scores table (as :func:`serving.scoring.score` makes them) for ``rows``."""
        return score_table(
            self.model,
            cut.features.iloc[rows],
            cut.segments.reset_index(),
            reference=cut.reference,
            reasons=self.config.scoring.reasons if explained else 0,
            chunk_rows=self.config.scoring.chunk_rows,
        )

    def winback_list(self, cut: _Cutoff, budget: float | None) -> WinbackList:
        """The list for ``budget``; everyone's scores and the offer effects are built once."""
        with cut.lock:
            if cut.scores is None:
                # Only the listed customers are explained (by build_list), not everyone.
                scores = self.score_rows(cut, np.arange(len(cut.features)), explained=False)
                with self.data.lock:
                    cut.uplift = fit_uplift(
                        self.data.dataset,
                        cut.as_of,
                        self.model.bundle.horizon_days,
                        plan=self.model.bundle.plan,
                        learner=self.config.policy.uplift_learner,
                        activity_events=self.config.policy.uplift_activity_events,
                        on_skip=cut.notes.append,
                    )
                cut.scores = scores
            scores = cut.scores
        with self.data.lock:
            return build_list(
                self.data.dataset,
                scores,
                cut.features,
                cut.as_of,
                self.config.policy,
                budget=budget,
                lapsed_after_days=self.config.lapsed_after_days,
                uplift=cut.uplift,
                explain=lambda rows: explain(
                    self.model,
                    rows,
                    k=self.config.scoring.reasons,
                    reference=cut.reference,
                    dictionary=self.dictionary,
                ),
                dictionary=self.dictionary,
            )


def _load_data(load: Callable[[], Dataset]) -> _Data:
    dataset = load()
    return _Data(dataset, data_end(dataset), datetime.now(UTC))


def _prepare(model_uri: str, data: _Data, config: _Config) -> _State:
    """Load the model and build the latest cutoff: refuses a model the data cannot feed."""
    state = _State(load_model(model_uri), data, config)
    state.cutoff(data.end)
    return state


# --- auth, limits and errors --------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    description=f"The token in the server's environment variable {TOKEN_ENV}.",
)


def _authorize(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Customer-level data only for the bearer of the configured token."""
    expected = os.environ.get(TOKEN_ENV, "").strip()
    if not expected:
        raise ApiError(
            503,
            "auth_not_configured",
            f"customer endpoints are disabled because no API token is configured: set {TOKEN_ENV} "
            f"in the environment of `winback serve` (e.g. export {TOKEN_ENV}=$(openssl rand -hex "
            "32)), restart it, and send the token as 'Authorization: Bearer <token>'",
        )
    given = credentials.credentials.encode() if credentials is not None else b""
    if not secrets.compare_digest(given, expected.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "missing or wrong bearer token: send 'Authorization: Bearer <token>' with the token "
            f"in the server's {TOKEN_ENV}",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _error(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def _error_message(status: int, code: str, message: str) -> tuple[dict[str, Any], bytes]:
    """An error as the raw ASGI start message and body (for the guard, outside the app)."""
    body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
    }
    return start, body


class _Guard:
    """Refuse bodies over the size limit, and answer unexpected failures with a JSON 500."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = f"request body over {self.max_body_bytes:,} bytes; send fewer rows per request"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self._reply(send, 413, "body_too_large", too_big)
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
                await self._reply(send, 413, "body_too_large", too_big)
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
            await self._reply(
                send,
                500,
                "internal_error",
                f"internal error; the server log has incident {incident}",
            )

    @staticmethod
    async def _reply(send: Send, status: int, code: str, message: str) -> None:
        start, body = _error_message(status, code, message)
        await send(start)
        await send({"type": "http.response.body", "body": body})


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _error(exc.status, exc.code, exc.message, exc.details, exc.headers)

    async def winback_error(_: Request, exc: Exception) -> JSONResponse:
        return _error(422, _snake(type(exc).__name__), str(exc))

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "not_found", 405: "method_not_allowed"}
        return _error(
            exc.status_code,
            codes.get(exc.status_code, f"http_{exc.status_code}"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "message": e.get("msg", ""),
             "type": e.get("type", "")}
            for e in exc.errors()
        ]  # fmt: skip
        shown = "; ".join(f"{'.'.join(d['loc'])}: {d['message']}" for d in details[:5])
        more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
        return _error(422, "invalid_request", f"invalid request: {shown}{more}", details)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(WinbackError, winback_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


# --- helpers of the endpoints -------------------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values, NaN as None, reasons parsed from their JSON text."""
    rows: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        if "reasons" in row:
            row["reasons"] = json.loads(row["reasons"] or "[]")
        if isinstance(row.get("as_of"), datetime):
            row["as_of"] = row["as_of"].date()
        if isinstance(row.get("scored_at"), datetime):
            row["scored_at"] = row["scored_at"].replace(tzinfo=UTC)
    return rows


def _limit_rows(count: int, what: str, api: ApiSettings) -> None:
    if count > api.max_rows:
        raise ApiError(
            413,
            "too_many_rows",
            f"{count:,} {what} in one request; at most {api.max_rows:,} are accepted. "
            "Split the request",
        )


def _feature_frame(rows: Sequence[dict[str, Any]], model: ServedModel) -> pd.DataFrame:
    """Posted rows as a feature frame, refusing other columns or values of the wrong kind."""
    columns = model.bundle.feature_columns
    known = set(columns)
    problems: list[dict[str, Any]] = []
    missing: set[str] = set()
    unknown: set[str] = set()
    for i, row in enumerate(rows):
        lacks, extra = sorted(known - set(row)), sorted(set(row) - known)
        missing.update(lacks)
        unknown.update(extra)
        if lacks or extra:
            problems.append({"loc": ["body", "rows", str(i)], "missing": lacks, "unknown": extra})
    if missing or unknown:
        raise ApiError(
            422,
            "feature_columns_mismatch",
            f"rows must have exactly the model's {len(columns)} feature columns (GET /model); "
            f"missing {sorted(missing)}, unknown {sorted(unknown)}",
            details=problems[:20],
        )
    categorical = model.bundle.churn.categories_
    wrong = [
        {"loc": ["body", "rows", str(i), column], "message": f"expected {kind}"}
        for i, row in enumerate(rows)
        for column in columns
        for kind in ["text" if column in categorical else "a number"]
        if row[column] is not None and isinstance(row[column], str) != (column in categorical)
    ]
    if wrong:
        shown = ", ".join(f"row {w['loc'][2]} {w['loc'][3]}: {w['message']}" for w in wrong[:5])
        raise ApiError(
            422, "feature_types_mismatch", f"values of the wrong kind: {shown}", details=wrong
        )
    return pd.DataFrame(
        {
            c: pd.Series([r[c] for r in rows], dtype=object if c in categorical else "float64")
            for c in columns
        }
    )


def _as_of(requested: date | None, data: _Data) -> datetime:
    return datetime.combine(requested, datetime.min.time()) if requested else data.end


# --- the endpoints ------------------------------------------------------------------------------


class _Service:
    """The endpoints over the current state, which :meth:`reload` replaces in one assignment."""

    def __init__(self, load_data: Callable[[], Dataset], model_uri: str, config: _Config) -> None:
        self.load_data, self.model_uri, self.config = load_data, model_uri, config
        self.state = _prepare(model_uri, _load_data(load_data), config)
        self._reloading = threading.Lock()

    def health(self) -> Health:
        """Whether the server is up, which model it serves and how recent its data is."""
        state = self.state
        return Health(
            model=_ref(state),
            data_end=state.data.end.date(),
            model_loaded_at=state.loaded_at,
            data_loaded_at=state.data.loaded_at,
        )

    def model_info(self) -> ModelInfo:
        """The served model: identity, horizon, inputs and outputs."""
        state = self.state
        bundle = state.model.bundle
        periods = bundle.periods.periods if bundle.periods is not None else 0
        return ModelInfo(
            name=state.model.name,
            version=state.model.version,
            uri=state.model.uri,
            horizon_days=bundle.horizon_days,
            periods=periods,
            features=len(bundle.feature_columns),
            feature_columns=bundle.feature_columns,
            categorical_levels=bundle.churn.categories_,
            prediction_columns=bundle.prediction_columns,
            output_columns=score_columns(periods),
            loaded_at=state.loaded_at,
        )

    def scores(self, request: ScoresRequest) -> ScoresResponse:
        """Scores and reasons of the given customers as of a cutoff (default: the latest data).

        Ids with no customer known before the cutoff are listed in ``unknown_ids``.
        """
        state = self.state
        _limit_rows(len(request.customer_ids), "customer ids", self.config.api)
        cut = state.cutoff(_as_of(request.as_of, state.data))
        ids = list(dict.fromkeys(str(i) for i in request.customer_ids))
        where = cut.rows.get_indexer(ids)
        table = state.score_rows(cut, where[where >= 0])
        return ScoresResponse(
            as_of=cut.as_of.date(),
            model=_ref(state),
            scores=[ScoreRow.model_validate(r) for r in _records(table)],
            unknown_ids=[i for i, at in zip(ids, where, strict=True) if at < 0],
        )

    def score_features(self, request: FeaturesRequest) -> FeaturesResponse:
        """Predictions and reasons for posted feature rows (their columns: GET /model).

        Reasons compare values with the customers of the latest data.
        """
        state = self.state
        _limit_rows(len(request.rows), "rows", self.config.api)
        bundle = state.model.bundle
        frame = _feature_frame(request.rows, state.model)
        predicted = bundle.predict(frame)
        if "clv" not in predicted:
            predicted["clv"] = np.nan
        predicted["value_at_risk"] = predicted["churn_probability"] * predicted["clv"].clip(0)
        rows = _records(predicted)
        if k := self.config.scoring.reasons:
            reference = state.cutoff(state.data.end).reference
            reasons = reason_codes(bundle, frame, state.dictionary, k, reference)
            for row, found in zip(rows, reasons, strict=True):
                row["reasons"] = [r.to_dict() for r in found]
        return FeaturesResponse(
            model=_ref(state),
            predictions=[
                Prediction.model_validate({"reasons": [], **row, "row": i})
                for i, row in enumerate(rows)
            ],
        )

    def winback_list(self, request: ListRequest) -> ListResponse:
        """The ranked win-back list for a budget, with a random control group and its figures."""
        state = self.state
        cut = state.cutoff(_as_of(request.as_of, state.data))
        wl = state.winback_list(cut, request.budget)
        figures = wl.figures | {
            "top_reasons": [
                {"feature": f, "customers": n, "example": e}
                for f, n, e in wl.figures["top_reasons"]
            ]
        }
        return ListResponse(
            as_of=cut.as_of.date(),
            budget=request.budget,
            model=_ref(state),
            figures=ListFigures.model_validate(figures),
            summary=summary_lines(wl),
            effect_sources=wl.effect_sources,
            excluded=wl.excluded,
            notes=list(cut.notes),
            rows=[ListRow.model_validate(r) for r in _records(wl.frame)],
        )

    def reload(self, request: ReloadRequest | None = None) -> ReloadResponse:
        """Load the model again (e.g. a new champion), optionally the data, then swap them in.

        The new model is checked against the data and the latest features are built before the
        swap; on failure the previous model keeps serving.
        """
        with self._reloading:
            old = self.state
            try:
                data = _load_data(self.load_data) if request and request.data else old.data
                new = _prepare(self.model_uri, data, self.config)
            except WinbackError as exc:
                raise ApiError(
                    503,
                    "reload_failed",
                    f"{exc}. Still serving model {old.model.name} version {old.model.version}",
                ) from exc
            self.state = new
        logger.info("reloaded model %s version %s", new.model.name, new.model.version)
        return ReloadResponse(
            previous=_loaded(old),
            current=_loaded(new),
            data_reloaded=new.data is not old.data,
            data_end=new.data.end.date(),
        )


def _ref(state: _State) -> ModelRef:
    return ModelRef(name=state.model.name, version=state.model.version)


def _loaded(state: _State) -> LoadedModel:
    model = state.model
    return LoadedModel(
        name=model.name, version=model.version, uri=model.uri, loaded_at=state.loaded_at
    )


_PROTECTED: Any = {
    401: {"model": ErrorResponse, "description": "Missing or wrong bearer token."},
    413: {"model": ErrorResponse, "description": "Body or row count over the limits."},
    422: {"model": ErrorResponse, "description": "Invalid request, or data the model refuses."},
    503: {"model": ErrorResponse, "description": f"No token configured ({TOKEN_ENV})."},
}
_RELOAD_FAILED: Any = {
    503: {
        "model": ErrorResponse,
        "description": "No token configured, or the reload failed (the old model still serves).",
    }
}


def create_app(
    load_data: Callable[[], Dataset],
    *,
    model_uri: str,
    settings: ServingSettings | None = None,
    api: ApiSettings | None = None,
    scoring: ScoringSettings | None = None,
    policy: PolicySettings | None = None,
    segments: SegmentSettings | None = None,
    lapsed_after_days: int | None = None,
) -> FastAPI:
    """The API over the data ``load_data`` returns and the model at ``model_uri``.

    Each part of the settings comes from its keyword, else from ``settings`` (e.g. winback's
    composite settings), else the defaults; ``lapsed_after_days`` defaults to the churned stage's
    threshold. Loads the data and the model and builds the latest features now, so a bad source
    or a model the data cannot feed fails here (a :class:`WinbackError`), not at the first request.
    """
    segments = segments or (settings.segments if settings else SegmentSettings())
    config = _Config(
        api=api or (settings.api if settings else ApiSettings()),
        scoring=scoring or (settings.scoring if settings else ScoringSettings()),
        policy=policy or (settings.policy if settings else PolicySettings()),
        segments=segments,
        lapsed_after_days=lapsed_after_days or segments.churned_after_days,
    )
    service = _Service(load_data, model_uri, config)
    app = FastAPI(
        title="winback",
        summary="Churn risk, value, reasons and win-back lists.",
        description="Customer-level endpoints need `Authorization: Bearer <token>` with the "
        f"token in the server's `{TOKEN_ENV}`. Every error is "
        '`{"error": {"code", "message", "details"}}`.',
        version="1",
    )
    app.add_middleware(_Guard, max_body_bytes=config.api.max_body_bytes)
    _install_error_handlers(app)
    app.get("/health", tags=["service"])(service.health)
    app.get("/model", tags=["service"])(service.model_info)
    protected: Any = [Depends(_authorize)]
    for path, endpoint in (
        ("/scores", service.scores),
        ("/score-features", service.score_features),
        ("/list", service.winback_list),
    ):
        app.post(path, tags=["customers"], dependencies=protected, responses=_PROTECTED)(endpoint)
    app.post(
        "/reload",
        tags=["service"],
        dependencies=protected,
        responses=_PROTECTED | _RELOAD_FAILED,
    )(service.reload)
    return app


__all__ = [
    "TOKEN_ENV",
    "ApiError",
    "ErrorResponse",
    "ServingSettings",
    "create_app",
]
