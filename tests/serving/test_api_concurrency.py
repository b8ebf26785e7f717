"""The API under concurrent load, over a real socket: health, cutoff builds, saturation.

A uvicorn server runs the real app on 127.0.0.1 in a thread of the test; clients are threads
with httpx. Where a test needs work to last until it says so, a gate wraps one of our real
functions (the work still runs, after the gate opens): timing thresholds would make the tests
flaky on a busy machine, ordering does not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
import uvicorn

import winback.serving.api as api_module
import winback.serving.scoring as scoring_module
from winback.common.timestamps import to_utc_naive
from winback.features import Dataset, load_dataset
from winback.serving.api import TOKEN_ENV, create_app
from winback.serving.settings import ApiSettings
from winback.settings import Settings

TABLES = ("transactions", "events", "customers", "campaigns")
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: One scoring job at a time, so a second request must queue.
ONE_AT_A_TIME = Settings(api=ApiSettings(max_concurrent=1))
#: A cutoff no request has asked for yet (the latest data's is 2025-01-01).
NEW = "2024-09-01"
#: Generous bounds: a request that cannot finish within them is stuck, not slow.
STUCK = 60.0


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture(scope="module")
def load(small_world) -> Callable[[], Dataset]:
    def load_data() -> Dataset:
        return load_dataset(frames={t: getattr(small_world, t) for t in TABLES})

    return load_data


class Server:
    """The app served by uvicorn on a free port of 127.0.0.1, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def connections(self) -> int:
        return len(self.server.server_state.connections)


@contextmanager
def serving(app: Any) -> Iterator[Server]:
    server = Server(app)
    server.thread.start()
    deadline = time.monotonic() + STUCK
    while not server.server.started:
        assert server.thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield server
    finally:
        server.server.should_exit = True
        server.thread.join(STUCK)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + STUCK
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@contextmanager
def gate(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, holds: Callable[..., bool]
) -> Iterator[tuple[threading.Event, threading.Event, list[Any]]]:
    """Wrap ``module.name``: calls for which ``holds(*args)`` wait until the gate opens.

    Yields (entered, opened, calls): ``entered`` is set once a held call waits at the gate;
    setting ``opened`` lets it through; ``calls`` lists the arguments of every call.
    """
    real = getattr(module, name)
    entered, opened, calls = threading.Event(), threading.Event(), []

    def gated(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if holds(*args):
            entered.set()
            assert opened.wait(STUCK), "the gate was never opened"
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, gated)
    try:
        yield entered, opened, calls
    finally:
        opened.set()


def _post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + path, json=body, headers=AUTH, timeout=STUCK)


def _is_new_cutoff(_: Dataset, as_of: Any, *rest: Any) -> bool:
    return to_utc_naive(as_of) == datetime.fromisoformat(NEW)


def test_health_and_cached_cutoffs_answer_while_a_new_cutoff_is_built(
    load, model, monkeypatch
) -> None:
    app = create_app(load, model_uri=model.uri)
    with (
        gate(monkeypatch, api_module, "build_features", _is_new_cutoff) as (entered, opened, calls),
        serving(app) as server,
        ThreadPoolExecutor(48) as clients,
    ):
        # More requests for the new cutoff than a default thread pool (40) has threads.
        waiting = [
            clients.submit(_post, server.url, "/scores", {"customer_ids": [f"C{i:07d}"],
                                                          "as_of": NEW})
            for i in range(1, 46)
        ]  # fmt: skip
        assert entered.wait(STUCK), "the new cutoff was never built"
        _wait_for(lambda: server.connections() >= 45, "every request to arrive")
        # While its features are being built: the service answers from memory ...
        health = httpx.get(server.url + "/health", timeout=STUCK)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert httpx.get(server.url + "/model", timeout=STUCK).status_code == 200
        # ... and scores customers at a cutoff it has already built.
        cached = _post(server.url, "/scores", {"customer_ids": ["C0000007"]})
        assert cached.status_code == 200, cached.text
        assert cached.json()["as_of"] == "2025-01-01"
        assert not any(f.done() for f in waiting)
        opened.set()
        answers = [f.result() for f in waiting]
    assert [a.status_code for a in answers] == [200] * 45
    assert {a.json()["as_of"] for a in answers} == {NEW}
    # Built once for all 45 requests.
    assert sum(_is_new_cutoff(*c) for c in calls) == 1


