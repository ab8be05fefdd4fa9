#!/usr/bin/env bash
# build.sh: build the JupyterLab application of this directory (package.json,
# package-lock.json, index.js, webpack.config.js) once, into the user's cache
# directory, for the browser test notebooks/lab_test.go.
#
# usage: build.sh           build unless the build for these sources is there
#        build.sh --print   print the build's directory; exit 1 if it is not built
#
# The build lives in ${XDG_CACHE_HOME:-~/.cache}/atonce/jupyterlab/VERSION-KEY/build,
# KEY being a hash of the four files above: the lock pins every package, so a
# new pin (or a change to the entry point or the webpack configuration) makes
# a new build, and the older builds are removed then. npm's downloads are kept
# in .../atonce/npm, so a rebuild does not download them again. node_modules
# is removed after the build: the build is all the test needs.
#
# It needs Node 18 or later and npm (Debian 12's nodejs and npm packages do);
# install/setup-deps.sh --test installs them and runs this.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sources=(package.json package-lock.json index.js webpack.config.js)
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$here/package.json")
key=$(cd "$here" && cat "${sources[@]}" | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/atonce
root=$cache/jupyterlab
dir=$root/$version-$key

built() { [[ -f $dir/build/bundle.js && -f $dir/build/version ]]; }

case "${1:-}" in
--print)
	if built; then
		echo "$dir/build"
		exit 0
	fi
	echo "build.sh: JupyterLab $version is not built for these sources (want $dir); run: bash $here/build.sh (install/setup-deps.sh --test does)" >&2
	exit 1
	;;
"") ;;
*)
	echo "build.sh: unknown argument '$1' (usage: build.sh [--print])" >&2
	exit 2
	;;
esac

if built; then
	echo "build.sh: JupyterLab $version is built ($dir)"
	exit 0
fi

need_node=18
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "build.sh: building JupyterLab needs node and npm (Node $need_node or later); on Debian: apt-get install nodejs npm" >&2
	exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < need_node)); then
	echo "build.sh: node $(node --version) is too old to build JupyterLab $version: it needs Node $need_node or later" >&2
	exit 1
fi

mkdir -p "$root"
# One build at a time: a second caller waits, then finds the build done.
exec 9>"$root/.lock"
flock 9
if built; then
	echo "build.sh: JupyterLab $version is built ($dir)"
	exit 0
fi

work=$(mktemp -d "$root/.building-XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "${sources[@]/#/$here/}" "$work/"
cd "$work"
echo "build.sh: building JupyterLab $version with node $(node --version), npm $(npm --version) in $work"
start=$SECONDS
# --ignore-scripts: no package's install script runs; none is needed to bundle.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --cache "$cache/npm"
installed=$SECONDS
node node_modules/webpack-cli/bin/cli.js >webpack.log 2>&1 || {
	tail -40 webpack.log >&2
	echo "build.sh: webpack failed (its whole log: $work/webpack.log, kept)" >&2
	trap - EXIT
	exit 1
}
echo "$version" >build/version
rm -rf "$dir"
mkdir -p "$dir"
mv build "$dir/build" # whole, with its version file: built() holds from here
# Older builds are of sources no longer here.
for old in "$root"/*/; do
	[[ ${old%/} == "$dir" ]] || rm -rf "$old"
done
echo "build.sh: built JupyterLab $version in $((SECONDS - start))s (npm ci $((installed - start))s, webpack $((SECONDS - installed))s): $(du -sh "$dir/build" | cut -f1) in $dir/build"
