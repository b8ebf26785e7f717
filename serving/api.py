"""The HTTP API of ``winback serve``: health, model facts, scores, feature-row scoring, lists.

:func:`create_app` builds a FastAPI app (docs at ``/docs``, served by the app itself with no
script or network; schema at ``/openapi.json``).

- **Model and data** are loaded once, when the app is created. ``POST /reload`` loads the model
  at the same URI again (``models:/winback@champion`` resolves to the new champion), optionally
  the data too, prepares it completely and only then swaps it in, in one assignment: a request
  runs on one model and one dataset from start to end, and a failed reload leaves the old model
  serving.
- **Staying up under load**: ``/health`` and ``/model`` answer from memory on the event loop
  and never wait for scoring. Scoring runs in a bounded pool (:mod:`serving.api_work`,
  ``[api] max_concurrent``); a request that waits ``queue_timeout_seconds`` for a worker gets
  503 with ``Retry-After``. Concurrent ``/scores`` requests at one cutoff are scored together.
- **Caching**: features of every customer, their segments and the reason reference are built
  once per (model, data, ``as_of``), in one builder thread, and kept for the latest cutoff and a
  few others; requests for a cutoff being built wait for that one build, while requests for
  built cutoffs go on. ``/scores`` predicts and explains only the requested rows. ``/list``
  scores everyone once per cutoff and learns offer effects once, then applies the policy per
  budget. A reload starts new caches.
- **Auth, limits and errors** (:mod:`serving.api_guard`): customer-level endpoints need
  ``Authorization: Bearer <token>`` matching ``WINBACK_API_TOKEN``, checked before the body is
  read (without a token configured they answer 503); bodies over ``max_body_bytes`` or more
  than ``max_rows`` ids or rows get 413. Every error is ``{"error": {"code", "message",
  "details"}}`` with no server paths; unexpected failures answer a 500 naming an incident id.
"""

import gc
import json
import logging
import sys
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from winback.common import SettingsError, WinbackError
from winback.common.timestamps import local_day, to_utc_naive
from winback.features import Dataset, FeatureSettings, SegmentSettings, build_features
from winback.features import build_segments as build_segment_rows
from winback.features.snapshots import data_end
from winback.serving.api_docs import docs_page
from winback.serving.api_guard import (
    TOKEN_ENV,
    ApiError,
    Guard,
    authorize,
    configured_token,
    install_error_handlers,
)
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
from winback.serving.api_work import WorkPool, busy, result
from winback.serving.lists import WinbackList, build_list, summary_lines
from winback.serving.model import ServedModel, load_model
from winback.serving.page import install_page
from winback.serving.page_html import PageList
from winback.serving.policy import EffectModel, chosen_policy
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
from winback.training.uplift import fit_uplift

#: Cutoffs whose features stay cached besides the latest (least recently used go first).
CACHED_CUTOFFS = 4
#: Cutoff builds and list preparations that may wait for the builder thread; more get 503.
QUEUED_BUILDS = 4
#: Seconds a thread may keep the GIL while another waits for it, while the app is served
#: (Python's default is 5 ms). The event loop waits that long each time it wakes while scoring
#: threads run Python; with 1 ms, /health p95 during bench/bench_api_load.py's burst on a loaded
#: 2-core machine went from 57-125 ms to 41-58 ms and the burst ended sooner (2026-12-05).
SWITCH_INTERVAL = 0.001
#: Units of features that cannot be negative (day counts and counts of things).
NON_NEGATIVE_UNITS = frozenset({"days", "orders", "events", "offers", "categories"})

logger = logging.getLogger(__name__)
_Schema = TypeVar("_Schema", bound=BaseModel)


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

    def day(self, moment: datetime) -> date:
        """The business's day of a cutoff, as requests name it and answers give it back."""
        return local_day(moment, self.dataset.timezone)

    @property
    def end_day(self) -> date:
        """The day after the last transaction in the business's zone: the default as_of."""
        return self.day(self.end)


@dataclass(frozen=True)
class _ListInputs:
    """Everyone's scores at a cutoff and the offer effects learned there: what lists start from."""

    scores: pd.DataFrame
    uplift: EffectModel | None
    #: Why offer effects were assumed, where they were.
    notes: list[str]


