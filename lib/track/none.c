/* The none tracker: nothing is tracked, every mapping is copied in the
 * final stop; only the populated pages can be asked for. */
#include <errno.h>
#include <stdlib.h>

#include "lg_uapi.h"
#include "track/track_impl.h"

static int none_open(struct lg_tracker *t, const struct lg_track_probe *probe,
		     struct lg_tgroup *g, struct lg_error *err)
{
	return lg_track_alloc_pmbuf(t, err);
}

static int none_register(struct lg_tracker *t, uint64_t start, uint64_t end,
			 enum lg_track_reg *res, struct lg_error *err)
{
	*res = LG_TRACK_REG_NONE;
	return 0;
}

static int none_arm(struct lg_tracker *t, const struct lg_range *rg, size_t n,
		    struct lg_ranges *pop, bool *recreated, struct lg_error *err)
{
	return lg_failx(err, EINVAL, "the none tracker arms nothing");
}

static int none_collect(struct lg_tracker *t, const struct lg_range *rg, size_t n, bool rearm,
			struct lg_ranges *written, bool *recreated, struct lg_error *err)
{
	return lg_failx(err, EINVAL, "the none tracker collects nothing");
}

/* From the pagemap entries, opened on first need. */
static int none_populated(struct lg_tracker *t, uint64_t start, uint64_t end,
			  struct lg_ranges *pop, struct lg_error *err)
{
	int r;

	if ((r = lg_track_open_pagemap(t, err)))
		return r;
	return lg_track_pagemap_select(t, start, end, LG_PM_PRESENT | LG_PM_SWAPPED, pop, err);
}

static int none_close(struct lg_tracker *t, struct lg_track_teardown *td, struct lg_error *err)
{
	lg_track_close_fd(&t->pagemap);
	free(t->pmbuf);
	t->pmbuf = NULL;
	return 0;
}

const struct lg_track_ops lg_track_none_ops = {
	.rearm_needs_stop = false,
	.probe = NULL,
	.open = none_open,
	.reg = none_register,
	.arm = none_arm,
	.collect = none_collect,
	.populated = none_populated,
	.close = none_close,
};
