#!/usr/bin/env bash
# Instructions per request of a Tessera build under callgrind (all threads), which other work on
# the machine does not disturb, and the instructions and time of one GET /metrics.
#   loadtests/callgrind.sh TESSERA_BIN TESSERA_LOAD_BIN [SCENARIO ...]
# Scenarios are tessera-load's (default: cc_jwt cc_opaque introspect). For each: a fresh server
# under `valgrind --tool=callgrind`, an ES256 tenant and two clients, counters zeroed, then
# `tessera-load --scenarios S --concurrency 8 --requests $N --threads 1 --warmup 0` (N=2000),
# a dump, and the total divided by N. Then, on the last server, SCRAPES scrapes of /metrics
# between two dumps. Prints `scenario instructions_per_request` and `scrape instructions bytes`.
# PERMISSIONS=N (default 0): both clients hold a role granting N permissions, so their tokens
# carry them. QUOTA=1: both clients have a token_rate_limit they never reach, so the quota
# check is counted without refusals.
set -euo pipefail
BIN=$1 LOAD=$2; shift 2
SCENARIOS=${*:-cc_jwt cc_opaque introspect}
N=${N:-2000} SCRAPES=${SCRAPES:-20} PERMISSIONS=${PERMISSIONS:-0} QUOTA=${QUOTA:-0}
LIMIT=; [ "$QUOTA" = 1 ] && LIMIT=',"token_rate_limit":{"per_second":1000000,"burst":1000000}'
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-cg.XXXXXX")
KEY=cg-admin-key-0123456789abcdefghijklmnopqr
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
start() {
  rm -rf "$TMP/data" "$TMP"/cg.*; : >"$TMP/server.log"
  TESSERA_ADMIN_KEY=$KEY valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.%p" \
    "$BIN" serve --data-dir "$TMP/data" --listen 127.0.0.1:0 >"$TMP/server.log" 2>"$TMP/server.err" &
  PID=$!
  for _ in $(seq 600); do grep -q listening "$TMP/server.log" && break; sleep 0.2; done
  B=$(sed -n 's/^listening on //p' "$TMP/server.log")
  A="Authorization: Bearer $KEY"; J='Content-Type: application/json'
  curl -fs -XPUT -H "$A" -H "$J" "$B/api/v1/tenants/default/settings" -d '{"access_token_alg":"ES256"}' >/dev/null
  client() { curl -fs -XPOST -H "$A" -H "$J" "$B/api/v1/tenants/default/clients" \
    -d "{\"grant_types\":[\"client_credentials\"],\"scope\":\"api:read\",\"access_token_format\":\"$1\"$LIMIT}"; }
  C=$(client jwt); O=$(client opaque)
  if [ "$PERMISSIONS" -gt 0 ]; then
    perms=$(seq 1 "$PERMISSIONS" | awk '{printf "%s\"orders:permission:%03d\"", (NR>1?",":""), $1}')
    curl -fs -XPOST -H "$A" -H "$J" "$B/api/v1/tenants/default/roles" -d "{\"name\":\"bench\",\"permissions\":[$perms]}" >/dev/null
    for c in "$C" "$O"; do
      curl -fs -XPOST -H "$A" -H "$J" "$B/api/v1/tenants/default/clients/$(jq -r .client_id <<<"$c")/roles" \
        -d '{"role":"bench"}' >/dev/null
    done
  fi
}
measure() { # LABEL COMMAND...: zero, run, dump; prints the instructions of the run
  callgrind_control --zero "$PID" >/dev/null
  "${@:2}" >"$TMP/run.out" 2>"$TMP/run.err"
  callgrind_control --dump="$1" "$PID" >/dev/null
  sleep 1
  # The newest dump holds everything since the zeroing (the threads are not separated).
  local f; f=$(ls -t "$TMP"/cg."$PID".* | head -1)
  awk '/^(summary|totals):/{print $2; exit}' "$f"
}
for s in $SCENARIOS; do
  start
  ir=$(measure "$s" "$LOAD" "$B/t/default" --client-id "$(jq -r .client_id <<<"$C")" \
    --client-secret "$(jq -r .client_secret <<<"$C")" --opaque-client-id "$(jq -r .client_id <<<"$O")" \
    --opaque-client-secret "$(jq -r .client_secret <<<"$O")" --scenarios "$s" --concurrency 8 \
    --requests "$N" --threads 1 --warmup 0 --duration 600 --timeout 60)
  echo "$s $((ir / N))"
  if [ "$s" != "${SCENARIOS##* }" ]; then kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; fi
done
scrape() { for _ in $(seq "$SCRAPES"); do curl -fs "$B/metrics" >"$TMP/scrape.txt"; done; }
ir=$(measure scrape scrape)
echo "scrape $((ir / SCRAPES)) $(wc -c <"$TMP/scrape.txt") bytes, $(grep -vc '^#' "$TMP/scrape.txt") samples"
