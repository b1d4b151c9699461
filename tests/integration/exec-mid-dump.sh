#!/bin/bash
# A target that calls execve(2) while lgcore copies it (target-exec execs
# itself as soon as lgcore's set-up stop lets it go): pre-copy and the
# snapshot mode end with exit 1 and "the process executed a new program
# (execve) during the dump", not a PAGEMAP_SCAN or uffd error; no core is
# left; the new program runs on, untraced, with no uffd-wp registration.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

for mode in precopy snapshot; do
	lg_start target-exec 256
	pid=$TPID
	lg_run_lgcore "$T" --mode=$mode -o "ex-$mode" "$pid"
	lg_expect_fail "$T" "ex-$mode" "$pid" '^the process executed a new program \(execve\) during the dump$'
	[ "$(grep -c . "$ERR")" = 1 ] || lg_fail "$mode: more than one line on stderr: $(head -c 300 "$ERR")"
	lg_no_core "$T/ex-$mode.$pid"
	ls "$T" | grep -q "^\.ex-$mode" && lg_fail "$mode: a temporary file is left: $(ls -a "$T")"
	for i in $(seq 100); do
		grep -q '^execed=1' "$TOUT" && break
		[ "$RC" = 1 ] && grep -q '^lgcore: failed' "$ERR" || break	# no dump that could make it exec
		sleep 0.1
	done
	grep -q '^execed=1' "$TOUT" || lg_fail "$mode: target $pid did not exec (or not during the dump)"
	lg_check_running "$pid" "after the execve during a $mode dump"
	grep -q '^VmFlags:.* uw' "/proc/$pid/smaps" 2>/dev/null &&
		lg_fail "$mode: target $pid keeps uffd-wp registrations (uw)"
	lg_finish_target "$pid"
done

# The control: a target that does not exec is dumped.
lg_start target-threads
lg_control_dump "$TPID"
lg_finish_target "$TPID"
lg_done
