#!/usr/bin/env bash
# Sets up and runs the demo: the gateway on its demo configuration (an account for every channel, a local
# stand-in for the providers' APIs), SQLite under ./var, nothing else needed. Arguments go to `gateway demo`
# (--host, --port). Your own configuration runs with `.venv/bin/gateway serve` (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/gateway demo "$@"
