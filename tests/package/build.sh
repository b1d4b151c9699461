#!/bin/sh
# Build the Debian packages from a clean export of a commit (default HEAD:
# uncommitted changes are not in it), run lintian on the .changes and fail
# on any error or warning, then run the autopkgtest (debian/tests) against
# the built packages unpacked in a throwaway root.  Not part of make check:
# it takes minutes.  Needs dpkg-dev, debhelper, lintian and the package's
# Build-Depends; the autopkgtest step needs root (as its Restrictions say)
# and gdb, gcc.
#
# Usage: tests/package/build.sh [COMMIT]   (DEB_BUILD_OPTIONS passes through)
# The packages and logs stay in the directory printed at the end.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
commit=${1:-HEAD}
version=$(sed -n '1s/^lgcore (\([^)]*\)).*/\1/p' "$src/debian/changelog")
upstream=${version%-*}
W=$(mktemp -d "${TMPDIR:-/tmp}/lgcore-package.XXXXXX")
step() { echo "build.sh: $*"; }

step "exporting $commit into $W/lgcore-$upstream"
git -C "$src" archive --prefix="lgcore-$upstream/" "$commit" | tar -x -C "$W"

step "dpkg-buildpackage -us -uc -b (log: $W/build.log)"
if ! (cd "$W/lgcore-$upstream" && dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1; then
	tail -n 40 "$W/build.log" >&2
	echo "build.sh: dpkg-buildpackage failed; see $W/build.log" >&2
	exit 1
fi
changes=$W/lgcore_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).changes

step "lintian $changes"
# --fail-on warning: any error or warning fails, info and pedantic do not.
lintian --display-info --fail-on error,warning "$changes" >"$W/lintian.log" 2>&1 || lrc=$?
cat "$W/lintian.log"
[ "${lrc:-0}" = 0 ] || { echo "build.sh: lintian failed (exit $lrc)" >&2; exit 1; }

# lgcore is libc-only: anything else in its Depends is a packaging bug.
dep=$(dpkg-deb -f "$W"/lgcore_"${version}"_*.deb Depends)
step "lgcore Depends: $dep"
echo "$dep" | grep -Eq '^libc6 \([^)]*\)$' || { echo "build.sh: lgcore depends on more than libc6" >&2; exit 1; }

step "debian/tests/dump-and-read with the packages unpacked in $W/root"
if [ "$(id -u)" != 0 ]; then
	echo "build.sh: not root: autopkgtest step skipped (its Restrictions: needs-root)"
	exit 0
fi
for deb in "$W"/*.deb; do dpkg-deb -x "$deb" "$W/root"; done
mkdir -p "$W/autopkgtest"
PATH=$W/root/usr/bin:$PATH AUTOPKGTEST_TMP=$W/autopkgtest \
	sh "$W/lgcore-$upstream/debian/tests/dump-and-read"
step "ok: packages in $W"
