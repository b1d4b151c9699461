/* The low-pause dump: pre-copy with dirty-page tracking, then a short
 * final stop that copies only what changed. */
#ifndef LG_DUMP_PRECOPY_H
#define LG_DUMP_PRECOPY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/error.h"
#include "dump/dump.h"
#include "track/track.h"

#define LG_PRECOPY_MAX_PASSES 64
/* The final stop reads into this much memory and writes after resuming:
 * 8192 pages, with the 4 MiB copy buffer well under 64 MiB of RSS. */
#define LG_PRECOPY_STAGE (32u << 20)
/* Writes into the core no larger than this (struct lg_core_file max_write):
 * 16 KiB filled 1 GiB in 0.32 s (4 MiB: 0.18 s) and left 4 KiB overwrites
 * at 1.65 us (4 MiB: 35-41 us) on ext4, Linux 6.18. */
#define LG_PRECOPY_WRITE (16u << 10)

struct lg_precopy_opts {
	bool all;			/* -a */
	bool force_kind;		/* use KIND, not the best the kernel has */
	enum lg_track_kind kind;
	int max_passes;
	bool no_thp_split;		/* soft-dirty: leave huge pages whole */			/* passes after the first full one, at most
					 * LG_PRECOPY_MAX_PASSES (lgcore: 16) */
	uint64_t pause_target_ns;	/* iterate while the final copy would exceed it */
	/* The final stop fails the dump (-ETIME), letting the target go,
	 * rather than last longer than this (0: no bound). */
	uint64_t max_pause_ns;
	struct lg_progress *progress;	/* kept up to date, or NULL */
};

/* Why a shared mapping the process can write is not tracked but copied
 * in the final stop. */
enum lg_precopy_shm {
	LG_PRECOPY_SHM_FILE = 0,	/* a file anyone may open and write(2) */
	LG_PRECOPY_SHM_OPEN,		/* held open by the process: write(2) is unseen */
	LG_PRECOPY_SHM_ALIAS,		/* mapped twice: the other mapping's writes are unseen */
	LG_PRECOPY_SHM_TRACKER,		/* the tracker is not uffd */
	LG_PRECOPY_SHM_N
};
const char *lg_precopy_shm_name(enum lg_precopy_shm w);

struct lg_precopy_pass {
	uint64_t pages, ns;
};

struct lg_precopy_result {
	struct lg_dump_result dump;
	enum lg_track_kind kind;	/* the tracker that ran */
	char fallback[256];		/* why a weaker tracker (or stop mode) ran */
	size_t tracked_maps, untracked_maps;
	/* Mappings this process cannot write (no VM_MAYWRITE), copied
	 * before pass 0 while the target runs, not in the final stop. */
	size_t early_maps;
	uint64_t early_bytes, early_ns;
	size_t untracked_by_reason[LG_TRACK_REG_NONE + 1];
	/* Writable shared memory: mappings tracked, and those copied in the
	 * final stop for a reason of enum lg_precopy_shm (lg_precopy_shm_name). */
	size_t shm_tracked_maps;
	size_t shm_untracked[LG_PRECOPY_SHM_N];
	uint64_t setup_ns;		/* the set-up stop */
	size_t npasses;
	/* Passes added because a look before the final stop (soft-dirty)
	 * found much more dirty than the last pass had. */
	size_t late_passes;
	struct lg_precopy_pass pass[LG_PRECOPY_MAX_PASSES + 1];	/* pass 0: populated pages */
	/* The final stop, broken down. */
	uint64_t final_ns, final_regs_ns, final_maps_ns, final_collect_ns, final_dirty_ns,
		final_full_ns, final_holes_ns;
	uint64_t final_dirty_pages, final_full_bytes;
	size_t final_new_maps, final_recreated_maps;
	size_t final_early_changed;	/* early mappings not the same at the final stop */
	/* Tracked shared memory at the final stop: pages with no present
	 * page table entry, read again; mappings that became open or mapped
	 * twice since the set-up stop, copied whole; the open-file check. */
	uint64_t final_absent_pages, final_absent_ns;
	uint64_t pass_absent_pages;	/* the same, read again in the passes */
	size_t final_shm_lost;
	size_t final_no_smaps;		/* final mappings planned from maps alone */
	uint64_t final_files_ns;
	uint64_t teardown_ns;
	struct lg_track_teardown td;	/* td.thp: what soft-dirty did to huge pages */
	/* AnonHugePages of the target before the set-up stop and after the
	 * teardown, in KiB, when the kernel shows it. */
	bool anon_huge_known;
	uint64_t anon_huge_kb_before, anon_huge_kb_after;
	uint64_t stale_bytes;		/* file space of mappings gone at the final stop */
	uint64_t final_staged_bytes;	/* read in the final stop, written after it */
	uint64_t flush_ns;		/* writing them, the target running */
};

/* Dump PID into PATH with pre-copy.  Falls back to lg_dump_stop() when no
 * tracker can be used (res->kind == LG_TRACK_NONE, res->fallback says why).
 * The core is the state at the final stop.  On failure nothing is left at
 * PATH, the target runs on, and no tracking stays armed. */
int lg_dump_precopy(pid_t pid, const char *path, const struct lg_precopy_opts *o,
		    struct lg_precopy_result *res, struct lg_error *err);

/* The result as text for --verbose, or as a JSON object for --stats. */
int lg_precopy_report_text(const struct lg_precopy_result *r, struct lg_buf *out);
int lg_precopy_report_json(const struct lg_precopy_result *r, const char *mode, struct lg_buf *out);

#endif
