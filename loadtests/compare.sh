#!/usr/bin/env bash
# Tessera and the oidc-provider peer side by side, in one run, on a 2-core machine: each server
# pinned to CPU 0, tessera-load pinned to CPU 1 with one worker thread.
#
# Prints a markdown table (scenario | tessera rps | peer rps | ratio | p50/p99 | non2xx) and the
# servers' RSS, and keeps every raw output under loadtests/results/<timestamp>/.
#
# Usage: loadtests/compare.sh
# Env (all optional):
#   SUITES="tokens flows"      tokens: client_credentials, introspection, discovery, JWKS (ES256,
#                              and cc_jwt with ES384); flows: the end-user scenarios code_flow and
#                              refresh, once with RS256 and once with ES256 ID tokens (access
#                              tokens ES256), after one login in a setup phase
#   DURATION=20  WARMUP=3  CONCURRENCY=32,128   per measured run (see tessera-load --help)
#   SERVERS="tessera peer"     which servers to measure (e.g. SERVERS=peer while Tessera is not
#                              buildable; the table then has "-" in the other column)
#   PEER_DIR=../shared/peers/oidc-provider (relative to the repo root); copied to a temp dir
#   PEER_PORT=3100             port of the peer (Tessera listens on a free port it picks)
#   SCOPE=api:read             scope sent with client_credentials
#   OPAQUE_FILL=0              N > 0: also issue N opaque tokens on a fresh server of each kind
#                              (FILL_CONCURRENCY=256 connections) and report RSS before and after
#   FILL_MAX_SECS=1800         upper bound of that fill run
#   SERVER_CPU=0  LOADGEN_CPU=1
#   LOADGEN_BUSY_PCT=85        rows where tessera-load used at least this much of its core get
#                              a '*': they may measure the load generator, not the server
#   BUILD=1                    0 = use the binaries already built
#   TESSERA_BIN=<target>/release/tessera   the server binary to measure
#   SIGNER=software            or softhsm: Tessera signs through a fresh SoftHSM2 token
#                              (scripts/softhsm-token.sh), its keys generated in the token
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEER_DIR="${PEER_DIR:-$ROOT/../shared/peers/oidc-provider}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
CONCURRENCY="${CONCURRENCY:-32,128}"
CONCURRENCY="${CONCURRENCY// /,}"
SERVERS="${SERVERS:-tessera peer}"
PEER_PORT="${PEER_PORT:-3100}"
SCOPE="${SCOPE-api:read}"
OPAQUE_FILL="${OPAQUE_FILL:-0}"
FILL_CONCURRENCY="${FILL_CONCURRENCY:-256}"
FILL_MAX_SECS="${FILL_MAX_SECS:-1800}"
SERVER_CPU="${SERVER_CPU:-0}"
LOADGEN_CPU="${LOADGEN_CPU:-1}"
LOADGEN_BUSY_PCT="${LOADGEN_BUSY_PCT:-85}"
BUILD="${BUILD:-1}"
SIGNER="${SIGNER:-software}"
ADMIN_KEY="bench-admin-key-0123456789abcdefghijkl"
ALGS=(ES256 ES384)
SUITES="${SUITES:-tokens flows}"
ID_ALGS=(RS256 ES256)
ROWS=(cc_jwt_es256 cc_jwt_es384 cc_opaque introspect discovery jwks
  code_flow_rs256 code_flow_es256 refresh_rs256 refresh_es256)
FLOW_USER=bench-user
FLOW_PASSWORD=bench-password-1
FLOW_SCOPE="openid offline_access"
TESSERA_REDIRECT=http://127.0.0.1:9/cb
PEER_REDIRECT=http://127.0.0.1:9999/cb # registered in the peer's server.mjs

log() { echo "# $*" >&2; }
die() { echo "compare.sh: $*" >&2; exit 1; }
want() { [[ " $SERVERS " == *" $1 "* ]]; }
suite() { [[ " $SUITES " == *" $1 "* ]]; }

