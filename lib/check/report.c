#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/report.h"
#include "common/grow.h"

static void vadd(struct lg_check_list *l, enum lg_check_status st, const char *id,
		 const char *suffix, const char *fmt, va_list ap)
{
	char *detail = NULL, *id2 = NULL;

	if (LG_GROW(l->v, l->cap, l->n + 1, 64))
		goto oom;
	if (vasprintf(&detail, fmt, ap) < 0) {
		detail = NULL;
		goto oom;
	}
	if (suffix) {
		char *d2;
		if (asprintf(&d2, "%s (%s)", detail, suffix) < 0)
			goto oom;
		free(detail);
		detail = d2;
	}
	id2 = strdup(id);
	if (!id2)
		goto oom;
	l->v[l->n].id = id2;
	l->v[l->n].status = st;
	l->v[l->n].detail = detail;
	l->n++;
	return;
oom:
	free(detail);
	free(id2);
	l->oom = true;
}

void lg_check_add(struct lg_check_list *l, enum lg_check_status st, const char *id,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vadd(l, st, id, NULL, fmt, ap);
	va_end(ap);
}

static void vexpected(struct lg_check_list *l, const char *row, const char *id, const char *fmt,
		      va_list ap)
{
	const char *why = lg_expected_reason(row);
	char suffix[300];

	/* A row missing from the table is a programming error; treat the
	 * difference as unexplained rather than hide it. */
	if (!why)
		snprintf(suffix, sizeof(suffix), "no expected-difference row '%s'", row);
	else
		snprintf(suffix, sizeof(suffix), "expected: %s", why);
	vadd(l, (why && !l->strict) ? LG_CHECK_EXPECTED : LG_CHECK_FAIL, id, suffix, fmt, ap);
}

void lg_check_expected(struct lg_check_list *l, const char *row, const char *id,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vexpected(l, row, id, fmt, ap);
	va_end(ap);
}

void lg_check_difference(struct lg_check_list *l, const char *row, const char *id,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (row)
		vexpected(l, row, id, fmt, ap);
	else
		vadd(l, LG_CHECK_FAIL, id, NULL, fmt, ap);
	va_end(ap);
}

size_t lg_check_count(const struct lg_check_list *l, enum lg_check_status st)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += l->v[i].status == st;
	return n;
}

bool lg_check_failed(const struct lg_check_list *l, const char *prefix)
{
	size_t len = strlen(prefix);
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].status == LG_CHECK_FAIL && !strncmp(l->v[i].id, prefix, len))
			return true;
	return false;
}

void lg_check_list_free(struct lg_check_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].id);
		free(l->v[i].detail);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

const char *lg_check_status_name(enum lg_check_status st)
{
	switch (st) {
	case LG_CHECK_PASS: return "pass";
	case LG_CHECK_FAIL: return "fail";
	case LG_CHECK_EXPECTED: return "expected";
	case LG_CHECK_SKIP: return "skip";
	}
	return "?";
}

void lg_backtrace_free(struct lg_backtrace *b)
{
	for (size_t i = 0; i < b->n; i++) {
		for (size_t j = 0; j < b->t[i].n; j++) {
			free(b->t[i].f[j].name);
			free(b->t[i].f[j].module);
		}
		free(b->t[i].f);
		free(b->t[i].error);
		free(b->t[i].degraded_why);
	}
	free(b->t);
	free(b->error);
	b->t = NULL;
	b->n = 0;
	b->error = NULL;
}

const struct lg_thread_bt *lg_backtrace_thread(const struct lg_backtrace *b, int tid)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->t[i].tid == tid)
			return &b->t[i];
	return NULL;
}

void lg_modules_free(struct lg_modules *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

void lg_memdiffs_free(struct lg_memdiffs *m)
{
	free(m->v);
	m->v = NULL;
	m->n = m->cap = m->total = 0;
}
