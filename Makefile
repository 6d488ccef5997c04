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

.PHONY: install run test test-sqlite test-postgres lint bench clean

$(BIN)/.installed: requirements.txt setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(BIN)/.installed

## Set everything up and serve the Hưng Yên demo on http://127.0.0.1:5000
run: install
	$(BIN)/caunoi init-db
	$(BIN)/caunoi demo --if-empty
	@echo "Mã quản trị / admin token (Authorization: Bearer …):"
	@$(BIN)/caunoi token create --role admin --label "make run" --replace
	$(BIN)/caunoi serve --host $(HOST) --port $(PORT)

## Lint, then the whole suite on SQLite and again on PostgreSQL
test: install lint test-sqlite test-postgres

lint: install
	$(BIN)/ruff check .

test-sqlite: install
	$(BIN)/pytest

test-postgres: install
	CAUNOI_TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest

bench: install
	$(BIN)/python bench/import.py

clean:
	rm -rf $(VENV) instance/*.sqlite3* .pytest_cache
