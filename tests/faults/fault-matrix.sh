#!/bin/sh
# The fault matrix: lgcore is killed (or stopped, or sent SIGINT/SIGTERM)
# at moments spread over every phase of its dump of hostile victims, and
# after every trial the victim must be unharmed (see faultrun.c).
#
# Quick mode (make check): a few dozen trials a victim.  Long mode
# (FAULTS_LONG=1, make check-faults): thousands, in microsecond steps over
# the set-up stop.  FAULTS_OUT=FILE keeps every trial's line (TSV);
# LGCORE=PATH tests another lgcore.
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
out=${FAULTS_OUT:-$dir/trials.tsv}

if [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" -ge 3 ]; then
	echo "SKIP: ptrace is disabled (kernel.yama.ptrace_scope = 3)"
	exit 77
fi

fail=0
run() {	# MODE [--arg ARG]... PLAN...
	mode=$1; shift
	mkdir -p "$dir/$mode"
	if ! "$FR" --lgcore "$LG" --victim "$V" --mode "$mode" --dir "$dir/$mode" \
	     --timeout "${FAULTS_TIMEOUT:-20}" --out "$out" "$@" > "$dir/table"; then
		fail=1
	fi
	cat "$dir/table"
	rm -rf "$dir/$mode"
}

if [ "${FAULTS_LONG:-0}" = 1 ]; then
	run busy attach1:0:3000:5 start:0:20000:200 detach1:0:40000:400 \
		attach2:0:3000:20 detach2:0:20000:200
	run spin attach1:0:3000:5 attach2:0:2000:50
	run seccomp attach1:0:3000:25
	run uffd attach1:0:3000:100 attach2:0:2000:200
	run churn attach1:0:3000:50 attach2:0:2000:100
	run busy --arg --mode=stop attach1:0:100000:1000
	run busy attach1:0:3000:100:INT attach1:0:3000:100:TERM attach1:0:3000:100:HUP \
		attach1:0:3000:100:PIPE detach1:0:20000:500:INT attach2:0:2000:100:TERM \
		attach1:0:2000:500:STOP:500
	run busy --watchdog --arg --max-pause=100 attach1:0:2000:100:STOP:2500 \
		attach2:0:1000:100:STOP:2500
	run busy --arg --mode=stop attach1:0:40000:2000:INT attach1:0:40000:4000:TERM
	run busy --arg --mode=snapshot attach1:0:3000:5 attach2:0:2000:20 detach2:0:40000:400
	run uffd --arg --mode=snapshot attach1:0:3000:100 attach2:0:2000:200
	run exit start:0:300000:5000:NONE
	run leader-exit start:0:300000:5000:NONE
else
	run busy attach1:0:1000:50 start:0:2000:1000 detach1:0:4000:2000 \
		attach2:0:600:200 detach2:0:2000:1000
	run spin attach1:0:1000:100
	run seccomp attach1:0:1000:200
	run uffd attach1:0:1000:500 attach2:0:400:400
	run churn attach1:0:1000:250
	run busy --arg --mode=stop attach1:0:20000:5000
	run busy attach1:0:1000:250:INT detach1:0:4000:2000:TERM attach2:0:400:200:HUP \
		attach1:0:1000:500:PIPE
	run busy --arg --mode=stop attach1:0:20000:10000:INT
	run busy --arg --mode=snapshot attach1:0:1000:100 attach2:0:600:200 detach2:0:4000:1000
	run busy --watchdog --arg --max-pause=100 attach1:100:300:200:STOP:2500 \
		attach2:100:100:100:STOP:2500
	run exit start:0:200000:50000:NONE
	run leader-exit start:0:200000:50000:NONE
fi
exit $fail