for tool in cargo curl jq taskset awk; do
  command -v "$tool" >/dev/null || die "missing $tool"
done
if [ "$(nproc --all)" -lt 2 ]; then
  die "needs 2 CPUs (server on CPU $SERVER_CPU, load on CPU $LOADGEN_CPU)"
fi

RES="$ROOT/loadtests/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RES"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/tessera-compare.XXXXXX")"
SERVER_PID=

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
cleanup() { stop_server; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. build -------------------------------------------------------------------------------
cd "$ROOT"
if [ "$BUILD" != 0 ]; then
  if want tessera && [ -z "${TESSERA_BIN:-}" ]; then
    cargo build --release -p tessera-server -p tessera-loadtests >&2
  else
    cargo build --release -p tessera-loadtests >&2
  fi
fi
TARGET_DIR="$(cargo metadata --no-deps --format-version 1 | jq -r .target_directory)"
LOAD_BIN="$TARGET_DIR/release/tessera-load"
TESSERA_BIN="${TESSERA_BIN:-$TARGET_DIR/release/tessera}"
[ -x "$LOAD_BIN" ] || die "no $LOAD_BIN (run with BUILD=1)"
if want tessera; then [ -x "$TESSERA_BIN" ] || die "no $TESSERA_BIN"; fi

# ---- 2. the peer, in a writable copy --------------------------------------------------------
PEER_WORK="$TMP/peer"
if want peer; then
  [ -f "$PEER_DIR/server.mjs" ] || die "no peer at $PEER_DIR (set PEER_DIR)"
  command -v node >/dev/null || die "missing node"
  cp -r "$PEER_DIR" "$PEER_WORK"
  chmod -R u+w "$PEER_WORK" # shared/ is read-only; the copy must take node_modules and a variant
  if [ ! -d "$PEER_WORK/node_modules/oidc-provider" ]; then
    (cd "$PEER_WORK" && npm ci --no-audit --no-fund >&2)
  fi
  # For the end-user flows, a variant of server.mjs (the original stays as it is):
  # - devInteractions on: oidc-provider's built-in login and consent forms (any login and
  #   password), which tessera-load fills in once during setup;
  # - a refresh token for every code of a client registered for refresh_token (the default
  #   needs offline_access, which oidc-provider drops unless prompt=consent), rotated on every
  #   use like Tessera's (the default rotates a confidential client's token only near its end);
  # - ID tokens signed with $ID_ALG (ES256 or RS256; an RSA 2048 key is added for RS256).
  node - "$PEER_WORK/server.mjs" "$PEER_WORK/server-flows.mjs" <<'JS' || die "cannot adapt the peer's server.mjs for the flows"
const fs = require('node:fs');
const [src, dst] = process.argv.slice(2);
let s = fs.readFileSync(src, 'utf8');
const edits = [
  ["devInteractions: { enabled: false },", "devInteractions: { enabled: true },"],
  ["    pkce: { required: () => true },\n",
   "    pkce: { required: () => true },\n" +
   "    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),\n" +
   "    rotateRefreshToken: () => true,\n"],
  ["      id_token_signed_response_alg: 'ES256',\n    }],",
   "      id_token_signed_response_alg: process.env.ID_ALG || 'ES256',\n    }],"],
  ["  const keys = [await sig('ES256')];\n",
   "  const keys = [await sig('ES256')];\n  if (process.env.ID_ALG === 'RS256') keys.push(await sig('RS256'));\n"],
];
for (const [from, to] of edits) {
  if (s.split(from).length !== 2) throw new Error(`server.mjs changed: cannot find ${JSON.stringify(from)}`);
  s = s.replace(from, to);
}
fs.writeFileSync(dst, s);
JS
fi

{
  echo "date: $(date -Is)"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (dirty)')"
  echo "cpu: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo) x$(nproc --all)"
  echo "node: $(command -v node >/dev/null && node --version || echo none)"
  echo "loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "duration=${DURATION}s warmup=${WARMUP}s concurrency=$CONCURRENCY server_cpu=$SERVER_CPU loadgen_cpu=$LOADGEN_CPU"
} >"$RES/environment.txt"
sed 's/^/# /' "$RES/environment.txt" >&2

# ---- helpers --------------------------------------------------------------------------------
status_kib() { # PID FIELD -> KiB from /proc/PID/status
  awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}
mib() { awk -v k="${1:-0}" 'BEGIN{printf "%.0f", k/1024}'; }

wait_http() { # URL: until it answers 200, while the server lives
  for _ in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  return 1
}

# The server to start is described by globals set by start_*: BASE, CLIENT_ARGS (env for tessera-load).
start_tessera() { # ALG LABEL
  local alg=$1 label=$2 data="$TMP/tessera-data-$2" log="$RES/server-$2.log" addr=
  mkdir -p "$data"
  local signer_args=() signer_env=()
  if [ "$SIGNER" = softhsm ]; then
    local module
    module=$("$ROOT/scripts/softhsm-token.sh" "$data/hsm" bench 1234 | tail -1)
    signer_args=(--signer pkcs11 --pkcs11-module "$module" --pkcs11-token-label bench)
    signer_env=(SOFTHSM2_CONF="$data/hsm/softhsm2.conf" TESSERA_PKCS11_PIN=1234)
  fi
  env "${signer_env[@]}" TESSERA_ADMIN_KEY="$ADMIN_KEY" taskset -c "$SERVER_CPU" \
    "$TESSERA_BIN" serve --data-dir "$data" --listen 127.0.0.1:0 "${signer_args[@]}" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do
    addr=$(grep -aoE 'listening on http://[0-9.]+:[0-9]+' "$log" | head -1 | sed 's#.*http://##' || true)
    [ -n "$addr" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$addr" ] || { tail -20 "$log" >&2; die "tessera did not say 'listening on http://...' (log: $log)"; }
  BASE="http://$addr/t/default"
  wait_http "$BASE/.well-known/openid-configuration" || die "tessera discovery does not answer at $BASE"

  local settings
  settings=$(admin GET /tenants/default/settings)
  if jq -e 'has("settings")' >/dev/null <<<"$settings"; then settings=$(jq -c .settings <<<"$settings"); fi
  admin PUT /tenants/default/settings "$(jq -c --arg a "$alg" '.access_token_alg = $a' <<<"$settings")" >/dev/null
  local now
  now=$(admin GET /tenants/default/settings | jq -r '.access_token_alg // .settings.access_token_alg // "?"')
  [ "$now" = "$alg" ] || log "WARNING tessera settings say access_token_alg=$now after setting $alg"

  local client='{"client_name":"bench-FMT","grant_types":["client_credentials"],"scope":"api:read api:write","token_endpoint_auth_method":"client_secret_basic","access_token_format":"FMT"}'
  local jwt opaque jid jsecret oid osecret
  jwt=$(admin POST /tenants/default/clients "${client//FMT/jwt}")
  opaque=$(admin POST /tenants/default/clients "${client//FMT/opaque}")
  { jid=$(jq -er .client_id <<<"$jwt") && jsecret=$(jq -er .client_secret <<<"$jwt"); } \
    || die "client response without client_id/client_secret: ${jwt:0:300}"
  { oid=$(jq -er .client_id <<<"$opaque") && osecret=$(jq -er .client_secret <<<"$opaque"); } \
    || die "client response without client_id/client_secret: ${opaque:0:300}"
  CLIENT_ENV=(LOAD_CLIENT_ID="$jid" LOAD_CLIENT_SECRET="$jsecret"
    LOAD_OPAQUE_CLIENT_ID="$oid" LOAD_OPAQUE_CLIENT_SECRET="$osecret")
  RESOURCE_ARGS=()
}

# Tessera with access tokens ES256, a user and a first-party code-flow client whose ID tokens
# are signed with ID_ALG.
start_tessera_flows() { # ID_ALG LABEL
  local id_alg=$1 rp id secret
  start_tessera ES256 "$2"
  admin POST /tenants/default/users "$(jq -nc --arg u "$FLOW_USER" --arg p "$FLOW_PASSWORD" \
    '{username: $u, password: $p}')" >/dev/null
  rp=$(admin POST /tenants/default/clients "$(jq -nc --arg r "$TESSERA_REDIRECT" --arg a "$id_alg" '{
    client_name: "bench-rp", grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [$r], scope: "openid profile offline_access", first_party: true,
    token_endpoint_auth_method: "client_secret_basic", id_token_signed_response_alg: $a}')")
  { id=$(jq -er .client_id <<<"$rp") && secret=$(jq -er .client_secret <<<"$rp"); } \
    || die "client response without client_id/client_secret: ${rp:0:300}"
  [ "$(jq -r .id_token_signed_response_alg <<<"$rp")" = "$id_alg" ] \
    || log "WARNING tessera client says id_token_signed_response_alg=$(jq -r .id_token_signed_response_alg <<<"$rp")"
  CLIENT_ENV=(LOAD_FLOW_CLIENT_ID="$id" LOAD_FLOW_CLIENT_SECRET="$secret"
    LOAD_USER="$FLOW_USER" LOAD_PASSWORD="$FLOW_PASSWORD")
  RESOURCE_ARGS=(--redirect-uri "$TESSERA_REDIRECT" --flow-scope "$FLOW_SCOPE")
}

admin() { # METHOD PATH [JSON] -> body on stdout; fails unless 2xx
  local out code args=(-sS -X "$1" -H "Authorization: Bearer $ADMIN_KEY" -H "Accept: application/json"
    -o "$TMP/admin.body" -w '%{http_code}')
  [ $# -ge 3 ] && args+=(-H "Content-Type: application/json" --data "$3")
  code=$(curl "${args[@]}" "${BASE%/t/default}/api/v1$2") || die "admin $1 $2: curl failed"
  out=$(cat "$TMP/admin.body")
  [[ "$code" == 2* ]] || die "admin $1 $2: HTTP $code: ${out:0:300}"
  printf '%s' "$out"
}

start_peer() { # ALG LABEL
  local alg=$1 label=$2
  if curl -s -o /dev/null "http://127.0.0.1:$PEER_PORT/"; then
    die "something already listens on 127.0.0.1:$PEER_PORT (set PEER_PORT)"
  fi
  NODE_ENV=production PORT="$PEER_PORT" AT_ALG="$alg" taskset -c "$SERVER_CPU" \
    node "$PEER_WORK/server.mjs" >"$RES/server-$label.log" 2>&1 &
  SERVER_PID=$!
  BASE="http://127.0.0.1:$PEER_PORT"
  wait_http "$BASE/.well-known/openid-configuration" \
    || { tail -20 "$RES/server-$label.log" >&2; die "peer did not start"; }
  CLIENT_ENV=(LOAD_CLIENT_ID=bench-client LOAD_CLIENT_SECRET=bench-secret)
  RESOURCE_ARGS=(--jwt-resource urn:bench:jwt --opaque-resource urn:bench:opaque)
}

# The flows variant of the peer (see step 2): login and consent through devInteractions.
start_peer_flows() { # ID_ALG LABEL
  local id_alg=$1 label=$2
  if curl -s -o /dev/null "http://127.0.0.1:$PEER_PORT/"; then
    die "something already listens on 127.0.0.1:$PEER_PORT (set PEER_PORT)"
  fi
  NODE_ENV=production PORT="$PEER_PORT" AT_ALG=ES256 ID_ALG="$id_alg" taskset -c "$SERVER_CPU" \
    node "$PEER_WORK/server-flows.mjs" >"$RES/server-$label.log" 2>&1 &
  SERVER_PID=$!
  BASE="http://127.0.0.1:$PEER_PORT"
  wait_http "$BASE/.well-known/openid-configuration" \
    || { tail -20 "$RES/server-$label.log" >&2; die "peer did not start"; }
  CLIENT_ENV=(LOAD_FLOW_CLIENT_ID=bench-client LOAD_FLOW_CLIENT_SECRET=bench-secret
    LOAD_USER="$FLOW_USER" LOAD_PASSWORD="$FLOW_PASSWORD")
  RESOURCE_ARGS=(--redirect-uri "$PEER_REDIRECT" --flow-scope "$FLOW_SCOPE")
}

printf 'server\tconfig\tidle_kib\tafter_kib\tpeak_kib\n' >"$RES/rss.tsv"
PROBLEMS=0 # runs whose tessera-load exited non-zero: the table is printed, then exit 1

# run_config SERVER ALG SCENARIOS LABEL [extra tessera-load args...]
# Starts the server (start_SERVER, or start_$START when set), loads it, appends its rows to
# $RES/SERVER.rows and its RSS to rss.tsv. Rows of cc_jwt, code_flow and refresh get ALG in
# their name (the access token's for cc_jwt, the ID token's for the flows).
run_config() {
  local server=$1 alg=$2 scenarios=$3 label=$4 rc=0 idle after peak
  shift 4
  "start_${START:-$server}" "$alg" "$label"
  log "$label: pid=$SERVER_PID cpus=$(taskset -pc "$SERVER_PID" | sed 's/.*: //') base=$BASE loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
  sleep 1
  idle=$(status_kib "$SERVER_PID" VmRSS)
  env "${CLIENT_ENV[@]}" taskset -c "$LOADGEN_CPU" "$LOAD_BIN" "$BASE" --threads 1 \
    "${RESOURCE_ARGS[@]}" --scope "$SCOPE" --server-pid "$SERVER_PID" \
    --scenarios "$scenarios" "$@" >"$RES/$label.out" 2>"$RES/$label.err" || rc=$?
  after=$(status_kib "$SERVER_PID" VmRSS)
  peak=$(status_kib "$SERVER_PID" VmHWM)
  stop_server
  grep -E '^# (PREFLIGHT|SKIP|WARNING)|^tessera-load: error' "$RES/$label.err" >&2 || true
  case $rc in
    0) ;;
    3) log "$label: preflight problems, see $RES/$label.err"; PROBLEMS=$((PROBLEMS + 1)) ;;
    *) log "$label: tessera-load failed (exit $rc), see $RES/$label.err"; PROBLEMS=$((PROBLEMS + 1)) ;;
  esac
  printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$label" "$idle" "$after" "$peak" >>"$RES/rss.tsv"
  # Table rows; cc_jwt and flow rows carry the signing algorithm in their name. Fill runs are
  # no rows.
  if [[ "$label" != *-fill ]]; then
    sed -E "s/^(cc_jwt|code_flow|refresh)_c/\1_${alg,,}_c/" "$RES/$label.out" >>"$RES/$server.rows"
    # Runs where tessera-load itself used most of its core measure the load generator.
    awk -v max="$LOADGEN_BUSY_PCT" -v alg="${alg,,}" '
      /^# [a-z_]+_c[0-9]+: .*loadgen_cpu=[0-9]+%/ {
        name = substr($2, 1, length($2) - 1)
        if (match(name, /^(cc_jwt|code_flow|refresh)_c/)) name = substr(name, 1, RLENGTH - 2) "_" alg substr(name, RLENGTH - 1)
        match($0, /loadgen_cpu=[0-9]+/); pct = substr($0, RSTART + 12, RLENGTH - 12) + 0
        if (pct >= max) print name, pct
      }' "$RES/$label.err" >>"$RES/$server.loadgen-busy"
  fi
}

