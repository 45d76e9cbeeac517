# shellcheck shell=bash
# What the scripts in scripts/ and www-example/scripts/ share. Each one starts
#   source "$(dirname "$0")/lib.sh"          (scripts/)
#   source "$(dirname "$0")/../../scripts/lib.sh"   (www-example/scripts/)
# which
#   - changes to the repository root ($ROOT): every path below is relative to it;
#   - puts ~/.cargo/bin on PATH (rustup, wasm-bindgen, geckodriver, twiggy);
#   - defines die MESSAGE: "<script>: MESSAGE" on stderr, exit status 1;
#   - defines build_pos_server: builds the reference server once, in the one
#     profile every script uses (cargo build --release -p pos-server), and
#     exports POS_SERVER_BIN, its path. When POS_SERVER_BIN is already set (by
#     a script that built it and called this one, or by you, to measure another
#     binary) and is executable, nothing is built.
#   - sets PKG_TOOLCHAIN: the pinned nightly the npm package's .wasm is built
#     with (scripts/build-pkg.sh; make tools installs it). Everything else,
#     the wasm tests included, builds with the stable toolchain.
#     PKG_TOOLCHAIN=stable builds the package the old way, for comparison.
#   - sets WASM_OPT_ARGS: the wasm features and passes the package's .wasm is
#     optimised with (scripts/build-pkg.sh, and scripts/size.sh for twiggy).
# The server's start and stop functions are in www-example/scripts/server-lib.sh.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
case ":$PATH:" in
  *":$HOME/.cargo/bin:"*) ;;
  *) export PATH="$HOME/.cargo/bin:$PATH" ;;
esac

PKG_TOOLCHAIN=${PKG_TOOLCHAIN:-nightly-2026-05-19}

# The wasm features rustc (>= 1.82) enables by default on wasm32-unknown-unknown
# (`wasm-opt --print-features` on the wasm-bindgen output lists them); wasm-bindgen
# uses externref when reference-types is on. Stated explicitly so the result does not
# depend on binaryen reading them from the module's features section.
# The passes: functions that differ only in constants merged into one, then
# -Oz until it changes nothing more (README.md, Size, has what each gave).
WASM_OPT_ARGS=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
               --enable-mutable-globals --enable-reference-types --enable-multivalue
               --merge-similar-functions -Oz --converge)

die() { echo "$(basename "$0" .sh): $*" >&2; exit 1; }

build_pos_server() {
  if [[ -n "${POS_SERVER_BIN:-}" && -x "$POS_SERVER_BIN" ]]; then
    export POS_SERVER_BIN
    return 0
  fi
  echo "$(basename "$0" .sh): cargo build --release -p pos-server"
  cargo build --release -p pos-server
  POS_SERVER_BIN="${CARGO_TARGET_DIR:-target}/release/pos-server"
  [[ -x "$POS_SERVER_BIN" ]] || die "no $POS_SERVER_BIN after the build"
  # Absolute, so it stays valid for a child that changes directory.
  [[ "$POS_SERVER_BIN" == /* ]] || POS_SERVER_BIN="$ROOT/$POS_SERVER_BIN"
  export POS_SERVER_BIN
}
