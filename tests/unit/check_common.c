/* lib/common: the JSON writer, the growth helper, strict numbers. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/progress.h"

START_TEST(json_document)
{
	struct lg_buf b = { 0 };
	struct lg_json j;

	lg_json_init(&j, &b);
	lg_json_begin_object(&j, NULL);
	lg_json_string(&j, "s", "a\"b\\c\n\x01\xc3\xa9");
	lg_json_uint(&j, "u", UINT64_MAX);
	lg_json_int(&j, "i", -5);
	lg_json_bool(&j, "t", true);
	lg_json_hex(&j, "h", 0xdeadbeef);
	lg_json_double(&j, "ms", 1.23456, 3);
	lg_json_double(&j, "nan", 0.0 / 0.0, 3);
	lg_json_string(&j, "null", NULL);
	lg_json_begin_array(&j, "a");
	lg_json_uint(&j, NULL, 1);
	lg_json_begin_object(&j, NULL);
	lg_json_end_object(&j);
	lg_json_end_array(&j);
	lg_json_begin_array(&j, "empty");
	lg_json_end_array(&j);
	lg_json_end_object(&j);
	ck_assert_int_eq(lg_json_finish(&j), 0);
	ck_assert_str_eq((char *)b.p,
			 "{\n"
			 "  \"s\": \"a\\\"b\\\\c\\n\\u0001\\u00c3\\u00a9\",\n"
			 "  \"u\": 18446744073709551615,\n"
			 "  \"i\": -5,\n"
			 "  \"t\": true,\n"
			 "  \"h\": \"0xdeadbeef\",\n"
			 "  \"ms\": 1.235,\n"
			 "  \"nan\": null,\n"
			 "  \"null\": null,\n"
			 "  \"a\": [\n"
			 "    1,\n"
			 "    {}\n"
			 "  ],\n"
			 "  \"empty\": []\n"
			 "}\n");
	lg_buf_free(&b);
}
END_TEST

START_TEST(json_unbalanced)
{
	struct lg_buf b = { 0 };
	struct lg_json j;

	lg_json_init(&j, &b);
	lg_json_begin_object(&j, NULL);
	ck_assert_int_eq(lg_json_finish(&j), -EINVAL);
	lg_json_init(&j, &b);
	lg_json_end_array(&j);
	ck_assert_int_eq(lg_json_finish(&j), -EINVAL);
	lg_json_init(&j, &b);
	ck_assert_int_eq(lg_json_finish(&j), -EINVAL);	/* nothing written */
	lg_json_init(&j, &b);
	for (int i = 0; i < LG_JSON_MAX_DEPTH + 2; i++)
		lg_json_begin_array(&j, NULL);
	ck_assert_int_eq(lg_json_finish(&j), -EINVAL);
	lg_buf_free(&b);
}
END_TEST

START_TEST(grow_doubles)
{
	int *v = NULL;
	size_t cap = 0, i;

	ck_assert_int_eq(LG_GROW(v, cap, 1, 16), 0);
	ck_assert_uint_eq(cap, 16);
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(LG_GROW(v, cap, i + 1, 16), 0);
		v[i] = (int)i;
	}
	ck_assert_uint_eq(cap, 1024);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(v[i], (int)i);
	ck_assert_int_eq(LG_GROW(v, cap, 10, 16), 0);	/* never shrinks */
	ck_assert_uint_eq(cap, 1024);
	free(v);
}
END_TEST

START_TEST(grow_overflow)
{
	uint64_t *v = NULL;
	size_t cap = 0;

	ck_assert_int_eq(LG_GROW(v, cap, SIZE_MAX / 4, 1), -ENOMEM);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(cap, 0);
	ck_assert_uint_eq(LG_ARRAY_SIZE((int[7]){ 0 }), 7);
}
END_TEST

