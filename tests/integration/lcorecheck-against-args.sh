#!/bin/bash
# lcorecheck --against-gcore on target-args (a command line longer than
# pr_psargs): only expected differences, gdb's argv[0]-only psargs among them.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
args=()
for i in $(seq 8); do args+=("argument-number-$i-$(printf 'x%.0s' $(seq $i))"); done
lg_against target-args "${args[@]}"
grep -Eq '^expected +diff.prpsinfo +pr_psargs ' "$T/check.out" ||
	lg_fail "gdb's short pr_psargs not reported as expected: $(grep diff.prpsinfo "$T/check.out")"
lg_done
