#!/usr/bin/env bash
# Peak memory of a STIX import (parse only, `--dry-run`) against the size of
# the bundle: a generated bundle of about MB megabytes (default 200) of
# indicators, all referenced by one report, the worst case for the drafts.
#
#   benches/stix_memory.sh [MB]
# Prints the input size, the peak RSS of `threatmapper import stix --dry-run`
# (text and JSON output) and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
MB="${1:-200}"
OUT=bench-out
mkdir -p "$OUT/stix-memory"
cargo build --quiet --release --bin threatmapper --example gen_formats
TARGET="${CARGO_TARGET_DIR:-target}/release"
# One generated indicator takes about 485 bytes.
"$TARGET/examples/gen_formats" "$OUT/stix-memory" $((MB * 1000000 / 485)) 1
bundle="$OUT/stix-memory/bundle.json"
size=$(stat -c %s "$bundle")
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
for fmt in text json; do
  peak=$( { /usr/bin/time -f "%M" "$TARGET/threatmapper" import stix "$bundle" --dry-run --format "$fmt" > /dev/null; } 2>&1 | tail -1)
  awk -v s="$size" -v p="$peak" -v f="$fmt" \
    'BEGIN { printf "stix --dry-run --format %s: input %.1f MiB, peak RSS %.1f MiB, %.2fx the input\n", f, s/1048576, p/1024, p*1024/s }'
done
rm -f "$bundle" "$OUT/stix-memory/feed.xml"
