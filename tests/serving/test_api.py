"""The HTTP API against the real app: auth, bad input, limits, errors, reload, lists, OpenAPI."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import winback.serving.scoring as scoring_module
from tests.conftest import Trained
from winback.cli import app as cli_app
from winback.features import (
    Dataset,
    DataSettings,
    SourceSettings,
    load_dataset,
)
from winback.features.snapshots import data_end
from winback.serving.api import TOKEN_ENV, create_app
from winback.serving.model import ServedModel, load_model
from winback.serving.scoring import score, score_columns
from winback.serving.settings import ApiSettings
from winback.settings import Settings
from winback.training.bundle import BUNDLE_FILE, ModelBundle

# Starlette 1.x announces its move from httpx to httpx2 when the test client is imported; the
# client works with httpx, which the dev extra installs.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TABLES = ("transactions", "events", "customers", "campaigns")
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMITS = ApiSettings(max_body_bytes=20_000, max_rows=50)
PRICES = ("churn_probability", "decline_probability", "expected_orders", "expected_spend",
          "value_period_1", "value_period_2", "value_period_3", "clv", "value_at_risk")  # fmt: skip


@pytest.fixture(scope="module")
def load(small_world):
    def load_data() -> Dataset:
        return load_dataset(frames={t: getattr(small_world, t) for t in TABLES})

    return load_data


@pytest.fixture(scope="module")
def bundle_dir(small_trained: Trained, tmp_path_factory) -> Path:
    """The session's model saved as the champion the app serves."""
    return small_trained.result.bundle.save(tmp_path_factory.mktemp("model") / "champion")


@pytest.fixture(scope="module")
def client(load, bundle_dir) -> TestClient:
    return TestClient(create_app(load, model_uri=str(bundle_dir), settings=Settings(api=LIMITS)))


@pytest.fixture(scope="module")
def batch(load, bundle_dir) -> tuple[pd.DataFrame, pd.DataFrame, ServedModel]:
    """`winback score`'s rows at the latest data, the reference for the API's numbers."""
    dataset = load()
    model = load_model(str(bundle_dir))
    scores, features = score(dataset, model, data_end(dataset))
    return scores, features, model


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return AUTH


def _error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert "Traceback" not in response.text
    return body["error"]["message"]


# --- open endpoints and auth --------------------------------------------------------------------


def test_health_and_model_need_no_token(client, bundle_dir, monkeypatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["data_end"] == "2025-01-01"
    assert health["model"] == {"name": "champion", "version": "local"}
    info = client.get("/model").json()
    bundle = ModelBundle.load(bundle_dir)
    assert info["uri"] == str(bundle_dir) and info["horizon_days"] == 90
    assert info["features"] == len(bundle.feature_columns) == len(info["feature_columns"])
    assert info["output_columns"] == score_columns(3)
    assert set(info["categorical_levels"]) == set(bundle.churn.categories_)


@pytest.mark.parametrize("path", ["/scores", "/score-features", "/list", "/reload"])
def test_customer_endpoints_refuse_without_a_configured_token(client, monkeypatch, path) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    response = client.post(path, json={}, headers=AUTH)
    message = _error(response, 503, "auth_not_configured")
    assert TOKEN_ENV in message and "export" in message


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": f"Bearer {TOKEN}x"}],
)  # fmt: skip
def test_a_missing_or_wrong_token_is_refused(client, token, headers) -> None:
    response = client.post("/scores", json={"customer_ids": ["C0000001"]}, headers=headers)
    _error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.post("/scores", json={"customer_ids": ["C0000001"]}, headers=token).is_success


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
@pytest.mark.parametrize(
    "body", [b'{"customer_ids": [', b"\x00\xff not json", b'{"customer_ids": "C1", "x": 1}']
)
def test_the_token_is_checked_before_the_body_is_read(client, token, headers, body) -> None:
    json_type = {"content-type": "application/json"}
    for path in ("/scores", "/score-features", "/list", "/reload"):
        response = client.post(path, content=body, headers=headers | json_type)
        _error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    # Oversized too: a stranger learns nothing about the limits.
    big = b"x" * (LIMITS.max_body_bytes + 1)
    _error(client.post("/scores", content=big, headers=headers | json_type), 401, "unauthorized")
    # With the token, the same body is judged on its merits (bytes that are no text: 400).
    response = client.post("/scores", content=body, headers=token | json_type)
    assert response.status_code in {400, 422} and set(response.json()) == {"error"}


