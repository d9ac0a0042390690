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
  echo "installing the gateway$extras and its dependencies into .venv (once; about a minute)" >&2
  log=.venv/install.log
  if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e ".$extras"; } \
      >"$log" 2>&1; then
    cat "$log" >&2
    echo "installing into .venv failed: pip's output is above and in $log" >&2
    exit 1
  fi
  touch "$stamp"
fi
