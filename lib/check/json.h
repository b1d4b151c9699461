/* A minimal streaming JSON writer: enough for lcorecheck's report. */
#ifndef LG_CHECK_JSON_H
#define LG_CHECK_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct lg_json {
	FILE *f;
	int depth;
	bool need_comma[64];
};

void lg_json_init(struct lg_json *j, FILE *f);
void lg_json_begin_object(struct lg_json *j, const char *key);
void lg_json_end_object(struct lg_json *j);
void lg_json_begin_array(struct lg_json *j, const char *key);
void lg_json_end_array(struct lg_json *j);
/* KEY is NULL inside arrays. */
void lg_json_string(struct lg_json *j, const char *key, const char *val);
void lg_json_uint(struct lg_json *j, const char *key, uint64_t val);
void lg_json_int(struct lg_json *j, const char *key, int64_t val);
void lg_json_bool(struct lg_json *j, const char *key, bool val);
void lg_json_hex(struct lg_json *j, const char *key, uint64_t val);

#endif
