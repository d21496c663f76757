#!/usr/bin/env bash
# Build the one-folder bundle: packaging/dist/labbench/labbench (run from anywhere).
# Uses its own virtualenv under packaging/build/, so the bundle holds only what labbench needs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/build/venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "$root" "pyinstaller>=6.5"
start=$(date +%s)
"$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$here/dist" --workpath "$here/build/work" "$here/labbench.spec"
echo "bundle: $here/dist/labbench ($(du -sh "$here/dist/labbench" | cut -f1), built in $(( $(date +%s) - start )) s)"
"$here/dist/labbench/labbench" --smoke-test
