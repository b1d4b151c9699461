/* The soft-dirty tracker: clear_refs "4" re-arms every page of the process,
 * bit 55 of /proc/PID/pagemap says which were written since
 * (CONFIG_MEM_SOFT_DIRTY, 3.11).  Re-arming is not atomic with reading, so
 * a collect that re-arms needs the target stopped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "mem/mem.h"
#include "track/track_impl.h"

static int pagemap_entry(int pm, uint64_t addr, uint64_t *e)
{
	return lg_pagemap_entries(pm, addr, e, 1) == 1 ? 0 : -1;
}

/* Soft-dirty on a page of our own: clear our bits (only this process is
 * touched), write, and see bit 55 come back.  A kernel without the option
 * accepts "4" and never sets the bit. */
static void sd_probe(struct lg_track_probe *p)
{
	int pm = -1, cr = -1;
	uint64_t before = 0, after = 0;
	volatile char *page;

	page = mmap(NULL, LG_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		snprintf(p->soft_dirty_why, sizeof(p->soft_dirty_why), "mmap: %s", strerror(errno));
		return;
	}
	page[0] = 1;
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	cr = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (pm < 0 || cr < 0 || write(cr, "4", 1) != 1) {
		snprintf(p->soft_dirty_why, sizeof(p->soft_dirty_why),
			 "/proc/self/clear_refs: %s", strerror(errno));
		goto out;
	}
	if (pagemap_entry(pm, (uintptr_t)page, &before))
		goto out;
	page[0] = 2;
	if (pagemap_entry(pm, (uintptr_t)page, &after))
		goto out;
	if (!(before & LG_PM_SOFT_DIRTY) && (after & LG_PM_SOFT_DIRTY))
		p->soft_dirty = true;
	else
		snprintf(p->soft_dirty_why, sizeof(p->soft_dirty_why),
			 "kernel lacks CONFIG_MEM_SOFT_DIRTY (pagemap bit 55 %s)",
			 (after & LG_PM_SOFT_DIRTY) ? "not cleared" : "never set");
out:
	if (!p->soft_dirty && !p->soft_dirty_why[0])
		snprintf(p->soft_dirty_why, sizeof(p->soft_dirty_why), "/proc/self/pagemap: %s",
			 strerror(errno));
	if (pm >= 0)
		close(pm);
	if (cr >= 0)
		close(cr);
	munmap((void *)page, LG_PAGE_SIZE);
}

static int sd_open(struct lg_tracker *t, const struct lg_track_probe *probe, struct lg_tgroup *g,
		   struct lg_error *err)
{
	char path[64];
	int r;

	if (!probe->soft_dirty)
		return lg_failx(err, ENOTSUP, "soft-dirty tracker unavailable: %s",
				probe->soft_dirty_why);
	if ((r = lg_track_open_pagemap(t, err)))
		return r;
	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)t->pid);
	if ((t->clear_refs = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return lg_fail(err, errno, "%s", path);
	return lg_track_alloc_pmbuf(t, err);
}

static int sd_register(struct lg_tracker *t, uint64_t start, uint64_t end, enum lg_track_reg *res,
		       struct lg_error *err)
{
	*res = LG_TRACK_REG_OK;
	if (lg_tracker_add_reg(t, start, end))
		return lg_fail(err, ENOMEM, "tracker");
	return 0;
}

static int clear_soft_dirty(struct lg_tracker *t, struct lg_error *err)
{
	/* Clears the bits of the whole process: anyone else using them
	 * (CRIU's incremental dumps) loses them. */
	if (pwrite(t->clear_refs, "4", 1, 0) != 1)
		return lg_fail(err, errno, "writing /proc/%d/clear_refs", (int)t->pid);
	return 0;
}

static int sd_arm(struct lg_tracker *t, const struct lg_range *rg, size_t n, struct lg_ranges *pop,
		  bool *recreated, struct lg_error *err)
{
	size_t i;
	int r;

	/* Clear first, list after: a page written in between is both listed
	 * and dirty, never missed. */
	if ((r = clear_soft_dirty(t, err)))
		return r;
	for (i = 0; i < n; i++) {
		if (recreated)
			recreated[i] = false;
		if ((r = lg_track_pagemap_select(t, rg[i].start, rg[i].end,
						 LG_PM_PRESENT | LG_PM_SWAPPED, pop, err)))
			return r;
	}
	return 0;
}

static int sd_collect(struct lg_tracker *t, const struct lg_range *rg, size_t n, bool rearm,
		      struct lg_ranges *written, bool *recreated, struct lg_error *err)
{
	size_t i;
	int r;

	/* A new mapping at the same place has VM_SOFTDIRTY: all its pages
	 * read as dirty, so nothing is lost without a flag. */
	for (i = 0; i < n; i++) {
		if (recreated)
			recreated[i] = false;
		if ((r = lg_track_pagemap_select(t, rg[i].start, rg[i].end, LG_PM_SOFT_DIRTY, written,
						 err)))
			return r;
	}
	return rearm ? clear_soft_dirty(t, err) : 0;
}

static int sd_populated(struct lg_tracker *t, uint64_t start, uint64_t end, struct lg_ranges *pop,
			struct lg_error *err)
{
	int r;

	if ((r = lg_track_open_pagemap(t, err)))
		return r;
	return lg_track_pagemap_select(t, start, end, LG_PM_PRESENT | LG_PM_SWAPPED, pop, err);
}

static int sd_close(struct lg_tracker *t, struct lg_track_teardown *td, struct lg_error *err)
{
	lg_track_close_fd(&t->pagemap);
	lg_track_close_fd(&t->clear_refs);
	free(t->pmbuf);
	t->pmbuf = NULL;
	return 0;
}

const struct lg_track_ops lg_track_softdirty_ops = {
	.rearm_needs_stop = true,
	.probe = sd_probe,
	.open = sd_open,
	.reg = sd_register,
	.arm = sd_arm,
	.collect = sd_collect,
	.populated = sd_populated,
	.close = sd_close,
};
