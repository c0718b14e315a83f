# The two commands of the README: `make demo` and `make test`. Both create .venv when missing
# and install the project (editable) with the exact pins of constraints.txt, offline-safe.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := orchestration sources quality ingest monitoring demo bench
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1
export GX_ANALYTICS_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install bench docs clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# uv (pinned in constraints.txt) installs the same pins as pip in seconds instead of 90 s of
# pip's own CPU on a fresh clone (docs/decisions.md, "uv installs the pins"); where uv cannot
# (no PyPI, only a local mirror pip is configured for), pip does it. -qq / -q: errors only (pip's
# warnings about the machine's index settings made `make demo` print ~220 lines).
# compileall of the venv's packages and the project's: uv (unlike pip) writes no .pyc, and where
# PYTHONDONTWRITEBYTECODE is set (this machine sets it) no process ever does, so every load, dbt
# run and test process compiled Dagster, dbt and pandas again: about 3 s a process
# (docs/decisions.md, "Bytecode compiled once, at install"). Not uv's --compile-bytecode: it
# compiles only what it installs, never a venv that is already there.
$(STAMP): pyproject.toml constraints.txt Makefile | $(BIN)/python
	$(BIN)/pip install -qq -c constraints.txt uv \
	  && $(BIN)/uv pip install -q --python $(BIN)/python -c constraints.txt -e '.[test]' \
	  || $(BIN)/pip install -qq -c constraints.txt -e '.[test]'
	$(BIN)/python -m compileall -q -j 0 $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
	  $(PACKAGES) > /dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/itp-warehouse demo --home $(or $(HOME_DIR),demo_home)

# Both cores: one test file per worker at a time (its module fixtures are built once), handed
# out in collection order, long files first (tests/conftest.py LONG_FILES); without
# --no-loadscope-reorder xdist hands out the files with the most tests first, which left the
# one-test files of several loads each to the end. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2

# The tests' files (warehouse homes, DuckDB versions, Dagster's SQLite event log) live in
# memory when /dev/shm exists: each load commits a thousand small SQLite transactions, and
# two workers' fsyncs on a shared disk were a large part of the suite's time (docs/decisions.md
# "Test suite time"). One folder per run, removed after it; TEST_TMP=/tmp keeps them on disk.
TEST_TMP ?= $(firstword $(wildcard /dev/shm) /tmp)

test: $(STAMP)
	@tmp=$$(mktemp -d $(TEST_TMP)/itp-pytest.XXXXXX) && \
	  $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --basetemp $$tmp/base $(PYTEST_ARGS); \
	  status=$$?; rm -rf $$tmp; exit $$status

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

docs: $(STAMP)
	$(BIN)/itp-warehouse docs --home $(or $(HOME_DIR),demo_home)

clean:
	rm -rf demo_home dbt_project/target dbt_project/logs build dist .pytest_cache
