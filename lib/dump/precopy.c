/* Pre-copy: copy memory while the target runs, then stop it only to copy
 * what changed.
 *
 *   set-up stop   seize every thread, plan the core from /proc/PID/smaps,
 *                 open a tracker (for uffd: inject userfaultfd(2)) and
 *                 register each private mapping; resume.     (~1 ms)
 *   pass 0        copy the mappings this process cannot write (no
 *                 VM_MAYWRITE) whole; arm and list the populated pages
 *                 of the tracked ones, copy them to their final place in
 *                 the core file.                              (target runs)
 *   passes 1..N   collect and re-arm written pages, copy them again, until
 *                 the predicted final copy fits --pause-target or the dirty
 *                 set stops shrinking.                         (target runs)
 *   final stop    seize; registers; /proc/PID/maps compared with the plan;
 *                 copy the pages written since the last pass, and in full
 *                 what is new, changed, shared or untracked (but not the
 *                 unwritable mappings pass 0 copied, if unchanged); punch the
 *                 pages that are gone (MADV_DONTNEED, dropped huge pages:
 *                 not reported as written on 6.18); resume.
 *   teardown      unprotect in chunks, unregister, close; give back file
 *                 space no mapping uses any more.             (target runs)
 *   finish        notes and headers at the end of the file; link it.
 *
 * Memory goes straight to its place in the file: a mapping unchanged at
 * the final stop keeps the file space it was given at the set-up stop,
 * anything new gets space after it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "arch/arch.h"
#include "dump/precopy.h"

struct pc_state {
	pid_t pid;
	const struct lg_precopy_opts *o;
	struct lg_precopy_result *res;
	struct lg_core_file file;
	struct lg_copier c;
	struct lg_plan setup_plan;	/* made in the set-up stop */
	struct lg_plan final_plan;	/* made in the final stop */
	bool *tracked, *recreated;	/* per entry of setup_plan */
	bool *early;			/* per entry of setup_plan: unwritable, copied in pass 0 */
	bool *shm;			/* per entry of setup_plan: tracked shared memory */
	bool have_shm_dev;
	dev_t shm_dev;			/* the kernel's internal shmem mount */
	struct lg_fileids files;	/* the target's open files */
	struct lg_range *tr;		/* tracked ranges of setup_plan, address order */
	size_t *tr_ent, ntr;		/* tr[k] is entry tr_ent[k] */
	bool *tr_rec;			/* tr[k]'s mapping was recreated (collect) */
	struct lg_tracker *t;
	struct lg_ranges w;		/* written pages */
	struct lg_ranges clip;
	struct lg_ranges gaps;		/* holes of the final plan's private anonymous memory */
	size_t *src;			/* per entry of final_plan: entry of setup_plan whose
				 * file space it uses, or NO_SRC */
	bool *full;			/* per entry of final_plan: copy it whole in the final stop */
	bool *early_kept;		/* per entry of setup_plan: early, and its pass-0 copy stands */
	struct lg_maps fresh;		/* smaps just before the final stop, if anything is early */
	/* The final stop: the threads and what the notes say of them. */
	struct lg_dump_hold h;
	struct lg_procinfo pi;
	struct lg_threadinfo *ti;
};

/* Not an error: no tracker can follow this target, so the dump is taken
 * in stop mode (res->fallback says why). */
#define PC_STOP_MODE 1

#define NO_SRC ((size_t)-1)

/* Copy the part of the sorted list SRC that falls in [start, end) as
 * entry EI of plan P.  *CUR walks SRC across calls with increasing START. */
static int copy_clipped(struct pc_state *s, const struct lg_plan *p, size_t ei, uint64_t start,
			uint64_t end, const struct lg_ranges *src, size_t *cur, bool overwrite,
			struct lg_error *err)
{
	size_t i;

	lg_ranges_clear(&s->clip);
	while (*cur < src->n && src->v[*cur].end <= start)
		(*cur)++;
	for (i = *cur; i < src->n && src->v[i].start < end; i++) {
		uint64_t a = src->v[i].start > start ? src->v[i].start : start;
		uint64_t z = src->v[i].end < end ? src->v[i].end : end;
		if (lg_ranges_add(&s->clip, a, z))
			return lg_fail(err, ENOMEM, "page list");
	}
	if (!s->clip.n)
		return 0;
	return lg_copy_ranges(&s->c, p, ei, s->clip.v, s->clip.n, overwrite, err);
}

/* Copy the written list W to the entries of the set-up plan it belongs to. */
static int copy_written_setup(struct pc_state *s, bool overwrite, struct lg_error *err)
{
	size_t k, cur = 0;
	int r;

	for (k = 0; k < s->ntr; k++) {
		size_t ei = s->tr_ent[k];
		if (s->recreated[ei])
			continue;
		if ((r = copy_clipped(s, &s->setup_plan, ei, s->tr[k].start, s->tr[k].end, &s->w, &cur,
				      overwrite, err)))
			return r;
	}
	return 0;
}

/* Tracked shared memory discarded since it was copied (no present entry:
 * MADV_DONTNEED, MADV_REMOVE) is read again in the final stop; read it in
 * each pass too, which faults it back in unprotected, so that the next
 * pass reports it written like any other page: the final stop is left
 * only what was discarded during the last pass (on 6.18 an absent page
 * read there cost 48 us, faulted in with the target stopped). */
static int copy_absent_setup(struct pc_state *s, struct lg_error *err)
{
	size_t k;
	int r;

	for (k = 0; k < s->ntr; k++) {
		size_t ei = s->tr_ent[k];
		uint64_t start = s->tr[k].start;
		if (!s->shm[ei] || s->recreated[ei])
			continue;
		lg_ranges_clear(&s->clip);
		if ((r = lg_pagemap_absent(&s->c.pagemap, start, start + s->setup_plan.e[ei].dump_len,
					   &s->clip, err)))
			return r;
		s->res->pass_absent_pages += lg_ranges_bytes(&s->clip) / LG_PAGE_SIZE;
		if (s->clip.n && (r = lg_copy_ranges(&s->c, &s->setup_plan, ei, s->clip.v, s->clip.n,
						     true, err)))
			return r;
	}
	return 0;
}

