"""Screenshots of winback's pages in headless Chromium: model report, list summary, marketer's page.

``make screenshots`` runs this. Without arguments it builds the pages itself the way a user
does, with the ``winback`` command beside this Python: a small synthetic world, a short
training (its own MLflow store in a temporary folder, never the repository's ``mlruns/``), a
scoring and a win-back list; then it starts ``winback serve`` on 127.0.0.1 and signs in to its
page. ``--report F --summary F`` shoots existing pages instead, e.g.
``mlruns/reports/<run>.html`` and ``demo-output/winback_list.summary.html`` after ``make demo``
(the marketer's page is then not shot: it needs a trained project to serve).

For each page it writes ``<name>.png`` (the whole page, 1440 pixels wide) and
``<name>_first_screen.png`` (what a 1440×900 laptop screen shows first) into ``--out``
(default: this folder); for the marketer's page also ``marketer_page_preview.png`` (the top of
the list). Chromium runs with no network of its own; the pages need none.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageChops
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
WINBACK = Path(sys.executable).with_name("winback")
#: The laptop screen the pages are judged on.
WIDTH, SCREEN_HEIGHT = 1440, 900
#: Tallest page shot; taller pages are cut here.
MAX_HEIGHT = 30_000
#: Upper bound on each written PNG.
MAX_BYTES = 1_000_000
#: Names of the written images, per page.
PAGES = ("model_report", "winback_list_summary")
AS_OF = "2024-10-01"
#: The marketer's page is shot with this budget chosen: below what every paying offer costs on
#: the built world, so the budget curve shows where it binds.
PAGE_BUDGET = "400"

# Without the networking switches Chromium tries to reach Google's services and logs failures.
_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

_CONFIG = """\
[data.transactions]
path = "data/transactions.parquet"
[data.events]
path = "data/events.parquet"
[data.customers]
path = "data/customers.parquet"
[data.campaigns]
path = "data/campaigns.parquet"
[training]
n_jobs = 2
"""


def find_chromium() -> str:
    """The Chromium (or Chrome) executable on PATH; exits with how to install it if none."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit(
        "chromium not found: install it (Debian: apt-get install -y chromium) or put it on PATH"
    )


