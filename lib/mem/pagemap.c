/* Which pages are populated, so that never-touched memory is neither read
 * (which would fault zero pages into the target's page tables) nor written
 * (it stays a hole in the core, as the kernel leaves it).  Go, the JVM and
 * sanitizers reserve terabytes of which little is touched. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/arch.h"
#include "lg_uapi.h"
#include "mem/mem.h"

#define SCAN_VEC 1024
#define PAGEMAP_BATCH 4096

void lg_pagemap_init(struct lg_pagemap *pm, pid_t pid)
{
	pm->pid = pid;
	pm->fd = -1;
	pm->have_scan = -1;
}

void lg_pagemap_close(struct lg_pagemap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	pm->fd = -1;
}

long lg_pagemap_scan(int fd, struct pm_scan_arg *arg)
{
	long n;

	do
		n = ioctl(fd, PAGEMAP_SCAN, arg);
	while (n < 0 && (errno == EINTR || errno == EAGAIN));
	return n < 0 ? -errno : n;
}

long lg_pagemap_entries(int fd, uint64_t start, uint64_t *ent, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, ent + got, (n - got) * 8,
				  (off_t)((start / LG_PAGE_SIZE + got) * 8));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* The kernel copies whole entries (a count or offset that is
		 * not a multiple of 8 is EINVAL); 0 is the end of the file. */
		if (r < 8)
			break;
		got += (size_t)r / 8;
	}
	return (long)got;
}

/* CATS: what counts as populated (PAGE_IS_PRESENT, PAGE_IS_SWAPPED);
 * HOLES: list the pages that are none of CATS instead. */
static int scan(struct lg_pagemap *pm, uint64_t start, uint64_t end, uint64_t cats, bool holes,
		struct lg_ranges *out)
{
	struct page_region vec[SCAN_VEC];
	struct pm_scan_arg a;
	long n, i;
	int r;

	while (start < end) {
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.start = start;
		a.end = end;
		a.vec = (uintptr_t)vec;
		a.vec_len = SCAN_VEC;
		if (holes) {
			a.category_inverted = cats;
			a.category_mask = cats;
		} else {
			a.category_anyof_mask = cats;
		}
		a.return_mask = cats;
		n = lg_pagemap_scan(pm->fd, &a);
		if (n < 0)
			return (int)n;
		for (i = 0; i < n; i++)
			if ((r = lg_ranges_add(out, vec[i].start, vec[i].end)))
				return r;
		if (a.walk_end <= start)
			break;
		start = a.walk_end;
	}
	return 0;
}

static int read_entries(struct lg_pagemap *pm, uint64_t start, uint64_t end, uint64_t cats,
			bool holes, struct lg_ranges *out)
{
	uint64_t ent[PAGEMAP_BATCH];
	uint64_t bits = ((cats & PAGE_IS_PRESENT) ? LG_PM_PRESENT : 0) |
			((cats & PAGE_IS_SWAPPED) ? LG_PM_SWAPPED : 0);
	int r;

	while (start < end) {
		uint64_t pages = (end - start) / LG_PAGE_SIZE, i;
		long n;
		if (pages > PAGEMAP_BATCH)
			pages = PAGEMAP_BATCH;
		n = lg_pagemap_entries(pm->fd, start, ent, pages);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		pages = (uint64_t)n;
		for (i = 0; i < pages; i++)
			if (!(ent[i] & bits) == holes)
				if ((r = lg_ranges_add(out, start + i * LG_PAGE_SIZE,
						       start + (i + 1) * LG_PAGE_SIZE)))
					return r;
		start += pages * LG_PAGE_SIZE;
	}
	return 0;
}

static int query(struct lg_pagemap *pm, uint64_t start, uint64_t end, uint64_t cats, bool holes,
		 struct lg_ranges *out, struct lg_error *err)
{
	int r;

	if (pm->fd < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pm->pid);
		pm->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (pm->fd < 0)
			return lg_fail(err, errno, "cannot open %s", path);
	}
	if (pm->have_scan != 0) {
		r = scan(pm, start, end, cats, holes, out);
		if (r == -ENOTTY || r == -EINVAL || r == -EOPNOTSUPP) {
			pm->have_scan = 0;	/* before 6.7 */
		} else {
			pm->have_scan = 1;
			if (r)
				return lg_fail(err, -r, "PAGEMAP_SCAN of %d", (int)pm->pid);
			return 0;
		}
	}
	r = read_entries(pm, start, end, cats, holes, out);
	if (r)
		return lg_fail(err, -r, "cannot read pagemap of %d", (int)pm->pid);
	return 0;
}

int lg_pagemap_populated(struct lg_pagemap *pm, uint64_t start, uint64_t end,
			 struct lg_ranges *out, struct lg_error *err)
{
	return query(pm, start, end, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, false, out, err);
}

int lg_pagemap_holes(struct lg_pagemap *pm, uint64_t start, uint64_t end,
		     struct lg_ranges *out, struct lg_error *err)
{
	return query(pm, start, end, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, true, out, err);
}

int lg_pagemap_absent(struct lg_pagemap *pm, uint64_t start, uint64_t end,
		      struct lg_ranges *out, struct lg_error *err)
{
	return query(pm, start, end, PAGE_IS_PRESENT, true, out, err);
}
