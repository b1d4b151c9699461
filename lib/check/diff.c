/* Diff mode: every comparison, in the order the report lists them. */
#include <errno.h>

#include "check/diff_impl.h"

/* Registers or memory differ and one core says the process was running:
 * say what the differences most likely are, not only that they exist. */
static void explain_states(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	char sa = lg_core_running(a), sb = lg_core_running(b);

	if (!sa && !sb)
		return;
	if (!lg_check_failed(ck, "diff.regs") && !lg_check_failed(ck, "diff.memory") &&
	    !lg_check_failed(ck, "diff.ran"))
		return;
	lg_check_add(ck, LG_CHECK_FAIL, "diff.states",
		     "%s NT_PRPSINFO says the process was running (pr_sname '%c') when it was dumped: the cores are of two states, and threads that ran between the dumps explain differing registers and writable memory (compare cores of one stopped state to find a wrong byte)",
		     sa ? "a's" : "b's", sa ? sa : sb);
}

int lg_check_diff(struct lg_core_view *va, struct lg_core_view *vb, struct lg_check_list *ck,
		  struct lg_memdiffs *mem)
{
	const struct lg_core *a = &va->core, *b = &vb->core;

	lg_diff_threads(a, b, ck);
	lg_diff_notes(a, b, ck);
	lg_diff_prpsinfo(a, b, ck);
	lg_diff_auxv(a, b, ck);
	lg_diff_ntfiles(a, b, ck);
	lg_diff_loads(a, b, ck);
	lg_diff_memory(a, b, ck, mem);
	explain_states(a, b, ck);
	if (va->uw_open && vb->uw_open) {
		lg_diff_modules(&va->mods, &vb->mods, ck);
		lg_diff_backtraces(&va->bt[0], &vb->bt[0], ck);
		lg_diff_backtraces(&va->bt[1], &vb->bt[1], ck);
	}
	return ck->oom ? -ENOMEM : 0;
}
