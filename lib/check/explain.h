/* Which differences between two cores of one stopped process are
 * legitimate.  Each function here looks at one difference the differ
 * found and names the row of the expected-differences table (expected.c)
 * that explains it, or returns NULL: then it is a failure.  Every rule
 * that depends on what the cores hold lives here, so a new legitimate
 * difference (a kernel-written area, a register a writer samples at
 * another moment) is one more function here and one call in the differ;
 * a difference that always has the same reason names its row where it is
 * found. */
#ifndef LG_CHECK_EXPLAIN_H
#define LG_CHECK_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "check/core.h"

/* The fixed address of x86-64's legacy vsyscall page (Linux
 * arch/x86/include/uapi/asm/vsyscall.h, VSYSCALL_ADDR). */
#define LG_VSYSCALL_ADDR 0xffffffffff600000ull
#ifndef LG_PAGE_SIZE	/* arch/arch.h's, where both are included */
# define LG_PAGE_SIZE 4096ull
#endif

/* Whether gdb wrote C: gdb's gcore adds its target-description note. */
bool lg_core_written_by_gdb(const struct lg_core *c);

/* NT_PRPSINFO's pr_sname when it says the process ran while C was dumped
 * ('R', 'S' or 'D': lgcore's pre-copy of a running process, a kernel core),
 * else 0 ('T' stopped, 't' traced by gdb, or no NT_PRPSINFO).  Only then
 * can a thread have run between two dumps. */
char lg_core_running(const struct lg_core *c);

/* [S, E) is dumped in HAVE but not in OTHER.  Sets *NAME to the NT_FILE
 * path that maps S ("" for none). */
const char *lg_explain_uncovered(const struct lg_core *have, const struct lg_core *other,
				 uint64_t s, uint64_t e, const char **name);
/* The rows lg_explain_uncovered() can name, in the order they are reported. */
#define LG_EXPLAIN_UNCOVERED_NROWS 5
extern const char *const lg_explain_uncovered_rows[LG_EXPLAIN_UNCOVERED_NROWS];

/* The PT_LOADs X of A and Y of B start at the same address, both have file
 * bytes, and their p_flags differ. */
const char *lg_explain_load_flags(const struct lg_core *a, const struct lg_core_load *x,
				  const struct lg_core *b, const struct lg_core_load *y);

/* The page at PAGE holds different bytes in A and B. */
const char *lg_explain_page(const struct lg_core *a, const struct lg_core *b, uint64_t page);

/* Notes of TYPE are in one core only. */
const char *lg_explain_note_type(uint32_t type);

/* NT_PRPSINFO's pr_psargs differ: X of XLEN bytes and Y of YLEN, trailing
 * spaces dropped. */
const char *lg_explain_psargs(const uint8_t *x, size_t xlen, const uint8_t *y, size_t ylen);

/* Where glibc registered each thread's rseq area in C (thread pointer
 * plus ld.so's __rseq_offset): START[N], one per thread, empty when C's
 * process has none or its ld.so cannot be read. */
struct lg_rseq_areas {
	uint64_t *start;
	size_t n;
};
void lg_rseq_find(const struct lg_core *c, struct lg_rseq_areas *r);
void lg_rseq_free(struct lg_rseq_areas *r);
/* Whether ADDR is a byte the kernel writes in one of R's areas. */
bool lg_explain_rseq_byte(const struct lg_rseq_areas *r, uint64_t addr);

/* One thread's general registers X and Y differ: the row that explains
 * it (a timed wait restarted between the dumps), or NULL. */
const char *lg_explain_regs(const uint64_t *x, const uint64_t *y);

#endif
