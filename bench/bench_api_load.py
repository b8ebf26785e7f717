"""The HTTP API under a burst: concurrent one-customer /scores while /health is polled.

    python bench/bench_api_load.py [--requests 200] [--customers 10000] [--work DIR]

Setup, once (cached in --work; without it, a temporary directory removed afterwards): the
demo's world (``winback simulate --customers 10000 --seed 7``, two years, as ``make demo``
makes it) and a champion trained on it by ``winback train`` into that directory's own MLflow
store, with quick settings (no tuning, 100 rounds at rate 0.2, one thread, the tour's).

Then ``winback serve`` runs in a subprocess on 127.0.0.1 (a free port; default ``[api]``
settings), ``WINBACK_API_TOKEN`` set. Once ``/health`` answers and one warm-up request has been
scored, ``--requests`` POST /scores, each for one customer, are sent at once (one connection
each), while a separate process polls ``/health`` every 50 ms until the last answer (a thread
beside the burst's client would time its own process's contention too). Prints the
latency of the scores (p50, p95, max) and of health (p50, p95, max, count), and the count of
200, 503 and other answers; exits non-zero when health's p95 is 100 ms or more or when any
answer is neither 200 nor 503. Loopback only; at most 1,000 requests, each with a 120 s
timeout, and the server is stopped at the end whatever happens.

Latest numbers (2026-12-05, 22:21-22:45 UTC; the shared 2-core AMD EPYC VM, whose load
average was 3.4 to 4.7 from other engineers' work; defaults max_concurrent = 2,
queue_timeout_seconds = 10). Each row is three runs with ``--work /tmp/apiload``, first with no
load added, then with two ``python3 -c "while True: pass"`` busy loops beside them. Every run
answered 200 × 200, no 503 and nothing else. Milliseconds, p50 / p95 / max of each run:

    before: main at 343ee98 (h11 parser, 5 ms GIL switch interval, per-column encoding)
      no load added   /health  8/48/182    9/53/146   12/89/150
                      /scores  3,160/3,250/3,268   3,650/3,836/3,847   4,313/4,396/4,427
      + 2 busy loops  /health 16/76/281   21/141/393  26/117/301
                      /scores  8,266/8,534/8,587   11,481/11,831/11,878   10,318/10,513/10,613
    after: httptools, 1 ms switch interval while served, numeric columns encoded in one block
      no load added   /health  6/45/137    6/89/136*   6/35/421
                      /scores  1,437/1,487/1,500   2,382/2,508/2,523   1,918/1,961/1,980
      + 2 busy loops  /health  9/53/249    7/48/140    6/66/154
                      /scores  4,759/4,969/4,978   3,298/3,525/3,549   2,897/2,999/3,055

    * a type check (tools/typecheck.py) ran on the same machine during that run.

The burst's last answer came after 3.5-4.8 s before and 1.7-2.8 s after with no load added,
and after 9.2-13.1 s before and 3.5-5.8 s after beside the busy loops. The changes added one at
a time, three runs each beside the busy loops, /health p95: the encoding, 130, 91 and 99 ms;
and httptools, 69, 57 and 125 ms; and the 1 ms switch interval, 58, 58 and 41 ms. What is left:
single polls of 140-420 ms, mostly in the burst's first two seconds while the event loop reads
200 requests, and one /scores call for one customer still costs ~0.3 s, mostly pandas holding
the GIL (five models predicting, and the churn model's answer explained).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx
import numpy as np

WINBACK = str(Path(sys.executable).with_name("winback"))
HOST = "127.0.0.1"
POLL_SECONDS = 0.05
TIMEOUT = 120.0
#: One request's status (or transport error), and when it was sent and answered.
Answer = tuple[int | str, float, float]
CONFIG = """\
[data.transactions]
path = "data/transactions.parquet"
[data.events]
path = "data/events.parquet"
[data.customers]
path = "data/customers.parquet"
[data.campaigns]
path = "data/campaigns.parquet"

[training]
n_estimators = 100
learning_rate = 0.2
n_jobs = 1
bgnbd_baseline = false

[snapshots]
max_cutoffs = 9
"""


def _run(*args: str, cwd: Path) -> None:
    started = time.perf_counter()
    subprocess.run([WINBACK, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    print(f"  winback {args[0]}: {time.perf_counter() - started:.0f} s")


def setup(work: Path, customers: int) -> Path:
    """The world and a champion in ``work`` (made once); returns the config's path."""
    config = work / "winback.toml"
    if (work / "mlruns").exists() and config.exists():
        print(f"reusing the world and model in {work}")
        return config
    print(f"setting up in {work} (once):")
    work.mkdir(parents=True, exist_ok=True)
    _run("simulate", "--customers", str(customers), "--start", "2023-01-01", "--end",
         "2025-01-01", "--seed", "7", "--out", "data", cwd=work)  # fmt: skip
    config.write_text(CONFIG, encoding="utf-8")
    _run("train", "--config", str(config), cwd=work)
    return config


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode}); see {log}")
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server did not answer /health within 600 s; see {log}")


