#!/usr/bin/env bash
# Prints the size of the built package (pkg/): the .wasm and the JS glue
# (index.js, wasm-bindgen's glue and js/glue.js in one file), raw, gzip -9 and brotli (quality
# 11, node's zlib: what CDNs serve), per file and in total. Writes the same
# table to target/size.txt. Then, when twiggy is installed (cargo install
# twiggy), the 15 largest items of the .wasm: the module as wasm-bindgen wrote
# it (kept by scripts/build-pkg.sh with its names), through the same
# wasm-opt passes but keeping the names, so the sizes are those of the shipped
# code. Run `make pkg` first.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ -f pkg/pos_resilience_bg.wasm ] || die "pkg/ is not built: run 'make pkg'"

files=(pkg/pos_resilience_bg.wasm pkg/index.js)

target_dir=${CARGO_TARGET_DIR:-target}
mkdir -p "$target_dir"
# One line per file: name, raw, gzip -9 (the gzip command, as before), brotli;
# then the .wasm, the JS glue and the total.
for f in "${files[@]}"; do
  printf '%s\t%s\n' "$f" "$(gzip -9 -c "$f" | wc -c)"
done | node -e '
const fs = require("node:fs"), zlib = require("node:zlib");
const rows = fs.readFileSync(0, "utf8").trim().split("\n").map((l) => {
  const [file, gz] = l.split("\t");
  const bytes = fs.readFileSync(file);
  const br = zlib.brotliCompressSync(bytes, { params: {
    [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }).length;
  return { name: file.replace(/^pkg\//, ""), raw: bytes.length, gz: +gz, br };
});
const sum = (name, rs) => ({ name, raw: rs.reduce((a, r) => a + r.raw, 0),
  gz: rs.reduce((a, r) => a + r.gz, 0), br: rs.reduce((a, r) => a + r.br, 0) });
const line = (r) => r.name.padEnd(60) + [r.raw, r.gz, r.br].map((n) => String(n).padStart(10)).join(" ");
console.log("file".padEnd(60) + ["raw", "gzip-9", "brotli"].map((h) => h.padStart(10)).join(" "));
for (const r of rows) console.log(line(r));
const wasm = rows.filter((r) => r.name.endsWith(".wasm")), js = rows.filter((r) => r.name.endsWith(".js"));
console.log(line(sum("wasm", wasm)));
console.log(line(sum("js (index.js)", js)));
console.log(line(sum("total", rows)));
' | tee "$target_dir/size.txt"

named="$target_dir/pkg-build/pos_resilience_bg.pre-opt.wasm"
if ! command -v twiggy >/dev/null; then
  echo "size: twiggy is not installed (cargo install twiggy): no breakdown of the .wasm"
elif ! [ -f "$named" ] || ! sha256sum --quiet --check "$target_dir/pkg-build/pkg.sha256" >/dev/null 2>&1; then
  echo "size: $named is missing or is not that of pkg/ (make pkg keeps it): no breakdown of the .wasm"
else
  # The same features and passes as scripts/build-pkg.sh, names kept (-g).
  node_modules/.bin/wasm-opt "${WASM_OPT_ARGS[@]}" -g "$named" -o "$target_dir/pkg-build/pos_resilience_bg.named.wasm"
  echo
  echo "twiggy top -n 15: the largest items of pkg/pos_resilience_bg.wasm (bytes, share of its $(stat -c %s pkg/pos_resilience_bg.wasm) raw bytes)"
  twiggy top -n 16 -f json "$target_dir/pkg-build/pos_resilience_bg.named.wasm" | node -e '
const total = +process.argv[1];
const items = JSON.parse(require("node:fs").readFileSync(0, "utf8"))
  .filter((i) => i.name !== "\"function names\" subsection").slice(0, 15);
for (const i of items) {
  // Crate hashes out, long generic names cut: the point is where the bytes are.
  let name = i.name.replace(/\[[0-9a-f]{8,}\]/g, "");
  if (name.length > 110) name = name.slice(0, 107) + "...";
  console.log(String(i.shallow_size).padStart(8) + (100 * i.shallow_size / total).toFixed(1).padStart(6) + "%  " + name);
}' "$(stat -c %s pkg/pos_resilience_bg.wasm)"
fi
