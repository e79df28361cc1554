#!/usr/bin/env bash
# Creates a SoftHSM2 token for development and tests:
#   scripts/softhsm-token.sh DIR LABEL PIN
# writes DIR/softhsm2.conf (tokens in DIR/tokens, file object store, errors-only log),
# initialises a token LABEL with user PIN PIN in the first free slot, and prints the PKCS#11
# module path. Then run the server (or anything using the token) with
#   SOFTHSM2_CONF=DIR/softhsm2.conf
# set in its environment: SoftHSM2 reads it once, when the library is initialised.
# tessera_signer::softhsm::init_token does the same from Rust.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 DIR LABEL PIN" >&2
  exit 2
fi
dir=$1 label=$2 pin=$3

if ! command -v softhsm2-util >/dev/null 2>&1; then
  echo "$0: softhsm2-util not found: install the softhsm2 package (apt-get install softhsm2)" >&2
  exit 1
fi
module=
for m in /usr/lib/softhsm/libsofthsm2.so \
         /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
         /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so \
         /usr/local/lib/softhsm/libsofthsm2.so; do
  if [ -f "$m" ]; then module=$m; break; fi
done
if [ -z "$module" ]; then
  echo "$0: libsofthsm2.so not found: install the softhsm2 package" >&2
  exit 1
fi

mkdir -p "$dir/tokens"
dir=$(cd "$dir" && pwd)
cat > "$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
CONF

# The SO PIN is never used after initialisation; derive a throwaway one, as the Rust helper does.
SOFTHSM2_CONF="$dir/softhsm2.conf" softhsm2-util --init-token --free \
  --label "$label" --pin "$pin" --so-pin "so-$pin" >&2

echo "$module"
