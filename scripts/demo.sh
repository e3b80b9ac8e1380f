#!/usr/bin/env bash
# Start the DigiCert simulator, run docs/examples/demo.yml against it and leave the voucher code
# report in reports/voucher-codes.csv. The simulator is stopped on every way out.
#
# Usage: scripts/demo.sh [ansible-playbook options...]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x "$root/.venv/bin/python" ]; then
    export VIRTUAL_ENV="$root/.venv"
    export PATH="$VIRTUAL_ENV/bin:$PATH"
fi

playbook=docs/examples/demo.yml
report="$root/reports/voucher-codes.csv"
for needed in tests/simulator/control.py "$playbook"; do
    if [ ! -f "$needed" ]; then
        echo "demo: $needed does not exist yet" >&2
        exit 1
    fi
done

state_dir=$(mktemp -d "${TMPDIR:-/tmp}/digicert-demo.XXXXXX")
stop_simulator() {
    local rc=$?
    python tests/simulator/control.py stop --state-dir "$state_dir" || true
    rm -rf "$state_dir"
    exit "$rc"
}
trap stop_simulator EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

base_url=$(python tests/simulator/control.py start --state-dir "$state_dir")
echo "simulator: $base_url (pid $(cat "$state_dir/pid"))"

collections=$(scripts/collections-tree.sh)
mkdir -p "$(dirname "$report")"

DIGICERT_API_URL="$base_url" \
    DIGICERT_API_KEY=sim-key-0123456789abcdef \
    ANSIBLE_COLLECTIONS_PATH="$collections" \
    ANSIBLE_LOCALHOST_WARNING=false \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
    ansible-playbook "$playbook" -e "report_path=$report" "$@"

echo
echo "voucher code report: $report"
