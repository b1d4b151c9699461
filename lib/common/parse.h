/* Strict numbers for command lines.  strtol and strtod accept leading
 * spaces, a sign, "0x", "inf" and "nan", and a cast after them hides
 * overflow ("4294967297" became 1): these take decimal digits only. */
#ifndef LG_COMMON_PARSE_H
#define LG_COMMON_PARSE_H

#include <stdint.h>

/* S, one or more decimal digits and nothing else, as a number <= MAX.
 * 0, -EINVAL (not such a number), -ERANGE (larger than MAX). */
int lg_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* S, milliseconds as DIGITS[.DIGITS] (at most 6 digits after the point:
 * a nanosecond), no more than MAX_MS, in nanoseconds.  0, -EINVAL, -ERANGE. */
int lg_parse_ms(const char *s, uint64_t max_ms, uint64_t *ns);

#endif
