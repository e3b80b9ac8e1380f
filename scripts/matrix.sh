#!/usr/bin/env bash
# Run the ansible-core support matrix of tox.ini and print one line per ansible-core release.
#
# Usage: scripts/matrix.sh [TOX_ENV...] [-- PYTEST_ARGS...]
#   scripts/matrix.sh                          every environment of tox.ini's env_list
#   scripts/matrix.sh py311-ansible216         only that one
#   scripts/matrix.sh -- -x -k lookup          every environment, pytest stops at the first failure
#   MATRIX_SANITY=all scripts/matrix.sh        validate-modules in every environment, not only the newest
#
# tox comes from PATH when it is there, otherwise from a private venv in .tox/.runner. Each
# environment's output goes to tests/output/matrix/ENV.log as well as to the terminal. The exit
# status is 0 only when every environment passed.
#
# Internal: tox.ini calls `scripts/matrix.sh --validate-modules` inside each environment; it runs
# `ansible-test sanity --test validate-modules` there when that environment is the newest one
# (MATRIX_NEWEST=1, set by tox.ini) or MATRIX_SANITY=all, and says why when it skips.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

if [ "${1:-}" = "--validate-modules" ]; then
    case "${MATRIX_SANITY:-newest}" in
        all) ;;
        none)
            echo "validate-modules: skipped (MATRIX_SANITY=none)"
            exit 0
            ;;
        *)
            if [ "${MATRIX_NEWEST:-0}" != 1 ]; then
                echo "validate-modules: skipped here, it runs with the newest ansible-core (MATRIX_SANITY=all runs it everywhere)"
                exit 0
            fi
            ;;
    esac
    py=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    exec "$root/scripts/ansible-test-tree.sh" ansible-test sanity --test validate-modules \
        --python "$py" --venv --color no
fi

envs=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --)
            shift
            break
            ;;
        -h | --help)
            sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *)
            envs+=("$1")
            shift
            ;;
    esac
done

if command -v tox >/dev/null 2>&1; then
    tox=(tox)
else
    runner="$root/.tox/.runner"
    if ! "$runner/bin/python" -c 'import tox' >/dev/null 2>&1; then
        echo "==> installing tox into $runner"
        rm -rf "$runner"
        python3 -m venv "$runner"
        "$runner/bin/python" -m pip install --quiet --disable-pip-version-check 'tox>=4.11,<5'
    fi
    tox=("$runner/bin/tox")
fi

if [ "${#envs[@]}" -eq 0 ]; then
    mapfile -t envs < <("${tox[@]}" list --no-desc -q | sed -n 's/^\(py[0-9]*-ansible[0-9]*\)$/\1/p')
fi
if [ "${#envs[@]}" -eq 0 ]; then
    echo "$0: tox lists no py*-ansible* environment" >&2
    exit 2
fi

# ansible-test bootstraps pip in each sanity venv from a script it downloads once; where only the
# package index is reachable, the workplace's helper caches an equivalent (as .ci/run does).
offline_helper="$root/../shared/tools/offline-ansible-test"
if [ "${MATRIX_SANITY:-newest}" != none ] && [ -f "$offline_helper" ]; then
    sh "$offline_helper" python3 </dev/null
fi

logs="$root/tests/output/matrix"
mkdir -p "$logs"
summary=()
failed=0
for env in "${envs[@]}"; do
    printf '\n========== %s ==========\n' "$env"
    start=$(date +%s)
    rc=0
    "${tox[@]}" run -e "$env" -- "$@" 2>&1 | tee "$logs/$env.log" || rc=$?
    elapsed=$(($(date +%s) - start))
    core=$(sed -n 's/^.*ansible-core \([0-9][0-9.a-z]*\) - Python \([0-9.]*\).*$/ansible-core \1, Python \2/p' \
        "$logs/$env.log" | head -n 1 || true)
    # One pytest summary line per session: unit, then integration.
    tests=$(grep -E '^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s' "$logs/$env.log" |
        sed -E 's/^=+ (.*) in [0-9.]+s.*$/\1/' | paste -sd '|' - | sed 's/|/ | /g' || true)
    sanity=$(grep -E '^validate-modules: skipped|^Running sanity test .validate-modules|^ERROR: Found [0-9]+ validate-modules issue' \
        "$logs/$env.log" | tail -n 1 || true)
    case "$sanity" in
        "validate-modules: skipped"*) sanity="validate-modules skipped" ;;
        "ERROR:"*) sanity="validate-modules FAILED" ;;
        "Running"*) sanity="validate-modules ran" ;;
        *) sanity="validate-modules not reached" ;;
    esac
    if [ "$rc" -eq 0 ]; then status=ok; else status=FAILED; failed=1; fi
    summary+=("$(printf '%-18s %-6s %5ss  %-32s %-28s unit | integration: %s' "$env" "$status" "$elapsed" \
        "${core:-?}" "$sanity" "${tests:-no pytest summary}")")
done

printf '\n========== matrix summary ==========\n'
printf '%s\n' "${summary[@]}"
printf 'logs: %s\n' "$logs"
exit "$failed"