static int collect(struct pc_state *s, bool rearm, struct lg_error *err)
{
	size_t k;
	int r;

	lg_ranges_clear(&s->w);
	if (lg_tracker_kind(s->t) == LG_TRACK_SOFTDIRTY) {
		/* Read all, then clear once: clear_refs is process-wide. */
		if ((r = lg_tracker_collect(s->t, s->tr, s->ntr, rearm, &s->w, s->tr_rec, err)))
			return r;
	} else {
		for (k = 0; k < s->ntr; k++) {
			if (s->recreated[s->tr_ent[k]])
				continue;
			s->tr_rec[k] = false;
			if ((r = lg_tracker_collect(s->t, &s->tr[k], 1, rearm, &s->w, &s->tr_rec[k],
						    err)))
				return r;
		}
	}
	for (k = 0; k < s->ntr; k++)
		if (s->tr_rec[k] && !s->recreated[s->tr_ent[k]]) {
			s->recreated[s->tr_ent[k]] = true;
			s->res->final_recreated_maps++;
		}
	return 0;
}

/* Which mappings a tracker may follow: those whose bytes are in the core
 * and only this process writes.  Shared memory is written by others
 * unseen, [vdso]/[vvar] are refused anyway: all of those are copied in the
 * final stop. */
static bool trackable(const struct lg_plan *p, size_t i)
{
	const struct lg_mapping *m = &p->maps.v[p->e[i].map];
	return p->e[i].dump_len && !p->e[i].never_read && !m->shared && !lg_mapping_is_special(m);
}

/* Which untracked mappings may be copied while the target runs, once, in
 * pass 0: those this process cannot write.  Without VM_MAYWRITE (smaps
 * "mw", in VmFlags since Linux 3.8) no write reaches the pages through
 * this mapping: a write faults with SIGSEGV, mprotect(PROT_WRITE) fails
 * with EACCES, and FOLL_FORCE writes (ptrace, /proc/PID/mem) need it too.
 * do_mmap() leaves it out of every MAP_SHARED mapping of a file opened
 * read-only (a JVM's lib/modules, read-only databases), and a memfd sealed
 * with F_SEAL_WRITE or F_SEAL_FUTURE_WRITE is mapped without it (checked
 * on 6.18).  The bytes may still change by write(2) to the file, or
 * through another process's (or another) mapping: the core then holds
 * what the file held at pass 0, as documented in lgcore(1). */
static bool unwritable(const struct lg_mapping *m)
{
	/* "mr" (VM_MAYREAD, on every readable mapping) shows that VmFlags
	 * was read: without that line no "mw" would prove nothing. */
	return m->has_smaps && (m->vmflags & LG_VM_MR) && !(m->vmflags & LG_VM_MW);
}

/* Writable shared memory can be tracked too (uffd-wp covers shmem since
 * Linux 5.19; asynchronous, with PAGEMAP_SCAN, since 6.7), but page
 * tables see only writes through this mapping.  Checked on 6.18:
 *  - a write through another mapping of the same object, in this process
 *    or another, leaves this mapping's entries protected: unseen;
 *  - write(2), fallocate(2) and ftruncate(2) on a descriptor change the
 *    page cache without touching any page table: unseen (they update the
 *    file's ctime, but so does every write fault on a protected shared
 *    page, so ctime cannot tell them apart);
 *  - MADV_DONTNEED and MADV_REMOVE zap the entry, leaving a PTE marker
 *    that PAGEMAP_SCAN reports swapped and not written: the page is absent
 *    then, and read again in the final stop (lg_pagemap_absent());
 *  - a page not populated in this mapping is reported written once it
 *    is faulted in (the new entry carries no protection).
 * So only objects of the kernel's internal shmem mount are tracked
 * (MAP_SHARED|MAP_ANONYMOUS, memfd, SysV shm: no path reaches them), and
 * only where this process holds no descriptor of the object and maps no
 * part of it twice, at the set-up stop and again in the final stop (one
 * that comes and goes in between is not seen: opened from
 * /proc/self/map_files or received and closed, mremap(2) of size 0 or
 * shmat(2) and unmapped; lgcore(1) says so).  What
 * other processes write to it is not synchronised with the core, as with
 * gcore or the kernel's own dump. */
static bool shm_candidate(const struct lg_plan *p, size_t i)
{
	const struct lg_mapping *m = &p->maps.v[p->e[i].map];
	return p->e[i].dump_len && !p->e[i].never_read && m->shared && !lg_mapping_is_special(m) &&
	       m->has_smaps && (m->vmflags & LG_VM_MW);
}

/* Whether another mapping of MAPS maps a byte of the object M maps. */
static bool aliased(const struct lg_maps *maps, const struct lg_mapping *m)
{
	uint64_t off = m->offset, end = m->offset + (m->end - m->start);
	size_t j;

	for (j = 0; j < maps->n; j++) {
		const struct lg_mapping *o = &maps->v[j];
		if (o == m || !o->shared || o->inode != m->inode || o->dev_major != m->dev_major ||
		    o->dev_minor != m->dev_minor)
			continue;
		if (o->offset < end && off < o->offset + (o->end - o->start))
			return true;
	}
	return false;
}

/* Why the shared mapping M may not be tracked (-1: it may). */
static int shm_why(const struct pc_state *s, const struct lg_maps *maps, const struct lg_mapping *m)
{
	if (!s->have_shm_dev || makedev(m->dev_major, m->dev_minor) != s->shm_dev || !m->deleted)
		return LG_PRECOPY_SHM_FILE;
	if (lg_fileids_has(&s->files, m->dev_major, m->dev_minor, m->inode))
		return LG_PRECOPY_SHM_OPEN;
	if (aliased(maps, m))
		return LG_PRECOPY_SHM_ALIAS;
	return -1;
}

