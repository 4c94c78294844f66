# AWS SAM targets: validate, build (no Docker) and invoke-local (the built function under the Lambda
# Runtime Interface Emulator, no Docker). Included by the Makefile; also works as
# `make -f mk/sam.mk <target>` from the repository root, which is how the tests call it.
#
# Tools live in their own virtualenvs, created from pinned versions:
#   .venv-sam  aws-sam-cli (about 340 MB; never mixed with the project's .venv)
#   .venv-emu  python3.13 with awslambdaric (the runtime interface client) and boto3 (which the
#              Lambda runtime provides and the layer therefore leaves out)

VENV ?= .venv
PY ?= $(VENV)/bin/python
STAMP ?= $(VENV)/.installed
PYTHON ?= python3

SAM_VERSION ?= 1.170.0
AWSLAMBDARIC_VERSION ?= 4.2.2
# What the python3.13 Lambda runtime provides; the same pin as the dev environment.
RUNTIME_BOTO3_VERSION ?= $(shell sed -n 's/^boto3==//p' requirements-dev.txt)
SAM_VENV ?= .venv-sam
EMU_VENV ?= .venv-emu
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_VERSION)
EMU_STAMP := $(EMU_VENV)/.installed-$(AWSLAMBDARIC_VERSION)-$(RUNTIME_BOTO3_VERSION)

# ARCH of `make build` (deployable, .aws-sam/build); the emulator build is always x86_64 because the
# emulator runs the function natively on this x86_64 host.
ARCH ?= arm64
SAM_BUILD_DIR ?= .aws-sam/build
EMULATOR_BUILD_DIR ?= .aws-sam/emulator
EVENT ?= events/token.json
# Scopes of the token invoke-local mints (comma-separated).
SCOPES ?= beds:read
# validate and build need a region but never credentials or the network.
SAM_REGION ?= us-east-1

# python3.13 (the runtime's version) from pyenv when pyenv is there; a system python3.13 otherwise.
WITH_PY313 = if command -v pyenv >/dev/null 2>&1; then \
	  PYENV_VERSION="$$(pyenv version-name):$$(pyenv latest 3.13)"; export PYENV_VERSION; fi; \
	command -v python3.13 >/dev/null || { echo "python3.13 is required (pyenv install 3.13)" >&2; exit 1; };
# SAM CLI without telemetry or its weekly version check (a config dir whose last check lies in the
# future), and without any AWS credentials or profile, so nothing leaves this machine.
SAM_APP_DIR := $(SAM_VENV)/app-dir
SAM_ENV = SAM_CLI_TELEMETRY=0 __SAM_CLI_APP_DIR=$(abspath $(SAM_APP_DIR)) \
	AWS_DEFAULT_REGION=$(SAM_REGION) AWS_REGION=$(SAM_REGION) \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN

BUILD_INPUTS := mk/sam.mk template.yaml src/Makefile scripts/pin_build_architecture.py layers/deps/Makefile layers/deps/requirements.txt \
	$(shell find src/okta_authorizer -name '*.py' -not -path '*/localdev/*' 2>/dev/null)

.PHONY: sam-setup emulator-setup validate build build-emulator invoke-local deploy

# make deploy: the samconfig.toml profile (dev = [default], prod) and optional "Name=value ..."
# parameter overrides, merged into the profile's list (a bare --parameter-overrides replaces it).
ENV ?= dev
OVERRIDES ?=
SAMCONFIG = $(SAM_VENV)/bin/python scripts/samconfig_params.py

$(SAM_STAMP):
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_VERSION)
	mkdir -p $(SAM_APP_DIR)
	echo '{"telemetryEnabled": false, "lastVersionCheck": 4102444800.0}' > $(SAM_APP_DIR)/metadata.json
	touch $@

