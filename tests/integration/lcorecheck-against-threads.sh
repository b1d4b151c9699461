#!/bin/bash
# lcorecheck --against-gcore on target-threads (six threads blocked in
# different system calls and one spinning): only expected differences.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_against target-threads
n=$(lg_kv threads)
grep -Eq "^pass +diff.thread.ids +the same $n threads" "$T/check.out" ||
	lg_fail "not all $n threads compared: $(grep diff.thread "$T/check.out")"
lg_done
