#!/usr/bin/env bash
# Make Redis and PostgreSQL available to the test suite. Meant to be SOURCED:
#
#     source scripts/services.sh
#
# For each service:
#   1. if the URL (REDIS_URL / DATABASE_URL, defaults below) answers, keep it;
#   2. else, if the server binaries are installed, start a private server on a free
#      loopback port in a temp dir, point the URL at it, and stop it when the
#      sourcing shell exits (EXIT trap);
#   3. else unset the URL and print a loud warning: tests marked `services` skip.
# With CI=true it exports REALTIME_TASKS_REQUIRE_SERVICES=1, so those tests fail instead.
#
# When sourced it does not change the caller's shell options (scripts/test.sh already
# runs with `set -euo pipefail`); run directly, it only reports what it found.

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
fi

export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
if [[ "${CI:-}" == "true" ]]; then
    export REALTIME_TASKS_REQUIRE_SERVICES=1
fi

_svc_tmpdirs=()
_svc_stop_cmds=()

# _svc_hostport URL DEFAULT_PORT -> prints "host port"
_svc_hostport() {
    local url="$1" default_port="$2" rest host port
    rest="${url#*://}"      # drop scheme
    rest="${rest%%/*}"      # drop path
    rest="${rest##*@}"      # drop user:password@
    if [[ "$rest" =~ ^\[([^]]+)\](:([0-9]+))?$ ]]; then   # [ipv6]:port
        host="${BASH_REMATCH[1]}"
        port="${BASH_REMATCH[3]}"
    else
        host="${rest%%:*}"
        port=""
        [[ "$rest" == *:* ]] && port="${rest##*:}"
    fi
    echo "${host:-127.0.0.1} ${port:-$default_port}"
}

# _svc_tcp_open HOST PORT -> success if something accepts a TCP connection
_svc_tcp_open() {
    # shellcheck disable=SC2016  # $1/$2 expand in the inner shell
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

_svc_free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 20000))
        if ! _svc_tcp_open 127.0.0.1 "$port"; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# Stop the process whose pid is in FILE and wait (up to 5 s) until it has gone.
_svc_kill_pidfile() {
    local pid
    pid="$(cat "$1" 2>/dev/null)" || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}

