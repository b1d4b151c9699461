#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

int lg_grow(void *pp, size_t *cap, size_t need, size_t elsize, size_t min_cap)
{
	void **p = pp, *nv;
	size_t nc;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : (min_cap ? min_cap : 1);
	while (nc < need) {
		if (nc > SIZE_MAX / 2) {
			nc = need;
			break;
		}
		nc *= 2;
	}
	if (!elsize || nc > SIZE_MAX / elsize)
		return -ENOMEM;
	nv = realloc(*p, nc * elsize);
	if (!nv)
		return -ENOMEM;
	*p = nv;
	*cap = nc;
	return 0;
}