def poll_health(url: str, stop: Event, results: Queue) -> None:
    """GET /health every POLL_SECONDS until ``stop``; puts (polls, failures) on ``results``.

    Runs in a process of its own, so the client's burst does not delay its measurements.
    Each poll is (sent at, seconds), on the ``time.perf_counter`` clock the parent shares.
    """
    polls: list[tuple[float, float]] = []
    failures: list[str] = []
    with httpx.Client(timeout=TIMEOUT) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = client.get(f"{url}/health").status_code
            except httpx.TransportError as exc:
                failures.append(type(exc).__name__)
            else:
                polls.append((started, time.perf_counter() - started))
                if status != 200:
                    failures.append(str(status))
            stop.wait(POLL_SECONDS)
    results.put((polls, failures))


async def burst(url: str, token: str, ids: list[str]) -> list[Answer]:
    """One POST /scores per id, all at once; (status or error name, sent, answered) of each."""
    limits = httpx.Limits(max_connections=len(ids), max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(limits=limits, timeout=TIMEOUT, headers=headers) as client:

        async def one(customer: str) -> Answer:
            started = time.perf_counter()
            try:
                response = await client.post(f"{url}/scores", json={"customer_ids": [customer]})
            except httpx.TransportError as exc:
                return type(exc).__name__, started, time.perf_counter()
            return response.status_code, started, time.perf_counter()

        return await asyncio.gather(*(one(i) for i in ids))


def ms(values: list[float], q: float) -> str:
    return f"{np.quantile(values, q) * 1000:,.0f} ms" if values else "—"


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({cpu}), load average {load}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=None, help="kept and reused")
    args = parser.parse_args()
    if not 1 <= args.requests <= 1000:
        parser.error("--requests must be between 1 and 1,000")
    work = args.work or Path(tempfile.mkdtemp(prefix="winback-bench-api-"))
    try:
        return measure(setup(work.resolve(), args.customers), args.requests)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def measure(config: Path, requests: int) -> int:
    token, port = secrets.token_hex(16), free_port()
    url = f"http://{HOST}:{port}"
    log = config.parent / "serve.log"
    env = {**os.environ, "WINBACK_API_TOKEN": token}
    env.pop("MLFLOW_TRACKING_URI", None)  # the store beside the config
    command = [WINBACK, "serve", "--config", str(config), "--host", HOST, "--port", str(port)]
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}")
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=config.parent, env=env, stdout=out, stderr=out)
    try:
        started = time.perf_counter()
        wait_until_up(url, server, log)
        print(f"server up in {time.perf_counter() - started:.1f} s")
        auth = {"Authorization": f"Bearer {token}"}
        warm = httpx.post(
            f"{url}/scores", json={"customer_ids": ["C0000001"]}, headers=auth, timeout=TIMEOUT
        )
        warm.raise_for_status()
        ids = [f"C{i:07d}" for i in range(1, requests + 1)]
        spawn = multiprocessing.get_context("spawn")
        stop, results = spawn.Event(), spawn.Queue()
        poller = spawn.Process(target=poll_health, args=(url, stop, results))
        poller.start()
        time.sleep(2)  # the poller's interpreter starts, and polls the idle server a little
        started = time.perf_counter()
        try:
            answers = asyncio.run(burst(url, token, ids))
        finally:
            stop.set()
            polls, failures = results.get(timeout=TIMEOUT)
            poller.join(TIMEOUT)
        polls = [(sent, latency) for sent, latency in polls if sent >= started]
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    return report(answers, polls, failures, started)


def report(
    answers: list[Answer], polls: list[tuple[float, float]], failures: list[str], started: float
) -> int:
    """Print the figures; 0 when the target is met."""
    seconds = [end - sent for _, sent, end in answers]
    health = [latency for _, latency in polls]
    counts = {"200": 0, "503": 0, "other": 0}
    for status, _, _ in answers:
        counts[str(status) if status in (200, 503) else "other"] += 1
    others = sorted({str(s) for s, _, _ in answers if s not in (200, 503)})
    first, last = (f(end for *_, end in answers) - started for f in (min, max))
    print(f"{len(answers)} concurrent one-customer POST /scores: first answered after "
          f"{first:.1f} s, last after {last:.1f} s")  # fmt: skip
    print(f"  scores: p50 {ms(seconds, 0.5)}, p95 {ms(seconds, 0.95)}, max {ms(seconds, 1)}")
    print(f"  answers: 200 × {counts['200']}, 503 × {counts['503']}, other × {counts['other']}"
          + (f" ({', '.join(others)})" if others else ""))  # fmt: skip
    print(
        f"  /health meanwhile ({len(health)} polls): p50 {ms(health, 0.5)}, "
        f"p95 {ms(health, 0.95)}, max {ms(health, 1)}; failures {failures or 'none'}"
    )
    slowest = sorted(polls, key=lambda poll: -poll[1])[:5]
    print("  slowest polls:", ", ".join(f"{latency * 1000:,.0f} ms sent at {sent - started:+.1f} s"
                                        for sent, latency in slowest))  # fmt: skip
    print(f"after: {machine()}")
    p95 = float(np.quantile(health, 0.95)) if health else float("inf")
    ok = p95 < 0.1 and not counts["other"] and not failures
    print("target (/health p95 < 100 ms, no answers but 200 and 503):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
