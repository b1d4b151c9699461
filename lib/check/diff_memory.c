/* Memory: which address ranges each core dumped (PT_LOAD coverage), the
 * PT_LOADs' permissions and alignment, and the bytes both dumped.  Both
 * walk the PT_LOADs through their address index, so a 66000-segment pair
 * costs O(n log n), not O(n^2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/diff_impl.h"
#include "common/grow.h"
#include "common/ranges.h"

static int range_cmp(const void *x, const void *y)
{
	const struct lg_range *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* The address ranges whose bytes C holds, sorted and merged. */
static struct lg_range *dumped_ranges(const struct lg_core *c, size_t *n)
{
	struct lg_range *v = calloc(c->nloads ? c->nloads : 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < c->nloads; i++)
		if (c->loads[i].avail)
			v[k++] = (struct lg_range){ c->loads[i].vaddr, c->loads[i].vaddr + c->loads[i].avail };
	qsort(v, k, sizeof(*v), range_cmp);
	*n = 0;
	for (size_t i = 0; i < k; i++) {
		if (*n && v[i].start <= v[*n - 1].end) {
			if (v[i].end > v[*n - 1].end)
				v[*n - 1].end = v[i].end;
		} else {
			v[(*n)++] = v[i];
		}
	}
	return v;
}

/* The pieces dumped by one core only that one explanation (or none)
 * covers: how many, how many bytes, and the first for the report. */
struct uncovered {
	const char *row;	/* NULL: unexplained */
	size_t pieces;
	uint64_t bytes;
	uint64_t first_start, first_end;
	char first_name[128];
};

static void uncovered_add(struct uncovered *u, size_t nu, const char *row, uint64_t s, uint64_t e,
			  const char *name)
{
	for (size_t i = 0; i < nu; i++) {
		if ((row == NULL) != (u[i].row == NULL) || (row && strcmp(row, u[i].row)))
			continue;
		if (!u[i].pieces++) {
			u[i].first_start = s;
			u[i].first_end = e;
			snprintf(u[i].first_name, sizeof(u[i].first_name), "%s", name);
		}
		u[i].bytes += e - s;
		return;
	}
}

/* Ranges A dumped that B did not (RA, RB: their dumped_ranges), by
 * NT_FILE mapping, each explained or not (diff.load.coverage.LA-only). */
static void coverage_one(const struct lg_core *a, const struct lg_range *ra, size_t na,
			 const struct lg_core *b, const struct lg_range *rb, size_t nb,
			 const char *la, const char *lb, struct lg_check_list *ck)
{
	struct uncovered u[1 + LG_EXPLAIN_UNCOVERED_NROWS];
	size_t j = 0, nu = LG_ARRAY_SIZE(u);
	bool any = false;
	char id[64];

	memset(u, 0, sizeof(u));
	for (size_t i = 1; i < nu; i++)
		u[i].row = lg_explain_uncovered_rows[i - 1];
	for (size_t i = 0; i < na; i++) {
		uint64_t s = ra[i].start;
		while (s < ra[i].end) {
			while (j < nb && rb[j].end <= s)
				j++;
			uint64_t e = ra[i].end;
			if (j < nb && rb[j].start <= s) {
				s = rb[j].end < ra[i].end ? rb[j].end : ra[i].end;
				continue;
			}
			if (j < nb && rb[j].start < e)
				e = rb[j].start;
			/* One uncovered piece [s, e): explained per NT_FILE
			 * mapping and per PT_LOAD of either core, so that a
			 * guard mapping does not explain the never-written
			 * mapping next to it. */
			while (s < e) {
				const struct lg_core_ntfile *f = lg_core_ntfile_at(a, s);
				const struct lg_core_load *la_ = lg_core_load_at(a, s), *lb_ = lg_core_load_at(b, s);
				uint64_t pe = e;
				const char *name = "";
				if (f && f->end < pe)
					pe = f->end;
				if (la_ && la_->vaddr + la_->memsz > s && la_->vaddr + la_->memsz < pe)
					pe = la_->vaddr + la_->memsz;
				if (lb_ && lb_->vaddr + lb_->memsz > s && lb_->vaddr + lb_->memsz < pe)
					pe = lb_->vaddr + lb_->memsz;
				uncovered_add(u, nu, lg_explain_uncovered(a, b, s, pe, &name), s, pe, name);
				s = pe;
			}
		}
	}
	snprintf(id, sizeof(id), "diff.load.coverage.%s-only", la);
	for (size_t i = 0; i < nu; i++) {
		if (!u[i].pieces)
			continue;
		any = true;
		lg_check_difference(ck, u[i].row, id,
				    "%zu ranges (%llu bytes) dumped in %s but not in %s, first [0x%llx, 0x%llx) %s",
				    u[i].pieces, (unsigned long long)u[i].bytes, la, lb,
				    (unsigned long long)u[i].first_start, (unsigned long long)u[i].first_end,
				    u[i].first_name);
	}
	if (!any)
		lg_check_add(ck, LG_CHECK_PASS, id, "everything %s dumped is in %s too", la, lb);
}

