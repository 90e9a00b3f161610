#!/usr/bin/env bash
# Builds {{name}}.wasm: a WebAssembly component for wasm32-wasip2 (see .cargo/config.toml).
#
#   ./build.sh            then: sluice plugin test {{name}}.wasm --cases cases.json
#
# Environment: CARGO_TARGET_DIR (default ./target) to share build output between plugins.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
cargo build --release
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{crate_name}}.wasm" {{name}}.wasm
echo "built $(pwd)/{{name}}.wasm ($(stat -c %s {{name}}.wasm) bytes)"
