#!/usr/bin/env bash
# Sign-in latency, local and federated, in one run (issue 11): one Tessera pinned to CPU 0 and
# the driver (loadtests/federation.py: a fresh browser per sign-in, sequential) on CPU 1.
#
# Usage: loadtests/federation.sh TESSERA_BIN
# Env: ROUNDS=5 PER_ROUND=40
set -euo pipefail
BIN=$1
ROUNDS=${ROUNDS:-5} PER_ROUND=${PER_ROUND:-40}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-federation.XXXXXX")
KEY=federation-admin-key-0123456789abcdefghij
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
# Generous sign-in limits: the driver signs in hundreds of times from one address.
TESSERA_ADMIN_KEY=$KEY taskset -c 0 "$BIN" serve --data-dir "$TMP/data" --listen 127.0.0.1:0 \
  --login-attempts-per-user-per-minute 100000 --login-attempts-per-ip-per-minute 100000 \
  >"$TMP/server.log" 2>"$TMP/server.err" &
PIDS+=($!)
for _ in $(seq 300); do grep -q listening "$TMP/server.log" && break; sleep 0.1; done
B=$(sed -n 's/^listening on //p' "$TMP/server.log")
echo "# sequential sign-ins, $ROUNDS rounds of $PER_ROUND per case; Tessera on CPU 0, driver on CPU 1"
taskset -c 1 python3 "$HERE/federation.py" "$B" "$KEY" "$ROUNDS" "$PER_ROUND"
