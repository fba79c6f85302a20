# The README's two commands are `make run` and `make test`; each builds .venv when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-stamp

# The infra check's own environment: checkov pins too many packages to share .venv. Built
# once (pip's cache makes a rebuild quick), rebuilt only when its requirements change.
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.deps-stamp

.PHONY: run test lint bench format clean infra-venv infra-check

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(INFRA_STAMP): infra/requirements-check.txt
	test -x $(INFRA_VENV)/bin/python || $(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-check.txt
	touch $(INFRA_STAMP)

infra-venv: $(INFRA_STAMP)

# Parses every .bicep file, checks it against Azure's published types (scripts/bicep_schema.py)
# and runs checkov's Azure policies on both variants (tests/infra runs it too).
infra-check: $(INFRA_STAMP)
	$(INFRA_VENV)/bin/python scripts/infra_check.py

node_modules/.bin/azurite: package.json
	npm install --no-audit --no-fund --silent
	touch $@

# Ports: make run PORT=7072 SALESFORCE_PORT=8444 D2C_PORT=8083 (defaults 7071, 8443, 8082)
run: $(STAMP)
	$(PY) scripts/run_stack.py $(if $(PORT),--port $(PORT)) \
		$(if $(SALESFORCE_PORT),--salesforce-port $(SALESFORCE_PORT)) $(if $(D2C_PORT),--d2c-port $(D2C_PORT))

test: $(STAMP) $(INFRA_STAMP) node_modules/.bin/azurite lint
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) $(INFRA_VENV) .pytest_cache .ruff_cache .devhost
