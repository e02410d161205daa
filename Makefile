# `make demo` and `make test` are the two commands a new user needs (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Every install comes from this lock (all extras, exact versions): a clone next month gets the
# versions CI passed with today. `make lock` refreshes it on purpose.
LOCK   := requirements.lock
PIP_VERSION := 26.3
# Debian packages the test suite needs; installed only when missing.
APT_PACKAGES ?= chromium postgresql redis-server
# pytest workers (pytest-xdist); tests that share a costly resource (one learner's kernels,
# the session's Ray) are grouped on one worker with xdist_group marks
TEST_WORKERS ?= 2

export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: demo test lint format bench lock system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q pip==$(PIP_VERSION)

# the demo needs only the core dependencies, at the lock's versions (-c: pinned, not all installed)
$(VENV)/.installed-base: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -c $(LOCK) setuptools wheel
	$(BIN)/pip install -q --no-build-isolation -c $(LOCK) -e .
	touch $@

# tests install exactly the lock, then tidal itself without resolving anything more; `pip check`
# fails the install when pyproject.toml asks for something the lock lacks (run `make lock`)
$(VENV)/.installed-test: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -r $(LOCK)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e '.[test,bench,service,ray]'
	$(BIN)/pip check
	touch $@ $(VENV)/.installed-base

# re-resolve every extra to today's newest versions; commit the result after `make test` passes
lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q pip==$(PIP_VERSION) pip-tools
	.lock-venv/bin/pip-compile -q --upgrade --allow-unsafe --strip-extras \
		--extra test --extra bench --extra service --extra ray \
		--no-emit-find-links --no-emit-index-url --output-file $(LOCK) pyproject.toml
	rm -rf .lock-venv

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

demo: $(VENV)/.installed-base
	$(BIN)/tidal demo

test: $(VENV)/.installed-test system-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(VENV)/.installed-test
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_linear.py
	$(BIN)/python benchmarks/bench_drift.py
	$(BIN)/python benchmarks/bench_trees.py
	$(BIN)/python benchmarks/bench_compare.py
	$(BIN)/python benchmarks/bench_guards.py
	$(BIN)/python benchmarks/bench_keyed.py
	$(BIN)/python benchmarks/bench_service.py
	$(BIN)/python benchmarks/bench_dashboard.py
	$(BIN)/python benchmarks/bench_io.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
