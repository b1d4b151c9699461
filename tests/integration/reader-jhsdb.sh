#!/bin/bash
# OpenJDK's serviceability agent (jhsdb) answers the same of gcore's core
# and of lgcore's (--mode=stop, default, --mode=snapshot, -o -) of one SIGSTOPped JVM
# (target-jvm: threads sleeping, waiting, parked and blocked on a monitor):
# jstack (Java threads, states and frames), jstack --mixed (jhsdb stops a
# native stack at glibc's futex wait, without frame pointers: the same on
# every core), jmap --heap, the class histogram (clhsdb jhisto), and the
# static fields of the target's class with the linked list they reach
# (clhsdb inspect, from the class's java.lang.Class mirror).  Answers from
# lgcore's core must also be the facts the target printed.  Disk: gcore
# writes about 350 MB for this JVM, lgcore about 250 MB of apparent size
# (165 MB used) each, cores deleted as soon as they have been asked.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
[ -n "$JHSDB" ] && [ -x "$JHSDB" ] ||
	lg_skip "jhsdb not installed (Debian: apt-get install openjdk-17-jdk-headless; tools/install-deps.sh)"
[ -x "$TARGETS/target-jvm" ] || lg_skip "target-jvm not built: no javac (Debian: openjdk-17-jdk-headless)"
JEXE=$(readlink -f "$JAVA")

# hsdb CORE CMD...: clhsdb's answers, prompts and banner cut off.
hsdb() {
	local core=$1
	shift
	printf '%s\n' "$@" quit | "$JHSDB" clhsdb --exe "$JEXE" --core "$core" 2>&1 |
		sed -e '0,/^Opening core file/d' -e 's/^hsdb> //' -e '/^$/d'
}
addr() { grep -o '0x[0-9a-f]*' | sed -n "${1:-1}p"; }

ask() {	# NAME: every question about core NAME, answers in $T/*.NAME
	local c=$1 core
	core=$(lg_core_of $c)
	"$JHSDB" jstack --exe "$JEXE" --core "$core" 2>&1 | sed 1d >"$T/jstack.$c"
	"$JHSDB" jstack --mixed --exe "$JEXE" --core "$core" 2>&1 | sed 1d >"$T/mixed.$c"
	"$JHSDB" jmap --heap --exe "$JEXE" --core "$core" 2>&1 | sed 1d >"$T/heap.$c"
	# jhisto says how long it took: not an answer about the core.
	hsdb "$core" jhisto "inspect $MIRROR" "inspect $HEAD" "inspect $NEXT" "inspect $LAST" \
		"inspect $CATALOG" | grep -v '^Heap traversal took ' >"$T/objects.$c"
}
# The object graph, found in gcore's core: class -> mirror (static
# fields) -> list.  The addresses are the same in every core of the state.
lg_between() {
	local k mh h
	k=$(hsdb "$GCC_FILE" "class Readers" | addr)
	mh=$(hsdb "$GCC_FILE" "inspect $k" | sed -n 's/.*_java_mirror: OopHandle @ \(0x[0-9a-f]*\).*/\1/p')
	h=$(hsdb "$GCC_FILE" "mem $mh/1" | addr 2)
	MIRROR=$(hsdb "$GCC_FILE" "mem $h/1" | addr 2)
	hsdb "$GCC_FILE" "inspect $MIRROR" >"$T/mirror"
	HEAD=$(sed -n 's/^head: .* @ //p' "$T/mirror")
	CATALOG=$(sed -n 's/^CATALOG: .* @ //p' "$T/mirror")
	NEXT=$(hsdb "$GCC_FILE" "inspect $HEAD" | sed -n 's/^next: .* @ //p')
	LAST=$(hsdb "$GCC_FILE" "inspect $NEXT" | sed -n 's/^next: .* @ //p')
	[ -n "$LAST" ] || lg_hard "no list found from class Readers in gcore's core (mirror '$MIRROR', head '$HEAD')"
	ask gc
	lg_info "gcore's core: $(lg_apparent "$GCC_FILE") (apparent, disk bytes)"
	rm -f "$GCC_FILE"
}
GCC_FILE=
lg_need_lgcore
lg_need_gcore
lg_start target-jvm
GCC_FILE=$T/gc.$TPID
GCC=$GCC_FILE
lg_stop "$TPID"
lg_declare_stopped "$TPID" stack '[stack]'
lg_gcore "$TPID" gc
lg_check_stopped "$TPID" "after gcore"
lg_between
lg_lgcore "$TPID" ls --mode=stop || lg_done
lg_check_stopped "$TPID" "after lgcore --mode=stop"
LSC=$T/ls.$TPID
ask ls
lg_info "lgcore --mode=stop's core: $(lg_apparent "$LSC")"
rm -f "$LSC"
lg_lgcore "$TPID" lg || lg_done
lg_check_stopped "$TPID" "after lgcore"
LGC=$T/lg.$TPID
ask lg
lg_info "lgcore's core: $(lg_apparent "$LGC")"
rm -f "$LGC"
lg_lgcore "$TPID" sn --mode=snapshot || lg_done
lg_check_stopped "$TPID" "after lgcore --mode=snapshot"
SNC=$T/sn.$TPID
ask sn
lg_info "lgcore --mode=snapshot's core: $(lg_apparent "$SNC")"
rm -f "$SNC"
lg_lgcore_stream "$TPID" st || lg_done
lg_check_stopped "$TPID" "after lgcore -o -"
STC=$T/st.$TPID
ask st
lg_info "lgcore -o -'s core: $(lg_apparent "$STC")"
rm -f "$STC"
LG_OURS="ls lg sn st"

grep -q '"sleeper"' "$T/jstack.gc" || lg_hard "jhsdb jstack shows no thread in gcore's core: $(head -c 400 "$T/jstack.gc")"
lg_same3 "jhsdb jstack" jstack
lg_same3 "jhsdb jstack --mixed" mixed
lg_same3 "jhsdb jmap --heap" heap
lg_same3 "jhsdb clhsdb: class histogram, static fields and the list" objects

# The facts, from lgcore's core.
for t in $(lg_kv threads); do
	grep -q "^\"$t\" " "$T/jstack.lg" || lg_fail "jhsdb jstack: no thread $t in lgcore's core"
done
for m in $(lg_kv methods); do
	grep -q "$m(" "$T/jstack.lg" || lg_fail "jhsdb jstack: no frame of $m in lgcore's core"
done
for s in 'TIMED_WAITING (sleeping)' 'WAITING (on object monitor)' 'WAITING (parking)' 'BLOCKED (on object monitor)'; do
	grep -q "java.lang.Thread.State: $s" "$T/jstack.lg" || lg_fail "jhsdb jstack: no thread $s in lgcore's core"
done
grep -q "^counter: $(($(lg_kv counter)))\$" "$T/objects.lg" || lg_fail "jhsdb: Readers.counter is not $(lg_kv counter)"
for n in alpha beta gamma; do
	grep -q "^name: \"$n\" @ " "$T/objects.lg" || lg_fail "jhsdb: no list item $n in lgcore's core"
done
grep -q 'Heap Configuration' "$T/heap.lg" || lg_fail "jhsdb jmap --heap shows no heap in lgcore's core"

lg_finish_target "$TPID"
lg_done
