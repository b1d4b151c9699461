#include <errno.h>

#include "common/parse.h"

/* Digits from *S up to the first non-digit, into *V; -ERANGE past MAX. */
static int digits(const char **s, uint64_t max, uint64_t *v, int *n)
{
	uint64_t x = 0;
	int k = 0;

	for (; **s >= '0' && **s <= '9'; (*s)++, k++) {
		unsigned d = (unsigned)(**s - '0');
		if (x > (max - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	*v = x;
	*n = k;
	return 0;
}

int lg_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int n, r;

	if (!s)
		return -EINVAL;
	r = digits(&s, max, &v, &n);
	if (!r && (!n || *s))
		return -EINVAL;
	if (r) {
		/* Still say EINVAL for "99999999999x". */
		while (*s >= '0' && *s <= '9')
			s++;
		return *s ? -EINVAL : r;
	}
	*out = v;
	return 0;
}

int lg_parse_ms(const char *s, uint64_t max_ms, uint64_t *ns)
{
	uint64_t whole, frac = 0;
	int n, nf = 0, r;

	if (!s)
		return -EINVAL;
	if (max_ms > UINT64_MAX / 1000000 - 1)
		max_ms = UINT64_MAX / 1000000 - 1;
	r = digits(&s, max_ms, &whole, &n);
	if (r == -ERANGE) {
		while ((*s >= '0' && *s <= '9') || *s == '.')
			s++;
		return *s ? -EINVAL : -ERANGE;
	}
	if (!n)
		return -EINVAL;
	if (*s == '.') {
		s++;
		r = digits(&s, 999999, &frac, &nf);
		if (r || !nf || nf > 6)
			return -EINVAL;
		for (int i = nf; i < 6; i++)
			frac *= 10;
	}
	if (*s)
		return -EINVAL;
	if (whole == max_ms && frac)
		return -ERANGE;
	*ns = whole * 1000000 + frac;
	return 0;
}
