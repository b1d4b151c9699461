#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/diff.h"
#include "check/xsave.h"
#include "common/grow.h"

#define PAGE 4096ull
#define VSYSCALL_ADDR 0xffffffffff600000ull
/* [vvar] and [vvar_vclock] sit right below the vDSO on Linux 6.x. */
#define VVAR_WINDOW (64 * 1024ull)

struct ival {
	uint64_t s, e;
};

static int ival_cmp(const void *x, const void *y)
{
	const struct ival *a = x, *b = y;
	return a->s < b->s ? -1 : a->s > b->s;
}

/* The address ranges whose bytes CORE holds, sorted and merged. */
static struct ival *dumped_ranges(const struct lg_core *c, size_t *n)
{
	struct ival *v = calloc(c->nloads ? c->nloads : 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < c->nloads; i++)
		if (c->loads[i].avail)
			v[k++] = (struct ival){ c->loads[i].vaddr, c->loads[i].vaddr + c->loads[i].avail };
	qsort(v, k, sizeof(*v), ival_cmp);
	*n = 0;
	for (size_t i = 0; i < k; i++) {
		if (*n && v[i].s <= v[*n - 1].e) {
			if (v[i].e > v[*n - 1].e)
				v[*n - 1].e = v[i].e;
		} else {
			v[(*n)++] = v[i];
		}
	}
	return v;
}

static bool is_ldso(const char *name)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	return !strncmp(b, "ld-linux", 8) || !strncmp(b, "ld-2.", 5) || !strncmp(b, "ld.so", 5);
}

static bool near_vdso(const struct lg_core *c, uint64_t s, uint64_t e)
{
	uint64_t vdso;

	if (!lg_core_auxv(c, AT_SYSINFO_EHDR, &vdso) || !vdso)
		return false;
	return e <= vdso && s + VVAR_WINDOW >= vdso;
}

/* Counts of coverage differences per expected-table row (or "" = none). */
struct cov_class {
	const char *row;
	size_t pieces;
	uint64_t bytes;
	uint64_t first_s, first_e;
	char first_name[128];
};

static const char *classify_missing(const struct lg_core *have, const struct lg_core *other,
				    uint64_t s, uint64_t e, const char **name)
{
	const struct lg_core_ntfile *f = lg_core_ntfile_at(have, s);
	const struct lg_core_load *l = lg_core_load_at(have, s);

	if (!f)
		f = lg_core_ntfile_at(other, s);
	*name = f ? f->name : "";
	const struct lg_core_load *ol = lg_core_load_at(other, s);
	if (ol && !ol->filesz && !(ol->flags & (PF_R | PF_W | PF_X)))
		return "load.guard";
	if (f && is_ldso(f->name))
		return "load.ldso-cow";
	if (f && f->offset == 0)
		return "load.elf-header";
	if (f && l && !(l->flags & PF_W))
		return "load.file-private";
	if (!f && (near_vdso(have, s, e) || near_vdso(other, s, e)))
		return "load.vvar";
	return NULL;
}

static void cover_add(struct cov_class *cls, size_t ncls, const char *row, uint64_t s, uint64_t e,
		      const char *name)
{
	for (size_t i = 0; i < ncls; i++) {
		if ((row == NULL) != (cls[i].row == NULL) || (row && strcmp(row, cls[i].row)))
			continue;
		if (!cls[i].pieces++) {
			cls[i].first_s = s;
			cls[i].first_e = e;
			snprintf(cls[i].first_name, sizeof(cls[i].first_name), "%s", name);
		}
		cls[i].bytes += e - s;
		return;
	}
}

