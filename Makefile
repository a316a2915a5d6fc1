# Shelfside: `make run` serves the demo, `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8000
FLASK   = $(VENV)/bin/flask --app web

.PHONY: run test lint format install install-dev migrate seed bench clean

$(VENV)/.installed: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-demo --if-empty

## run: install, migrate, load the demo once, serve on $PORT with the outbox dispatcher
run: seed
	PORT=$(PORT) VENV=$(VENV) ./scripts/serve

## lint: the formatter's check, the linter, and the layering contract (a back-arrow import fails)
lint: install-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

## format: apply the formatter and the linter's safe fixes
format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## test: lint, then the suite on SQLite; again on PostgreSQL when TEST_DATABASE_URL is set
test: install-dev lint
	@echo "--- the suite on SQLite, with the browser tests ---"
	env -u TEST_DATABASE_URL $(VENV)/bin/python -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "--- the same suite on PostgreSQL ($$TEST_DATABASE_URL), browser tests ran above ---"; \
		$(VENV)/bin/python -m pytest -m "not browser"; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true needs TEST_DATABASE_URL: the suite must also run on PostgreSQL" >&2; exit 1; \
	else \
		echo "(PostgreSQL pass skipped: set TEST_DATABASE_URL=postgresql://... to run it)"; \
	fi

bench: install-dev
	$(VENV)/bin/python bench/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache
