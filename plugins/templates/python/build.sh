#!/usr/bin/env bash
# Builds {{name}}.wasm with componentize-py {{componentize_py_version}} (pinned in requirements.txt).
#
#   ./build.sh            then: sluice plugin test {{name}}.wasm --cases cases.json
#
# Environment: SLUICE_COMPONENTIZE_PY, a componentize-py to use (e.g. the venv Sluice's
# plugins/examples/build made); otherwise ./.venv/bin/componentize-py, created if missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

cpy="${SLUICE_COMPONENTIZE_PY:-}"
if [ -z "$cpy" ]; then
    cpy=.venv/bin/componentize-py
    if [ ! -x "$cpy" ]; then
        python3 -m venv .venv
        .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
    fi
fi
want="componentize-py $(sed -n 's/^componentize-py==//p' requirements.txt)"
have="$("$cpy" --version 2> /dev/null || true)"
[ "$have" = "$want" ] || echo "build.sh: warning: $cpy is '$have', expected '$want'" >&2

# --stub-wasi: every WASI import becomes a trapping stub, so the component imports only the
# contract (Sluice grants plugins no WASI capability anyway). `app` must not be named like the
# world (`policy`).
"$cpy" -d wit -w policy componentize --stub-wasi app -p . -o {{name}}.wasm.tmp > /dev/null
mv {{name}}.wasm.tmp {{name}}.wasm
echo "built $(pwd)/{{name}}.wasm ($(stat -c %s {{name}}.wasm) bytes)"