def test_garbage_without_a_configured_token_says_so_before_parsing(client, monkeypatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    response = client.post("/scores", content=b"{", headers={"content-type": "application/json"})
    _error(response, 503, "auth_not_configured")


def test_a_token_of_blanks_counts_as_unset(client, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(TOKEN_ENV, " \t ")
    response = client.post("/scores", json={"customer_ids": ["C1"]}, headers=AUTH)
    _error(response, 503, "auth_not_configured")
    # `winback serve` warns before it loads anything (here the model is missing, so it stops).
    # The config puts the MLflow store beside it, in tmp_path, not in the checkout.
    (tmp_path / "tx.csv").write_text("customer_id,timestamp,amount\nC1,2024-01-01,10\n")
    (tmp_path / "winback.toml").write_text('[data.transactions]\npath = "tx.csv"\n')
    serve = ["serve", "--config", str(tmp_path / "winback.toml"), "--model", str(tmp_path / "none")]
    warning = f"warning: {TOKEN_ENV} is not set"
    for value, warned in ((" \t ", True), ("", True), (TOKEN, False)):
        env = {TOKEN_ENV: value, "MLFLOW_TRACKING_URI": None}
        result = CliRunner().invoke(cli_app, serve, env=env)
        assert result.exit_code == 1, result.output
        assert (warning in result.output) is warned, (value, result.output)


# --- scores -------------------------------------------------------------------------------------


def test_scores_equal_the_batch_rows_and_list_unknown_ids(client, token, batch) -> None:
    scores, _, _ = batch
    ids = scores["customer_id"].iloc[[5, 0, 2999, 17]].tolist()
    response = client.post(
        "/scores", json={"customer_ids": [ids[0], "nobody", *ids[1:], ids[0]]}, headers=token
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unknown_ids"] == ["nobody"] and body["as_of"] == "2025-01-01"
    rows = body["scores"]
    assert [r["customer_id"] for r in rows] == ids  # request order, duplicates once
    expected = scores.set_index("customer_id").loc[ids]
    assert set(rows[0]) == set(score_columns(3))
    for row, (_, want) in zip(rows, expected.iterrows(), strict=True):
        for column in PRICES:
            assert row[column] == pytest.approx(want[column], rel=1e-12, abs=1e-12), column
        for column in ("lifecycle_stage", "value_segment", "rfm_segment", "model_name"):
            assert row[column] == (None if pd.isna(want[column]) else want[column])
        assert row["reasons"] == json.loads(want["reasons"])  # structured, same reasons
        assert row["reasons"] and set(row["reasons"][0]) == {
            "feature", "value", "contribution", "sentence"
        }  # fmt: skip


def test_scores_as_of_an_earlier_cutoff(client, token) -> None:
    latest = client.post("/scores", json={"customer_ids": ["C0000001"]}, headers=token).json()
    earlier = client.post(
        "/scores", json={"customer_ids": ["C0000001"], "as_of": "2024-11-01"}, headers=token
    ).json()
    assert earlier["as_of"] == "2024-11-01" and earlier["scores"][0]["as_of"] == "2024-11-01"
    assert earlier["scores"][0]["churn_probability"] != latest["scores"][0]["churn_probability"]


def test_a_berlin_business_asks_for_its_own_day_and_gets_it_back(
    small_world, bundle_dir, token
) -> None:
    """``as_of`` is the business's day: its midnight there, and the same day in the answer."""
    customer = "C0000001"
    # Frames hold UTC: 22:30 on 30 September is 00:30 on 1 October in Berlin, before UTC's
    # midnight but after Berlin's, so only a cutoff at Berlin's midnight leaves it out.
    late = pd.DataFrame(
        {"customer_id": [customer], "timestamp": [pd.Timestamp("2024-09-30 22:30")],
         "amount": [500.0], "order_id": ["late-night"]}
    )  # fmt: skip
    answers = []
    for extra in (None, late):
        frames = {t: getattr(small_world, t) for t in TABLES}
        if extra is not None:
            frames["transactions"] = pd.concat([frames["transactions"], extra], ignore_index=True)

        def berlin(frames: dict[str, pd.DataFrame] = frames) -> Dataset:
            return load_dataset(DataSettings(timezone="Europe/Berlin"), frames=frames)

        app = create_app(berlin, model_uri=str(bundle_dir), settings=Settings(api=LIMITS))
        with TestClient(app) as client:
            body = {"customer_ids": [customer], "as_of": "2024-10-01"}
            answers.append(client.post("/scores", json=body, headers=token).json())
    without, with_late_order = answers
    assert without["as_of"] == with_late_order["as_of"] == "2024-10-01"
    assert without["scores"][0]["as_of"] == "2024-10-01"

    # The order on the requested day is not seen: the scores are the same without it.
    def scores(answer: dict) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "scored_at"} for row in answer["scores"]]

    assert scores(with_late_order) == scores(without)


@pytest.mark.parametrize(
    "body",
    [
        {"customer_ids": []},
        {"customer_ids": "C0000001"},
        {"customer_ids": [{"id": 1}]},
        {"customer_ids": ["C0000001"], "as_of": "yesterday"},
        {"customer_ids": ["C0000001"], "extra": 1},
        {},
    ],
)
def test_bad_score_requests_are_422_naming_the_field(client, token, body) -> None:
    response = client.post("/scores", json=body, headers=token)
    message = _error(response, 422, "invalid_request")
    assert "body" in message and response.json()["error"]["details"]


def test_malformed_json_is_422(client, token) -> None:
    response = client.post(
        "/scores",
        content=b'{"customer_ids": [',
        headers=token | {"content-type": "application/json"},
    )
    _error(response, 422, "invalid_request")


# --- feature rows -------------------------------------------------------------------------------


def _rows(features: pd.DataFrame, columns: list[str]) -> list[dict[str, object]]:
    frame = features[columns].astype(object)
    return frame.where(features[columns].notna(), None).to_dict("records")


def test_posted_feature_rows_round_trip_to_the_batch_numbers(client, token, batch) -> None:
    scores, features, model = batch
    picked = [3, 1500, 2998]
    rows = _rows(features.iloc[picked], model.bundle.feature_columns)
    response = client.post("/score-features", json={"rows": rows}, headers=token)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [p["row"] for p in predictions] == [0, 1, 2]
    for prediction, (_, want) in zip(predictions, scores.iloc[picked].iterrows(), strict=True):
        for column in PRICES:
            assert prediction[column] == pytest.approx(want[column], rel=1e-9), column
        assert prediction["reasons"] == json.loads(want["reasons"])


def test_feature_rows_with_other_columns_are_422_with_the_names(client, token, batch) -> None:
    _, features, model = batch
    columns = model.bundle.feature_columns
    row = _rows(features.iloc[[0]], columns)[0]
    row.pop(columns[0])
    row["shoe_size"] = 44
    response = client.post("/score-features", json={"rows": [row]}, headers=token)
    message = _error(response, 422, "feature_columns_mismatch")
    assert columns[0] in message and "shoe_size" in message
    text = next(iter(model.bundle.churn.categories_))
    number = next(c for c in columns if c not in model.bundle.churn.categories_)
    row = _rows(features.iloc[[0]], columns)[0] | {number: "many", text: 3}
    response = client.post("/score-features", json={"rows": [row]}, headers=token)
    message = _error(response, 422, "feature_types_mismatch")
    assert number in message and text in message


@pytest.mark.parametrize(
    ("value", "says"),
    [("NaN", "finite"), ("Infinity", "finite"), ("-Infinity", "finite"), ("1e999", "finite"),
     ("true", "number"), ("false", "number")],
)  # fmt: skip
def test_feature_values_must_be_finite_numbers_not_booleans(
    client, token, batch, value, says
) -> None:
    _, features, model = batch
    columns = model.bundle.feature_columns
    numeric = next(c for c in columns if c not in model.bundle.churn.categories_)
    row = _rows(features.iloc[[0]], columns)[0]
    # Python's json (as the server's) reads NaN and Infinity; a client can send them.
    text = json.dumps({"rows": [row, row | {numeric: "__VALUE__"}]}).replace('"__VALUE__"', value)
    response = client.post(
        "/score-features", content=text, headers=token | {"content-type": "application/json"}
    )
    message = _error(response, 422, "invalid_request")
    assert numeric in message and says in message
    (detail,) = response.json()["error"]["details"]
    assert detail["loc"] == ["body", "rows", "1", numeric]


def test_day_counts_and_counts_cannot_be_negative(client, token, batch) -> None:
    _, features, model = batch
    columns = model.bundle.feature_columns
    row = _rows(features.iloc[[0]], columns)[0]
    for column in ("days_since_last_order", "orders_90d"):
        assert column in columns
        bad = row | {column: -3}
        response = client.post("/score-features", json={"rows": [row, bad]}, headers=token)
        message = _error(response, 422, "feature_values_out_of_range")
        assert f"row 1 {column}" in message and ">= 0" in message
        assert response.json()["error"]["details"][0]["loc"] == ["body", "rows", "1", column]
    # Zero, whole numbers and missing values are fine.
    fine = row | {"days_since_last_order": 0, "orders_90d": 2, "tenure_days": None}
    response = client.post("/score-features", json={"rows": [fine]}, headers=token)
    assert response.status_code == 200, response.text


def test_the_budget_must_be_a_finite_number(client, token) -> None:
    json_type = {"content-type": "application/json"}
    for value in ("NaN", "Infinity", "true", '"100"'):
        body = f'{{"budget": {value}}}'.encode()
        response = client.post("/list", content=body, headers=token | json_type)
        assert "budget" in _error(response, 422, "invalid_request")


# --- limits and unexpected errors ---------------------------------------------------------------


def test_too_many_ids_or_rows_are_413(client, token) -> None:
    ids = [f"C{i:07d}" for i in range(LIMITS.max_rows + 1)]
    message = _error(client.post("/scores", json={"customer_ids": ids}, headers=token), 413,
                     "too_many_rows")  # fmt: skip
    assert "at most 50" in message
    rows = [{"x": 1}] * (LIMITS.max_rows + 1)
    _error(client.post("/score-features", json={"rows": rows}, headers=token), 413, "too_many_rows")
    ok = client.post("/scores", json={"customer_ids": ids[:-1]}, headers=token)
    assert ok.status_code == 200


def test_bodies_over_the_limit_are_413_declared_or_streamed(client, token) -> None:
    big = json.dumps({"customer_ids": ["C0000001" * 40] * 80}).encode()
    assert len(big) > LIMITS.max_body_bytes
    json_type = {"content-type": "application/json"}
    response = client.post("/scores", content=big, headers=token | json_type)
    _error(response, 413, "body_too_large")

    def chunks(body: bytes) -> Iterator[bytes]:
        yield from (body[i : i + 1000] for i in range(0, len(body), 1000))

    response = client.post("/scores", content=chunks(big), headers=token | json_type)
    assert "content-length" not in response.request.headers
    _error(response, 413, "body_too_large")
    small = json.dumps({"customer_ids": ["C0000001"]}).encode()
    response = client.post("/scores", content=chunks(small), headers=token | json_type)
    assert response.status_code == 200 and response.json()["scores"][0]["customer_id"]


def test_an_unexpected_failure_is_a_json_500_without_internals(
    client, token, monkeypatch, caplog
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals at /srv/models")

    # Fault injection: a failure deep inside scoring, where no user error is expected.
    monkeypatch.setattr(scoring_module, "reason_codes", broken)
    with caplog.at_level(logging.ERROR, logger="winback.serving.api"):
        response = client.post("/scores", json={"customer_ids": ["C0000001"]}, headers=token)
    message = _error(response, 500, "internal_error")
    assert "secret" not in response.text and "incident" in message
    incident = message.rsplit(" ", 1)[-1]
    logged = [r for r in caplog.records if incident in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback stays in the server log


def test_unknown_paths_and_methods_answer_in_the_same_shape(client) -> None:
    _error(client.get("/nothing"), 404, "not_found")
    _error(client.get("/scores"), 405, "method_not_allowed")


#: An absolute path of two or more parts (``models:/name@alias`` is a URI, not a path).
SERVER_PATH = re.compile(r"(?<![\w.:/-])/[^\s/'\"]+/[^\s'\"]+")


def _no_server_paths(response, *places: Path) -> None:
    text = response.text
    assert not any(str(place) in text for place in (*places, Path.cwd())), text
    assert not SERVER_PATH.search(text), text


def test_error_bodies_name_files_not_server_paths(load, bundle_dir, tmp_path, token) -> None:
    served = shutil.copytree(bundle_dir, tmp_path / "served")
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "transactions.csv").write_text(
        "customer_id,timestamp,amount\nC1,2024-01-01,10\nC2,2024-01-02,abc\n"
    )
    bad = DataSettings(transactions=SourceSettings(path=sources / "transactions.csv"))
    calls = []

    def load_data() -> Dataset:  # the world first, then (on reload) a file with a bad row
        calls.append(1)
        return load() if len(calls) == 1 else load_dataset(bad)

    client = TestClient(create_app(load_data, model_uri=str(served), settings=Settings(api=LIMITS)))
    # The data: a contract error names the file, row and column, but not the directory.
    response = client.post("/reload", json={"data": True}, headers=token)
    message = _error(response, 503, "reload_failed")
    assert "transactions.csv" in message and "amount" in message
    _no_server_paths(response, tmp_path)
    # The model: gone from where it was.
    (served / BUNDLE_FILE).unlink()
    response = client.post("/reload", headers=token)
    assert "served" in _error(response, 503, "reload_failed")
    _no_server_paths(response, tmp_path)
    assert client.post("/scores", json={"customer_ids": ["C0000001"]}, headers=token).is_success


# --- the list -----------------------------------------------------------------------------------


def test_the_list_stays_within_the_budget(client, token) -> None:
    response = client.post("/list", json={"budget": 60}, headers=token)
    assert response.status_code == 200, response.text
    body = response.json()
    rows, figures = body["rows"], body["figures"]
    assert rows and sum(r["offer_cost"] for r in rows) <= 60 + 1e-9
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert figures["customers"] == len(rows) == figures["treated"] + figures["control"]
    assert sum(r["control"] for r in rows) == figures["control"]
    assert all(r["expected_net_benefit"] > 0 and r["reasons"] for r in rows)
    assert body["summary"][0].startswith("win-back list as of 2025-01-01")
    bigger = client.post("/list", json={"budget": 200}, headers=token).json()
    assert len(bigger["rows"]) > len(rows)
    _error(client.post("/list", json={"budget": -1}, headers=token), 422, "invalid_request")


# --- reload -------------------------------------------------------------------------------------


def test_reload_swaps_the_model_and_keeps_it_on_failure(load, bundle_dir, tmp_path, token) -> None:
    served = shutil.copytree(bundle_dir, tmp_path / "served")
    # The composite settings object `winback serve` passes.
    settings = Settings(api=LIMITS)
    client = TestClient(create_app(load, model_uri=str(served), settings=settings))
    ask = {"customer_ids": ["C0000001", "C0000002"]}

    def churn() -> list[float]:
        response = client.post("/scores", json=ask, headers=token)
        return [r["churn_probability"] for r in response.json()["scores"]]

    before, loaded = churn(), client.get("/health").json()["model_loaded_at"]
    # A new model lands where the server reads it: the retention churn model for everyone,
    # uncalibrated.
    bundle = ModelBundle.load(served)
    single = {"calibrator": None, "winback_churn": None, "populations": None}
    dataclasses.replace(bundle, **single).save(served)
    assert churn() == before  # loaded once: files on disk do not matter until a reload
    response = client.post("/reload", headers=token)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["previous"]["loaded_at"] == loaded != report["current"]["loaded_at"]
    assert report["current"]["uri"] == str(served) and report["data_reloaded"] is False
    after = churn()
    assert not np.allclose(after, before)
    # A reload that fails leaves the working model serving.
    (served / BUNDLE_FILE).unlink()
    message = _error(client.post("/reload", headers=token), 503, "reload_failed")
    assert "Still serving model served" in message
    assert churn() == after
    # Back to the first model, with the data read again, while customers are being scored:
    # every request runs on one whole model, the old or the new.
    bundle.save(served)
    with ThreadPoolExecutor(4) as pool:
        scoring = [pool.submit(churn) for _ in range(6)]
        response = client.post("/reload", json={"data": True}, headers=token)
        seen = [f.result() for f in scoring]
    assert response.status_code == 200 and response.json()["data_reloaded"] is True
    assert all(s in (after, before) for s in seen)
    assert churn() == before


# --- OpenAPI ------------------------------------------------------------------------------------


def test_openapi_documents_every_endpoint_and_the_bearer_scheme(client) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {
        "/health", "/model", "/scores", "/score-features", "/list", "/reload"
    }  # fmt: skip
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    scores = schema["paths"]["/scores"]["post"]
    assert scores["security"] == [{"HTTPBearer": []}]
    assert {"200", "401", "413", "422", "503"} <= set(scores["responses"])
    assert "security" not in schema["paths"]["/health"]["get"]
    assert "ScoreRow" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200


class _Links(HTMLParser):
    """Every URL a page would fetch or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in {"src", "href", "action", "data"} and v]


def test_the_docs_page_works_offline_and_lists_every_endpoint(client) -> None:
    response = client.get("/docs")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    links = _Links()
    links.feed(page)
    # Nothing from another host: every link is a path on this server or an anchor.
    assert links.urls and all(re.match(r"^(/(?!/)|#)", url) for url in links.urls), links.urls
    assert "@import" not in page and "url(http" not in page and "//cdn" not in page
    assert "/openapi.json" in links.urls
    for path in ("/health", "/model", "/scores", "/score-features", "/list", "/reload"):
        assert path in page
    assert "Bearer" in page and "customer_ids" in page and "ScoreRow" in page
    assert client.get("/redoc").status_code == 404
