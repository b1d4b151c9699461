/* The snapshot mode: a core of one instant (T0) of a running process,
 * written in one pass, each page read once, into a file or a stream.
 *
 * Two short stops.  The set-up stop creates a userfaultfd in the target
 * and registers its memory for synchronous write-protect; the target
 * resumes while its populated pages are armed, and the pages it writes
 * meanwhile are re-armed in rounds (lib/snap/snap.h, prearm).  At the
 * second stop (T0) the registers, the mappings and the notes are taken,
 * the last round's pages are re-armed, and what could not be protected
 * is copied; the target resumes, and from then on a write to a page not
 * yet written out makes the writing thread wait only until its T0
 * content has been taken (lib/snap).
 *
 * What the core holds:
 *  - the registers, threads, mappings and notes of T0; threads created
 *    after T0 are not in it, threads that exit after T0 are;
 *  - every page of memory the target can write as it was at T0, with
 *    these exceptions: memory the target unmaps, or drops (MADV_DONTNEED,
 *    MADV_REMOVE) after T0 before it was written out reads as zeros
 *    (the kernel discards it first: counted in --stats as dropped);
 *    memory it moves with mremap(2) is written out from its new place
 *    under its T0 address;
 *  - private file mappings (.data, relro: userfaultfd cannot protect
 *    them) and shared file mappings the target can write (likewise) are
 *    copied inside the T0 stop; a stream takes at most
 *    LG_SNAPSHOT_STOP_COPY_MAX of them, more falls back to stop mode;
 *  - shared memory the target cannot write (no VM_MAYWRITE) is copied
 *    after T0 while it runs: only other processes can change it;
 *  - writes by other processes to shared memory (shmem, memfd) go through
 *    their own page tables and are not held back: such pages hold what
 *    they held when written out, as in any dump of a running process.
 *
 * Where the kernel, the process or lgcore cannot do this (no synchronous
 * write-protect, seccomp, a stopped process, a target that uses
 * userfaultfd itself on much of its memory), the dump is made in stop
 * mode instead and the result says why. */
#ifndef LG_DUMP_SNAPSHOT_H
#define LG_DUMP_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "dump/dump.h"
#include "snap/snap.h"

/* What a stream may copy inside the T0 stop and hold until its place in
 * the stream comes: lgcore's memory stays bounded (with the aside store,
 * under 64 MiB). */
#define LG_SNAPSHOT_STOP_COPY_MAX (16u << 20)
/* Pages of T0 content held aside in memory for pages the target writes
 * before they were written out (32 MiB). */
#define LG_SNAPSHOT_ASIDE_PAGES 8192
/* Beyond them they wait in an unlinked file, in the core's directory or
 * for a stream in $TMPDIR (or /var/tmp), of at most this size and half the
 * free space there. */
#define LG_SNAPSHOT_SPILL_MAX (1ull << 30)
/* When a page the process writes finds both full (a reader much slower
 * than its writes), the writer waits while the streamer finishes its
 * chunk, and then the process is stopped for the rest of the stream:
 * the core is still the state of T0, every page is still read once, and
 * the process is frozen only as long as the reader needs, as in stop
 * mode (counted in the pause). */

struct lg_snapshot_result {
	struct lg_dump_result dump;
	bool stop_mode;			/* done in stop mode instead: */
	char fallback[200];		/* why */
	uint64_t setup_ns;		/* the set-up stop */
	uint64_t final_ns;		/* the stop at T0, of which: */
	uint64_t final_plan_ns;		/* registers, maps, threads */
	uint64_t final_protect_ns;	/* re-arming, finding what is not protected */
	uint64_t final_copy_ns;		/* notes, copying what cannot be protected */
	uint64_t scanned_bytes;		/* of memory scanned for pages to protect in it */
	uint64_t late_ns;		/* stopped for a slow reader, after T0 */
	uint64_t late_from;		/* at this byte of the stream */
	uint64_t arm_ns;		/* arming while the target ran */
	unsigned rounds;		/* re-arming rounds */
	uint64_t last_round_pages;	/* re-armed in the T0 stop */
	uint64_t prearm_faults;
	size_t protected_maps, stop_maps, later_maps;
	uint64_t protected_bytes, stop_bytes, later_bytes;
	struct lg_snap_stats snap;
};

/* Whether the snapshot mode can work for PID here; if not, why.  Cheap,
 * with the target running. */
bool lg_snapshot_possible(pid_t pid, char *why, size_t whylen);

/* Dump PID in snapshot mode into PATH (the same guarantees as
 * lg_dump_stop), or with PATH NULL as a stream into FD. */
int lg_dump_snapshot(pid_t pid, const char *path, int fd, const struct lg_dump_opts *o,
		     struct lg_snapshot_result *res, struct lg_error *err);

/* --verbose text and --stats JSON (report.c), appended to OUT. */
int lg_snapshot_report_text(const struct lg_snapshot_result *r, struct lg_buf *out);
int lg_snapshot_report_json(const struct lg_snapshot_result *r, struct lg_buf *out);

#endif
