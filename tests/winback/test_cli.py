"""The winback command as a user runs it: a real process, real files, exit codes and messages."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from winback.cli import app
from winback.cli_help import EXAMPLES

WINBACK = str(Path(sys.executable).with_name("winback"))


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WINBACK, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )


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


def test_quiet_and_verbose_together_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["--quiet", "--verbose", "runs"])
    assert result.exit_code == 2
    assert "choose one" in result.output


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
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    done = run(
        "simulate", "--customers", "300", "--start", "2023-01-01", "--end", "2024-07-01",
        "--seed", "3", "--out", "data", "--format", "csv", cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root


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


def test_a_bad_row_stops_the_run_with_one_line_naming_file_row_and_column(world: Path) -> None:
    bad = world / "bad.csv"
    bad.write_text(
        "customer_id,timestamp,amount\nC1,2024-01-02,10\nC2,2024-01-03,abc\nC3,2024-01-04,5\n"
    )
    done = run("features", "--transactions", "bad.csv", "--as-of", "2024-02-01", "--out",
               "x.csv", cwd=world)  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "bad.csv row 3, column 'amount'" in done.stderr
    assert "--on-bad-rows quarantine" in done.stderr
    assert not (world / "x.csv").exists()


def test_quarantine_goes_on_and_writes_the_rejected_rows_beside_the_output(world: Path) -> None:
    bad = world / "bad2.csv"
    bad.write_text(
        "customer_id,timestamp,amount\nC1,2024-01-02,10\nC2,2024-01-03,abc\nC3,2024-01-04,5\n"
    )
    out = world / "q"
    done = run("features", "--transactions", "bad2.csv", "--as-of", "2024-02-01", "--out",
               "q/x.csv", "--on-bad-rows", "quarantine", cwd=world)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "read 3 = used 2 + quarantined 1" in done.stdout
    assert len(pd.read_csv(out / "x.csv")) == 2
    quarantined = [p for p in out.iterdir() if "quarantine" in p.name]
    assert len(quarantined) == 1
    rows = pd.read_csv(quarantined[0])
    assert rows["row"].tolist() == [3]


def test_describe_prints_the_dictionary_from_the_code(world: Path) -> None:
    done = run("features", "--describe", cwd=world)
    assert done.returncode == 0, done.stderr
    assert "days_since_last_order" in done.stdout
    assert "Orders placed in [as_of − 90 days, as_of)." in done.stdout


def test_usage_errors_exit_2_and_version_prints(world: Path) -> None:
    assert run("features", "--no-such-option", cwd=world).returncode == 2
    version = run("--version", cwd=world)
    assert version.returncode == 0
    assert version.stdout.startswith("winback ")


def test_missing_arguments_and_files_are_one_line_errors(world: Path) -> None:
    done = run("features", "--transactions", "nope.csv", "--as-of", "2024-01-01", "--out",
               "x.csv", cwd=world)  # fmt: skip
    assert done.returncode == 1
    assert "nope.csv" in done.stderr
    assert "Traceback" not in done.stderr
    done = run("features", "--transactions", "data/transactions.csv", cwd=world)
    assert done.returncode == 1
    assert "--as-of" in done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_common_mistakes_are_one_actionable_line_before_any_work(world: Path) -> None:
    data = ("--transactions", "data/transactions.csv")
    mistakes = {
        "--as-of '2024-13-45' is not a date: write it as YYYY-MM-DD": (
            "features", *data, "--as-of", "2024-13-45", "--out", "x.csv"),
        "--out x.xlsx: unknown file type '.xlsx'; end the name in .parquet or .csv": (
            "features", *data, "--as-of", "2024-03-01", "--out", "x.xlsx"),
        "or give a database URL with --table NAME": (
            "score", *data, "--out", "scores.xlsx"),
        f"config file nope.toml not found (looked from {world.resolve()}). Pass the path": (
            "check", "--config", "nope.toml"),
    }  # fmt: skip
    for message, args in mistakes.items():
        done = run(*args, cwd=world)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.startswith("error: ") and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        # Refused before the data was read.
        assert "Reading and checking" not in done.stdout
    assert not (world / "x.xlsx").exists()


def test_an_unreachable_mlflow_server_is_refused_at_once(world: Path) -> None:
    # MLflow itself would retry a refused connection for minutes, then print a traceback.
    uri = f"http://user:secret@127.0.0.1:{free_port()}"
    done = run("runs", cwd=world, env={"MLFLOW_TRACKING_URI": uri})
    assert done.returncode == 1
    assert "(from MLFLOW_TRACKING_URI) is unreachable" in done.stderr
    assert "secret" not in done.stderr and "Traceback" not in done.stderr
    assert "unset it to use the local store mlruns/" in done.stderr


def test_messages_quoting_config_sections_keep_their_brackets(world: Path) -> None:
    (world / "renamed.csv").write_text("cust,order_date,amount\nC1,2024-01-02,10\n")
    done = run("check", "--transactions", "renamed.csv", cwd=world)
    assert done.returncode == 1
    assert '[data.transactions] customer_id = "cust"' in done.stderr


def test_train_registers_a_champion_then_judges_a_challenger_on_the_same_rows(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (world / "t.toml").write_text(
        '[data.transactions]\npath = "data/transactions.csv"\n'
        '[data.events]\npath = "data/events.csv"\n'
        "[snapshots]\nmin_history_days = 90\n[labels]\nhorizon_days = 60\n"
        "[training]\nn_estimators = 60\nlearning_rate = 0.2\nn_jobs = 1\n"
        "validation_cutoffs = 1\nbgnbd_baseline = false\n"
    )
    first = run("train", "--config", "t.toml", cwd=world)
    assert first.returncode == 0, first.stderr
    assert "version 1: champion" in first.stdout
    assert "active roc_auc" in first.stdout and "rfm" in first.stdout
    # The store is beside the config, whatever the working directory.
    assert (world / "mlruns" / "mlflow.db").exists()
    reports = list((world / "mlruns" / "reports").glob("*.html"))
    assert len(reports) == 1
    assert f"model report: {reports[0]}" in first.stdout
    second = run("train", "--config", "t.toml", cwd=world)
    assert second.returncode == 0, second.stderr
    # Same data, same seed: the same figures, and a tie never promotes.
    assert "version 2: challenger (not promoted)" in second.stdout
    # The summary reads the newest run, and says which version scores while it is a challenger.
    summary = run("summary", "--config", "t.toml", cwd=world)
    assert summary.returncode == 0, summary.stderr
    second_id = re.search(r"MLflow run (\w+)", second.stdout)
    assert second_id is not None and f"MLflow run       {second_id[1]}" in summary.stdout
    assert "registered     winback version 2 (challenger)" in summary.stdout
    assert "promotion      not promoted: candidate test.ours.active.pr_auc" in summary.stdout
    assert "champion       winback version 1: scores and lists use it" in summary.stdout
    runs = run("runs", "--config", "t.toml", cwd=world)
    assert runs.returncode == 0, runs.stderr
    assert "champion" in runs.stdout and "challenger" in runs.stdout
    forced = run("promote", "--config", "t.toml", "--version", "2", "--reason", "by hand",
                 cwd=world)  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert "version 2 is now the champion" in forced.stdout
    missing = run("promote", "--config", "t.toml", "--version", "9", "--reason", "x", cwd=world)
    assert missing.returncode == 1
    assert "Traceback" not in missing.stderr
    tuned = run("--verbose", "train", "--config", "t.toml", "--trials", "3", cwd=world)
    assert tuned.returncode == 0, tuned.stderr
    # --verbose shows MLflow's INFO logs, which are silenced otherwise.
    assert " INFO mlflow." in tuned.stderr and " INFO mlflow." not in first.stderr
    assert "tuning: " in tuned.stdout
    # The study is resumable: it lives beside the MLflow store.
    assert (world / "mlruns" / "optuna.db").exists()


def test_score_list_drift_and_evaluate_from_the_champion(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (world / "s.toml").write_text(
        '[data.transactions]\npath = "data/transactions.csv"\n'
        '[data.events]\npath = "data/events.csv"\n'
        '[data.campaigns]\npath = "data/campaigns.csv"\n'
        "[snapshots]\nmin_history_days = 90\n[labels]\nhorizon_days = 60\n"
        "[training]\nn_estimators = 60\nlearning_rate = 0.2\nn_jobs = 1\n"
        "validation_cutoffs = 1\nbgnbd_baseline = false\n"
        '[tracking]\nregistered_model = "serving_test"\n'
        "[policy]\ncontrol_share = 0.2\n"
    )
    trained = run("train", "--config", "s.toml", "--as-of", "2024-04-01", cwd=world)
    assert trained.returncode == 0, trained.stderr
    scored = run("score", "--config", "s.toml", "--as-of", "2024-04-01", "--out", "out/s.csv",
                 "--model", "models:/serving_test@champion", cwd=world)  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    scores = pd.read_csv(world / "out" / "s.csv")
    assert scores["customer_id"].is_unique and scores["churn_probability"].between(0, 1).all()
    assert f"Wrote {len(scores):,} scores to out/s.csv" in scored.stdout
    listed = run("list", "--config", "s.toml", "--as-of", "2024-04-01", "--budget", "50",
                 "--out", "out/list.csv", "--model", "models:/serving_test@champion",
                 cwd=world)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    frame = pd.read_csv(world / "out" / "list.csv")
    treated = frame[~frame["control"]]
    assert treated["offer_cost"].sum() <= 50 and (frame["expected_net_benefit"] > 0).all()
    # The page names the very file it describes: the SHA-256 of the list's bytes.
    digest = hashlib.sha256((world / "out" / "list.csv").read_bytes()).hexdigest()
    page = (world / "out" / "list.summary.html").read_text(encoding="utf-8")
    assert f'content="{digest}"' in page
    assert "expected margin saved" in listed.stdout
    summary = run("summary", "--config", "s.toml", "--scores", "out/s.csv", "--list",
                  "out/list.csv", cwd=world)  # fmt: skip
    assert summary.returncode == 0, summary.stderr
    text = summary.stdout
    run_id = re.search(r"MLflow run (\w+)", trained.stdout)
    assert run_id is not None
    assert f"MLflow run       {run_id[1]} (train as of 2024-04-01)" in text
    assert f"--backend-store-uri sqlite:///{(world / 'mlruns' / 'mlflow.db').resolve()}" in text
    assert f"model report     mlruns/reports/{run_id[1]}.html" in text
    assert "serving_test version 1 (champion)" in text
    assert f"scores           out/s.csv: {len(scores):,} customers as of 2024-04-01" in text
    control = int(frame["control"].sum())
    assert f"out/list.csv: {len(frame):,} customers ({len(frame) - control:,} offers, " in text
    assert "summary page   out/list.summary.html" in text
    # Key figures of ours and the baseline, read back from the run, and the verdict.
    figures = re.search(r"^active roc_auc \(higher is better\) +([\d.]+) +([\d.]+)$", text,
                        flags=re.MULTILINE)  # fmt: skip
    assert figures is not None, text
    assert "spend top_decile_share" in text and "vs rfm: better on " in text
    assert "winback drift --config s.toml --as-of 2024-04-01" in text
    drift = run("drift", "--config", "s.toml", "--as-of", "2024-04-01",
                "--model", "models:/serving_test@champion", cwd=world)  # fmt: skip
    assert drift.returncode == 0, drift.stderr
    assert "inputs and outputs against training" in drift.stdout
    # This list was never sent: evaluate says so in one line instead of printing a margin.
    judged = run("evaluate", "--config", "s.toml", "--list", "out/list.csv", cwd=world)
    assert judged.returncode == 1 and "a list that was not sent" in judged.stderr, judged.stdout
    assert "Traceback" not in judged.stderr and "margin" not in judged.stdout
    # A list whose horizon has not passed is refused in one line.
    early = run("list", "--config", "s.toml", "--budget", "50", "--out", "out/late.csv",
                "--model", "models:/serving_test@champion", cwd=world)  # fmt: skip
    assert early.returncode == 0, early.stderr
    refused = run("evaluate", "--config", "s.toml", "--list", "out/late.csv", cwd=world)
    assert refused.returncode == 1 and "evaluate it after that" in refused.stderr
    assert "Traceback" not in refused.stderr
    unknown = run("score", "--config", "s.toml", "--out", "out/x.csv", "--model",
                  "models:/nothing@champion", cwd=world)  # fmt: skip
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr


def test_summary_before_any_training_and_with_a_wrong_file(world: Path) -> None:
    fresh = world / "fresh"
    fresh.mkdir(exist_ok=True)
    (fresh / "f.toml").write_text('[data.transactions]\npath = "../data/transactions.csv"\n')
    empty = run("summary", "--config", "f.toml", cwd=fresh)
    assert empty.returncode == 0, empty.stderr
    assert "none yet: train a model with `winback train`" in empty.stdout
    # Paths outside the working directory are shown absolute, ready to copy.
    assert f"transactions   {(world / 'data' / 'transactions.csv').resolve()}" in empty.stdout
    assert not (fresh / "mlruns").exists()  # reading does not create a store
    wrong = run("summary", "--config", "f.toml", "--list", "nope.csv", cwd=fresh)
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: --list nope.csv: file not found")
    assert "`winback list --out`" in wrong.stderr and wrong.stdout == ""
