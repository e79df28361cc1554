#!/usr/bin/env bash
# The JWT bearer grant (RFC 7523) beside client_credentials, side by side in one run (issue 11):
# one Tessera pinned to CPU 0; wrk (one thread) pinned to CPU 1. In rotation, ROUNDS times, so
# machine noise falls on every case alike:
#   cc           client_credentials, ES256 JWT access tokens
#   jwt_bearer   a partner's ES256 assertion (inline key) exchanged for an ES256 JWT access
#                token: one signature verified, one jti recorded durably, one token signed
# Each jwt_bearer round sends assertions made just before it (loadtests/assertions.py), each
# once: a jti is single use, so a replay would be refused and fail the run. Prints each run and
# the median requests/s per case; any non-2xx answer fails the run.
#
# Usage: loadtests/jwt_bearer.sh TESSERA_BIN
# Env: ROUNDS=5 DURATION=8 CONCURRENCY=32 ASSERTIONS=160000 (per round; more than a round sends)
set -euo pipefail
BIN=$1
ROUNDS=${ROUNDS:-5} DURATION=${DURATION:-8} CONCURRENCY=${CONCURRENCY:-32} ASSERTIONS=${ASSERTIONS:-160000}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-jwt-bearer.XXXXXX")
KEY=jwt-bearer-admin-key-0123456789abcdefghij
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

TESSERA_ADMIN_KEY=$KEY taskset -c 0 "$BIN" serve --data-dir "$TMP/data" --listen 127.0.0.1:0 \
  >"$TMP/server.log" 2>"$TMP/server.err" &
PIDS+=($!)
for _ in $(seq 300); do grep -q listening "$TMP/server.log" && break; sleep 0.1; done
B=$(sed -n 's/^listening on //p' "$TMP/server.log")
A="Authorization: Bearer $KEY"; J='Content-Type: application/json'
api() { curl -fsS -X "$1" -H "$A" -H "$J" "$B/api/v1/tenants$2" ${3:+-d "$3"}; }
api POST "" '{"id":"load","settings":{"access_token_alg":"ES256"}}' >/dev/null
python3 "$HERE/assertions.py" "$TMP/partner.pem" "$TMP/jwks.json"
api POST /load/trusted-issuers "{\"issuer\":\"https://partner.example\",\"jwks\":$(cat "$TMP/jwks.json"),\"subject_prefix\":\"partner\"}" >/dev/null
declare -A ID SECRET
add() { # case grant
  local c; c=$(api POST /load/clients "{\"grant_types\":[\"$2\"],\"scope\":\"read\"}")
  ID[$1]=$(jq -r .client_id <<<"$c"); SECRET[$1]=$(jq -r .client_secret <<<"$c")
}
add cc client_credentials
add jwt_bearer urn:ietf:params:oauth:grant-type:jwt-bearer
CASES=(cc jwt_bearer)
echo "# ES256 JWTs, $ROUNDS rounds of ${DURATION}s at concurrency $CONCURRENCY; Tessera on CPU 0, wrk on CPU 1"
for r in $(seq "$ROUNDS"); do
  for c in "${CASES[@]}"; do
    auth=$(printf '%s:%s' "${ID[$c]}" "${SECRET[$c]}" | base64 -w0)
    if [ "$c" = jwt_bearer ]; then
      taskset -c 1 python3 "$HERE/assertions.py" sign "$TMP/partner.pem" "$B/t/load" "$ASSERTIONS" "$TMP/bodies"
      cat >"$TMP/$c.lua" <<LUA
local bodies, i = {}, 0
for line in io.lines("$TMP/bodies") do bodies[#bodies + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $auth"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
LUA
    else
      cat >"$TMP/$c.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $auth"
LUA
    fi
    out=$(taskset -c 1 wrk -t1 -c "$CONCURRENCY" -d "${DURATION}s" -s "$TMP/$c.lua" "$B/t/load/token")
    if grep -q "Non-2xx" <<<"$out"; then echo "$c: non-2xx answers:"; echo "$out"; exit 1; fi
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    lat=$(awk '/Latency/ {print $2}' <<<"$out")
    echo "round $r $c: $rps req/s (mean latency $lat)"
    echo "$c $rps" >>"$TMP/rps"
  done
done
echo "# median req/s per case"
for c in "${CASES[@]}"; do
  awk -v c="$c" '$1==c{print $2}' "$TMP/rps" | sort -n | awk -v c="$c" '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print c, m}'
done
