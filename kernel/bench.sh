#!/usr/bin/env bash
# atonce's benchmark through real Jupyter clients, beside ipykernel and
# CPython in the same run. Run by `make bench` with ATONCE_BIN set; writes
# the table to BENCHMARKS.md at the repository's root (and to stdout).
#   kernel/bench.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
bin=${ATONCE_BIN:-$root/bin/atonce}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" install --prefix "$tmp" >/dev/null 2>&1
export JUPYTER_PATH="$tmp/share/jupyter" JUPYTER_DATA_DIR="$tmp/data" JUPYTER_RUNTIME_DIR="$tmp/runtime" JUPYTER_CONFIG_DIR="$tmp/config" IPYTHONDIR="$tmp/ipython"
out="$root/BENCHMARKS.md"
if [[ " $* " == *" --quick "* ]]; then out="$tmp/BENCHMARKS.md"; fi
(cd testdata && /usr/bin/python3 bench_all.py "$@" 2> >(grep -v '^time=' >&2)) > "$tmp/measured.md"
# The measured part replaces the one between the markers; the sections
# written by hand after it (single measurements with their commands) stay.
begin='<!-- written by make bench (kernel/bench.sh) from here -->'
end='<!-- to here; what follows is kept as it is -->'
{
	echo "$begin"
	cat "$tmp/measured.md"
	echo "$end"
	if [[ -f "$out" ]] && grep -qF "$end" "$out"; then
		sed -n "/^$end\$/,\$p" "$out" | tail -n +2
	fi
} > "$out.new"
mv "$out.new" "$out"
cat "$tmp/measured.md"
