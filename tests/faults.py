"""Killing a real process at a chosen point: the fault tests of outputs that must stay whole.

The child runs the real code with a step callback (:data:`STEP`) that reports each step on its
stdout and waits for a line on its stdin, so the test knows exactly where the child stands when
it sends SIGKILL. Nothing in the library knows about tests beyond accepting that callback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: Source of the child's step callback: report the step, wait for the test's go-ahead.
STEP = """
import sys

def step(name):
    print(name, flush=True)
    sys.stdin.readline()
"""


def _child(script: str, args: Sequence[str]) -> tuple[subprocess.Popen[str], Path]:
    log = Path(tempfile.mkstemp(prefix="winback-fault-", suffix=".log")[1])
    with log.open("w") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", STEP + script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    return child, log


def kill_at(script: str, args: Sequence[str], step: str | None) -> list[str]:
    """Run ``script`` and SIGKILL it when it reports ``step`` (None: let it finish).

    Returns the steps it reported. Fails if it ends before reaching ``step`` or exits non-zero.
    """
    child, log = _child(script, args)
    assert child.stdin is not None and child.stdout is not None
    seen: list[str] = []
    try:
        for line in child.stdout:
            seen.append(line.strip())
            if seen[-1] == step:
                os.kill(child.pid, signal.SIGKILL)
                child.wait()  # reaped: its pid no longer looks alive
                return seen
            child.stdin.write("go\n")
            child.stdin.flush()
        code = child.wait()
        assert code == 0 and step is None, (
            f"the child ended ({code}) after {seen} without reaching {step!r}:\n{log.read_text()}"
        )
        return seen
    finally:
        _end(child, log)


def kill_when(script: str, args: Sequence[str], appears: Path, timeout: float = 120.0) -> None:
    """Run ``script`` (answering every step) and SIGKILL it as soon as ``appears`` exists.

    For code with no step callback: the first file it creates is a point in its work.
    """
    child, log = _child(script, args)
    assert child.stdin is not None
    child.stdin.close()  # a step callback, if any, reads EOF and goes on
    try:
        deadline = time.monotonic() + timeout
        while not appears.exists():
            assert child.poll() is None, (
                f"the child ended before {appears} appeared:\n{log.read_text()}"
            )
            assert time.monotonic() < deadline, f"{appears} did not appear in {timeout} s"
            time.sleep(0.002)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        _end(child, log)


def _end(child: subprocess.Popen[str], log: Path) -> None:
    if child.poll() is None:
        child.kill()
        child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None and not pipe.closed:
            with contextlib.suppress(BrokenPipeError):  # the child is gone: nothing to flush
                pipe.close()
    log.unlink(missing_ok=True)


def date_back(folder: Path) -> None:
    """Date a killed run's leftovers in ``folder`` back a day: it ran before this process.

    The next run is a new process in real life; here it is the test's, which started first.
    """
    past = time.time() - 86_400
    for path in folder.rglob(".*"):
        os.utime(path, (past, past))