static void flags_string(uint32_t flags, char out[4])
{
	out[0] = flags & PF_R ? 'r' : '-';
	out[1] = flags & PF_W ? 'w' : '-';
	out[2] = flags & PF_X ? 'x' : '-';
	out[3] = 0;
}

void lg_diff_loads(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	size_t na = 0, nb = 0, flagdiff = 0, aligndiff = 0, only_b0 = 0, only_a0 = 0;
	struct lg_range *ra = dumped_ranges(a, &na), *rb = dumped_ranges(b, &nb);
	char why[200] = "";

	if (!ra || !rb) {
		ck->oom = true;
		goto out;
	}
	coverage_one(a, ra, na, b, rb, nb, "a", "b", ck);
	coverage_one(b, rb, nb, a, ra, na, "b", "a", ck);
	for (size_t i = 0; i < a->nloads; i++) {
		const struct lg_core_load *x = &a->loads[i], *y = lg_core_load_starting(b, x->vaddr);
		const char *row;
		char fx[4], fy[4];

		if (!y) {
			only_a0 += x->filesz == 0;
			continue;
		}
		if (x->align != y->align)
			aligndiff++;
		if (x->flags == y->flags || !x->filesz || !y->filesz)
			continue;
		row = lg_explain_load_flags(a, x, b, y);
		if (row && !strcmp(row, "load.vsyscall")) {
			lg_check_expected(ck, row, "diff.load.flags", "[vsyscall] flags 0x%x vs 0x%x", x->flags, y->flags);
		} else if (row) {
			lg_check_expected(ck, row, "diff.load.flags", "PT_LOAD 0x%llx: flags %s vs %s",
					  (unsigned long long)x->vaddr, x->flags ? "r--" : "---", y->flags ? "r--" : "---");
		} else if (!flagdiff++) {
			flags_string(x->flags, fx);
			flags_string(y->flags, fy);
			snprintf(why, sizeof(why), "PT_LOAD 0x%llx: flags %s vs %s", (unsigned long long)x->vaddr, fx, fy);
		}
	}
	for (size_t k = 0; k < b->nloads; k++)
		only_b0 += !lg_core_load_starting(a, b->loads[k].vaddr) && b->loads[k].filesz == 0;
	if (flagdiff)
		lg_check_add(ck, LG_CHECK_FAIL, "diff.load.flags", "%zu PT_LOADs differ in permissions; %s", flagdiff, why);
	else
		lg_check_add(ck, LG_CHECK_PASS, "diff.load.flags", "permissions of common PT_LOADs agree");
	if (aligndiff)
		lg_check_expected(ck, "load.align", "diff.load.align", "%zu PT_LOADs differ in p_align", aligndiff);
	if (only_a0 || only_b0)
		lg_check_expected(ck, "load.undumped", "diff.load.undumped",
				  "PT_LOADs with p_filesz 0 only in a: %zu, only in b: %zu", only_a0, only_b0);
out:
	free(ra);
	free(rb);
}

/* One page's differing bytes [P, PE) of PA and PB, into M. */
static int record_page(const struct lg_core *a, const struct lg_core *b, const struct lg_rseq_areas *rseq,
		       uint64_t p, uint64_t pe, const uint8_t *pa, const uint8_t *pb, struct lg_memdiffs *m,
		       size_t *unexpected)
{
	struct lg_memdiff d = { .page = p & ~(LG_PAGE_SIZE - 1) };
	bool all_rseq = true;

	for (uint64_t q = 0; q < pe - p; q++) {
		if (pa[q] == pb[q])
			continue;
		if (all_rseq && !lg_explain_rseq_byte(&rseq[0], p + q) && !lg_explain_rseq_byte(&rseq[1], p + q))
			all_rseq = false;
		if (!d.nbytes++) {
			d.first = p + q;
			d.a = pa[q];
			d.b = pb[q];
		}
	}
	d.row = lg_explain_page(a, b, d.page);
	if (!d.row && all_rseq)
		d.row = "mem.rseq";
	d.expected = d.row != NULL;
	if (!d.expected)
		(*unexpected)++;
	m->total++;
	if (m->n >= LG_MEMDIFF_MAX)
		return 0;
	if (LG_GROW(m->v, m->cap, m->n + 1, 64))
		return -1;
	m->v[m->n++] = d;
	return 0;
}

