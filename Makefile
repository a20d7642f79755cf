# Everything a fresh machine needs (Python 3.11 and Node 20 present) is installed by these targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
STACK ?= dev
PYTEST_ARGS ?=
# make test runs the suite on this many pytest-xdist workers; a file, and the files sharing one
# expensive session fixture, stay on one worker (tests/support/grouping.py)
PYTEST_WORKERS ?= 3
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder
# Older openai majors the SDK supports (3.x is in the lock); 1.x/2.x need `distro`, which 3.x dropped.
OPENAI_COMPAT ?= 1.109.1 2.8.0
# Peer GenAI instrumentations (tests/genai_peer/requirements.txt): their pins conflict with the
# bench's openai-v2, so they live in their own directory, first on PYTHONPATH for their tests.
GENAI_PEER := .genai-peer
GENAI_PEER_STAMP := $(GENAI_PEER)/.installed
# The framework matrix (tests/frameworks): each framework whose pins the main venv or the peer
# environment cannot hold gets its own directory from tests/frameworks/requirements/<name>.txt;
# OpenAI Agents and genai-openai run in the peer environment. A framework's environment goes
# first on PYTHONPATH for its run.
FRAMEWORKS_DIR := .frameworks
FRAMEWORK_ENVS := agent-framework semantic-kernel langchain
FRAMEWORK_STAMPS := $(FRAMEWORK_ENVS:%=$(FRAMEWORKS_DIR)/%/.installed)
FRAMEWORKS := $(FRAMEWORK_ENVS) openai-agents genai-openai
framework_env = $(if $(filter $(1),$(FRAMEWORK_ENVS)),$(FRAMEWORKS_DIR)/$(1),$(GENAI_PEER))

.PHONY: setup demo test test-suite test-fast test-compat test-genai-peer test-frameworks lint fmt render bench lock browser clean

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): requirements.lock pyproject.toml sdk/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e ./sdk -e .
	$(BIN)/pip check
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Headless Chromium for the workbook-preview browser test (Debian package; needs root + apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "warning: chromium missing and not root; browser tests will be skipped"; fi; }

demo: setup
	$(BIN)/llm-insights demo --stack $(STACK)

# ruff, then every installed-once environment (the only step that may need the network), then
# the suite, the openai-compat runs, the peer run and the framework matrix side by side: the
# suite is the longest, the others fit beside it. Each run's output is printed whole when it ends.
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(MAKE) --no-print-directory -j3 $(COMPAT_STAMPS) $(GENAI_PEER_STAMP) $(FRAMEWORK_STAMPS)
	@$(MAKE) --no-print-directory -j3 --output-sync=target \
	  test-suite test-compat test-genai-peer $(FRAMEWORKS:%=framework-%)

# The suite alone (what make test runs first, beside the other runs).
test-suite: setup
	$(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# The quick loop while working: ruff and every test not marked slow (no compat or peer runs).
test-fast: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

# The SDK's real-client tests again under each older openai major, each installed once beside
# the venv (stamped, like the peers: later runs need no network).
COMPAT_STAMPS := $(foreach v,$(OPENAI_COMPAT),.compat/openai-$(v)/.installed)

.compat/openai-%/.installed: $(STAMP)
	rm -rf .compat/openai-$*
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps \
	  --target .compat/openai-$* openai==$* distro==1.9.0
	touch $@

test-compat: setup $(COMPAT_STAMPS)
	@for v in $(OPENAI_COMPAT); do \
	  echo "== SDK against openai $$v"; \
	  LLM_INSIGHTS_EXPECT_OPENAI=$$v PYTHONPATH=.compat/openai-$$v \
	    $(BIN)/pytest -q -p no:cacheprovider -m openai_compat tests/sdk || exit 1; \
	done

# The kit beside the real peer instrumentations (opentelemetry-instrumentation-genai-openai, ...).
$(GENAI_PEER_STAMP): tests/genai_peer/requirements.txt $(STAMP)
	rm -rf $(GENAI_PEER)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --target $(GENAI_PEER) \
	  -r tests/genai_peer/requirements.txt
	touch $@

test-genai-peer: setup $(GENAI_PEER_STAMP)
	@echo "== SDK beside the peer GenAI instrumentations"
	LLM_INSIGHTS_EXPECT_GENAI_PEER=1 PYTHONPATH=$(GENAI_PEER) \
	  $(BIN)/pytest -q -p no:cacheprovider -m genai_peer tests/genai_peer

# Installed once (with --no-deps: the lock's own pins stay in force); a re-run with every stamp
# newer than its requirements file downloads nothing.
$(FRAMEWORKS_DIR)/%/.installed: tests/frameworks/requirements/%.txt $(STAMP)
	rm -rf $(FRAMEWORKS_DIR)/$*
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --target $(FRAMEWORKS_DIR)/$* -r $<
	touch $@

# The real frameworks from PyPI, the kit only configured, under every sampler the stacks ship.
test-frameworks: setup
	@$(MAKE) --no-print-directory -j3 $(GENAI_PEER_STAMP) $(FRAMEWORK_STAMPS)
	@$(MAKE) --no-print-directory -j2 --output-sync=target $(FRAMEWORKS:%=framework-%)

framework-%:
	@echo "== $*"
	LLM_INSIGHTS_FRAMEWORK=$* PYTHONPATH=$(call framework_env,$*) \
	  $(BIN)/pytest -q -p no:cacheprovider -m frameworks tests/frameworks

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/llm-insights lint --stack $(STACK)

fmt: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

render: setup
	$(BIN)/llm-insights render --stack $(STACK) --out build/$(STACK)

bench: setup
	$(BIN)/python -m bench

# Re-resolve the pinned set (needs the registries); review the diff before committing.
lock:
	rm -rf /tmp/llm-insights-lock && $(PYTHON) -m venv /tmp/llm-insights-lock
	/tmp/llm-insights-lock/bin/pip install --quiet -e ./sdk[openai] -e . \
	  -r requirements-dev.txt
	/tmp/llm-insights-lock/bin/pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) node_modules build .pytest_cache .compat $(GENAI_PEER) $(FRAMEWORKS_DIR)
