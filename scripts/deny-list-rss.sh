#!/usr/bin/env bash
# The resident set of a store opened with N live JWT revocations, against an empty one (issue 8,
# item 8). Usage: scripts/deny-list-rss.sh [N]   (default 1000000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n="${1:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p tessera-storage --example deny_list_rss
bin="${CARGO_TARGET_DIR:-target}/release/examples/deny_list_rss"
"$bin" write "$work/empty" 0 >/dev/null
"$bin" write "$work/full" "$n"
for run in 1 2 3; do
  echo "run $run: empty: $("$bin" open "$work/empty")"
  echo "run $run: full:  $("$bin" open "$work/full")"
done
