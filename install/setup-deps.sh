#!/usr/bin/env bash
# setup-deps.sh: make sure the Debian packages that atonce's tests and
# `make run` need are installed. Safe to run again: it only installs what
# dpkg reports missing, and says so quickly when nothing is.
#
# usage: install/setup-deps.sh [--browser]
#
#   --browser  also install Chromium and ChromeDriver (Debian packages) and
#              the npm package playwright-core into a cache directory
#              ($ATONCE_CACHE, default ${XDG_CACHE_HOME:-~/.cache}/atonce),
#              for browser tests. Playwright's own browser download is never
#              used; tests launch /usr/bin/chromium.
#
# Installing needs root or password-less sudo. Without either, the script
# prints the exact command to run and exits 1.
set -euo pipefail

PLAYWRIGHT_VERSION=1.64.1

packages=(
	python3-jupyter-client
	jupyter-client
	python3-jupyter-kernel-test
	python3-nbclient
	jupyter-nbconvert
	python3-ipykernel
	jupyter-notebook
	nats-server
)

browser=false
for arg in "$@"; do
	case "$arg" in
	--browser) browser=true ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "setup-deps.sh: unknown argument '$arg' (usage: setup-deps.sh [--browser])" >&2
		exit 2
		;;
	esac
done

if $browser; then
	packages+=(chromium chromium-driver)
	# Node.js may come from elsewhere (e.g. NodeSource, which bundles npm);
	# only ask Debian for it when there is no npm at all.
	if ! command -v npm >/dev/null 2>&1; then
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

if $browser; then
	cache=${ATONCE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/atonce}
	dir="$cache/playwright"
	pkg="$dir/node_modules/playwright-core/package.json"
	have=""
	if [[ -f "$pkg" ]]; then
		have=$(node -p "require(process.argv[1]).version" "$pkg" 2>/dev/null || true)
	fi
	if [[ "$have" == "$PLAYWRIGHT_VERSION" ]]; then
		echo "setup-deps: playwright-core $have is in $dir"
	else
		echo "setup-deps: installing playwright-core@$PLAYWRIGHT_VERSION into $dir"
		mkdir -p "$dir"
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
			"playwright-core@$PLAYWRIGHT_VERSION"
	fi
	echo "setup-deps: browser tests use /usr/bin/chromium with NODE_PATH=$dir/node_modules"
fi