def _winback(*args: str, cwd: Path, env: dict[str, str]) -> str:
    print("  winback", " ".join(args), flush=True)
    done = subprocess.run(
        [str(WINBACK), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"winback {args[0]} failed:\n{done.stderr or done.stdout}")
    return done.stdout


def build_pages(workdir: Path, *, customers: int, trials: int) -> tuple[Path, Path]:
    """Simulate, train, list in ``workdir``; returns the model report and the list summary."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}"}
    (workdir / "mlruns").mkdir(parents=True, exist_ok=True)
    (workdir / "winback.toml").write_text(_CONFIG, encoding="utf-8")
    _winback(
        "simulate", "--customers", str(customers), "--start", "2023-01-01", "--end", "2025-01-01",
        "--seed", "7", "--out", "data", cwd=workdir, env=env,
    )  # fmt: skip
    trained = _winback("train", "--config", "winback.toml", "--trials", str(trials),
                       cwd=workdir, env=env)  # fmt: skip
    prefix = "model report: "
    report = next(
        Path(line[len(prefix) :].strip())
        for line in trained.splitlines()
        if line.startswith(prefix)
    )
    _winback(
        "list", "--config", "winback.toml", "--as-of", AS_OF, "--budget", "2000",
        "--out", "winback_list.csv", cwd=workdir, env=env,
    )  # fmt: skip
    return report, workdir / "winback_list.summary.html"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shoot_served_page(chromium: str, workdir: Path) -> dict[str, Image.Image]:
    """``winback serve`` in ``workdir``, signed in, a budget chosen: the page and its preview."""
    token = secrets.token_hex(16)
    port = _free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}",
        "WINBACK_API_TOKEN": token,
    }
    print(f"  winback serve --port {port}", flush=True)
    log = (workdir / "serve.log").open("w", encoding="utf-8")
    server = subprocess.Popen(
        [str(WINBACK), "serve", "--config", "winback.toml", "--port", str(port)],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    try:
        _wait_for(address, server, workdir / "serve.log")
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=chromium, args=[a for a in _CHROMIUM_FLAGS if a != "--headless"]
            )
            try:
                page = browser.new_page(viewport={"width": WIDTH, "height": SCREEN_HEIGHT})
                page.goto(address + "/")
                page.fill("#token", token)
                page.click("#sign-in-button")
                page.wait_for_selector("#preview")
                page.fill("#budget", PAGE_BUDGET)
                page.click("#update")
                page.wait_for_selector("#preview")
                full = _image(page.screenshot(full_page=True))
                page.evaluate("document.getElementById('top').scrollIntoView()")
                preview = _image(page.screenshot())
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    return {"marketer_page": full, "marketer_page_preview": preview}


def _wait_for(address: str, server: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"winback serve stopped:\n{log.read_text(encoding='utf-8')}")
        try:
            with urllib.request.urlopen(address + "/health", timeout=5):
                return
        except OSError:
            time.sleep(1)
    sys.exit("winback serve did not answer /health within 5 minutes")


def _image(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as raw:
        return raw.convert("RGB")


def _content_bottom(image: Image.Image) -> int:
    """The last pixel row that differs from the page background (the bottom-left pixel)."""
    background = Image.new("RGB", image.size, image.getpixel((0, image.height - 1)))
    box = ImageChops.difference(image, background).getbbox()
    return box[3] if box else 0


def shoot(chromium: str, page: Path, *, width: int = WIDTH) -> Image.Image:
    """The whole page as Chromium draws it at ``width`` pixels, blank bottom cropped."""
    height = 4_000
    with tempfile.TemporaryDirectory(prefix="winback-chromium-") as tmp:
        shot = Path(tmp) / "shot.png"
        while True:
            done = subprocess.run(
                [chromium, *_CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
                 f"--window-size={width},{height}", f"--screenshot={shot}",
                 page.resolve().as_uri()],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            if done.returncode != 0 or not shot.exists():
                sys.exit(f"chromium could not shoot {page}:\n{done.stderr}")
            with Image.open(shot) as raw:
                image = raw.convert("RGB")
            bottom = _content_bottom(image)
            # Content reaching the window's bottom edge may go on below it: shoot taller.
            if bottom < height - 40 or height >= MAX_HEIGHT:
                return image.crop((0, 0, width, min(height, bottom + 40)))
            height = min(height * 2, MAX_HEIGHT)


def save_small(image: Image.Image, path: Path, max_bytes: int = MAX_BYTES) -> int:
    """Write ``image`` as a palette PNG, scaled down until it is below ``max_bytes``."""
    scale = 1.0
    while True:
        scaled = image
        if scale < 1.0:
            size = (round(image.width * scale), round(image.height * scale))
            scaled = image.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        scaled.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            buffer, format="PNG", optimize=True
        )
        if buffer.tell() <= max_bytes or scale <= 0.3:
            path.write_bytes(buffer.getvalue())
            return buffer.tell()
        scale *= 0.85


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", type=Path, help="an existing model report to shoot")
    parser.add_argument("--summary", type=Path, help="an existing list summary to shoot")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the PNGs")
    parser.add_argument("--customers", type=int, default=1_000, help="size of the built world")
    parser.add_argument("--trials", type=int, default=2, help="Optuna trials of the training")
    parser.add_argument("--keep", type=Path, help="build the pages in this folder and keep it")
    args = parser.parse_args(argv)
    if (args.report is None) != (args.summary is None):
        parser.error("give both --report and --summary, or neither (the pages are then built)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Build or take the two pages, shoot them, write the PNGs; returns the exit code."""
    args = _parse(argv)
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="winback-screenshots-") as tmp:
        if args.report is not None:
            pages = (args.report, args.summary)
        else:
            workdir = args.keep or Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            print(f"Building the pages in {workdir} ({args.customers:,} customers):")
            pages = build_pages(workdir, customers=args.customers, trials=args.trials)
        args.out.mkdir(parents=True, exist_ok=True)
        shots = {name: shoot(chromium, page) for name, page in zip(PAGES, pages, strict=True)}
        if args.report is None:
            shots |= shoot_served_page(chromium, workdir)
        for name, full in shots.items():
            images = [("", full)]
            if not name.endswith("_preview"):
                first = full.crop((0, 0, full.width, min(full.height, SCREEN_HEIGHT)))
                images.append(("_first_screen", first))
            for suffix, image in images:
                target = args.out / f"{name}{suffix}.png"
                size = save_small(image, target)
                print(f"Wrote {target} ({image.width}×{image.height} shot, {size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