/* Ranges A dumped that B did not. */
static void coverage_one(const struct lg_core *a, const struct ival *ra, size_t na,
			 const struct lg_core *b, const struct ival *rb, size_t nb,
			 const char *la, const char *lb, struct lg_check_list *ck)
{
	struct cov_class cls[6];
	static const char *const rows[6] = {
		NULL, "load.ldso-cow", "load.elf-header", "load.file-private", "load.vvar", "load.guard",
	};
	size_t j = 0, ncls = LG_ARRAY_SIZE(cls);
	char id[64];

	memset(cls, 0, sizeof(cls));
	for (size_t i = 0; i < ncls; i++)
		cls[i].row = rows[i];

	for (size_t i = 0; i < na; i++) {
		uint64_t s = ra[i].s;
		while (s < ra[i].e) {
			while (j < nb && rb[j].e <= s)
				j++;
			uint64_t e = ra[i].e;
			if (j < nb && rb[j].s <= s) {
				s = rb[j].e < ra[i].e ? rb[j].e : ra[i].e;
				continue;
			}
			if (j < nb && rb[j].s < e)
				e = rb[j].s;
			/* One uncovered piece [s, e): classify per NT_FILE mapping. */
			while (s < e) {
				const struct lg_core_ntfile *f = lg_core_ntfile_at(a, s);
				uint64_t pe = e;
				const char *name = "";
				if (f && f->end < pe)
					pe = f->end;
				cover_add(cls, ncls, classify_missing(a, b, s, pe, &name), s, pe, name);
				s = pe;
			}
		}
	}
	snprintf(id, sizeof(id), "diff.load.coverage.%s-only", la);
	for (size_t i = 0; i < ncls; i++) {
		if (!cls[i].pieces)
			continue;
		if (!cls[i].row)
			lg_check_add(ck, LG_CHECK_FAIL, id,
				     "%zu ranges (%llu bytes) dumped in %s but not in %s, first [0x%llx, 0x%llx) %s",
				     cls[i].pieces, (unsigned long long)cls[i].bytes, la, lb,
				     (unsigned long long)cls[i].first_s, (unsigned long long)cls[i].first_e,
				     cls[i].first_name);
		else
			lg_check_expected(ck, cls[i].row, id,
					  "%zu ranges (%llu bytes) dumped in %s but not in %s, first [0x%llx, 0x%llx) %s",
					  cls[i].pieces, (unsigned long long)cls[i].bytes, la, lb,
					  (unsigned long long)cls[i].first_s, (unsigned long long)cls[i].first_e,
					  cls[i].first_name);
	}
	if (!cls[0].pieces && cls[0].row == NULL) {
		bool any = false;
		for (size_t i = 1; i < ncls; i++)
			any |= cls[i].pieces != 0;
		if (!any)
			lg_check_add(ck, LG_CHECK_PASS, id, "everything %s dumped is in %s too", la, lb);
	}
}

static bool written_by_gdb(const struct lg_core *c)
{
	for (size_t i = 0; i < c->nnotes; i++)
		if (c->notes[i].type == LG_NT_GDB_TDESC)
			return true;
	return false;
}

/* gdb (gcore.c) sets PF_R on every PT_LOAD it writes, so a PROT_NONE
 * mapping it dumps (a shared one whose pages the kernel dumps too) is r--
 * in its core and --- in a kernel-style one. */
static bool gdb_forced_read(const struct lg_core *a, const struct lg_core_load *x,
			    const struct lg_core *b, const struct lg_core_load *y)
{
	return (written_by_gdb(a) && !written_by_gdb(b) && x->flags == PF_R && y->flags == 0) ||
	       (written_by_gdb(b) && !written_by_gdb(a) && y->flags == PF_R && x->flags == 0);
}

