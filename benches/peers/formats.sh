#!/usr/bin/env bash
# Peer comparison for import parsing, same inputs, same run:
#   - STIX: `threatmapper import stix --dry-run` vs python `stix2.parse`
#     (objects/s) on a 10k-indicator bundle
#   - feeds: `threatmapper import feed --dry-run` (with observable extraction)
#     vs python `feedparser.parse` (entries/s) on a 500-entry RSS feed
#
#   benches/peers/formats.sh [STIX_INDICATORS] [FEED_ENTRIES]
# Our times are whole-process wall time (start-up included); the Python times
# are the parse call alone inside one interpreter.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
N="${1:-10000}"
M="${2:-500}"
OUT=bench-out
mkdir -p "$OUT"
cargo build --quiet --release --bin threatmapper --example gen_formats
TARGET="${CARGO_TARGET_DIR:-target}/release"
"$TARGET/examples/gen_formats" "$OUT/formats" "$N" "$M"
if ! "$OUT/.venv-formats/bin/python" -c "import stix2, feedparser" 2>/dev/null; then
  python3 -m venv "$OUT/.venv-formats"
  "$OUT/.venv-formats/bin/pip" install -q stix2 feedparser
fi
"$OUT/.venv-formats/bin/python" benches/peers/formats_peers.py \
  --threatmapper "$TARGET/threatmapper" --dir "$OUT/formats" --objects $((N + 2)) --entries "$M"
