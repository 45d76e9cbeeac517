#!/usr/bin/env bash
# Prints the size of the built package (pkg/): the .wasm and the JS glue
# (pos_resilience.js, index.js, snippets/), raw and gzip -9, and the total
# gzip. Writes the same table to target/size.txt. Run `make pkg` first.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ -f pkg/pos_resilience_bg.wasm ] || { echo "size: pkg/ is not built: run 'make pkg'" >&2; exit 1; }

gz() { gzip -9 -c "$1" | wc -c; }
files=(pkg/pos_resilience_bg.wasm pkg/pos_resilience.js pkg/index.js)
while IFS= read -r f; do files+=("$f"); done < <(find pkg/snippets -type f -name '*.js' 2>/dev/null | sort)

mkdir -p target
{
  printf '%-60s %10s %10s\n' file raw gzip-9
  total_raw=0 total_gz=0 js_raw=0 js_gz=0
  for f in "${files[@]}"; do
    raw=$(stat -c %s "$f"); g=$(gz "$f")
    printf '%-60s %10d %10d\n' "${f#pkg/}" "$raw" "$g"
    total_raw=$((total_raw + raw)); total_gz=$((total_gz + g))
    case $f in *.js) js_raw=$((js_raw + raw)); js_gz=$((js_gz + g)) ;; esac
  done
  wasm=pkg/pos_resilience_bg.wasm
  printf '%-60s %10d %10d\n' "wasm" "$(stat -c %s "$wasm")" "$(gz "$wasm")"
  printf '%-60s %10d %10d\n' "js glue (pos_resilience.js + index.js + snippets)" "$js_raw" "$js_gz"
  printf '%-60s %10d %10d\n' "total" "$total_raw" "$total_gz"
} | tee target/size.txt
