/* Dirty-page trackers: probing and the common interface, which dispatches
 * to the backend of each kind (uffd.c, softdirty.c, none.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "track/track_impl.h"

/* By kind; a kind out of range is tracked as none. */
static const struct lg_track_ops *const backends[] = {
	[LG_TRACK_NONE] = &lg_track_none_ops,
	[LG_TRACK_UFFD] = &lg_track_uffd_ops,
	[LG_TRACK_SOFTDIRTY] = &lg_track_softdirty_ops,
};

static const struct lg_track_ops *backend(enum lg_track_kind k)
{
	if ((unsigned int)k < LG_ARRAY_SIZE(backends) && backends[k])
		return backends[k];
	return &lg_track_none_ops;
}

const char *lg_track_kind_name(enum lg_track_kind k)
{
	switch (k) {
	case LG_TRACK_UFFD: return "uffd";
	case LG_TRACK_SOFTDIRTY: return "soft-dirty";
	default: return "none";
	}
}

int lg_track_kind_parse(const char *s, enum lg_track_kind *k)
{
	if (!strcmp(s, "uffd"))
		*k = LG_TRACK_UFFD;
	else if (!strcmp(s, "soft-dirty") || !strcmp(s, "softdirty"))
		*k = LG_TRACK_SOFTDIRTY;
	else if (!strcmp(s, "none"))
		*k = LG_TRACK_NONE;
	else
		return -EINVAL;
	return 0;
}

const char *lg_track_reg_name(enum lg_track_reg r)
{
	switch (r) {
	case LG_TRACK_REG_OK: return "tracked";
	case LG_TRACK_REG_SPECIAL: return "special mapping (EINVAL)";
	case LG_TRACK_REG_NOWRITE: return "not writable (EPERM)";
	case LG_TRACK_REG_BUSY: return "target uses userfaultfd itself (EBUSY)";
	case LG_TRACK_REG_NONE: return "shared, special or not tracked";
	default: return "refused";
	}
}

/* --- probing ------------------------------------------------------------ */

/* In the order of the kinds: uffd, then soft-dirty. */
void lg_track_probe(struct lg_track_probe *p)
{
	size_t k;

	memset(p, 0, sizeof(*p));
	for (k = 0; k < LG_ARRAY_SIZE(backends); k++)
		if (backends[k] && backends[k]->probe)
			backends[k]->probe(p);
}

enum lg_track_kind lg_track_best(const struct lg_track_probe *p)
{
	if (p->uffd)
		return LG_TRACK_UFFD;
	if (p->soft_dirty)
		return LG_TRACK_SOFTDIRTY;
	return LG_TRACK_NONE;
}

/* --- common -------------------------------------------------------------- */

int lg_tracker_open(enum lg_track_kind kind, const struct lg_track_probe *probe,
		    struct lg_tgroup *g, struct lg_tracker **out, struct lg_error *err)
{
	struct lg_tracker *t;
	int r;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return lg_fail(err, ENOMEM, "tracker");
	t->kind = kind;
	t->ops = backend(kind);
	t->pid = g->pid;
	t->opts = (struct lg_track_opts)LG_TRACK_OPTS_DEFAULT;
	t->uffd = t->pagemap = t->clear_refs = t->pidfd = t->kpageflags = -1;
	if ((r = t->ops->open(t, probe, g, err))) {
		lg_tracker_close(t, NULL, NULL);
		return r;
	}
	*out = t;
	return 0;
}

enum lg_track_kind lg_tracker_kind(const struct lg_tracker *t)
{
	return t->kind;
}

void lg_tracker_set_opts(struct lg_tracker *t, const struct lg_track_opts *o)
{
	t->opts = *o;
}

bool lg_tracker_rearm_needs_stop(const struct lg_tracker *t)
{
	return t->ops->rearm_needs_stop;
}

int lg_tracker_register(struct lg_tracker *t, uint64_t start, uint64_t end,
			enum lg_track_reg *res, struct lg_error *err)
{
	return t->ops->reg(t, start, end, res, err);
}

int lg_tracker_arm(struct lg_tracker *t, const struct lg_range *rg, size_t n,
		   struct lg_ranges *pop, bool *recreated, struct lg_error *err)
{
	return t->ops->arm(t, rg, n, pop, recreated, err);
}

int lg_tracker_collect(struct lg_tracker *t, const struct lg_range *rg, size_t n, bool rearm,
		       struct lg_ranges *written, bool *recreated, struct lg_error *err)
{
	return t->ops->collect(t, rg, n, rearm, written, recreated, err);
}

int lg_tracker_maywrite(struct lg_tracker *t, uint64_t start, uint64_t end)
{
	return t->ops->maywrite ? t->ops->maywrite(t, start, end) : -ENOTSUP;
}

const struct lg_track_thp *lg_tracker_thp(const struct lg_tracker *t)
{
	return &t->thp;
}

void lg_tracker_set_stop(struct lg_tracker *t, struct lg_tgroup *g)
{
	t->stop = g;
}

int lg_tracker_populated(struct lg_tracker *t, uint64_t start, uint64_t end,
			 struct lg_ranges *pop, struct lg_error *err)
{
	return t->ops->populated(t, start, end, pop, err);
}

int lg_tracker_close(struct lg_tracker *t, struct lg_track_teardown *td, struct lg_error *err)
{
	struct lg_track_teardown dummy;
	int r;

	if (!t)
		return 0;
	if (!td)
		td = &dummy;
	memset(td, 0, sizeof(*td));
	r = t->ops->close(t, td, err);
	lg_ranges_free(&t->regs);
	free(t);
	return r;
}
