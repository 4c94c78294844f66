# Okta JWT authorizer for API Gateway. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help setup demo test unit integration lint bench clean sample-routes

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt layers/deps/requirements.txt benchmarks/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -r benchmarks/requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

include mk/sam.mk
include mk/bench.mk

setup: $(STAMP) ## create .venv with the pinned runtime and dev dependencies

demo: $(STAMP) ## run the authorizer end to end on loopback Okta + moto SSM (no AWS, no Docker)
	$(PY) -m okta_authorizer demo

sample-routes: $(STAMP) ## write routes/sample-api.json from template.yaml's sample route map (its one source)
	$(PY) -c 'import sys; from okta_authorizer.localdev.sample import load_sample_route_map as m; sys.stdout.write(m()[1])' > routes/sample-api.json

unit: $(STAMP) ## unit tests only (no network)
	$(PY) -m pytest tests/unit -q

integration: $(STAMP) ## integration tests (loopback servers, moto)
	$(PY) -m pytest tests/integration -q

test: lint validate build $(STAMP) ## lint, sam validate + build, the whole test suite, the demo
	$(PY) -m pytest -q --cov --cov-report=term
	$(PY) -m okta_authorizer demo

lint: $(STAMP) ## ruff (incl. bandit S rules) and mypy --strict
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy scripts/invoke_local.py
	$(VENV)/bin/mypy benchmarks scripts/pin_build_architecture.py scripts/samconfig_params.py

clean: ## remove build output and caches
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage build
