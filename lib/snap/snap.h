/* Copy-before-write snapshots of a running process with synchronous
 * userfaultfd write-protect (Linux 5.7 for anonymous memory, 5.19 for
 * shmem and hugetlbfs), the design of QEMU's background-snapshot.
 *
 * At the snapshot instant T0 (the target stopped) the caller has a
 * userfaultfd of the target's mm, negotiated with lg_snap_uffd_api() (no
 * WP_ASYNC), every range to dump registered with lg_snap_register() and the
 * pages populated at T0 armed with lg_snap_arm().  lg_snap_open() starts a
 * fault server thread; the target is resumed.  From then on a write to a
 * page whose T0 content has not been taken yet makes the writing thread
 * wait while the server copies the page aside (a bounded store, or the
 * caller's place() callback for a seekable output) and unprotects it.
 * lg_snap_next() yields the T0 content of every page in address order:
 * read from the target while the page is still protected, from the aside
 * store once it was written.  lg_snap_close() takes everything down without
 * stalling the target.  Whatever happens to this process, closing the
 * userfaultfd (the kernel does it when we die) wakes every waiting thread
 * and removes every protection: the target always runs on.
 *
 * What the snapshot holds:
 *  - every page of the ranges as it was at T0, except:
 *  - pages that were not armed (holes at T0) read as zeros: for private
 *    anonymous memory that is their content; shared memory must be armed
 *    whole (lg_snap_arm() over the whole mapping puts markers on its holes);
 *  - pages the target drops (MADV_DONTNEED / MADV_REMOVE: UFFD_EVENT_REMOVE)
 *    or unmaps (UFFD_EVENT_UNMAP) before their content was taken read as
 *    zeros and are counted in lg_snap_stats.dropped: the kernel discards
 *    them as soon as the event is read, so their T0 content is gone;
 *  - a range the target moves with mremap(2) (UFFD_EVENT_REMAP) is followed:
 *    its T0 content is read at its new place, under its T0 address;
 *  - writes by other processes to shared memory go through their own page
 *    tables, which are not protected: such pages hold whatever was there
 *    when they were read, as in any dump of a running process.
 * Private file mappings cannot be registered for synchronous write-protect
 * (EINVAL, as on 6.18): the caller copies them while the target is stopped.
 *
 * Thread safety: lg_snap_next() and lg_snap_close() from one thread; the
 * server is internal.  Addresses are page aligned. */
#ifndef LG_SNAP_H
#define LG_SNAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/ranges.h"

/* ---- arm.c: the descriptor, registration, arming ---- */

/* The features lg_snap_uffd_api() asks for: the events that tell the
 * server about memory the target drops, unmaps or moves. */
#define LG_SNAP_UFFD_FEATURES \
	(UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMAP)

/* Whether this kernel and this process can take synchronous write-protect
 * snapshots, tried on a page of our own.  0, or -errno with WHY set. */
int lg_snap_probe(char *why, size_t whylen);

/* UFFDIO_API on UFFD (once per descriptor) with LG_SNAP_UFFD_FEATURES.
 * UFFD must have been created without UFFD_USER_MODE_ONLY: with it a
 * system call writing into a protected page (read(2) into a buffer) would
 * fail with EFAULT instead of waiting (the kernel answers such faults with
 * SIGBUS when only user-mode faults are allowed, as on 6.18). */
int lg_snap_uffd_api(int uffd, struct lg_error *err);

/* UFFDIO_REGISTER_MODE_WP over [start, end).  Returns 0, or -errno without
 * a message when the kernel refuses the mapping: -EINVAL for special
 * mappings and private file mappings, -EPERM without VM_MAYWRITE, -EBUSY
 * when the target uses userfaultfd there itself.  The caller copies such
 * mappings while the target is stopped. */
int lg_snap_register(int uffd, uint64_t start, uint64_t end);

struct lg_snap_arm_stats {
	uint64_t calls;		/* UFFDIO_WRITEPROTECT calls */
	uint64_t bytes;
	uint64_t ns, max_call_ns;
	uint64_t gone;		/* bytes unmapped meanwhile: nothing to protect */
};

