#!/usr/bin/env bash
# The direct authorisation API (issue 12) beside client_credentials, side by side in one run:
# one Tessera pinned to CPU 0; wrk (one thread) pinned to CPU 1. In rotation, ROUNDS times, so
# machine noise falls on every case alike:
#   cc           client_credentials at /token, ES256 JWT access tokens
#   da_token     POST /direct-authz/rest/v2 {"sub", "client_id", "scope"}: an ES256 JWT access
#                token for a subject the broker vouches for (no session, no ID token)
#   da_session   {"sub_session": {"sub"}, "client_id", "scope": ["openid"]}: a durable SSO
#                session, an ES256 access token and an RS256 ID token
#   da_jwe_dir   da_token with "access_token": {"encrypt": true}: the JWT JWE-encrypted under
#                the tenant's shared key, `dir` + A256GCM
#   da_jwe_kw    the same at a tenant whose key is for `A256GCMKW` (a fresh key per token,
#                wrapped)
# Prints each run and the median requests/s per case; any non-2xx answer fails the run.
#
# Usage: loadtests/direct_authz.sh TESSERA_BIN
# Env: ROUNDS=5 DURATION=8 CONCURRENCY=32
set -euo pipefail
BIN=$1
ROUNDS=${ROUNDS:-5} DURATION=${DURATION:-8} CONCURRENCY=${CONCURRENCY:-32}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-direct-authz.XXXXXX")
KEY=direct-authz-admin-key-0123456789abcdefghij
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
cc=$(api POST /load/clients '{"grant_types":["client_credentials"],"scope":"read"}')
app=$(api POST /load/clients '{"grant_types":["authorization_code"],"redirect_uris":["https://app.example/cb"],"scope":"openid read","first_party":true}')
APP=$(jq -r .client_id <<<"$app")
DA=$(api POST /load/direct-authz/token | jq -r .token)
SHARED=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
api PUT /load/direct-authz/encryption-key "{\"key\":\"$SHARED\"}" >/dev/null
# A256GCMKW at a tenant of its own: the key management is the tenant's.
api POST "" '{"id":"loadkw","settings":{"access_token_alg":"ES256"}}' >/dev/null
app_kw=$(api POST /loadkw/clients '{"grant_types":["authorization_code"],"redirect_uris":["https://app.example/cb"],"scope":"openid read","first_party":true}')
APP_KW=$(jq -r .client_id <<<"$app_kw")
DA_KW=$(api POST /loadkw/direct-authz/token | jq -r .token)
api PUT /loadkw/direct-authz/encryption-key "{\"key\":\"$SHARED\",\"alg\":\"A256GCMKW\"}" >/dev/null
CC_AUTH=$(printf '%s:%s' "$(jq -r .client_id <<<"$cc")" "$(jq -r .client_secret <<<"$cc")" | base64 -w0)
cat >"$TMP/cc.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $CC_AUTH"
LUA
da_lua() { # case body [tenant token]
  cat >"$TMP/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ${4:-$DA}"
wrk.headers["Tenant-ID"] = "${3:-load}"
LUA
}
da_lua da_token "{\"sub\":\"broker-user-1\",\"client_id\":\"$APP\",\"scope\":[\"read\"]}"
da_lua da_session "{\"sub_session\":{\"sub\":\"broker-user-1\"},\"client_id\":\"$APP\",\"scope\":[\"openid\"]}"
da_lua da_jwe_dir "{\"sub\":\"broker-user-1\",\"client_id\":\"$APP\",\"scope\":[\"read\"],\"access_token\":{\"encrypt\":true}}"
da_lua da_jwe_kw "{\"sub\":\"broker-user-1\",\"client_id\":\"$APP_KW\",\"scope\":[\"read\"],\"access_token\":{\"encrypt\":true}}" loadkw "$DA_KW"
declare -A URL=([cc]="$B/t/load/token")
CASES=(cc da_token da_session da_jwe_dir da_jwe_kw)
for c in "${CASES[@]:1}"; do URL[$c]="$B/direct-authz/rest/v2"; done
echo "# ES256 access tokens, $ROUNDS rounds of ${DURATION}s at concurrency $CONCURRENCY; Tessera on CPU 0, wrk on CPU 1"
for r in $(seq "$ROUNDS"); do
  for c in "${CASES[@]}"; do
    out=$(taskset -c 1 wrk -t1 -c "$CONCURRENCY" -d "${DURATION}s" -s "$TMP/$c.lua" "${URL[$c]}")
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
