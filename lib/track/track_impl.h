/* Private to lib/track: the tracker object and the uffd kind's entry points. */
#ifndef LG_TRACK_IMPL_H
#define LG_TRACK_IMPL_H

#include "track/track.h"

struct page_region;
struct lg_track_probe;

/* pagemap entries read at once (soft-dirty) and PAGEMAP_SCAN regions
 * returned at once (uffd): 512 KiB and 192 KiB of lgcore's memory. */
#define LG_TRACK_PMBUF 65536
#define LG_TRACK_VEC 8192

struct lg_tracker {
	enum lg_track_kind kind;
	pid_t pid;
	int uffd;		/* uffd: our copy of the target's userfaultfd */
	int pagemap;		/* /proc/PID/pagemap */
	int clear_refs;		/* soft-dirty: /proc/PID/clear_refs */
	struct lg_ranges regs;	/* registered ranges, for teardown */
	uint64_t *pmbuf;
	struct page_region *vec;
};

int lg_tracker_add_reg(struct lg_tracker *t, uint64_t start, uint64_t end);

int lg_uffd_open(struct lg_tracker *t, const struct lg_track_probe *probe, struct lg_tgroup *g,
		 struct lg_error *err);
int lg_uffd_register(struct lg_tracker *t, uint64_t start, uint64_t end, enum lg_track_reg *res,
		     struct lg_error *err);
/* PAGEMAP_SCAN of [start, end) for pages in any of CATEGORIES, re-arming
 * them if WP; -EPERM from PM_SCAN_CHECK_WPASYNC sets *RECREATED (when not
 * NULL, else it is an error). */
int lg_uffd_scan(struct lg_tracker *t, uint64_t start, uint64_t end, bool wp, uint64_t categories,
		 struct lg_ranges *out, bool *recreated, struct lg_error *err);
int lg_uffd_teardown(struct lg_tracker *t, struct lg_track_teardown *td, struct lg_error *err);

#endif
