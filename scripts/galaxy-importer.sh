#!/usr/bin/env bash
# Build the collection tarball the way a release does and run Galaxy's own importer on it.
#
# Usage: scripts/galaxy-importer.sh [--preview-release] [--keep]
#        scripts/galaxy-importer.sh --build-only DIR
#
#   (no option)        build from a clean copy of the repository, list the tarball, run
#                      `python -m galaxy_importer.main` with scripts/galaxy-importer.cfg, and fail if
#                      its output has any ERROR or WARNING line
#   --preview-release  first run `antsibull-changelog release` in the copy when the repository has
#                      no changelogs/changelog.yaml yet, to see the import as the first release will
#                      look (Galaxy warns about a collection without a changelog)
#   --keep             keep the temporary folder and say where it is
#   --build-only DIR   only build the tarball into DIR and print its path (scripts/ee-check.sh uses it)
#
# The copy holds what git would commit: tracked files plus untracked files .gitignore does not
# exclude, so local caches and virtual environments never reach the tarball, whatever
# galaxy.yml's build_ignore says. Tools come from a private venv (GALAXY_IMPORTER_VENV, by default
# build/galaxy-importer-venv), made on first use.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
venv=${GALAXY_IMPORTER_VENV:-$root/build/galaxy-importer-venv}
# galaxy-importer pins the ansible-core and ansible-lint releases Galaxy itself runs.
importer_requirement=${GALAXY_IMPORTER_REQUIREMENT:-galaxy-importer==0.4.44}
changelog_requirement=antsibull-changelog==0.36.0

preview_release=0
keep=0
build_only=
while [ "$#" -gt 0 ]; do
    case "$1" in
        --preview-release) preview_release=1 ;;
        --keep) keep=1 ;;
        --build-only)
            build_only=${2:?--build-only needs a folder}
            shift
            ;;
        -h | --help)
            sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *)
            echo "$0: unknown argument '$1' (see --help)" >&2
            exit 2
            ;;
    esac
    shift
done

log() { printf '==> %s\n' "$*" >&2; }

ensure_venv() {
    local stamp="$venv/.installed"
    local wanted="$importer_requirement $changelog_requirement"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && "$venv/bin/python" -c 'import galaxy_importer' 2>/dev/null; then
        return
    fi
    log "installing $wanted into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # two requirement words on purpose
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $wanted >"$venv/pip.log" 2>&1; then
        cat "$venv/pip.log" >&2
        echo "$0: could not install $wanted" >&2
        exit 1
    fi
    printf '%s' "$wanted" >"$stamp"
}

# galaxy_field FIELD DIR: a top-level scalar of DIR/galaxy.yml (namespace, name, version).
galaxy_field() {
    sed -n "s/^$1:[[:space:]]*\([^[:space:]#]*\).*/\1/p" "$2/galaxy.yml" | tr -d "\"'"
}

ensure_venv
export PATH="$venv/bin:$PATH"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/galaxy-importer.XXXXXX")
finish() {
    local rc=$?
    if [ "$keep" = 1 ]; then
        echo "kept: $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap finish EXIT

"$root/scripts/clean-copy.sh" "$tmp/src"
if [ "$preview_release" = 1 ] && [ ! -f "$tmp/src/changelogs/changelog.yaml" ]; then
    version=$(galaxy_field version "$tmp/src")
    log "preview: antsibull-changelog release --version $version (in the temporary copy only)"
    (cd "$tmp/src" && antsibull-changelog release --version "$version" >&2)
fi

dist=${build_only:-$tmp/dist}
mkdir -p "$dist"
log "ansible-galaxy collection build ($(ansible-galaxy --version | sed -n 1p))"
ansible-galaxy collection build --force --output-path "$dist" "$tmp/src" >&2
tarball="$dist/$(galaxy_field namespace "$tmp/src")-$(galaxy_field name "$tmp/src")-$(galaxy_field version "$tmp/src").tar.gz"
if [ ! -f "$tarball" ]; then
    echo "$0: $tarball was not built" >&2
    exit 1
fi
if [ -n "$build_only" ]; then
    echo "$tarball"
    exit 0
fi

printf '\n========== %s (%s bytes) ==========\n' "$(basename "$tarball")" "$(stat -c %s "$tarball")"
tar -tzvf "$tarball" | awk '{ printf "%8s  %s\n", $3, $6 }'

printf '\n========== galaxy-importer ==========\n'
rc=0
(
    cd "$tmp"
    GALAXY_IMPORTER_CONFIG="$root/scripts/galaxy-importer.cfg" python -m galaxy_importer.main "$tarball"
) >"$tmp/importer.log" 2>&1 || rc=$?
cat "$tmp/importer.log"

problems=$(grep -cE '^(ERROR|WARNING|CRITICAL)\b|Traceback \(most recent call last\)' "$tmp/importer.log" || true)
printf '\n========== result ==========\n'
if [ "$rc" -ne 0 ] || [ "$problems" -ne 0 ]; then
    echo "galaxy-importer: FAILED (exit $rc, $problems ERROR/WARNING lines)"
    exit 1
fi
echo "galaxy-importer: ok (no ERROR or WARNING lines)"
