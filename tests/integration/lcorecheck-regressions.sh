#!/bin/bash
# lcorecheck flags each problem of "cores that every debugger reads as it
# reads gcore's" should lgcore reintroduce it, and raises no false alarm
# for what the kernel or the process changes between two dumps.  gcore's
# core of a SIGSTOPped target-readers --main-read (every thread in a call
# the kernel restarts) is the reference; lgcore's core of the same state
# passes against it, and copies of lgcore's core, each changed the way one
# problem would change it (corrupt-core.py), fail with that problem named:
#  1. the restart fix-up applied to a stopped thread: rip 2 bytes back, rax
#     the syscall number, glibc's rseq area rewritten by the kernel;
#  2. an NT_X86_XSTATE of the kernel's size, smaller than the one gdb 13
#     needs for the core's XCR0 (gdb 13 then drops the section: checked);
#  3. a never-written mapping as a PT_LOAD with p_filesz 0 (lldb, drgn and
#     Delve cannot read it) where gcore's core holds its zeros.
#  4. no false alarm: the kernel's rseq fields changed (cpu_id) pass as
#     expected, the rseq flags word (the process's own) and the byte after
#     the area do not; cores of a running process (gcore, then lgcore) do
#     not fail on a timed wait that restart_syscall continued, and where
#     they differ lcorecheck says that the process ran between the dumps.
# Cores of one stopped state of C, Go and JVM programs, in every order:
# lcorecheck-pairs.sh.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
lg_need_lcorecheck
lg_need_lgcore
lg_need_gcore
lg_need_gdb
lg_need_python
lg_need_eu
corrupt() {	# CORE OUT WHAT...: OUT is CORE changed as WHAT says
	local core=$1 out=$2
	shift 2
	cp "$core" "$out" && python3 "$top_srcdir/tests/integration/corrupt-core.py" "$out" "$out.what" "$@" ||
		lg_hard "corrupt-core.py $* failed"
}

lg_start target-readers --main-read
lg_stop "$TPID"
lg_gcore "$TPID" gc
lg_lgcore "$TPID" lg || lg_done
lg_check_stopped "$TPID" "after lgcore"
G=$T/gc.$TPID L=$T/lg.$TPID
main=$(lg_kv thread.0.tid)
[ "$main" = "$TPID" ] || lg_hard "thread.0.tid is $main, not the pid $TPID"

# The reference pair: nothing fails, and the comparisons were made.
lg_lc 0 "$G" "$L"
for id in diff.regs diff.xstate diff.memory diff.load.flags; do
	lg_lc_expect pass "$id"
done

# 1. The restart fix-up on a stopped thread.  The main thread is in read():
# orig_rax 0 (__NR_read), rax -ERESTARTSYS.
regs=$(lg_gdb "$TEXE" "$G" 'p/x $rip' 'p/x $orig_rax' 'p/x $fs_base + (long)__rseq_offset')
rip=$(echo "$regs" | sed -n 's/^\$1 = //p') nr=$(echo "$regs" | sed -n 's/^\$2 = //p')
rseq=$(echo "$regs" | sed -n 's/^\$3 = //p')
[ -n "$rip" ] && [ -n "$nr" ] && [ -n "$rseq" ] ||
	lg_hard "gdb gives no rip, orig_rax or rseq area of the main thread in gcore's core: $regs"
cpu=$(lg_gdb "$TEXE" "$G" "p ((unsigned *) $rseq)[1]" | sed -n 's/^\$1 = //p')
[ -n "$cpu" ] || lg_hard "gdb cannot read the rseq area at $rseq in gcore's core"
corrupt "$L" "$T/m1" set-reg "$main" rip $((rip - 2))
python3 "$top_srcdir/tests/integration/corrupt-core.py" "$T/m1" "$T/m1.what2" set-reg "$main" rax "$nr" &&
	python3 "$top_srcdir/tests/integration/corrupt-core.py" "$T/m1" "$T/m1.what3" poke $((rseq + 4)) $((cpu ^ 1)) 0 0 0 ||
	lg_hard "corrupt-core.py failed on m1"
