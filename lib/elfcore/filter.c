/* The kernel's choice of what goes into a core (fs/coredump.c,
 * vma_dump_size()), from what /proc/PID/smaps tells us, except for memory
 * never written (see LG_FILTER_ZEROS_BUDGET). */
#include <stdint.h>
#include <stdlib.h>

#include "elfcore/elfcore.h"

bool lg_filter_never_written(const struct lg_mapping *m, const struct lg_filter *f)
{
	/* PROT_NONE reservations (Go and JVM heaps, guard pages) are left
	 * out: the process cannot read them either, and gcore skips them.
	 * hugetlb pages never show as Anonymous: not this rule's. */
	return m->has_smaps && !m->anonymous_kb && !m->swap_kb && lg_mapping_is_private_anon(m) &&
	       (m->prot & LG_PROT_R) && !(m->vmflags & (LG_VM_HT | LG_VM_IO | LG_VM_PF)) &&
	       (f->all || (f->bits & LG_FILTER_ANON_PRIVATE)) && (f->all || !(m->vmflags & LG_VM_DD));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t lg_filter_zeros_cutoff(const struct lg_maps *maps, const struct lg_filter *f)
{
	uint64_t *size, sum = 0, cutoff = UINT64_MAX;
	size_t i, n = 0;

	size = malloc((maps->n ? maps->n : 1) * sizeof(*size));
	if (!size)
		return 0;	/* the kernel's rule: a valid core all the same */
	for (i = 0; i < maps->n; i++)
		if (lg_filter_never_written(&maps->v[i], f))
			size[n++] = maps->v[i].end - maps->v[i].start;
	qsort(size, n, sizeof(*size), cmp_u64);
	for (i = 0; i < n; i++) {
		sum += size[i];
		if (sum > (f->zeros_budget ? f->zeros_budget : LG_FILTER_ZEROS_BUDGET)) {
			cutoff = size[i];
			break;
		}
	}
	free(size);
	return cutoff;
}

enum lg_dump_what lg_filter_mapping(const struct lg_mapping *m, const struct lg_filter *f)
{
	unsigned long bits = f->all ? LG_FILTER_ALL_BITS : f->bits;
	bool file = lg_mapping_is_file(m);
	/* The kernel tests vma->anon_vma: the mapping was written to at
	 * some time.  smaps shows it as anonymous or swapped pages; without
	 * smaps assume it was, and let the page scan find the holes.  (A
	 * mapping whose pages were all given back, MADV_DONTNEED, has an
	 * anon_vma and no pages: it is all zeros too.) */
	bool anon_vma = !m->has_smaps || m->anonymous_kb || m->swap_kb;

	/* Memory-mapped I/O is never read: reading device registers has
	 * side effects.  Not even with -a. */
	if ((m->vmflags & LG_VM_IO) && !lg_mapping_is_special(m))
		return LG_DUMP_NONE;
	if (lg_mapping_is_special(m))
		return LG_DUMP_WHOLE;
	if ((m->vmflags & LG_VM_DD) && !f->all)
		return LG_DUMP_NONE;
	/* Zeros: file space, never read, holes in the file.  Before -a,
	 * which would give a terabyte reservation terabytes of it. */
	if (lg_filter_never_written(m, f))
		return m->end - m->start < f->zeros_below ? LG_DUMP_WHOLE : LG_DUMP_NONE;
	/* -a: every mapping the process can read, whatever the filter says. */
	if (f->all && (m->prot & LG_PROT_R))
		return LG_DUMP_WHOLE;

	if (m->vmflags & LG_VM_HT) {
		unsigned long bit = m->shared ? LG_FILTER_HUGETLB_SHARED : LG_FILTER_HUGETLB_PRIVATE;
		return (bits & bit) ? LG_DUMP_WHOLE : LG_DUMP_NONE;
	}
	if (m->shared) {
		/* Shared memory whose file has no name left (shmem, SysV,
		 * memfd, a deleted file) counts as anonymous. */
		unsigned long bit = (!file || m->deleted) ? LG_FILTER_ANON_SHARED
							  : LG_FILTER_MAPPED_SHARED;
		return (bits & bit) ? LG_DUMP_WHOLE : LG_DUMP_NONE;
	}
	if (anon_vma && (bits & LG_FILTER_ANON_PRIVATE))
		return LG_DUMP_WHOLE;
	if (!file)
		return LG_DUMP_NONE;
	if (bits & LG_FILTER_MAPPED_PRIVATE)
		return LG_DUMP_WHOLE;
	if ((bits & LG_FILTER_ELF_HEADERS) && m->offset == 0 && (m->prot & LG_PROT_R))
		return LG_DUMP_ELF_HEADER;
	return LG_DUMP_NONE;
}
