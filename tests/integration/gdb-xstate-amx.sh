#!/bin/bash
# On a CPU with AMX (Sapphire Rapids: an 11008-byte XSAVE area) gdb 13
# wants 2696 bytes of XSTATE and warns "Unexpected size of section
# `.reg-xstate/TID' in core file" for every thread of a core with the whole
# area, as the kernel's carry it.  lgcore's, when no thread has AMX state,
# are those 2696 bytes (fewer where the CPU lacks PKU or AVX-512, as an
# AMX one never does, but the area this test converts is this CPU's):
# gdb 13 reads them without a word and shows every
# register as in lgcore's core of this CPU.  With tiles in use lgcore keeps
# the whole area (gdb 13 warns, and still reads the same registers).  No
# AMX CPU needed: lgcore's core of this one goes through lib/arch's own
# conversion with Sapphire Rapids' CPUID table (xstate-amx.c).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_gdb
lg_need_python
X=$top_builddir/tests/integration/xstate-amx
[ -x "$X" ] || lg_hard "tests/integration/xstate-amx not built"

lg_start target-readers
lg_lgcore "$TPID" lg || lg_done
lg_finish_target "$TPID"
grep -q NT_X86_XSTATE <(readelf -n "$T/lg.$TPID") || lg_skip "this CPU has no XSAVE: no XSTATE to rewrite"

# regs CORE OUT: every thread's registers as gdb 13 shows them; the
# warnings it printed go to OUT.warn.
regs() {
	"$GDB" -nx -batch -iex 'set debuginfod enabled off' -ex 'set pagination off' \
		-ex 'set width 0' -ex "file $TEXE" -ex "core-file $1" -ex 'echo @@CUT@@\n' \
		-ex 'thread apply all info all-registers' >"$2.all" 2>&1 </dev/null
	grep 'Unexpected size of section\|too small' "$2.all" >"$2.warn"
	sed -e '1,/^@@CUT@@$/d' -e '/Unexpected size of section/d' "$2.all" >"$2"
}
# xstate_sizes CORE: the sizes of its NT_X86_XSTATE notes, one a line.
xstate_sizes() {
	local s
	readelf -n "$1" | awk '/NT_X86_XSTATE/ { print $2 }' | while read -r s; do
		printf '%d\n' "$s"
	done | sort -u
}

for m in kernel lgcore "kernel used" "lgcore used"; do
	f=$T/${m// /-}
	python3 "$top_srcdir/tests/integration/xstate-amx-core.py" "$T/lg.$TPID" "$f" "$X" $m ||
		lg_hard "xstate-amx-core.py $m failed"
done
regs "$T/lg.$TPID" "$T/regs.this"
regs "$T/kernel" "$T/regs.kernel"
regs "$T/lgcore" "$T/regs.lgcore"
regs "$T/lgcore-used" "$T/regs.used"
[ -s "$T/regs.this" ] && grep -q '^rip ' "$T/regs.this" || lg_hard "gdb showed no registers of lgcore's core"
[ -s "$T/regs.this.warn" ] && lg_hard "gdb 13 warns on lgcore's core of this CPU: $(head -n1 "$T/regs.this.warn")"

# The premise: gdb warns about the kernel's size (gdb 13.1 does, once a
# thread, the first twice); a gdb that does not makes this test prove less.
if [ -s "$T/regs.kernel.warn" ]; then
	lg_info "gdb on the kernel-style core (XSTATE $(xstate_sizes "$T/kernel") bytes): $(wc -l <"$T/regs.kernel.warn") warnings, e.g. $(head -n1 "$T/regs.kernel.warn")"
else
	lg_info "this gdb does not warn about an 11008-byte XSTATE"
fi
if cmp -s "$T/regs.kernel" "$T/regs.this"; then
	lg_info "and reads every register of it all the same"
else
	lg_info "and reads other registers from it: $(diff "$T/regs.this" "$T/regs.kernel" | grep -c '^>') lines differ"
fi

# gdb 13 wants the size its fixed layout gives XCR0's features (2696 with
# PKRU, 2688 with AVX-512 and no PKRU, 832 with AVX alone): the size of
# lgcore's core of this CPU, which gdb read above without a warning.  The
# AMX components must not change it.
want=$(xstate_sizes "$T/lg.$TPID")
case $want in 832 | 1088 | 2688 | 2696) ;; *) lg_fail "lgcore's XSTATE on this CPU: $want bytes, none of gdb 13's sizes" ;; esac
sz=$(xstate_sizes "$T/lgcore")
[ "$sz" = "$want" ] || lg_fail "lgcore's XSTATE on an AMX CPU without AMX state: $sz bytes, gdb 13 wants $want"
[ -s "$T/regs.lgcore.warn" ] && lg_fail "gdb 13 warns on lgcore's AMX-CPU core: $(head -n1 "$T/regs.lgcore.warn")"
lg_same "gdb: every register, lgcore's core of an AMX CPU vs of this CPU" "$T/regs.lgcore" "$T/regs.this"

sz=$(xstate_sizes "$T/lgcore-used")
[ "$sz" = 11008 ] || lg_fail "lgcore's XSTATE with AMX tiles in use: $sz bytes, not the whole 11008-byte area"
lg_same "gdb: every register, lgcore's core with tiles in use vs of this CPU" "$T/regs.used" "$T/regs.this"

# lcorecheck takes lgcore's core for the kernel's: the same registers, the
# AMX components left out in their init state.
if [ -x "${LCORECHECK:-}" ]; then
	lg_lc 0 "$T/lgcore" && lg_lc_expect pass note.xsave-layout
	lg_lc 0 "$T/kernel" "$T/lgcore" && lg_lc_expect expected diff.xstate.xcr0 && lg_lc_expect pass diff.xstate
	lg_lc 0 "$T/kernel-used" "$T/lgcore-used" && lg_lc_expect pass diff.xstate
fi
lg_done
