# Common commands. `make dev` and `make test` are the two the README starts with.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: dev test lint typecheck unit integration faults crds manifests bench bench-full binaries clean \
	sdks sdk-typescript sdk-go conformance image lock evaluators vocabulary

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## dev: start the local control plane, the operator and the examples (Ctrl-C stops all);
## GOVERNANCE=1 also installs the PromptPolicy and two-person-rule policies (manifests/governance)
GOVERNANCE ?=
dev: $(STAMP)
	$(BIN)/python -m tests.controlplane dev $(if $(filter 1 true yes,$(GOVERNANCE)),--governance)

## test: everything CI runs: lint, types, the TypeScript and Go SDKs (each runs the conformance
## kit), CRD drift, unit and integration tests (the Python SDK runs the kit there)
test: lint typecheck sdks evaluators
	$(BIN)/python -m pytest

NPM ?= npm
GO  ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)

## sdks: the TypeScript and Go SDKs' suites, dependencies from their registries (pinned:
## sdk/typescript/package-lock.json, sdk/go/go.sum)
sdks: sdk-typescript sdk-go

sdk-typescript:
	cd sdk/typescript && $(NPM) ci --no-audit --no-fund --loglevel=error && $(NPM) test --silent
	cd examples/typescript && $(NPM) ci --no-audit --no-fund --loglevel=error

sdk-go:
	cd sdk/go && GOTOOLCHAIN=local $(GO) test ./...
	cd examples/go && GOTOOLCHAIN=local $(GO) build -o /dev/null .

## evaluators: promptfoo for the tests that import its results as evidence (pinned:
## tests/evaluators/promptfoo/package-lock.json); installed again only when that lockfile changes
PROMPTFOO_DIR := tests/evaluators/promptfoo
evaluators: $(PROMPTFOO_DIR)/node_modules/.package-lock.json

$(PROMPTFOO_DIR)/node_modules/.package-lock.json: $(PROMPTFOO_DIR)/package-lock.json
	cd $(PROMPTFOO_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

## vocabulary: rewrite lint's token vocabulary (operator/prompt_release/core/vocabulary) from
## js-tiktoken's o200k_base ranks (pinned: tools/vocabulary/package-lock.json); refused unless it
## has the SHA-256 tiktoken pins
vocabulary:
	cd tools/vocabulary && $(NPM) ci --no-audit --no-fund --loglevel=error && $(NPM) run --silent vocabulary

## conformance: rewrite conformance/ from what the operator writes on a local control plane
conformance: $(STAMP)
	$(BIN)/python -m tests.conformance.generate

lint: $(STAMP)
	$(BIN)/ruff check operator tests bench examples
	$(BIN)/ruff format --check operator tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

## faults: the fault suite at full size (FAULTS_SIZE=full; `make test` runs it reduced): the
## operator SIGKILLed mid-burst, kube-apiserver and etcd restarted, two operators, other writers;
## prints rounds, objects, time to converge, writes and anything lost per fault
FAULTS_SIZE ?= full
faults: $(STAMP)
	FAULTS_SIZE=$(FAULTS_SIZE) $(BIN)/python -m pytest tests/faults --timeout=3600

## crds: regenerate crds/ from the pydantic models
crds: $(STAMP)
	$(BIN)/python -m prompt_release.core.crdgen crds charts/prompt-release-operator/crds

## binaries: build (or find) the control plane (etcd, kube-apiserver, kube-controller-manager,
## kube-scheduler, kubectl, kwok) and the test tools (helm, kstatus, actionlint)
binaries: $(STAMP)
	$(BIN)/python -m tests.controlplane.binaries etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm kstatus actionlint

## bench: the performance targets at 1,000 prompts, each beside its floor (a printout, never a
## failure; BENCH_ARGS="--profile --ref HEAD" profiles the committed operator; docs/performance.md)
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

## bench-full: the same, then a standing start (the operator started over 10,000 prompts it never
## released) and 10,000 prompts over 10 namespaces with 5,000 unrelated ConfigMaps
bench-full: $(STAMP)
	$(BIN)/python -m bench --full $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

## image: build the operator image from the Dockerfile with podman on a Debian minbase (both
## installed with apt-get when missing; cached, rebuilt only when its inputs change); prints its
## size. `make test` builds and runs it (tests/integration/test_image.py)
image: $(STAMP)
	$(BIN)/python -m tests.image

## lock: regenerate requirements.lock and requirements-build.lock (pinned, with hashes) from
## pyproject.toml, with pip-tools in a tool environment of its own
PIP_TOOLS := pip-tools==7.4.1
LOCK_VENV := $(HOME)/.cache/prompt-release-operator/tools/pip-tools-7.4.1
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || ($(PYTHON) -m venv $(LOCK_VENV) && \
		$(LOCK_VENV)/bin/pip install --quiet '$(PIP_TOOLS)')
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet --upgrade \
		--generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet --upgrade \
		--generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--build-deps-for wheel --only-build-deps --allow-unsafe \
		--output-file requirements-build.lock pyproject.toml

## manifests: regenerate manifests/install from the Helm chart's defaults
manifests: $(STAMP)
	$(BIN)/python -m tests.chart
