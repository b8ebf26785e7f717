# Every target sets itself up from nothing: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := demo-output

.PHONY: setup demo test lint bench bench-real clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) chromium

demo: $(STAMP)
	@echo "[1/9] Simulating 10,000 customers over two years (seed 7)…"
	$(BIN)/winback simulate --customers 10000 --start 2023-01-01 --end 2025-01-01 --seed 7 --out $(DEMO)/data
	@echo; echo "[2/9] Checking the data against the contract…"
	$(BIN)/winback check --config winback.toml
	@echo; echo "[3/9] Building point-in-time features as of 2024-10-01…"
	$(BIN)/winback features --config winback.toml --as-of 2024-10-01 --out $(DEMO)/features.parquet
	@echo; echo "[4/9] Segmenting customers by lifecycle, value and RFM…"
	$(BIN)/winback segments --config winback.toml --as-of 2024-10-01 --out $(DEMO)/segments.csv
	@echo; echo "[5/9] Stacking monthly snapshots into a training set…"
	$(BIN)/winback snapshots --config winback.toml --out $(DEMO)/snapshots.parquet
	@echo; echo "[6/9] Training models (10 Optuna trials) and judging them against the baselines…"
	$(BIN)/winback train --config winback.toml --trials 10
	@echo; echo "[7/9] Scoring every customer as of 2024-10-01 with the champion…"
	$(BIN)/winback score --config winback.toml --as-of 2024-10-01 --out $(DEMO)/scores.parquet
	@echo; echo "[8/9] Choosing who gets a win-back offer within a budget of 2,000…"
	$(BIN)/winback list --config winback.toml --as-of 2024-10-01 --budget 2000 --out $(DEMO)/winback_list.csv
	@echo; echo "[9/9] Summary"
	@$(BIN)/winback summary --config winback.toml --scores $(DEMO)/scores.parquet --list $(DEMO)/winback_list.csv

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/typecheck.py
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/typecheck.py

bench: $(STAMP)
	$(BIN)/python bench/bench_features.py
	$(BIN)/python bench/bench_simulate.py
	$(BIN)/python bench/bench_training.py
	$(BIN)/python bench/bench_scoring.py
	$(BIN)/python bench/bench_uplift.py
	$(BIN)/python bench/bench_signal.py

# The real-data benchmark every modelling change is judged by (bench/real/bench_real.py): CDNOW
# fetched from the lifetimes wheel on PyPI; a subscription log when BENCH_REAL_SUBSCRIPTION names
# one. ARGS=--quick checks the harness on a fifth of the customers.
bench-real: $(STAMP)
	$(BIN)/python bench/real/bench_real.py $(ARGS)

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache

# Pictures of the model report, the list summary and the marketer's page in docs/, shot by
# headless Chromium.
.PHONY: screenshots
screenshots: $(STAMP) chromium
	$(BIN)/python docs/screenshots.py --out docs

# Debian's Chromium, which the page's browser test and the screenshots drive (through Playwright,
# never a browser Playwright downloads): installed where missing, when we may.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "chromium is missing: installing Debian's package (apt-get install chromium)"; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else \
	    echo "cannot install chromium here (needs root and apt-get): install it yourself," \
	      "e.g. 'sudo apt-get install -y chromium', and rerun make" >&2; exit 1; \
	  fi; }
