#!/usr/bin/env bash
# Check execution-environment.yml without a container engine: build the collection tarball, let
# `ansible-builder create` write the build context, and check that the context holds the collection
# and its requirements. Then replay, on this machine, the two build steps that decide what goes
# into the image: the galaxy stage's `ansible-galaxy collection install` from the context, and
# ansible-builder's own introspection of the installed collection.
#
# Usage: scripts/ee-check.sh [--keep]
#   --keep   keep the temporary folder (context, tarball, installed collection) and say where it is
#
# Tools come from the same private venv as scripts/galaxy-importer.sh (galaxy-importer brings
# ansible-core and ansible-builder). EE_CHECK_OFFLINE=1 skips the `pip install --dry-run` that
# checks the combined Python requirements resolve on the package index.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
keep=0
case "${1:-}" in
    --keep) keep=1 ;;
    "") ;;
    -h | --help)
        sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        echo "$0: unknown argument '$1' (see --help)" >&2
        exit 2
        ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ee-check.XXXXXX")
finish() {
    local rc=$?
    if [ "$keep" = 1 ]; then echo "kept: $tmp" >&2; else rm -rf "$tmp"; fi
    exit "$rc"
}
trap finish EXIT

failures=0
check() {
    # check DESCRIPTION COMMAND...: run COMMAND quietly, print ok/FAIL with DESCRIPTION.
    local description=$1
    shift
    if "$@" >/dev/null 2>&1; then
        printf '  ok    %s\n' "$description"
    else
        printf '  FAIL  %s\n' "$description"
        failures=$((failures + 1))
    fi
}

# 1. The tarball, built from a clean copy exactly as for Galaxy.
mkdir -p "$tmp/ee"
tarball=$("$root/scripts/galaxy-importer.sh" --build-only "$tmp/ee")
venv=${GALAXY_IMPORTER_VENV:-$root/build/galaxy-importer-venv}
export PATH="$venv/bin:$PATH"
echo "tarball: $(basename "$tarball") ($(stat -c %s "$tarball") bytes)"

# 2. The EE definition and the files it names, next to the tarball as in the repository root.
cp "$root/execution-environment.yml" "$root/requirements.txt" "$root/bindep.txt" "$tmp/ee/"
context="$tmp/ee/context"
echo "==> $(ansible-builder --version | sed 's/^/ansible-builder /') create"
(cd "$tmp/ee" && ansible-builder create --file execution-environment.yml --context "$context" \
    --output-filename Containerfile -v 2)

build="$context/_build"
tar_name=$(basename "$tarball")
echo "==> build context"
(cd "$context" && find . -type f | sort | sed 's/^\.\//  /')

echo "==> checks"
check "Containerfile written" test -s "$context/Containerfile"
base_image=$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["images"]["base_image"]["name"])' \
    "$tmp/ee/execution-environment.yml")
check "the Containerfile starts from $base_image" grep -qF "ARG EE_BASE_IMAGE=\"$base_image\"" "$context/Containerfile"
check "the galaxy stage installs collections" grep -q 'ansible-galaxy collection install' "$context/Containerfile"
check "the context is copied to /build for the galaxy stage" grep -q '^COPY _build /build' "$context/Containerfile"
check "dependencies are introspected and assembled" grep -q 'introspect.py introspect' "$context/Containerfile"
check "the tarball named in execution-environment.yml ($tar_name) is the one galaxy.yml builds" \
    grep -q "name: collections/$tar_name\$" "$build/requirements.yml"
check "the tarball is in the context" test -f "$build/collections/$tar_name"
check "the context's tarball is the freshly built one" cmp -s "$tarball" "$build/collections/$tar_name"
check "requirements.txt is in the context and asks for requests" grep -qE '^requests' "$build/requirements.txt"
check "bindep.txt is in the context" grep -q '^ca-certificates' "$build/bindep.txt"

# 3. The galaxy stage, replayed: install from the context's requirements.yml, from /build's place.
installed="$tmp/installed"
echo "==> ansible-galaxy collection install -r requirements.yml (in the context, as the galaxy stage does)"
(cd "$build" && ANSIBLE_COLLECTIONS_PATH="$installed" ANSIBLE_GALAXY_DISABLE_GPG_VERIFY=1 ansible-galaxy collection install -r requirements.yml \
    --collections-path "$installed" --offline)
collection="$installed/ansible_collections/certops/digicert"
version=$(sed -n 's/^version:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$root/galaxy.yml" | tr -d "\"'")
check "certops.digicert $version installed from the context" \
    grep -q "\"version\": \"$version\"" "$collection/MANIFEST.json"
check "the installed collection ships requirements.txt" test -s "$collection/requirements.txt"
check "the installed collection ships bindep.txt" test -s "$collection/bindep.txt"
check "the installed collection has its modules" test -f "$collection/plugins/modules/digicert_voucher_codes.py"

# 4. ansible-builder's introspection, replayed with the context's own script.
echo "==> introspect (as the builder stage does)"
(cd "$build" && python "$context/_build/scripts/introspect.py" introspect "$installed" \
    --user-pip=requirements.txt --user-bindep=bindep.txt \
    --write-pip="$tmp/pip-combined.txt" --write-bindep="$tmp/bindep-combined.txt" | sed 's/^/  /')
check "combined Python requirements take requests from certops.digicert" \
    grep -qE '^requests.*# from collection certops\.digicert' "$tmp/pip-combined.txt"
check "combined system requirements take ca-certificates from certops.digicert" \
    grep -qE '^ca-certificates.*# from collection certops\.digicert' "$tmp/bindep-combined.txt"
if [ "${EE_CHECK_OFFLINE:-0}" != 1 ]; then
    check "combined Python requirements resolve on the package index (pip install --dry-run)" \
        python -m pip install --dry-run --quiet --ignore-installed --disable-pip-version-check \
        -r "$tmp/pip-combined.txt"
fi

if [ "$failures" -ne 0 ]; then
    echo "ee-check: FAILED ($failures checks)"
    exit 1
fi
echo "ee-check: ok"
