# Quick start: `make demo` and `make test` each build the virtual environment from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m socialbench.synth --conversations 2000 --brands 12 --seed 7 -o reports/demo-archive.csv
	$(BIN)/socialbench run --fixtures reports/demo-archive.csv --out reports/demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check socialbench tests bench

bench: $(STAMP)
	$(BIN)/python bench/archive_bench.py

clean:
	rm -rf $(VENV) build *.egg-info
