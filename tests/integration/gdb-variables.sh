#!/bin/bash
# gdb prints the same variables from both cores, and lgcore's core holds the
# target's facts: each thread's __thread variable, and the heap, stack and
# global patterns (first and last words at the printed addresses).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

lg_dump_both target-threads
cmds=("thread apply all print/x tls_var" "print/x global_pattern[0]"
	"print/x global_pattern[511]" "print spin_count")
for r in heap stack global; do
	a=$(lg_kv $r.addr) len=$(lg_kv $r.len)
	cmds+=("x/2gx $a" "x/2gx $a + $len - 16")
done
lg_gdb "$TEXE" "$LGC" "${cmds[@]}" >"$T/lg.vars"
lg_gdb "$TEXE" "$GCC" "${cmds[@]}" >"$T/gc.vars"
lg_same "gdb: variables and patterns" "$T/lg.vars" "$T/gc.vars"

# Facts, from lgcore's core alone.
n=$(lg_kv threads)
for i in $(seq 0 $((n - 1))); do
	tid=$(lg_kv thread.$i.tid) want=$(lg_kv thread.$i.tls)
	got=$(awk -v lwp="(LWP $tid))" '
		/^Thread [0-9]+ \(/ { inb = index($0, lwp) > 0; next }
		inb && /^\$[0-9]+ = / { print $3; exit }' "$T/lg.vars")
	[ "$got" = "$want" ] ||
		lg_fail "tls_var of LWP $tid in lgcore's core is '$got', expected $want"
done
for r in heap stack global; do
	a=$(lg_kv $r.addr) first=$(lg_kv $r.first) last=$(lg_kv $r.last)
	lg_gdb "$TEXE" "$LGC" "x/1gx $a" "x/1gx $a + $(lg_kv $r.len) - 8" >"$T/$r.x"
	[ "$(awk 'NR == 1 { print $NF }' "$T/$r.x")" = "$first" ] ||
		lg_fail "$r pattern: first word at $a in lgcore's core is not $first: $(head -1 "$T/$r.x")"
	[ "$(awk 'NR == 2 { print $NF }' "$T/$r.x")" = "$last" ] ||
		lg_fail "$r pattern: last word in lgcore's core is not $last: $(sed -n 2p "$T/$r.x")"
done
grep -q "^\$[0-9]* = $(lg_kv global.first)\$" "$T/lg.vars" ||
	lg_fail "print global_pattern[0] in lgcore's core is not $(lg_kv global.first)"

lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
