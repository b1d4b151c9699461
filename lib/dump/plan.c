#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "dump/dump.h"

int lg_plan_build(struct lg_plan *p, struct lg_maps *maps, const struct lg_filter *f,
		  struct lg_mem *mem, struct lg_error *err)
{
	struct lg_filter fz = *f;
	size_t i;
	int r = 0;

	memset(p, 0, sizeof(*p));
	p->maps = *maps;
	memset(maps, 0, sizeof(*maps));
	fz.zeros_below = lg_filter_zeros_cutoff(&p->maps, f);
	lg_layout_init(&p->layout);
	p->e = calloc(p->maps.n ? p->maps.n : 1, sizeof(*p->e));
	if (!p->e)
		return lg_fail(err, ENOMEM, "planning the dump");

	for (i = 0; i < p->maps.n; i++) {
		const struct lg_mapping *m = &p->maps.v[i];
		struct lg_plan_entry *e = &p->e[i];
		uint64_t size = m->end - m->start;
		long seg;

		e->map = i;
		e->what = lg_filter_mapping(m, &fz);
		if (e->what == LG_DUMP_ELF_HEADER) {
			/* One page, to carry the build-id and let readers find
			 * the module, if the mapping starts with ELF magic. */
			unsigned char magic[SELFMAG];
			uint64_t before = mem->unreadable;
			if ((r = lg_mem_read(mem, m->start, magic, sizeof(magic), err)))
				goto out;
			if (mem->unreadable != before || memcmp(magic, ELFMAG, SELFMAG)) {
				mem->unreadable = before;
				e->what = LG_DUMP_NONE;
			}
		}
		e->dump_len = e->what == LG_DUMP_WHOLE ? size :
			      e->what == LG_DUMP_ELF_HEADER ? (size < LG_PAGE_SIZE ? size : LG_PAGE_SIZE) : 0;
		/* [vvar] is PFN-mapped: the kernel's own dump writes it as
		 * zeros, and reading it only fails. */
		e->never_read = lg_mapping_is_special(m) && (m->vmflags & (LG_VM_PF | LG_VM_IO));
		seg = lg_layout_add(&p->layout, m->start, size, e->dump_len, lg_layout_pflags(m->prot));
		if (seg < 0) {
			r = lg_fail(err, ENOMEM, "planning the dump");
			goto out;
		}
		e->seg = (size_t)seg;
		p->n++;
	}
out:
	if (r)
		lg_plan_free(p);
	return r;
}

/* /proc/PID/smaps walks every page table to count Rss: about 4 ms for a
 * 200 MiB process here, too slow for a stop.  Inside a stop read the cheap
 * /proc/PID/maps and take the smaps fields of each mapping from HINT (read
 * earlier) when the same mapping is there; only if one is not, read smaps.
 * (A VmFlags change without a range change, e.g. MADV_DONTDUMP on a whole
 * mapping during the dump, is seen at the set-up stop only.) */
int lg_plan_read_maps(pid_t pid, const struct lg_maps *hint, struct lg_maps *out,
		      struct lg_error *err)
{
	size_t i, j = 0;
	uint64_t resident = 0;
	int r;

	if (!hint)
		return lg_maps_read(pid, true, out, err);
	if ((r = lg_maps_read(pid, false, out, err)))
		return r;
	if (hint->partial_ok)
		for (i = 0; i < hint->n; i++)
			resident += hint->v[i].rss_kb + hint->v[i].swap_kb;
	for (i = 0; i < out->n; i++) {
		struct lg_mapping *m = &out->v[i];
		while (j < hint->n && hint->v[j].end <= m->start)
			j++;
		if (j < hint->n && hint->v[j].start == m->start && hint->v[j].end == m->end &&
		    hint->v[j].inode == m->inode && hint->v[j].offset == m->offset &&
		    hint->v[j].has_smaps && !strcmp(hint->v[j].name, m->name)) {
			m->has_smaps = true;
			m->anonymous_kb = hint->v[j].anonymous_kb;
			m->swap_kb = hint->v[j].swap_kb;
			m->rss_kb = hint->v[j].rss_kb;
			m->vmflags = hint->v[j].vmflags;
			continue;
		}
		/* smaps walks the page tables of every mapping: 33-128 ms for
		 * 1.25 GiB of populated shared memory on 6.18 (2 vCPUs, loaded),
		 * inside a stop.  The caller copes with a mapping it knows only
		 * from maps. */
		if (resident > LG_PLAN_PARTIAL_KB) {
			m->has_smaps = false;
			continue;
		}
		lg_maps_free(out);
		return lg_maps_read(pid, true, out, err);
	}
	return 0;
}

int lg_plan_target(struct lg_plan *p, pid_t pid, unsigned long coredump_filter, bool all,
		   uint64_t zeros_budget, const struct lg_maps *hint, struct lg_mem *mem,
		   struct lg_error *err)
{
	struct lg_maps maps = { 0 };
	struct lg_filter filter = { .bits = coredump_filter, .all = all,
				    .zeros_budget = zeros_budget };
	int r;

	if ((r = lg_plan_read_maps(pid, hint, &maps, err)))
		return r;
	return lg_plan_build(p, &maps, &filter, mem, err);
}

void lg_plan_free(struct lg_plan *p)
{
	lg_maps_free(&p->maps);
	lg_layout_free(&p->layout);
	free(p->e);
	p->e = NULL;
	p->n = 0;
}

uint64_t lg_plan_bytes(const struct lg_plan *p)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < p->n; i++)
		n += p->e[i].dump_len;
	return n;
}
