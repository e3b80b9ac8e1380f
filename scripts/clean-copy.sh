#!/usr/bin/env bash
# Copy what git would commit (tracked files and untracked ones not ignored) into DEST, so tools that
# scan a folder see the collection as a clean clone would, without .venv, build/ or test output.
#
# Usage: scripts/clean-copy.sh DEST
set -euo pipefail
dest=${1:?usage: $0 DEST}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
mkdir -p "$dest"
# Deleted-but-still-indexed files are listed by `git ls-files -c`; copy only what exists.
(
    cd "$root"
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' path; do
        if [ -e "$path" ] || [ -L "$path" ]; then
            printf '%s\0' "$path"
        fi
    done | tar --null --no-recursion -T - -cf -
) | tar -xf - -C "$dest"
