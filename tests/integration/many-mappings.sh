#!/bin/bash
# More than 65535 mappings: lgcore's core uses the PN_XNUM extension
# (e_phnum 0xffff, real count in section header 0's sh_info) with one PT_LOAD
# per mapping; gdb reads the same page words from both cores, and the words
# the target wrote.  Needs vm.max_map_count above ~66200; skips otherwise,
# unless LGCORE_TEST_RAISE_MAP_COUNT=1 (root) lets it raise the limit for
# the duration of the test (and restore it).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_eu
lg_need_lgcore
lg_need_gcore

lg_raise_map_count 70000
lg_dump_both target-manymaps
m=$(lg_kv maps)

"$EU_READELF" -h "$LGC" >"$T/lg.h"
grep -Eq "Number of program headers entries: *65535 \(($m|$((m + 1))) in \[0\]\.sh_info\)" "$T/lg.h" ||
	lg_fail "ELF header of lgcore's core: $(grep 'program headers entries' "$T/lg.h") (the target had $m mappings, PN_XNUM expected)"
lg_loads "$LGC" "$T/lg.loads"
c=$(wc -l <"$T/lg.loads")
[ "$c" = "$m" ] || lg_fail "lgcore's core has $c PT_LOAD for $m mappings"

cmds=()
for k in $(sed -n 's/^page\.\([0-9]*\)\.addr=.*/\1/p' "$TOUT"); do
	cmds+=("x/1gx $(lg_kv page.$k.addr)")
done
lg_gdb "$TEXE" "$LGC" "${cmds[@]}" >"$T/lg.gdb"
lg_gdb "$TEXE" "$GCC" "${cmds[@]}" >"$T/gc.gdb"
lg_same "gdb: sampled pages" "$T/lg.gdb" "$T/gc.gdb"
for k in $(sed -n 's/^page\.\([0-9]*\)\.addr=.*/\1/p' "$TOUT"); do
	a=$(lg_kv page.$k.addr) w=$(lg_kv page.$k.word)
	grep -q "^$a:[[:space:]]*$w\$" "$T/lg.gdb" || lg_fail "page $k at $a in lgcore's core is not $w"
done

lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
