#!/usr/bin/env bash
# Installs PostgreSQL and libpq (Debian), then starts a local server under the
# project's own data directory (.tokenmill/pg) on a Unix socket and port 54329.
# Prints nothing but errors; source it to get DATABASE_URL exported.
#   source ops/pg.sh            # install if needed, start, export DATABASE_URL
#   bash ops/pg.sh stop         # stop the server
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGHOME="$ROOT/.tokenmill"
PGDATA="$PGHOME/pg"
PGPORT="${TOKENMILL_PGPORT:-54329}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

pg_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    [ -n "$d" ] && echo "$d"
}

install_pg() {
    if [ -z "$(pg_bin)" ] || [ ! -f /usr/include/postgresql/libpq-fe.h ] || ! command -v pkg-config >/dev/null; then
        echo "ops/pg.sh: installing PostgreSQL, libpq-dev and pkg-config with apt" >&2
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql libpq-dev pkg-config >/dev/null
    fi
}

# PostgreSQL refuses to run as root: run it as the 'postgres' user when we are root.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg() {
    local bin; bin="$(pg_bin)"
    mkdir -p "$PGHOME"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$PGHOME"; chmod 755 "$ROOT" || true; fi
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        as_pg "$bin/initdb" -D "$PGDATA" -U tokenmill --auth=trust -E UTF8 >/dev/null
        cat >> "$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGHOME'
max_connections = 200
fsync = on
shared_buffers = 256MB
CONF
    fi
    if ! as_pg "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
        # -p: the port follows TOKENMILL_PGPORT at every start, not only the one initdb wrote down.
        as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$PGHOME/pg.log" -w -t 60 -o "-p $PGPORT" start >/dev/null
    elif ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; then
        local running; running="$(sed -n 4p "$PGDATA/postmaster.pid" 2>/dev/null)"
        echo "ops/pg.sh: the server in $PGDATA is already running on port ${running:-?}, not $PGPORT;" \
             "use TOKENMILL_PGPORT=${running:-<its port>}, or stop it first (bash ops/pg.sh stop)" >&2
        return 1
    fi
    as_pg "$bin/psql" -h 127.0.0.1 -p "$PGPORT" -U tokenmill -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='tokenmill'" | grep -q 1 ||
        as_pg "$bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U tokenmill tokenmill
}

stop_pg() {
    local bin; bin="$(pg_bin)"
    as_pg "$bin/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
}

case "${1:-start}" in
    stop) stop_pg ;;
    start)
        install_pg
        start_pg
        export DATABASE_URL="postgresql://tokenmill@127.0.0.1:$PGPORT/tokenmill"
        export TOKENMILL_PG_BIN="$(pg_bin)"
        export TOKENMILL_PGDATA="$PGDATA"
        ;;
esac
