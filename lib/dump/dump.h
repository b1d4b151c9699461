/* Taking a dump: the plan (which mappings, which bytes, where in the file),
 * the copier (target memory into the file), the stops every mode makes,
 * and the stop-and-copy dump.  "Which pages to copy when" lives here; "how
 * the core is laid out and written" lives in elfcore/, so every mode
 * shares both halves. */
#ifndef LG_DUMP_DUMP_H
#define LG_DUMP_DUMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/progress.h"
#include "common/ranges.h"
#include "elfcore/elfcore.h"
#include "elfcore/stream.h"
#include "mem/mem.h"
#include "proc/proc.h"
#include "ptrace/ptrace.h"

struct lg_plan_entry {
	size_t map;		/* index in plan->maps */
	size_t seg;		/* index in plan->layout */
	enum lg_dump_what what;
	uint64_t dump_len;	/* bytes from the mapping's start that the core holds */
	bool never_read;	/* special PFN/IO mapping ([vvar]): zeros, as the kernel writes */
};

struct lg_plan {
	struct lg_maps maps;
	struct lg_layout layout;
	struct lg_plan_entry *e;	/* one per mapping, in address order */
	size_t n;
};

/* Decide, for every mapping in MAPS (taken over by the plan), what the core
 * holds, and give it file space.  Reads the first bytes of candidate ELF
 * header mappings through MEM. */
int lg_plan_build(struct lg_plan *p, struct lg_maps *maps, const struct lg_filter *f,
		  struct lg_mem *mem, struct lg_error *err);
/* The mappings of PID, from smaps; with HINT (smaps read earlier, the
 * target running) from the cheaper maps, the smaps fields taken from HINT
 * for every mapping still the same. */
int lg_plan_read_maps(pid_t pid, const struct lg_maps *hint, struct lg_maps *out,
		      struct lg_error *err);
/* See struct lg_maps partial_ok: about 2 ms of smaps walking. */
#define LG_PLAN_PARTIAL_KB (64u << 10)
/* The plan of PID as it is now (lg_plan_read_maps with HINT), under its
 * COREDUMP_FILTER and -a (ALL), never-written memory within ZEROS_BUDGET
 * (struct lg_filter). */
int lg_plan_target(struct lg_plan *p, pid_t pid, unsigned long coredump_filter, bool all,
		   uint64_t zeros_budget, const struct lg_maps *hint, struct lg_mem *mem,
		   struct lg_error *err);
void lg_plan_free(struct lg_plan *p);
/* The bytes of memory the core holds (holes included): the total of a
 * progress that copies every entry. */
uint64_t lg_plan_bytes(const struct lg_plan *p);

struct lg_staged {
	uint64_t off;		/* in the core file */
	uint64_t len;
};

struct lg_copier {
	struct lg_mem mem;
	struct lg_pagemap pagemap;
	struct lg_core_file *file;
	struct lg_stream *stream;	/* instead of FILE: copies in offset order */
	uint8_t *buf;
	size_t bufsize;
	struct lg_ranges scratch;
	uint64_t bytes_read;
	size_t unreadable_maps;	/* mappings with pages that read as zeros */
	/* Staging (pre-copy's final stop): copies are read into STAGE and
	 * written to the file only by lg_copy_flush(), once the target runs
	 * again.  A scattered 4 KiB write into the page cache costs 15-35 us
	 * on ext4 here, a batched process_vm_readv of the page 1.5 us. */
	bool staging;
	uint8_t *stage;
	size_t stage_size, stage_used;
	struct lg_staged *staged;
	size_t nstaged, staged_cap;
	size_t nflushed, stage_flushed;	/* into a stream, so far */
	uint64_t bytes_staged;
	/* A stop's bound: copying fails with -ETIME once the target has
	 * been stopped since STOP_SINCE_NS for longer than STOP_LIMIT_NS (0:
	 * no bound).  Every copy also fails with -EINTR on a termination
	 * request (lib/common/cancel.h): staged copies write nothing. */
	uint64_t stop_since_ns, stop_limit_ns;
	/* Told of every batch copied and every entry done (NULL: nobody). */
	struct lg_progress *progress;
};

int lg_copier_init(struct lg_copier *c, pid_t pid, struct lg_core_file *file,
		   struct lg_error *err);
