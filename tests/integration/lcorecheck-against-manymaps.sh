#!/bin/bash
# lcorecheck --against-gcore on target-manymaps (more than 65535 mappings,
# lgcore's core uses PN_XNUM): only expected differences.  Takes about 40 s
# on a 2-core machine, nearly all of it in libdwfl reading 66000 segments
# twice.  Needs vm.max_map_count above ~66200: raised as root for the test
# and restored, as many-mappings.sh does; skips otherwise.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_raise_map_count 70000
lg_against target-manymaps
m=$(lg_kv maps)
# Every one of the mappings was compared: both cores' memory covers them.
grep -Eq '^pass +diff.load.flags ' "$T/check.out" || lg_fail "PT_LOAD permissions not compared"
lg_info "$m mappings compared"
lg_done
