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
# A serial port is read by a pump process started from the bundle's own executable
# (labbench.devices.pump): record a second from the bundle's simulated rig on a pty.
# exec: RIG_PID is the rig itself, not a subshell that a kill would leave it orphaned by.
coproc RIG { exec "$here/dist/labbench/labbench" mock-rig --rate 200; }
read -r rig_path <&"${RIG[0]}"
recorded=$("$here/dist/labbench/labbench" --db "$(mktemp -d)/pump.sqlite3" record \
    --device "$rig_path" --dut PUMP-1 --new-dut chip --duration 1 --json)
kill "$RIG_PID"
wait "$RIG_PID" 2>/dev/null || true
echo "bundle: serial pump: $recorded"
grep -q '"samples": [1-9]' <<<"$recorded"
