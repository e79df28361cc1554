#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs the system packages the tests need when
# they are missing (SoftHSM2 for the PKCS#11 signer; Chromium and chromedriver for the browser
# tests; PostgreSQL for the PostgreSQL store's conformance suite), starts a throwaway PostgreSQL
# cluster (scripts/postgres.sh; stopped and removed on exit), then checks formatting and lints
# and runs every test with cargo-nextest (one process per test, which SoftHSM2's per-process
# configuration needs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# The PostgreSQL TLS tests make their server's certificate with it.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "# installing ${missing[*]}" >&2
  apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >&2
  }
  # The package lists are refreshed only when they do not know the packages or are too stale
  # to install them.
  if ! { apt-cache show "${missing[@]}" >/dev/null 2>&1 && apt_install; }; then
    as_root apt-get update -qq </dev/null
    apt_install
  fi
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "# installing cargo-nextest" >&2
  cargo install cargo-nextest --locked
fi

# The PostgreSQL store's tests fail without a cluster: start one for them.
postgres_dir=
stop_postgres() { if [ -n "$postgres_dir" ]; then scripts/postgres.sh stop "$postgres_dir"; fi; }
trap stop_postgres EXIT
# Assigned first, so a failed start stops the script (an `eval "$(...)"` would not).
postgres_env=$(scripts/postgres.sh start)
eval "$postgres_env"
postgres_dir=$TESSERA_TEST_POSTGRES_DIR
export TESSERA_TEST_POSTGRES_URL

# Incremental caches only help a second build in the same tree; on a fresh checkout they
# are gigabytes of disk for nothing.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo nextest run --workspace --locked --no-fail-fast "$@"
