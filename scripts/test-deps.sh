#!/usr/bin/env bash
# Checks what `make test` needs and installs what it can: Debian's chromium
# for the browser test, redis-server for the fault tests, docker-compose for
# validating docker-compose.yml. PostgreSQL and Redis must answer; the
# tests fail loudly without them, and this says how to start them first.
set -euo pipefail

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v pg_ctl >/dev/null || [ -d /usr/lib/postgresql ] || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "test-deps: installing ${missing[*]} with apt-get"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq "${missing[@]}" >/dev/null
	else
		echo "test-deps: missing ${missing[*]}: install them (Debian: sudo apt-get install ${missing[*]})" >&2
		exit 1
	fi
fi

pg="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
if ! psql "$pg" -qAtc 'select 1' >/dev/null 2>&1; then
	echo "test-deps: PostgreSQL does not answer at $pg; start it (Debian: pg_ctlcluster 15 main start) or set TEST_DATABASE_URL" >&2
	exit 1
fi
if ! redis-cli -u "${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}" ping >/dev/null 2>&1; then
	echo "test-deps: Redis does not answer at ${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}; start it (redis-server --daemonize yes) or set TEST_REDIS_URL" >&2
	exit 1
fi
