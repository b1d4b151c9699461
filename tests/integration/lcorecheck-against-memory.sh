#!/bin/bash
# lcorecheck --against-gcore on target-memory (one region of each kind the
# dump rules tell apart): only expected differences.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/lcorecheck-against-lib.sh"
lc_against target-memory --dir "$T"
lg_done