/* The device of the kernel's internal shmem mount, from a memfd of our own. */
static void find_shm_dev(struct pc_state *s)
{
	struct stat st;
	int fd = memfd_create("lgcore-probe", MFD_CLOEXEC);

	if (fd < 0)
		return;
	if (!fstat(fd, &st)) {
		s->shm_dev = st.st_dev;
		s->have_shm_dev = true;
	}
	close(fd);
}

static bool early_copyable(const struct lg_plan *p, size_t i)
{
	const struct lg_mapping *m = &p->maps.v[p->e[i].map];
	return p->e[i].dump_len && !p->e[i].never_read && !lg_mapping_is_special(m) &&
	       !lg_mapping_is_private_anon(m) && unwritable(m);
}

/* The set-up stop: plan the core, open the tracker KIND and register every
 * mapping it can follow. */
static int setup_stop(struct pc_state *s, enum lg_track_kind kind,
		      const struct lg_track_probe *probe, struct lg_error *err)
{
	struct lg_dump_hold h = { 0 };
	struct lg_maps hint = { 0 };
	size_t i;
	int r;

	/* smaps while the target runs; inside the stop only maps. */
	if ((r = lg_maps_read(s->pid, true, &hint, err)))
		return r;
	/* A mapping changed since is planned from maps alone: not tracked
	 * if shared, not copied early; the final stop copies it. */
	hint.partial_ok = true;
	/* Watched from before the stop: a lgcore stopped in it is killed,
	 * which releases the target (the keeper, lib/elfcore/file.c). */
	lg_core_file_watch_stop(&s->file, s->o->max_pause_ns);
	lg_progress_begin(s->o->progress, LG_PHASE_SETUP, -1, 0);
	r = lg_dump_setup_stop(&h, s->pid, PTRACE_O_TRACESYSGOOD, NULL, &hint, s->o->all, 0,
			       &s->c.mem, &s->setup_plan, err);
	if (h.held)
		lg_progress_stopped(s->o->progress, h.since_ns, true);
	lg_maps_free(&hint);
	if (r)
		goto out;
	s->tracked = calloc(s->setup_plan.n + 1, sizeof(bool));
	s->recreated = calloc(s->setup_plan.n + 1, sizeof(bool));
	s->tr = calloc(s->setup_plan.n + 1, sizeof(*s->tr));
	s->tr_ent = calloc(s->setup_plan.n + 1, sizeof(size_t));
	s->tr_rec = calloc(s->setup_plan.n + 1, sizeof(bool));
	s->early = calloc(s->setup_plan.n + 1, sizeof(bool));
	s->shm = calloc(s->setup_plan.n + 1, sizeof(bool));
	if (!s->tracked || !s->recreated || !s->tr || !s->tr_ent || !s->tr_rec || !s->early ||
	    !s->shm) {
		r = lg_fail(err, ENOMEM, "planning");
		goto out;
	}
	if ((r = lg_tracker_open(kind, probe, &h.g, &s->t, err)))
		goto out;
	{
		/* Soft-dirty splits huge pages in the stops of the passes:
		 * for as long as the final stop may take. */
		struct lg_track_opts to = LG_TRACK_OPTS_DEFAULT;
		to.thp_split = !s->o->no_thp_split;
		to.thp_split_budget_ns = s->o->pause_target_ns;
		lg_tracker_set_opts(s->t, &to);
	}
	for (i = 0; i < s->setup_plan.n; i++) {
		const struct lg_mapping *m = &s->setup_plan.maps.v[s->setup_plan.e[i].map];
		enum lg_track_reg res = LG_TRACK_REG_NONE;
		int why = -1;
		bool shm = false;
		if (!s->setup_plan.e[i].dump_len)
			continue;
		if (shm_candidate(&s->setup_plan, i)) {
			shm = true;
			why = lg_tracker_kind(s->t) != LG_TRACK_UFFD ? LG_PRECOPY_SHM_TRACKER
								     : shm_why(s, &s->setup_plan.maps, m);
		}
		if ((trackable(&s->setup_plan, i) || (shm && why < 0)) &&
		    (r = lg_tracker_register(s->t, m->start, m->end, &res, err)))
			goto out;
		if (res == LG_TRACK_REG_OK) {
			s->tracked[i] = true;
			if (shm) {
				s->shm[i] = true;
				s->res->shm_tracked_maps++;
			}
			s->tr[s->ntr].start = m->start;
			s->tr[s->ntr].end = m->end;
			s->tr_ent[s->ntr++] = i;
			s->res->tracked_maps++;
		} else if (early_copyable(&s->setup_plan, i)) {
			s->early[i] = true;
			s->res->early_maps++;
		} else {
			s->res->untracked_maps++;
			if (why >= 0)
				s->res->shm_untracked[why]++;
			else
				s->res->untracked_by_reason[res]++;
		}
	}
out:
	lg_dump_release(&h, &s->res->setup_ns, NULL);
	lg_progress_resumed(s->o->progress, s->res->setup_ns);
	lg_core_file_watch_stop(&s->file, 0);
	lg_tgroup_free(&h.g);
	if (r && s->t) {
		lg_tracker_close(s->t, NULL, NULL);
		s->t = NULL;
	}
	return r;
}

/* What a set-up stop left: the plan and the tracked list. */
static void free_setup(struct pc_state *s)
{
	lg_plan_free(&s->setup_plan);
	free(s->tracked);
	free(s->recreated);
	free(s->tr);
	free(s->tr_ent);
	free(s->tr_rec);
	free(s->early);
	free(s->shm);
	s->tracked = s->recreated = s->tr_rec = s->early = s->shm = NULL;
	s->tr = NULL;
	s->tr_ent = NULL;
	s->ntr = 0;
}

/* The set-up stop with the best tracker that works here: uffd, then
 * soft-dirty; PC_STOP_MODE when none does and none was asked for. */
