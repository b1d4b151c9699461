/* Shared by the core reader's files (core.c, core_notes.c) only. */
#ifndef LG_CHECK_CORE_IMPL_H
#define LG_CHECK_CORE_IMPL_H

#include "check/core.h"

/* Whether [off, off+len) lies inside a file of SIZE bytes, without overflow. */
static inline bool lg_core_in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

/* Read the notes of PH, the core's first PT_NOTE, into C's notes,
 * threads and process-wide fields, appending the note.* checks. */
void lg_core_read_notes(struct lg_core *c, const GElf_Phdr *ph, struct lg_check_list *ck);

#endif
