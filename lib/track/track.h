/* Dirty-page trackers: which pages of a running target were written, and
 * when.  They say nothing about where pages go in the core file; the
 * pre-copy loop (lib/dump/) decides that.
 *
 * Three kinds, chosen at run time by what the kernel offers:
 *  - uffd: asynchronous userfaultfd write-protect + PAGEMAP_SCAN (6.7+).
 *    The kernel resolves write faults by itself (the target never waits on
 *    us) and PAGEMAP_SCAN lists and re-arms written pages in one call.
 *  - soft-dirty: clear_refs "4" + bit 55 of /proc/PID/pagemap; needs
 *    CONFIG_MEM_SOFT_DIRTY.  Re-arming cannot be made atomic with reading
 *    while the target runs, so a soft-dirty collect that re-arms must be
 *    done with the target stopped (lg_tracker_rearm_needs_stop()).
 *  - none: nothing is tracked, every mapping is copied in the final stop
 *    (stop-and-copy).
 *
 * Usage, on a group stopped by lg_ptrace_stop_all() with
 * PTRACE_O_TRACESYSGOOD: lg_tracker_open(), lg_tracker_register() for each
 * mapping; resume; lg_tracker_arm() (lists populated pages) and copy them;
 * lg_tracker_collect(rearm) and copy, repeatedly; stop; collect without
 * re-arming; lg_tracker_close().  All addresses are page aligned. */
#ifndef LG_TRACK_H
#define LG_TRACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/ranges.h"
#include "ptrace/ptrace.h"

enum lg_track_kind {
	LG_TRACK_NONE = 0,
	LG_TRACK_UFFD,
	LG_TRACK_SOFTDIRTY,
};

const char *lg_track_kind_name(enum lg_track_kind k);
/* "uffd", "soft-dirty", "none"; returns -EINVAL for anything else. */
int lg_track_kind_parse(const char *s, enum lg_track_kind *k);

/* What this kernel offers, found by trying on this process's own memory. */
struct lg_track_probe {
	bool uffd;			/* async uffd-wp + PAGEMAP_SCAN usable */
	uint64_t uffd_features;		/* the features we will ask for */
	bool soft_dirty;
	char uffd_why[160];		/* why not, when !uffd */
	char soft_dirty_why[160];
};
void lg_track_probe(struct lg_track_probe *p);
/* The best kind the probe allows (uffd, then soft-dirty, then none). */
enum lg_track_kind lg_track_best(const struct lg_track_probe *p);

/* Per mapping, whether it is tracked, and if not why (the pre-copy loop
 * then copies it during the final stop). */
enum lg_track_reg {
	LG_TRACK_REG_OK = 0,
	LG_TRACK_REG_SPECIAL,	/* EINVAL: [vdso], [vvar], VM_PFNMAP/IO ... */
	LG_TRACK_REG_NOWRITE,	/* EPERM: no VM_MAYWRITE (read-only file, shared) */
	LG_TRACK_REG_BUSY,	/* EBUSY: the target uses userfaultfd there itself */
	LG_TRACK_REG_OTHER,	/* any other refusal (ENOMEM ...) */
	LG_TRACK_REG_NONE,	/* the none tracker tracks nothing */
};
const char *lg_track_reg_name(enum lg_track_reg r);

struct lg_tracker;

/* Start tracking PID, stopped in G.  For uffd this injects userfaultfd(2)
 * into the target, fetches the descriptor and closes the target's copy.
 * PROBE comes from lg_track_probe(). */
int lg_tracker_open(enum lg_track_kind kind, const struct lg_track_probe *probe,
		    struct lg_tgroup *g, struct lg_tracker **out, struct lg_error *err);
enum lg_track_kind lg_tracker_kind(const struct lg_tracker *t);
bool lg_tracker_rearm_needs_stop(const struct lg_tracker *t);

/* Track [start, end).  A mapping the kernel refuses is not an error: *RES
 * says why, and the caller copies it in the final stop. */
int lg_tracker_register(struct lg_tracker *t, uint64_t start, uint64_t end,
			enum lg_track_reg *res, struct lg_error *err);

/* Arm the N registered ranges R and append their populated pages (present
 * or swapped) to POP, in address order.  Pages never touched are left
 * alone: arming holes would fill page tables for whole reservations.
 * RECREATED (may be NULL) as for lg_tracker_collect(). */
int lg_tracker_arm(struct lg_tracker *t, const struct lg_range *r, size_t n,
		   struct lg_ranges *pop, bool *recreated, struct lg_error *err);

