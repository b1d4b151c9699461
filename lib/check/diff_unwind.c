/* The consumers' view: the modules libdwfl reports and every thread's
 * backtrace from each unwinder. */
#include <stdio.h>
#include <string.h>

#include "check/diff_impl.h"

void lg_diff_modules(const struct lg_modules *a, const struct lg_modules *b, struct lg_check_list *ck)
{
	bool any = false;

	for (size_t i = 0; i < a->n || i < b->n; i++) {
		const struct lg_module *x = i < a->n ? &a->v[i] : NULL, *y = i < b->n ? &b->v[i] : NULL;
		if (x && y && x->start == y->start && x->end == y->end && !strcmp(x->name, y->name) &&
		    !strcmp(x->build_id, y->build_id))
			continue;
		any = true;
		lg_check_add(ck, LG_CHECK_FAIL, "diff.modules", "module %zu: %s 0x%llx %s vs %s 0x%llx %s", i,
			     x ? x->name : "-", x ? (unsigned long long)x->start : 0ull, x ? x->build_id : "",
			     y ? y->name : "-", y ? (unsigned long long)y->start : 0ull, y ? y->build_id : "");
		break;
	}
	if (!any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.modules", "%zu modules with the same bases and build-ids", a->n);
}

void lg_diff_backtraces(const struct lg_backtrace *a, const struct lg_backtrace *b,
			struct lg_check_list *ck)
{
	char id[64];
	bool any = false;

	snprintf(id, sizeof(id), "diff.backtrace.%s", a->unwinder);
	if (a->error || b->error) {
		lg_check_add(ck, LG_CHECK_SKIP, id, "%s did not run on %s", a->unwinder, a->error ? "a" : "b");
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct lg_thread_bt *x = &a->t[i], *y = lg_backtrace_thread(b, x->tid);
		if (!y)
			continue;	/* reported as a missing thread */
		size_t n = x->n < y->n ? x->n : y->n, j;
		for (j = 0; j < n && lg_frame_equal(&x->f[j], &y->f[j]); j++)
			;
		if (j == n && x->n == y->n)
			continue;
		any = true;
		if (j < n)
			lg_check_add(ck, LG_CHECK_FAIL, id, "thread %d frame #%zu: 0x%llx %s vs 0x%llx %s", x->tid, j,
				     (unsigned long long)x->f[j].pc, x->f[j].name ? x->f[j].name : "??",
				     (unsigned long long)y->f[j].pc, y->f[j].name ? y->f[j].name : "??");
		else
			lg_check_add(ck, LG_CHECK_FAIL, id, "thread %d: %zu vs %zu frames", x->tid, x->n, y->n);
	}
	if (!any)
		lg_check_add(ck, LG_CHECK_PASS, id, "every thread's backtrace is the same");
}
