#include <stdio.h>
#include <string.h>

#include <elfutils/version.h>
#include <libunwind.h>

#include "check/lcorecheck.h"

static void print_frame(FILE *f, size_t i, const struct lg_frame *fr)
{
	fprintf(f, "#%-2zu 0x%016llx%s%s\n", i, (unsigned long long)fr->pc, fr->name ? " " : "",
		fr->name ? fr->name : "");
}

/* eu-stack's layout, so that a test can compare the two directly. */
static void print_bt(FILE *f, const char *label, const struct lg_backtrace *b)
{
	fprintf(f, "backtrace %s %s:\n", label, b->unwinder);
	if (b->error)
		fprintf(f, "  (not available: %s)\n", b->error);
	for (size_t i = 0; i < b->n; i++) {
		fprintf(f, "TID %d:\n", b->t[i].tid);
		for (size_t j = 0; j < b->t[i].n; j++)
			print_frame(f, j, &b->t[i].f[j]);
		if (b->t[i].error)
			fprintf(f, "  (stopped: %s)\n", b->t[i].error);
	}
	fputc('\n', f);
}

static bool bt_same(const struct lg_thread_bt *x, const struct lg_thread_bt *y)
{
	if (!x || !y || x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (!lg_frame_equal(&x->f[i], &y->f[i]))
			return false;
	return true;
}

static void print_side(FILE *f, const char *lx, const struct lg_thread_bt *x,
		       const char *ly, const struct lg_thread_bt *y, int tid)
{
	size_t n = (x ? x->n : 0) > (y ? y->n : 0) ? x->n : (y ? y->n : 0);
	char left[64], right[64];

	fprintf(f, "TID %d: %-44s | %s\n", tid, lx, ly);
	for (size_t i = 0; i < n; i++) {
		const struct lg_frame *a = x && i < x->n ? &x->f[i] : NULL;
		const struct lg_frame *b = y && i < y->n ? &y->f[i] : NULL;
		snprintf(left, sizeof(left), "0x%012llx %s", a ? (unsigned long long)a->pc : 0ull,
			 a && a->name ? a->name : "");
		snprintf(right, sizeof(right), "0x%012llx %s", b ? (unsigned long long)b->pc : 0ull,
			 b && b->name ? b->name : "");
		fprintf(f, "%c #%-2zu %-44s | %s\n", a && b && lg_frame_equal(a, b) ? ' ' : '!', i,
			a ? left : "-", b ? right : "-");
	}
}

void lg_check_print_text(const struct lg_check_result *res, const struct lg_check_opts *o, FILE *f)
{
	const struct lg_check_list *ck = &res->checks;
	size_t nf = lg_check_count(ck, LG_CHECK_FAIL);

	fprintf(f, "lcorecheck: %s%s%s: %s: %zu failed, %zu expected, %zu passed, %zu skipped\n",
		res->path[0] ? res->path[0] : "", res->nviews == 2 ? " vs " : "",
		res->nviews == 2 && res->path[1] ? res->path[1] : "", nf ? "FAIL" : "OK", nf,
		lg_check_count(ck, LG_CHECK_EXPECTED), lg_check_count(ck, LG_CHECK_PASS),
		lg_check_count(ck, LG_CHECK_SKIP));
	for (size_t i = 0; i < ck->n; i++) {
		if (o->quiet && ck->v[i].status != LG_CHECK_FAIL)
			continue;
		fprintf(f, "%-8s %-28s %s\n", lg_check_status_name(ck->v[i].status), ck->v[i].id,
			ck->v[i].detail);
	}
	if (res->mem.total) {
		fprintf(f, "memory: %zu differing pages%s\n", res->mem.total,
			res->mem.total > res->mem.n ? " (first ones listed)" : "");
		for (size_t i = 0; i < res->mem.n && (!o->quiet || i < 20); i++) {
			const struct lg_memdiff *d = &res->mem.v[i];
			fprintf(f, "  page 0x%llx: %zu bytes differ, first at 0x%llx (%s 0x%02x, %s 0x%02x)%s\n",
				(unsigned long long)d->page, d->nbytes, (unsigned long long)d->first,
				res->label[0], d->a, res->label[1], d->b, d->expected ? " expected" : "");
		}
	}
	if (o->quiet)
		return;
	for (int v = 0; v < res->nviews; v++) {
		const struct lg_core_view *cv = &res->v[v];
		if (!cv->uw_open)
			continue;
		fprintf(f, "\nmodules %s:\n", res->label[v]);
		for (size_t i = 0; i < cv->mods.n; i++)
			fprintf(f, "  0x%012llx-0x%012llx %-40s %s\n", (unsigned long long)cv->mods.v[i].start,
				(unsigned long long)cv->mods.v[i].end, cv->mods.v[i].name,
				cv->mods.v[i].build_id[0] ? cv->mods.v[i].build_id : "-");
		fputc('\n', f);
		print_bt(f, res->label[v], &cv->bt[0]);
		/* libunwind in full only where it differs from libdwfl. */
		for (size_t i = 0; i < cv->bt[1].n; i++) {
			const struct lg_thread_bt *u = &cv->bt[1].t[i];
			const struct lg_thread_bt *d = lg_backtrace_thread(&cv->bt[0], u->tid);
			if (!bt_same(d, u))
				print_side(f, "libdwfl", d, "libunwind", u, u->tid);
		}
	}
	if (res->nviews == 2 && res->v[0].uw_open && res->v[1].uw_open) {
		for (int k = 0; k < 2; k++) {
			const struct lg_backtrace *a = &res->v[0].bt[k], *b = &res->v[1].bt[k];
			for (size_t i = 0; i < a->n; i++) {
				const struct lg_thread_bt *tb = lg_backtrace_thread(b, a->t[i].tid);
				if (!bt_same(&a->t[i], tb)) {
					fprintf(f, "\n%s backtraces differ:\n", a->unwinder);
					print_side(f, res->label[0], &a->t[i], res->label[1], tb, a->t[i].tid);
				}
			}
		}
	}
}

void lg_check_print_version(FILE *f)
{
	fprintf(f, "lcorecheck (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	fprintf(f, "elfutils libdw %d.%d (runtime %s), libunwind %d.%d.%d (coredump accessors: own)\n",
		_ELFUTILS_VERSION / 1000, _ELFUTILS_VERSION % 1000, dwfl_version(NULL),
		UNW_VERSION_MAJOR, UNW_VERSION_MINOR, UNW_VERSION_EXTRA);
	fprintf(f, "JSON schema %d\n", LG_CHECK_JSON_SCHEMA);
}

void lg_check_print_expected(FILE *f)
{
	for (size_t i = 0; i < lg_expected_table_len; i++)
		fprintf(f, "%-22s %s\n", lg_expected_table[i].row, lg_expected_table[i].reason);
}
