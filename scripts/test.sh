#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian machine (PostgreSQL, Redis, Dovecot, Chromium, curl),
# starts what is not running, then runs ruff, mypy and the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
ls /etc/postgresql/*/main >/dev/null 2>&1 || missing+=(postgresql)
command -v dovecot >/dev/null || missing+=(dovecot-imapd)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v ip >/dev/null || missing+=(iproute2)  # the README test runs the quick start in a network namespace
command -v curl >/dev/null || missing+=(curl)    # ... and the quick start uses curl
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pg_ok() { .venv/bin/python -c "import psycopg; psycopg.connect('host=127.0.0.1 user=postgres dbname=postgres', connect_timeout=2).close()" 2>/dev/null; }
if ! pg_ok; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! grep -q "lead-gateway tests" "$hba"; then  # a fresh install asks for passwords on 127.0.0.1
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust # lead-gateway tests' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
    || as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  for _ in $(seq 50); do pg_ok && break; sleep 0.2; done
  pg_ok || { echo "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

.venv/bin/ruff check .
.venv/bin/mypy  # settings in pyproject.toml: strict, over gateway/
# the tests are independent (own databases, ports, Redis and folders): one pytest worker per core, at most four;
# `./scripts/test.sh -n0` runs them in one process (needed for -s or a debugger)
exec .venv/bin/pytest -n auto --maxprocesses 4 "$@"