def test_a_saturated_service_answers_503_with_retry_after_then_recovers(
    load, model, monkeypatch
) -> None:
    api = ApiSettings(max_concurrent=1, queue_timeout_seconds=0.2)
    app = create_app(load, model_uri=model.uri, settings=Settings(api=api))
    first: list[bool] = []

    def holds_the_first(*_: Any) -> bool:
        first.append(True)
        return len(first) == 1

    with (
        gate(monkeypatch, scoring_module, "reason_codes", holds_the_first) as (entered, opened, _),
        serving(app) as server,
        ThreadPoolExecutor(2) as clients,
    ):
        busy = clients.submit(_post, server.url, "/scores", {"customer_ids": ["C0000001"]})
        assert entered.wait(STUCK), "the first request never reached scoring"
        # The one worker is taken: the next request waits its 0.2 s in the queue, then is told.
        refused = _post(server.url, "/scores", {"customer_ids": ["C0000002"]})
        features = _post(server.url, "/score-features", {"rows": [{"x": 1}]})
        health = httpx.get(server.url + "/health", timeout=STUCK)
        opened.set()
        served = busy.result()
        after = _post(server.url, "/scores", {"customer_ids": ["C0000002"]})
    for response in (refused, features):
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "busy" and "retry" in error["message"]
        assert int(response.headers["Retry-After"]) >= 1
    assert health.status_code == 200
    assert served.status_code == 200 and after.status_code == 200, (served.text, after.text)


def test_requests_waiting_together_are_scored_together_with_the_same_answers(
    load, model, monkeypatch
) -> None:
    app = create_app(load, model_uri=model.uri, settings=ONE_AT_A_TIME)
    ids = [f"C{i:07d}" for i in range(1, 13)]
    with serving(app) as server:
        alone = {i: _post(server.url, "/scores", {"customer_ids": [i, "nobody"]}) for i in ids}
    sizes: list[int] = []

    def held_first(_: Any, features: Any, *rest: Any) -> bool:
        sizes.append(len(features))
        return len(sizes) == 1

    app = create_app(load, model_uri=model.uri, settings=ONE_AT_A_TIME)
    with (
        gate(monkeypatch, scoring_module, "reason_codes", held_first) as (entered, opened, _),
        serving(app) as server,
        ThreadPoolExecutor(len(ids)) as clients,
    ):
        held = clients.submit(_post, server.url, "/scores", {"customer_ids": ids[:1]})
        assert entered.wait(STUCK)
        together: list[Future[httpx.Response]] = [
            clients.submit(_post, server.url, "/scores", {"customer_ids": [i, "nobody"]})
            for i in ids[1:]
        ]
        _wait_for(lambda: server.connections() >= len(ids), "every request to arrive")
        time.sleep(0.2)  # let the server read them: they queue behind the held one
        opened.set()
        answers = [held.result(), *(f.result() for f in together)]
    # The eleven waiting requests were scored in one call, each answered with its own rows.
    assert sizes[1] == len(ids) - 1, sizes
    for i, answer in zip(ids, answers, strict=True):
        assert answer.status_code == 200, answer.text
        (row,) = answer.json()["scores"]
        want = alone[i].json()["scores"][0]
        assert row["customer_id"] == i and set(row) == set(want)
        for column, value in row.items():
            if isinstance(value, float):  # sums over rows in a batch may differ in the last bit
                assert value == pytest.approx(want[column], rel=1e-12, abs=1e-12), column
            elif column != "scored_at":
                assert value == want[column], column
    assert all(a.json()["unknown_ids"] == ["nobody"] for a in answers[1:])
