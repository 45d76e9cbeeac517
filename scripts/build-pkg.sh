#!/usr/bin/env bash
# Builds the npm package into pkg/:
#   cargo +$PKG_TOOLCHAIN build -Zbuild-std (wasm32, profile wasm-release,
#   panics abort at once) -> wasm-bindgen --target web --encode-into always
#   -> short names across the wasm/JS boundary (scripts/shorten-wasm-names.mjs)
#   -> wasm-opt (binaryen from node_modules) -> the JS bundled and minified
#   into index.js (esbuild) -> package files from pkg-template/ -> index.d.ts
#   -> a check that the result loads and instantiates.
# Needs `make tools` (the pinned nightly, wasm-bindgen-cli, node_modules).
# PKG_TOOLCHAIN=stable builds with the stable toolchain and no build-std, as
# before (larger; for comparison). Keeps the module as wasm-bindgen wrote it,
# before wasm-opt and with its names, in $target_dir/pkg-build/ for
# scripts/size.sh (twiggy).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

crate=pos-resilience
out=pkg
target_dir=${CARGO_TARGET_DIR:-target}
wasm_opt=node_modules/.bin/wasm-opt

[ -x "$wasm_opt" ] || die "$wasm_opt is missing: run 'make tools' (npm ci)"
command -v wasm-bindgen >/dev/null || die "wasm-bindgen is missing: run 'make tools'"

build=(build --lib --target wasm32-unknown-unknown --profile wasm-release -p "$crate")
if [ "$PKG_TOOLCHAIN" = stable ]; then
  wasm_in="$target_dir/wasm32-unknown-unknown/wasm-release/pos_resilience.wasm"
  echo "build-pkg: cargo ${build[*]}"
  cargo "${build[@]}"
else
  # The standard library is compiled with the package (-Zbuild-std) so that
  # it, too, is optimised for size and has no panic machinery: a panic is a
  # `unreachable` trap (a WebAssembly.RuntimeError in the caller), as with
  # panic = "abort" on stable, where the message printed nowhere either.
  # Its own target directory, so the stable builds (tests, server) keep theirs.
  nightly_target="$target_dir/pkg-nightly"
  wasm_in="$nightly_target/wasm32-unknown-unknown/wasm-release/pos_resilience.wasm"
  command -v rustup >/dev/null && rustup run "$PKG_TOOLCHAIN" true 2>/dev/null \
    || die "the Rust toolchain $PKG_TOOLCHAIN is missing: run 'make tools'"
  build+=(-Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size)
  # -Zlocation-detail=none: no source paths for panic locations, which
  # immediate-abort never prints.
  # Reference types stay on (rustc's default): without them wasm-bindgen
  # keeps the JavaScript values the module holds in an array of the glue,
  # 0.8 KB gzip smaller, but the page's JS heap then grows 20 KB more over
  # 9,000 calls (`make bench`, heap_growth_kb: 62 KB against 42 KB).
  rustflags="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
  echo "build-pkg: cargo +$PKG_TOOLCHAIN ${build[*]} (RUSTFLAGS=$rustflags)"
  CARGO_TARGET_DIR="$nightly_target" RUSTFLAGS="$rustflags" cargo "+$PKG_TOOLCHAIN" "${build[@]}"
fi

# --encode-into always: strings go to wasm through TextEncoder#encodeInto
# only, without the fallback for engines that lack it (every engine with the
# wasm features of WASM_OPT_ARGS in scripts/lib.sh has it): 45 B less gzip
# of JS glue.
echo "build-pkg: wasm-bindgen --target web --encode-into always"
rm -rf "$out"
wasm-bindgen --target web --encode-into always --out-dir "$out" --out-name pos_resilience "$wasm_in"
# wasm-bindgen declares `[Symbol.dispose](): void` on exported classes, which
# only TypeScript's esnext lib knows: a user with lib ES2022 and skipLibCheck
# off would get TS2550 inside our package. The method stays at run time; the
# declaration goes (close() is the documented way to let a client go).
sed -i '/\[Symbol\.dispose\]()/d' "$out/pos_resilience.d.ts"

bg="$out/pos_resilience_bg.wasm"
before=$(stat -c %s "$bg")
mkdir -p "$target_dir/pkg-build"
cp "$bg" "$target_dir/pkg-build/pos_resilience_bg.pre-opt.wasm"
# Short names for what crosses between the .wasm and its JS glue (the
# imports from the glue and the exports), in both files alike: wasm-bindgen's
# hashed and type-long names cost 4.8 KB gzip over the two.
node scripts/shorten-wasm-names.mjs "$bg" "$out/pos_resilience.js"
echo "build-pkg: wasm-opt ${WASM_OPT_ARGS[*]} ($("$wasm_opt" --version))"
"$wasm_opt" "${WASM_OPT_ARGS[@]}" --strip-debug --strip-producers "$bg" -o "$bg.opt"
mv "$bg.opt" "$bg"
sha256sum "$bg" >"$target_dir/pkg-build/pkg.sha256"   # which build the kept copy is of
echo "build-pkg: $bg $before -> $(stat -c %s "$bg") bytes"

