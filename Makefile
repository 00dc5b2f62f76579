# TARS deploy tasks. `make demo` and `make test` are the README's two commands.
# CI aliases: `make deploy-lambda` == `inv deploy-lambda --yes` (likewise for the others).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
INV := $(VENV)/bin/inv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup demo test test-fast lint lint-infra deploy deploy-lambda deploy-ui deploy-mcp deploy-infrastructure \
        verify status preflight build clean

setup: $(STAMP) $(CHECKOV_STAMP)

$(STAMP): requirements.txt requirements-dev.txt lambda_src/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# checkov (inv lint-infra) in its own venv: its pinned dependency tree must not touch .venv.
# About 25 s to install (measured on the 2-core CI machine).
.venv-checkov: $(CHECKOV_STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

lint-infra: setup
	$(INV) lint-infra $(ARGS)

# First command of the README: set up, then deploy everything to the embedded local target.
demo: setup
	$(INV) build
	$(INV) local.up

# Second command of the README (and of CI): every test.
test: setup
	$(PY) -m pytest $(ARGS)

# CI aliases
deploy:
	$(INV) deploy --all --yes $(ARGS)
deploy-lambda:
	$(INV) deploy-lambda --yes $(ARGS)
deploy-ui:
	$(INV) deploy-ui --yes $(ARGS)
deploy-mcp:
	$(INV) deploy-mcp --yes $(ARGS)
deploy-infrastructure:
	$(INV) deploy-infrastructure --yes $(ARGS)
verify:
	$(INV) verify $(ARGS)
status:
	$(INV) status $(ARGS)
preflight:
	$(INV) preflight $(ARGS)
build:
	$(INV) build $(ARGS)

clean:
	-$(INV) local.down
	rm -rf dist .tars
