#!/usr/bin/env bash
# `make run`: find or start PostgreSQL and Redis, then let the binary
# migrate, import a catalog when it is empty, and serve on :3000.
set -euo pipefail
cd "$(dirname "$0")/.."
data="$PWD/.data"

say() { echo "run: $*"; }

if [ -z "${DATABASE_URL:-}" ]; then
	if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
		export DATABASE_URL="postgres://postgres@127.0.0.1:5432/anigo?sslmode=disable"
	else
		bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
		if [ -z "$bindir" ] && command -v initdb >/dev/null; then bindir=$(dirname "$(command -v initdb)"); fi
		if [ -z "$bindir" ]; then
			say "no PostgreSQL answers on 127.0.0.1:5432 and none is installed."
			say "install it (Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql@15),"
			say "or set DATABASE_URL to a server you have, e.g. postgres://user:pass@host:5432/anigo"
			exit 1
		fi
		port=54329
		if [ ! -f "$data/pg/PG_VERSION" ]; then
			say "creating a private PostgreSQL under $data/pg"
			mkdir -p "$data"
			owner=()
			if [ "$(id -u)" = 0 ]; then chown -R postgres "$data" 2>/dev/null || true; owner=(runuser -u postgres --); fi
			"${owner[@]}" "$bindir/initdb" -D "$data/pg" -U postgres --auth=trust >/dev/null
		fi
		if ! pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
			say "starting the private PostgreSQL on 127.0.0.1:$port"
			owner=()
			[ "$(id -u)" = 0 ] && owner=(runuser -u postgres --)
			"${owner[@]}" "$bindir/pg_ctl" -D "$data/pg" -l "$data/pg.log" -w \
				-o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
		fi
		export DATABASE_URL="postgres://postgres@127.0.0.1:$port/anigo?sslmode=disable"
	fi
fi

if [ -z "${REDIS_URL:-}${REDIS_HOST:-}" ]; then
	if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
		:
	elif command -v redis-server >/dev/null; then
		mkdir -p "$data"
		if ! redis-cli -h 127.0.0.1 -p 63799 ping >/dev/null 2>&1; then
			say "starting a private Redis on 127.0.0.1:63799"
			redis-server --daemonize yes --bind 127.0.0.1 --port 63799 --save "" --appendonly no \
				--dir "$data" --logfile "$data/redis.log" --maxmemory 256mb --maxmemory-policy allkeys-lru
		fi
		export REDIS_PORT=63799
	else
		say "no Redis on 127.0.0.1:6379 and redis-server is not installed: serving without the fragment cache"
		say "(install it for caching: sudo apt-get install redis-server)"
		export REDIS_URL=off
	fi
fi

exec ./bin/anigo serve -import-if-empty