_svc_cleanup() {
    local i
    for ((i = ${#_svc_stop_cmds[@]} - 1; i >= 0; i--)); do
        eval "${_svc_stop_cmds[$i]}" >/dev/null 2>&1 || true
    done
    for d in "${_svc_tmpdirs[@]}"; do
        rm -rf "$d"
    done
    _svc_stop_cmds=()
    _svc_tmpdirs=()
}

_svc_warn() {
    local name="$1" var="$2" reason="$3"
    {
        echo
        echo "################################################################################"
        echo "#  WARNING: $name IS NOT AVAILABLE -- $var is unset."
        echo "#  $reason"
        echo "#  All tests marked 'services' (they need the real Redis and PostgreSQL)"
        if [[ "${REALTIME_TASKS_REQUIRE_SERVICES:-}" == "1" ]]; then
            echo "#  will FAIL: REALTIME_TASKS_REQUIRE_SERVICES=1 (CI=true) forbids skipping."
        else
            echo "#  will be SKIPPED. Start $name or set $var to fix this."
        fi
        echo "################################################################################"
        echo
    } >&2
}

_svc_redis() {
    local host port tmp new_port
    read -r host port < <(_svc_hostport "$REDIS_URL" 6379)
    if _svc_tcp_open "$host" "$port"; then
        echo ">>> Redis: using $REDIS_URL" >&2
        return 0
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        unset REDIS_URL
        _svc_warn Redis REDIS_URL "Nothing answers at $host:$port and redis-server is not installed."
        return 0
    fi
    new_port="$(_svc_free_port)"
    tmp="$(mktemp -d -t realtime-tasks-redis.XXXXXX)"
    _svc_tmpdirs+=("$tmp")
    redis-server --bind 127.0.0.1 --port "$new_port" --save "" --appendonly no --daemonize yes \
        --dir "$tmp" --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log" >/dev/null || true
    _svc_stop_cmds+=("_svc_kill_pidfile '$tmp/redis.pid'")
    for _ in $(seq 1 50); do
        _svc_tcp_open 127.0.0.1 "$new_port" && break
        sleep 0.1
    done
    if ! _svc_tcp_open 127.0.0.1 "$new_port"; then
        cat "$tmp/redis.log" >&2 || true
        unset REDIS_URL
        _svc_warn Redis REDIS_URL "Nothing answers at $host:$port and a private redis-server did not start."
        return 0
    fi
    export REDIS_URL="redis://127.0.0.1:$new_port/0"
    echo ">>> Redis: nothing at $host:$port; started a private redis-server at $REDIS_URL" >&2
}

# Run a PostgreSQL server binary; as root, as the 'postgres' user (initdb refuses root).
_svc_pg_run() {
    if [[ "$(id -u)" == "0" ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

_svc_postgres() {
    local host port tmp bindir new_port
    read -r host port < <(_svc_hostport "$DATABASE_URL" 5432)
    if command -v pg_isready >/dev/null 2>&1; then
        if pg_isready -q -h "$host" -p "$port" -t 3; then
            echo ">>> PostgreSQL: using $DATABASE_URL" >&2
            return 0
        fi
    elif _svc_tcp_open "$host" "$port"; then
        echo ">>> PostgreSQL: using $DATABASE_URL" >&2
        return 0
    fi
    # shellcheck disable=SC2012  # the names are plain version numbers
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -z "$bindir" || ! -x "$bindir/initdb" || ! -x "$bindir/pg_ctl" ]] \
        || { [[ "$(id -u)" == "0" ]] && ! id postgres >/dev/null 2>&1; }; then
        unset DATABASE_URL
        _svc_warn PostgreSQL DATABASE_URL \
            "Nothing answers at $host:$port and no PostgreSQL server (initdb, pg_ctl) is installed."
        return 0
    fi
    new_port="$(_svc_free_port)"
    tmp="$(mktemp -d -t realtime-tasks-pg.XXXXXX)"
    _svc_tmpdirs+=("$tmp")
    [[ "$(id -u)" == "0" ]] && chown postgres: "$tmp"
    if ! _svc_pg_run "$bindir/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 \
        --no-sync >"$tmp/initdb.log" 2>&1; then
        cat "$tmp/initdb.log" >&2
        unset DATABASE_URL
        _svc_warn PostgreSQL DATABASE_URL "Nothing answers at $host:$port and initdb failed."
        return 0
    fi
    _svc_stop_cmds+=("_svc_pg_run '$bindir/pg_ctl' -D '$tmp/data' -m immediate -w stop")
    if ! _svc_pg_run "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/postgres.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $new_port -k $tmp -c fsync=off -c full_page_writes=off" \
        start >/dev/null; then
        cat "$tmp/postgres.log" >&2 || true
        unset DATABASE_URL
        _svc_warn PostgreSQL DATABASE_URL "Nothing answers at $host:$port and a private PostgreSQL did not start."
        return 0
    fi
    if ! _svc_pg_run "$bindir/createdb" -h 127.0.0.1 -p "$new_port" -U postgres test; then
        unset DATABASE_URL
        _svc_warn PostgreSQL DATABASE_URL "A private PostgreSQL started, but 'createdb test' failed."
        return 0
    fi
    export DATABASE_URL="postgres://postgres@127.0.0.1:$new_port/test"
    echo ">>> PostgreSQL: nothing at $host:$port; started a private server at $DATABASE_URL" >&2
}

# Replaces any EXIT trap of the sourcing shell; the servers stop when it exits.
trap _svc_cleanup EXIT
_svc_redis
_svc_postgres

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    echo "REDIS_URL=${REDIS_URL:-<unset>}"
    echo "DATABASE_URL=${DATABASE_URL:-<unset>}"
    echo "REALTIME_TASKS_REQUIRE_SERVICES=${REALTIME_TASKS_REQUIRE_SERVICES:-<unset>}"
fi
