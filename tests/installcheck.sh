#!/bin/sh
# make installcheck: the tools as installed, not as built.
#   tests/installcheck.sh BINDIR MANDIR COMPLETIONSDIR [yes: lcorecheck too]
# The installed lgcore dumps a process (a sleep started here) into a
# temporary directory, says "Saved corefile", and the file is an ELF core
# of that process; with lcorecheck built, the installed lcorecheck
# validates the core.  The man pages and the bash completion are where
# they were installed, and the completion parses.
set -u
bindir=$1 mandir=$2 compdir=$3 lcorecheck=${4:-}
me=installcheck
fail() { echo "$me: FAIL: $*" >&2; status=1; }
status=0

for f in "$bindir/lgcore" "$mandir/man1/lgcore.1" "$compdir/lgcore"; do
	[ -e "$f" ] || fail "$f is not installed"
done
if [ "$lcorecheck" = yes ]; then
	for f in "$bindir/lcorecheck" "$mandir/man1/lcorecheck.1"; do
		[ -e "$f" ] || fail "$f is not installed"
	done
fi
[ "$status" = 0 ] || exit 1
bash -n "$compdir/lgcore" || fail "$compdir/lgcore: bash cannot parse it"

T=$(mktemp -d "${TMPDIR:-/tmp}/lgcore-installcheck.XXXXXX") || exit 1
sleep 300 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM

"$bindir/lgcore" --version >"$T/version" 2>&1 || fail "$bindir/lgcore --version exited $?"
"$bindir/lgcore" -o "$T/core" "$pid" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" != 0 ]; then
	cat "$T/err" >&2
	fail "$bindir/lgcore -o $T/core $pid exited $rc"
	exit 1
fi
grep -qx "Saved corefile $T/core.$pid" "$T/out" || fail "no 'Saved corefile $T/core.$pid' on stdout: $(cat "$T/out")"
# ELF, 64-bit, ET_CORE (4 at offset 16).
magic=$(od -An -tx1 -N 18 "$T/core.$pid" | tr -d ' \n')
case $magic in
7f454c4602*0400) ;;
*) fail "$T/core.$pid is not an ELF core (first bytes $magic)";;
esac
kill -0 "$pid" 2>/dev/null || fail "the dumped process is gone"
state=$(sed 's/.*) \(.\).*/\1/' "/proc/$pid/stat")
case $state in S|R) ;; *) fail "the dumped process is in state $state, not running";; esac

if [ "$lcorecheck" = yes ]; then
	"$bindir/lcorecheck" -q "$T/core.$pid" >"$T/lc" 2>&1 ||
		{ cat "$T/lc" >&2; fail "$bindir/lcorecheck $T/core.$pid exited $?"; }
fi
[ "$status" = 0 ] && echo "$me: ok: $(head -n 1 "$T/version") dumped process $pid${lcorecheck:+, lcorecheck validated the core}"
exit "$status"
