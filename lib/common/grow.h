/* Growing an array: one place for the doubling and the overflow checks
 * (strace's xgrowarray, without the abort: library code returns -ENOMEM). */
#ifndef LG_COMMON_GROW_H
#define LG_COMMON_GROW_H

#include <stddef.h>

#define LG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Make room for at least NEED elements of ELSIZE bytes in *P, whose
 * capacity is *CAP elements: doubles from MIN_CAP (at least 1).  *P and
 * *CAP change only on success.  0 or -ENOMEM. */
int lg_grow(void *p, size_t *cap, size_t need, size_t elsize, size_t min_cap);

/* lg_grow for a typed pointer: LG_GROW(v, cap, n + 1, 16). */
#define LG_GROW(ptr, cap, need, min_cap) lg_grow(&(ptr), &(cap), (need), sizeof(*(ptr)), (min_cap))

#endif
