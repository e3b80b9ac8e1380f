#!/usr/bin/env bash
# Make build/collections/ansible_collections/NAMESPACE/NAME a symlink to this repository and print
# build/collections, the value for ANSIBLE_COLLECTIONS_PATH. tests/conftest.py builds the same tree.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
namespace=$(sed -n 's/^namespace:[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' "$root/galaxy.yml")
name=$(sed -n 's/^name:[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' "$root/galaxy.yml")
collections="$root/build/collections"
link="$collections/ansible_collections/$namespace/$name"

mkdir -p "$(dirname "$link")"
# Relative, so the tree survives the repository being moved or cloned elsewhere.
if [ "$(readlink "$link" 2>/dev/null || true)" != "../../../.." ]; then
    rm -rf "$link"
    ln -s ../../../.. "$link"
fi
echo "$collections"