echo "build-pkg: package files"
# The SDK imports ApiError from js/glue.js; wasm-bindgen copies that file to
# snippets/<crate>-<hash>/js/glue.js and imports it from pos_resilience.js.
shopt -s nullglob
glue=("$out"/snippets/*/js/glue.js)
shopt -u nullglob
[ "${#glue[@]}" -eq 1 ] || die "expected exactly one snippets/*/js/glue.js in $out, found ${#glue[@]} (does src/ import ApiError from /js/glue.js?)"
glue_rel=./${glue[0]#"$out"/}
grep -q '^export class ApiClient\b\|^class ApiClient\b' "$out/pos_resilience.js" \
  || die "pos_resilience.js has no class ApiClient: update the public names in index.js below"

# The package's JavaScript is one file, index.js: wasm-bindgen's
# pos_resilience.js and glue.js bundled and minified (esbuild), as an app's
# bundler would serve them and as the benchmark measures the peer libraries;
# one module, so the ApiError the SDK throws is the one it exports. One file
# compresses as one stream: 0.6 KB gzip less than the three files minified
# apart. Exports and property names stay, and
# `new URL("pos_resilience_bg.wasm", import.meta.url)` is left as is for
# bundlers to find the module. Local names are minified (not kept: keeping
# them wraps every function in a call that repeats its name), so the public
# class and functions get their `name` back once, for the console and stack
# traces. The readable sources are src/ and js/.
cat > "$out/entry.js" <<EOF
import { ApiClient, apiPost, eventNames } from "./pos_resilience.js";
import { ApiError } from "$glue_rel";
for (const [f, n] of [[ApiClient, "ApiClient"], [apiPost, "apiPost"], [eventNames, "eventNames"], [ApiError, "ApiError"]]) {
  Object.defineProperty(f, "name", { value: n });
}
export { default, initSync } from "./pos_resilience.js";
export { ApiClient, ApiError, apiPost, eventNames };
EOF
esbuild=node_modules/.bin/esbuild
[ -x "$esbuild" ] || die "$esbuild is missing: run 'make tools' (npm ci)"
# (wasm-bindgen lists the glue module twice in the imports object, with the
# same value: esbuild's duplicate-key warning about it is silenced.)
"$esbuild" "$out/entry.js" --bundle --minify --format=esm --target=es2020 --log-level=warning \
  --log-override:duplicate-object-key=silent --outfile="$out/index.js"
rm -r "$out/entry.js" "$out/pos_resilience.js" "$out/snippets"
grep -qF 'new URL("pos_resilience_bg.wasm",import.meta.url)' "$out/index.js" \
  || die "index.js lost new URL(\"pos_resilience_bg.wasm\", import.meta.url), which bundlers look for"

cp pkg-template/README.md pkg-template/LICENSE "$out/"
cat > "$out/index.d.ts" <<'EOF'
// Types of the pos-resilience package (generated by scripts/build-pkg.sh).
export * from "./pos_resilience.js";
export { default } from "./pos_resilience.js";
EOF

# package.json: the template, with version and description from Cargo.toml.
cargo metadata --no-deps --format-version 1 >"$target_dir/pkg-metadata.json"
node - "$target_dir/pkg-metadata.json" "$crate" pkg-template/package.json "$out" <<'EOF'
const fs = require("node:fs");
const path = require("node:path");
const [meta, crate, template, out] = process.argv.slice(2);
const pkgMeta = JSON.parse(fs.readFileSync(meta, "utf8")).packages.find((p) => p.name === crate);
if (!pkgMeta) throw new Error(`package ${crate} not in cargo metadata`);
const pkg = JSON.parse(fs.readFileSync(template, "utf8"));
pkg.version = pkgMeta.version;
pkg.description = pkgMeta.description;
// Every listed file must exist, and every produced file must be listed.
for (const f of pkg.files) {
  if (!fs.existsSync(path.join(out, f))) throw new Error(`files lists ${f}, which the build did not produce`);
}
for (const f of fs.readdirSync(out)) {
  if (f !== "package.json" && !pkg.files.includes(f) && !pkg.files.includes(`${f}/`)) {
    throw new Error(`the build produced ${f}, which package.json "files" does not list`);
  }
}
fs.writeFileSync(path.join(out, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
console.log(`build-pkg: ${out}/package.json ${pkg.name}@${pkg.version}`);
EOF

echo "build-pkg: checking that the package links and the optimized module instantiates"
node --input-type=module - "$ROOT/$out" <<'EOF'
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
const out = process.argv[2];
const bytes = fs.readFileSync(path.join(out, "pos_resilience_bg.wasm"));
// Compiles (validates) the module; throws CompileError if wasm-opt broke it.
const module = await WebAssembly.compile(bytes);
// Linking index.js fails if any re-exported name is missing.
const pkg = await import(pathToFileURL(path.join(out, "index.js")).href);
for (const name of ["default", "initSync", "apiPost", "ApiClient", "ApiError", "eventNames"]) {
  if (!(name in pkg)) throw new Error(`index.js does not export ${name}`);
}
try {
  pkg.initSync({ module });
} catch (e) {
  // A link error means the glue and the module disagree: fatal. A start
  // function that needs browser globals cannot run in Node: the browser
  // smoke test (make test-pkg) checks instantiation there.
  if (e instanceof WebAssembly.LinkError || e instanceof WebAssembly.CompileError) throw e;
  console.warn(`build-pkg: warning: instantiated, but start-up needs a browser (${e.message})`);
}
if (!(new pkg.ApiError("http", "x") instanceof Error)) throw new Error("ApiError is not an Error");
console.log("build-pkg: ok");
EOF
echo "build-pkg: done: $out/"
