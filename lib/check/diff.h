/* Diff mode: two cores of one stopped process.  Thread ids, registers,
 * auxv, NT_FILE, the memory both dumped, modules and backtraces must match
 * exactly (two gcores of a stopped process have byte-identical memory);
 * the differences gdb's cores and kernel-style cores legitimately have
 * are explain.c's rules and expected.c's table. */
#ifndef LG_CHECK_DIFF_H
#define LG_CHECK_DIFF_H

#include "check/report.h"
#include "check/validate.h"

/* Keep at most this many differing pages in detail (all are counted). */
#define LG_MEMDIFF_MAX 4096

/* Compare A and B; checks go to CK with ids "diff.*", differing pages to
 * MEM.  Returns 0 or -ENOMEM. */
int lg_check_diff(struct lg_core_view *a, struct lg_core_view *b, struct lg_check_list *ck,
		  struct lg_memdiffs *mem);

#endif