static void diff_loads(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	size_t na = 0, nb = 0, flagdiff = 0, aligndiff = 0, only_b0 = 0, only_a0 = 0;
	struct ival *ra = dumped_ranges(a, &na), *rb = dumped_ranges(b, &nb);
	char why[200] = "";

	if (!ra || !rb) {
		ck->oom = true;
		goto out;
	}
	coverage_one(a, ra, na, b, rb, nb, "a", "b", ck);
	coverage_one(b, rb, nb, a, ra, na, "b", "a", ck);
	for (size_t i = 0; i < a->nloads; i++) {
		const struct lg_core_load *x = &a->loads[i], *y = NULL;
		for (size_t k = 0; k < b->nloads; k++)
			if (b->loads[k].vaddr == x->vaddr) {
				y = &b->loads[k];
				break;
			}
		if (!y) {
			only_a0 += x->filesz == 0;
			continue;
		}
		if (x->align != y->align)
			aligndiff++;
		if (x->flags != y->flags && x->filesz && y->filesz && x->vaddr == VSYSCALL_ADDR) {
			lg_check_expected(ck, "load.vsyscall", "diff.load.flags", "[vsyscall] flags 0x%x vs 0x%x",
					  x->flags, y->flags);
		} else if (x->flags != y->flags && x->filesz && y->filesz && gdb_forced_read(a, x, b, y)) {
			lg_check_expected(ck, "load.flags", "diff.load.flags", "PT_LOAD 0x%llx: flags %s vs %s",
					  (unsigned long long)x->vaddr, x->flags ? "r--" : "---", y->flags ? "r--" : "---");
		} else if (x->flags != y->flags && x->filesz && y->filesz) {
			if (!flagdiff++)
				snprintf(why, sizeof(why), "PT_LOAD 0x%llx: flags %c%c%c vs %c%c%c",
					 (unsigned long long)x->vaddr, x->flags & PF_R ? 'r' : '-',
					 x->flags & PF_W ? 'w' : '-', x->flags & PF_X ? 'x' : '-',
					 y->flags & PF_R ? 'r' : '-', y->flags & PF_W ? 'w' : '-',
					 y->flags & PF_X ? 'x' : '-');
		}
	}
	for (size_t k = 0; k < b->nloads; k++) {
		bool found = false;
		for (size_t i = 0; i < a->nloads && !found; i++)
			found = a->loads[i].vaddr == b->loads[k].vaddr;
		only_b0 += !found && b->loads[k].filesz == 0;
	}
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

static const char *mem_row(const struct lg_core *a, const struct lg_core *b, uint64_t page)
{
	if (page == VSYSCALL_ADDR)
		return "mem.vsyscall";
	if (!lg_core_ntfile_at(a, page) && (near_vdso(a, page, page + PAGE) || near_vdso(b, page, page + PAGE)))
		return "mem.vvar";
	return NULL;
}

static void diff_memory(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck,
			struct lg_memdiffs *m)
{
	uint64_t compared = 0;
	size_t unexpected = 0;
	const struct lg_memdiff *first = NULL;

	for (size_t i = 0; i < a->nloads; i++) {
		const struct lg_core_load *x = &a->loads[i];
		for (size_t k = 0; k < b->nloads; k++) {
			const struct lg_core_load *y = &b->loads[k];
			uint64_t s = x->vaddr > y->vaddr ? x->vaddr : y->vaddr;
			uint64_t e1 = x->vaddr + x->avail, e2 = y->vaddr + y->avail;
			uint64_t e = e1 < e2 ? e1 : e2;
			if (s >= e)
				continue;
			compared += e - s;
			/* By page, so differences are reported the way they are
			 * dumped and copied. */
			for (uint64_t p = s; p < e;) {
				uint64_t pe = (p & ~(PAGE - 1)) + PAGE;
				if (pe > e || pe < p)
					pe = e;
				const uint8_t *pa = a->map + x->offset + (p - x->vaddr);
				const uint8_t *pb = b->map + y->offset + (p - y->vaddr);
				if (memcmp(pa, pb, pe - p)) {
					struct lg_memdiff d = { .page = p & ~(PAGE - 1) };
					for (uint64_t q = 0; q < pe - p; q++) {
						if (pa[q] == pb[q])
							continue;
						if (!d.nbytes++) {
							d.first = p + q;
							d.a = pa[q];
							d.b = pb[q];
						}
					}
					d.expected = mem_row(a, b, d.page) != NULL;
					if (!d.expected)
						unexpected++;
					m->total++;
					if (m->n < LG_MEMDIFF_MAX) {
						if (LG_GROW(m->v, m->cap, m->n + 1, 64)) {
							ck->oom = true;
							return;
						}
						m->v[m->n++] = d;
					}
				}
				p = pe;
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
			     (unsigned long long)(compared - 0));
	if (m->total > unexpected) {
		for (size_t i = 0; i < m->n; i++)
			if (m->v[i].expected) {
				lg_check_expected(ck, mem_row(a, b, m->v[i].page), "diff.memory.special",
						  "%zu pages differ in special mappings, first page 0x%llx",
						  m->total - unexpected, (unsigned long long)m->v[i].page);
				break;
			}
	}
}

static void diff_fields(struct lg_check_list *ck, const char *id, const char *row, int tid,
			const char *what, const uint8_t *x, const uint8_t *y, size_t off, size_t len,
			bool *any)
{
	if (!memcmp(x + off, y + off, len))
		return;
	*any = true;
	if (row)
		lg_check_expected(ck, row, id, "thread %d: %s differs", tid, what);
	else
		lg_check_add(ck, LG_CHECK_FAIL, id, "thread %d: %s differs", tid, what);
}

/* gdb 13 (i387-tdep.c) writes XSTATE from its register cache at fixed
 * offsets, the original Intel layout, whatever the CPU's layout is. */
static const struct { unsigned comp; uint32_t off, size; } gdb_xsave_layout[] = {
	{ 2, 576, 256 }, { 3, 960, 64 }, { 4, 1024, 64 }, { 5, 1088, 64 },
	{ 6, 1152, 512 }, { 7, 1664, 1024 }, { 9, 2688, 8 },
};

/* How to find XSAVE components in one core's NT_X86_XSTATE. */
struct xs_where {
	bool gdb;		/* gdb 13's fixed layout */
	bool note;		/* the core's own NT_X86_XSAVE_LAYOUT */
	struct lg_xsave_layout layout;
};

static void xs_where_init(struct xs_where *w, const struct lg_core *c)
{
	char why[160];

	memset(w, 0, sizeof(*w));
	w->gdb = written_by_gdb(c);
	/* A malformed note is validate mode's failure (note.xsave-layout);
	 * here it is just not used. */
	if (!w->gdb && c->xsave_layout && c->nxsave_layout == 1 &&
	    !lg_xsave_layout_parse(c->xsave_layout, c->xsave_layout_size, &w->layout, why, sizeof(why)))
		w->note = true;
}

/* XSAVE component I's offset and size in a core: gdb's fixed layout for
 * gdb's cores; else the core's NT_X86_XSAVE_LAYOUT, which describes the
 * CPU that wrote it; else, for cores without one (gdb's, kernels before
 * 6.11), the standard layout from this machine's CPUID leaf 0xD, which is
 * right only when the core comes from a CPU like this one. */
static bool xsave_component(const struct xs_where *w, unsigned i, uint32_t *off, uint32_t *size)
{
	unsigned eax, ebx, ecx, edx;

	if (w->gdb) {
		for (size_t k = 0; k < LG_ARRAY_SIZE(gdb_xsave_layout); k++)
			if (gdb_xsave_layout[k].comp == i) {
				*off = gdb_xsave_layout[k].off;
				*size = gdb_xsave_layout[k].size;
				return true;
			}
		return false;
	}
	if (w->note) {
		const struct lg_xsave_comp *c = lg_xsave_layout_find(&w->layout, i);
		if (!c)
			return false;
		*off = c->offset;
		*size = c->size;
		return true;
	}
	if (!__get_cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx) || !eax)
		return false;
	*size = eax;
	*off = ebx;
	return true;
}

static void diff_xstate(const struct xs_where *wa, const struct xs_where *wb,
			const struct lg_core_thread *x, const struct lg_core_thread *y,
			struct lg_check_list *ck, bool *any)
{
	bool ga = wa->gdb, gb = wb->gdb;

	uint64_t xa, xb, bva, bvb, common;
	static const uint8_t zeros[8192];

	if (!x->xstate || !y->xstate) {
		if (x->xstate || y->xstate) {
			*any = true;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate", "thread %d: NT_X86_XSTATE only in %s", x->tid,
				     x->xstate ? "a" : "b");
		}
		return;
	}
	if (x->xstate_size < 576 || y->xstate_size < 576) {
		*any = true;
		lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate", "thread %d: XSTATE shorter than its header", x->tid);
		return;
	}
	if (x->xstate_size != y->xstate_size)
		lg_check_expected(ck, "xstate.size", "diff.xstate.size", "thread %d: %zu vs %zu bytes",
				  x->tid, x->xstate_size, y->xstate_size);
	xa = lg_get64(x->xstate + LG_XSTATE_XCR0_OFF);
	xb = lg_get64(y->xstate + LG_XSTATE_XCR0_OFF);
	bva = lg_get64(x->xstate + LG_XSTATE_HDR_OFF);
	bvb = lg_get64(y->xstate + LG_XSTATE_HDR_OFF);
	if (xa != xb) {
		*any = true;
		lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate.xcr0", "thread %d: xcr0 0x%llx vs 0x%llx", x->tid,
			     (unsigned long long)xa, (unsigned long long)xb);
	}
	common = xa & xb;
	/* x87 and SSE state: the FXSAVE area, minus mxcsr_mask (bytes 28..31)
	 * which FPREGSET's check covers. */
	if (common & bva & bvb & 3) {
		if (memcmp(x->xstate, y->xstate, 28) || memcmp(x->xstate + 32, y->xstate + 32, 416 - 32)) {
			*any = true;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate.legacy", "thread %d: x87/SSE area differs", x->tid);
		}
	}
	if (ga != gb)
		lg_check_expected(ck, "xstate.layout", "diff.xstate.layout", "thread %d: XSTATE layouts differ", x->tid);
	for (unsigned i = 2; i < 63; i++) {
		uint32_t off, size, offb, sizeb;
		const uint8_t *pa, *pb;
		if (!(common >> i & 1) || !xsave_component(wa, i, &off, &size) ||
		    !xsave_component(wb, i, &offb, &sizeb) || size != sizeb)
			continue;
		if (ga != gb) {
			/* gdb copied the component from the kernel's buffer at its
			 * fixed offset: right only where the kernel-style core (same
			 * process, same CPU) has it at that offset too. */
			uint32_t coff = ga ? offb : off;
			if (coff != (ga ? off : offb)) {
				lg_check_expected(ck, "xstate.gdb-misplaced", "diff.xstate.component",
						  "thread %d: component %u at %u in gdb's layout, at %u in the %s",
						  x->tid, i, ga ? off : offb, coff,
						  (ga ? wb : wa)->note ? "other core's NT_X86_XSAVE_LAYOUT" : "CPUID layout");
				continue;
			}
		}
		if ((uint64_t)off + size > x->xstate_size || (uint64_t)offb + size > y->xstate_size) {
			lg_check_expected(ck, "xstate.size", "diff.xstate.size",
					  "thread %d: component %u is beyond one XSTATE's size", x->tid, i);
			continue;
		}
		/* A clear xstate_bv bit means the component is in its init state
		 * (all zeros for components 2 and up), whatever the buffer holds. */
		pa = bva >> i & 1 ? x->xstate + off : zeros;
		pb = bvb >> i & 1 ? y->xstate + offb : zeros;
		if (size > sizeof(zeros) && (!(bva >> i & 1) || !(bvb >> i & 1)))
			continue;
		if (memcmp(pa, pb, size)) {
			*any = true;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate.component",
				     "thread %d: XSAVE component %u (%u bytes at %u) differs", x->tid, i, size, off);
		} else if ((bva ^ bvb) >> i & 1) {
			lg_check_expected(ck, "xstate.header", "diff.xstate.header",
					  "thread %d: component %u saved by one side in its init state", x->tid, i);
		}
	}
}