/* Append the pages of the N ranges R written since they were armed to
 * WRITTEN; REARM protects them again (for uffd in the same call, for
 * soft-dirty after reading them all: the target must then be stopped).
 * RECREATED[i] (may be NULL) is set when range i is no longer the mapping
 * registered (munmap + mmap at the same place): it must be copied in full,
 * and is not tracked any more. */
int lg_tracker_collect(struct lg_tracker *t, const struct lg_range *r, size_t n, bool rearm,
		       struct lg_ranges *written, bool *recreated, struct lg_error *err);

/* Whether the mapping [start, end) has VM_MAYWRITE now, asked of the
 * kernel without reading smaps: 1 yes, 0 no, -ENOTSUP when this kind
 * cannot tell, another -errno when the kernel would not say. */
int lg_tracker_maywrite(struct lg_tracker *t, uint64_t start, uint64_t end);

/* What the tracker did to the target's huge pages so far (all zeros but
 * for soft-dirty). */
const struct lg_track_thp *lg_tracker_thp(const struct lg_tracker *t);

/* The group of the stop the next collects run in (stopped with
 * PTRACE_O_TRACESYSGOOD), or NULL: where process_madvise(2) is not allowed
 * (no CAP_SYS_NICE), soft-dirty injects madvise(2) into one of its threads
 * to split huge pages (lib/ptrace/inject.h: the target survives our death
 * at any instant). */
void lg_tracker_set_stop(struct lg_tracker *t, struct lg_tgroup *g);

/* Append the populated pages of [start, end) to POP, arming nothing. */
int lg_tracker_populated(struct lg_tracker *t, uint64_t start, uint64_t end,
			 struct lg_ranges *pop, struct lg_error *err);

/* Soft-dirty and transparent huge pages: what the tracker did to the
 * target's huge pages, and undid at close (--verbose, --stats). */
struct lg_track_thp {
	uint64_t whole;			/* 2 MiB chunks found written whole by a pass */
	uint64_t split;			/* asked to split (each chunk counted once) */
	uint64_t again;			/* asked again: whole again after the split */
	uint64_t refused;		/* chunks the kernel would not advise */
	uint64_t deferred;		/* left to a later pass by the time budget */
	uint64_t injected;		/* of the splits, by madvise(2) run in the target */
	uint64_t split_ns, max_split_ns;	/* all splits; the longest pass's */
	uint64_t collapsed;		/* split chunks collapsed again at close */
	uint64_t collapse_skipped;	/* not fully present any more: left split */
	uint64_t collapse_refused;
	uint64_t collapse_ns;
	char why[320];			/* why no split or no collapse was done */
};

/* Timings of the teardown, for --verbose and --stats. */
struct lg_track_teardown {
	uint64_t unprotect_ns, unregister_ns, close_ns;
	uint64_t chunks;		/* UFFDIO_WRITEPROTECT calls */
	uint64_t max_chunk_ns;		/* the longest of them */
	uint64_t max_unregister_ns;	/* the longest UFFDIO_UNREGISTER */
	struct lg_track_thp thp;	/* soft-dirty only */
};

/* Undo everything without stalling the target: write protection is removed
 * chunk by chunk (each chunk holds the target's mmap lock only briefly),
 * then the ranges are unregistered and the descriptor closed.  The target
 * may be running.  TD may be NULL.  Frees T. */
int lg_tracker_close(struct lg_tracker *t, struct lg_track_teardown *td, struct lg_error *err);

/* A tracker's options: lg_tracker_open() gives it LG_TRACK_OPTS_DEFAULT,
 * lg_tracker_set_opts() replaces them (before lg_tracker_close(), which is
 * where they count).  The kinds that have no use for one ignore it. */
struct lg_track_opts {
	/* uffd: bytes unprotected per UFFDIO_WRITEPROTECT call, and
	 * unregistered per UFFDIO_UNREGISTER call (0: whole ranges), at
	 * teardown. */
	uint64_t unprotect_chunk;
	uint64_t unregister_chunk;
	/* soft-dirty: split the huge pages written whole, and collapse them
	 * again at close (both on by default); split for at most this long
	 * in one stop (0: no bound). */
	bool thp_split;
	bool thp_collapse;
	uint64_t thp_split_budget_ns;
};
#define LG_TRACK_OPTS_DEFAULT { .unprotect_chunk = 32ull << 20, .unregister_chunk = 32ull << 20, \
				.thp_split = true, .thp_collapse = true }

void lg_tracker_set_opts(struct lg_tracker *t, const struct lg_track_opts *o);

#endif
