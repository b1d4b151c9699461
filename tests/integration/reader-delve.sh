#!/bin/bash
# Delve answers the same of gcore's core and of lgcore's (--mode=stop,
# default, --mode=snapshot, -o -) of one SIGSTOPped Go program (target-go, built from
# tests/targets/go): the goroutines with their wait reasons, every
# goroutine's stack, the threads, every thread's registers (regs -a: with
# the XMM/YMM/ZMM state of NT_X86_XSTATE), a map and a list on the heap
# reached from globals, a global, and memory of a mapping the Go runtime
# never wrote (Delve refuses a PT_LOAD with p_filesz 0: it must read zeros).
# The answers from lgcore's core must also be the facts the target printed.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
[ -n "$DLV" ] && [ -x "$DLV" ] ||
	lg_skip "Delve not installed (Debian: apt-get install delve golang-go; tools/install-deps.sh)"
[ -x "$TARGETS/target-go" ] ||
	lg_skip "target-go not built: no Go toolchain (Debian: apt-get install golang-go)"

# A mapping the process never wrote, from smaps while it is stopped:
# readable and writable, anonymous, no Anonymous pages.
lg_between() {
	UNTOUCHED=$(awk '/^[0-9a-f]+-[0-9a-f]+ rw-p 00000000 00:00 0 *$/ { m = $1; next }
		/^[0-9a-f]+-/ { m = ""; next }
		m && /^Anonymous:/ { if ($2 == 0) { print m; exit } m = "" }' "/proc/$TPID/smaps")
}
lg_three_dumps target-go
[ -n "$UNTOUCHED" ] || lg_hard "target-go has no never-written mapping to read"
ua=0x${UNTOUCHED%-*} ue=0x${UNTOUCHED#*-}
lg_info "never-written mapping $ua-$ue"
threads=$(ls "/proc/$TPID/task")
for c in $LG_CORES; do
	{
		echo 'print "@@goroutines"'
		echo "goroutines"
		echo 'print "@@stacks"'
		echo "goroutines -t"
		echo 'print "@@threads"'
		echo "threads"
		echo 'print "@@regs"'
		for t in $threads; do
			echo "thread $t"
			echo "regs -a"
		done
		echo 'print "@@vars"'
		echo "print main.Catalog"
		echo "print *main.Head"
		echo "print main.Head.Next.Next.Name"
		echo "print main.Counter"
		echo 'print "@@untouched"'
		echo "examinemem -count 2 -size 8 $ua"
		echo "examinemem -count 2 -size 8 $((ue - 16))"
		echo "exit"
	} >"$T/cmds.$c"
	"$DLV" core "$TEXE" "$(lg_core_of $c)" --init "$T/cmds.$c" \
		--allow-non-terminal-interactive=true </dev/null >"$T/out.$c" 2>&1
	# print "@@NAME" answers "@@NAME": the section markers.
	for q in goroutines stacks threads regs vars untouched; do
		awk -v q="\"@@$q\"" '/^"@@/ { inq = ($0 == q); next } inq' "$T/out.$c" >"$T/$q.$c"
	done
done
grep -q 'Goroutine 1 - ' "$T/goroutines.gc" ||
	lg_hard "Delve shows no goroutine in gcore's core: $(head -c 400 "$T/out.gc")"

lg_same3 "Delve: goroutines" goroutines
lg_same3 "Delve: every goroutine's stack (goroutines -t)" stacks
lg_same3 "Delve: threads" threads
lg_same3 "Delve: every thread's registers (regs -a)" regs
lg_same3 "Delve: the map, the list and a global" vars
lg_same3 "Delve: the never-written mapping" untouched

# The facts, from lgcore's core.
for f in $(lg_kv goroutines); do
	grep -q " in $f\$" "$T/stacks.lg" || lg_fail "Delve: no goroutine in $f in lgcore's core"
done
for k in alpha beta gamma; do
	grep -q "\"$k\": $(($(lg_kv catalog.$k)))," "$T/vars.lg" ||
		lg_fail "Delve: Catalog[$k] is not $(($(lg_kv catalog.$k))) in lgcore's core"
done
grep -q '^"gamma"$' "$T/vars.lg" || lg_fail "Delve: the list's third name is not gamma"
grep -q "^$(($(lg_kv counter)))\$" "$T/vars.lg" || lg_fail "Delve: Counter is not $(lg_kv counter)"
[ "$(grep -c ':   0x0000000000000000   0x0000000000000000' "$T/untouched.lg")" = 2 ] ||
	lg_fail "Delve does not read zeros from the never-written mapping: $(cat "$T/untouched.lg")"
grep -q 'YMM0' "$T/regs.lg" || grep -q 'XMM0' "$T/regs.lg" ||
	lg_fail "Delve shows no vector register in lgcore's core"

lg_finish_target "$TPID"
lg_done
