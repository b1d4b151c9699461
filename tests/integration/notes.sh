#!/bin/bash
# The note set of lgcore's core (eu-readelf -n): NT_PRPSINFO first, then per
# thread (main thread first) NT_PRSTATUS followed by its NT_FPREGSET,
# NT_X86_XSTATE and NT_SIGINFO, then NT_AUXV and NT_FILE; exact sizes; the
# PRSTATUS pids are the target's threads; one PT_NOTE; one PT_LOAD per
# mapping.  NT_AUXV and NT_FILE decode the same as gcore's.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_eu

lg_need_lgcore
lg_need_gcore
lg_start target-threads
lg_stop "$TPID"
cp "/proc/$TPID/maps" "$T/maps"
lg_lgcore "$TPID" lg || lg_done
lg_gcore "$TPID" gc
LGC=$T/lg.$TPID GCC=$T/gc.$TPID
n=$(lg_kv threads)

"$EU_READELF" -n "$LGC" >"$T/lg.notes" 2>&1 || lg_fail "eu-readelf -n fails on lgcore's core"
# The sequence of known note types, one word a note.
awk '$1 ~ /^(CORE|LINUX)$/ && $2 ~ /^[0-9]+$/ &&
	$3 ~ /^(PRPSINFO|PRSTATUS|FPREGSET|X86_XSTATE|SIGINFO|AUXV|FILE)$/ {
		printf "%s ", $3 } END { print "" }' "$T/lg.notes" >"$T/seq"
seq=$(cat "$T/seq")
want="^PRPSINFO ((PRSTATUS )((FPREGSET|X86_XSTATE|SIGINFO) ){3}){$n}((AUXV|FILE) ){2}\$"
echo "$seq" | grep -Eq "$want" ||
	lg_fail "note sequence of lgcore's core is '$seq', expected PRPSINFO, $n x (PRSTATUS FPREGSET X86_XSTATE SIGINFO), AUXV, FILE"
for t in PRSTATUS FPREGSET X86_XSTATE SIGINFO; do
	c=$(echo "$seq" | tr ' ' '\n' | grep -cx "$t")
	[ "$c" = "$n" ] || lg_fail "lgcore's core has $c $t notes for $n threads"
done
for t in PRPSINFO AUXV FILE; do
	c=$(echo "$seq" | tr ' ' '\n' | grep -cx "$t")
	[ "$c" = 1 ] || lg_fail "lgcore's core has $c $t notes, expected 1"
done
# Sizes that libdwfl and other readers insist on.
awk '$1 == "CORE" && $2 ~ /^[0-9]+$/ {
	if (($3 == "PRSTATUS" && $2 != 336) || ($3 == "PRPSINFO" && $2 != 136) ||
	    ($3 == "FPREGSET" && $2 != 512) || ($3 == "SIGINFO" && $2 != 128))
		{ print $3 " note of " $2 " bytes"; bad = 1 } }
	END { exit bad }' "$T/lg.notes" >"$T/sizes" ||
	lg_fail "wrong note sizes in lgcore's core: $(tr '\n' ' ' <"$T/sizes")"
# Threads: PRSTATUS pids in order, the main thread first.
sed -n 's/^ *pid: \([0-9]*\), ppid.*/\1/p' "$T/lg.notes" | sort -n >"$T/lg.tids"
first=$(sed -n 's/^ *pid: \([0-9]*\), ppid.*/\1/p' "$T/lg.notes" | sed -n 1p)
[ "$first" = "$(lg_kv thread.0.tid)" ] ||
	lg_fail "first NT_PRSTATUS of lgcore's core is LWP $first, not the main thread"
for i in $(seq 0 $((n - 1))); do lg_kv thread.$i.tid; done | sort -n >"$T/want.tids"
lg_same "NT_PRSTATUS LWPs vs the target's threads" "$T/lg.tids" "$T/want.tids"
grep -Eq "fname: target-threads(,|\$)" "$T/lg.notes" ||
	lg_fail "NT_PRPSINFO fname is not target-threads: $(grep fname: "$T/lg.notes")"

# Program headers.
"$EU_READELF" -l "$LGC" >"$T/lg.phdrs" 2>&1
c=$(grep -c '^  NOTE ' "$T/lg.phdrs")
[ "$c" = 1 ] || lg_fail "lgcore's core has $c PT_NOTE, expected 1"
c=$(grep -c '^  LOAD ' "$T/lg.phdrs") m=$(wc -l <"$T/maps")
[ "$c" = "$m" ] || lg_fail "lgcore's core has $c PT_LOAD for $m mappings"

# AUXV and NT_FILE decode identically.
for t in AUXV FILE; do
	"$EU_READELF" -n "$GCC" | awk -v t=$t '$1 ~ /^[A-Z]+$/ && $2 ~ /^[0-9]+$/ { inb = ($3 == t); next } inb' >"$T/gc.$t"
	awk -v t=$t '$1 ~ /^[A-Z]+$/ && $2 ~ /^[0-9]+$/ { inb = ($3 == t); next } inb' "$T/lg.notes" >"$T/lg.$t"
	[ -s "$T/gc.$t" ] || lg_hard "no $t in gcore's core"
	lg_same "NT_$t (eu-readelf -n)" "$T/lg.$t" "$T/gc.$t"
done

lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
