#!/bin/bash
# lgcore honours /proc/PID/coredump_filter: with 0x3f (file-backed private
# and shared mappings too) the file mappings are dumped, MADV_DONTDUMP still
# is not; bytes identical to gcore's wherever both hold them.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

lg_dump_both target-memory --dir "$T" --filter 0x3f
[ "$(cat /proc/$TPID/coredump_filter)" = 0000003f ] ||
	lg_hard "coredump_filter is $(cat /proc/$TPID/coredump_filter), not 3f"
lg_check_regions "$LGC" "$GCC" dump
lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
