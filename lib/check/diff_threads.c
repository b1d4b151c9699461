/* Threads: the same thread ids, the same general registers, the other
 * NT_PRSTATUS fields, NT_FPREGSET, NT_SIGINFO; XSTATE is diff_xstate.c's. */
#include <stddef.h>
#include <string.h>
#include <sys/user.h>

#include "check/diff_impl.h"
#include "common/grow.h"

/* pr_* fields from FIRST up to NEXT. */
#define PRSTATUS_SPAN(first, next) LG_PRSTATUS_OFF(first), LG_PRSTATUS_OFF(next) - LG_PRSTATUS_OFF(first)

/* The NT_PRSTATUS fields besides pr_pid and the registers, and the row
 * that explains a difference in each. */
static const struct prstatus_field {
	const char *what, *row;
	size_t off, len;
} prstatus_fields[] = {
	{ "pr_info", "prstatus.info", PRSTATUS_SPAN(pr_info, pr_cursig) },
	{ "pr_cursig", "prstatus.cursig", LG_PRSTATUS_OFF(pr_cursig), sizeof(short) },
	{ "pr_sigpend/pr_sighold", "prstatus.sig", PRSTATUS_SPAN(pr_sigpend, pr_pid) },
	{ "pr_ppid/pr_pgrp/pr_sid", "prstatus.ids", PRSTATUS_SPAN(pr_ppid, pr_utime) },
	{ "pr_utime..pr_cstime", "prstatus.times", PRSTATUS_SPAN(pr_utime, pr_reg) },
	{ "pr_fpvalid", "prstatus.fpvalid", LG_PRSTATUS_OFF(pr_fpvalid), sizeof(int) },
};

/* NT_FPREGSET is struct user_fpregs_struct; mxcsr_mask is its mxcr_mask. */
#define FPREGSET_MXCSR_MASK_OFF offsetof(struct user_fpregs_struct, mxcr_mask)
#define FPREGSET_MXCSR_MASK_LEN 4

/* Bytes [OFF, OFF+LEN) of X and Y, the WHAT of thread TID: a difference
 * goes to check ID, explained by ROW (NULL: a failure, and *ANY is set). */
static void diff_bytes(struct lg_check_list *ck, const char *id, const char *row, int tid,
		       const char *what, const uint8_t *x, const uint8_t *y, size_t off, size_t len,
		       bool *any)
{
	if (!memcmp(x + off, y + off, len))
		return;
	*any = true;
	lg_check_difference(ck, row, id, "thread %d: %s differs", tid, what);
}

static bool diff_regs(const struct lg_core_thread *x, const struct lg_core_thread *y, bool ran,
		      struct lg_check_list *ck)
{
	bool any = false;
	const char *row;

	if (!memcmp(x->regs, y->regs, sizeof(x->regs)))
		return false;
	row = lg_explain_regs(x->regs, y->regs);
	if (row) {
		lg_check_expected(ck, row, "diff.regs", "thread %d: orig_rax 0x%llx vs 0x%llx, rax -ERESTART_RESTARTBLOCK",
				  x->tid, (unsigned long long)x->regs[LG_REG_ORIG_RAX],
				  (unsigned long long)y->regs[LG_REG_ORIG_RAX]);
		return false;
	}
	for (int r = 0; r < LG_NREGS; r++) {
		if (x->regs[r] == y->regs[r])
			continue;
		any = true;
		lg_check_add(ck, LG_CHECK_FAIL, "diff.regs", "thread %d: %s 0x%llx vs 0x%llx", x->tid,
			     lg_reg_names[r], (unsigned long long)x->regs[r], (unsigned long long)y->regs[r]);
	}
	/* A thread elsewhere in its code or on its stack ran between the
	 * dumps (two cores of a running process), unless a core is wrong.
	 * Of a stopped process no thread runs: the core is wrong. */
	if (!ran)
		return any;
	if (x->regs[LG_REG_RIP] != y->regs[LG_REG_RIP] || x->regs[LG_REG_RSP] != y->regs[LG_REG_RSP])
		lg_check_add(ck, LG_CHECK_FAIL, "diff.ran",
			     "thread %d: rip/rsp 0x%llx/0x%llx vs 0x%llx/0x%llx: it ran between the dumps, so the cores are of two states of the process (or one core is wrong)",
			     x->tid, (unsigned long long)x->regs[LG_REG_RIP], (unsigned long long)x->regs[LG_REG_RSP],
			     (unsigned long long)y->regs[LG_REG_RIP], (unsigned long long)y->regs[LG_REG_RSP]);
	else if (x->regs[LG_REG_ORIG_RAX] == y->regs[LG_REG_ORIG_RAX] && (int64_t)x->regs[LG_REG_ORIG_RAX] >= 0)
		/* The same syscall at the same place, other registers: it
		 * returned and was called again, e.g. a Go runtime's
		 * epoll_pwait or futex wait with a recomputed timeout. */
		lg_check_add(ck, LG_CHECK_FAIL, "diff.ran",
			     "thread %d: the same syscall %lld at the same rip with other registers: it returned and called again between the dumps (a recomputed timeout), or one core is wrong",
			     x->tid, (long long)x->regs[LG_REG_ORIG_RAX]);
	return any;
}