/* Write-protect the N ranges R (UFFDIO_WRITEPROTECT), CHUNK bytes a call
 * (0: whole ranges); pages the target unmapped meanwhile are skipped.  For private anonymous memory give only populated
 * pages: on 6.18 protecting 4 KiB pages costs 25-70 ms per GiB on an
 * idle 2-vCPU VM (about 100-250 ns a page, with the target stopped; more
 * while it runs, and 3-5 times more on a busy machine), huge pages
 * 0.1-0.2 ms per GiB.  ST may be NULL. */
int lg_snap_arm(int uffd, const struct lg_range *r, size_t n, uint64_t chunk,
		struct lg_snap_arm_stats *st, struct lg_error *err);

/* Write-protect the N pages PAGES again (sorted; adjacent pages are merged
 * into one call).  About 1 us a page with the target stopped. */
int lg_snap_rearm_pages(int uffd, const uint64_t *pages, size_t n, struct lg_snap_arm_stats *st,
			struct lg_error *err);

/* The populated pages of [start, end) that are not write-protected
 * (PAGEMAP_SCAN, 6.7, category PAGE_IS_WRITTEN with a present or swapped
 * page: it works on synchronous registrations, only PM_SCAN_WP_MATCHING
 * does not), appended to OUT.  PAGEMAP is an open /proc/PID/pagemap.
 * 1 GiB of 4 KiB pages: 0.5-3 ms on 6.18. */
int lg_snap_unprotected(int pagemap, uint64_t start, uint64_t end, struct lg_ranges *out,
			struct lg_error *err);

/* One walk for both: the populated pages of [start, end) appended to
 * POPULATED, those of them not write-protected also to UNPROTECTED. */
int lg_snap_populated(int pagemap, uint64_t start, uint64_t end, struct lg_ranges *populated,
		      struct lg_ranges *unprotected, struct lg_error *err);

/* ---- prearm.c: arming before T0, while the target runs ---- */

/* Arming 4 KiB pages costs 25-70 ms per GiB: not in a stop.  The
 * snapshot can instead be armed while the target runs: register and
 * arm the populated pages, serve the faults with a server that only
 * unprotects and records each page, re-arm what was written in rounds
 * (lg_snap_prearm_take(), lg_snap_rearm_pages() or lg_snap_arm()) until
 * a round is small, then stop the target (T0), lg_snap_prearm_stop(), and
 * re-arm the last round's pages.  The pages to give lg_snap_open() as
 * armed are then: those populated when armed, minus the REMOVED ranges,
 * plus the pages of REMOVED populated at T0 (dropped, then filled again,
 * perhaps re-armed by a round), plus the pages lg_snap_unprotected() finds
 * populated and unprotected at T0 (holes written meanwhile: those writes
 * do not fault), which are armed too.
 * The descriptor stays the caller's. */
struct lg_snap_prearm;
int lg_snap_prearm_start(int uffd, struct lg_snap_prearm **out, struct lg_error *err);
/* The pages written since the last call (sorted page ranges), appended. */
int lg_snap_prearm_take(struct lg_snap_prearm *p, struct lg_ranges *written, struct lg_error *err);
/* With the target stopped: stop serving, append the last pages written to
 * WRITTEN and the ranges the target dropped or unmapped since the start to
 * REMOVED (may be NULL); *FAULTS (may be NULL) gets the faults served.
 * Frees P. */
int lg_snap_prearm_stop(struct lg_snap_prearm *p, struct lg_ranges *written,
			struct lg_ranges *removed, uint64_t *faults, struct lg_error *err);

/* ---- snap.c: the engine ---- */

/* When the aside store is full. */
enum lg_snap_full {
	/* The writer that faulted waits until the streamer frees a slot or
	 * reaches its page (throttling: it then runs at the reader's pace). */
	LG_SNAP_FULL_WAIT = 0,
	/* The snapshot fails (lg_snap_next() returns -ENOBUFS) and the
	 * faulting page is released at once: no thread ever waits for the
	 * reader.  The caller aborts the dump. */
	LG_SNAP_FULL_FAIL,
};