static int set_up(struct pc_state *s, const char *path, struct lg_error *err)
{
	const struct lg_precopy_opts *o = s->o;
	struct lg_precopy_result *res = s->res;
	struct lg_track_probe probe;
	enum lg_track_kind kind;
	int r;

	lg_track_probe(&probe);
	kind = o->force_kind ? o->kind : lg_track_best(&probe);
	/* The target's huge pages, before and after (a tracker may split
	 * them): the process running, as smaps_rollup walks its page tables. */
	res->anon_huge_known = !lg_proc_anon_huge_kb(s->pid, &res->anon_huge_kb_before);
	if (!o->force_kind && kind != LG_TRACK_UFFD)
		snprintf(res->fallback, sizeof(res->fallback), "uffd: %s", probe.uffd_why);
	if (kind == LG_TRACK_NONE)
		return PC_STOP_MODE;

	if ((r = lg_core_file_create(&s->file, path, err)))
		return r;
	/* Every pass rewrites pages pass 0 wrote: keep the page cache in
	 * small folios (see max_write). */
	s->file.max_write = LG_PRECOPY_WRITE;
	if ((r = lg_copier_init(&s->c, s->pid, &s->file, err)))
		return r;
	/* Read while the target runs: a descriptor opened after this and
	 * still open in the final stop is seen there; one opened and closed
	 * in between needs one to copy (or /proc/PID/map_files, privileged),
	 * since no path leads to these objects. */
	find_shm_dev(s);
	if (s->have_shm_dev && (r = lg_proc_open_files(s->pid, &s->files, err)))
		return r == -ENOENT ? lg_failx(err, ESRCH, "the process exited during the dump") : r;
	s->c.progress = o->progress;

	r = setup_stop(s, kind, &probe, err);
	if (r == -ESRCH)
		return r;
	if (r && kind == LG_TRACK_UFFD && !o->force_kind && probe.soft_dirty) {
		snprintf(res->fallback, sizeof(res->fallback), "uffd: %s", err->msg);
		free_setup(s);
		res->tracked_maps = res->untracked_maps = res->early_maps = 0;
		res->shm_tracked_maps = 0;
		memset(res->untracked_by_reason, 0, sizeof(res->untracked_by_reason));
		memset(res->shm_untracked, 0, sizeof(res->shm_untracked));
		kind = LG_TRACK_SOFTDIRTY;
		r = setup_stop(s, kind, &probe, err);
	}
	if (r && !o->force_kind) {
		/* No tracker for this target (seccomp, not allowed ...):
		 * stop-and-copy, with the reason said. */
		snprintf(res->fallback, sizeof(res->fallback), "%s", err->msg);
		return PC_STOP_MODE;
	}
	if (r)
		return r;
	res->kind = kind;
	return 0;
}

/* Before pass 0 proper: the mappings this process cannot write, whole.
 * First, so that the tracked mappings are not armed while this runs: a
 * JVM's 123 MiB lib/modules would otherwise give pass 1 all the pages
 * written meanwhile.  Timed apart: pass 0's time per page predicts the
 * final copy. */
static int copy_early(struct pc_state *s, struct lg_error *err)
{
	uint64_t t0 = lg_now_ns(), before = s->c.bytes_read;
	size_t i;
	int r;

	for (i = 0; i < s->setup_plan.n; i++)
		if (s->early[i] && (r = lg_copy_entry(&s->c, &s->setup_plan, i, err)))
			return r;
	s->res->early_bytes = s->c.bytes_read - before;
	s->res->early_ns = lg_now_ns() - t0;
	return 0;
}

/* Pass 0: arm and copy every populated page of the tracked mappings. */
static int pass0(struct pc_state *s, struct lg_error *err)
{
	struct lg_progress *pg = s->o->progress;
	uint64_t t0, total = 0;
	size_t k;
	int r;

	for (k = 0; k < s->setup_plan.n; k++)
		if (s->early[k] || s->tracked[k])
			total += s->setup_plan.e[k].dump_len;
	lg_progress_begin(pg, LG_PHASE_PRECOPY, 0, total);
	if ((r = copy_early(s, err)))
		return r;
	t0 = lg_now_ns();
	for (k = 0; k < s->ntr; k++) {
		size_t ei = s->tr_ent[k];
		const struct lg_mapping *m = &s->setup_plan.maps.v[s->setup_plan.e[ei].map];
		lg_ranges_clear(&s->w);
		/* Soft-dirty arms by clearing the whole process: once,
		 * before the first listing; the other mappings are listed. */
		if (lg_tracker_kind(s->t) == LG_TRACK_SOFTDIRTY && k > 0) {
			if ((r = lg_tracker_populated(s->t, s->tr[k].start, s->tr[k].end, &s->w, err)))
				return r;
		} else if ((r = lg_tracker_arm(s->t, &s->tr[k], 1, &s->w, &s->tr_rec[k], err))) {
			return r;
		}
		if (s->tr_rec[k]) {
			/* Unmapped or replaced since the set-up stop: whatever
			 * is there now is copied in the final stop. */
			s->recreated[ei] = true;
			s->res->final_recreated_maps++;
			if (pg)
				pg->total -= s->setup_plan.e[ei].dump_len;
			continue;
		}
		if (lg_mapping_is_private_anon(m)) {
			uint64_t base = pg ? pg->done : 0;
			r = lg_copy_ranges(&s->c, &s->setup_plan, ei, s->w.v, s->w.n, false, err);
			s->res->pass[0].pages += lg_ranges_bytes(&s->w) / LG_PAGE_SIZE;
			/* The pages never touched are done too. */
			if (!r)
				lg_progress_done(pg, base + s->setup_plan.e[ei].dump_len);
		} else {
			/* File-backed: an absent page still has the file's
			 * bytes.  Pages written later are COW'd, hence
			 * present and reported. */
			r = lg_copy_entry(&s->c, &s->setup_plan, ei, err);
			s->res->pass[0].pages += s->setup_plan.e[ei].dump_len / LG_PAGE_SIZE;
		}
		if (r)
			return r;
	}
	s->res->pass[0].ns = lg_now_ns() - t0;
	s->res->npasses = 1;
	lg_progress_end(pg);
	return 0;
}

/* The final stop's copy predicted at pass 0's speed, per page: a guess
 * when pass 0 copied nothing, and never less than a floor. */
