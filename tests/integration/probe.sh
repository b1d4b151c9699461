#!/bin/bash
# lgcore --probe [PID] [--json]: the facts it prints are this kernel's (as
# track-probe finds them, cross-checked with the kernel by other means),
# and the mode and tracker it announces for a process are those a dump of
# that process then uses: a plain target, one whose every thread runs under
# a seccomp filter that kills it on userfaultfd(2), one that uses
# userfaultfd itself, and a stopped one.  Bad arguments are refused.
. "${top_srcdir:-$(dirname "$0")/..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_python
lg_track_probe
V=$top_builddir/tests/faults/victim
[ -x "$V" ] || lg_hard "$V not built"
pk() { sed -n "s/^$1=//p" "$LG_PROBE"; }

# probe PID|"": the text and JSON probes into $T/p.txt, $T/p.json; both
# must say the same.
probe() {
	"$LGCORE" --probe $1 >"$T/p.txt" 2>"$T/p.err" || lg_fail "lgcore --probe $1 exited $?: $(cat "$T/p.err")"
	"$LGCORE" --probe --json $1 >"$T/p.json" 2>"$T/p.err" ||
		lg_fail "lgcore --probe --json $1 exited $?: $(cat "$T/p.err")"
	python3 - "$T/p.txt" "$T/p.json" <<'PY' || lg_fail "--probe and --probe --json disagree"
import json, sys
j = json.load(open(sys.argv[2]))
lines = [l.rstrip("\n") for l in open(sys.argv[1])]
assert len(lines) == len(j), (len(lines), len(j))
for l, (k, v) in zip(lines, j.items()):
    want = "%s: %s" % (k, v["value"]) + (" (%s)" % v["why"] if v["why"] else "")
    assert l == want, (l, want)
PY
}
val() { sed -n "s/^$1: \([^ ]*\).*/\1/p" "$T/p.txt"; }
why() { sed -n "s/^$1: [^ ]* (\(.*\))$/\1/p" "$T/p.txt"; }
expect() {
	[ "$(val "$1")" = "$2" ] || lg_fail "$3: $1 is '$(val "$1")', expected '$2' ($(grep "^$1:" "$T/p.txt"))"
}

# The kernel's facts, without a process.
probe ""
cat "$T/p.txt"
expect kernel "$(uname -r)" "no pid"
expect tracker.uffd "$(pk kernel.uffd)" "no pid"
expect tracker.soft-dirty "$(pk kernel.soft-dirty)" "no pid"
expect mode.snapshot "$(pk snapshot)" "no pid"
thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
expect thp "${thp:-unavailable}" "no pid"
expect vm.unprivileged_userfaultfd "$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null || echo unknown)" "no pid"
[ "$(pk uffd)" = no ] && [ -n "$(why tracker.uffd)" ] || [ "$(pk uffd)" = yes ] ||
	lg_fail "tracker.uffd no without a reason"
[ "$(pk soft-dirty)" = no ] && ! why tracker.soft-dirty | grep -q CONFIG_MEM_SOFT_DIRTY &&
	lg_fail "tracker.soft-dirty no, but the reason does not name CONFIG_MEM_SOFT_DIRTY"
grep -q '^process' "$T/p.txt" && lg_fail "process facts without a pid"
best=none
[ "$(pk soft-dirty)" = yes ] && best=soft-dirty
[ "$(pk uffd)" = yes ] && best=uffd
expect dump.tracker $best "no pid"