@dataclass(eq=False)  # compared and hashed by identity: the work pool batches by cutoff
class _Cutoff:
    """Everything about one ``as_of`` that does not depend on the request."""

    as_of: datetime
    features: pd.DataFrame
    #: Row position of each customer id.
    rows: pd.Index
    #: Lifecycle, value and RFM segment, indexed by customer id.
    segments: pd.DataFrame
    reference: pd.DataFrame | None
    #: Built by the first list at this cutoff.
    list_inputs: Future[_ListInputs] | None = None


class _State:
    """One model over one dataset; replaced whole on reload, which drops its caches.

    Cutoffs and list inputs are built in ``builder`` (one thread: they share the dataset's
    DuckDB connection) as futures, so a request waits for the one build of its cutoff and for
    nothing else; ``_lock`` guards the cache and is never held while building.
    """

    def __init__(
        self, model: ServedModel, data: _Data, config: _Config, builder: ThreadPoolExecutor
    ) -> None:
        self.model, self.data, self.config, self.builder = model, data, config, builder
        self.loaded_at = datetime.now(UTC)
        bundle = model.bundle
        self.dictionary = bundle.dictionary(FeatureSettings())
        units = self.dictionary.set_index("name")["unit"]
        self.non_negative = frozenset(units.index[units.isin(NON_NEGATIVE_UNITS)])
        self._lock = threading.RLock()
        self._queued = 0
        # Built here, in the caller's thread: a model the data cannot feed fails now.
        self.latest = self._build(data.end)
        self._cutoffs: OrderedDict[datetime, Future[_Cutoff]] = OrderedDict()
        self._cutoffs[data.end] = Future()
        self._cutoffs[data.end].set_result(self.latest)
        # What /health and /model say, made once: they answer from memory.
        ref = ModelRef(name=model.name, version=model.version)
        periods = bundle.periods.periods if bundle.periods is not None else 0
        self.ref = ref
        self.loaded = LoadedModel(**ref.model_dump(), uri=model.uri, loaded_at=self.loaded_at)
        self.health = Health(
            model=ref,
            data_end=data.end_day,
            model_loaded_at=self.loaded_at,
            data_loaded_at=data.loaded_at,
        )
        self.info = ModelInfo(
            name=model.name,
            version=model.version,
            uri=model.uri,
            horizon_days=bundle.horizon_days,
            periods=periods,
            features=len(bundle.feature_columns),
            feature_columns=bundle.feature_columns,
            categorical_levels=bundle.churn.categories_,
            prediction_columns=bundle.prediction_columns,
            output_columns=score_columns(periods),
            loaded_at=self.loaded_at,
        )

    def cutoff(self, as_of: datetime) -> Future[_Cutoff]:
        """The cutoff, cached or being built (the latest data's is never evicted)."""
        with self._lock:
            future = self._cutoffs.get(as_of)
            if future is None:
                future = self._submit(self._build, as_of)
                self._cutoffs[as_of] = future
                future.add_done_callback(partial(self._forget_failed_cutoff, as_of))
            self._cutoffs.move_to_end(as_of)
            built = [k for k, f in self._cutoffs.items() if f.done() and k != self.data.end]
            for old in built[: max(0, len(self._cutoffs) - CACHED_CUTOFFS - 1)]:
                del self._cutoffs[old]
            return future

    def list_inputs(self, cut: _Cutoff) -> Future[_ListInputs]:
        """Everyone's scores and the offer effects at ``cut``, built once."""
        with self._lock:
            if cut.list_inputs is None:
                cut.list_inputs = self._submit(self._prepare_list, cut)
                cut.list_inputs.add_done_callback(partial(self._forget_failed_list, cut))
            return cut.list_inputs

    def _submit(self, build: Callable[[Any], Any], arg: object) -> Future[Any]:
        """Queue a build, unless too many wait already."""
        if self._queued >= QUEUED_BUILDS:
            raise busy(
                f"the server is busy: {self._queued} cutoffs or lists are being built",
                self.config.api.queue_timeout_seconds,
            )
        self._queued += 1
        future = self.builder.submit(build, arg)
        future.add_done_callback(self._built)
        return future

    def _built(self, _: Future[Any]) -> None:
        with self._lock:
            self._queued -= 1

    def _forget_failed_cutoff(self, as_of: datetime, future: Future[_Cutoff]) -> None:
        if future.exception() is not None:  # a later request tries again
            with self._lock:
                if self._cutoffs.get(as_of) is future:
                    del self._cutoffs[as_of]

    def _forget_failed_list(self, cut: _Cutoff, future: Future[_ListInputs]) -> None:
        if future.exception() is not None:
            with self._lock:
                if cut.list_inputs is future:
                    cut.list_inputs = None

    def _build(self, as_of: datetime) -> _Cutoff:
        bundle = self.model.bundle
        with self.data.lock:
            check_inputs(self.model, self.data.dataset)
            features = build_features(self.data.dataset, as_of, plan=bundle.plan)
            check_types(self.model, features)
            segment_rows = build_segment_rows(self.data.dataset, features, self.config.segments)
        segments = segment_rows.drop_duplicates("customer_id").set_index("customer_id")
        use_reasons = self.config.scoring.reasons > 0
        rows = pd.Index(features["customer_id"].astype(str))
        rows.get_indexer(rows[:1])  # build the index's hash table now, not in racing readers
        return _Cutoff(
            as_of=as_of,
            features=features,
            rows=rows,
            segments=segments[list(SEGMENT_OUTPUTS)],
            reference=reason_reference(bundle.model_inputs(features)) if use_reasons else None,
        )

    def score_rows(self, cut: _Cutoff, rows: np.ndarray, *, explained: bool = True) -> pd.DataFrame:
        """Rows of the scores table (as :func:`serving.scoring.score` makes them) for ``rows``."""
        features = cut.features.iloc[rows]
        return score_table(
            self.model,
            features,
            cut.segments.reindex(features["customer_id"].astype(str)).reset_index(),
            reference=cut.reference,
            reasons=self.config.scoring.reasons if explained else 0,
            chunk_rows=self.config.scoring.chunk_rows,
        )

    def _prepare_list(self, cut: _Cutoff) -> _ListInputs:
        # Only the listed customers are explained (by build_list), not everyone.
        scores = self.score_rows(cut, np.arange(len(cut.features)), explained=False)
        notes: list[str] = []
        with self.data.lock:
            uplift = fit_uplift(
                self.data.dataset,
                cut.as_of,
                self.model.bundle.horizon_days,
                plan=self.model.bundle.plan,
                learner=self.config.policy.uplift_learner,
                activity_events=self.config.policy.uplift_activity_events,
                on_skip=notes.append,
            )
        return _ListInputs(scores, uplift, notes)

    def winback_list(
        self,
        cut: _Cutoff,
        inputs: _ListInputs,
        budget: float | None,
        policy: PolicySettings | None = None,
    ) -> WinbackList:
        """The list for ``budget`` from the cutoff's list inputs (``policy``: the configured)."""
        with self.data.lock:
            return build_list(
                self.data.dataset,
                inputs.scores,
                cut.features,
                cut.as_of,
                policy or self.config.policy,
                budget=budget,
                lapsed_after_days=self.config.lapsed_after_days,
                uplift=inputs.uplift,
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


def _prepare(model_uri: str, data: _Data, config: _Config, builder: ThreadPoolExecutor) -> _State:
    """Load the model and build the latest cutoff: refuses a model the data cannot feed."""
    return _State(load_model(model_uri), data, config, builder)


# --- helpers of the endpoints -------------------------------------------------------------------


def _records(frame: pd.DataFrame, data: _Data) -> list[dict[str, Any]]:
    """Rows as plain Python values, NaN as None, reasons parsed from their JSON text."""
    rows: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    # Rows share a cutoff or a few: each is turned into the business's day once, not per row.
    days: dict[datetime, date] = {}
    for row in rows:
        if "reasons" in row:
            row["reasons"] = json.loads(row["reasons"] or "[]")
        if isinstance(moment := row.get("as_of"), datetime):
            if moment not in days:
                days[moment] = data.day(moment)
            row["as_of"] = days[moment]
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


def _feature_frame(
    rows: Sequence[dict[str, Any]], model: ServedModel, non_negative: frozenset[str]
) -> pd.DataFrame:
    """Posted rows as a feature frame, refusing other columns and values out of place.

    Refused: values of the wrong kind, and negative day counts or counts (that numbers are
    finite was checked by the request schema).
    """
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
    negative = [
        {"loc": ["body", "rows", str(i), column], "message": f"{row[column]:g} (must be >= 0)"}
        for i, row in enumerate(rows)
        for column in columns
        if column in non_negative and row[column] is not None and row[column] < 0
    ]
    if negative:
        shown = ", ".join(f"row {w['loc'][2]} {w['loc'][3]}: {w['message']}" for w in negative[:5])
        raise ApiError(
            422,
            "feature_values_out_of_range",
            f"day counts and counts cannot be negative: {shown}",
            details=negative,
        )
    return pd.DataFrame(
        {
            c: pd.Series([r[c] for r in rows], dtype=object if c in categorical else "float64")
            for c in columns
        }
    )


def _score_ids(state: _State, cut: _Cutoff, ids: list[str]) -> list[ScoreRow | None]:
    """The scores of the customers ``ids`` at the cutoff; None for ids it does not know."""
    where = cut.rows.get_indexer(ids)
    known = iter(_records(state.score_rows(cut, where[where >= 0]), state.data))
    return [ScoreRow.model_validate(next(known)) if at >= 0 else None for at in where]


def _parsed(schema: type[_Schema], body: bytes) -> _Schema:
    """``body`` read as ``schema``, or the 422 FastAPI would give for a declared body."""
    try:
        return schema.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from exc


def _as_of(requested: date | None, data: _Data) -> datetime:
    """The cutoff of a requested day: its midnight in the business's zone, as the CLI reads it."""
    return to_utc_naive(requested, data.dataset.timezone) if requested else data.end


# --- the endpoints ------------------------------------------------------------------------------


def _json(body: BaseModel) -> Response:
    """A response body serialised where it is made (in a worker, not on the event loop)."""
    return Response(body.model_dump_json(), media_type="application/json")


class _Service:
    """The endpoints over the current state, which :meth:`reload` replaces in one assignment.

    Scoring endpoints are coroutines that hand their work to the pool and answer what it gives;
    ``/reload`` is rare and slow, and runs in FastAPI's own thread pool.
    """

    def __init__(self, load_data: Callable[[], Dataset], model_uri: str, config: _Config) -> None:
        self.load_data, self.model_uri, self.config = load_data, model_uri, config
        api = config.api
        self.pool = WorkPool(api.max_concurrent, api.queue_timeout_seconds, api.max_rows)
        self.builder = ThreadPoolExecutor(1, thread_name_prefix="winback-builder")
        self.state = _prepare(model_uri, _load_data(load_data), config, self.builder)
        self._reloading = threading.Lock()

    async def health(self) -> Health:
        """Whether the server is up, which model it serves and how recent its data is.

        Answered from memory: never waits for scoring.
        """
        return self.state.health

    async def model_info(self) -> ModelInfo:
        """The served model: identity, horizon, inputs and outputs."""
        return self.state.info

    async def scores(self, request: ScoresRequest) -> Response:
        """Scores and reasons of the given customers as of a cutoff (default: the latest data).

        Ids with no customer known before the cutoff are listed in ``unknown_ids``.
        """
        state = self.state
        _limit_rows(len(request.customer_ids), "customer ids", self.config.api)
        cut = await result(state.cutoff(_as_of(request.as_of, state.data)))
        ids = list(dict.fromkeys(str(i) for i in request.customer_ids))

        def answer(rows: list[ScoreRow | None]) -> Response:
            body = ScoresResponse(
                as_of=state.data.day(cut.as_of),
                model=state.ref,
                scores=[row for row in rows if row is not None],
                unknown_ids=[i for i, row in zip(ids, rows, strict=True) if row is None],
            )
            return _json(body)

        compute = partial(_score_ids, state, cut)
        return await self.pool.run_batched(cut, ids, compute, answer)

    async def score_features(self, request: Request) -> Response:
        """Predictions and reasons for posted feature rows (their columns: GET /model).

        Reasons compare values with the customers of the latest data.
        """
        # Up to max_body_bytes of rows: read here, parsed and checked in the worker.
        body = await request.body()
        return await self.pool.run(partial(self._score_features, self.state, body))

    def _score_features(self, state: _State, body: bytes) -> Response:
        posted = _parsed(FeaturesRequest, body)
        _limit_rows(len(posted.rows), "rows", self.config.api)
        bundle = state.model.bundle
        frame = _feature_frame(posted.rows, state.model, state.non_negative)
        predicted = bundle.predict(frame)
        if "clv" not in predicted:
            predicted["clv"] = np.nan
        predicted["value_at_risk"] = predicted["churn_probability"] * predicted["clv"].clip(0)
        predicted["population"] = bundle.population(frame)
        rows = _records(predicted, state.data)
        if k := self.config.scoring.reasons:
            reasons = reason_codes(bundle, frame, state.dictionary, k, state.latest.reference)
            for row, found in zip(rows, reasons, strict=True):
                row["reasons"] = [r.to_dict() for r in found]
        return _json(
            FeaturesResponse(
                model=state.ref,
                predictions=[
                    Prediction.model_validate({"reasons": [], **row, "row": i})
                    for i, row in enumerate(rows)
                ],
            )
        )

    def policy_for(self, request: ListRequest) -> PolicySettings:
        """The configured policy with the request's offers and control share (422 if unknown)."""
        try:
            return chosen_policy(
                self.config.policy, offers=request.offers, control_share=request.control_share
            )
        except SettingsError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from exc

    async def winback_list(self, request: ListRequest) -> Response:
        """The ranked win-back list for a budget, with a random control group and its figures.

        ``offers`` and ``control_share`` choose among the catalog's offers and change the held-out
        share for this list only; the server's seed makes the same choices give the same list.
        """
        state = self.state
        self.policy_for(request)  # an unknown offer is refused before any work
        cut = await result(state.cutoff(_as_of(request.as_of, state.data)))
        inputs = await result(state.list_inputs(cut))
        return await self.pool.run(partial(self._winback_list, state, cut, inputs, request))

    def _winback_list(
        self, state: _State, cut: _Cutoff, inputs: _ListInputs, request: ListRequest
    ) -> Response:
        wl = state.winback_list(cut, inputs, request.budget, self.policy_for(request))
        figures = wl.figures | {
            "top_reasons": [
                {"feature": f, "customers": n, "example": e}
                for f, n, e in wl.figures["top_reasons"]
            ]
        }
        return _json(
            ListResponse(
                as_of=state.data.day(cut.as_of),
                budget=request.budget,
                model=state.ref,
                figures=ListFigures.model_validate(figures),
                summary=summary_lines(wl),
                effect_sources=wl.effect_sources,
                excluded=wl.excluded,
                notes=list(inputs.notes),
                rows=[ListRow.model_validate(r) for r in _records(wl.frame, state.data)],
            )
        )

    def data_end(self) -> date:
        """The last day of the served data."""
        return self.state.data.end_day

    async def page_list(self, request: ListRequest) -> PageList:
        """The list ``POST /list`` answers for ``request``, with what the page shows beside it."""
        state = self.state
        policy = self.policy_for(request)
        cut = await result(state.cutoff(_as_of(request.as_of, state.data)))
        inputs = await result(state.list_inputs(cut))
        wl = await self.pool.run(partial(state.winback_list, cut, inputs, request.budget, policy))
        return PageList(
            wl=wl,
            base=inputs.scores[list(_BASE_COLUMNS)],
            model_name=state.model.name,
            model_version=state.model.version,
            model_created_at=state.model.created_at,
            data_end=state.data.end_day,
            notes=list(inputs.notes),
            model_uri=state.model.uri,
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
                new = _prepare(self.model_uri, data, self.config, self.builder)
            except WinbackError as exc:
                raise ApiError(
                    503,
                    "reload_failed",
                    f"{exc}. Still serving model {old.model.name} version {old.model.version}",
                ) from exc
            self.state = new
        logger.info("reloaded model %s version %s", new.model.name, new.model.version)
        return ReloadResponse(
            previous=old.loaded,
            current=new.loaded,
            data_reloaded=new.data is not old.data,
            data_end=new.data.end_day,
        )


#: What the page shows of everyone's scores.
_BASE_COLUMNS = ("customer_id", "lifecycle_stage", "value_segment", "churn_probability",
                 "clv", "value_at_risk")  # fmt: skip
_PROTECTED: Any = {
    401: {"model": ErrorResponse, "description": "Missing or wrong bearer token."},
    413: {"model": ErrorResponse, "description": "Body or row count over the limits."},
    422: {"model": ErrorResponse, "description": "Invalid request, or data the model refuses."},
    503: {
        "model": ErrorResponse,
        "description": f"No token configured ({TOKEN_ENV}), or busy: every scoring worker "
        "stayed taken for [api] queue_timeout_seconds (retry after the Retry-After seconds).",
    },
}
_FEATURES_SCHEMA = FeaturesRequest.model_json_schema()
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
    sent_lists: Path | None = None,
) -> FastAPI:
    """The API over the data ``load_data`` returns and the model at ``model_uri``, and its page.

    ``settings`` is one composite settings object (``winback.settings.Settings``); without it,
    the defaults. The marketer's page (:mod:`serving.page`) is at ``/``; it records lists
    marked as sent under ``sent_lists`` (None: marking is off). Loads the data and the model and
    builds the latest features now, so a bad source
    or a model the data cannot feed fails here (a :class:`WinbackError`), not at the first request.
    """
    segments = settings.segments if settings else SegmentSettings()
    config = _Config(
        api=settings.api if settings else ApiSettings(),
        scoring=settings.scoring if settings else ScoringSettings(),
        policy=settings.policy if settings else PolicySettings(),
        segments=segments,
        # The fallback when [policy] lapsed_after_days is not set: the churned stage's threshold.
        lapsed_after_days=segments.churned_after_days,
    )
    service = _Service(load_data, model_uri, config)
    app = FastAPI(
        title="winback",
        summary="Churn risk, value, reasons and win-back lists.",
        description="Customer-level endpoints need `Authorization: Bearer <token>` with the "
        f"token in the server's `{TOKEN_ENV}`. Every error is "
        '`{"error": {"code", "message", "details"}}`.',
        version="1",
        # The stock pages load their scripts from a CDN: blank without internet.
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    install_error_handlers(app)
    app.get("/health", tags=["service"])(service.health)
    app.get("/model", tags=["service"])(service.model_info)
    protected: Any = [Depends(authorize)]
    # /score-features parses its body in a worker (up to max_body_bytes of rows: too long for
    # the event loop), so its schema is declared here rather than by a parameter.
    rows_body = {"required": True, "content": {"application/json": {"schema": _FEATURES_SCHEMA}}}
    for path, endpoint, answer, extra in (
        ("/scores", service.scores, ScoresResponse, None),
        ("/score-features", service.score_features, FeaturesResponse, {"requestBody": rows_body}),
        ("/list", service.winback_list, ListResponse, None),
    ):
        app.post(
            path,
            tags=["customers"],
            dependencies=protected,
            responses=_PROTECTED,
            response_model=answer,
            openapi_extra=extra,
        )(endpoint)
    app.post(
        "/reload",
        tags=["service"],
        dependencies=protected,
        responses=_PROTECTED | _RELOAD_FAILED,
    )(service.reload)
    guarded = {("POST", path) for path in ("/scores", "/score-features", "/list", "/reload")}
    app.add_middleware(Guard, max_body_bytes=config.api.max_body_bytes, protected=guarded)
    _add_docs(app)
    install_page(
        app,
        lists=service.page_list,
        policy=config.policy,
        data_end=service.data_end,
        sent_lists=sent_lists,
    )
    return app


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    """While served: what is loaded by now is out of the GC's way, and the GIL changes hands often.

    A full collection scans every tracked object, and holds the GIL (and so the event loop)
    meanwhile: 0.7 s once during bench/bench_api_load.py's burst, before the freeze. Each time
    the event loop comes back from waiting on its sockets it needs the GIL, and a scoring thread
    running Python keeps it up to the switch interval: :data:`SWITCH_INTERVAL` instead of 5 ms.
    """
    gc.freeze()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.unfreeze()


def _add_docs(app: FastAPI) -> None:
    """``GET /docs``: the endpoints and schemas as one page the app renders, nothing fetched."""
    pages: dict[str, str] = {}

    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        if root not in pages:
            pages[root] = docs_page(app.openapi(), openapi_url=root + str(app.openapi_url))
        return HTMLResponse(pages[root])

    app.get("/docs", include_in_schema=False)(docs)


__all__ = [
    "TOKEN_ENV",
    "ApiError",
    "ErrorResponse",
    "ServingSettings",
    "configured_token",
    "create_app",
]
