#!/usr/bin/env bash
# Peer comparison for observable extraction, all tools on the same corpus in
# the same run:
#   - threatmapper extract (all kinds, one pass, JSON out)
#   - ripgrep with a single IPv4 regex (`rg -o`), the speed bar from issue 2
#   - python iocextract and ioc-finder (installed into a venv here)
#
#   benches/peers/extract.sh [MB] [PEER_MB]
# MB (default 20) is the corpus size for threatmapper and ripgrep; the Python
# tools are slow (well under 1 MB/s), so they run on the first PEER_MB
# (default 1) of the same corpus and throughput is compared in MB/s.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
MB="${1:-20}"
PEER_MB="${2:-1}"
OUT=bench-out
mkdir -p "$OUT"

cargo build --quiet --release --bin threatmapper --example gen_corpus
TARGET="${CARGO_TARGET_DIR:-target}/release"
"$TARGET/examples/gen_corpus" "$OUT/corpus.txt" "$MB" 42
head -c $((PEER_MB * 1048576)) "$OUT/corpus.txt" > "$OUT/corpus-peer.txt"

if ! command -v rg >/dev/null; then
  (apt-get install -y -qq ripgrep >/dev/null 2>&1 || true)
fi
if ! "$OUT/.venv-peers/bin/python" -c "import iocextract, ioc_finder" 2>/dev/null; then
  python3 -m venv "$OUT/.venv-peers"
  # iocextract imports requests without declaring it.
  "$OUT/.venv-peers/bin/pip" install -q iocextract ioc-finder requests
fi

"$OUT/.venv-peers/bin/python" benches/peers/extract_peers.py \
  --threatmapper "$TARGET/threatmapper" \
  --corpus "$OUT/corpus.txt" --peer-corpus "$OUT/corpus-peer.txt"
