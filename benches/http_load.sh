#!/usr/bin/env bash
# Bounded load run against a local `threatmapper serve` (loopback only):
# intake listing from N connections for a fixed time, then STIX imports,
# compared with direct store ingest of the same bundles.
#
#   benches/http_load.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
SECONDS_RUN="${1:-10}"
CONNS="${2:-32}"
cargo build --release --bin threatmapper --example load_client --example gen_formats -q
BIN="${CARGO_TARGET_DIR:-target}/release"
tmp="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
DATABASE_URL="sqlite://$tmp/load.db" SCHEDULER_ENABLED=false RUST_LOG=warn \
  "$BIN/threatmapper" serve --bind 127.0.0.1:0 > "$tmp/out" 2> "$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/out" 2>/dev/null && break; sleep 0.1; done
base="$(sed -n 's/^listening on \(http:[^ ]*\)\/$/\1/p' "$tmp/out")"
echo "server: $base (pid $pid)"
# Seed the intake queue with 10k feed reports.
"$BIN/examples/gen_formats" "$tmp/seed" 10 10000
curl -s -o /dev/null -w 'seed import: HTTP %{http_code} in %{time_total} s\n' \
  -H 'content-type: application/rss+xml' --data-binary @"$tmp/seed/feed.xml" "$base/api/pipeline/import/feed"
rss_before="$(ps -o rss= -p "$pid" | tr -d ' ')"
total_before="$(curl -s "$base/api/pipeline/intake?limit=1" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')"
# wrk (Debian's package; installed here when missing and possible) measures
# the read path with less client overhead than the Rust client.
if ! command -v wrk >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -q wrk >/dev/null 2>&1 || true
fi
if command -v wrk >/dev/null; then
  echo "== wrk: GET /api/pipeline/intake?status=pending&limit=50"
  wrk -t1 -c"$CONNS" -d"${SECONDS_RUN}s" --latency "$base/api/pipeline/intake?status=pending&limit=50" \
    | grep -E 'Requests/sec|Latency|50%|99%|Socket errors|Non-2xx'
fi
echo "== load_client (reqwest, in-process comparison for imports)"
"$BIN/examples/load_client" --base "$base" --seconds "$SECONDS_RUN" --connections "$CONNS"
rss_after="$(ps -o rss= -p "$pid" | tr -d ' ')"
total_after="$(curl -s "$base/api/pipeline/intake?limit=1" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')"
echo "server RSS: ${rss_before} KiB after seeding, ${rss_after} KiB after the load"
# The load client imports 200 + 20 distinct bundles, one report each.
echo "reports: ${total_before} before the load, ${total_after} after (expected $((total_before + 220)))"