#define NS_PER_PAGE_GUESS 2000.0
#define NS_PER_PAGE_MIN 100.0
/* A pass that finds this share of the previous one's pages or more: the
 * dirty set has stopped shrinking, more passes only cost time. */
#define STALLED_PERCENT 90

/* Passes 1..N: collect and re-arm what was written, copy it again, until
 * the predicted final copy fits the pause target or stops shrinking. */
static int passes(struct pc_state *s, struct lg_error *err)
{
	const struct lg_precopy_pass *p0 = &s->res->pass[0];
	double ns_per_page = p0->pages ? (double)p0->ns / (double)p0->pages : NS_PER_PAGE_GUESS;
	uint64_t prev = UINT64_MAX;
	int max = s->o->max_passes, k;
	int r;

	if (max > LG_PRECOPY_MAX_PASSES)
		max = LG_PRECOPY_MAX_PASSES;
	if (ns_per_page < NS_PER_PAGE_MIN)
		ns_per_page = NS_PER_PAGE_MIN;
	for (k = 1; k <= max; k++) {
		uint64_t t0 = lg_now_ns(), pages, stop_ns, split = lg_tracker_thp(s->t)->split;
		struct lg_dump_hold h = { 0 };

		lg_core_file_watch_stop(&s->file, s->o->max_pause_ns);
		/* PTRACE_O_TRACESYSGOOD: soft-dirty may inject madvise(2) in
		 * this stop to split huge pages (without CAP_SYS_NICE). */
		if (lg_tracker_rearm_needs_stop(s->t) &&
		    (r = lg_dump_hold(&h, s->pid, PTRACE_O_TRACESYSGOOD, err))) {
			lg_core_file_watch_stop(&s->file, 0);
			return r;
		}
		if (h.held)
			lg_progress_stopped(s->o->progress, h.since_ns, true);
		lg_tracker_set_stop(s->t, h.held ? &h.g : NULL);
		r = collect(s, true, err);
		lg_tracker_set_stop(s->t, NULL);
		lg_dump_release(&h, &stop_ns, NULL);
		lg_progress_resumed(s->o->progress, stop_ns);
		lg_core_file_watch_stop(&s->file, 0);
		lg_tgroup_free(&h.g);
		if (r)
			return r;
		pages = lg_ranges_bytes(&s->w) / LG_PAGE_SIZE;
		lg_progress_begin(s->o->progress, LG_PHASE_PRECOPY, k, pages * LG_PAGE_SIZE);
		if ((r = copy_written_setup(s, true, err)) || (r = copy_absent_setup(s, err)))
			return r;
		/* Pages of mappings replaced since are left to the final
		 * stop, which copies those whole: this pass is done. */
		lg_progress_done(s->o->progress, pages * LG_PAGE_SIZE);
		lg_progress_end(s->o->progress);
		s->res->pass[k].pages = pages;
		s->res->pass[k].ns = lg_now_ns() - t0;
		s->res->npasses = (size_t)k + 1;
		/* The final stop will copy about what this pass found (the
		 * writes of a pass as long as this one). */
		if ((double)pages * ns_per_page <= (double)s->o->pause_target_ns) {
			uint64_t now;
			/* Soft-dirty: look once more, the target running
			 * (reading needs no stop), and pass again if much more
			 * is dirty already: khugepaged collapses the huge pages
			 * split here again within seconds (6.1, 6.12: its
			 * defaults, 4096 pages every 10 s), and a collapse
			 * marks all 512 pages dirty.  Seen on 6.12: a last
			 * pass of 10 pages, then a final stop of 2119. */
			if (lg_tracker_kind(s->t) != LG_TRACK_SOFTDIRTY || k == max)
				break;
			if ((r = collect(s, false, err)))
				return r;
			now = lg_ranges_bytes(&s->w) / LG_PAGE_SIZE;
			if ((double)now * ns_per_page <= (double)s->o->pause_target_ns ||
			    now <= 2 * pages)
				break;
			s->res->late_passes++;
		}
		/* From pass 2 on: pass 1 has no previous one to compare with.
		 * A pass that split huge pages has not stalled: the next one
		 * finds only the pages written in them. */
		if (k >= 2 && pages * 100 >= prev * STALLED_PERCENT &&
		    lg_tracker_thp(s->t)->split == split)
			break;
		prev = pages;
	}
	return 0;
}

static bool same_mapping(const struct lg_mapping *x, const struct lg_mapping *y)
{
	return x->inode == y->inode && x->dev_major == y->dev_major && x->dev_minor == y->dev_minor &&
	       x->shared == y->shared && !strcmp(x->name, y->name) &&
	       x->offset + (y->start - x->start) == y->offset;
}

/* M, found in the final stop, has no VM_MAYWRITE.  The uffd tracker asks
 * the kernel in the stop (lg_tracker_maywrite()).  Otherwise M must have
 * been the same mapping without it in the smaps read just before that
 * stop (s->fresh, in address order): a mapping replaced by the same file
 * at the same place and protection between that read and the stop is
 * not seen then. */
static bool still_unwritable(struct pc_state *s, const struct lg_mapping *m)
{
	const struct lg_mapping *f;
	size_t lo = 0, hi = s->fresh.n;

	if (m->has_smaps && (m->vmflags & LG_VM_MW))
		return false;
	if (lg_tracker_kind(s->t) == LG_TRACK_UFFD)
		return lg_tracker_maywrite(s->t, m->start, m->end) == 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->fresh.v[mid].start < m->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->fresh.n)
		return false;
	f = &s->fresh.v[lo];
	return f->start == m->start && f->end == m->end && f->prot == m->prot && unwritable(f) &&
	       same_mapping(f, m);
}

/* The final plan reuses the set-up plan's file space for every mapping, or
 * part of a tracked one, that is still what it was; only what is new or
 * changed gets space after the set-up plan's data.  Readers need that: libdwfl reads a module
 * across PT_LOADs adjacent in memory as if they were adjacent in the file,
 * as the kernel always lays them out, so an unchanged [vdso] moved to the
 * end of the file is lost as a module.  Untracked mappings keep their place
 * but are copied whole (FULL). */
