/* One streaming JSON writer for every report lgcore and lcorecheck emit
 * (--stats, lcorecheck --json).  It appends to an lg_buf: library code
 * formats, the tool decides where the bytes go.  Errors are sticky: the
 * first allocation failure or unbalanced call is kept and returned by
 * lg_json_finish(), so callers need not check every call. */
#ifndef LG_COMMON_JSON_H
#define LG_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define LG_JSON_MAX_DEPTH 32

struct lg_json {
	struct lg_buf *out;
	int depth;
	int err;				/* first -errno, 0 while all is well */
	bool need_comma[LG_JSON_MAX_DEPTH + 1];
};

void lg_json_init(struct lg_json *j, struct lg_buf *out);
/* KEY is NULL at the top level and inside arrays. */
void lg_json_begin_object(struct lg_json *j, const char *key);
void lg_json_end_object(struct lg_json *j);
void lg_json_begin_array(struct lg_json *j, const char *key);
void lg_json_end_array(struct lg_json *j);
/* VAL NULL writes null.  Bytes that are controls or not ASCII are written
 * as \u00XX, so any input (paths, psargs from a core) stays valid JSON. */
void lg_json_string(struct lg_json *j, const char *key, const char *val);
void lg_json_uint(struct lg_json *j, const char *key, uint64_t val);
void lg_json_int(struct lg_json *j, const char *key, int64_t val);
void lg_json_bool(struct lg_json *j, const char *key, bool val);
/* "0x..." as a string: JSON numbers lose precision above 2^53. */
void lg_json_hex(struct lg_json *j, const char *key, uint64_t val);
/* A fixed-point number with DECIMALS digits after the point (timings). */
void lg_json_double(struct lg_json *j, const char *key, double val, int decimals);
/* 0 when the document is complete and was written whole, else -errno
 * (-ENOMEM, or -EINVAL for unbalanced begin/end calls). */
int lg_json_finish(struct lg_json *j);

#endif
