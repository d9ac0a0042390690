#!/usr/bin/env bash
# Sets up and runs the gateway on the embedded default: SQLite under ./var, the in-process worker,
# the mail poller; no other servers needed. Extra arguments go to `gateway serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/gateway serve "$@"
