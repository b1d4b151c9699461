#!/bin/bash
# lcorecheck passes any two cores of one stopped state, in either order:
# gcore's, lgcore --mode=stop's, lgcore's (pre-copy), lgcore
# --mode=snapshot's, lgcore -o -'s (through zstd) and a second gcore's, of
# a C program (target-readers --main-read: threads in restartable calls,
# TLS, heap, a never-written buffer, vector registers), a Go program
# (target-go: goroutines, a map, runtime reservations) and a JVM
# (target-jvm: sleeping, waiting, parked and blocked threads).  Every pair
# must exit 0 with its memory and registers compared, so gcore vs gcore of
# Go and of a JVM included.  A target whose toolchain is missing is left
# out, saying so; the C one always runs.  Disk: the JVM's six cores take
# about 1.5 GB (apparent), removed before the next target starts.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
lg_need_lcorecheck
lg_need_lgcore
lg_need_gcore

CORES="gc ls lg sn st g2"
pairs() {	# LABEL TARGET [ARGS...]: dump one stopped state six ways, diff every pair
	local label=$1 a b n=0
	shift
	lg_start "$@"
	lg_stop "$TPID"
	# Go and the JVM cannot tc_declare: the main thread's stack, read from
	# the stopped target, is what every core must hold.
	lg_declare_stopped "$TPID" stack '[stack]'
	lg_gcore "$TPID" gc
	lg_lgcore "$TPID" ls --mode=stop || return
	lg_lgcore "$TPID" lg || return
	lg_lgcore "$TPID" sn --mode=snapshot || return
	lg_lgcore_stream "$TPID" st || return
	lg_gcore "$TPID" g2
	lg_check_stopped "$TPID" "after six dumps"
	for a in $CORES; do
		for b in $CORES; do
			[ "$a" = "$b" ] && continue
			n=$((n + 1))
			if lg_lc 0 "$T/$a.$TPID" "$T/$b.$TPID"; then
				for id in diff.regs diff.memory diff.thread.ids; do
					grep -Eq "^pass +$id " "$T/lc.out" || lg_fail "$label: $a vs $b: no 'pass $id'"
				done
			else
				lg_fail "$label: lcorecheck fails $a vs $b: $(grep -E '^fail ' "$T/lc.out" | head -n 3 | tr '\n' ';')"
			fi
		done
	done
	lg_info "$label: $n ordered pairs of $CORES pass"
	kill -CONT "$TPID"
	lg_kill "$TPID"
	for a in $CORES; do rm -f "$T/$a.$TPID"; done
}

pairs C target-readers --main-read
if [ -x "$TARGETS/target-go" ]; then
	pairs Go target-go
else
	lg_info "Go left out: target-go not built (no Go toolchain; Debian: golang-go)"
fi
if [ -x "$TARGETS/target-jvm" ]; then
	pairs JVM target-jvm
else
	lg_info "JVM left out: target-jvm not built (no javac; Debian: openjdk-17-jdk-headless)"
fi
lg_done
