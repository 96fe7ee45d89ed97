# The two commands a new user needs: `make run` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test requirements bench bench-pipelines bench-sandbox bench-releases bench-deployments bench-chatops bench-integrations clean

$(BIN)/shipyard: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

## Set up and start Shipyard on its embedded defaults (SQLite, in-process queue).
run: $(BIN)/shipyard
	$(BIN)/shipyard db upgrade
	$(BIN)/shipyard serve

## Set up and run the tests (SQLite always; PostgreSQL and Redis when reachable, required in CI).
test: $(BIN)/shipyard
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

## Pin what Heroku installs (constraints.txt) to what pyproject.toml needs, as installed here
## (after changing pyproject.toml's dependencies: the tests say when it is due).
requirements: $(BIN)/shipyard
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m tests.support.lock

## Benchmarks (see bench/README.md); e.g. BENCH_ARGS="--quick" or "--tree /tmp/before".
BENCH_ARGS ?=

bench: $(BIN)/shipyard
	@command -v wrk >/dev/null || echo "wrk not found (apt-get install wrk): using the bench's own client"
	$(BIN)/python -m bench.intake $(BENCH_ARGS)

bench-pipelines: $(BIN)/shipyard
	$(BIN)/python -m bench.pipelines $(BENCH_ARGS)

bench-sandbox: $(BIN)/shipyard
	$(BIN)/python -m bench.sandbox

bench-releases: $(BIN)/shipyard
	$(BIN)/python -m bench.releases $(BENCH_ARGS)

# Ansible runs beside Shipyard in the same run: ansible-core goes into the venv, not into
# pyproject.toml (nothing else uses it). The bench needs openssh-server and says so.
bench-deployments: $(BIN)/shipyard
	@test -x $(BIN)/ansible || $(BIN)/pip install --quiet ansible-core
	$(BIN)/python -m bench.deployments $(BENCH_ARGS)

bench-chatops: $(BIN)/shipyard
	$(BIN)/python -m bench.chatops $(BENCH_ARGS)

bench-integrations: $(BIN)/shipyard
	$(BIN)/python -m bench.vault $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
