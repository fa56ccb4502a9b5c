#!/usr/bin/env bash
# Peak memory of `threatmapper extract` on a large file (default 1 GiB), built
# by repeating the deterministic 20 MB benchmark corpus, so the number of
# unique observables stays that of the corpus (about 62k) while the input grows.
#
#   benches/memory.sh [GIB]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
GIB="${1:-1}"
OUT=bench-out
mkdir -p "$OUT"
cargo build --quiet --release --bin threatmapper --example gen_corpus
TARGET="${CARGO_TARGET_DIR:-target}/release"
[ -f "$OUT/corpus.txt" ] || "$TARGET/examples/gen_corpus" "$OUT/corpus.txt" 20 42
big="$OUT/big.txt"
: > "$big"
while [ "$(stat -c %s "$big")" -lt $((GIB * 1073741824)) ]; do cat "$OUT/corpus.txt" >> "$big"; done
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
for spans in "" "--spans"; do
  /usr/bin/time -f "extract $spans: %e s, peak RSS %M KiB" \
    "$TARGET/threatmapper" extract $spans "$big" > /dev/null
done
echo "input: $(stat -c %s "$big") bytes"
rm -f "$big"