if lg_lc 1 "$G" "$T/m1"; then
	grep -Eq "^fail +diff.regs +thread $main: rax " "$T/lc.out" || lg_fail "1: rax of the restart fix-up not named"
	grep -Eq "^fail +diff.regs +thread $main: rip " "$T/lc.out" || lg_fail "1: rip of the restart fix-up not named"
	lg_lc_expect expected diff.memory.rseq
fi

# 2. XSTATE of the kernel's size (the end of the CPU's last component),
# where that is smaller than gdb 13's size for this XCR0; on a CPU where it
# is not, 64 bytes short of gdb 13's.
[ -x "$TARGETS/xsave-layout" ] || lg_hard "$TARGETS/xsave-layout not built"
"$TARGETS/xsave-layout" >"$T/layout" || lg_hard "xsave-layout failed"
xcr0=$(awk '$1 == "xcr0" { print $2 }' "$T/layout")
kern=$(awk '$1 ~ /^[0-9]+$/ && $2 + $3 > e { e = $2 + $3 } END { print e + 0 }' "$T/layout")
[ "$kern" -ge 576 ] || kern=576
need=576
(( xcr0 & 4 )) && need=832
(( xcr0 & 0x18 )) && need=1088
(( xcr0 & 0xe0 )) && need=2688
(( xcr0 & 0x200 )) && need=2696
cut=$kern
if [ "$kern" -ge "$need" ]; then
	cut=$((need - 64))
	lg_info "2: this CPU's XSAVE area ($kern bytes) is not smaller than gdb 13's ($need): cut to $cut"
fi
if [ "$need" -gt 576 ]; then
	corrupt "$L" "$T/m2" xstate-size "$cut"
	if lg_lc 1 "$G" "$T/m2"; then
		grep -Eq "^fail +diff.xstate.gdb13-size +thread $main: .* $cut bytes, gdb 13 needs $need " "$T/lc.out" ||
			{ grep '^fail' "$T/lc.out" >&2; lg_fail "2: an XSTATE gdb 13 drops ($cut < $need bytes) not named"; }
	fi
	# What gdb 13 makes of it: the reason for the rule.
	"$GDB" -nx -batch -ex "file $TEXE" -ex "core-file $T/m2" -ex 'p $ymm0' >"$T/gdb.m2" 2>&1 </dev/null
	"$GDB" -nx -batch -ex "file $TEXE" -ex "core-file $L" -ex 'p $ymm0' >"$T/gdb.lg" 2>&1 </dev/null
	grep -q 'too small' "$T/gdb.lg" && lg_fail "gdb warns that lgcore's XSTATE is too small: $(grep 'too small' "$T/gdb.lg" | head -n 1)"
	if grep -q 'too small' "$T/gdb.m2"; then
		lg_info "2: gdb 13 on the cut core: $(grep -m1 'too small' "$T/gdb.m2")"
	else
		lg_info "2: this gdb reads the cut core's XSTATE: $(grep -m1 -i 'ymm0\|warning' "$T/gdb.m2")"
	fi
else
	lg_info "2: no AVX on this CPU: gdb 13 wants no more than the legacy area"
fi

# 3. The never-written buffer as p_filesz 0.
ua=$(lg_kv untouched.addr)
[ -n "$ua" ] || lg_hard "target-readers printed no untouched.addr"
ul=$(lg_kv untouched.len)
lg_loads "$G" "$T/loads.gc"
lg_in_core "$T/loads.gc" "$ua" "$ul" || lg_hard "gcore's core does not hold the never-written buffer at $ua"
corrupt "$L" "$T/m3" unfile "$ua"
if lg_lc 1 "$G" "$T/m3"; then
	grep -Eq "^fail +diff.load.coverage.a-only +[0-9]+ ranges .* first \[$ua, " "$T/lc.out" ||
		{ grep '^fail' "$T/lc.out" >&2; lg_fail "3: the never-written buffer at $ua, p_filesz 0, not named"; }
