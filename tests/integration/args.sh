#!/bin/bash
# A command line longer than 80 bytes: gdb prints the same argc/argv from
# both cores and the target's strings from lgcore's; NT_PRPSINFO of lgcore's
# core has pr_fname = the program's name and pr_psargs either the kernel's
# (first 79 bytes, NULs as spaces) or gdb's (argv[0]).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_eu

args=()
for i in $(seq 8); do args+=("argument-number-$i-$(printf 'x%.0s' $(seq $i))"); done
lg_dump_both target-args "${args[@]}"
n=$(lg_kv argc)
cmds=("print g_argc")
for i in $(seq 0 $((n - 1))); do cmds+=("print g_argv[$i]"); done
lg_gdb "$TEXE" "$LGC" "${cmds[@]}" >"$T/lg.gdb"
lg_gdb "$TEXE" "$GCC" "${cmds[@]}" >"$T/gc.gdb"
lg_same "gdb: argc and argv" "$T/lg.gdb" "$T/gc.gdb"
{
	echo "\$1 = $n"
	for i in $(seq 0 $((n - 1))); do
		echo "\$$((i + 2)) = $(lg_kv argv.$i)"
	done
} >"$T/want"
sed 's/ = 0x[0-9a-f]* "\(.*\)"$/ = \1/' "$T/lg.gdb" >"$T/lg.strings"
lg_same "argv read from lgcore's core vs the target's" "$T/lg.strings" "$T/want"

"$EU_READELF" -n "$LGC" >"$T/lg.notes"
# eu-readelf puts "psargs:" on the fname line or, when long, on its own.
fname=$(sed -n 's/^.*fname: \([^,]*\).*/\1/p' "$T/lg.notes")
psargs=$(sed -n 's/^.*psargs: //p' "$T/lg.notes")
[ "$fname" = "$(lg_kv fname)" ] || lg_fail "pr_fname is '$fname', expected '$(lg_kv fname)'"
if [ "$psargs" != "$(lg_kv psargs_kernel)" ] && [ "$psargs" != "$(lg_kv psargs_argv0)" ]; then
	lg_fail "pr_psargs is '$psargs'; expected '$(lg_kv psargs_kernel)' (kernel) or '$(lg_kv psargs_argv0)' (gdb)"
fi

lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
