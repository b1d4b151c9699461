/* The helpers the tracker backends share (track_impl.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "arch/arch.h"
#include "mem/mem.h"
#include "track/track_impl.h"

int lg_tracker_add_reg(struct lg_tracker *t, uint64_t start, uint64_t end)
{
	return lg_ranges_add(&t->regs, start, end);
}

int lg_track_open_pagemap(struct lg_tracker *t, struct lg_error *err)
{
	char path[64];

	if (t->pagemap >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)t->pid);
	if ((t->pagemap = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return lg_fail(err, errno, "%s", path);
	return 0;
}

int lg_track_alloc_pmbuf(struct lg_tracker *t, struct lg_error *err)
{
	if (!(t->pmbuf = malloc(LG_TRACK_PMBUF * sizeof(uint64_t))))
		return lg_fail(err, ENOMEM, "tracker");
	return 0;
}

int lg_track_pagemap_select(struct lg_tracker *t, uint64_t start, uint64_t end, uint64_t mask,
			    struct lg_ranges *out, struct lg_error *err)
{
	uint64_t a = start;

	while (a < end) {
		size_t want = (end - a) / LG_PAGE_SIZE, i;
		long n;
		if (want > LG_TRACK_PMBUF)
			want = LG_TRACK_PMBUF;
		n = lg_pagemap_entries(t->pagemap, a, t->pmbuf, want);
		if (n < 0)
			return lg_fail(err, (int)-n, "reading /proc/%d/pagemap", (int)t->pid);
		/* The end of the file: what was listed so far is the answer. */
		if (n == 0)
			break;
		for (i = 0; i < (size_t)n; i++)
			if ((t->pmbuf[i] & mask) &&
			    lg_ranges_add(out, a + i * LG_PAGE_SIZE, a + (i + 1) * LG_PAGE_SIZE))
				return lg_fail(err, ENOMEM, "page list");
		a += (uint64_t)n * LG_PAGE_SIZE;
	}
	return 0;
}

void lg_track_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
