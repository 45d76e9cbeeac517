#!/usr/bin/env bash
# Prints the version of the wasm-bindgen crate the workspace resolves to
# (from Cargo.lock; `cargo metadata` creates the lock file when it is missing).
# wasm-bindgen-cli must be exactly this version.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ -f Cargo.lock ] || cargo metadata --format-version 1 >/dev/null
v=$(awk '/^\[\[package\]\]/ { name = "" } /^name = "wasm-bindgen"$/ { name = 1; next } name && /^version = / { gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
[ -n "$v" ] || { echo "wasm-bindgen-version: no wasm-bindgen package in Cargo.lock" >&2; exit 1; }
echo "$v"
