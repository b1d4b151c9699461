# Helpers for the reader tests (one script per debugger that reads cores);
# sourced after lib.sh.
#
# Every reader test takes five cores of one SIGSTOPped state: gcore's
# first (the reference, and gcore is known to leave a stopped process as it
# was), then lgcore --mode=stop, then lgcore in its default (pre-copy) mode,
# then lgcore --mode=snapshot, then lgcore -o - through zstd (a stream, in
# the kernel's order).
# It asks the reader the same questions of each and requires the same
# answers, except where a row of the table in README ("Differences from
# gcore") says otherwise; those rows are normalised here, each with its name.
#
# Environment (exported by the top Makefile.am; found on PATH otherwise):
# LLDB, DRGN, DLV, GO, JAVAC, JAVA, JHSDB.  PYTHON (python3 on PATH) runs
# corecmp.py, which needs nothing but the standard library.

: "${LLDB:=$(command -v lldb-16 || command -v lldb || true)}"
: "${DRGN:=$(command -v drgn || true)}"
: "${DLV:=$(command -v dlv || true)}"
: "${GO:=$(command -v go || true)}"
: "${JAVAC:=$(command -v javac || true)}"
: "${JAVA:=$(command -v java || true)}"
: "${JHSDB:=$(command -v jhsdb || true)}"
: "${PYTHON:=$(command -v python3 || true)}"

# lg_three_dumps TARGET [ARGS...]: start TARGET, SIGSTOP it, dump it with
# gcore (GCC), lgcore --mode=stop (LSC), lgcore (LGC), lgcore
# --mode=snapshot (SNC) and lgcore -o - (STC),
# checking that it
# is still stopped and untraced after each; lg_check_core compares the
# main thread's stack and the target's declared regions with every core.
# lg_between, if defined, runs after gcore (e.g. to ask a debugger attached
# to the live process).
lg_three_dumps() {
	lg_need_lgcore
	lg_need_gcore
	lg_start "$@"
	lg_stop "$TPID"
	# The main thread's stack, read from the stopped target: Go cannot
	# tc_declare, and every core must hold these bytes anyway.
	lg_declare_stopped "$TPID" stack '[stack]'
	lg_gcore "$TPID" gc ${GCORE_ARGS:-}
	lg_check_stopped "$TPID" "after gcore"
	if declare -F lg_between >/dev/null; then
		lg_between
	fi
	lg_lgcore "$TPID" ls --mode=stop || lg_done
	lg_check_stopped "$TPID" "after lgcore --mode=stop"
	lg_lgcore "$TPID" lg || lg_done
	lg_check_stopped "$TPID" "after lgcore"
	lg_lgcore "$TPID" sn --mode=snapshot || lg_done
	lg_check_stopped "$TPID" "after lgcore --mode=snapshot"
	lg_lgcore_stream "$TPID" st || lg_done
	lg_check_stopped "$TPID" "after lgcore -o -"
	GCC=$T/gc.$TPID LSC=$T/ls.$TPID LGC=$T/lg.$TPID SNC=$T/sn.$TPID STC=$T/st.$TPID
	LG_CORES="gc ls lg sn st" LG_OURS="ls lg sn st"
}

# lg_core_of NAME: the core file of gc, ls, lg, sn or st.
lg_core_of() {
	case $1 in gc) echo "$GCC";; ls) echo "$LSC";; lg) echo "$LGC";; sn) echo "$SNC";; st) echo "$STC";; esac
}

# lg_name_of NAME: how a failure message names that core.
lg_name_of() {
	case $1 in gc) echo "gcore's core";; ls) echo "lgcore --mode=stop's core";;
	lg) echo "lgcore's core";; sn) echo "lgcore --mode=snapshot's core";; st) echo "lgcore -o -'s core";; esac
}

# lg_same3 WHAT PREFIX: $T/PREFIX.gc, .ls, .lg, .sn and .st hold the reader's
# answers about each core; lgcore's must equal gcore's.
lg_same3() {
	local what=$1 pre=$2 c
	for c in $LG_OURS; do
		if ! cmp -s "$T/$pre.$c" "$T/$pre.gc"; then
			lg_fail "$what: $(lg_name_of $c) differs from gcore's (- $c, + gc):"
			diff -u "$T/$pre.$c" "$T/$pre.gc" | head -n 40 >&2
		fi
	done
}

# lg_misread_regex: the registers (as gdb names them) that gdb 13 reads at
# Intel's fixed XSAVE offsets where this CPU has other ones ("gdb 13
# misreads AVX-512/PKRU state on non-Intel layouts" in README): in gcore's
# cores, written from what gdb read, they hold other registers' bytes.  An
# ERE, or nothing when this CPU has Intel's layout.
lg_misread_regex() {
	local c re=
	[ -x "$TARGETS/xsave-layout" ] || lg_hard "$TARGETS/xsave-layout not built"
	for c in $("$TARGETS/xsave-layout" | awk '$1 == "gdb13-misread" { print $2 }'); do
		case $c in
		3|4) re="$re|bnd[0-3]raw|bnd[0-3]|bndcfgu|bndstatus";;
		5) re="$re|k[0-7]";;
		6) re="$re|zmm([0-9]|1[0-5])h?";;
		7) re="$re|[xyz]mm(1[6-9]|2[0-9]|3[01])h?";;
		9) re="$re|pkru";;
		esac
	done
	[ -n "$re" ] && echo "^(${re#|})\$"
}

# lg_drop_misread FILE...: drop gdb register lines (NAME VALUE...) that
# gdb 13 misreads on this CPU from each FILE; says how many went.
lg_drop_misread() {
	local re f n=0
	re=$(lg_misread_regex)
	[ -n "$re" ] || return 0
	for f in "$@"; do
		n=$(awk -v re="$re" '$1 ~ re' "$f" | wc -l)
		awk -v re="$re" '!($1 ~ re)' "$f" >"$f.kept" && mv "$f.kept" "$f"
	done
	lg_info "not compared with gcore's: $n register lines (in the last file) that gdb 13 misreads on this CPU: $re"
}

# lg_memcmp CORE_A CORE_B [OPTS]: compare the memory both cores hold
# (tests/integration/corecmp.py); prints the differing pages.
lg_memcmp() {
	[ -n "$PYTHON" ] || lg_skip "no python3 to compare cores with"
	"$PYTHON" "$top_srcdir/tests/integration/corecmp.py" "$@"
}

# lg_apparent CORE: "apparent-size disk-bytes" of a file.
lg_apparent() {
	echo "$(stat -c %s "$1") $(($(stat -c %b "$1") * $(stat -c %B "$1")))"
}