static void diff_threads(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	bool regs_any = false, fp_any = false, xs_any = false, ids_ok = true;
	size_t missing = 0;
	struct xs_where where[2], *wa = &where[0], *wb = &where[1];

	xs_where_init(wa, a);
	xs_where_init(wb, b);

	for (size_t i = 0; i < a->nthreads; i++) {
		const struct lg_core_thread *x = &a->threads[i], *y = NULL;
		for (size_t k = 0; k < b->nthreads; k++)
			if (b->threads[k].tid == x->tid)
				y = &b->threads[k];
		if (!y) {
			ids_ok = false;
			missing++;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.thread.missing", "thread %d is in a but not in b", x->tid);
			continue;
		}
		if (!x->prstatus || !y->prstatus)
			continue;
		for (int r = 0; r < LG_NREGS; r++) {
			if (x->regs[r] == y->regs[r])
				continue;
			regs_any = true;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.regs", "thread %d: %s 0x%llx vs 0x%llx", x->tid,
				     lg_reg_names[r], (unsigned long long)x->regs[r], (unsigned long long)y->regs[r]);
		}
		bool other = false;
		diff_fields(ck, "diff.prstatus", "prstatus.info", x->tid, "pr_info", x->prstatus, y->prstatus, 0, 12, &other);
		diff_fields(ck, "diff.prstatus", "prstatus.cursig", x->tid, "pr_cursig", x->prstatus, y->prstatus, 12, 2, &other);
		diff_fields(ck, "diff.prstatus", "prstatus.sig", x->tid, "pr_sigpend/pr_sighold", x->prstatus, y->prstatus, 16, 16, &other);
		diff_fields(ck, "diff.prstatus", "prstatus.ids", x->tid, "pr_ppid/pr_pgrp/pr_sid", x->prstatus, y->prstatus, 36, 12, &other);
		diff_fields(ck, "diff.prstatus", "prstatus.times", x->tid, "pr_utime..pr_cstime", x->prstatus, y->prstatus, 48, 64, &other);
		diff_fields(ck, "diff.prstatus", "prstatus.fpvalid", x->tid, "pr_fpvalid", x->prstatus, y->prstatus, 328, 4, &other);
		if (x->fpregset && y->fpregset) {
			diff_fields(ck, "diff.fpregset", NULL, x->tid, "FPREGSET (x87/SSE registers)", x->fpregset, y->fpregset, 0, 28, &fp_any);
			diff_fields(ck, "diff.fpregset", NULL, x->tid, "FPREGSET (x87/SSE registers)", x->fpregset, y->fpregset, 32, 480, &fp_any);
			bool mm = false;
			diff_fields(ck, "diff.fpregset", "fpregset.mxcsr_mask", x->tid, "mxcsr_mask", x->fpregset, y->fpregset, 28, 4, &mm);
		} else if (x->fpregset || y->fpregset) {
			fp_any = true;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.fpregset", "thread %d: NT_FPREGSET only in %s", x->tid,
				     x->fpregset ? "a" : "b");
		}
		diff_xstate(wa, wb, x, y, ck, &xs_any);
		if (x->siginfo && y->siginfo) {
			bool s = false;
			diff_fields(ck, "diff.siginfo", "siginfo", x->tid, "NT_SIGINFO", x->siginfo, y->siginfo, 0, LG_SIGINFO_SIZE, &s);
		} else if (x->siginfo || y->siginfo) {
			lg_check_expected(ck, "note.siginfo-count", "diff.siginfo", "thread %d: NT_SIGINFO only in %s",
					  x->tid, x->siginfo ? "a" : "b");
		}
	}
	for (size_t k = 0; k < b->nthreads; k++) {
		bool found = false;
		for (size_t i = 0; i < a->nthreads && !found; i++)
			found = a->threads[i].tid == b->threads[k].tid;
		if (!found) {
			ids_ok = false;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.thread.missing", "thread %d is in b but not in a",
				     b->threads[k].tid);
		}
	}
	if (ids_ok)
		lg_check_add(ck, LG_CHECK_PASS, "diff.thread.ids", "the same %zu threads", a->nthreads);
	if (ids_ok && a->nthreads && b->nthreads && a->threads[0].tid != b->threads[0].tid)
		lg_check_expected(ck, "thread.order", "diff.thread.order", "first thread %d vs %d",
				  a->threads[0].tid, b->threads[0].tid);
	if (!regs_any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.regs", "all %d general registers of every common thread match", LG_NREGS);
	if (!fp_any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.fpregset", "FPREGSET matches (mxcsr_mask aside)");
	if (!xs_any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.xstate",
			     "XSTATE matches on the components enabled in both (layouts: a %s, b %s)",
			     wa->gdb ? "gdb's" : wa->note ? "NT_X86_XSAVE_LAYOUT" : "CPUID",
			     wb->gdb ? "gdb's" : wb->note ? "NT_X86_XSAVE_LAYOUT" : "CPUID");
}

static void diff_notes(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	bool order_same = a->nnotes == b->nnotes;
	const struct lg_core *c[2] = { a, b };

	for (size_t i = 0; order_same && i < a->nnotes; i++)
		order_same = a->notes[i].type == b->notes[i].type;
	if (!order_same)
		lg_check_expected(ck, "note.order", "diff.note.order", "%zu vs %zu notes in different orders",
				  a->nnotes, b->nnotes);
	/* Note types present in one core only. */
	for (int s = 0; s < 2; s++) {
		const struct lg_core *x = c[s], *y = c[!s];
		for (size_t i = 0; i < x->nnotes; i++) {
			uint32_t t = x->notes[i].type;
			bool dup = false, found = false;
			for (size_t k = 0; k < i && !dup; k++)
				dup = x->notes[k].type == t;
			for (size_t k = 0; k < y->nnotes && !found; k++)
				found = y->notes[k].type == t;
			if (dup || found)
				continue;
			const char *row = t == LG_NT_GDB_TDESC ? "note.gdb-tdesc" :
					  t == NT_SIGINFO ? "note.siginfo-count" :
					  t == LG_NT_X86_XSAVE_LAYOUT ? "note.xsave-layout" :
					  t == LG_NT_X86_SHSTK ? "note.other" : NULL;
			if (row)
				lg_check_expected(ck, row, "diff.note.types", "note type 0x%x only in %s", t, s ? "b" : "a");
			else
				lg_check_add(ck, LG_CHECK_FAIL, "diff.note.types", "note type 0x%x only in %s", t, s ? "b" : "a");
		}
	}
}

static size_t psargs_len(const uint8_t *p)
{
	size_t n = strnlen((const char *)p, 80);
	while (n && p[n - 1] == ' ')
		n--;
	return n;
}

static void diff_prpsinfo(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	const uint8_t *x = a->prpsinfo, *y = b->prpsinfo;
	bool any = false;

	if (!x || !y) {
		if (x || y)
			lg_check_add(ck, LG_CHECK_FAIL, "diff.prpsinfo", "NT_PRPSINFO only in %s", x ? "a" : "b");
		return;
	}
	if (memcmp(x, y, 3)) {
		any = true;
		lg_check_expected(ck, "prpsinfo.state", "diff.prpsinfo", "pr_state/pr_sname '%c' vs '%c'", x[1] ? x[1] : '?', y[1] ? y[1] : '?');
	}
	if (memcmp(x + 8, y + 8, 8)) {
		any = true;
		lg_check_expected(ck, "prpsinfo.flag", "diff.prpsinfo", "pr_flag 0x%llx vs 0x%llx",
				  (unsigned long long)lg_get64(x + 8), (unsigned long long)lg_get64(y + 8));
	}
	if (x[3] != y[3] || memcmp(x + 16, y + 16, 24) || memcmp(x + 40, y + 40, 16)) {
		any = true;
		lg_check_add(ck, LG_CHECK_FAIL, "diff.prpsinfo",
			     "nice/uid/gid/pid/ppid/pgrp/sid/fname differ (pid %u vs %u, fname '%.16s' vs '%.16s')",
			     lg_get32(x + 24), lg_get32(y + 24), (const char *)x + 40, (const char *)y + 40);
	}
	size_t lx = psargs_len(x + 56), ly = psargs_len(y + 56), lmin = lx < ly ? lx : ly;
	if (lx != ly || memcmp(x + 56, y + 56, lx)) {
		any = true;
		/* gdb's psargs is argv[0] alone: a prefix of the full one. */
		if (!memcmp(x + 56, y + 56, lmin) && (lx == lmin ? y[56 + lmin] == ' ' : x[56 + lmin] == ' '))
			lg_check_expected(ck, "prpsinfo.psargs", "diff.prpsinfo", "pr_psargs '%.*s' vs '%.*s'",
					  (int)lx, (const char *)x + 56, (int)ly, (const char *)y + 56);
		else
			lg_check_add(ck, LG_CHECK_FAIL, "diff.prpsinfo", "pr_psargs '%.*s' vs '%.*s'",
				     (int)lx, (const char *)x + 56, (int)ly, (const char *)y + 56);
	}
	if (!any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.prpsinfo", "NT_PRPSINFO identical");
}

static void diff_auxv(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	if (!a->auxv || !b->auxv) {
		lg_check_add(ck, (a->auxv || b->auxv) ? LG_CHECK_FAIL : LG_CHECK_SKIP, "diff.auxv",
			     "NT_AUXV missing in %s", a->auxv ? "b" : b->auxv ? "a" : "both");
		return;
	}
	if (a->auxv_size == b->auxv_size && !memcmp(a->auxv, b->auxv, a->auxv_size)) {
		lg_check_add(ck, LG_CHECK_PASS, "diff.auxv", "%zu bytes identical", a->auxv_size);
		return;
	}
	for (size_t i = 0; i + 16 <= a->auxv_size && i + 16 <= b->auxv_size; i += 16) {
		if (memcmp(a->auxv + i, b->auxv + i, 16)) {
			lg_check_add(ck, LG_CHECK_FAIL, "diff.auxv", "entry %zu: type %llu value 0x%llx vs type %llu value 0x%llx",
				     i / 16, (unsigned long long)lg_get64(a->auxv + i), (unsigned long long)lg_get64(a->auxv + i + 8),
				     (unsigned long long)lg_get64(b->auxv + i), (unsigned long long)lg_get64(b->auxv + i + 8));
			return;
		}
	}
	lg_check_add(ck, LG_CHECK_FAIL, "diff.auxv", "%zu vs %zu bytes", a->auxv_size, b->auxv_size);
}

static bool ntfile_eq(const struct lg_core_ntfile *x, const struct lg_core_ntfile *y)
{
	return x->start == y->start && x->end == y->end && x->offset == y->offset && !strcmp(x->name, y->name);
}

static void diff_files(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	const struct lg_core *c[2] = { a, b };
	bool any = false;

	for (int s = 0; s < 2; s++) {
		const struct lg_core *x = c[s], *y = c[!s];
		for (size_t i = 0; i < x->nntfiles; i++) {
			bool found = false;
			for (size_t k = 0; k < y->nntfiles && !found; k++)
				found = ntfile_eq(&x->ntfiles[i], &y->ntfiles[k]);
			if (found)
				continue;
			any = true;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.nt_file", "[0x%llx, 0x%llx) offset 0x%llx %s only in %s",
				     (unsigned long long)x->ntfiles[i].start, (unsigned long long)x->ntfiles[i].end,
				     (unsigned long long)x->ntfiles[i].offset, x->ntfiles[i].name, s ? "b" : "a");
		}
	}
	if (!any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.nt_file", "%zu NT_FILE entries identical (offsets in bytes)", a->nntfiles);
}

static void diff_modules(const struct lg_modules *a, const struct lg_modules *b, struct lg_check_list *ck)
{
	bool any = false;

	for (size_t i = 0; i < a->n || i < b->n; i++) {
		const struct lg_module *x = i < a->n ? &a->v[i] : NULL, *y = i < b->n ? &b->v[i] : NULL;
		if (x && y && x->start == y->start && x->end == y->end && !strcmp(x->name, y->name) &&
		    !strcmp(x->build_id, y->build_id))
			continue;
		any = true;
		lg_check_add(ck, LG_CHECK_FAIL, "diff.modules", "module %zu: %s 0x%llx %s vs %s 0x%llx %s", i,
			     x ? x->name : "-", x ? (unsigned long long)x->start : 0ull, x ? x->build_id : "",
			     y ? y->name : "-", y ? (unsigned long long)y->start : 0ull, y ? y->build_id : "");
		break;
	}
	if (!any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.modules", "%zu modules with the same bases and build-ids", a->n);
}

static void diff_backtraces(const struct lg_backtrace *a, const struct lg_backtrace *b,
			    struct lg_check_list *ck)
{
	char id[64];
	bool any = false;

	snprintf(id, sizeof(id), "diff.backtrace.%s", a->unwinder);
	if (a->error || b->error) {
		lg_check_add(ck, LG_CHECK_SKIP, id, "%s did not run on %s", a->unwinder, a->error ? "a" : "b");
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct lg_thread_bt *x = &a->t[i], *y = lg_backtrace_thread(b, x->tid);
		if (!y)
			continue;	/* reported as a missing thread */
		size_t n = x->n < y->n ? x->n : y->n, j;
		for (j = 0; j < n && lg_frame_equal(&x->f[j], &y->f[j]); j++)
			;
		if (j == n && x->n == y->n)
			continue;
		any = true;
		if (j < n)
			lg_check_add(ck, LG_CHECK_FAIL, id, "thread %d frame #%zu: 0x%llx %s vs 0x%llx %s", x->tid, j,
				     (unsigned long long)x->f[j].pc, x->f[j].name ? x->f[j].name : "??",
				     (unsigned long long)y->f[j].pc, y->f[j].name ? y->f[j].name : "??");
		else
			lg_check_add(ck, LG_CHECK_FAIL, id, "thread %d: %zu vs %zu frames", x->tid, x->n, y->n);
	}
	if (!any)
		lg_check_add(ck, LG_CHECK_PASS, id, "every thread's backtrace is the same");
}

int lg_check_diff(struct lg_core_view *va, struct lg_core_view *vb, struct lg_check_list *ck,
		  struct lg_memdiffs *mem)
{
	const struct lg_core *a = &va->core, *b = &vb->core;

	diff_threads(a, b, ck);
	diff_notes(a, b, ck);
	diff_prpsinfo(a, b, ck);
	diff_auxv(a, b, ck);
	diff_files(a, b, ck);
	diff_loads(a, b, ck);
	diff_memory(a, b, ck, mem);
	if (va->uw_open && vb->uw_open) {
		diff_modules(&va->mods, &vb->mods, ck);
		diff_backtraces(&va->bt[0], &vb->bt[0], ck);
		diff_backtraces(&va->bt[1], &vb->bt[1], ck);
	}
	return ck->oom ? -ENOMEM : 0;
}
