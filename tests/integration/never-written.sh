#!/bin/bash
# Memory the process never wrote reads as zeros from lgcore's cores in gdb,
# lldb and drgn (the kernel's rule, p_filesz 0, makes lldb and drgn refuse
# it), without disk blocks, and a reservation of terabytes neither fails the
# dump (ext4 refuses files over 16 TiB) nor makes a huge file: never-written
# mappings get file space, as holes, up to 64 GiB in all, the largest left
# out first.  Both modes, on target-reserve (4 TiB and 1 GiB never written,
# 16 MiB written at its ends, 1 TiB PROT_NONE).  gcore is never run here: it
# would write 4 TiB.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
lg_need_lgcore
lg_need_gdb
lg_need_eu

lg_start target-reserve
lg_stop "$TPID"
budget=$((64 << 30))
cat >"$T/nw.py" <<'EOF'
import sys
from drgn import FaultError
print(prog.read(int(sys.argv[1], 0) + 12345, 8).hex())
try:
    prog.read(int(sys.argv[2], 0), 8)
    print('huge-readable')
except FaultError:
    print('huge-fault')
EOF
for mode in default stop; do
	args=
	[ $mode = stop ] && args=--mode=stop
	t0=$(date +%s%N)
	lg_lgcore "$TPID" $mode $args || continue
	t1=$(date +%s%N)
	core=$T/$mode.$TPID
	read -r size disk <<<"$(lg_apparent "$core")"
	lg_info "$mode: dumped in $(((t1 - t0) / 1000000)) ms, apparent size $size, $disk bytes on disk"
	lg_check_stopped "$TPID" "after lgcore ($mode)"
	[ "$size" -le $((budget + (256 << 20))) ] ||
		lg_fail "$mode: the core's apparent size $size is above the 64 GiB bound (+ the data)"
	[ "$disk" -le $((64 << 20)) ] ||
		lg_fail "$mode: the core takes $disk bytes of disk for 16 MiB written at two pages"
	lg_loads "$core" "$T/$mode.loads"
	for r in huge medium written reserved; do
		a=$(($(lg_kv $r.addr))) len=$(lg_kv $r.len)
		fs=$(awk -v a=$a '$1 == a { print $2 }' "$T/$mode.loads")
		case $r in
		huge|reserved) want=0;;
		*) want=$len;;
		esac
		[ "$fs" = "$want" ] ||
			lg_fail "$mode: region $r ($len bytes at $a) has p_filesz '$fs', want $want"
	done
	m=$(lg_kv medium.addr) w=$(lg_kv written.addr) wl=$(lg_kv written.len)
	out=$(lg_gdb "$TEXE" "$core" "x/1gx $m + $(lg_kv medium.len) / 2" \
		"x/1gx $m + $(lg_kv medium.len) - 8" "x/1gx $w" "x/1gx $w + $wl - 8")
	echo "$out" | awk '{ print $NF }' | tr '\n' ' ' >"$T/$mode.gdb"
	[ "$(cat "$T/$mode.gdb")" = "0x0000000000000000 0x0000000000000000 $(lg_kv written.first) $(lg_kv written.last) " ] ||
		lg_fail "$mode: gdb reads '$(cat "$T/$mode.gdb")' from the never-written and written regions"
	if [ -n "${LLDB:-}" ] && [ -x "$LLDB" ]; then
		out=$("$LLDB" -b -o "target create -c $core $TEXE" \
			-o "memory read -s 8 -f x -c 1 $((m + (1 << 29)))" 2>&1 | tail -n 1)
		case $out in
		*:\ 0x0000000000000000) ;;
		*) lg_fail "$mode: lldb does not read zeros from the never-written 1 GiB: $out";;
		esac
	else
		lg_info "lldb not installed: its view not checked"
	fi
	if [ -n "${DRGN:-}" ] && [ -x "$DRGN" ]; then
		out=$("$DRGN" -q -c "$core" --no-default-symbols "$T/nw.py" "$m" "$(lg_kv huge.addr)" 2>&1 |
			tr '\n' ' ')
		[ "$out" = "0000000000000000 huge-fault " ] ||
			lg_fail "$mode: drgn reads '$out' (want zeros from the 1 GiB, a FaultError beyond the bound)"
	else
		lg_info "drgn not installed: its view not checked"
	fi
	rm -f "$core"
done
lg_finish_target "$TPID"
lg_done