$(EMU_STAMP):
	rm -rf $(EMU_VENV)
	$(WITH_PY313) python3.13 -m venv $(EMU_VENV)
	$(EMU_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
		awslambdaric==$(AWSLAMBDARIC_VERSION) boto3==$(RUNTIME_BOTO3_VERSION)
	touch $@

sam-setup: $(SAM_STAMP) ## create .venv-sam with the pinned aws-sam-cli

emulator-setup: $(EMU_STAMP) ## create .venv-emu (python3.13, awslambdaric) for invoke-local

validate: $(SAM_STAMP) ## sam validate and sam validate --lint (offline, no credentials)
	$(SAM_ENV) $(SAM) validate --template template.yaml
	$(SAM_ENV) $(SAM) validate --lint --template template.yaml

# $(1): build dir, $(2): architecture. The layer's makefile reads DEPS_ARCH: SAM tells a makefile
# build nothing about the architecture. The built template's Architecture parameter is then pinned to
# the layer's CPU (a mismatched deploy fails early); the stamp records which one the dir holds.
define sam_build
	rm -rf $(1)
	$(WITH_PY313) $(SAM_ENV) DEPS_ARCH=$(2) PIP="$(abspath $(SAM_VENV))/bin/python -m pip" $(SAM) build --template template.yaml \
		--build-dir $(1) --parameter-overrides Architecture=$(2)
	$(SAM_VENV)/bin/python scripts/pin_build_architecture.py $(1)/template.yaml $(2)
	touch $(1)/.built-$(2)
endef

build: $(SAM_BUILD_DIR)/.built-$(ARCH) ## sam build without Docker (ARCH=arm64|x86_64, default arm64)

$(SAM_BUILD_DIR)/.built-$(ARCH): $(BUILD_INPUTS) | $(SAM_STAMP)
	$(call sam_build,$(SAM_BUILD_DIR),$(ARCH))

build-emulator: $(EMULATOR_BUILD_DIR)/.built-x86_64 ## the x86_64 build that invoke-local and the tests run

$(EMULATOR_BUILD_DIR)/.built-x86_64: $(BUILD_INPUTS) | $(SAM_STAMP)
	$(call sam_build,$(EMULATOR_BUILD_DIR),x86_64)

# Checks the profile's parameters against the template before any AWS call, builds for the
# profile's Architecture, then runs sam deploy with the caller's own AWS credentials and region.
deploy: $(SAM_STAMP) ## build for the profile's CPU and sam deploy it (ENV=dev|prod, OVERRIDES="Name=value ...")
	@arch=$$(SAM_CLI_TELEMETRY=0 __SAM_CLI_APP_DIR=$(abspath $(SAM_APP_DIR)) $(SAMCONFIG) architecture $(ENV) $(OVERRIDES)) && \
	SAM_CLI_TELEMETRY=0 __SAM_CLI_APP_DIR=$(abspath $(SAM_APP_DIR)) $(SAMCONFIG) deploy $(ENV) $(OVERRIDES) --dry-run >/dev/null && \
	$(MAKE) --no-print-directory -f mk/sam.mk build ARCH=$$arch && \
	SAM_CLI_TELEMETRY=0 __SAM_CLI_APP_DIR=$(abspath $(SAM_APP_DIR)) $(SAMCONFIG) deploy $(ENV) $(OVERRIDES)

# TOKEN=... sends your own token (then ISSUER= and AUDIENCE= name its authorization server);
# ROUTES=file replaces the sample route map. The first output line is the verdict.
TOKEN ?=
ROUTES ?=
ISSUER ?=
AUDIENCE ?=
invoke-local: build-emulator $(EMU_STAMP) $(STAMP) ## run EVENT=events/token.json under the Lambda RIE (SCOPES=, TOKEN=, ROUTES=)
	@$(PY) scripts/invoke_local.py --event "$(EVENT)" --scopes "$(SCOPES)" \
		$(if $(ROUTES),--routes "$(ROUTES)") $(if $(TOKEN),--token "$(TOKEN)") \
		$(if $(ISSUER),--issuer "$(ISSUER)") $(if $(AUDIENCE),--audience "$(AUDIENCE)") \
		--build-dir $(EMULATOR_BUILD_DIR) --python $(EMU_VENV)/bin/python
