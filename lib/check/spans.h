/* An index over address ranges [start, end) that may be unsorted and may
 * overlap, as a hostile core's PT_LOADs or NT_FILE entries can be: which of
 * them hold an address, in O(log n) when they are sorted and disjoint (as
 * in every core the kernel, gdb or lgcore writes) and without trusting
 * that they are.  Ranges are named by the index the caller gave them;
 * where several match, the lowest index wins, as a linear scan would. */
#ifndef LG_CHECK_SPANS_H
#define LG_CHECK_SPANS_H

#include <stddef.h>
#include <stdint.h>

#define LG_SPAN_NONE SIZE_MAX

struct lg_span {
	uint64_t start, end;
	size_t idx;
};

struct lg_spans {
	struct lg_span *v;	/* sorted by (start, idx) */
	uint64_t *reach;	/* reach[k]: the largest end among v[0..k] */
	size_t n;
};

/* Room for N ranges, to be given with lg_spans_set() for every index
 * 0..N-1 and then lg_spans_sort().  0 or -ENOMEM. */
int lg_spans_alloc(struct lg_spans *s, size_t n);
/* Range I is [START, END); END < START counts as empty. */
void lg_spans_set(struct lg_spans *s, size_t i, uint64_t start, uint64_t end);
void lg_spans_sort(struct lg_spans *s);
void lg_spans_free(struct lg_spans *s);

/* The lowest index whose range holds ADDR, or LG_SPAN_NONE. */
size_t lg_spans_find(const struct lg_spans *s, uint64_t addr);
/* The lowest index whose range starts at START (empty ones too), or
 * LG_SPAN_NONE. */
size_t lg_spans_find_start(const struct lg_spans *s, uint64_t start);
/* The indices of the ranges that share a byte with [START, END), in
 * increasing order, into OUT (room for s->n); returns how many. */
size_t lg_spans_meeting(const struct lg_spans *s, uint64_t start, uint64_t end, size_t *out);

#endif