/* The bytes X and Y both hold, [S, E), compared by page so differences
 * are reported the way they are dumped and copied.  -1 when out of memory. */
static int compare_range(const struct lg_core *a, const struct lg_core_load *x,
			 const struct lg_core *b, const struct lg_core_load *y, const struct lg_rseq_areas *rseq,
			 uint64_t s, uint64_t e, struct lg_memdiffs *m, size_t *unexpected)
{
	for (uint64_t p = s; p < e;) {
		uint64_t pe = (p & ~(LG_PAGE_SIZE - 1)) + LG_PAGE_SIZE;
		const uint8_t *pa, *pb;

		if (pe > e || pe < p)
			pe = e;
		pa = lg_core_load_data(a, x) + (p - x->vaddr);
		pb = lg_core_load_data(b, y) + (p - y->vaddr);
		if (memcmp(pa, pb, pe - p) && record_page(a, b, rseq, p, pe, pa, pb, m, unexpected) < 0)
			return -1;
		p = pe;
	}
	return 0;
}

void lg_diff_memory(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck,
		    struct lg_memdiffs *m)
{
	size_t *meet = calloc(b->nloads ? b->nloads : 1, sizeof(*meet));
	uint64_t compared = 0;
	size_t unexpected = 0;
	const struct lg_memdiff *first = NULL;
	struct lg_rseq_areas rseq[2];

	if (!meet) {
		ck->oom = true;
		return;
	}
	/* Each core's own threads' areas: the same in both for one process,
	 * but a thread missing from one core still has its area in the other. */
	lg_rseq_find(a, &rseq[0]);
	lg_rseq_find(b, &rseq[1]);
	/* Every (PT_LOAD of A, PT_LOAD of B) pair whose dumped bytes meet,
	 * in the order of A's and then B's program headers. */
	for (size_t i = 0; i < a->nloads; i++) {
		const struct lg_core_load *x = &a->loads[i];
		size_t nmeet = lg_spans_meeting(&b->load_spans, x->vaddr, x->vaddr + x->avail, meet);

		for (size_t k = 0; k < nmeet; k++) {
			const struct lg_core_load *y = &b->loads[meet[k]];
			uint64_t s = x->vaddr > y->vaddr ? x->vaddr : y->vaddr;
			uint64_t e1 = x->vaddr + x->avail, e2 = y->vaddr + y->avail;
			uint64_t e = e1 < e2 ? e1 : e2;
			if (s >= e)
				continue;
			compared += e - s;
			if (compare_range(a, x, b, y, rseq, s, e, m, &unexpected) < 0) {
				ck->oom = true;
				goto out;
			}
		}
	}
	for (size_t i = 0; i < m->n && !first; i++)
		if (!m->v[i].expected)
			first = &m->v[i];
	if (unexpected && first)
		lg_check_add(ck, LG_CHECK_FAIL, "diff.memory",
			     "%zu pages differ, first at 0x%llx (a 0x%02x, b 0x%02x, %zu bytes in that page)",
			     unexpected, (unsigned long long)first->first, first->a, first->b, first->nbytes);
	else if (unexpected)
		lg_check_add(ck, LG_CHECK_FAIL, "diff.memory", "%zu pages differ", unexpected);
	else
		lg_check_add(ck, LG_CHECK_PASS, "diff.memory", "%llu bytes dumped in both are identical",
			     (unsigned long long)compared);
	/* One line per row, with how many of the stored pages it explains. */
	for (size_t i = 0; i < m->n; i++) {
		size_t n = 0;
		bool seen = false;
		if (!m->v[i].expected)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = m->v[k].expected && !strcmp(m->v[k].row, m->v[i].row);
		if (seen)
			continue;
		for (size_t k = i; k < m->n; k++)
			n += m->v[k].expected && !strcmp(m->v[k].row, m->v[i].row);
		if (!strcmp(m->v[i].row, "mem.rseq"))
			lg_check_expected(ck, m->v[i].row, "diff.memory.rseq",
					  "%zu pages differ only in threads' rseq areas (thread pointer + __rseq_offset), first at 0x%llx",
					  n, (unsigned long long)m->v[i].first);
		else
			lg_check_expected(ck, m->v[i].row, "diff.memory.special",
					  "%zu pages differ in special mappings, first page 0x%llx", n,
					  (unsigned long long)m->v[i].page);
	}
out:
	lg_rseq_free(&rseq[0]);
	lg_rseq_free(&rseq[1]);
	free(meet);
}