# dump PID NAME: a dump of PID to a file, the tracker its --stats names.
dump() {
	(cd "$T" && "$LGCORE" --stats="$T/$2.json" -o "$T/$2" "$1") >"$T/$2.out" 2>&1 ||
		lg_fail "$2: lgcore exited $?: $(cat "$T/$2.out")"
	rm -f "$T/$2.$1"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["tracker"], d["mode"])' \
		"$T/$2.json"
}
# check NAME PID: the probe of PID, then a dump of it, agree.
check() {
	local name=$1 pid=$2 got
	probe "$pid"
	sed "s/^/$name: /" "$T/p.txt"
	expect process "$pid" "$name"
	got=$(dump "$pid" "$name")
	[ "${got% *}" = "$(val dump.tracker)" ] ||
		lg_fail "$name: the probe said tracker $(val dump.tracker), the dump used ${got% *}"
	# A pre-copy dump that falls back reports tracker none (stop-and-copy).
	[ "$(val dump.mode)" = "$([ "${got% *}" = none ] && echo stop || echo precopy)" ] ||
		lg_fail "$name: the probe said mode $(val dump.mode), the dump used tracker ${got% *}"
}
start_victim() {
	local i
	"$V" "$1" "$T/status.$1" >"$T/victim.$1" 2>&1 &
	VPID=$!
	lg_track "$VPID"
	for i in $(seq 100); do
		grep -q '^ready' "$T/victim.$1" && return 0
		kill -0 "$VPID" 2>/dev/null || lg_hard "victim $1 died: $(cat "$T/victim.$1")"
		sleep 0.1
	done
	lg_hard "victim $1 not ready"
}

start_victim busy
check plain "$VPID"
expect process.seccomp none plain
expect process.userfaultfd 0 plain
expect dump.tracker $best plain
[ $best = none ] || expect dump.mode precopy plain
expect dump.stream-mode "$([ "$(pk snapshot)" = yes ] && echo snapshot || echo stop)" plain
lg_stop "$VPID"
check stopped "$VPID"
expect dump.mode stop stopped
why dump.mode | grep -q 'stopped' || lg_fail "stopped: dump.mode does not say the process is stopped"
[ "$(lg_state "$VPID")" = T ] || lg_fail "the stopped victim runs after the probe and the dump"
lg_kill "$VPID"

# Every thread under a filter that kills on userfaultfd(2): no uffd, no
# snapshot; soft-dirty where the kernel has it, else stop mode.
start_victim seccomp-all
check seccomp "$VPID"
expect process.seccomp filter seccomp
expect dump.tracker "$([ "$(pk soft-dirty)" = yes ] && echo soft-dirty || echo none)" seccomp
expect dump.stream-mode stop seccomp
why dump.tracker | grep -q 'seccomp' || lg_fail "seccomp: dump.tracker does not name seccomp"
kill -0 "$VPID" || lg_fail "the seccomp victim died (probe or dump injected userfaultfd?)"
lg_kill "$VPID"

# Its own userfaultfd, serving a memfd's missing pages.
start_victim uffd
check own-uffd "$VPID"
[ "$(val process.userfaultfd)" -ge 1 ] 2>/dev/null ||
	lg_fail "own-uffd: process.userfaultfd is '$(val process.userfaultfd)'"
why process.userfaultfd | grep -q '[1-9][0-9]* mapping(s) registered' ||
	lg_fail "own-uffd: no registered mapping counted: $(why process.userfaultfd)"
lg_kill "$VPID"

# Refusals: a pid that is not there (1), not a number, two pids, --json alone (2).
dead=$(lg_dead_pid)
"$LGCORE" --probe "$dead" >"$T/o" 2>"$T/e"
[ $? = 1 ] || lg_fail "--probe of a dead pid did not exit 1"
grep -qx "lgcore: cannot probe $dead: no such process" "$T/e" || lg_fail "dead pid: $(cat "$T/e")"
[ -s "$T/o" ] && lg_fail "dead pid: something on stdout"
for args in "--probe x" "--probe 1 2" "--json 1"; do
	# shellcheck disable=SC2086
	"$LGCORE" $args >/dev/null 2>"$T/e"
	[ $? = 2 ] || lg_fail "lgcore $args did not exit 2"
	[ "$(wc -l <"$T/e")" = 1 ] || lg_fail "lgcore $args: not one line: $(cat "$T/e")"
done
lg_done
