#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: `scripts/postgres.sh start` runs initdb and
# pg_ctl (the newest /usr/lib/postgresql/*/bin) in a new temporary directory, on 127.0.0.1 and
# a free port, and prints shell lines that export its URL and directory:
#
#   eval "$(scripts/postgres.sh start)"   # sets TESSERA_TEST_POSTGRES_URL, TESSERA_TEST_POSTGRES_DIR
#   scripts/postgres.sh stop "$TESSERA_TEST_POSTGRES_DIR"
#
# `pause DIR` stops the server and keeps its data; `resume DIR` starts it again on the same
# port (a test of surviving a database restart).
#
# `stop` stops the cluster and removes the directory. initdb refuses to run as root, so as root
# the cluster runs as the `postgres` user (the Debian package creates it), which owns the
# directory. Durability is switched off (fsync=off): the data is thrown away. For measurements,
# `DURABLE=1` keeps PostgreSQL's durable defaults and `PRELOAD=pg_stat_statements` loads that
# library (both read at `start` and saved for `resume`). `TLS=1` serves TLS too, with a new
# certificate for the name `localhost` only, issued by a new root ($dir/ca.crt), which a
# client may trust (sslrootcert).
set -euo pipefail

bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    echo "postgres.sh: no /usr/lib/postgresql/*/bin/initdb; install the postgresql package (scripts/test.sh does)" >&2
    exit 1
  fi
  echo "$dir"
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 30000))
    # Nothing answers a connection there: free (a race with another process is caught by
    # pg_ctl failing to start, and the whole start is then retried by the caller).
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "postgres.sh: no free port found" >&2
  exit 1
}

# Starts the cluster in $2 on the port saved in it.
run_server() {
  local bin=$1 dir=$2 port
  port=$(cat "$dir/port")
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=300 $(cat "$dir/options")" \
    start >&2
}

pause() {
  as_owner "$(bindir)/pg_ctl" -D "$1/data" -m fast -w stop >&2
}

resume() {
  run_server "$(bindir)" "$1"
}

start() {
  local bin dir port
  bin=$(bindir)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/tessera-pg.XXXXXX")
  chmod 700 "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    exit 1
  }
  port=$(free_port)
  echo "$port" >"$dir/port"
  local options=""
  [ "${DURABLE:-0}" = 1 ] || options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ -n "${PRELOAD:-}" ] && options="$options -c shared_preload_libraries=$PRELOAD"
  if [ "${TLS:-0}" = 1 ]; then
    # A root of its own, and the server's certificate issued by it (a self-signed server
    # certificate would be a CA used as an end entity, which verifiers rightly refuse).
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    as_owner openssl req -x509 "${ec[@]}" -days 2 -subj /CN=tessera-test-root \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>"$dir/openssl.log"
    as_owner openssl req "${ec[@]}" -subj /CN=localhost \
      -keyout "$dir/server.key" -out "$dir/server.csr" 2>>"$dir/openssl.log"
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\n' >"$dir/server.ext"
    as_owner openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
      -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>>"$dir/openssl.log"
    chmod 600 "$dir/server.key"
    chmod 644 "$dir/server.crt" "$dir/ca.crt"
    options="$options -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
  fi
  echo "$options" >"$dir/options"
  if ! run_server "$bin" "$dir"; then
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    exit 1
  fi
  echo "export TESSERA_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:$port/postgres'"
  echo "export TESSERA_TEST_POSTGRES_DIR='$dir'"
}

stop() {
  local dir=${1:-${TESSERA_TEST_POSTGRES_DIR:-}}
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    return 0
  fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  pause) pause "${2:?usage: $0 pause DIR}" ;;
  resume) resume "${2:?usage: $0 resume DIR}" ;;
  *)
    echo "usage: $0 start | stop DIR | pause DIR | resume DIR" >&2
    exit 2
    ;;
esac
