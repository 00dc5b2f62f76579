# TARS deploy tasks. `make demo` and `make test` are the README's two commands.
# CI aliases: `make deploy-lambda` == `inv deploy-lambda --yes` (likewise for the others).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
INV := $(VENV)/bin/inv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The install marker the deploy tasks read too (tars_tasks/artifacts/ui_bundle.py): npm ci runs once.
UI_STAMP := ui/node_modules/.package-lock.sha256
ARGS ?=
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup terraform-check demo test test-deps test-faults test-ui test-fast lint lint-infra deploy deploy-lambda deploy-ui \
        deploy-mcp deploy-infrastructure verify status preflight build clean

setup: $(STAMP) $(UI_STAMP) $(CHECKOV_STAMP) terraform-check

# Terraform (every infrastructure task, --local too: make demo applies infrastructure/ to the emulator):
# one line saying which terraform and where its provider comes from, or an error and how to install it.
terraform-check: $(STAMP)
	@$(PY) -m tars_tasks.local.tf_target --check

$(STAMP): requirements.txt requirements-dev.txt lambda_src/requirements.txt mcp_server/requirements.txt
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

# The UI's Node packages, exactly as locked (re-installed when the lock file changes). The marker
# holds the lock's digest, so `inv deploy-ui` knows this install is current and does not repeat it.
$(UI_STAMP): ui/package-lock.json ui/package.json | $(STAMP)
	cd ui && npm ci --no-audit --no-fund
	$(PY) -m tars_tasks.artifacts.ui_bundle --mark-installed ui

# First command of the README: set up, then deploy everything to the embedded local target.
demo: setup
	$(INV) deploy --all --local --yes
	$(INV) seed-logs --local
	$(INV) users.add demo@tars.local --role editor --local --exist-ok
	$(INV) local.status
	@echo "inv is in .venv: run 'source .venv/bin/activate' once in your shell, then every inv command of the README works"

# Second command of the README (and of CI): every test, including the full fault-injection and
# kill suites (`-m faults`, 20 seeded runs per scenario; plain `pytest` runs their 3-run versions,
# see pytest.ini). The UI's Vitest suite runs first so pytest's summary is the last line printed.
test: setup test-deps
	cd ui && npm test
	TARS_NO_SKIPS=1 $(PY) -m pytest -m "faults or not faults" $(ARGS)

# What the tests need beyond Python and Node: Debian's Chromium (browser tests) and an OpenSSH
# server (remote-builder tests). Installed with apt-get when missing and running as root;
# otherwise the command to run is printed (exit 2). CHROMIUM, SSHD and APT_GET can be overridden.
CHROMIUM ?= /usr/bin/chromium
SSHD ?= /usr/sbin/sshd
APT_GET ?= apt-get
test-deps:
	@need=""; \
	[ -x "$(CHROMIUM)" ] || need="$$need chromium"; \
	[ -x "$(SSHD)" ] || need="$$need openssh-server"; \
	if [ -z "$$need" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v $(APT_GET) >/dev/null 2>&1; then \
	  echo "error: the tests need$$need" >&2; \
	  echo "hint: sudo apt-get install -y --no-install-recommends$$need, then make test again" >&2; exit 2; \
	fi; \
	echo "installing$$need with $(APT_GET) (the tests need them)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$(APT_GET) update -qq && $(APT_GET) install -y -qq --no-install-recommends $$need >/dev/null

# Only the fault-injection and kill suites (20 seeded runs each).
test-faults: setup
	$(PY) -m pytest -m faults $(ARGS)

test-ui: $(UI_STAMP)
	cd ui && npm test

# CI aliases
deploy:  # --all unless ARGS names components: make deploy ARGS="--lambda --env dev"
	$(INV) deploy --yes $(if $(filter --all --infra --mcp --lambda --ui,$(ARGS)),,--all) $(ARGS)
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

# CI/CD (.github/workflows/deploy-env.yml runs these; README "CI/CD")
.PHONY: rollback report infra-outputs
rollback:
	$(INV) rollback --yes $(ARGS)
report:
	$(INV) report $(ARGS)
infra-outputs:
	$(INV) infra-outputs $(ARGS)

clean:
	-$(INV) local.down
	rm -rf dist .tars ui/dist