static int replan(struct pc_state *s, struct lg_error *err)
{
	size_t i, j = 0;

	s->src = calloc(s->final_plan.n + 1, sizeof(size_t));
	s->full = calloc(s->final_plan.n + 1, sizeof(bool));
	s->early_kept = calloc(s->setup_plan.n + 1, sizeof(bool));
	if (!s->src || !s->full || !s->early_kept)
		return lg_fail(err, ENOMEM, "planning");
	lg_layout_place_from(&s->final_plan.layout, s->setup_plan.layout.data_end);
	for (i = 0; i < s->final_plan.n; i++) {
		const struct lg_plan_entry *eb = &s->final_plan.e[i];
		const struct lg_mapping *mb = &s->final_plan.maps.v[eb->map];
		struct lg_segment *sb = &s->final_plan.layout.seg[eb->seg];
		s->src[i] = NO_SRC;
		s->full[i] = true;
		if (!eb->dump_len)
			continue;
		while (j < s->setup_plan.n && s->setup_plan.maps.v[s->setup_plan.e[j].map].end <= mb->start)
			j++;
		if (j < s->setup_plan.n && !s->recreated[j] && s->setup_plan.e[j].what == eb->what) {
			const struct lg_plan_entry *ea = &s->setup_plan.e[j];
			const struct lg_mapping *ma = &s->setup_plan.maps.v[ea->map];
			bool same = same_mapping(ma, mb);
			/* Tracked shared memory stays tracked while the process
			 * holds no descriptor of it and maps it once. */
			bool lost = s->shm[j] && same &&
				    (lg_fileids_has(&s->files, mb->dev_major, mb->dev_minor, mb->inode) ||
				     aliased(&s->final_plan.maps, mb));
			/* A tracked mapping may have been split (mprotect):
			 * each part keeps its bytes.  An untracked one must be
			 * the same range, its bytes are copied anew anyway. */
			bool tracked_part = s->tracked[j] && !lost && (!mb->shared || s->shm[j]) &&
					    ma->start <= mb->start &&
					    mb->start + eb->dump_len <= ma->start + ea->dump_len;
			bool untracked_same = (!s->tracked[j] || lost) && ma->start == mb->start &&
					      ea->dump_len == eb->dump_len;
			if (lost)
				s->res->final_shm_lost++;
			/* Copied in pass 0 and still unwritable: its bytes are
			 * in the core. */
			bool early_same = same && untracked_same && s->early[j] &&
					  ma->prot == mb->prot && still_unwritable(s, mb);
			if (same && (tracked_part || untracked_same)) {
				s->src[i] = j;
				s->full[i] = !tracked_part && !early_same;
				if (early_same)
					s->early_kept[j] = true;
				sb->offset = s->setup_plan.layout.seg[ea->seg].offset + (mb->start - ma->start);
				continue;
			}
		}
		lg_layout_place(&s->final_plan.layout, eb->seg);
		s->res->final_new_maps++;
	}
	for (j = 0; j < s->setup_plan.n; j++)
		if (s->early[j] && !s->early_kept[j])
			s->res->final_early_changed++;
	return 0;
}

/* Pages copied earlier that are gone now (MADV_DONTNEED, a dropped huge
 * page: not reported as written on 6.18) must read as zeros.  Asking for
 * the holes, not the populated pages, keeps this cheap where most pages
 * are there.  Looked for before the collect (scan_gaps()), punched after
 * the replan (punch_gaps()): khugepaged runs while the target is stopped,
 * and a collapse between a collect and a later hole scan puts zeros in a
 * zapped page that neither reports (seen with soft-dirty on 6.1, THP
 * always); a hole found first reads as zeros either way. */
static int scan_gaps(struct pc_state *s, struct lg_error *err)
{
	size_t i;
	int r;

	lg_ranges_clear(&s->gaps);
	for (i = 0; i < s->final_plan.n; i++) {
		const struct lg_plan_entry *e = &s->final_plan.e[i];
		const struct lg_mapping *m = &s->final_plan.maps.v[e->map];
		if (!e->dump_len || !lg_mapping_is_private_anon(m))
			continue;
		if ((r = lg_pagemap_holes(&s->c.pagemap, m->start, m->start + e->dump_len, &s->gaps, err)))
			return r;
	}
	return 0;
}

static int punch_gaps(struct pc_state *s, size_t bi, size_t *cur, struct lg_error *err)
{
	const struct lg_plan_entry *e = &s->final_plan.e[bi];
	const struct lg_mapping *m = &s->final_plan.maps.v[e->map];
	uint64_t off = s->final_plan.layout.seg[e->seg].offset, end = m->start + e->dump_len;
	size_t i;
	int r;

	while (*cur < s->gaps.n && s->gaps.v[*cur].end <= m->start)
		(*cur)++;
	for (i = *cur; i < s->gaps.n && s->gaps.v[i].start < end; i++) {
		uint64_t a = s->gaps.v[i].start > m->start ? s->gaps.v[i].start : m->start;
		uint64_t z = s->gaps.v[i].end < end ? s->gaps.v[i].end : end;
		if ((r = lg_core_file_punch(&s->file, off + (a - m->start), z - a, err)))
			return r;
	}
	return 0;
}

/* The final stop: registers, the maps compared with the plan, and every
 * byte that changed since the last pass. */
