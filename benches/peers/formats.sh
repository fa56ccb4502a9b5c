#!/usr/bin/env bash
# Peer comparison for import parsing, same inputs, same run:
#   - STIX: ThreatMapper's importer vs python `stix2.parse` (objects/s) on a
#     generated 10k-indicator bundle and the public STIX samples;
#   - feeds: ThreatMapper's importer (with HTML-to-text and observable
#     extraction) vs python `feedparser.parse` (entries/s) on a generated
#     500-entry RSS feed and the public feed samples (real blog/news feeds,
#     among them the 157 KB Atom feed feedparser's own perf script uses).
#
#   benches/peers/formats.sh [STIX_INDICATORS] [FEED_ENTRIES]
# The public samples come from ../shared/corpus (THREATMAPPER_CORPUS) when
# present. See formats_peers.py for how each side is timed.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
N="${1:-10000}"
M="${2:-500}"
OUT=bench-out
mkdir -p "$OUT"
cargo build --quiet --release --bin threatmapper --example gen_formats --example time_import
TARGET="${CARGO_TARGET_DIR:-target}/release"
"$TARGET/examples/gen_formats" "$OUT/formats" "$N" "$M"
if ! "$OUT/.venv-formats/bin/python" -c "import stix2, feedparser" 2>/dev/null; then
  python3 -m venv "$OUT/.venv-formats"
  "$OUT/.venv-formats/bin/pip" install -q stix2 feedparser
fi
args=(--stix "$OUT/formats/bundle.json" --feed "$OUT/formats/feed.xml")
C="${THREATMAPPER_CORPUS:-}"
if [ -n "$C" ] && [ -d "$C" ]; then
  for f in stix/poisonivy.json stix/apt1.json atlas/stix-atlas.json; do
    [ -f "$C/$f" ] && args+=(--stix "$C/$f")
  done
  for f in feedparser/large_atom_feed_that_needs_css_sanitisation.xml feed-rs/rss_2.0_cloudflare.xml \
           feed-rs/rss_2.0_spiegel.xml feed-rs/rss_2.0_bbc.xml feed-rs/rss_1.0_debian.xml \
           feed-rs/atom_example_reddit.xml; do
    [ -f "$C/feeds/$f" ] && args+=(--feed "$C/feeds/$f")
  done
else
  echo "(no corpus: generated inputs only)"
fi
"$OUT/.venv-formats/bin/python" benches/peers/formats_peers.py \
  --threatmapper "$TARGET/threatmapper" --time-import "$TARGET/examples/time_import" "${args[@]}"
