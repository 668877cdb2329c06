# schedcore build / test entry points.
#
# A fresh clone needs exactly two commands:
#     make demo    # builds .venv (Python 3.11) and runs the CLI demo
#     make test    # builds .venv and .venv-oneflow (Python 3.10), then ruff, the docs build and both pytest runs
#
# Virtual environments are (re)built only when requirements/*.txt or pyproject.toml change
# (stamp files inside each venv). Overridable variables:
#     PYTHON=python3.11      interpreter for the main venv
#     PY310=/path/python3.10 interpreter for the OneFlow venv (oneflow 0.9.0 needs Python <= 3.10)
#     PYTEST_ARGS=...        extra arguments for both pytest runs

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# ---------------------------------------------------------------------------- interpreters
PYTHON ?= python3
ifndef PY310
  PY310 := $(or $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.10.13/bin/python),$(shell command -v python3.10 2>/dev/null),python3.10)
endif

PYTEST_ARGS ?=
# Non-interactive, quiet-progress pip (CI runs without a TTY or stdin).
PIP_FLAGS ?= --no-input --progress-bar off
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# ---------------------------------------------------------------------------- venvs
VENV    := .venv
VENV_OF := .venv-oneflow

# Note: the editable install maps the package directories that exist at install time
# (schedcore/, adapters/schedcore_*/). A new adapter must be added to pyproject.toml's
# packages.find include list anyway, which re-triggers the install through the stamp.

VENV_STAMP    := $(VENV)/.schedcore-stamp
VENV_OF_STAMP := $(VENV_OF)/.schedcore-stamp

# `import oneflow` loads libcudnn / libcublas from the nvidia-*-cu11 wheels (even on CPU). The
# oneflow wheel's RPATH ($ORIGIN/../nvidia/...) finds them when all share one site-packages;
# LD_LIBRARY_PATH makes it independent of that layout (shared/anchors/platform.md saw it fail).
OF_SITE := $(CURDIR)/$(VENV_OF)/lib/python3.10/site-packages
OF_ENV  := LD_LIBRARY_PATH="$(OF_SITE)/nvidia/cudnn/lib:$(OF_SITE)/nvidia/cublas/lib$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH}"

.PHONY: help venv venv-oneflow demo test lint docs test-main test-oneflow clean clean-venvs distclean

help:
	@echo "make demo          build .venv, run 'schedcore show' and 'schedcore plot -o lr.png'"
	@echo "make test          build both venvs, run ruff, the docs build, pytest (main venv), pytest (OneFlow venv)"
	@echo "make venv          build/refresh .venv (Python 3.11, requirements/main.txt)"
	@echo "make venv-oneflow  build/refresh .venv-oneflow (Python 3.10, requirements/oneflow.txt)"
	@echo "make lint | docs | test-main | test-oneflow   run one stage of 'make test'"
	@echo "make clean         remove generated files and caches (keeps venvs)"
	@echo "make distclean     clean + remove both venvs"

venv: $(VENV_STAMP)
venv-oneflow: $(VENV_OF_STAMP)

# $(call require_python,INTERPRETER,X.Y,HINT): fail unless INTERPRETER runs Python X.Y.
require_python = v=$$($(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true); \
  [[ "$$v" == "$(2)" ]] || { echo "error: '$(1)' is Python $${v:-(not found)}, need $(2). $(3)" >&2; exit 1; }

# The main venv must be Python 3.11: requirements/main.txt's torch==2.13.0 comes from the local
# cp311 CPU wheel in /opt/wheels; under another Python, pip would fetch a multi-GB CUDA build.
$(VENV_STAMP): requirements/main.txt requirements/main-nodeps.txt pyproject.toml
	@if [[ ! -x $(VENV)/bin/python ]]; then \
	  $(call require_python,$(PYTHON),3.11,Run: make PYTHON=/path/to/python3.11 ...); \
	  echo "$(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV); fi
	@$(call require_python,$(VENV)/bin/python,3.11,Remove it with 'make clean-venvs'.)
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements/main.txt -e .
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) --no-deps -r requirements/main-nodeps.txt
	touch $@

# oneflow 0.9.0 has wheels for Python <= 3.10 only.
$(VENV_OF_STAMP): requirements/oneflow.txt pyproject.toml
	@if [[ ! -x $(VENV_OF)/bin/python ]]; then \
	  $(call require_python,$(PY310),3.10,Run: make PY310=/path/to/python3.10 ...); \
	  echo "$(PY310) -m venv $(VENV_OF)"; $(PY310) -m venv $(VENV_OF); fi
	@$(call require_python,$(VENV_OF)/bin/python,3.10,Remove it with 'make clean-venvs'.)
	$(VENV_OF)/bin/python -m pip install $(PIP_FLAGS) -r requirements/oneflow.txt -e .
	touch $@

# ---------------------------------------------------------------------------- demo
demo: $(VENV_STAMP)
	$(VENV)/bin/schedcore show
	$(VENV)/bin/schedcore plot -o lr.png

# ---------------------------------------------------------------------------- tests
# Both venvs are built first; then every stage runs even if an earlier one failed (so one CI log
# shows all failures), and `make test` exits non-zero if any stage failed. pytest's exit code 5
# (no tests collected) counts as a failure like any other non-zero code.
TEST_STAGES := lint docs test-main test-oneflow

test: $(VENV_STAMP) $(VENV_OF_STAMP)
	@failed=(); \
	for stage in $(TEST_STAGES); do \
	  echo "=== make $$stage"; \
	  $(MAKE) --no-print-directory $$stage || failed+=("$$stage"); \
	done; \
	if (( $${#failed[@]} )); then echo "=== make test: FAILED: $${failed[*]}" >&2; exit 1; fi; \
	echo "=== make test: all stages passed ($(TEST_STAGES))"

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .

# The user documentation (mkdocs.yml, docs/), built strict: a warning (a broken link, a page
# missing from the nav, a reference that no longer generates) fails the build.
docs: $(VENV_STAMP)
	$(VENV)/bin/mkdocs build --strict --quiet

test-main: $(VENV_STAMP)
	$(VENV)/bin/python -m pytest tests --ignore=tests/oneflow $(PYTEST_ARGS)

test-oneflow: $(VENV_OF_STAMP)
	$(OF_ENV) $(VENV_OF)/bin/python -m pytest tests/oneflow $(PYTEST_ARGS)

# ---------------------------------------------------------------------------- cleanup
clean:
	rm -rf lr.png build dist *.egg-info adapters/*.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path ./$(VENV_OF) -prune -o -path ./.git -prune -o \
	  -type d -name __pycache__ -exec rm -rf {} +

clean-venvs:
	rm -rf $(VENV) $(VENV_OF)

distclean: clean clean-venvs

# ---------------------------------------------------------------------------- benchmarks
.PHONY: bench
bench: $(VENV_STAMP) $(VENV_OF_STAMP)
	cd benchmarks && ../$(VENV)/bin/python bench_curve.py
	cd benchmarks && ../$(VENV)/bin/python bench_groups.py
	cd benchmarks && ../$(VENV)/bin/python bench_startup.py
	cd benchmarks && ../$(VENV)/bin/python bench_torch_scheduler.py
	cd benchmarks && ../$(VENV)/bin/python bench_keras.py
	cd benchmarks && ../$(VENV)/bin/python bench_jax.py
	cd benchmarks && $(OF_ENV) ../$(VENV_OF)/bin/python bench_oneflow_graph.py
