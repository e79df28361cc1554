#!/usr/bin/env bash
# The embedded store and PostgreSQL side by side, in one run (issue 13): client_credentials
# (JWT and opaque), introspection and the code flow on
#   fjall      one node on its embedded store
#   pg1        one node on PostgreSQL
#   pg2        two nodes on one PostgreSQL database, the load spread over both
#              (tessera-load --spread-to, as a load balancer would)
# and, for the PostgreSQL rows, the database statements per iteration (pg_stat_statements:
# every statement a node sends, BEGIN and COMMIT included, is one round trip), counted in a
# run of exactly COUNT_REQUESTS iterations apart from the timed one.
#
# The PostgreSQL cluster is a throwaway one (scripts/postgres.sh start, with DURABLE=1: fsync
# and synchronous commit on, as the embedded store fsyncs). Tessera and PostgreSQL share CPU 0
# (SERVER_CPU); tessera-load runs on CPU 1 with one thread. On 2 cores, two nodes cannot show
# scale-out: the pg2 rows measure what spreading costs, not what it gains.
#
# Usage: loadtests/nodes.sh
# Env: DURATION=10 WARMUP=2 CONCURRENCY=32 BUILD=1 SETUPS="fjall pg1 pg2" COUNT_REQUESTS=2000
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONCURRENCY="${CONCURRENCY:-32}"
BUILD="${BUILD:-1}"
SETUPS="${SETUPS:-fjall pg1 pg2}"
SERVER_CPU="${SERVER_CPU:-0}"
LOADGEN_CPU="${LOADGEN_CPU:-1}"
COUNT_REQUESTS="${COUNT_REQUESTS:-2000}"
SCENARIOS=(cc_jwt cc_opaque introspect code_flow)
ADMIN_KEY="bench-admin-key-0123456789abcdefghijkl"
KEK=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
USER_NAME=bench-user
USER_PASSWORD=bench-password-1
REDIRECT=http://127.0.0.1:9/cb

log() { echo "# $*" >&2; }
die() { echo "nodes.sh: $*" >&2; exit 1; }

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && cargo build --release -q -p tessera-server -p tessera-loadtests)
fi
TESSERA_BIN="${TESSERA_BIN:-$TARGET_DIR/release/tessera}"
LOAD_BIN="${LOAD_BIN:-$TARGET_DIR/release/tessera-load}"
[ -x "$TESSERA_BIN" ] && [ -x "$LOAD_BIN" ] || die "no release binaries (run with BUILD=1)"

