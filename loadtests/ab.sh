#!/usr/bin/env bash
# A/B of Tessera builds with wrk: JWT ES256, opaque and introspection at c32 and c128, the
# server pinned to CPU 0 and wrk (one thread) to CPU 1. Prints `LABEL scenario rps p50 p99`.
#   loadtests/ab.sh BIN LABEL [BIN LABEL ...]      (DURATION=6 seconds per cell)
# Run the builds alternately, more than once: the machine is noisy.
set -euo pipefail
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
P=${PORT:-18099}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-ab.XXXXXX")
trap 'pkill -f "listen 127.0.0.1:$P" 2>/dev/null || true; rm -rf "$TMP"' EXIT
lua() { # AUTH BODY
  printf 'wrk.method="POST"; wrk.headers["Authorization"]="Basic %s"; wrk.headers["Content-Type"]="application/x-www-form-urlencoded"; wrk.body="%s"\n' "$1" "$2"
}
while [ $# -ge 2 ]; do
  BIN=$1 L=$2; shift 2
  rm -rf "$TMP/data"
  TESSERA_ADMIN_KEY=ab-admin-key-0123456789abcdefghijklmnop taskset -c 0 "$BIN" serve --data-dir "$TMP/data" \
    --listen 127.0.0.1:$P >"$TMP/server.log" 2>&1 &
  for _ in $(seq 100); do grep -q listening "$TMP/server.log" && break; sleep 0.1; done
  A='Authorization: Bearer ab-admin-key-0123456789abcdefghijklmnop'; J='Content-Type: application/json'
  B=http://127.0.0.1:$P
  curl -fs -XPUT -H "$A" -H "$J" $B/api/v1/tenants/default/settings -d '{"access_token_alg":"ES256"}' >/dev/null
  client() { curl -fs -XPOST -H "$A" -H "$J" $B/api/v1/tenants/default/clients \
    -d "{\"grant_types\":[\"client_credentials\"],\"scope\":\"api:read\",\"access_token_format\":\"$1\"}"; }
  C=$(client jwt); O=$(client opaque)
  BAS=$(printf '%s:%s' "$(jq -r .client_id <<<"$C")" "$(jq -r .client_secret <<<"$C")" | base64 -w0)
  OID=$(jq -r .client_id <<<"$O"); OSEC=$(jq -r .client_secret <<<"$O")
  OBAS=$(printf '%s:%s' "$OID" "$OSEC" | base64 -w0)
  OT=$(curl -fs -u "$OID:$OSEC" -d grant_type=client_credentials $B/t/default/token | jq -r .access_token)
  lua "$BAS" "grant_type=client_credentials" >"$TMP/cc.lua"
  lua "$OBAS" "grant_type=client_credentials" >"$TMP/cco.lua"
  lua "$OBAS" "token=$OT" >"$TMP/intro.lua"
  for s in cc:token cco:token intro:introspect; do
    for c in 32 128; do
      r=$(taskset -c 1 wrk -t1 -c$c -d"${DURATION:-6}"s --latency -s "$TMP/${s%%:*}.lua" "$B/t/default/${s##*:}" |
        awk '/Requests\/sec/{rps=$2} / 50%/{p50=$2} / 99%/{p99=$2} END{print rps, p50, p99}')
      echo "$L ${s%%:*}_c$c $r"
    done
  done
  pkill -f "listen 127.0.0.1:$P" || true
  sleep 0.5
done
