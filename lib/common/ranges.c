#include <errno.h>
#include <stdlib.h>

#include "common/ranges.h"

int lg_ranges_add(struct lg_ranges *r, uint64_t start, uint64_t end)
{
	if (end <= start)
		return 0;
	if (r->n && r->v[r->n - 1].end == start) {
		r->v[r->n - 1].end = end;
		return 0;
	}
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		struct lg_range *nv = realloc(r->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		r->v = nv;
		r->cap = nc;
	}
	r->v[r->n].start = start;
	r->v[r->n].end = end;
	r->n++;
	return 0;
}

uint64_t lg_ranges_bytes(const struct lg_ranges *r)
{
	uint64_t sum = 0;
	size_t i;
	for (i = 0; i < r->n; i++)
		sum += r->v[i].end - r->v[i].start;
	return sum;
}

void lg_ranges_clear(struct lg_ranges *r)
{
	r->n = 0;
}

void lg_ranges_free(struct lg_ranges *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}