static int final_stop(struct pc_state *s, struct lg_error *err)
{
	uint64_t t1;
	size_t i, cur;
	int r;

	/* Before the stop: it costs the target nothing here, and once
	 * stopped /proc shows every thread in tracing stop ('t'). */
	if ((r = lg_procinfo_read(s->pid, &s->pi, err)))
		return r == -ENOENT ? lg_failx(err, ESRCH, "the process exited during the dump") : r;
	/* The early mappings' VmFlags as they are now, not as at the set-up
	 * stop: one made writable since (mapped again from a file opened
	 * read-write) must be copied in this stop.  smaps walks the page
	 * tables: read it here, while the target runs, and only where the
	 * tracker cannot ask the kernel in the stop (not uffd): the
	 * target waits on it (1.25 GiB of shared memory, 6.18: a read took
	 * 0.14-0.22 s at load 12, and five reads made the target's largest
	 * gap 164-171 ms, 12 ms without; the same at nice 19, so not for
	 * the CPU but for its memory map).  It is the final
	 * plan's hint; without it the set-up stop's is.  In a big process a
	 * mapping changed since the hint is planned from maps alone
	 * (conservatively: dumped whole, its VmFlags unknown). */
	if (s->res->early_maps && lg_tracker_kind(s->t) != LG_TRACK_UFFD &&
	    (r = lg_maps_read(s->pid, true, &s->fresh, err)))
		return r == -ENOENT ? lg_failx(err, ESRCH, "the process exited during the dump") : r;
	s->fresh.partial_ok = true;
	s->setup_plan.maps.partial_ok = true;
	lg_core_file_watch_stop(&s->file, s->o->max_pause_ns);
	lg_progress_begin(s->o->progress, LG_PHASE_FINAL, -1, 0);
	if ((r = lg_dump_hold(&s->h, s->pid, 0, err))) {
		lg_core_file_watch_stop(&s->file, 0);
		return r;
	}
	lg_progress_stopped(s->o->progress, s->h.since_ns, true);
	s->c.stop_since_ns = s->h.since_ns;
	s->c.stop_limit_ns = s->o->max_pause_ns;
	if ((r = lg_dump_capture_threads(s->pid, &s->h, &s->ti, err)))
		goto out;
	t1 = lg_now_ns();
	s->res->final_regs_ns = t1 - s->h.since_ns;

	if ((r = lg_plan_target(&s->final_plan, s->pid, s->pi.coredump_filter, s->o->all, 0,
				s->fresh.n ? &s->fresh : &s->setup_plan.maps, &s->c.mem,
				err)))
		goto out;
	for (i = 0; i < s->final_plan.maps.n; i++)
		if (!s->final_plan.maps.v[i].has_smaps)
			s->res->final_no_smaps++;
	if (s->res->shm_tracked_maps) {
		/* In the stop: a descriptor open now may have been written
		 * through since the set-up stop. */
		uint64_t f0 = lg_now_ns();
		if ((r = lg_proc_open_files(s->pid, &s->files, err)))
			goto out;
		s->res->final_files_ns = lg_now_ns() - f0;
	}
	t1 = lg_now_ns();
	if ((r = scan_gaps(s, err)))
		goto out;
	s->res->final_holes_ns = lg_now_ns() - t1;
	if ((r = collect(s, false, err)))
		goto out;
	if ((r = replan(s, err)))
		goto out;
	s->res->final_maps_ns = lg_now_ns() - t1;
	t1 = lg_now_ns();

	/* Pages written since the last pass, where their mapping still is. */
	s->res->final_dirty_pages = lg_ranges_bytes(&s->w) / LG_PAGE_SIZE;
	for (i = 0, cur = 0; i < s->final_plan.n; i++) {
		const struct lg_mapping *m = &s->final_plan.maps.v[s->final_plan.e[i].map];
		if (s->full[i])
			continue;
		if ((r = copy_clipped(s, &s->final_plan, i, m->start, m->start + s->final_plan.e[i].dump_len, &s->w,
				      &cur, true, err)))
			goto out;
	}
	s->res->final_dirty_ns = lg_now_ns() - t1;
	t1 = lg_now_ns();

	/* New, changed, shared and untracked mappings, in full; not the
	 * early ones still unwritable. */
	for (i = 0; i < s->final_plan.n; i++) {
		uint64_t before = s->c.bytes_read;
		if (!s->full[i] || !s->final_plan.e[i].dump_len)
			continue;
		if ((r = lg_copy_entry(&s->c, &s->final_plan, i, err)))
			goto out;
		s->res->final_full_bytes += s->c.bytes_read - before;
	}
	s->res->final_full_ns = lg_now_ns() - t1;
	t1 = lg_now_ns();

	/* Tracked shared memory: a page without a present entry now may
	 * have been punched (MADV_REMOVE: zeros) since it was copied, with
	 * nothing reported written; read those again. */
	for (i = 0; i < s->final_plan.n; i++) {
		const struct lg_plan_entry *e = &s->final_plan.e[i];
		const struct lg_mapping *m = &s->final_plan.maps.v[e->map];
		if (s->full[i] || s->src[i] == NO_SRC || !s->shm[s->src[i]])
			continue;
		lg_ranges_clear(&s->clip);
		if ((r = lg_pagemap_absent(&s->c.pagemap, m->start, m->start + e->dump_len, &s->clip,
					   err)))
			goto out;
		s->res->final_absent_pages += lg_ranges_bytes(&s->clip) / LG_PAGE_SIZE;
		if (s->clip.n && (r = lg_copy_ranges(&s->c, &s->final_plan, i, s->clip.v, s->clip.n,
						     true, err)))
			goto out;
	}
	s->res->final_absent_ns = lg_now_ns() - t1;
	t1 = lg_now_ns();

	/* Copied pages that are gone now read as zeros. */
	for (i = 0, cur = 0; i < s->final_plan.n; i++)
		if (!s->full[i] && lg_mapping_is_private_anon(&s->final_plan.maps.v[s->final_plan.e[i].map]) &&
		    (r = punch_gaps(s, i, &cur, err)))
			goto out;
	s->res->final_holes_ns += lg_now_ns() - t1;
out:
	s->c.stop_limit_ns = 0;
	lg_dump_release(&s->h, &s->res->final_ns, NULL);
	lg_progress_resumed(s->o->progress, s->res->final_ns);
	lg_core_file_watch_stop(&s->file, 0);
	return r;
}

/* The final stop reading into a staging area, and the staged copies
 * written once the target runs again. */
