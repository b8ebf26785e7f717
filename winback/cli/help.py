"""The man-page parts of ``winback --help``: exit codes, environment, and examples per command.

Help text is the single source of the CLI reference (the README's is generated from it), so the
examples here are written to be copied: they use the demo's files and ``winback.toml``.
Rendered as Markdown by Typer; a fenced block keeps each example on its own line.
"""

from __future__ import annotations

ROOT_EPILOG = """\
**Exit codes**: 0 success; 1 a problem with the data, settings, files, model or MLflow store \
(one line on stderr says what is wrong, where, and what to do; `--debug` shows the traceback); \
2 a usage error (unknown command or option, missing or invalid option value).

**Environment**: `MLFLOW_TRACKING_URI` points runs and the model registry at a team MLflow \
server instead of the local store `mlruns/` beside the config file (it wins over \
`[tracking] uri`). `WINBACK_API_TOKEN` is the bearer token `winback serve` requires on customer \
endpoints. `NO_COLOR` turns colours off.

**Start here**: `make demo`, or `winback simulate --out data` and a `winback.toml` naming your \
tables (see `winback check --help`). Completion: `winback --install-completion`."""


def _examples(*lines: str) -> str:
    return "**Examples**\n\n```\n" + "\n".join(lines) + "\n```"


EXAMPLES = {
    "simulate": _examples(
        "# 3,000 customers over two years, as Parquet files in demo-output/data/",
        "winback simulate --customers 3000 --seed 7 --out demo-output/data",
        "# CSV instead, a shorter history",
        "winback simulate --start 2024-01-01 --end 2025-01-01 --format csv --out data",
    ),
    "check": _examples(
        "winback check --config winback.toml",
        "# no config: name the files; keep bad rows aside in ./rejected/",
        "winback check --transactions orders.csv \\",
        "    --on-bad-rows quarantine --quarantine-dir rejected",
    ),
    "features": _examples(
        "winback features --config winback.toml --as-of 2024-10-01 --out features.parquet",
        "# what each feature means (window, unit), from the code",
        "winback features --describe",
    ),
    "segments": _examples(
        "winback segments --config winback.toml --as-of 2024-10-01 --out segments.csv",
    ),
    "snapshots": _examples(
        "winback snapshots --config winback.toml --out snapshots.parquet",
        "# only records before 2024-06-01, as a backtest would see them",
        "winback snapshots --config winback.toml --as-of 2024-06-01 \\",
        "    --out snapshots.parquet",
    ),
    "train": _examples(
        "winback train --config winback.toml",
        "# tune the churn model with 30 Optuna trials first",
        "winback train --config winback.toml --trials 30",
        "# backtest: train as if today were 2024-06-01",
        "winback train --config winback.toml --as-of 2024-06-01",
    ),
    "runs": _examples(
        "winback runs --config winback.toml",
        "MLFLOW_TRACKING_URI=http://mlflow.internal:5000 winback runs --limit 20",
    ),
    "promote": _examples(
        'winback promote --config winback.toml --version 3 --reason "better PR AUC on Q3"',
    ),
    "score": _examples(
        "winback score --config winback.toml --out scores.parquet",
        "winback score --config winback.toml --as-of 2024-10-01 \\",
        "    --model models:/winback/2 --out scores.csv",
        "# replace a table in a database",
        "winback score --config winback.toml \\",
        "    --out postgresql://crm@db/marketing --table churn_scores",
    ),
    "list": _examples(
        "winback list --config winback.toml --budget 2000 --out winback_list.csv",
        "# the page for marketing: winback_list.summary.html beside the list",
        "winback list --config winback.toml --as-of 2024-10-01 --budget 2000 \\",
        "    --out winback_list.parquet",
    ),
    "evaluate": _examples(
        "# a horizon after the list's date, with the data that came in since",
        "winback evaluate --config winback.toml --list winback_list.csv",
        "# a past campaign with a random control, named by its send day",
        "winback evaluate --config winback.toml --campaign 2024-07-30",
    ),
    "drift": _examples(
        "winback drift --config winback.toml",
        "winback drift --config winback.toml --as-of 2024-10-01 --model models:/winback/2",
    ),
    "serve": _examples(
        "export WINBACK_API_TOKEN=$(openssl rand -hex 32)",
        "winback serve --config winback.toml --port 8000",
        "# then, from another shell (docs at http://127.0.0.1:8000/docs)",
        'curl -X POST -H "Authorization: Bearer $WINBACK_API_TOKEN" \\',
        "    -H 'Content-Type: application/json' -d '{\"customer_ids\": [\"C0000042\"]}' \\",
        "    http://127.0.0.1:8000/scores",
    ),
    "summary": _examples(
        "winback summary --config winback.toml",
        "winback summary --config winback.toml --scores demo-output/scores.parquet \\",
        "    --list demo-output/winback_list.csv",
    ),
}

__all__ = ["EXAMPLES", "ROOT_EPILOG"]
