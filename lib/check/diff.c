/* Diff mode: every comparison, in the order the report lists them. */
#include <errno.h>

#include "check/diff_impl.h"

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
	if (va->uw_open && vb->uw_open) {
		lg_diff_modules(&va->mods, &vb->mods, ck);
		lg_diff_backtraces(&va->bt[0], &vb->bt[0], ck);
		lg_diff_backtraces(&va->bt[1], &vb->bt[1], ck);
	}
	return ck->oom ? -ENOMEM : 0;
}
