"""Training, the registry and the serving commands, on the store trained once per test run.

The training itself ran in a real process (the ``trained`` fixture); what it printed is checked
here. The commands that read the store run in this process, each on a private copy of it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from tests.winback.conftest import TRAIN, Trained, copy_of, run
from winback.cli import app

#: Every step ``train`` reports, in order.
STEPS = (
    "snapshots", "BG/NBD inputs", "tuning trial 1/2", "tuning trial 2/2",
    "churn model, retention", "churn model, win-back", "decline model", "orders model",
    "spend model", "calibration", "value per period models", "baselines", "test evaluation",
    "explanations", "model report", "registration",
)  # fmt: skip


def invoke(*args: str) -> Result:
    """``winback ARGS`` in this process, from the current working directory."""
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def project(trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the trained project, as the working directory."""
    root = copy_of(trained.root, tmp_path / "project")
    monkeypatch.chdir(root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return root


def test_train_prints_each_step_with_its_time_and_registers_a_champion(trained: Trained) -> None:
    text, root = trained.stdout, trained.root
    for name in STEPS:
        assert re.search(rf"^✓ {re.escape(name)} \(\d+\.\d+s\)", text, flags=re.MULTILINE), name
    shown = [line.split(" (")[0][2:] for line in text.splitlines() if line.startswith("✓ ")]
    assert shown == ["Reading and checking the data", *STEPS]
    assert re.search(r"^✓ tuning trial 1/2 \(.*validation log loss 0\.\d{4}", text, re.MULTILINE)
    assert "version 1: champion" in text
    assert "active roc_auc" in text and "rfm" in text
    assert "tuning: 2 trials complete" in text
    # The store is beside the config, whatever the working directory; so is the tuning study,
    # which makes it resumable.
    assert (root / "mlruns" / "mlflow.db").exists()
    assert (root / "mlruns" / "optuna.db").exists()
    reports = list((root / "mlruns" / "reports").glob("*.html"))
    assert len(reports) == 1
    assert f"model report: {reports[0]}" in text
    # Library chatter (MLflow's "Successfully registered model", its INFO logs, Optuna's trial
    # logs, LightGBM's warnings) is for --verbose only: by default stderr stays empty.
    assert trained.stderr == ""
    assert "Successfully registered" not in text and "[LightGBM]" not in text


def test_a_retrained_tie_stays_challenger_and_promote_moves_the_champion(project: Path) -> None:
    # A fresh study (the copy has no optuna.db) draws the same two trials: the same model again.
    (project / "mlruns" / "optuna.db").unlink()
    second = run(*TRAIN, "--verbose", cwd=project)
    assert second.returncode == 0, second.stderr
    # Same data, same seed: the same figures, and a tie never promotes.
    assert "version 2: challenger (not promoted)" in second.stdout
    # --verbose after the command shows MLflow's INFO logs and its registry lines.
    assert " INFO mlflow." in second.stderr
    assert "Created version '2' of model 'winback'" in second.stderr
    # The summary reads the newest run, and says which version scores while it is a challenger.
    summary = invoke("summary", "--config", "s.toml")
    assert summary.exit_code == 0, summary.output
    second_id = re.search(r"MLflow run (\w+)", second.stdout)
    assert second_id is not None and f"MLflow run       {second_id[1]}" in summary.stdout
    assert "registered     winback version 2 (challenger)" in summary.stdout
    assert (
        "promotion      not promoted: candidate retention.test.ours.active.pr_auc" in summary.stdout
    )
    assert "champion       winback version 1: scores and lists use it" in summary.stdout
    facts = json.loads(invoke("summary", "--config", "s.toml", "--json").stdout)
    assert facts["run"]["run_id"] == second_id[1]
    assert (facts["run"]["version"], facts["run"]["aliases"]) == (2, ["challenger"])
    assert facts["run"]["champion"] == 1
    assert facts["run"]["promotion"]["decision"] == "not promoted"
    assert facts["run"]["promotion"]["reason"].startswith(
        "candidate retention.test.ours.active.pr_auc"
    )
    runs = invoke("runs", "--config", "s.toml")
    assert runs.exit_code == 0, runs.output
    assert "champion" in runs.stdout and "challenger" in runs.stdout
    listed = json.loads(invoke("runs", "--config", "s.toml", "--json").stdout)["runs"]
    standing = {r["version"]: r["aliases"] for r in listed if r["version"] is not None}
    assert standing == {1: ["champion"], 2: ["challenger"]}
    assert [r["run_id"] for r in listed] == re.findall(r"^(\w{32}) ", runs.stdout, re.MULTILINE)
    assert listed[0]["run_id"] == second_id[1]
    forced = invoke("promote", "--config", "s.toml", "--version", "2", "--reason", "by hand")
    assert forced.exit_code == 0, forced.output
    assert "version 2 is now the champion" in forced.stdout
    missing = invoke("promote", "--config", "s.toml", "--version", "9", "--reason", "x")
    assert missing.exit_code == 1 and isinstance(missing.exception, SystemExit)
    assert missing.stderr.startswith("error: ") and len(missing.stderr.splitlines()) == 1


def test_score_list_drift_and_evaluate_from_the_champion(project: Path, trained: Trained) -> None:
    champion = ("--model", "models:/winback@champion")
    scored = invoke("score", "--config", "s.toml", "--as-of", "2024-04-01", "--out",
                    "out/s.csv", *champion)  # fmt: skip
    assert scored.exit_code == 0, scored.output
    scores = pd.read_csv(project / "out" / "s.csv")
    assert scores["customer_id"].is_unique and scores["churn_probability"].between(0, 1).all()
    assert f"Wrote {len(scores):,} scores to out/s.csv" in scored.stdout
    listed = invoke("list", "--config", "s.toml", "--as-of", "2024-04-01", "--budget", "50",
                    "--out", "out/list.csv", *champion)  # fmt: skip
    assert listed.exit_code == 0, listed.output
    frame = pd.read_csv(project / "out" / "list.csv")
    treated = frame[~frame["control"]]
    assert treated["offer_cost"].sum() <= 50 and (frame["expected_net_benefit"] > 0).all()
    # The page names the very file it describes: the SHA-256 of the list's bytes.
    digest = hashlib.sha256((project / "out" / "list.csv").read_bytes()).hexdigest()
    page = (project / "out" / "list.summary.html").read_text(encoding="utf-8")
    assert f'content="{digest}"' in page
    assert "expected margin saved" in listed.stdout
    summary = invoke("summary", "--config", "s.toml", "--scores", "out/s.csv", "--list",
                     "out/list.csv")  # fmt: skip
    assert summary.exit_code == 0, summary.output
    text = summary.stdout
    run_id = re.search(r"MLflow run (\w+)", trained.stdout)
    assert run_id is not None
    assert f"MLflow run       {run_id[1]} (train as of 2024-04-01)" in text
    assert f"--backend-store-uri sqlite:///{(project / 'mlruns' / 'mlflow.db').resolve()}" in text
    assert f"model report     mlruns/reports/{run_id[1]}.html" in text
    assert "winback version 1 (champion)" in text
    assert f"scores           out/s.csv: {len(scores):,} customers as of 2024-04-01" in text
    control = int(frame["control"].sum())
    assert f"out/list.csv: {len(frame):,} customers ({len(frame) - control:,} offers, " in text
    assert "summary page   out/list.summary.html" in text
    # Key figures of ours and the baseline, read back from the run, and the verdict: the
    # retention population's first, and every figure says which population it is measured on.
    assert "The model against the baselines, retention: customers active at the cutoff" in text
    assert "The model against the baselines, everyone who ordered before the cutoff" in text
    figures = re.search(r"^active roc_auc \(higher is better\) +([\d.]+) +([\d.]+)$", text,
                        flags=re.MULTILINE)  # fmt: skip
    assert figures is not None, text
    assert "spend top_decile_share" in text and "vs rfm: better on " in text
    assert "winback drift --config s.toml --as-of 2024-04-01" in text
    # --json: the same facts, one document, nothing else on stdout.
    as_json = invoke("summary", "--config", "s.toml", "--scores", "out/s.csv", "--list",
                     "out/list.csv", "--json")  # fmt: skip
    assert as_json.exit_code == 0, as_json.output
    facts = json.loads(as_json.stdout)
    assert facts["run"]["run_id"] == run_id[1] and facts["run"]["aliases"] == ["champion"]
    assert facts["run"]["report"] == f"mlruns/reports/{run_id[1]}.html"
    assert facts["scores"] == {
        "path": "out/s.csv", "customers": len(scores), "as_of": "2024-04-01",
        "model_name": "winback", "model_version": 1,
    }  # fmt: skip
    assert (facts["list"]["customers"], facts["list"]["control"]) == (len(frame), control)
    ours, rfm = (float(v) for v in figures.groups())
    retention = facts["figures"]["populations"][0]
    assert retention["population"] == "retention" and retention["rows"] > 0
    roc = retention["figures"]["active roc_auc"]
    assert (round(roc["ours"], 4), round(roc["rfm"], 4)) == (ours, rfm)
    assert retention["verdict"][0] in text
    assert [p["population"] for p in facts["figures"]["populations"]][-1] == "all"
    assert facts["next"][1]["command"] == "winback drift --config s.toml --as-of 2024-04-01"
    drift = invoke("drift", "--config", "s.toml", "--as-of", "2024-04-01", *champion)
    assert drift.exit_code == 0, drift.output
    assert "inputs and outputs against training" in drift.stdout
    # This list was never sent: evaluate says so in one line instead of printing a margin.
    judged = invoke("evaluate", "--config", "s.toml", "--list", "out/list.csv")
    assert judged.exit_code == 1 and "a list that was not sent" in judged.stderr, judged.stdout
    assert isinstance(judged.exception, SystemExit) and "margin" not in judged.stdout
    # A list whose horizon has not passed is refused in one line.
    early = invoke("list", "--config", "s.toml", "--budget", "50", "--out", "out/late.csv",
                   *champion)  # fmt: skip
    assert early.exit_code == 0, early.output
    refused = invoke("evaluate", "--config", "s.toml", "--list", "out/late.csv")
    assert refused.exit_code == 1 and "evaluate it after that" in refused.stderr
    assert isinstance(refused.exception, SystemExit)
    unknown = invoke("score", "--config", "s.toml", "--out", "out/x.csv", "--model",
                     "models:/nothing@champion")  # fmt: skip
    assert unknown.exit_code == 1 and isinstance(unknown.exception, SystemExit)


def test_evaluate_a_campaign_ranked_by_the_champion(project: Path) -> None:
    judged = invoke("evaluate", "--config", "s.toml", "--campaign", "2024-01-30", "--page",
                    "out/campaign.html")  # fmt: skip
    assert judged.exit_code == 0, judged.output
    text = judged.stdout
    assert "campaign 2024-01-30: 33 treated, 5 control" in text
    assert re.search(r"^all +33 +5 ", text, flags=re.MULTILINE), text
    assert "ranking: contacts ranked by model winback version 1's churn probability" in text
    page = (project / "out" / "campaign.html").read_text(encoding="utf-8")
    assert "Qini coefficient" in page and 'content="2024-01-30"' in page
    run_id = re.search(r"MLflow run (\w+)", text)
    assert run_id is not None, text
