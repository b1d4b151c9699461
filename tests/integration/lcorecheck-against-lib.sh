# Sourced after lib.sh by the lcorecheck-against-*.sh tests: run
# `lcorecheck --against-gcore` on one of the foundation's target programs.
LCORECHECK=$top_builddir/src/lcorecheck
[ -x "$LCORECHECK" ] || lg_skip "lcorecheck not built ($LCORECHECK)"

# lc_against TARGET [ARGS...]: start TARGET (running, not stopped: the
# point of --against-gcore is that it stops and resumes the process
# itself), require exit 0 with no unexpected difference and with the
# comparisons that matter actually made, the target running again and
# untraced, no temporary core left behind; then SIGUSR1 so the target
# checks its own memory and threads, and require it to exit 0.
# The report is left in $T/check.out.
lc_against() {
	local rc
	lg_need_lgcore
	lg_need_gcore
	export LGCORE
	lg_start "$@"
	mkdir "$T/cores" || lg_hard "mkdir $T/cores"
	"$LCORECHECK" --against-gcore "$TPID" --dir "$T/cores" >"$T/check.out" 2>"$T/check.err"
	rc=$?
	if [ "$rc" != 0 ]; then
		cat "$T/check.err" >&2
		grep -E '^fail ' "$T/check.out" >&2
		lg_fail "lcorecheck --against-gcore on $1 exited $rc, want 0"
	fi
	grep -Eq '^lcorecheck: .* vs .*: OK: 0 failed, ' "$T/check.out" ||
		lg_fail "no 'OK: 0 failed' summary: $(head -n 1 "$T/check.out")"
	# A comparison that silently skipped its core checks would pass too.
	for id in diff.thread.ids diff.regs diff.fpregset diff.xstate diff.auxv diff.nt_file \
		diff.memory diff.modules diff.backtrace.libdwfl diff.backtrace.libunwind \
		a.unwind.libdwfl b.unwind.libdwfl; do
		grep -Eq "^pass +$id " "$T/check.out" || lg_fail "no 'pass $id' in the report"
	done
	[ -z "$(ls -A "$T/cores")" ] || lg_fail "temporary cores left behind: $(ls -A "$T/cores")"
	lg_check_running "$TPID" "after lcorecheck --against-gcore"
	lg_finish_target "$TPID"
}
