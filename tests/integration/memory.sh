#!/bin/bash
# Which regions lgcore dumps (kernel rules, default coredump_filter 0x33) and
# that it dumps their exact bytes: heap, stack, MADV_DONTDUMP (left out),
# shared anonymous, file mappings (private read-only, private written,
# shared), deleted files, zeroed and never-touched pages, and the ELF header
# page of a mapped executable.  Bytes both cores hold must be identical.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

lg_dump_both target-memory --dir "$T"
lg_check_regions "$LGC" "$GCC" dump
lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
