"""The winback command: help, files, exit codes and messages.

Tests about what a user reads run the app in this process (Typer's runner, the same app the
script runs); tests about the process itself (the script, its exit code, shell completion,
files from a relative working directory) start ``winback`` for real.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner, Result

from tests.winback.conftest import WINBACK, copy_of, run
from winback.cli import app
from winback.cli.help import EXAMPLES


def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """``winback ARGS`` in this process, from the current working directory."""
    return CliRunner().invoke(app, list(args), env=env)


def assert_one_line_error(result: Result, message: str, *, lines: int | None = 1) -> None:
    """Exit 1 with ``message`` after ``error:`` (on ``lines`` lines), and no traceback.

    In this process a traceback would be an exception escaping the command: the runner keeps
    it in ``result.exception`` instead of the ``SystemExit`` a handled error ends with.
    """
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    if lines is not None:
        assert len(result.stderr.strip().splitlines()) == lines, result.stderr


def help_text(*args: str) -> str:
    """The help a user reads at 100 columns (in process: it is the same Typer app)."""
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "100"}, color=False)
    assert result.exit_code == 0, result.output
    return result.output


COMMANDS = (
    "simulate", "check", "features", "segments", "snapshots", "train", "runs", "promote", "score",
    "list", "evaluate", "drift", "serve", "summary",
)  # fmt: skip


def test_root_help_documents_exit_codes_environment_and_every_command() -> None:
    text = help_text()
    assert "Exit codes: 0 success; 1 a problem" in text and "2 a usage error" in text
    assert "MLFLOW_TRACKING_URI" in text and "WINBACK_API_TOKEN" in text
    assert "--verbose" in text and "--quiet" in text and "--version" in text
    listed = re.findall(r"^│ (\w+) ", text, flags=re.MULTILINE)
    assert set(COMMANDS) <= set(listed)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_has_a_description_and_runnable_examples(command: str) -> None:
    text = help_text(command)
    description = text.partition(f"winback {command} [OPTIONS]")[2].split("╭")[0]
    # A one-line summary and a paragraph after it, before the options box.
    assert len([line for line in description.splitlines() if line.strip()]) >= 3, description
    examples = text.split("Examples", 1)[1]
    assert f"winback {command}" in examples


def test_examples_fit_a_100_column_terminal_unwrapped() -> None:
    # Rich wraps a long example line without a continuation mark: copied, it breaks the command.
    long = [line for text in EXAMPLES.values() for line in text.splitlines() if len(line) > 96]
    assert long == []


def test_help_keeps_config_sections_in_brackets() -> None:
    # Help is rendered as Markdown, which must not take [data.TABLE] for a link or markup.
    assert "[data.TABLE] section" in help_text("check")


@pytest.mark.parametrize(
    "args",
    [["--quiet", "--verbose", "runs"], ["runs", "-q", "-v"], ["-q", "runs", "--verbose"]],
    ids=["before", "after", "both sides"],
)
def test_quiet_and_verbose_together_is_a_usage_error(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert "choose one" in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_the_output_flags_after_its_name(command: str) -> None:
    group = typer.main.get_command(app)
    with typer.Context(group) as ctx:
        options = group.get_command(ctx, command).params  # type: ignore[attr-defined]
    flags = {opt for param in options for opt in param.opts}
    assert {"--quiet", "-q", "--verbose", "-v", "--debug"} <= flags
    assert "-q" in help_text(command) and "Output" in help_text(command)


def test_shell_completion_script_completes_command_names(tmp_path: Path) -> None:
    # Through bash, as a user's shell would run it: source the script, ask for completions.
    script = (
        f'source <("{WINBACK}" --show-completion bash)\n'
        "COMP_WORDS=(winback s); COMP_CWORD=1\n"
        f'_winback_completion "{WINBACK}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == {"simulate", "segments", "snapshots", "score", "serve",
                                        "summary"}  # fmt: skip
    # Click's protocol directly: option values complete too.
    env = {"_WINBACK_COMPLETE": "complete_bash", "COMP_WORDS": "winback list --on-bad-rows ",
           "COMP_CWORD": "3"}  # fmt: skip
    values = run(cwd=tmp_path, env=env)
    assert values.returncode == 0, values.stderr
    assert values.stdout.split() == ["stop", "quarantine"]


@pytest.fixture(scope="module")
def world(shared_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the simulated world (its tests write beside the data)."""
    return copy_of(shared_world, tmp_path_factory.mktemp("cli") / "world")


