#!/usr/bin/env bash
# Fidelity of the concurrency models through a real kernel, beside CPython
# in the same run. Run by `make bench` with ATONCE_BIN set.
set -euo pipefail
cd "$(dirname "$0")"
bin=${ATONCE_BIN:-$(cd .. && pwd)/bin/atonce}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" install --prefix "$tmp" >/dev/null 2>&1
export JUPYTER_PATH="$tmp/share/jupyter" JUPYTER_DATA_DIR="$tmp/data" JUPYTER_RUNTIME_DIR="$tmp/runtime" JUPYTER_CONFIG_DIR="$tmp/config" IPYTHONDIR="$tmp/ipython"
/usr/bin/python3 testdata/bench_models.py "$@" 2> >(grep -v '^time=' >&2)
