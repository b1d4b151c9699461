#!/bin/bash
# gdb 13 reads every vector, mask, MXCSR and PKRU value from lgcore's cores
# (both modes) as the target loaded it (target-readers' vector thread: the
# widest registers it has, zmm0-31 and k0-7 with AVX-512, pkru with PKU),
# and shows the same "info all-registers" there as attached to the live
# process and on gcore's core, except for the registers gdb 13 reads at
# Intel's fixed XSAVE offsets where this CPU has others: live and in
# gcore's core (written from what gdb read) those hold other registers'
# bytes, in lgcore's the right ones.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
lg_need_gdb

# lg_gdb_live PID CMD...: gdb attached to PID, only what CMDs print.
lg_gdb_live() {
	local pid=$1 c
	local -a args=()
	shift
	for c in "$@"; do
		args+=(-ex "$c")
	done
	"$GDB" -nx -batch -iex 'set debuginfod enabled off' -ex 'set pagination off' \
		-ex 'set width 0' -ex "attach $pid" -ex 'echo @@CUT@@\n' "${args[@]}" \
		-ex detach 2>&1 </dev/null | sed -e '1,/^@@CUT@@$/d' -e '/^\[Inferior 1 (process [0-9]*) detached\]$/d'
}

# ask SRC OUT CMD...: the commands' answers from the live process (SRC
# live) or a core (gc, ls, lg), in the vector thread.
ask() {
	local src=$1 out=$2 n
	shift 2
	if [ "$src" = live ]; then
		n=$(lg_gdb_live "$TPID" "info threads" | thread_num)
		lg_gdb_live "$TPID" "thread $n" "$@" >"$out"
	else
		n=$(lg_gdb "$TEXE" "$(lg_core_of "$src")" "info threads" | thread_num)
		lg_gdb "$TEXE" "$(lg_core_of "$src")" "thread $n" "$@" >"$out"
	fi
	# "thread N" answers with the thread and its frame: not a register.
	sed -i -e '/^\[Switching to thread/d' -e '/^#0 /d' -e '/^[0-9][0-9]*[[:space:]]/d' "$out"
}
thread_num() { awk -v t="(LWP $VTID)" 'index($0, t) { print ($1 == "*") ? $2 : $1; exit }'; }

lg_between() {
	VTID=$(lg_kv thread.$(lg_kv vec.thread).tid)
	ask live "$T/all.live" "info all-registers"
}
lg_three_dumps target-readers
[ -n "$VTID" ] || lg_hard "no vector thread id"
lg_info "vector state: $(lg_kv vec.kind), xcr0 $(lg_kv vec.xcr0), pku $(lg_kv vec.pku)"

# The truth: what the target loaded, as gdb prints it.
grep '^vec\.reg\.' "$TOUT" | sed 's/^vec\.reg\.//' >"$T/want"
cmds=()
while IFS='=' read -r name val; do
	cmds+=("print/x \$$name")
done <"$T/want"
for c in $LG_CORES; do
	ask $c "$T/all.$c" "info all-registers"
	ask $c "$T/truth.$c" "${cmds[@]}"
	sed 's/^\$[0-9]* = //' "$T/truth.$c" | paste -d= <(cut -d= -f1 "$T/want") - >"$T/got.$c"
done
n=$(wc -l <"$T/want")
[ "$n" -ge 17 ] || lg_hard "the target printed only $n vector facts"

# lgcore's cores: every value right, nothing unavailable.
for c in $LG_OURS; do
	grep -q '<unavailable>' "$T/all.$c" "$T/got.$c" &&
		lg_fail "$(lg_name_of $c): gdb shows registers <unavailable>: $(grep -h -m3 '<unavailable>' "$T/all.$c" "$T/got.$c" | cut -c1-80)"
	if ! cmp -s "$T/got.$c" "$T/want"; then
		lg_fail "$(lg_name_of $c): gdb reads other values than the target loaded (- want, + got):"
		diff -u "$T/want" "$T/got.$c" | head -n 20 >&2
	fi
done

# gcore's core is what gdb reads live; where both are wrong, it is gdb 13
# reading this CPU's layout at Intel's offsets, and only there.
lg_same "gdb: info all-registers, gcore's core vs the live process" "$T/all.gc" "$T/all.live"
re=$(lg_misread_regex)
wrong=$(awk 'NR == FNR { want[FNR] = $0; next }
	$0 != want[FNR] { split($0, n, "[.=]"); print n[1] }' "$T/want" "$T/got.gc" | sort -u | tr '\n' ' ')
for r in $wrong; do
	if [ -z "$re" ] || ! echo "$r" | grep -Eq "$re"; then
		lg_fail "gcore's core has a wrong $r although gdb 13 reads its component at this CPU's offset"
	fi
done
[ -n "$wrong" ] && lg_info "gcore's core (and gdb 13 live) read wrong: $wrong(this CPU's XSAVE layout is not Intel's; lgcore's are right)"

# Everything else in info all-registers: the same in every core.
rest=()
for c in $LG_CORES; do
	cp "$T/all.$c" "$T/rest.$c"
	rest+=("$T/rest.$c")
done
lg_drop_misread "${rest[@]}"
lg_same3 "gdb: info all-registers of the vector thread, but the misread registers" rest
lg_same "gdb: info all-registers, lgcore --mode=stop vs lgcore" "$T/all.ls" "$T/all.lg"

lg_finish_target "$TPID"
lg_done
