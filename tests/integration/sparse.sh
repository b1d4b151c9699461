#!/bin/bash
# lgcore's core is sparse: 64 MiB of anonymous memory written only at its
# two ends is dumped whole (the middle reads as zeros) but the never-touched
# middle takes no disk blocks.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_gdb

lg_start target-memory --dir "$T"
lg_lgcore "$TPID" lg || lg_done
core=$T/lg.$TPID
size=$(stat -c %s "$core") used=$(($(stat -c %b "$core") * $(stat -c %B "$core")))
big=$(lg_kv sparse.len)
lg_info "size $size bytes, $used bytes on disk, $big bytes never touched"
if [ "$size" -le "$big" ]; then
	lg_fail "core ($size bytes) is smaller than the sparse region ($big): its PT_LOAD does not cover it as holes"
elif [ "$used" -gt $((size - big * 3 / 4)) ]; then
	lg_fail "core uses $used bytes of disk for $size bytes: the $big untouched bytes were written out"
fi
out=$(lg_gdb "$TEXE" "$core" "x/1gx $(lg_kv sparse.addr) + $big / 2" "x/1bx $(lg_kv sparse.addr) + $big - 1")
case $out in
*:*0x0000000000000000*:*0x5e) ;;
*) lg_fail "the sparse region does not read back from the core as zeros with 0x5e at its end: $out";;
esac
lg_check_running "$TPID" "after the dump"
lg_finish_target "$TPID"
lg_done
