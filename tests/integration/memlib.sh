# Region checks shared by the memory scripts; sourced after lib.sh.
#
# lg_check_regions CORE_LG CORE_GC KEY: for every region printed by
# target-memory, with KEY = dump or dump_a:
#   yes -> lgcore's core holds exactly the target's bytes (cksum of gdb's
#          "dump binary memory" equals the target's NAME.crc);
#   no  -> no PT_LOAD of lgcore's core has data for it (gdb 13 would read
#          it anyway from a file named in NT_FILE, so ask the headers);
#   any -> no requirement.
# Wherever both cores hold a region, the bytes are identical.
lg_region_dump() {	# CORE PREFIX: one gdb run dumps every region
	local core=$1 pre=$2 r a len
	local -a cmds=()
	for r in $(lg_kv regions); do
		a=$(lg_kv $r.addr) len=$(lg_kv $r.len)
		cmds+=("echo @@$r\\n" "x/1gx $a" "dump binary memory $pre.$r $a $a + $len")
	done
	lg_gdb "$TEXE" "$core" "${cmds[@]}" >"$pre.gdb"
}

lg_region_block() {	# PREFIX NAME: gdb's output for that region
	awk -v r="@@$2" '/^@@/ { inb = ($0 == r); next } inb' "$1.gdb"
}

lg_check_regions() {
	local lgc=$1 gcc=$2 key=$3 r want got
	rm -f "$T"/rl.* "$T"/rg.*
	lg_loads "$lgc" "$T/rl.loads"
	lg_loads "$gcc" "$T/rg.loads"
	lg_region_dump "$lgc" "$T/rl"
	lg_region_dump "$gcc" "$T/rg"
	for r in $(lg_kv regions); do
		want=$(lg_kv $r.$key)
		lg_in_core "$T/rl.loads" $(lg_kv $r.addr) $(lg_kv $r.len)
		case $? in 0) got=yes;; 1) got=no;; *) got=part;; esac
		case $want in
		yes)
			if [ $got != yes ]; then
				lg_fail "region $r ($(lg_kv $r.addr), $(lg_kv $r.len) bytes) is not (all) in lgcore's core ($got); the kernel's rules dump it (filter $(lg_kv filter), $key)"
			elif lg_region_block "$T/rl" $r | grep -q 'Cannot access memory'; then
				lg_fail "gdb cannot read region $r from lgcore's core"
			elif [ "$(cksum <"$T/rl.$r")" != "$(lg_kv $r.crc)" ]; then
				lg_fail "region $r in lgcore's core does not hold the target's bytes (cksum $(cksum <"$T/rl.$r"), target says $(lg_kv $r.crc))"
			fi;;
		no)
			[ $got = no ] ||
				lg_fail "region $r ($(lg_kv $r.addr)) is in lgcore's core; the kernel's rules leave it out (filter $(lg_kv filter), $key)";;
		esac
		if [ $got = yes ] && lg_in_core "$T/rg.loads" $(lg_kv $r.addr) $(lg_kv $r.len); then
			cmp -s "$T/rl.$r" "$T/rg.$r" ||
				lg_fail "region $r differs between lgcore's core and gcore's"
		fi
	done
}