/* A copier that writes to a stream: every copy must land past the last
 * one (lg_stream_put).  Staged copies wait for lg_copy_flush_upto(); one
 * that does not fit the staging area fails with -ENOBUFS rather than
 * write ahead of them. */
int lg_copier_init_stream(struct lg_copier *c, pid_t pid, struct lg_stream *s,
			  struct lg_error *err);
void lg_copier_free(struct lg_copier *c);
/* Copy these ranges of entry E (inside its dumped part) to their place in
 * the file.  OVERWRITE when they may have been copied before. */
int lg_copy_ranges(struct lg_copier *c, const struct lg_plan *p, size_t e,
		   const struct lg_range *r, size_t n, bool overwrite, struct lg_error *err);
/* Copy all that the core holds of entry E: only the populated pages of
 * private anonymous memory, everything of the rest. */
int lg_copy_entry(struct lg_copier *c, const struct lg_plan *p, size_t e, struct lg_error *err);
/* Give the copier a staging area of SIZE bytes, faulted in now (not in the
 * stop that will use it). */
int lg_copy_stage_init(struct lg_copier *c, size_t size, struct lg_error *err);
/* Write what was staged (copies beyond the area went straight to the file). */
int lg_copy_flush(struct lg_copier *c, struct lg_error *err);
/* Into a stream: write the staged copies that start before file offset
 * END, in the order they were staged (which must be the file's), and keep
 * the rest for a later call. */
int lg_copy_flush_upto(struct lg_copier *c, uint64_t end, struct lg_error *err);

/* Every thread of the target held in a ptrace stop, and since when. */
struct lg_dump_hold {
	struct lg_tgroup g;
	uint64_t since_ns;	/* lg_now_ns() once every thread had stopped */
	bool held;		/* stopped and not yet released */
};

/* Stop every thread of PID (ptrace OPTIONS) into H. */
int lg_dump_hold(struct lg_dump_hold *h, pid_t pid, unsigned long options, struct lg_error *err);
/* The set-up stop of every mode: hold PID (lg_dump_hold), then plan the
 * core from its mappings (lg_plan_target with HINT, ALL, ZEROS_BUDGET).  The coredump_filter
 * comes from PI, read before the stop, or with PI NULL is read inside it.
 * On failure the target may still be held: lg_dump_release(). */
int lg_dump_setup_stop(struct lg_dump_hold *h, pid_t pid, unsigned long options,
		       const struct lg_procinfo *pi, const struct lg_maps *hint, bool all,
		       uint64_t zeros_budget, struct lg_mem *mem, struct lg_plan *p,
		       struct lg_error *err);
/* The registers of every held thread, and in *TIP (one per thread, to
 * free) its times and signal masks; a thread gone meanwhile keeps zeros. */
int lg_dump_capture_threads(pid_t pid, struct lg_dump_hold *h, struct lg_threadinfo **tip,
			    struct lg_error *err);
/* Let the target run again, if H holds it, and set *PAUSE_NS to how long
 * it was stopped.  H keeps the threads (their registers) for the notes. */
int lg_dump_release(struct lg_dump_hold *h, uint64_t *pause_ns, struct lg_error *err);

struct lg_dump_opts {
	bool all;		/* -a */
	struct lg_progress *progress;	/* kept up to date, or NULL */
};

struct lg_dump_result {
	size_t threads;
	size_t segments;
	uint64_t bytes_read;		/* memory copied from the target */
	uint64_t bytes_written;		/* data written (holes excluded) */
	uint64_t unreadable;		/* bytes that read as zeros */
	size_t unreadable_maps;
	uint64_t pause_ns;		/* how long the target was stopped */
	uint64_t total_ns;
};

/* Stop every thread, copy, resume, write PATH.  On failure nothing (not even
 * a stale file from an earlier run) is left at PATH and the process runs on
 * as it was. */
int lg_dump_stop(pid_t pid, const char *path, const struct lg_dump_opts *o,
		 struct lg_dump_result *res, struct lg_error *err);
/* The same into FD, which need not seek (a pipe): the core in the kernel's
 * order (lib/elfcore/stream.h), the process stopped until the last byte
 * is written, as corepipe does.  On failure the reader has a truncated
 * core, and the process runs on as it was. */
int lg_dump_stop_stream(pid_t pid, int fd, const struct lg_dump_opts *o,
			struct lg_dump_result *res, struct lg_error *err);


#endif