struct lg_snap_opts {
	size_t aside_pages;	/* pages in memory (0: LG_SNAP_ASIDE_DEFAULT) */
	/* Spill file for pages beyond the memory store (-1: none): a file of
	 * the caller's, unlinked, of which at most SPILL_PAGES pages are used
	 * at once; the engine never closes it. */
	int spill_fd;
	size_t spill_pages;
	enum lg_snap_full full;
	/* With LG_SNAP_FULL_WAIT: a writer waiting longer than this for a
	 * slot fails the snapshot as LG_SNAP_FULL_FAIL would (0: no limit). */
	uint64_t max_wait_ns;
	size_t chunk;		/* bytes per lg_snap_next() chunk (0: 2 MiB) */
};

#define LG_SNAP_ASIDE_DEFAULT 8192	/* 32 MiB */

/* For --verbose and --stats. */
struct lg_snap_stats {
	uint64_t faults;		/* write faults served */
	uint64_t copied;		/* pages whose T0 content the server took */
	uint64_t spilled;		/* of which into the spill file */
	uint64_t aside_peak;		/* most pages aside at once */
	uint64_t max_service_ns;	/* longest single fault service */
	uint64_t full;			/* faults that found the store full */
	uint64_t waits;			/* faults that waited for a free slot */
	uint64_t wait_ns, max_wait_ns;	/* how long, in total and at most */
	uint64_t direct;		/* pages the streamer read from the target */
	uint64_t zero;			/* pages yielded as zeros (holes, dropped) */
	uint64_t dropped;		/* removed or unmapped before being taken */
	uint64_t removes, unmaps, remaps;	/* events */
	uint64_t rereads;		/* streamer reads redone because of an event */
	uint64_t unprotect_ns, unregister_ns;	/* teardown */
	uint64_t max_teardown_call_ns;
};

struct lg_snap;

/* Start the engine on UFFD (from now on the engine's: it closes it, also
 * when this fails) for process PID.  RANGES (N, sorted, disjoint) are what
 * lg_snap_next() yields, registered; ARMED (NARMED, sorted) the parts of
 * them protected at T0.  O may be NULL for the defaults. */
int lg_snap_open(int uffd, pid_t pid, const struct lg_range *ranges, size_t n,
		 const struct lg_range *armed, size_t narmed, const struct lg_snap_opts *o,
		 struct lg_snap **out, struct lg_error *err);

/* A piece of the snapshot, in address order.  DATA holds LEN bytes for
 * [ADDR, ADDR + LEN), valid until the next call.  RUNS are the parts that
 * carry data to write: the whole chunk without place(); with it, the
 * pages the server has not already placed and that are not zeros. */
struct lg_snap_chunk {
	uint64_t addr;
	size_t len;
	const uint8_t *data;
	const struct lg_range *runs;
	size_t nruns;
};

/* The next chunk: 1, 0 at the end, or -errno (-ENOBUFS: the aside store
 * overflowed, -ESRCH: the process is gone, or the place() error). */
int lg_snap_next(struct lg_snap *s, struct lg_snap_chunk *c, struct lg_error *err);

void lg_snap_get_stats(struct lg_snap *s, struct lg_snap_stats *st);
/* How many faults found the aside store full so far (cheap, any thread). */
uint64_t lg_snap_full_count(struct lg_snap *s);

/* Remove every protection left (chunk by chunk, each call holding the
 * target's mmap lock only briefly), unregister the ranges, stop the
 * server and close the descriptor.  The target may be running.  Works
 * after an error and before the end of the snapshot (an abort).  ST may be
 * NULL.  Frees S. */
int lg_snap_close(struct lg_snap *s, struct lg_snap_stats *st, struct lg_error *err);

/* Bytes unprotected (aligned, so huge pages stay whole) and unregistered
 * per call at teardown.  UFFDIO_UNREGISTER walks the page tables clearing
 * write-protect bits again, under the mmap lock taken for writing: on 6.18
 * it costs what unprotecting does (1 GiB of 4 KiB pages: 80-210 ms), so
 * 2 MiB a call keeps each stall of the target's faults short. */
#define LG_SNAP_TEARDOWN_CHUNK (2ull << 20)
#define LG_SNAP_UNREGISTER_CHUNK (2ull << 20)

#endif
