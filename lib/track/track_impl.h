/* Private to lib/track: the tracker object, the backends' operations, and
 * the helpers the backends share (track_impl.c).
 *
 * Each kind is a backend, as elfutils' libebl has one a machine: a table
 * of operations that the backend fills (uffd.c, softdirty.c, none.c) and
 * that track.c dispatches through.  Backends call only the helpers below,
 * never into track.c. */
#ifndef LG_TRACK_IMPL_H
#define LG_TRACK_IMPL_H

#include "track/track.h"

struct page_region;

/* pagemap entries read at once (soft-dirty, none) and PAGEMAP_SCAN regions
 * returned at once (uffd): 512 KiB and 192 KiB of lgcore's memory. */
#define LG_TRACK_PMBUF 65536
#define LG_TRACK_VEC 8192

struct lg_tracker {
	enum lg_track_kind kind;	/* as asked for at open */
	const struct lg_track_ops *ops;
	pid_t pid;
	struct lg_track_opts opts;
	struct lg_ranges regs;	/* registered ranges, for teardown */
	/* What the backends hold; -1 and NULL when unused. */
	int uffd;		/* uffd: our copy of the target's userfaultfd */
	int pagemap;		/* /proc/PID/pagemap */
	int clear_refs;		/* soft-dirty: /proc/PID/clear_refs */
	uint64_t *pmbuf;	/* soft-dirty, none: LG_TRACK_PMBUF entries */
	struct page_region *vec;	/* uffd: LG_TRACK_VEC regions */
	/* soft-dirty and huge pages */
	int pidfd;		/* for process_madvise(2) */
	int kpageflags;		/* /proc/kpageflags (root only), or -1 */
	struct lg_track_chunk *chunks;	/* chunks split, address order */
	size_t nchunks, chunks_cap;
	bool no_split, no_collapse;	/* the kernel refused: do not ask again */
	struct lg_ranges holes;		/* soft-dirty: holes at the last re-arming collect */
	struct lg_tgroup *stop;		/* the current stop, for injected madvise(2) */
	bool inject;			/* process_madvise refused: inject madvise(2) */
	bool no_inject;			/* and that failed too */
	struct lg_track_thp thp;
};

/* A 2 MiB chunk the soft-dirty tracker split, and how often it asked. */
struct lg_track_chunk {
	uint64_t addr;
	unsigned asked;
	bool huge;	/* /proc/kpageflags said so: collapsed again at close */
};

/* A backend.  track.c makes T (kind, ops, pid and opts set, descriptors
 * -1) before open, and frees it (and its regs) after close; close also runs
 * on a T whose open failed half way. */
struct lg_track_ops {
	bool rearm_needs_stop;
	/* Fill this kind's fields of P (NULL: nothing to find out). */
	void (*probe)(struct lg_track_probe *p);
	int (*open)(struct lg_tracker *t, const struct lg_track_probe *probe, struct lg_tgroup *g,
		    struct lg_error *err);
	int (*reg)(struct lg_tracker *t, uint64_t start, uint64_t end, enum lg_track_reg *res,
		   struct lg_error *err);
	int (*arm)(struct lg_tracker *t, const struct lg_range *r, size_t n, struct lg_ranges *pop,
		   bool *recreated, struct lg_error *err);
	int (*collect)(struct lg_tracker *t, const struct lg_range *r, size_t n, bool rearm,
		       struct lg_ranges *written, bool *recreated, struct lg_error *err);
	int (*populated)(struct lg_tracker *t, uint64_t start, uint64_t end, struct lg_ranges *pop,
			 struct lg_error *err);
	/* NULL: cannot tell (lg_tracker_maywrite() says -ENOTSUP). */
	int (*maywrite)(struct lg_tracker *t, uint64_t start, uint64_t end);
	/* TD is zeroed and never NULL. */
	int (*close)(struct lg_tracker *t, struct lg_track_teardown *td, struct lg_error *err);
};

extern const struct lg_track_ops lg_track_none_ops;
extern const struct lg_track_ops lg_track_uffd_ops;
extern const struct lg_track_ops lg_track_softdirty_ops;

/* --- track_impl.c ---------------------------------------------------------- */

/* Remember [start, end) as registered; -ENOMEM. */
int lg_tracker_add_reg(struct lg_tracker *t, uint64_t start, uint64_t end);
/* Open /proc/PID/pagemap into t->pagemap unless it is open. */
int lg_track_open_pagemap(struct lg_tracker *t, struct lg_error *err);
int lg_track_alloc_pmbuf(struct lg_tracker *t, struct lg_error *err);
/* Walk the pagemap entries of [start, end) (through t->pmbuf) and append
 * the pages for which (entry & MASK) != 0. */
int lg_track_pagemap_select(struct lg_tracker *t, uint64_t start, uint64_t end, uint64_t mask,
			    struct lg_ranges *out, struct lg_error *err);
/* For close: close FD if open and set it to -1. */
void lg_track_close_fd(int *fd);

#endif
