#!/usr/bin/env bash
# Builds {{name}}.wasm with clang + wasi-libc (Debian: apt-get install clang lld wasi-libc
# libclang-rt-dev-wasm32) and the committed wit-bindgen {{wit_bindgen_version}} bindings in gen/, then
# wraps the core module into a component with `wasm-tools component new` (or jco's copy).
#
#   ./build.sh            then: sluice plugin test {{name}}.wasm --cases cases.json
#
# Environment: SLUICE_CLANG (default clang), SLUICE_WASI_SYSROOT (default /usr, Debian's
# wasi-libc layout), SLUICE_JCO (a jco, e.g. Sluice's plugins/examples/js/node_modules/.bin/jco;
# used when wasm-tools is not installed). After changing wit/, regenerate gen/ with
# `wit-bindgen c wit --world policy --out-dir gen` (wit-bindgen-cli {{wit_bindgen_version}}).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# A core module without entry point: the exports come from the bindings' export attributes,
# the component type from gen/policy_component_type.o. A 64 KiB stack keeps instantiation cheap.
# policy.c uses no stdio, so the module imports no WASI function and needs no preview1 adapter.
"${SLUICE_CLANG:-clang}" --target=wasm32-wasi --sysroot="${SLUICE_WASI_SYSROOT:-/usr}" -O2 \
    -Wall -Wextra -Werror -Igen -nostartfiles -Wl,--no-entry -Wl,-z,stack-size=65536 \
    -Wl,--strip-all -o "$tmp/core.wasm" policy.c gen/policy.c gen/policy_component_type.o
if command -v wasm-tools > /dev/null; then
    wasm-tools component new "$tmp/core.wasm" -o {{name}}.wasm
elif [ -n "${SLUICE_JCO:-}" ]; then
    "$SLUICE_JCO" new "$tmp/core.wasm" -o {{name}}.wasm > /dev/null
else
    echo "build.sh: need wasm-tools (cargo install wasm-tools) or SLUICE_JCO pointing at jco" >&2
    exit 1
fi
echo "built $(pwd)/{{name}}.wasm ($(stat -c %s {{name}}.wasm) bytes)"
