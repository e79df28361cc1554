#!/usr/bin/env bash
# The password grant and per-client rate limiting, side by side in one run (issue 10): one
# Tessera pinned to CPU 0; wrk (one thread) and the validator stub pinned to CPU 1. In
# rotation, ROUNDS times, so machine noise falls on every case alike:
#   password_local      the local directory (argon2id bounds it: one hash per request)
#   password_validator  one HTTP identity validator (tessera-validator-stub) that accepts
#   cc_unlimited        client_credentials, no token_rate_limit
#   cc_limited          client_credentials under a client quota too large to refuse, so the
#                       limiter's own cost is what differs
# Prints each run and the median requests/s per case; any non-2xx answer fails the run.
#
# Usage: loadtests/password.sh TESSERA_BIN VALIDATOR_STUB_BIN
# Env: ROUNDS=5 DURATION=8 CONCURRENCY=32 ALG=ES256
set -euo pipefail
BIN=$1 STUB=$2
ROUNDS=${ROUNDS:-5} DURATION=${DURATION:-8} CONCURRENCY=${CONCURRENCY:-32} ALG=${ALG:-ES256}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-password.XXXXXX")
KEY=password-admin-key-0123456789abcdefghijkl
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

# The login limits are per (username, address) and per address; every request here is one
# user from one address, so they are raised out of the way: this measures the grant, not them.
TESSERA_ADMIN_KEY=$KEY taskset -c 0 "$BIN" serve --data-dir "$TMP/data" --listen 127.0.0.1:0 \
  --login-attempts-per-user-per-minute 100000000 --login-attempts-per-ip-per-minute 100000000 \
  >"$TMP/server.log" 2>"$TMP/server.err" &
PIDS+=($!)
taskset -c 1 "$STUB" 127.0.0.1:0 >"$TMP/stub.log" &
PIDS+=($!)
for _ in $(seq 300); do grep -q listening "$TMP/server.log" && grep -q listening "$TMP/stub.log" && break; sleep 0.1; done
B=$(sed -n 's/^listening on //p' "$TMP/server.log")
V=$(sed -n 's/^listening on //p' "$TMP/stub.log")
A="Authorization: Bearer $KEY"; J='Content-Type: application/json'
api() { curl -fsS -X "$1" -H "$A" -H "$J" "$B/api/v1/tenants/$2" ${3:+-d "$3"}; }
client() { api POST "$1/clients" "$2"; }
for t in local remote; do
  curl -fsS -X POST -H "$A" -H "$J" "$B/api/v1/tenants" \
    -d "{\"id\":\"$t\",\"settings\":{\"access_token_alg\":\"$ALG\"}}" >/dev/null
done
api POST local/users '{"username":"alice","password":"correct-horse-battery"}' >/dev/null
api POST remote/identity-validators "{\"name\":\"stub\",\"url\":\"$V/check\",\"timeout_ms\":2000}" >/dev/null
declare -A ID SECRET TENANT BODY
add() { # case tenant client-json body
  local c; c=$(client "$2" "$3")
  ID[$1]=$(jq -r .client_id <<<"$c"); SECRET[$1]=$(jq -r .client_secret <<<"$c"); TENANT[$1]=$2; BODY[$1]=$4
}
PW='grant_type=password&username=alice&password=correct-horse-battery'
add password_local local '{"grant_types":["password"],"scope":"read"}' "$PW"
add password_validator remote '{"grant_types":["password"],"scope":"read"}' "$PW"
add cc_unlimited local '{"grant_types":["client_credentials"],"scope":"read"}' 'grant_type=client_credentials'
add cc_limited local '{"grant_types":["client_credentials"],"scope":"read","token_rate_limit":{"per_second":1000000,"burst":1000000}}' 'grant_type=client_credentials'
CASES=(password_local password_validator cc_unlimited cc_limited)
echo "# $ALG JWTs, $ROUNDS rounds of ${DURATION}s at concurrency $CONCURRENCY; Tessera on CPU 0, wrk and the stub on CPU 1"
for r in $(seq "$ROUNDS"); do
  for c in "${CASES[@]}"; do
    auth=$(printf '%s:%s' "${ID[$c]}" "${SECRET[$c]}" | base64 -w0)
    cat >"$TMP/$c.lua" <<LUA
wrk.method = "POST"
wrk.body = "${BODY[$c]}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $auth"
LUA
    out=$(taskset -c 1 wrk -t1 -c "$CONCURRENCY" -d "${DURATION}s" -s "$TMP/$c.lua" "$B/t/${TENANT[$c]}/token")
    if grep -q "Non-2xx" <<<"$out"; then echo "$c: non-2xx answers:"; echo "$out"; exit 1; fi
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '/Latency/ {print $2}' <<<"$out")
    echo "round $r $c: $rps req/s (mean latency $p50)"
    echo "$c $rps" >>"$TMP/rps"
  done
done
echo "# median req/s per case"
for c in "${CASES[@]}"; do
  awk -v c="$c" '$1==c{print $2}' "$TMP/rps" | sort -n | awk -v c="$c" '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print c, m}'
done
