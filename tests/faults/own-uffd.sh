#!/bin/sh
# A target that serves its own missing pages with userfaultfd (a handler
# thread for a shared memfd, as QEMU and CRIU-restored processes have):
# reading such a page faults it, and the fault waits for the handler, which
# a dump in its stop has stopped.  lgcore must neither hang nor make the
# target serve pages, in either mode; each dump is bounded (faultrun's
# deadline, and timeout(1) around the whole).
set -u
: "${top_builddir:=.}"
LG=${LGCORE:-$top_builddir/src/lgcore}
FR=$top_builddir/tests/faults/faultrun
V=$top_builddir/tests/faults/victim
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT INT TERM
# The victim declares its canary there, for check-mutants' wrong-byte
# mutant (faultrun itself checks the canary in every core).
LG_FACTS=$dir/facts
export LG_FACTS
mkdir "$LG_FACTS" || exit 99
fail=0
for mode in precopy snapshot stop; do
	mkdir -p "$dir/$mode"
	if ! timeout 120 "$FR" --lgcore "$LG" --victim "$V" --mode uffd --dir "$dir/$mode" \
	     --timeout 20 --arg --mode=$mode start:0:0:1:NONE > "$dir/out" 2>&1; then
		echo "FAIL: lgcore --mode=$mode on a target with its own userfaultfd:"
		cat "$dir/out" "$dir/$mode/lgcore.err" 2>/dev/null
		fail=1
	else
		echo "ok: --mode=$mode"
	fi
done
exit $fail
