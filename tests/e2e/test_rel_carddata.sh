#!/usr/bin/env bash
# Promise 6 (docs/RELIABILITY.md): PANs and track data through ZVT and Concert lanes;
# no file the bridge or its tools produce holds card data, unless --capture-clear was
# asked for (then the capture does, which proves the scanner finds it).
set -euo pipefail
: "${POSBRIDGE:?set POSBRIDGE to the posbridge binary}"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/../soak/carddata.py" "$tmp"
