# Quick start: `make demo` and `make test` each build the virtual environment from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test chromium java axe lint bench bench-out-of-core bench-probes bench-report clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q socialbench  # as an installed package (pip -e compiles nothing)
	touch $(STAMP)

# The demo suite against the in-process sandbox (its clock 50,000x real time), checked
# against its thresholds, then a synthetic archive of recorded conversations.
demo: $(STAMP)
	rm -rf reports/demo reports/demo-archive
	$(BIN)/socialbench run scenarios/demo.yaml --speed 50000 --out reports/demo --report html,md \
	  --check --junit reports/demo/junit.xml
	$(BIN)/python tests/synth.py --conversations 2000 --brands 12 --seed 7 -o reports/demo-archive.csv
	$(BIN)/socialbench run --fixtures reports/demo-archive.csv --out reports/demo-archive

test: $(STAMP) chromium java axe
	$(BIN)/python -m pytest

# The HTML report's browser test needs Debian's chromium; installed here when missing (as
# root with apt), else that test is skipped and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	    >/dev/null; } || echo "chromium is not installed: the browser test will be skipped"

# The HTML report's accessibility tests run axe-core (MPL-2.0) in that chromium: installed from
# the npm registry into .venv/axe (ignored by git) when missing, else those tests are skipped
# and say why. Tests themselves never touch the network.
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js
axe:
	@[ -f $(AXE) ] || { command -v npm >/dev/null 2>&1 && \
	  npm install --no-save --no-audit --no-fund --silent --prefix $(VENV)/axe axe-core@4 \
	  >/dev/null; } || echo "axe-core not installed (no npm, or the registry unreachable):" \
	  "the accessibility tests will be skipped"

# The Spark engine's tests need a Java 17+ runtime (Spark 4); installed here when there is
# no java at all (as root with apt: openjdk-17-jre-headless, else Debian's default JRE), else
# those tests are skipped and say why.
java:
	@command -v java >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && mkdir -p /usr/share/man/man1 && \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless \
	      >/dev/null 2>&1 || \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless \
	      >/dev/null; }; } || echo "java is not installed: the Spark engine tests will be skipped"
	@version=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' | \
	  head -1); set -- $$version; major=$${1:-0}; [ "$$major" = 1 ] && major=$${2:-0}; \
	  [ -z "$$version" ] || [ "$$major" -ge 17 ] || \
	  echo "java $$major is older than 17: the Spark engine tests will be skipped"

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
