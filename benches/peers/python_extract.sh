#!/usr/bin/env bash
# threatmapper.extract (the Python module, release build) against iocextract
# inside one Python process, on the same report-like corpus, call overhead
# included. Prints MB/s and the ratio.
#
#   benches/peers/python_extract.sh [PEER_MB]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
PEER_MB="${1:-1}"
OUT=bench-out
mkdir -p "$OUT"
cargo build --quiet --release --example gen_corpus
"${CARGO_TARGET_DIR:-target}/release/examples/gen_corpus" "$OUT/corpus-py.txt" "$PEER_MB" 42
VENV="$OUT/.venv-pybench"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import maturin, iocextract, requests' 2>/dev/null \
  || "$VENV/bin/pip" install -q 'maturin>=1.9.4,<2' iocextract requests
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" maturin develop -q --release -m crates/threatmapper-py/Cargo.toml
"$VENV/bin/python" benches/peers/python_extract.py "$OUT/corpus-py.txt"
