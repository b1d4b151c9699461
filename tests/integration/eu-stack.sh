#!/bin/bash
# eu-stack (libdwfl) reads lgcore's core as it reads gcore's: same threads
# in the same order, same frames with module names, same build-ids; and
# every thread's stack shows the function the target says it blocks in.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_eu

lg_dump_both target-threads
# -m module names, -b build-ids, -i inlined frames.
"$EU_STACK" -m -b -i --executable="$TEXE" --core="$LGC" >"$T/lg.stack" 2>&1
"$EU_STACK" -m -b -i --executable="$TEXE" --core="$GCC" >"$T/gc.stack" 2>&1
grep -q '^TID ' "$T/gc.stack" || lg_hard "eu-stack shows no thread in gcore's core: $(head -3 "$T/gc.stack")"
lg_same "eu-stack --core" "$T/lg.stack" "$T/gc.stack"

main=$(lg_kv thread.0.tid)
[ "$(grep -m1 '^TID ' "$T/lg.stack")" = "TID $main:" ] ||
	lg_fail "eu-stack: first thread of lgcore's core is not the main thread $main"
n=$(lg_kv threads)
[ "$(grep -c '^TID ' "$T/lg.stack")" = "$n" ] ||
	lg_fail "eu-stack: lgcore's core does not have $n threads"
for i in $(seq 0 $((n - 1))); do
	tid=$(lg_kv thread.$i.tid) fn=$(lg_kv thread.$i.func)
	awk -v tid="TID $tid:" -v fn=" $fn" '
		/^TID / { inb = ($0 == tid) }
		inb && index($0 " ", fn " ") { found = 1 }
		END { exit !found }' "$T/lg.stack" ||
		lg_fail "eu-stack: thread $tid in lgcore's core does not show $fn"
done

lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
