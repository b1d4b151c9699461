/* The kernel's choice of what goes into a core (fs/coredump.c,
 * vma_dump_size()), from what /proc/PID/smaps tells us. */
#include "elfcore/elfcore.h"

enum lg_dump_what lg_filter_mapping(const struct lg_mapping *m, const struct lg_filter *f)
{
	unsigned long bits = f->all ? LG_FILTER_ALL_BITS : f->bits;
	bool file = lg_mapping_is_file(m);
	/* The kernel tests vma->anon_vma: the mapping was written to at
	 * some time.  smaps shows it as anonymous or swapped pages; without
	 * smaps assume it was, and let the page scan find the holes. */
	bool anon_vma = !m->has_smaps || m->anonymous_kb || m->swap_kb;

	/* Memory-mapped I/O is never read: reading device registers has
	 * side effects.  Not even with -a. */
	if ((m->vmflags & LG_VM_IO) && !lg_mapping_is_special(m))
		return LG_DUMP_NONE;
	if (lg_mapping_is_special(m))
		return LG_DUMP_WHOLE;
	if ((m->vmflags & LG_VM_DD) && !f->all)
		return LG_DUMP_NONE;
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