fi

# 4. No false alarm on the kernel's rseq fields; the process's own bytes
# around them still count.
corrupt "$L" "$T/m4" poke $((rseq + 4)) $((cpu ^ 1)) 0 0 0
lg_lc 0 "$G" "$T/m4" && lg_lc_expect expected diff.memory.rseq
corrupt "$L" "$T/m5" poke $((rseq + 16)) 0x55
lg_lc 1 "$G" "$T/m5" && lg_lc_expect fail diff.memory
corrupt "$L" "$T/m6" poke $((rseq + 32)) 0x55
lg_lc 1 "$G" "$T/m6" && lg_lc_expect fail diff.memory
lg_finish_target "$TPID"
rm -f "$T"/m[0-9]* "$G" "$L"

# 4. Cores of a running process: gcore (which interrupts every wait), then
# lgcore.  target-readers' clock_nanosleep thread is in restart_syscall in
# lgcore's core: expected, never a failure of orig_rax alone.  Whatever
# else differs (the main thread's sigtimedwait returned EINTR and wrote
# errno; in a Go program the netpoller's epoll_pwait, called again with a
# recomputed timeout in r10), the report says the process ran between the
# dumps (diff.states), and names every thread whose registers differ
# (diff.ran).
running() {	# TARGET: the running pair of TARGET; sets ST, the exit of lcorecheck
	local t
	lg_start "$1"
	lg_gcore "$TPID" rgc
	if [ "$1" = target-go ]; then
		# Go declares no region for lg_lgcore's memory check.
		lg_run_lgcore "$T" -o rlg "$TPID"
		[ "$RC" = 0 ] || { cat "$ERR" >&2; lg_fail "lgcore of running $1 exited $RC"; }
	else
		lg_lgcore "$TPID" rlg || lg_done
	fi
	lg_check_running "$TPID" "after lgcore"
	"$LCORECHECK" "$T/rgc.$TPID" "$T/rlg.$TPID" >"$T/lc.out" 2>"$T/lc.err"
	ST=$?
	case $ST in
	0) ;;
	1) lg_lc_expect fail diff.states;;
	*) cat "$T/lc.err" >&2; lg_fail "$1: lcorecheck on cores of a running process exited $ST";;
	esac
	grep -Eq '^fail +diff.regs +thread [0-9]+: orig_rax ' "$T/lc.out" &&
		lg_fail "$1: a restarted wait's orig_rax fails: $(grep -m1 -E '^fail +diff.regs' "$T/lc.out")"
	for t in $(sed -n 's/^fail \+diff.regs \+thread \([0-9]*\): .*/\1/p' "$T/lc.out" | sort -u); do
		grep -Eq "^fail +diff.ran +thread $t: " "$T/lc.out" || lg_fail "$1: thread $t's registers differ but no diff.ran names it"
	done
	lg_info "$1 running: lcorecheck exit $ST: $(grep -E '^(fail|expected) +diff\.(regs|ran|states|memory)' "$T/lc.out" | cut -c1-110 | tr '\n' ';')"
	rm -f "$T/rgc.$TPID" "$T/rlg.$TPID"
}
running target-readers
grep -Eq '^expected +diff.regs +thread [0-9]+: orig_rax 0xe6 vs 0xdb, rax -ERESTART_RESTARTBLOCK' "$T/lc.out" ||
	{ grep 'diff.regs' "$T/lc.out" >&2; lg_fail "4: the clock_nanosleep thread's restart_syscall is not explained"; }
lg_finish_target "$TPID"
if [ -x "$TARGETS/target-go" ]; then
	running target-go
	lg_kill "$TPID"
else
	lg_info "4: no running Go pair: target-go not built (no Go toolchain)"
fi
lg_done
