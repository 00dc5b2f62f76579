# TARS deploy tasks. `make demo` and `make test` are the README's two commands.
# CI aliases: `make deploy-lambda` == `inv deploy-lambda --yes` (likewise for the others).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
INV := $(VENV)/bin/inv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: setup demo test test-fast lint deploy deploy-lambda deploy-ui deploy-mcp deploy-infrastructure \
        verify status preflight build clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt lambda_src/requirements.txt mcp_server/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

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
