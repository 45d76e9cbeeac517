#!/usr/bin/env bash
# Installs what the build and the tests need, skipping whatever is already there:
#   rustup target wasm32-unknown-unknown
#   the package's pinned nightly ($PKG_TOOLCHAIN, scripts/lib.sh) with rust-src
#   Debian packages chromium, chromium-driver, firefox-esr, curl, sqlite3,
#   postgresql and haproxy (apt-get; the server's suite, the cluster soak,
#   `make cluster` and the bench run a throwaway PostgreSQL, and HAProxy,
#   never the system services);
#   with TOOLS_WEBKIT=1 also webkit2gtk-driver, xvfb, xauth; with TOOLS_BENCH=1 wrk
#   wasm-bindgen-cli at the version of the wasm-bindgen crate in Cargo.lock
#   geckodriver (cargo install)
#   node_modules (npm ci) when missing or older than package-lock.json
set -euo pipefail
source "$(dirname "$0")/lib.sh"

say() { echo "tools: $*"; }
for t in cargo rustup node npm; do
  command -v "$t" >/dev/null || die "'$t' is not installed: this project needs Rust (rustup) and Node.js 20+ with npm"
done

# 1. Rust target.
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rust target wasm32-unknown-unknown: present"
else
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 1b. The npm package's .wasm is built with a pinned nightly and -Zbuild-std
# (scripts/build-pkg.sh), which needs the standard library's sources; it
# needs no wasm32 rust-std of its own.
if [ "$PKG_TOOLCHAIN" = stable ]; then
  :
elif [ -d "$(rustc +"$PKG_TOOLCHAIN" --print sysroot 2>/dev/null)/lib/rustlib/src/rust/library" ]; then
  say "rust toolchain $PKG_TOOLCHAIN (rust-src): present"
else
  say "rustup toolchain install $PKG_TOOLCHAIN --profile minimal --component rust-src"
  rustup toolchain install "$PKG_TOOLCHAIN" --profile minimal --component rust-src
fi

# 2. Browsers and their drivers (Debian packages).
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v firefox-esr >/dev/null || missing+=(firefox-esr)
command -v curl >/dev/null || missing+=(curl)   # www-example/scripts/demo.sh polls with it
command -v sqlite3 >/dev/null || missing+=(sqlite3)   # the e2e and soak tests read pos-server's database
# A throwaway PostgreSQL (www-example/scripts/postgres.sh: initdb + pg_ctl from
# Debian's versioned bin dir, which is not on PATH) for the server's suite, the
# cluster soak, make cluster and make bench-server; HAProxy (in /usr/sbin, not
# on a non-root PATH) for the last three.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ "${TOOLS_WEBKIT:-}" = 1 ]; then            # make test-wasm and test-wasm-webkit
  command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
  command -v xvfb-run >/dev/null || missing+=(xvfb)
  command -v xauth >/dev/null || missing+=(xauth)
fi
if [ "${TOOLS_BENCH:-}" = 1 ]; then             # only for make bench-server
  command -v wrk >/dev/null || missing+=(wrk)
fi
if [ "${#missing[@]}" -eq 0 ]; then
  say "Debian packages (browsers, drivers, curl, sqlite3, postgresql, haproxy): present"
else
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update
  # Installing postgresql or haproxy may enable their system services (on a
  # machine with systemd); nothing here uses them: the scripts start their own
  # instances on free ports in temporary directories.
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "${missing[@]}"
fi

# 3. wasm-bindgen-cli: must be exactly the version of the wasm-bindgen crate.
want=$(scripts/wasm-bindgen-version.sh)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" = "$want" ] && command -v wasm-bindgen-test-runner >/dev/null; then
  say "wasm-bindgen-cli $want: present"
else
  say "cargo install wasm-bindgen-cli --version $want${have:+ (found $have)}"
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# 4. geckodriver (Debian has no package for it).
if command -v geckodriver >/dev/null; then
  say "geckodriver: present ($(geckodriver --version | head -n 1))"
else
  say "cargo install geckodriver"
  cargo install geckodriver
fi

# 5. npm packages (binaryen's wasm-opt, playwright-core).
if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] \
   && [ ! package.json -nt node_modules/.package-lock.json ]; then
  say "node_modules: up to date"
else
  say "npm ci"
  if ! npm ci --no-audit --no-fund; then
    # npm 11 writes only this platform's rollup binaries (vite's optional
    # dependencies) into the lock, then its own `npm ci` rejects that lock
    # as out of sync. `npm install --no-save` installs the same versions
    # from package.json and the lock without rewriting either.
    say "npm ci refused the lock file; npm install --no-save instead"
    npm install --no-save --no-audit --no-fund
  fi
  touch node_modules/.package-lock.json
fi