static int final(struct pc_state *s, struct lg_error *err)
{
	uint64_t t0;
	int r;

	/* Faulted in now, not inside the stop that fills it. */
	if ((r = lg_copy_stage_init(&s->c, LG_PRECOPY_STAGE, err)))
		return r;
	s->c.staging = true;
	r = final_stop(s, err);
	s->c.staging = false;
	if (r)
		return r;
	t0 = lg_now_ns();
	s->res->final_staged_bytes = s->c.bytes_staged;
	lg_progress_begin(s->o->progress, LG_PHASE_FLUSH, -1, s->c.bytes_staged);
	r = lg_copy_flush(&s->c, err);
	s->res->flush_ns = lg_now_ns() - t0;
	if (!r)
		lg_progress_end(s->o->progress);
	return r;
}

/* File space of the set-up plan that pass 0 filled and no mapping of the
 * final plan uses any more:
 * give its blocks back. */
static void punch_stale(struct pc_state *s)
{
	bool *used = calloc(s->setup_plan.n + 1, sizeof(bool));
	size_t i;

	if (!used)
		return;		/* only disk space is at stake */
	for (i = 0; i < s->final_plan.n; i++)
		if (s->src[i] != NO_SRC)
			used[s->src[i]] = true;
	for (i = 0; i < s->setup_plan.n; i++) {
		const struct lg_segment *sa = &s->setup_plan.layout.seg[s->setup_plan.e[i].seg];
		if (!(s->tracked[i] || s->early[i]) || !sa->filesz || used[i])
			continue;
		/* Only disk space is at stake: a failure is not worth failing for. */
		if (!lg_core_file_punch(&s->file, sa->offset, sa->filesz, NULL))
			s->res->stale_bytes += sa->filesz;
	}
	free(used);
}

/* Teardown, the target running: unprotect and close the tracker, give
 * back the file space nothing uses any more. */
static int teardown(struct pc_state *s, struct lg_error *err)
{
	uint64_t t0 = lg_now_ns();
	int r;

	lg_progress_begin(s->o->progress, LG_PHASE_TEARDOWN, -1, 0);
	r = lg_tracker_close(s->t, &s->res->td, err);
	s->t = NULL;
	s->res->teardown_ns = lg_now_ns() - t0;
	if (s->res->anon_huge_known &&
	    lg_proc_anon_huge_kb(s->pid, &s->res->anon_huge_kb_after))
		s->res->anon_huge_known = false;
	if (r)
		return r;
	punch_stale(s);
	return 0;
}

/* Notes and headers at the end of the file, its name, and the result. */
static int finish(struct pc_state *s, struct lg_error *err)
{
	struct lg_dump_result *d = &s->res->dump;
	int r;

	lg_progress_begin(s->o->progress, LG_PHASE_FINISH, -1, 0);
	if ((r = lg_core_file_finish(&s->file, &s->final_plan.layout, &s->final_plan.maps, &s->pi, &s->h.g, s->ti, err)))
		return r;
	d->threads = s->h.g.n;
	d->segments = s->final_plan.layout.n;
	d->bytes_read = s->c.bytes_read;
	d->bytes_written = s->file.bytes_written;
	d->unreadable = s->c.mem.unreadable;
	d->unreadable_maps = s->c.unreadable_maps;
	d->pause_ns = s->res->setup_ns + s->res->final_ns;
	return 0;
}

static int precopy(struct pc_state *s, const char *path, struct lg_error *err)
{
	int r;

	char state;

	if (s->pid <= 0 || (kill(s->pid, 0) < 0 && errno == ESRCH))
		return lg_failx(err, ESRCH, "no such process");
	/* A process stopped by a signal (state T) does not run: pre-copy has
	 * nothing to gain, and injecting a system call would run a
	 * group-stopped thread once.  Stop mode dumps it as it is, adding no
	 * pause it could notice, whichever tracker was asked for. */
	if (!lg_proc_state(s->pid, &state) && state == 'T') {
		snprintf(s->res->fallback, sizeof(s->res->fallback),
			 "the process is stopped: stop mode adds no pause");
		return PC_STOP_MODE;
	}
	if ((r = set_up(s, path, err)) || (r = pass0(s, err)) || (r = passes(s, err)) ||
	    (r = final(s, err)) || (r = teardown(s, err)) || (r = finish(s, err)))
		return r;
	return 0;
}

static void pc_init(struct pc_state *s, pid_t pid, const struct lg_precopy_opts *o,
		    struct lg_precopy_result *res)
{
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->o = o;
	s->res = res;
	/* Nothing open yet: pc_free() may run after any phase. */
	s->file.fd = s->file.dirfd = -1;
	lg_mem_init(&s->c.mem, pid);
	lg_pagemap_init(&s->c.pagemap, pid);
}

/* Everything a phase may have left, whichever failed (R < 0), or none.  A
 * file not committed is dropped, and so is an older one at PATH on failure;
 * in stop mode that one is lg_dump_stop()'s to replace. */
static void pc_free(struct pc_state *s, const char *path, int r)
{
	if (s->t)
		lg_tracker_close(s->t, NULL, NULL);
	lg_core_file_abort(&s->file);
	if (r < 0)
		lg_core_file_remove_stale(path);
	lg_copier_free(&s->c);
	free_setup(s);
	lg_plan_free(&s->final_plan);
	lg_procinfo_free(&s->pi);
	lg_tgroup_free(&s->h.g);
	free(s->ti);
	free(s->src);
	free(s->full);
	free(s->early_kept);
	lg_maps_free(&s->fresh);
	lg_fileids_free(&s->files);
	lg_ranges_free(&s->w);
	lg_ranges_free(&s->clip);
	lg_ranges_free(&s->gaps);
}

int lg_dump_precopy(pid_t pid, const char *path, const struct lg_precopy_opts *o,
		    struct lg_precopy_result *res, struct lg_error *err)
{
	struct pc_state s;
	uint64_t t0 = lg_now_ns();
	int r;

	memset(res, 0, sizeof(*res));
	pc_init(&s, pid, o, res);
	r = precopy(&s, path, err);
	pc_free(&s, path, r);
	if (r == PC_STOP_MODE) {
		struct lg_dump_opts so = { .all = o->all, .progress = o->progress };
		res->kind = LG_TRACK_NONE;
		r = lg_dump_stop(pid, path, &so, &res->dump, err);
	}
	res->dump.total_ns = lg_now_ns() - t0;
	return r;
}
