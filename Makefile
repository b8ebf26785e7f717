# Every target sets itself up from nothing: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := demo-output

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/winback simulate --customers 3000 --start 2023-01-01 --end 2025-01-01 --seed 7 --out $(DEMO)/data
	$(BIN)/winback check --config winback.toml
	$(BIN)/winback features --config winback.toml --as-of 2024-10-01 --out $(DEMO)/features.parquet
	$(BIN)/winback segments --config winback.toml --as-of 2024-10-01 --out $(DEMO)/segments.csv
	$(BIN)/winback snapshots --config winback.toml --out $(DEMO)/snapshots.parquet
	$(BIN)/winback train --config winback.toml --trials 10
	$(BIN)/winback score --config winback.toml --as-of 2024-10-01 --out $(DEMO)/scores.parquet
	$(BIN)/winback list --config winback.toml --as-of 2024-10-01 --budget 2000 --out $(DEMO)/winback_list.csv
	@echo
	@echo "Demo data:      $(DEMO)/data/"
	@echo "Features:       $(DEMO)/features.parquet"
	@echo "Segments:       $(DEMO)/segments.csv"
	@echo "Training set:   $(DEMO)/snapshots.parquet"
	@echo "Scores:         $(DEMO)/scores.parquet"
	@echo "Win-back list:  $(DEMO)/winback_list.csv  (summary: $(DEMO)/winback_list.summary.html)"
	@echo "MLflow store:   mlruns/  (browse: $(BIN)/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db)"
	@echo "Next: $(BIN)/winback runs    $(BIN)/winback drift --config winback.toml --as-of 2024-10-01    $(BIN)/winback --help"

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_features.py
	$(BIN)/python bench/bench_simulate.py
	$(BIN)/python bench/bench_training.py
	$(BIN)/python bench/bench_scoring.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache
