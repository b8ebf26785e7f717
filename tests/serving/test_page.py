"""The marketer's page of ``winback serve``: sign-in, the list it shows, downloads, marking sent.

One app over the session's model and the small world (read from files through a winback.toml,
as ``winback serve`` reads them) serves every test here: in process for the HTTP checks, and
on 127.0.0.1 for a real headless Chromium that signs in, changes the budget and downloads the
list, which must equal ``winback list`` run with the same choices.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from tests.conftest import TABLES, Trained
from winback.cli import app as cli_app
from winback.features import load_dataset
from winback.serving.api import TOKEN_ENV, create_app
from winback.serving.page import ROUTES
from winback.serving.page_session import COOKIE
from winback.settings import load_settings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TOKEN = "page-token-0123456789"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: No network of its own: the page needs none.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass(frozen=True)
class Served:
    """The app, its config (for the CLI) and where it records lists marked as sent."""

    app: FastAPI
    config: Path
    model: Path
    sent: Path


@pytest.fixture(scope="module")
def served(small_world, small_trained: Trained, tmp_path_factory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("page")
    lines = []
    for table in TABLES:
        getattr(small_world, table).to_parquet(root / f"{table}.parquet")
        lines += [f"[data.{table}]", f'path = "{table}.parquet"']
    config = root / "winback.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = load_settings(config)
    model = small_trained.result.bundle.save(root / "champion")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TOKEN_ENV, TOKEN)
        app = create_app(
            lambda: load_dataset(settings.data, engine=settings.engine),
            model_uri=str(model),
            settings=settings,
            sent_lists=root / "sent-lists",
        )
        yield Served(app, config, model, root / "sent-lists")


@pytest.fixture(scope="module")
def browser_client(served: Served) -> TestClient:
    """A client over https, so that it keeps the Secure session cookie."""
    return TestClient(served.app, base_url="https://testserver")


def _signed_in(served: Served) -> TestClient:
    client = TestClient(served.app, base_url="https://testserver")
    response = client.post("/sign-in", data={"token": TOKEN}, follow_redirects=False)
    assert response.status_code == 303
    return client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found[1]


# --- nothing without the token ------------------------------------------------------------------


@pytest.mark.parametrize("cookie", [None, "made-up-session"])
def test_without_signing_in_every_page_and_download_is_refused(served: Served, cookie) -> None:
    client = TestClient(served.app, base_url="https://testserver")
    if cookie:
        client.cookies.set(COOKIE, cookie)
    for method, path in ROUTES:
        if path == "/sign-in":
            continue
        query = "?chosen=1&budget=40&offer=discount_10" if method == "GET" else ""
        body = {"chosen": "1", "budget": "40", "csrf": "x", "sha256": "y"}
        response = client.request(
            method, path + query, data=body if method == "POST" else None, follow_redirects=False
        )
        text = response.text
        # 401, or the sign-in form (sign-out only drops the cookie); never a list.
        assert response.status_code in (401, 303) or 'name="token"' in text, (method, path)
        assert "customer_id" not in text and "C00" not in text, (method, path)
        assert "Top of the list" not in text
    assert not served.sent.exists()
    # A wrong token gets the form again, 401; the token goes in a POST body, never a URL.
    wrong = client.post("/sign-in", data={"token": "guess"}, follow_redirects=False)
    assert wrong.status_code == 401 and "not the server" in wrong.text
    assert 'method="post"' in client.get("/").text and COOKIE not in wrong.headers.get(
        "set-cookie", ""
    )


def test_the_session_cookie_is_secure_http_only_strict_and_not_the_token(served: Served) -> None:
    client = TestClient(served.app, base_url="https://testserver")
    response = client.post("/sign-in", data={"token": TOKEN}, follow_redirects=False)
    cookie = response.headers["set-cookie"]
    assert response.status_code == 303
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert TOKEN not in cookie
    page = client.get("/")
    assert page.status_code == 200 and "Top of the list" in page.text
    # Nothing from another host, no script: it works on a machine without internet.
    urls = re.findall(r'(?:src|href|action)="([^"]*)"', page.text)
    assert urls and not [u for u in urls if re.match(r"^(\w+:)?//", u)], urls
    assert "<script" not in page.text.lower() and "@import" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # Signing out needs the page's CSRF token; then the cookie no longer opens anything.
    client.post("/sign-out", data={"csrf": _csrf(page.text)})
    assert 'name="token"' in client.get("/").text
    assert client.get("/list.csv").status_code == 401


# --- choices, bad input, marking as sent --------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("budget=-5", "Budget: cannot be negative"),
        ("budget=abc", "Budget: enter a number"),
        ("control_share=1.5", "Control share: enter a share from 0 to 0.99"),
        ("chosen=1&offer=caviar", "caviar not in the catalog"),
        ("chosen=1", "choose at least one offer"),
        ("as_of=yesterday", "Cutoff: enter a date"),
    ],
)
def test_bad_choices_get_a_plain_message_not_a_traceback(served: Served, query, said) -> None:
    client = _signed_in(served)
    response = client.get(f"/?{query}")
    assert response.status_code == 422
    assert said in response.text and "Traceback" not in response.text
    assert client.get(f"/list.csv?{query}").status_code == 422


def test_the_api_refuses_offers_outside_the_catalog_and_shares_out_of_range(served) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    client = TestClient(served.app)
    unknown = client.post("/list", json={"budget": 10, "offers": ["caviar"]}, headers=auth)
    assert unknown.status_code == 422
    assert "unknown offer 'caviar'" in unknown.json()["error"]["message"]
    for body in ({"offers": []}, {"control_share": 1}, {"control_share": -0.1}):
        assert client.post("/list", json=body, headers=auth).status_code == 422, body


def test_a_list_is_marked_as_sent_only_after_confirmation_and_only_once(served: Served) -> None:
    client = _signed_in(served)
    choice = "chosen=1&budget=30&offer=discount_10&control_share=0.25"
    confirm = client.get(f"/send?{choice}")
    assert confirm.status_code == 200 and "Yes, record this list as sent" in confirm.text
    assert not served.sent.exists()  # looking at the confirmation records nothing
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', confirm.text))
    forged = client.post("/send", data={**fields, "csrf": "forged"})
    assert forged.status_code == 403 and not served.sent.exists()
    # A list that is no longer the one confirmed (a reload in between) is not recorded.
    stale = client.post("/send", data={**fields, "sha256": "0" * 64})
    assert stale.status_code == 409 and "changed since you confirmed" in stale.text
    assert not served.sent.exists()
    done = client.post("/send", data=fields)
    assert done.status_code == 200 and "Recorded as" in done.text
    (record,) = served.sent.iterdir()
    settings = json.loads((record / "settings.json").read_text())
    assert settings["budget"] == 30 and settings["offers"] == ["discount_10"]
    assert settings["control_share"] == 0.25 and settings["seed"] == 0
    listed = pd.read_csv(record / "winback_list.csv")
    assert set(listed["offer"]) == {"discount_10"}
    # The record is the list the page downloads, and its summary page names that list.
    csv = client.get(f"/list.csv?{choice}")
    assert csv.content == (record / "winback_list.csv").read_bytes()
    assert "attachment" in csv.headers["content-disposition"]
    summary = client.get(f"/list-summary.html?{choice}").text
    assert f'name="winback-list-sha256" content="{settings["list_sha256"]}"' in summary
    assert settings["rows"] == len(listed) and (record / "winback_list.summary.html").exists()
    # The same list again (a double click, a resent form) is refused, and nothing is added.
    again = client.post("/send", data=fields)
    assert again.status_code == 409 and "already recorded" in again.text
    assert len(list(served.sent.iterdir())) == 1


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def address(served: Served) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, served by uvicorn in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(served.app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def test_a_marketer_pulls_the_list_in_a_browser_and_it_is_winback_list(
    served: Served, address: str, tmp_path: Path
) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: run make setup (it installs Debian's chromium)")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(address + "/")
            page.fill("#token", TOKEN)
            page.click("#sign-in-button")
            page.wait_for_load_state()
            assert page.query_selector("#preview") is not None, page.content()[-3000:]
            assert "Who is slipping away" in page.content()
            first = page.inner_text("#preview")
            # A smaller budget, only the 10% discount, a fifth held out.
            page.fill("#budget", "25")
            page.uncheck("input[value=discount_20]")
            page.uncheck("input[value=free_shipping]")
            page.fill("#control_share", "0.2")
            page.click("#update")
            page.wait_for_url(re.compile(r"budget=25"))
            second = page.inner_text("#preview")
            assert second != first and "discount_20" not in second
            with page.expect_download() as download:
                page.click("#download-csv")
            downloaded = Path(download.value.path()).read_bytes()
        finally:
            browser.close()
    out = tmp_path / "cli.csv"
    ran = CliRunner().invoke(
        cli_app,
        ["list", "--config", str(served.config), "--model", str(served.model), "--budget", "25",
         "--offer", "discount_10", "--control-share", "0.2", "--out", str(out)],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert downloaded == out.read_bytes()
    # The API gives the same list for the same choices.
    api = TestClient(served.app).post(
        "/list",
        json={"budget": 25, "offers": ["discount_10"], "control_share": 0.2},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    rows = pd.DataFrame(api.json()["rows"])
    listed = pd.read_csv(out, dtype={"customer_id": str})
    assert rows["customer_id"].tolist() == listed["customer_id"].tolist()
    assert rows["control"].tolist() == listed["control"].tolist()
