#!/usr/bin/env bash
# Builds {{name}}.wasm with componentize-js {{componentize_js_version}} (pinned in package.json).
#
#   ./build.sh            then: sluice plugin test {{name}}.wasm --cases cases.json
#
# Environment: SLUICE_COMPONENTIZE_JS, a componentize-js to use (e.g. the one in Sluice's
# plugins/examples/js/node_modules/.bin); otherwise ./node_modules/.bin/componentize-js,
# installed with npm if missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

cjs="${SLUICE_COMPONENTIZE_JS:-}"
if [ -z "$cjs" ]; then
    cjs=node_modules/.bin/componentize-js
    [ -x "$cjs" ] || npm install --no-audit --no-fund --loglevel=error > /dev/null
fi

# Every WASI feature disabled: the component imports only the contract (Sluice grants plugins
# no WASI capability anyway). An uncaught exception traps, which Sluice treats as a deny.
"$cjs" policy.js --wit wit --world-name policy \
    --disable stdio random clocks http fetch-event -o {{name}}.wasm.tmp > /dev/null
mv {{name}}.wasm.tmp {{name}}.wasm
echo "built $(pwd)/{{name}}.wasm ($(stat -c %s {{name}}.wasm) bytes)"
