#!/usr/bin/env bash
# Peer comparison for rule validation, same rules, same run:
#   - threatmapper-rules validate (the light CI binary)
#   - sigma check (sigma-cli / pySigma, installed into a venv here)
#
#   benches/peers/rules.sh [RULES_DIR]
# RULES_DIR defaults to the 300-rule corpus sample. sigma check loads MITRE
# ATT&CK data from the network at start; offline, the wrapper points it at an
# empty local bundle (so its ATT&CK tag check reports every tag), which only
# makes it faster. End-to-end wall time, best of 5, including start-up.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
RULES="${1:-../shared/corpus/sigma/rules}"
OUT=bench-out
mkdir -p "$OUT"
cargo build --quiet --release -p threatmapper-rules --features cli --bin threatmapper-rules
TARGET="${CARGO_TARGET_DIR:-target}/release"
if ! "$OUT/.venv-sigma/bin/python" -c "import sigma.cli" 2>/dev/null; then
  python3 -m venv "$OUT/.venv-sigma"
  "$OUT/.venv-sigma/bin/pip" install -q sigma-cli
fi
"$OUT/.venv-sigma/bin/python" benches/peers/rules_peers.py \
  --threatmapper-rules "$TARGET/threatmapper-rules" --rules "$RULES" --out "$OUT"
