#!/usr/bin/env bash
# Runs every coverage-guided fuzz target in fuzz/ (cargo-fuzz, libFuzzer) for a while each,
# one after another: a short check by hand or before a release, not a CI step.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   # default 60
#   FUZZ_RUNS=10000000 scripts/fuzz.sh     # a number of executions per target instead
#   FUZZ_TARGETS="jws record" scripts/fuzz.sh 30
#
# Builds on the stable toolchain: `-s none` turns off AddressSanitizer, the one part of
# cargo-fuzz that needs nightly (the code under test has no `unsafe` of its own); coverage
# instrumentation, debug assertions and overflow checks stay on. Installs cargo-fuzz when
# missing. The corpus grows under the target directory; the seeds in fuzz/corpus/ are only
# read. A crash leaves its input in fuzz/artifacts/TARGET/ and makes the script fail at the end.
set -euo pipefail

secs="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/fuzz}"
flags=(-O -a -s none --target-dir "$target_dir")

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd "$root/fuzz"
cargo fuzz build "${flags[@]}"

limit=(-max_total_time="$secs")
[[ -n "${FUZZ_RUNS:-}" ]] && limit=(-runs="$FUZZ_RUNS")

failed=()
for target in ${FUZZ_TARGETS:-$(cargo fuzz list)}; do
  work="$target_dir/work/$target"
  mkdir -p "$work/corpus"
  echo "== $target"
  if cargo fuzz run "${flags[@]}" "$target" "$work/corpus" "corpus/$target" -- \
    "${limit[@]}" -print_final_stats=1 >"$work/log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$target")
  fi
  execs=$(grep -o 'number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/log" | tail -1 || true)
  echo "   $status: $execs executions, $cov (log: $work/log)"
done

if ((${#failed[@]})); then
  echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
