"""The README keeps its promises: its CLI reference is the help users get, and its tour runs.

The tour's runnable blocks are the ```bash fences, run in order; a fence right after
``<!-- readme-test: skip -->`` is shown to users but not run (it starts a server).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
GENERATOR = REPO / "docs" / "cli_reference.py"
START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"
SKIP = "<!-- readme-test: skip -->"
REGENERATE = "run .venv/bin/python docs/cli_reference.py"


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    language: str
    code: str
    line: int
    skipped: bool


def code_blocks(text: str) -> list[Block]:
    """Every fenced block, in order, with whether a skip marker stands right before it."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if fence is None:
            i += 1
            continue
        before = [line for line in lines[:i] if line.strip()]
        skipped = bool(before) and before[-1].strip() == SKIP
        end = lines.index("```", i + 1)
        blocks.append(Block(fence.group(1), "\n".join(lines[i + 1 : end]), i + 1, skipped))
        i = end + 1
    return blocks


def commands(block: Block) -> list[str]:
    """The commands of a shell block, without comments."""
    found = (line.split("#", 1)[0].strip() for line in block.code.splitlines())
    return [command for command in found if command]


def run_generator(*args: str) -> subprocess.CompletedProcess[str]:
    # A fresh process: the generator fixes the terminal width before Typer and Rich are imported.
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def reference_section(text: str) -> str:
    return text[text.index(START) : text.index(END) + len(END)]


def test_cli_reference_is_what_the_help_says_now() -> None:
    printed = run_generator("--print")
    assert printed.returncode == 0, printed.stderr
    assert reference_section(README.read_text(encoding="utf-8")) == printed.stdout.rstrip("\n"), (
        f"README.md's CLI reference differs from winback --help: {REGENERATE}"
    )


def test_a_stale_cli_reference_is_caught_and_regenerated(tmp_path: Path) -> None:
    readme = README.read_text(encoding="utf-8")
    stale = tmp_path / "README.md"
    stale.write_text(readme.replace("Show this message and exit.", "Show help."), encoding="utf-8")

    checked = run_generator("--check", "--readme", str(stale))
    assert checked.returncode == 1
    assert REGENERATE in checked.stderr

    rewritten = run_generator("--readme", str(stale))
    assert rewritten.returncode == 0, rewritten.stderr
    assert stale.read_text(encoding="utf-8") == readme


def test_a_readme_without_markers_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "README.md"
    plain.write_text("# winback\n", encoding="utf-8")
    refused = run_generator("--readme", str(plain))
    assert refused.returncode == 1
    assert START in refused.stderr
    assert plain.read_text(encoding="utf-8") == "# winback\n"


def test_make_demo_and_make_test_are_the_first_commands() -> None:
    first = code_blocks(README.read_text(encoding="utf-8"))[0]
    assert commands(first)[:2] == ["make demo", "make test"]


def test_only_the_server_block_is_skipped() -> None:
    bash = [b for b in code_blocks(README.read_text(encoding="utf-8")) if b.language == "bash"]
    skipped = [b for b in bash if b.skipped]
    assert [("winback serve" in b.code) for b in skipped] == [True] * len(skipped)
    assert len(bash) - len(skipped) >= 5


@pytest.mark.slow
def test_the_tour_runs_in_order(tmp_path: Path) -> None:
    blocks = [
        b
        for b in code_blocks(README.read_text(encoding="utf-8"))
        if b.language == "bash" and not b.skipped
    ]
    # The README's commands say .venv/bin/…: the environment running this test stands in.
    (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "NO_COLOR": "1",
    }
    for block in blocks:
        done = subprocess.run(
            ["bash", "-e", "-c", block.code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        assert done.returncode == 0, (
            f"README.md line {block.line}:\n{block.code}\n--- stdout\n{done.stdout}"
            f"\n--- stderr\n{done.stderr}"
        )
    tour = tmp_path / "demo-output" / "tour"
    for name in ("scores.parquet", "winback_list.csv", "winback_list.summary.html"):
        assert (tour / name).stat().st_size > 0, name
