#!/usr/bin/env bash
# Creates .venv and installs the gateway (and, with --test, what the tests need). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    PY=$candidate; break
  fi
done
[ -n "$PY" ] || { echo "Python 3.11 is needed (python3.11 or python3)"; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
stamp=".venv/.installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".$extras"
  touch "$stamp"
fi
