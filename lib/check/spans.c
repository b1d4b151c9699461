#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "check/spans.h"

int lg_spans_alloc(struct lg_spans *s, size_t n)
{
	s->n = n;
	s->v = calloc(n ? n : 1, sizeof(*s->v));
	s->reach = calloc(n ? n : 1, sizeof(*s->reach));
	if (!s->v || !s->reach) {
		lg_spans_free(s);
		return -ENOMEM;
	}
	return 0;
}

void lg_spans_set(struct lg_spans *s, size_t i, uint64_t start, uint64_t end)
{
	s->v[i] = (struct lg_span){ .start = start, .end = end < start ? start : end, .idx = i };
}

static int span_cmp(const void *x, const void *y)
{
	const struct lg_span *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

void lg_spans_sort(struct lg_spans *s)
{
	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(*s->v), span_cmp);
	s->reach[0] = s->v[0].end;
	for (size_t k = 1; k < s->n; k++)
		s->reach[k] = s->v[k].end > s->reach[k - 1] ? s->v[k].end : s->reach[k - 1];
}

void lg_spans_free(struct lg_spans *s)
{
	free(s->v);
	free(s->reach);
	s->v = NULL;
	s->reach = NULL;
	s->n = 0;
}

/* How many ranges start below ADDR (INCLUSIVE: at or below). */
static size_t count_below(const struct lg_spans *s, uint64_t addr, bool inclusive)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid].start < addr || (inclusive && s->v[mid].start == addr))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t lg_spans_find(const struct lg_spans *s, uint64_t addr)
{
	size_t best = LG_SPAN_NONE;

	/* Every range from v[k] down starts at or below ADDR; once none of
	 * them reaches past it, none holds it. */
	for (size_t k = count_below(s, addr, true); k-- > 0 && s->reach[k] > addr;)
		if (addr < s->v[k].end && s->v[k].idx < best)
			best = s->v[k].idx;
	return best;
}

size_t lg_spans_find_start(const struct lg_spans *s, uint64_t start)
{
	size_t k = count_below(s, start, false);

	return k < s->n && s->v[k].start == start ? s->v[k].idx : LG_SPAN_NONE;
}

static int idx_cmp(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;

	return a < b ? -1 : a > b;
}

size_t lg_spans_meeting(const struct lg_spans *s, uint64_t start, uint64_t end, size_t *out)
{
	size_t n = 0;

	if (start >= end)
		return 0;
	for (size_t k = count_below(s, end, false); k-- > 0 && s->reach[k] > start;)
		if (s->v[k].end > start && s->v[k].end > s->v[k].start)
			out[n++] = s->v[k].idx;
	if (n > 1)
		qsort(out, n, sizeof(*out), idx_cmp);
	return n;
}
