# Cầu Nối — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CI and this machine run PostgreSQL on 127.0.0.1:5432 with trust auth and a `test` database.
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
# OpenMP threads must not spin on a shared 2-core machine (see matcher/__init__.py).
export OMP_WAIT_POLICY ?= PASSIVE
PORT ?= 5000
# Tests: two processes (xdist) of one OpenMP thread each, as `caunoi serve` runs its workers;
# two OpenMP threads per process made the forecasting tests 2-5x slower on two cores.
TEST_PROCESSES ?= 2
PYTEST = OMP_NUM_THREADS=1 $(BIN)/pytest -n $(TEST_PROCESSES) --dist loadgroup $(PYTEST_ARGS)
# `make test CAUNOI_TODAY=2027-02-20` runs the whole suite as of that day (docs/testing.md).

.PHONY: install install-dev run test test-sqlite test-postgres lint bench clean chromium translations

# The runtime set only: what `make run` and a server need.
$(BIN)/.installed: requirements.txt setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Test, lint and notebook tools on top.
$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

install-dev: $(BIN)/.installed-dev

## Set everything up and serve the Hưng Yên demo on http://127.0.0.1:5000
run: install
	$(BIN)/caunoi init-db
	$(BIN)/caunoi demo --if-empty
	@echo "Mã quản trị / admin token (Authorization: Bearer …):"
	@$(BIN)/caunoi token create --role admin --label "make run" --replace
	@echo "Đăng nhập trang web / sign in at http://$(HOST):$(PORT)/login (mật khẩu mới mỗi lần / new passwords each run):"
	@$(BIN)/caunoi user demo
	@# One job consumer beside the web server (its queue: a SQLite file, no Redis needed);
	@# Ctrl-C reaches both (one process group), and the trap stops the consumer in any case.
	$(BIN)/caunoi worker & consumer=$$!; trap 'kill $$consumer 2>/dev/null; wait $$consumer' EXIT INT TERM; \
	  $(BIN)/caunoi serve --host $(HOST) --port $(PORT)

## Lint; every test on SQLite; the tests that touch persistence again on PostgreSQL
test: lint test-sqlite test-postgres

lint: install-dev
	$(BIN)/ruff check .

# tests/engine (no database) and tests/acceptance (the demo at pinned dates and seeds) run
# here only; tests/api on both backends; tests/scaleout (two web servers, two consumers, one
# PostgreSQL and one Redis, with the demo-scale flows) on PostgreSQL.
test-sqlite: install-dev chromium
	$(PYTEST) tests

# The browser tests drive Debian's Chromium (Playwright's own download cannot run here).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
	  apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }

test-postgres: install-dev
	CAUNOI_TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(PYTEST) tests/api tests/scaleout

## Benchmarks print figures (docs/performance.md); they never fail on a time
bench: install-dev
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/demo.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/uploads.py
	$(BIN)/python bench/pages.py

## Pages' messages: extract, merge into the catalogues, compile (edit the .po in between)
translations: install-dev
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -o api/translations/messages.pot .
	$(BIN)/pybabel update -i api/translations/messages.pot -d api/translations --width 100
	$(BIN)/pybabel compile -d api/translations

clean:
	rm -rf $(VENV) instance/*.sqlite3* .pytest_cache