@pytest.fixture
def in_world(world: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The world as the working directory of in-process commands."""
    monkeypatch.chdir(world)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return world


def test_simulate_writes_every_table(world: Path) -> None:
    names = {p.name for p in (world / "data").iterdir()}
    assert names == {
        "transactions.csv", "events.csv", "customers.csv", "campaigns.csv", "ground_truth.csv"
    }  # fmt: skip


def test_features_from_paths_without_a_config(world: Path) -> None:
    done = run(
        "features", "--transactions", "data/transactions.csv", "--events", "data/events.csv",
        "--customers", "data/customers.csv", "--as-of", "2024-03-01", "--out", "f.csv", cwd=world,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    features = pd.read_csv(world / "f.csv")
    assert features["customer_id"].is_unique
    assert {"days_since_last_order", "visit_30d", "attr_country"} <= set(features.columns)
    assert f"Wrote {len(features):,} customers" in done.stdout
    assert "read " in done.stdout and "quarantined 0" in done.stdout


def test_snapshots_and_segments_from_a_config(world: Path) -> None:
    (world / "w.toml").write_text(
        '[data.transactions]\npath = "data/transactions.csv"\n'
        "[snapshots]\nmin_history_days = 120\n[labels]\nhorizon_days = 60\n"
    )
    elsewhere = world / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    # Relative paths in the config are relative to the config, not the working directory.
    done = run("snapshots", "--config", "../w.toml", "--out", "s.parquet", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    snaps = pd.read_parquet(elsewhere / "s.parquet")
    assert {"churned", "spend_period_3", "orders_90d"} <= set(snaps.columns)
    assert snaps["as_of"].nunique() > 3
    done = run(
        "segments", "--config", "../w.toml", "--as-of", "2024-03-01", "--out", "g.csv",
        cwd=elsewhere,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    segments = pd.read_csv(elsewhere / "g.csv")
    assert set(segments["lifecycle_stage"]) <= {
        "prospect", "new", "growing", "stable", "declining", "churned"
    }  # fmt: skip


def test_a_bad_row_stops_the_run_with_one_line_naming_file_row_and_column(in_world: Path) -> None:
    bad = in_world / "bad.csv"
    bad.write_text(
        "customer_id,timestamp,amount\nC1,2024-01-02,10\nC2,2024-01-03,abc\nC3,2024-01-04,5\n"
    )
    done = invoke("features", "--transactions", "bad.csv", "--as-of", "2024-02-01", "--out",
                  "x.csv")  # fmt: skip
    # What and where, then what to do, on one line.
    assert_one_line_error(done, "bad.csv row 3, column 'amount'")
    assert done.stderr.rstrip().endswith("rerun with --on-bad-rows quarantine.")
    assert "--on-bad-rows quarantine" in done.stderr
    assert not (in_world / "x.csv").exists()


def test_quarantine_goes_on_and_writes_the_rejected_rows_beside_the_output(in_world: Path) -> None:
    bad = in_world / "bad2.csv"
    bad.write_text(
        "customer_id,timestamp,amount\nC1,2024-01-02,10\nC2,2024-01-03,abc\nC3,2024-01-04,5\n"
    )
    out = in_world / "q"
    done = invoke("features", "--transactions", "bad2.csv", "--as-of", "2024-02-01", "--out",
                  "q/x.csv", "--on-bad-rows", "quarantine")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "read 3 = used 2 + quarantined 1" in done.stdout
    assert len(pd.read_csv(out / "x.csv")) == 2
    quarantined = [p for p in out.iterdir() if "quarantine" in p.name]
    assert len(quarantined) == 1
    rows = pd.read_csv(quarantined[0])
    assert rows["row"].tolist() == [3]


def test_describe_prints_the_dictionary_from_the_code(in_world: Path) -> None:
    done = invoke("features", "--describe")
    assert done.exit_code == 0, done.output
    # The dictionary is printed with print(): to the runner's stdout.
    assert "days_since_last_order" in done.stdout
    assert "Orders placed in [as_of − 90 days, as_of)." in done.stdout


def test_usage_errors_exit_2_and_version_prints(world: Path) -> None:
    assert run("features", "--no-such-option", cwd=world).returncode == 2
    version = run("--version", cwd=world)
    assert version.returncode == 0
    assert version.stdout.startswith("winback ")


def test_missing_arguments_and_files_are_one_line_errors(in_world: Path) -> None:
    done = invoke("features", "--transactions", "nope.csv", "--as-of", "2024-01-01", "--out",
                  "x.csv")  # fmt: skip
    assert_one_line_error(done, "nope.csv")
    done = invoke("features", "--transactions", "data/transactions.csv")
    assert_one_line_error(done, "--as-of")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_common_mistakes_are_one_actionable_line_before_any_work(in_world: Path) -> None:
    data = ("--transactions", "data/transactions.csv")
    mistakes = {
        "--as-of '2024-13-45' is not a date: write it as YYYY-MM-DD": (
            "features", *data, "--as-of", "2024-13-45", "--out", "x.csv"),
        "--out x.xlsx: unknown file type '.xlsx'; end the name in .parquet or .csv": (
            "features", *data, "--as-of", "2024-03-01", "--out", "x.xlsx"),
        "or give a database URL with --table NAME": (
            "score", *data, "--out", "scores.xlsx"),
        f"config file nope.toml not found (looked from {in_world.resolve()}). Pass the path": (
            "check", "--config", "nope.toml"),
    }  # fmt: skip
    for message, args in mistakes.items():
        done = invoke(*args)
        assert_one_line_error(done, message)
        # Refused before the data was read.
        assert "Reading and checking" not in done.stdout
    assert not (in_world / "x.xlsx").exists()


def test_an_unreachable_mlflow_server_is_refused_at_once(in_world: Path) -> None:
    # MLflow itself would retry a refused connection for minutes, then print a traceback.
    uri = f"http://user:secret@127.0.0.1:{free_port()}"
    done = invoke("runs", env={"MLFLOW_TRACKING_URI": uri})
    assert_one_line_error(done, "(from MLFLOW_TRACKING_URI) is unreachable")
    assert "secret" not in done.stderr
    assert "unset it to use the local store mlruns/" in done.stderr


def test_messages_quoting_config_sections_keep_their_brackets(in_world: Path) -> None:
    (in_world / "renamed.csv").write_text("cust,order_date,amount\nC1,2024-01-02,10\n")
    done = invoke("check", "--transactions", "renamed.csv")
    assert_one_line_error(done, '[data.transactions] customer_id = "cust"')


def test_summary_before_any_training_and_with_a_wrong_file(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = world / "fresh"
    fresh.mkdir(exist_ok=True)
    monkeypatch.chdir(fresh)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (fresh / "f.toml").write_text('[data.transactions]\npath = "../data/transactions.csv"\n')
    empty = invoke("summary", "--config", "f.toml")
    assert empty.exit_code == 0, empty.output
    assert "none yet: train a model with `winback train`" in empty.stdout
    # Paths outside the working directory are shown absolute, ready to copy.
    assert f"transactions   {(world / 'data' / 'transactions.csv').resolve()}" in empty.stdout
    assert not (fresh / "mlruns").exists()  # reading does not create a store
    as_json = invoke("summary", "--config", "f.toml", "--json")
    assert as_json.exit_code == 0, as_json.output
    facts = json.loads(as_json.stdout)
    assert facts["run"] is None
    assert facts["data"] == {"transactions": str((world / "data" / "transactions.csv").resolve())}
    wrong = invoke("summary", "--config", "f.toml", "--list", "nope.csv")
    assert_one_line_error(wrong, "--list nope.csv: file not found")
    assert wrong.stderr.startswith("error: --list nope.csv: file not found")
    assert "`winback list --out`" in wrong.stderr and wrong.stdout == ""


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_before_or_after_the_command_leaves_stdout_empty(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["simulate", "--customers", "20", "--end", "2023-03-01", "--out", "d"]
    loud = invoke(*args)
    assert loud.exit_code == 0, loud.output
    assert "✓ Simulating 20 customers" in loud.stdout
    quiet = invoke("-q", *args) if where == "before" else invoke(*args, "-q")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout == "" and quiet.stderr == ""
    assert (tmp_path / "d" / "transactions.parquet").exists()
