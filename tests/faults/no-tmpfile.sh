#!/bin/sh
# On a file system without O_TMPFILE (FUSE here: bindfs; also NFS and
# others) the core has a hidden temporary name until it is complete.
# lgcore killed at any moment of its dump must leave nothing behind there:
# its keeper (lib/elfcore/file.c) removes the name.  faultrun checks the
# output directory after every trial, once lgcore's leftovers have ended.
set -u
: "${top_builddir:=.}"
LG=${LGCORE:-$top_builddir/src/lgcore}
FR=$top_builddir/tests/faults/faultrun
V=$top_builddir/tests/faults/victim
command -v bindfs >/dev/null || { echo "SKIP: bindfs not installed (Debian: bindfs)"; exit 77; }
[ -c /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
dir=$(mktemp -d) || exit 99
mounted=
trap '[ -n "$mounted" ] && umount "$dir/fuse"; rm -rf "$dir"' EXIT INT TERM
LG_FACTS=$dir/facts
export LG_FACTS
mkdir "$LG_FACTS" "$dir/real" "$dir/fuse" || exit 99
bindfs "$dir/real" "$dir/fuse" 2>"$dir/bindfs.err" ||
	{ echo "SKIP: cannot mount a FUSE file system: $(cat "$dir/bindfs.err")"; exit 77; }
mounted=1
if python3 -c 'import os, sys; os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR, 0o600)' "$dir/fuse" 2>/dev/null; then
	echo "ERROR: O_TMPFILE works on bindfs here: this test would not test the fallback" >&2
	exit 99
fi
mkdir "$dir/fuse/out" || exit 99
if ! timeout 600 "$FR" --lgcore "$LG" --victim "$V" --mode busy --dir "$dir/fuse/out" \
     --timeout 60 start:0:20000:2500 attach1:0:1000:250 detach1:0:4000:1000 \
     attach2:0:400:200 attach2:0:400:200:INT >"$dir/table" 2>&1; then
	cat "$dir/table"
	echo "FAIL: lgcore killed on a file system without O_TMPFILE"
	exit 1
fi
cat "$dir/table"
exit 0
