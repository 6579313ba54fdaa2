# Quick start: `make demo` and `make test` each build the virtual environment from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test chromium lint bench bench-out-of-core bench-probes bench-report clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo suite against the in-process sandbox (its clock 50,000x real time), checked
# against its thresholds, then a synthetic archive of recorded conversations.
demo: $(STAMP)
	rm -rf reports/demo reports/demo-archive
	$(BIN)/socialbench run scenarios/demo.yaml --speed 50000 --out reports/demo --report html,md \
	  --check --junit reports/demo/junit.xml
	$(BIN)/python -m socialbench.synth --conversations 2000 --brands 12 --seed 7 -o reports/demo-archive.csv
	$(BIN)/socialbench run --fixtures reports/demo-archive.csv --out reports/demo-archive

test: $(STAMP) chromium
	$(BIN)/python -m pytest

# The HTML report's browser test needs Debian's chromium; installed here when missing (as
# root with apt), else that test is skipped and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	    >/dev/null; } || echo "chromium is not installed: the browser test will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check socialbench tests bench

bench: $(STAMP)
	$(BIN)/python bench/archive_bench.py

bench-out-of-core: $(STAMP)
	$(BIN)/python bench/out_of_core_bench.py

bench-probes: $(STAMP)
	$(BIN)/python bench/probe_bench.py

bench-report: $(STAMP) chromium
	$(BIN)/python bench/report_bench.py

clean:
	rm -rf $(VENV) build *.egg-info
