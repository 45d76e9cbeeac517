#!/usr/bin/env bash
# Usage: scripts/ensure-pkg.sh LABEL
# Builds pkg/ (scripts/build-pkg.sh) when it is missing or older than any of
# its inputs; otherwise does nothing. LABEL prefixes the message.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
label=${1:-ensure-pkg}
if [[ ! -f pkg/index.js || ! -f pkg/pos_resilience_bg.wasm ]]; then
  echo "$label: building pkg/ (missing)"
  bash scripts/build-pkg.sh
elif newer="$(find src js pkg-template scripts/build-pkg.sh scripts/lib.sh Cargo.toml Cargo.lock -type f -newer pkg/index.js -print -quit)" && [[ -n "$newer" ]]; then
  echo "$label: building pkg/ ($newer is newer than pkg/index.js)"
  bash scripts/build-pkg.sh
fi
