# Build and test harness for the certops.digicert collection.
#
#   make venv        .venv with the pinned tools of requirements-dev.txt (redone when that file changes)
#   make test        every check below, in order, stopping at the first failure
#   make format-check | lint | sanity | units | integration | molecule | changelog-lint
#        | docs-lint | galaxy | ee
#   make matrix      unit and integration tests on ansible-core 2.16, 2.17, 2.18 and 2.19 (tox)
#   make demo        run docs/examples/demo.yml against the local DigiCert simulator
#   make bench       benchmarks/run.py, once it exists
#   make clean       remove .venv, build/, reports/ and test output
#
# Each check lives in scripts/check.sh; extra arguments go through PYTEST_ARGS, INTEGRATION_ARGS
# (default: -n 2) and SANITY_ARGS (e.g. `make sanity SANITY_ARGS='--test pep8'`).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Checks share .venv, the simulator's ports and the build/ tree: one at a time.
.NOTPARALLEL:

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PYTHON ?= python3
VENV := $(ROOT)/.venv
STAMP := $(VENV)/.requirements-installed

# Recipes use the venv's tools first; the system Python is only used to create the venv.
export VIRTUAL_ENV := $(VENV)
export PATH := $(VENV)/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

CHECKS := format-check lint sanity units integration molecule changelog-lint docs-lint galaxy ee

.PHONY: help venv test $(CHECKS) demo bench matrix clean

help:
	@sed -n '3,13s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

venv: $(STAMP)

# Rebuilt when either requirements file is newer than the stamp, or the venv is gone or broken.
$(STAMP): $(ROOT)/requirements-dev.txt $(ROOT)/requirements.txt
	@echo "==> $(VENV)"
	@if ! "$(VENV)/bin/python" -c 'import sys' >/dev/null 2>&1; then \
		rm -rf "$(VENV)"; \
		$(PYTHON) -m venv "$(VENV)"; \
	fi
	"$(VENV)/bin/python" -m pip install --quiet --requirement "$(ROOT)/requirements-dev.txt"
	@touch "$@"

test: venv
	@times=$$(mktemp); trap 'rm -f "$$times"' EXIT; \
	start=$$(date +%s); rc=0; \
	STEP_TIMES="$$times" "$(ROOT)/scripts/check.sh" $(CHECKS) || rc=$$?; \
	printf '\n========== summary ==========\n'; cat "$$times"; \
	printf '%-16s %-7s %5ss\n' total "$$( [ $$rc -eq 0 ] && echo ok || echo FAILED)" "$$(( $$(date +%s) - start ))"; \
	exit $$rc

$(CHECKS) bench: venv
	@"$(ROOT)/scripts/check.sh" $@

matrix: venv
	@"$(ROOT)/scripts/matrix.sh"

demo: venv
	@"$(ROOT)/scripts/demo.sh"

clean:
	rm -rf "$(VENV)" "$(ROOT)/build" "$(ROOT)/reports" "$(ROOT)/tests/output" "$(ROOT)/htmlcov" \
		"$(ROOT)/.pytest_cache" "$(ROOT)/.ruff_cache" "$(ROOT)/.hypothesis" "$(ROOT)/.coverage" "$(ROOT)"/.coverage.* \
		"$(ROOT)"/certops-digicert-*.tar.gz
	find "$(ROOT)" -path "$(ROOT)/.git" -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
