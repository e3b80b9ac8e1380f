#!/usr/bin/env bash
# Run a command (normally ansible-test) inside a throwaway copy of this collection laid out as
# ansible_collections/NAMESPACE/NAME, which is where ansible-test insists on finding it.
#
# Usage: scripts/ansible-test-tree.sh COMMAND [ARGS...]
#   e.g. scripts/ansible-test-tree.sh ansible-test sanity --python 3.11 --venv
#
# Why a copy and not a symlink: ansible-test takes the content root from the physical working
# directory (os.getcwd() resolves symlinks), so a symlinked ansible_collections/... tree is
# seen as the repository itself and rejected. The copy holds exactly what git would ship:
# tracked files plus untracked files that .gitignore does not exclude (no .venv, build/ or
# tests/output/). It gets a git repository of its own because ansible-test asks git for the
# file list when it finds one, which keeps its own tests/output/ (a delegation venv among it)
# out of the files it checks. ansible-test's results in tests/output/ are copied back here.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
namespace=$(sed -n 's/^namespace:[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' "$root/galaxy.yml")
name=$(sed -n 's/^name:[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' "$root/galaxy.yml")
if [ -z "$namespace" ] || [ -z "$name" ]; then
    echo "$0: cannot read namespace and name from $root/galaxy.yml" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ansible-test-tree.XXXXXX")
dest="$tmp/ansible_collections/$namespace/$name"

finish() {
    local rc=$?
    if [ -d "$dest/tests/output" ]; then
        mkdir -p "$root/tests/output"
        # Everything but the .tmp folder, which holds ansible-test's delegation venv.
        find "$dest/tests/output" -mindepth 1 -maxdepth 1 ! -name .tmp -exec cp -R {} "$root/tests/output/" \;
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$root/scripts/clean-copy.sh" "$dest"

(
    cd "$dest"
    git -c init.defaultBranch=main init -q
    git add -A
    git -c user.name=ansible-test-tree -c user.email=ansible-test-tree@localhost -c commit.gpgsign=false \
        commit -q --no-verify -m "snapshot for ansible-test"
)

echo "ansible-test tree: $dest"
cd "$dest"
"$@"
