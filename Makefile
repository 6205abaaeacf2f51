# `make demo` and `make test` each set themselves up on a fresh clone:
# a .venv is created when missing and the project installed into it; the
# install is redone only when pyproject.toml changes, so second runs are quick.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: demo stack test bench docs clean build-ProcessorFunction

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo serves the OpenAPI document and Swagger UI: the schema extra.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[schema]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $@ $(VENV)/.installed-demo $(VENV)/.installed-stack

$(VENV)/.installed-stack: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[stack]'
	touch $@ $(VENV)/.installed-demo

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[test,postgres,bench]'
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "realtime-uploads demo on http://127.0.0.1:$(PORT)/ (DEBUG off: DJANGO_DEBUG=1 for tracebacks;"
	@echo "  secrets not in the environment are this checkout's, in $${REALTIME_UPLOADS_STATE_DIR:-.state}/)"
	PORT=$(PORT) $(BIN)/realtime-uploads-daphne -e tcp:port=$(PORT):interface=127.0.0.1:backlog=2048 --ping-interval 20 --ping-timeout 30 asgi:application

# The cloud path without Docker: moto's S3 + SQS on MOTO_PORT, provisioning, the SQS worker and
# daphne on the s3 backend (Redis when one answers on 127.0.0.1:6379). Ctrl-C stops all of it.
MOTO_PORT ?= 5000
stack: $(VENV)/.installed-stack
	PORT=$(PORT) MOTO_PORT=$(MOTO_PORT) $(BIN)/python -m config.devstack


# axe-core (npm registry) for the browser tests' accessibility scan.
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js
$(AXE): | $(BIN)/python
	npm install --silent --no-audit --no-fund --prefix $(VENV)/npm axe-core@4

# thumbhash (npm registry): Evan Wallace's reference ThumbHash, that tests/unit/processing/image/test_placeholder.py checks ours against.
THUMBHASH := $(VENV)/npm/node_modules/thumbhash/thumbhash.js
$(THUMBHASH): | $(BIN)/python
	npm install --silent --no-audit --no-fund --prefix $(VENV)/npm thumbhash@0.1.1

test: $(VENV)/.installed-test $(AXE) $(THUMBHASH)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Every benchmark runs its baseline in the same invocation and ends with one JSON line. They need
# PostgreSQL and Redis on loopback (as make test's real-service tests do); see docs/performance.md.
BENCHES := callbacks push_latency burst connections presign end_to_end processing
bench: $(VENV)/.installed-bench
	@set -e; for b in $(BENCHES); do $(BIN)/python -m bench.$$b $(BENCH_ARGS); done

# docs/settings.md is written from the settings table (realtime_uploads/core/settings_schema.py); a test fails when it is stale.
docs: $(VENV)/.installed-demo
	$(BIN)/python -m realtime_uploads.core.settings_reference > docs/settings.md

clean:
	rm -rf $(VENV) .state staticfiles

# `sam build` (template.yaml, BuildMethod: makefile) calls this with ARTIFACTS_DIR:
# the Lambda package holds only the Django-free core and processor, Pillow and pi-heif (boto3 is
# in the Lambda runtime). LAMBDA_PIP_PLATFORM picks wheels for the runtime: python3.12 runs on Amazon Linux 2023
# (glibc 2.34), which takes manylinux_2_28 wheels; pi-heif >= 1.1 and Pillow 13 publish no manylinux2014 ones.
LAMBDA_PIP_PLATFORM ?= --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --implementation cp --python-version 3.12 --only-binary=:all:
build-ProcessorFunction:
	mkdir -p $(ARTIFACTS_DIR)/realtime_uploads
	cp realtime_uploads/__init__.py $(ARTIFACTS_DIR)/realtime_uploads/
	cp -r realtime_uploads/core realtime_uploads/processing $(ARTIFACTS_DIR)/realtime_uploads/
	find $(ARTIFACTS_DIR)/realtime_uploads -name __pycache__ -prune -exec rm -rf {} +
	$(PYTHON) -m pip install --quiet --target $(ARTIFACTS_DIR) $(LAMBDA_PIP_PLATFORM) 'Pillow>=11.3' 'pi-heif>=1.1'
