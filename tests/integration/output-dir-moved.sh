#!/bin/bash
# The output directory renamed or removed while lgcore dumps into it (once
# lgcore holds it open): exit 1 with "the output directory DIR was moved to
# NEW during the dump" or "... was removed during the dump", no "Saved
# corefile" line for a path that names no core, no core left in the moved
# directory, the target unharmed; in every mode.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-exec --stay 256
pid=$TPID
# Waits until lgcore (pid $1) holds directory $2 open.
holds_dir() {
	local i f
	for i in $(seq 2000); do
		for f in /proc/"$1"/fd/*; do
			[ "$(readlink "$f" 2>/dev/null)" = "$2" ] && return 0
		done
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.001
	done
	return 1
}
# Waits until the dump of $1 has begun: traced (set-up stop, stop mode) or
# registered for uffd-wp (pre-copy, snapshot): the core file exists then.
dump_begun() {
	local i
	for i in $(seq 20000); do
		[ "$(lg_tracer "$1")" != 0 ] && return 0
		grep -q '^VmFlags:.* uw' "/proc/$1/smaps" 2>/dev/null && return 0
		kill -0 "$lg" 2>/dev/null || return 1
	done
	return 1
}
for mode in precopy snapshot stop; do
	for what in moved removed; do
		d=$T/out-$mode-$what
		mkdir "$d" || lg_hard "mkdir $d"
		LG_RUNS=$((LG_RUNS + 1))
		OUT=$T/$mode-$what.out ERR=$T/$mode-$what.err
		(cd "$T" && exec "$LGCORE" --mode=$mode -o "$d/c" "$pid") >"$OUT" 2>"$ERR" &
		lg=$!
		if holds_dir "$lg" "$d" && dump_begun "$pid"; then
			if [ $what = moved ]; then mv "$d" "$d.new"; else rm -rf "$d"; fi
		fi
		wait "$lg"
		RC=$?
		if [ $what = moved ]; then
			lg_expect_fail "$T" "$d/c" "$pid" "^the output directory $d was moved to $d.new during the dump\$"
			[ -z "$(ls -A "$d.new" 2>/dev/null)" ] || lg_fail "$mode: files left in the moved directory: $(ls -A "$d.new")"
		else
			lg_expect_fail "$T" "$d/c" "$pid" "^the output directory $d was removed during the dump\$"
		fi
		[ "$(grep -c . "$ERR")" = 1 ] || lg_fail "$mode $what: more than one line on stderr: $(head -c 300 "$ERR")"
		lg_no_core "$d/c.$pid"
		lg_check_running "$pid" "after the $mode dump into a $what directory"
		rm -rf "$d" "$d.new"
	done
done
lg_control_dump "$pid"
lg_finish_target "$pid"
lg_done
