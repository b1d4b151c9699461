#include <inttypes.h>
#include <string.h>

#include "check/json.h"

void lg_json_init(struct lg_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			/* Core files carry arbitrary bytes (psargs, paths): escape
			 * controls and anything not ASCII, so the output is
			 * always valid JSON whatever the encoding. */
			if (*p < 0x20 || *p >= 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void key(struct lg_json *j, const char *k)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
	if (k) {
		quoted(j->f, k);
		fputs(": ", j->f);
	}
}

static void open_(struct lg_json *j, const char *k, char c)
{
	if (j->depth)
		key(j, k);
	fputc(c, j->f);
	if (j->depth < 63)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_(struct lg_json *j, char c)
{
	bool had = j->need_comma[j->depth];
	if (j->depth)
		j->depth--;
	if (had) {
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(c, j->f);
	if (!j->depth)
		fputc('\n', j->f);
}

void lg_json_begin_object(struct lg_json *j, const char *k) { open_(j, k, '{'); }
void lg_json_end_object(struct lg_json *j) { close_(j, '}'); }
void lg_json_begin_array(struct lg_json *j, const char *k) { open_(j, k, '['); }
void lg_json_end_array(struct lg_json *j) { close_(j, ']'); }

void lg_json_string(struct lg_json *j, const char *k, const char *val)
{
	key(j, k);
	if (val)
		quoted(j->f, val);
	else
		fputs("null", j->f);
}

void lg_json_uint(struct lg_json *j, const char *k, uint64_t val)
{
	key(j, k);
	fprintf(j->f, "%" PRIu64, val);
}

void lg_json_int(struct lg_json *j, const char *k, int64_t val)
{
	key(j, k);
	fprintf(j->f, "%" PRId64, val);
}

void lg_json_bool(struct lg_json *j, const char *k, bool val)
{
	key(j, k);
	fputs(val ? "true" : "false", j->f);
}

void lg_json_hex(struct lg_json *j, const char *k, uint64_t val)
{
	key(j, k);
	fprintf(j->f, "\"0x%" PRIx64 "\"", val);
}
