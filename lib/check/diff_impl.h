/* Shared by the differ's files only: one entry point per thing compared,
 * each appending its diff.* checks.  Whether a difference is legitimate
 * is explain.c's to say. */
#ifndef LG_CHECK_DIFF_IMPL_H
#define LG_CHECK_DIFF_IMPL_H

#include <stdbool.h>

#include "check/diff.h"
#include "check/explain.h"
#include "check/xsave.h"

/* diff_threads.c: thread ids, general registers, the other NT_PRSTATUS
 * fields, NT_FPREGSET, NT_SIGINFO, and XSTATE through diff_xstate.c. */
void lg_diff_threads(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck);

/* diff_xstate.c.  Where one core's XSAVE components are. */
struct lg_xstate_source {
	bool gdb;		/* gdb 13's fixed layout */
	bool note;		/* the core's own NT_X86_XSAVE_LAYOUT */
	struct lg_xsave_layout layout;
};
void lg_xstate_source_init(struct lg_xstate_source *src, const struct lg_core *c);
/* "gdb's", "NT_X86_XSAVE_LAYOUT" or "CPUID", for the report. */
const char *lg_xstate_source_name(const struct lg_xstate_source *src);
/* Compare the NT_X86_XSTATE of thread X (of the core SA describes) and
 * Y (SB); sets *ANY when a difference failed. */
void lg_diff_xstate(const struct lg_xstate_source *sa, const struct lg_xstate_source *sb,
		    const struct lg_core_thread *x, const struct lg_core_thread *y,
		    struct lg_check_list *ck, bool *any);

/* diff_notes.c: the note list, NT_PRPSINFO, NT_AUXV, NT_FILE. */
void lg_diff_notes(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck);
void lg_diff_prpsinfo(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck);
void lg_diff_auxv(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck);
void lg_diff_ntfiles(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck);

/* diff_memory.c: what each core dumped (PT_LOAD coverage, permissions,
 * alignment) and the bytes both dumped. */
void lg_diff_loads(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck);
void lg_diff_memory(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck,
		    struct lg_memdiffs *mem);

/* diff_unwind.c: what libdwfl and libunwind make of each core. */
void lg_diff_modules(const struct lg_modules *a, const struct lg_modules *b, struct lg_check_list *ck);
void lg_diff_backtraces(const struct lg_backtrace *a, const struct lg_backtrace *b,
			struct lg_check_list *ck);

#endif