static void diff_prstatus(const struct lg_core_thread *x, const struct lg_core_thread *y,
			  struct lg_check_list *ck)
{
	bool any = false;

	for (size_t i = 0; i < LG_ARRAY_SIZE(prstatus_fields); i++) {
		const struct prstatus_field *f = &prstatus_fields[i];
		diff_bytes(ck, "diff.prstatus", f->row, x->tid, f->what, x->prstatus, y->prstatus, f->off, f->len,
			   &any);
	}
}

static void diff_fpregset(const struct lg_core_thread *x, const struct lg_core_thread *y,
			  struct lg_check_list *ck, bool *any)
{
	const size_t mm = FPREGSET_MXCSR_MASK_OFF, mmlen = FPREGSET_MXCSR_MASK_LEN;
	bool mask_differs = false;

	if (!x->fpregset || !y->fpregset) {
		if (x->fpregset || y->fpregset) {
			*any = true;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.fpregset", "thread %d: NT_FPREGSET only in %s", x->tid,
				     x->fpregset ? "a" : "b");
		}
		return;
	}
	diff_bytes(ck, "diff.fpregset", NULL, x->tid, "FPREGSET (x87/SSE registers)", x->fpregset, y->fpregset,
		   0, mm, any);
	diff_bytes(ck, "diff.fpregset", NULL, x->tid, "FPREGSET (x87/SSE registers)", x->fpregset, y->fpregset,
		   mm + mmlen, LG_FPREGSET_SIZE - (mm + mmlen), any);
	diff_bytes(ck, "diff.fpregset", "fpregset.mxcsr_mask", x->tid, "mxcsr_mask", x->fpregset, y->fpregset,
		   mm, mmlen, &mask_differs);
}

static void diff_siginfo(const struct lg_core_thread *x, const struct lg_core_thread *y,
			 struct lg_check_list *ck)
{
	bool any = false;

	if (x->siginfo && y->siginfo)
		diff_bytes(ck, "diff.siginfo", "siginfo", x->tid, "NT_SIGINFO", x->siginfo, y->siginfo, 0,
			   LG_SIGINFO_SIZE, &any);
	else if (x->siginfo || y->siginfo)
		lg_check_expected(ck, "note.siginfo-count", "diff.siginfo", "thread %d: NT_SIGINFO only in %s",
				  x->tid, x->siginfo ? "a" : "b");
}

static const struct lg_core_thread *thread_of(const struct lg_core *c, int tid)
{
	const struct lg_core_thread *t = NULL;

	/* The last one, should a core name a thread twice. */
	for (size_t k = 0; k < c->nthreads; k++)
		if (c->threads[k].tid == tid)
			t = &c->threads[k];
	return t;
}

void lg_diff_threads(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	bool regs_any = false, fp_any = false, xs_any = false, ids_ok = true;
	struct lg_xstate_source sa, sb;
	bool ran = lg_core_running(a) || lg_core_running(b);

	lg_xstate_source_init(&sa, a);
	lg_xstate_source_init(&sb, b);
	for (size_t i = 0; i < a->nthreads; i++) {
		const struct lg_core_thread *x = &a->threads[i], *y = thread_of(b, x->tid);
		if (!y) {
			ids_ok = false;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.thread.missing", "thread %d is in a but not in b", x->tid);
			continue;
		}
		if (!x->prstatus || !y->prstatus)
			continue;
		regs_any |= diff_regs(x, y, ran, ck);
		diff_prstatus(x, y, ck);
		diff_fpregset(x, y, ck, &fp_any);
		lg_diff_xstate(&sa, &sb, x, y, ck, &xs_any);
		diff_siginfo(x, y, ck);
	}
	for (size_t k = 0; k < b->nthreads; k++) {
		if (thread_of(a, b->threads[k].tid))
			continue;
		ids_ok = false;
		lg_check_add(ck, LG_CHECK_FAIL, "diff.thread.missing", "thread %d is in b but not in a",
			     b->threads[k].tid);
	}
	if (ids_ok)
		lg_check_add(ck, LG_CHECK_PASS, "diff.thread.ids", "the same %zu threads", a->nthreads);
	if (ids_ok && a->nthreads && b->nthreads && a->threads[0].tid != b->threads[0].tid)
		lg_check_expected(ck, "thread.order", "diff.thread.order", "first thread %d vs %d",
				  a->threads[0].tid, b->threads[0].tid);
	if (!regs_any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.regs", "all %d general registers of every common thread match, but where a row explains them", LG_NREGS);
	if (!fp_any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.fpregset", "FPREGSET matches (mxcsr_mask aside)");
	if (!xs_any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.xstate",
			     "XSTATE matches on the components enabled in both (layouts: a %s, b %s)",
			     lg_xstate_source_name(&sa), lg_xstate_source_name(&sb));
}
