#!/usr/bin/env bash
# setup-deps.sh: make sure the Debian packages that atonce's tests and
# `make run` need are installed. Safe to run again: it only installs what
# dpkg reports missing, and says so quickly when nothing is.
#
# usage: install/setup-deps.sh [--test]
#
#   (always)  Debian's Jupyter (notebook, client, kernel test suite,
#             nbconvert), nats-server, gcc with libc6-dev (`%%models -race`
#             builds its worker with `go build -race`, which needs cgo), and
#             ca-certificates (the build fetches Go modules over HTTPS; a
#             minimal Debian has no certificate authorities).
#   --test    also what only the tests use: Chromium (/usr/bin/chromium,
#             which notebooks/browser_test.go and lab_test.go drive from Go
#             with chromedp), procps (the kernel tests look for leftover
#             processes with ps), Debian's jupyter-server and
#             jupyterlab-server (which serve JupyterLab to lab_test.go), and
#             Node 18 or later with npm (Debian's nodejs and npm, unless a
#             node and npm are already on PATH); then it builds that
#             JupyterLab from npm's packages into the user's cache directory,
#             once (notebooks/testdata/lab/build.sh); and iproute2 (the ip
#             command: kernel/hosts_test.go makes hosts of network
#             namespaces; a Debian container image has no ip).
#
# Installing needs root or password-less sudo. Without either, the script
# prints the exact command to run and exits 1.
set -euo pipefail

packages=(
	python3-jupyter-client
	jupyter-client
	python3-jupyter-kernel-test
	python3-nbclient
	jupyter-nbconvert
	python3-ipykernel
	jupyter-notebook
	nats-server
	gcc
	libc6-dev
	ca-certificates
)

test=false
for arg in "$@"; do
	case "$arg" in
	--test) test=true ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "setup-deps.sh: unknown argument '$arg' (usage: setup-deps.sh [--test])" >&2
		exit 2
		;;
	esac
done

if $test; then
	packages+=(chromium procps python3-jupyter-server python3-jupyterlab-server iproute2)
	# Node 18 or later and npm build JupyterLab. Debian's nodejs and npm
	# packages give them; a node installed otherwise (its own package may
	# include npm and conflict with Debian's) is used as it is.
	if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1 ||
		(($(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0) < 18)); then
		packages+=(nodejs npm)
	fi
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [[ "$status" != installed ]]; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "setup-deps: all ${#packages[@]} Debian packages are installed"
else
	echo "setup-deps: missing Debian packages: ${missing[*]}"
	install_cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
	if ((EUID == 0)); then
		sudo=()
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo)
	else
		echo "setup-deps: installing them needs root. Run:" >&2
		echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive ${install_cmd[*]}" >&2
		exit 1
	fi
	"${sudo[@]}" apt-get update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${install_cmd[@]}"
fi

# The packages are there; check that the interpreter atonce uses can load
# them (a broken or partial install shows up here, not deep in a test).
if ! /usr/bin/python3 -c 'import jupyter_client, nbclient, ipykernel, jupyter_kernel_test' 2>/dev/null; then
	echo "setup-deps: /usr/bin/python3 cannot import jupyter_client, nbclient, ipykernel and jupyter_kernel_test although their packages are installed." >&2
	echo "  Try: sudo apt-get install --reinstall ${packages[*]}" >&2
	exit 1
fi

# cgo, and so `go build -race`, needs the compiler and the C library's
# headers: check both now rather than in the middle of a `%%models -race`.
if ! printf '#include <stdlib.h>\n#include <stdint.h>\n' | gcc -E -x c - >/dev/null 2>&1; then
	echo "setup-deps: gcc cannot compile against the C library's headers (stdlib.h, stdint.h), which go build -race needs." >&2
	echo "  Try: sudo apt-get install --reinstall gcc libc6-dev" >&2
	exit 1
fi

if $test; then
	if ! /usr/bin/python3 -c 'import jupyter_server, jupyterlab_server' 2>/dev/null; then
		echo "setup-deps: /usr/bin/python3 cannot import jupyter_server and jupyterlab_server although their packages are installed." >&2
		echo "  Try: sudo apt-get install --reinstall python3-jupyter-server python3-jupyterlab-server" >&2
		exit 1
	fi
	# JupyterLab for notebooks/lab_test.go: built once, then found in the cache.
	bash "$(dirname "${BASH_SOURCE[0]}")/../notebooks/testdata/lab/build.sh"
fi
