#!/usr/bin/env bash
# client_credentials with 0, 5 and 50 permissions in the token, side by side in one run: one
# Tessera (pinned to CPU 0), three JWT clients whose roles grant 0, 5 and 50 permissions, and
# tessera-load (pinned to CPU 1, one thread) on each in turn, ROUNDS times in rotation, so
# machine noise falls on all three alike. Prints each run and the median rps per count.
#
# Usage: loadtests/permissions.sh TESSERA_BIN TESSERA_LOAD_BIN
# Env: ROUNDS=5 DURATION=8 WARMUP=2 CONCURRENCY=32 ALG=ES256 FORMAT=jwt|opaque
set -euo pipefail
BIN=$1 LOAD=$2
ROUNDS=${ROUNDS:-5} DURATION=${DURATION:-8} WARMUP=${WARMUP:-2} CONCURRENCY=${CONCURRENCY:-32}
ALG=${ALG:-ES256} FORMAT=${FORMAT:-jwt}
COUNTS=(0 5 50)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-perms.XXXXXX")
KEY=perm-admin-key-0123456789abcdefghijklmnop
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

TESSERA_ADMIN_KEY=$KEY taskset -c 0 "$BIN" serve --data-dir "$TMP/data" --listen 127.0.0.1:0 \
  >"$TMP/server.log" 2>"$TMP/server.err" &
PID=$!
for _ in $(seq 300); do grep -q listening "$TMP/server.log" && break; sleep 0.1; done
B=$(sed -n 's/^listening on //p' "$TMP/server.log")
A="Authorization: Bearer $KEY"; J='Content-Type: application/json'
api() { curl -fsS -X "$1" -H "$A" -H "$J" "$B/api/v1/tenants/default$2" ${3:+-d "$3"}; }
api PUT /settings "{\"access_token_alg\":\"$ALG\"}" >/dev/null
declare -A ID SECRET
for n in "${COUNTS[@]}"; do
  c=$(api POST /clients "{\"grant_types\":[\"client_credentials\"],\"scope\":\"api:read\",\"access_token_format\":\"$FORMAT\"}")
  ID[$n]=$(jq -r .client_id <<<"$c"); SECRET[$n]=$(jq -r .client_secret <<<"$c")
  if [ "$n" -gt 0 ]; then
    perms=$(seq 1 "$n" | awk '{printf "%s\"orders:permission:%03d\"", (NR>1?",":""), $1}')
    api POST /roles "{\"name\":\"p$n\",\"permissions\":[$perms]}" >/dev/null
    api POST "/clients/${ID[$n]}/roles" "{\"role\":\"p$n\"}" >/dev/null
  fi
done
scenario=cc_jwt; [ "$FORMAT" = opaque ] && scenario=cc_opaque
echo "# $ALG $FORMAT access tokens, $ROUNDS rounds of ${DURATION}s at concurrency $CONCURRENCY"
for r in $(seq "$ROUNDS"); do
  for n in "${COUNTS[@]}"; do
    args=(--client-id "${ID[$n]}" --client-secret "${SECRET[$n]}")
    [ "$FORMAT" = opaque ] && args=(--opaque-client-id "${ID[$n]}" --opaque-client-secret "${SECRET[$n]}")
    line=$(taskset -c 1 "$LOAD" "$B/t/default" "${args[@]}" --scenarios "$scenario" \
      --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" --threads 1 2>/dev/null)
    echo "round $r permissions $n: $line"
    echo "$n $(awk '{print $2}' <<<"$line")" >>"$TMP/rps"
  done
done
echo "# median rps: permissions rps"
for n in "${COUNTS[@]}"; do
  awk -v n="$n" '$1==n{print $2}' "$TMP/rps" | sort -n | awk -v n="$n" '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print n, m}'
done
echo "# token size: $(curl -fsS -u "${ID[50]}:${SECRET[50]}" -d grant_type=client_credentials "$B/t/default/token" | jq -r '.access_token | length') bytes with 50 permissions"
