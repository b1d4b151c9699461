#!/bin/bash
# lgcore -a also dumps MADV_DONTDUMP regions (and otherwise the same regions
# as without -a); compared with gcore -a wherever both hold the bytes.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

LGCORE_ARGS=-a GCORE_ARGS=-a lg_dump_both target-memory --dir "$T"
lg_check_regions "$LGC" "$GCC" dump_a
lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