# ---- 3. the measured configurations ---------------------------------------------------------
for server in tessera peer; do
  want "$server" || continue
  : >"$RES/$server.rows"
  : >"$RES/$server.loadgen-busy"
  if suite tokens; then
    for alg in "${ALGS[@]}"; do
      if [ "$alg" = ES256 ]; then scen=cc_jwt,cc_opaque,introspect,discovery,jwks; else scen=cc_jwt; fi
      run_config "$server" "$alg" "$scen" "$server-${alg,,}" \
        --duration "$DURATION" --warmup "$WARMUP" --concurrency "$CONCURRENCY"
    done
  fi
  if suite flows; then
    for id_alg in "${ID_ALGS[@]}"; do
      START="${server}_flows" run_config "$server" "$id_alg" code_flow,refresh "$server-flows-${id_alg,,}" \
        --duration "$DURATION" --warmup "$WARMUP" --concurrency "$CONCURRENCY"
    done
  fi
  if [ "$OPAQUE_FILL" -gt 0 ]; then
    run_config "$server" ES256 cc_opaque "$server-fill" \
      --concurrency "$FILL_CONCURRENCY" --warmup 0 --requests "$OPAQUE_FILL" --duration "$FILL_MAX_SECS" \
      --timeout 60 # a cold server may leave a few of many fresh connections waiting for seconds
  fi
