#!/bin/bash
# lcorecheck --against-gcore on target-memory (one region of each kind the
# dump rules tell apart): only expected differences.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_against target-memory --dir "$T"
lg_done
