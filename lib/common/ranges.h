/* A growable list of address ranges [start, end), kept in the order added;
 * a range that continues the previous one is merged into it. */
#ifndef LG_COMMON_RANGES_H
#define LG_COMMON_RANGES_H

#include <stddef.h>
#include <stdint.h>

struct lg_range {
	uint64_t start, end;
};

struct lg_ranges {
	struct lg_range *v;
	size_t n, cap;
};

/* 0 or -ENOMEM */
int lg_ranges_add(struct lg_ranges *r, uint64_t start, uint64_t end);
/* Total bytes covered. */
uint64_t lg_ranges_bytes(const struct lg_ranges *r);
void lg_ranges_clear(struct lg_ranges *r);
void lg_ranges_free(struct lg_ranges *r);

#endif
