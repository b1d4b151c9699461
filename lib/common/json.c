#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"

void lg_json_init(struct lg_json *j, struct lg_buf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void put(struct lg_json *j, const void *s, size_t n)
{
	int r;
	if (j->err)
		return;
	if ((r = lg_buf_append(j->out, s, n)))
		j->err = r;
}

static void puts_(struct lg_json *j, const char *s)
{
	put(j, s, strlen(s));
}

static void printf_(struct lg_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(struct lg_json *j, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		if (!j->err)
			j->err = -EINVAL;
		return;
	}
	put(j, tmp, (size_t)n);
}

static void quoted(struct lg_json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	put(j, "\"", 1);
	for (; *p; p++) {
		const char *esc = NULL;
		char u[8];
		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (*p < 0x20 || *p >= 0x7f) {
				snprintf(u, sizeof(u), "\\u%04x", *p);
				esc = u;
			}
		}
		if (esc) {
			put(j, run, (size_t)(p - run));
			puts_(j, esc);
			run = p + 1;
		}
	}
	put(j, run, (size_t)(p - run));
	put(j, "\"", 1);
}

static void indent(struct lg_json *j)
{
	int i;
	put(j, "\n", 1);
	for (i = 0; i < j->depth; i++)
		put(j, "  ", 2);
}

static void key(struct lg_json *j, const char *k)
{
	if (j->depth == 0) {
		/* A value at the top level: only one, and without a key. */
		if (j->need_comma[0] && !j->err)
			j->err = -EINVAL;
		j->need_comma[0] = true;
		return;
	}
	if (j->need_comma[j->depth])
		put(j, ",", 1);
	j->need_comma[j->depth] = true;
	indent(j);
	if (k) {
		quoted(j, k);
		put(j, ": ", 2);
	}
}

static void open_(struct lg_json *j, const char *k, char c)
{
	key(j, k);
	put(j, &c, 1);
	if (j->depth >= LG_JSON_MAX_DEPTH) {
		if (!j->err)
			j->err = -EINVAL;
		return;
	}
	j->need_comma[++j->depth] = false;
}

static void close_(struct lg_json *j, char c)
{
	if (j->depth == 0) {
		if (!j->err)
			j->err = -EINVAL;
		return;
	}
	j->depth--;
	if (j->need_comma[j->depth + 1])
		indent(j);
	put(j, &c, 1);
	if (!j->depth)
		put(j, "\n", 1);
}

void lg_json_begin_object(struct lg_json *j, const char *k) { open_(j, k, '{'); }
void lg_json_end_object(struct lg_json *j) { close_(j, '}'); }
void lg_json_begin_array(struct lg_json *j, const char *k) { open_(j, k, '['); }
void lg_json_end_array(struct lg_json *j) { close_(j, ']'); }

void lg_json_string(struct lg_json *j, const char *k, const char *val)
{
	key(j, k);
	if (val)
		quoted(j, val);
	else
		puts_(j, "null");
}

void lg_json_uint(struct lg_json *j, const char *k, uint64_t val)
{
	key(j, k);
	printf_(j, "%" PRIu64, val);
}

void lg_json_int(struct lg_json *j, const char *k, int64_t val)
{
	key(j, k);
	printf_(j, "%" PRId64, val);
}

void lg_json_bool(struct lg_json *j, const char *k, bool val)
{
	key(j, k);
	puts_(j, val ? "true" : "false");
}

void lg_json_hex(struct lg_json *j, const char *k, uint64_t val)
{
	key(j, k);
	printf_(j, "\"0x%" PRIx64 "\"", val);
}

void lg_json_double(struct lg_json *j, const char *k, double val, int decimals)
{
	key(j, k);
	/* JSON has no NaN or infinity. */
	if (!isfinite(val))
		puts_(j, "null");
	else
		printf_(j, "%.*f", decimals < 0 ? 0 : decimals > 9 ? 9 : decimals, val);
}

int lg_json_finish(struct lg_json *j)
{
	if (j->err)
		return j->err;
	return j->depth || !j->need_comma[0] ? -EINVAL : 0;
}