done

# ---- 4. the table ---------------------------------------------------------------------------
declare -A T P BUSY
busy_rows=0
for server in tessera peer; do
  [ -f "$RES/$server.rows" ] || continue
  while read -r name _; do BUSY[$server:$name]="*"; busy_rows=$((busy_rows + 1)); done <"$RES/$server.loadgen-busy"
  while read -r name rps p50 p99 non2xx; do
    [ -n "${name:-}" ] || continue
    rps="$rps${BUSY[$server:$name]:-}"
    if [ "$server" = tessera ]; then T[$name]="$rps $p50 $p99 $non2xx"; else P[$name]="$rps $p50 $p99 $non2xx"; fi
  done <"$RES/$server.rows"
done

{
  echo "| scenario | tessera rps | peer rps | ratio | tessera p50/p99 ms | peer p50/p99 ms | non2xx t/p |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for row in "${ROWS[@]}"; do
    for c in ${CONCURRENCY//,/ }; do
      name="${row}_c$c"
      [ -n "${T[$name]:-}${P[$name]:-}" ] || continue # a suite that did not run
      read -r trps tp50 tp99 tnon <<<"${T[$name]:-- - - -}"
      read -r prps pp50 pp99 pnon <<<"${P[$name]:-- - - -}"
      ratio=$(awk -v a="${trps%\*}" -v b="${prps%\*}" 'BEGIN{ if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/ && b > 0) printf "%.2f", a/b; else print "-" }')
      echo "| $name | $trps | $prps | $ratio | $tp50 / $tp99 | $pp50 / $pp99 | $tnon / $pnon |"
    done
  done
  if [ "$busy_rows" -gt 0 ]; then
    echo
    echo "\* tessera-load used ≥ ${LOADGEN_BUSY_PCT}% of its core: that rps may be the load generator's limit, not the server's."
  fi
  echo
  echo "| server RSS | idle MiB | after load MiB | peak (VmHWM) MiB |"
  echo "|---|---:|---:|---:|"
  tail -n +2 "$RES/rss.tsv" | while IFS=$'\t' read -r _ label idle after peak; do
    note=
    if [[ "$label" == *-fill ]]; then
      note=" (after $OPAQUE_FILL opaque tokens: $(awk '{printf "%s ok/s, %s non2xx", $2, $5}' "$RES/$label.out"))"
    fi
    echo "| $label$note | $(mib "$idle") | $(mib "$after") | $(mib "$peak") |"
  done
  echo
  if suite flows; then
    echo
    echo "code_flow: rps = flows/s (authorize with the session cookie + code exchange + one refresh), p50/p99 of the whole flow; refresh: refreshes/s. Row suffix = ID token alg (access tokens ES256)."
  fi
  echo "duration ${DURATION}s, warmup ${WARMUP}s, server on CPU $SERVER_CPU, tessera-load (1 thread) on CPU $LOADGEN_CPU; raw output: ${RES#"$ROOT"/}"
} | tee "$RES/summary.md"
if [ "$PROBLEMS" -gt 0 ]; then
  log "$PROBLEMS run(s) had preflight problems or failed: see the .err files in $RES"
  exit 1
fi