START_TEST(parse_uint_strict)
{
	uint64_t v = 7;

	ck_assert_int_eq(lg_parse_uint("0", 64, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(lg_parse_uint("64", 64, &v), 0);
	ck_assert_uint_eq(v, 64);
	ck_assert_int_eq(lg_parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	v = 7;
	/* What strtol takes and a cast would have hidden. */
	ck_assert_int_eq(lg_parse_uint("65", 64, &v), -ERANGE);
	ck_assert_int_eq(lg_parse_uint("4294967297", 64, &v), -ERANGE);
	ck_assert_int_eq(lg_parse_uint("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(lg_parse_uint("99999999999999999999x", 64, &v), -EINVAL);
	static const char *const bad[] = { "", " 3", "3 ", "+3", "-3", "0x10", "3x", "1e3", NULL };
	for (size_t i = 0; i < LG_ARRAY_SIZE(bad); i++)
		ck_assert_msg(lg_parse_uint(bad[i], 64, &v) == -EINVAL, "accepted '%s'",
			      bad[i] ? bad[i] : "(null)");
	ck_assert_uint_eq(v, 7);
}
END_TEST

START_TEST(parse_ms_strict)
{
	uint64_t ns = 7;

	ck_assert_int_eq(lg_parse_ms("5", 1000, &ns), 0);
	ck_assert_uint_eq(ns, 5000000);
	ck_assert_int_eq(lg_parse_ms("2.5", 1000, &ns), 0);
	ck_assert_uint_eq(ns, 2500000);
	ck_assert_int_eq(lg_parse_ms("0.000001", 1000, &ns), 0);
	ck_assert_uint_eq(ns, 1);
	ck_assert_int_eq(lg_parse_ms("1000", 1000, &ns), 0);
	ck_assert_uint_eq(ns, 1000000000);
	ns = 7;
	ck_assert_int_eq(lg_parse_ms("1000.5", 1000, &ns), -ERANGE);
	ck_assert_int_eq(lg_parse_ms("1001", 1000, &ns), -ERANGE);
	ck_assert_int_eq(lg_parse_ms("99999999999999999999.5", 1000, &ns), -ERANGE);
	static const char *const bad[] = { "", ".5", "5.", "nan", "inf", "-1", "+1", " 1",
					   "1e3", "0.0000001", "1.2.3", "0x1", NULL };
	for (size_t i = 0; i < LG_ARRAY_SIZE(bad); i++)
		ck_assert_msg(lg_parse_ms(bad[i], 1000, &ns) == -EINVAL, "accepted '%s'",
			      bad[i] ? bad[i] : "(null)");
	ck_assert_uint_eq(ns, 7);
}
END_TEST

/* The progress a dump fills: each call updates the fields and tells the
 * watcher once; a stop's pause is added when it ends, once. */
static int progress_calls, progress_ends;
static void progress_seen(struct lg_progress *p, bool end)
{
	(void)p;
	progress_calls++;
	progress_ends += end;
}

START_TEST(progress_fields)
{
	struct lg_progress p = { .update = progress_seen, .pass = -1 };

	lg_progress_begin(NULL, LG_PHASE_STOPPED, -1, 10);	/* nobody watching */
	lg_progress_copied(NULL, 10);
	lg_progress_stopped(NULL, 1, true);
	lg_progress_resumed(NULL, 1);
	lg_progress_end(NULL);

	lg_progress_begin(&p, LG_PHASE_PRECOPY, 2, 8192);
	ck_assert_int_eq(p.phase, LG_PHASE_PRECOPY);
	ck_assert_int_eq(p.pass, 2);
	ck_assert_uint_eq(p.total, 8192);
	lg_progress_copied(&p, 4096);
	lg_progress_copied(&p, 1000);
	ck_assert_uint_eq(p.done, 5096);
	ck_assert_uint_eq(p.copied, 5096);
	lg_progress_done(&p, 8192);	/* the rest needed no copy */
	ck_assert_uint_eq(p.done, 8192);
	ck_assert_uint_eq(p.copied, 5096);
	lg_progress_end(&p);
	ck_assert_int_eq(progress_ends, 1);

	lg_progress_stopped(&p, 1000, true);
	ck_assert(p.brief);
	ck_assert_uint_eq(p.stop_since_ns, 1000);
	lg_progress_resumed(&p, 250);
	lg_progress_resumed(&p, 250);	/* no stop in progress: nothing to add */
	ck_assert_uint_eq(p.pause_ns, 250);
	ck_assert_uint_eq(p.stop_since_ns, 0);
	ck_assert(!p.brief);

	/* A new phase starts from nothing done; COPIED is the whole dump's. */
	lg_progress_begin(&p, LG_PHASE_WRITE, -1, 0);
	ck_assert_uint_eq(p.done, 0);
	ck_assert_uint_eq(p.copied, 5096);
	ck_assert_int_eq(progress_calls, 8);
	ck_assert_str_eq(lg_progress_phase_name(LG_PHASE_WRITE), "writing");
	ck_assert_str_eq(lg_progress_phase_name(LG_PHASE_STOPPED), "copying stopped");
}
END_TEST

Suite *unit_suite(void);
Suite *unit_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("common");

	tcase_add_test(tc, json_document);
	tcase_add_test(tc, json_unbalanced);
	tcase_add_test(tc, grow_doubles);
	tcase_add_test(tc, grow_overflow);
	tcase_add_test(tc, parse_uint_strict);
	tcase_add_test(tc, parse_ms_strict);
	tcase_add_test(tc, progress_fields);
	suite_add_tcase(s, tc);
	return s;
}
