#!/bin/bash
# Command-line contract: -h/--help and -v/--version exit 0; an unknown
# option, no pid, a pid that is not a number, a number option that is not
# strictly one (a sign, empty, overflowing, nan) or -o without its argument
# exit 2 and dump nothing (usage on stdout or stderr); -g GDB and -d DIR are
# accepted and have no effect (the core holds the target's memory).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-threads
mkdir "$T/out"
for o in -h --help; do
	lg_run_lgcore "$T/out" $o
	[ "$RC" = 0 ] || lg_fail "lgcore $o exited $RC, expected 0"
	grep -q -- '-o' "$OUT" || lg_fail "lgcore $o prints no usage mentioning -o on stdout"
done
for o in -v --version; do
	lg_run_lgcore "$T/out" $o
	[ "$RC" = 0 ] || lg_fail "lgcore $o exited $RC, expected 0"
	grep -qi lgcore "$OUT" || lg_fail "lgcore $o does not name lgcore on stdout: $(head -c 200 "$OUT")"
done
while read -r args; do
	lg_run_lgcore "$T/out" ${args//PID/$TPID}
	[ "$RC" = 2 ] || lg_fail "lgcore $args exited $RC, expected 2 (usage error)"
	[ -s "$ERR" ] || [ -s "$OUT" ] || lg_fail "lgcore $args says nothing (no usage, no error)"
done <<'LIST'

-Z PID
--no-such-option PID
abc
12abc
-5
-o
-o x
-- abc
+PID
--max-passes=4294967297 PID
--max-passes= PID
--max-passes=-1 PID
--pause-target=nan PID
--pause-target=1e3 PID
--pause-target=.5 PID
--max-pause=abc PID
--max-pause=-1 PID
LIST
[ -z "$(ls -A "$T/out")" ] || lg_fail "usage errors left files: $(ls -A "$T/out")"
# A bad pid after a good one is still a usage error (whether the good one
# was dumped first is not part of the contract).
lg_run_lgcore "$T/out" "$TPID" abc
[ "$RC" = 2 ] || lg_fail "lgcore PID abc exited $RC, expected 2 (usage error)"
rm -f "$T/out/core.$TPID"

lg_run_lgcore "$T/out" -g /nonexistent/gdb -d /nonexistent/dir "$TPID"
[ "$RC" = 0 ] || lg_fail "lgcore -g X -d Y PID exited $RC, expected 0 (options accepted, no effect)"
if lg_is_core "$T/out/core.$TPID"; then
	lg_check_core "$T/out/core.$TPID" "$TPID"
else
	lg_fail "lgcore -g X -d Y PID wrote no core.$TPID"
fi
grep -qx "Saved corefile core.$TPID" "$OUT" || lg_fail "no 'Saved corefile core.$TPID' on stdout"

lg_check_running "$TPID" "after the dumps"
lg_finish_target "$TPID"
lg_done