RES="$ROOT/loadtests/results/nodes-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RES"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/tessera-nodes.XXXXXX")"
NODE_PIDS=()
PG_DIR=
stop_nodes() {
  for pid in "${NODE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  NODE_PIDS=()
}
cleanup() {
  stop_nodes
  if [ -n "$PG_DIR" ]; then "$ROOT/scripts/postgres.sh" stop "$PG_DIR"; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

psql_cmd() { # DATABASE SQL
  psql -X -qtA "${PG_URL%/postgres}/$1" -c "$2"
}

start_node() { # LABEL STORE PUBLIC_URL LISTEN -> sets NODE_ADDR
  local label=$1 store=$2 public=$3 listen=$4 data="$TMP/data-$1" out="$RES/server-$1.log" addr=
  mkdir -p "$data"
  env TESSERA_ADMIN_KEY="$ADMIN_KEY" TESSERA_KEY_ENCRYPTION_KEY="$KEK" taskset -c "$SERVER_CPU" \
    "$TESSERA_BIN" serve --data-dir "$data" --listen "$listen" --store "$store" --public-url "$public" \
    >"$out" 2>&1 &
  NODE_PIDS+=($!)
  for _ in $(seq 300); do
    addr=$(grep -aoE 'listening on http://[0-9.]+:[0-9]+' "$out" | head -1 | sed 's#.*http://##' || true)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { tail -20 "$out" >&2; die "node $label did not start"; }
  NODE_ADDR=$addr
}

admin() { # BASE METHOD PATH [JSON]
  local args=(-fsS -X "$2" -H "Authorization: Bearer $ADMIN_KEY")
  if [ $# -ge 4 ]; then args+=(-H "Content-Type: application/json" --data "$4"); fi
  curl "${args[@]}" "$1/api/v1$3"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

statements() { # DATABASE -> statements sent to it so far
  psql_cmd "$1" "SELECT COALESCE(sum(calls), 0) FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$1')"
}

if [[ " $SETUPS " == *" pg"* ]]; then
  command -v psql >/dev/null || die "psql is missing (the postgresql package has it)"
  exports=$(DURABLE=1 PRELOAD=pg_stat_statements "$ROOT/scripts/postgres.sh" start)
  eval "$exports"
  PG_URL=$TESSERA_TEST_POSTGRES_URL
  PG_DIR=$TESSERA_TEST_POSTGRES_DIR
fi

echo "| setup | scenario | rps | p50 ms | p99 ms | non2xx | statements per iteration |"
echo "|---|---|---:|---:|---:|---:|---:|"
for setup in $SETUPS; do
  store=fjall
  db=
  nodes=1
  case $setup in
    fjall) ;;
    pg1 | pg2)
      db="bench_$setup"
      psql_cmd postgres "CREATE DATABASE $db" >/dev/null
      psql_cmd "$db" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
      store="${PG_URL%/postgres}/$db"
      if [ "$setup" = pg2 ]; then nodes=2; fi
      ;;
    *) die "unknown setup $setup" ;;
  esac
  first_port=$(free_port)
  BASE="http://127.0.0.1:$first_port"
  start_node "$setup-1" "$store" "$BASE" "127.0.0.1:$first_port"
  spread="127.0.0.1:$first_port"
  if [ "$nodes" = 2 ]; then
    start_node "$setup-2" "$store" "$BASE" "127.0.0.1:0"
    spread="$spread,$NODE_ADDR"
  fi
  jwt=$(admin "$BASE" POST /tenants/default/clients '{"grant_types":["client_credentials"],"scope":"api:read"}')
  opaque=$(admin "$BASE" POST /tenants/default/clients \
    '{"grant_types":["client_credentials"],"scope":"api:read","access_token_format":"opaque"}')
  admin "$BASE" POST /tenants/default/users "{\"username\":\"$USER_NAME\",\"password\":\"$USER_PASSWORD\"}" >/dev/null
  rp=$(admin "$BASE" POST /tenants/default/clients "{\"grant_types\":[\"authorization_code\",\"refresh_token\"],
    \"redirect_uris\":[\"$REDIRECT\"],\"scope\":\"openid profile offline_access\",\"first_party\":true}")
  # The second node hears of the new clients through the change feed.
  sleep 1
  load() { # SCENARIO ARGS...
    env LOAD_CLIENT_ID="$(jq -r .client_id <<<"$jwt")" LOAD_CLIENT_SECRET="$(jq -r .client_secret <<<"$jwt")" \
      LOAD_OPAQUE_CLIENT_ID="$(jq -r .client_id <<<"$opaque")" \
      LOAD_OPAQUE_CLIENT_SECRET="$(jq -r .client_secret <<<"$opaque")" \
      LOAD_FLOW_CLIENT_ID="$(jq -r .client_id <<<"$rp")" LOAD_FLOW_CLIENT_SECRET="$(jq -r .client_secret <<<"$rp")" \
      LOAD_USER="$USER_NAME" LOAD_PASSWORD="$USER_PASSWORD" \
      taskset -c "$LOADGEN_CPU" "$LOAD_BIN" "$BASE/t/default" --threads 1 --scenarios "$1" \
      --concurrency "$CONCURRENCY" --redirect-uri "$REDIRECT" --flow-scope "openid offline_access" \
      --spread-to "$spread" "${@:2}" 2>>"$RES/load-$setup.log" | tail -1
  }
  for scenario in "${SCENARIOS[@]}"; do
    line=$(load "$scenario" --duration "$DURATION" --warmup "$WARMUP")
    read -r name rps p50 p99 non2xx <<<"$line"
    per_iteration=-
    if [ -n "$db" ]; then
      before=$(statements "$db")
      load "$scenario" --requests "$COUNT_REQUESTS" --duration 120 --warmup 0 >/dev/null
      after=$(statements "$db")
      per_iteration=$(awk -v a="$after" -v b="$before" -v n="$COUNT_REQUESTS" 'BEGIN{printf "%.2f", (a-b)/n}')
    fi
    echo "| $setup | ${name:-$scenario} | ${rps:-?} | ${p50:-?} | ${p99:-?} | ${non2xx:-?} | $per_iteration |"
  done
  stop_nodes
done
log "raw output in ${RES#"$ROOT"/}"
