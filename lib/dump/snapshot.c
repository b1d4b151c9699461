/* The snapshot mode (snapshot.h): the two stops, what each mapping gets,
 * and the one pass that writes the core. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "arch/arch.h"
#include "common/clock.h"
#include "dump/snapshot.h"
#include "ptrace/inject.h"

/* Re-arming rounds while the target runs: until a round finds fewer
 * pages than this (about 0.3 ms of re-arming in the T0 stop), at most
 * SNAP_ROUNDS of them. */
#define SNAP_ROUND_PAGES 256
#define SNAP_ROUNDS 8
/* A stop that lasts this long means lgcore itself is stopped or
 * starved: the keeper kills it, which releases the target. */
#define SNAP_STOP_WATCH_NS (5000ull * 1000000)

enum kind {
	K_NONE,		/* no data, or zeros ([vvar]) */
	K_PROT,		/* protected at T0, written out by the engine */
	K_STOP,		/* copied inside the T0 stop */
	K_LATER,	/* shared and not writable by the target: copied after T0 */
};

struct sd {
	pid_t pid;
	const char *path;
	const struct lg_dump_opts *o;
	struct lg_snapshot_result *res;
	struct lg_core_file file;
	bool have_file;
	struct lg_stream st;
	struct lg_copier c;
	struct lg_procinfo pi;
	struct lg_maps hint;
	struct lg_dump_hold h;
	struct lg_dump_hold late;	/* for a slow reader */
	struct lg_plan setup_plan, plan;
	struct lg_threadinfo *ti;
	int uffd, pagemap, spill;
	struct lg_snap_prearm *pa;
	struct lg_snap *snap;
	struct lg_ranges reg;		/* registered at the set-up stop */
	struct lg_ranges ranges, armed, scratch, unprot, removed;
	struct lg_ranges armpop;	/* populated, so armed, while running */
	enum kind *kind;		/* per entry of plan */
	struct lg_buf head;		/* a stream's headers and notes */
};

static bool shared_readonly(const struct lg_mapping *m)
{
	return m->shared && !(m->vmflags & LG_VM_MW);
}

/* Memory userfaultfd can write-protect: anonymous private memory and
 * shared memory (shmem, memfd; Linux 5.19).  Not private file mappings
 * nor shared file mappings of disk file systems: registering them fails
 * with EINVAL (6.18). */
static bool protectable(const struct lg_mapping *m)
{
	return lg_mapping_is_private_anon(m) || m->shared;
}

bool lg_snapshot_possible(pid_t pid, char *why, size_t whylen)
{
	struct lg_procinfo pi = { 0 };
	int sc;

	if (lg_snap_probe(why, whylen))
		return false;
	if (!lg_procinfo_read(pid, &pi, NULL)) {
		char state = pi.state;
		lg_procinfo_free(&pi);
		if (state == 'T' || state == 't') {
			/* A group-stopped thread would go to user mode once
			 * for the injected call: the process must stay as it
			 * is, and it cannot write anyway. */
			snprintf(why, whylen, "the process is stopped");
			return false;
		}
	}
	if ((sc = lg_seccomp_mode(pid, pid)) > 0) {
		snprintf(why, whylen, "the process runs under seccomp (mode %d)", sc);
		return false;
	}
	return true;
}

/* The first range of R (sorted, disjoint) that ends after START: a
 * binary search, as a process may have 65530 mappings. */
static size_t first_after(const struct lg_ranges *r, uint64_t start)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->v[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool in_ranges(const struct lg_ranges *r, uint64_t start, uint64_t end)
{
	size_t i = first_after(r, start);

	return i < r->n && r->v[i].start == start && r->v[i].end == end;
}

static bool overlaps(const struct lg_ranges *r, uint64_t start, uint64_t end)
{
	size_t i = first_after(r, start);

	return i < r->n && r->v[i].start < end;
}

/* The set-up stop: a userfaultfd of the target, every protectable range
 * registered, the pre-arm server started. */
static int setup_stop(struct sd *s, struct lg_error *err)
{
	size_t i;
	int r;

	if (s->have_file)
		lg_core_file_watch_stop(&s->file, SNAP_STOP_WATCH_NS);
	lg_progress_begin(s->o->progress, LG_PHASE_SETUP, -1, 0);
	r = lg_dump_setup_stop(&s->h, s->pid, PTRACE_O_TRACESYSGOOD, &s->pi, &s->hint, s->o->all,
			       s->path ? 0 : LG_FILTER_STREAM_ZEROS_BUDGET, &s->c.mem,
			       &s->setup_plan, err);
	if (s->h.held)
		lg_progress_stopped(s->o->progress, s->h.since_ns, true);
	if (r)
		return r;
	/* Without UFFD_USER_MODE_ONLY: with it a system call that writes a
	 * protected page (read(2) into a buffer) fails instead of waiting. */
	if ((r = lg_inject_userfaultfd(&s->h.g, s->pid, O_CLOEXEC | O_NONBLOCK, false, err)) < 0)
		return r;
	s->uffd = r;
	if ((r = lg_snap_uffd_api(s->uffd, err)))
		return r;
	for (i = 0; i < s->setup_plan.n; i++) {
		const struct lg_plan_entry *e = &s->setup_plan.e[i];
		const struct lg_mapping *m = &s->setup_plan.maps.v[e->map];
		if (e->what != LG_DUMP_WHOLE || e->never_read || !protectable(m) ||
		    shared_readonly(m))
			continue;
		if (!lg_snap_register(s->uffd, m->start, m->end) &&
		    lg_ranges_add(&s->reg, m->start, m->end))
			return lg_fail(err, ENOMEM, "registering");
	}
	if ((r = lg_snap_prearm_start(s->uffd, &s->pa, err)))
		return r;
	r = lg_dump_release(&s->h, &s->res->setup_ns, err);
	lg_progress_resumed(s->o->progress, s->res->setup_ns);
	if (s->have_file)
		lg_core_file_watch_stop(&s->file, 0);
	lg_tgroup_free(&s->h.g);
	memset(&s->h, 0, sizeof(s->h));
	return r;
}

static bool is_anon(const struct lg_plan *p, uint64_t start)
{
	size_t lo = 0, hi = p->maps.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->maps.v[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->maps.n && p->maps.v[lo].start == start &&
	       lg_mapping_is_private_anon(&p->maps.v[lo]);
}

/* While the target runs: protect what is populated (private memory) or
 * all of it (shared memory, whose holes get markers), then re-protect
 * what it writes meanwhile, in rounds. */
static int arm_running(struct sd *s, struct lg_error *err)
{
	uint64_t t = lg_now_ns(), stage = 0;
	unsigned round;
	size_t i;
	int r;

	lg_progress_begin(s->o->progress, LG_PHASE_ARM, -1, 0);
	/* The staging area for what the T0 stop will copy, faulted in now:
	 * what the set-up plan could not protect, and room for more. */
	for (i = 0; i < s->setup_plan.n; i++) {
		const struct lg_plan_entry *e = &s->setup_plan.e[i];
		const struct lg_mapping *m = &s->setup_plan.maps.v[e->map];
		if (e->dump_len && !e->never_read && !shared_readonly(m) &&
		    !in_ranges(&s->reg, m->start, m->end))
			stage += e->dump_len;
	}
	stage += stage / 4 + (1u << 20);
	if (stage > LG_SNAPSHOT_STOP_COPY_MAX)
		stage = LG_SNAPSHOT_STOP_COPY_MAX;
	if ((r = lg_copy_stage_init(&s->c, (size_t)(stage + LG_PAGE_SIZE - 1) & LG_PAGE_MASK, err)))
		return r;

	for (i = 0; i < s->reg.n; i++) {
		const struct lg_range *g = &s->reg.v[i];
		lg_ranges_clear(&s->scratch);
		if (!is_anon(&s->setup_plan, g->start)) {
			r = lg_snap_arm(s->uffd, g, 1, 2u << 20, NULL, err);
		} else {
			lg_ranges_clear(&s->unprot);
			r = lg_snap_populated(s->pagemap, g->start, g->end, &s->scratch, &s->unprot,
					      err);
			if (!r)
				r = lg_snap_arm(s->uffd, s->scratch.v, s->scratch.n, 2u << 20, NULL,
						err);
			for (size_t k = 0; !r && k < s->scratch.n; k++)
				if (lg_ranges_add(&s->armpop, s->scratch.v[k].start,
						  s->scratch.v[k].end))
					r = lg_fail(err, ENOMEM, "arming");
		}
		if (r)
			return r;
	}
	for (round = 0; round < SNAP_ROUNDS; round++) {
		lg_ranges_clear(&s->scratch);
		if ((r = lg_snap_prearm_take(s->pa, &s->scratch, err)) ||
		    (r = lg_snap_arm(s->uffd, s->scratch.v, s->scratch.n, 0, NULL, err)))
			return r;
		s->res->rounds = round + 1;
		if (lg_ranges_bytes(&s->scratch) / LG_PAGE_SIZE < SNAP_ROUND_PAGES)
			break;
	}
	s->res->arm_ns = lg_now_ns() - t;
	lg_progress_end(s->o->progress);
	return 0;
}

/* Append to s->armed the pages of [A, B) populated now, protecting those
 * that are not yet. */
static int scan(struct sd *s, uint64_t a, uint64_t b, struct lg_error *err)
{
	int r;

	if (a >= b)
		return 0;
	lg_ranges_clear(&s->unprot);
	if ((r = lg_snap_populated(s->pagemap, a, b, &s->armed, &s->unprot, err)))
		return r;
	s->res->scanned_bytes += b - a;
	return lg_snap_arm(s->uffd, s->unprot.v, s->unprot.n, 0, NULL, err);
}

/* [A, B) was populated and armed while the target ran, and is still
 * protected now, except where the target dropped or unmapped memory
 * since (REMOVED, sorted and merged, from *K on): scanned again there. */
static int trusted(struct sd *s, uint64_t a, uint64_t b, size_t *k, struct lg_error *err)
{
	const struct lg_ranges *rm = &s->removed;
	size_t j;
	int r;

	while (*k < rm->n && rm->v[*k].end <= a)
		(*k)++;
	for (j = *k; a < b; j++) {
		uint64_t rs = j < rm->n ? rm->v[j].start : b, re;
		if (rs >= b)
			rs = b;
		if (rs > a && lg_ranges_add(&s->armed, a, rs))
			return lg_fail(err, ENOMEM, "planning the snapshot");
		if (rs >= b)
			break;
		re = rm->v[j].end < b ? rm->v[j].end : b;
		if ((r = scan(s, rs > a ? rs : a, re, err)))
			return r;
		a = re;
	}
	return 0;
}

/* The pages of the registered private range [START, END) that are
 * protected at T0.  Only what was a hole when armed (or was dropped
 * since) is scanned: a write to a hole does not fault, so such pages may
 * be populated now and unprotected; the rest was armed, and a write there
 * faulted and was re-armed.  (A page freed with MADV_FREE and reclaimed
 * meanwhile is gone without an event: it is then read as the zeros it
 * holds, unless the process writes it again before it is written out.) */
static int armed_private(struct sd *s, uint64_t start, uint64_t end, struct lg_error *err)
{
	const struct lg_ranges *p = &s->armpop;
	size_t lo = first_after(p, start), k = first_after(&s->removed, start);
	uint64_t at = start;
	int r;

	for (; at < end && lo < p->n && p->v[lo].start < end; lo++) {
		uint64_t ps = p->v[lo].start > at ? p->v[lo].start : at;
		uint64_t pe = p->v[lo].end < end ? p->v[lo].end : end;
		if ((r = scan(s, at, ps, err)) || (r = trusted(s, ps, pe, &k, err)))
			return r;
		at = pe;
	}
	return scan(s, at, end, err);
}

static int cmp_range(const void *a, const void *b)
{
	const struct lg_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* REMOVED in address order, overlaps merged. */
static void sort_removed(struct lg_ranges *rm)
{
	size_t i, n = 0;

	if (!rm->n)
		return;		/* rm->v may be NULL, which qsort() must not get */
	qsort(rm->v, rm->n, sizeof(*rm->v), cmp_range);
	for (i = 0; i < rm->n; i++) {
		if (n && rm->v[i].start <= rm->v[n - 1].end) {
			if (rm->v[i].end > rm->v[n - 1].end)
				rm->v[n - 1].end = rm->v[i].end;
		} else {
			rm->v[n++] = rm->v[i];
		}
	}
	rm->n = n;
}

/* Inside the T0 stop: what each mapping of the plan gets.  Protects what
 * was not yet (holes filled since the arming, mappings new since the
 * set-up stop) and lists the ranges and armed pages for the engine. */
static int classify(struct sd *s, struct lg_error *err)
{
	size_t i;
	int r;

	s->kind = calloc(s->plan.n ? s->plan.n : 1, sizeof(*s->kind));
	if (!s->kind)
		return lg_fail(err, ENOMEM, "planning the snapshot");
	sort_removed(&s->removed);
	for (i = 0; i < s->plan.n; i++) {
		const struct lg_plan_entry *e = &s->plan.e[i];
		const struct lg_mapping *m = &s->plan.maps.v[e->map];
		uint64_t end = m->start + e->dump_len;
		bool reg, anon = lg_mapping_is_private_anon(m);

		if (!e->dump_len || e->never_read)
			continue;
		reg = in_ranges(&s->reg, m->start, m->end) &&
		      !overlaps(&s->removed, m->start, m->end);
		/* Private memory: armed_private() trusts the arming only where
		 * the target dropped and unmapped nothing since, and scans the
		 * rest; the mapping must only be registered as a whole.  A heap
		 * grown with brk(2) keeps its registration, a mapping made anew
		 * has none: registering again is harmless. */
		if (!reg && anon && e->what == LG_DUMP_WHOLE)
			reg = !lg_snap_register(s->uffd, m->start, m->end);
		if (!reg && !anon && e->what == LG_DUMP_WHOLE && protectable(m) &&
		    !shared_readonly(m)) {
			/* Shared memory new or changed since the set-up stop:
			 * registered and armed whole (its holes get markers). */
			reg = !lg_snap_register(s->uffd, m->start, m->end);
			if (reg &&
			    (r = lg_snap_arm(s->uffd, &(struct lg_range){ m->start, end }, 1, 0, NULL, err)))
				return r;
		}
		if (reg) {
			s->kind[i] = K_PROT;
			if (lg_ranges_add(&s->ranges, m->start, end))
				return lg_fail(err, ENOMEM, "planning the snapshot");
			if (!anon) {
				if (lg_ranges_add(&s->armed, m->start, end))
					return lg_fail(err, ENOMEM, "planning the snapshot");
			} else if ((r = armed_private(s, m->start, end, err))) {
				return r;
			}
			s->res->protected_maps++;
			s->res->protected_bytes += e->dump_len;
		} else if (shared_readonly(m)) {
			s->kind[i] = K_LATER;
			s->res->later_maps++;
			s->res->later_bytes += e->dump_len;
		} else {
			s->kind[i] = K_STOP;
			s->res->stop_maps++;
			s->res->stop_bytes += e->dump_len;
		}
	}
	return 0;
}

/* The spill file, unlinked from the start: in the core's directory, or
 * for a stream in $TMPDIR or /var/tmp; -1 if none can be made (a stream
 * needs no disk space otherwise). */
static int spill_open(const struct sd *s)
{
	const char *dir = getenv("TMPDIR");

	if (s->path)
		return openat(s->file.dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (!dir || !*dir)
		dir = "/var/tmp";
	return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

static size_t spill_pages(int fd)
{
	struct statvfs sv;
	uint64_t free_bytes, max = LG_SNAPSHOT_SPILL_MAX;

	if (fd < 0 || fstatvfs(fd, &sv))
		return 0;
	free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (free_bytes / 2 < max)
		max = free_bytes / 2;
	return (size_t)(max / LG_PAGE_SIZE);
}

/* The stop at T0. */
static int final_stop(struct sd *s, struct lg_error *err)
{
	struct lg_snap_opts so = { .spill_fd = -1 };
	uint64_t faults = 0, t;
	size_t i;
	int r, u;

	if (s->have_file)
		lg_core_file_watch_stop(&s->file, SNAP_STOP_WATCH_NS);
	lg_progress_begin(s->o->progress, LG_PHASE_FINAL, -1, 0);
	if ((r = lg_dump_hold(&s->h, s->pid, 0, err)))
		return r;
	lg_progress_stopped(s->o->progress, s->h.since_ns, true);
	if ((r = lg_plan_target(&s->plan, s->pid, s->pi.coredump_filter, s->o->all,
				s->path ? 0 : LG_FILTER_STREAM_ZEROS_BUDGET, &s->setup_plan.maps,
				&s->c.mem, err)) ||
	    (r = lg_dump_capture_threads(s->pid, &s->h, &s->ti, err)))
		return r;
	t = lg_now_ns();
	s->res->final_plan_ns = t - s->h.since_ns;
	lg_ranges_clear(&s->scratch);
	r = lg_snap_prearm_stop(s->pa, &s->scratch, &s->removed, &faults, err);
	s->pa = NULL;
	s->res->prearm_faults = faults;
	if (r || (r = lg_snap_arm(s->uffd, s->scratch.v, s->scratch.n, 0, NULL, err)))
		return r;
	s->res->last_round_pages = lg_ranges_bytes(&s->scratch) / LG_PAGE_SIZE;
	if ((r = classify(s, err)))
		return r;
	s->res->final_protect_ns = lg_now_ns() - t;
	t = lg_now_ns();
	if (!s->path && s->res->stop_bytes > LG_SNAPSHOT_STOP_COPY_MAX)
		return lg_failx(err, E2BIG,
				"%llu KiB cannot be protected (private file mappings, shared file "
				"mappings, memory under the process's own userfaultfd)",
				(unsigned long long)(s->res->stop_bytes / 1024));
	/* A stream's layout first: it gives the staged copies their offsets. */
	if (!s->path) {
		struct lg_buf notes = { 0 };
		r = lg_note_core(&notes, &s->pi, &s->h.g, s->ti, &s->plan.maps);
		if (!r)
			r = lg_stream_layout(&s->plan.layout, &notes, &s->head);
		lg_buf_free(&notes);
		if (r)
			return lg_fail(err, -r, "building the notes");
	}
	/* The T0 content of pages the process writes before they are written
	 * out waits aside: in memory, then in the spill file.  For a file,
	 * writing it to its place at once instead (lib/snap's place()) made
	 * the dump slower than the writes: 4 KiB writes into the large folios
	 * of the core cost 15-35 us each, and at 100k page writes/s a 4 GiB
	 * core took 20 s instead of 7 (6.18, ext4). */
	so.aside_pages = LG_SNAPSHOT_ASIDE_PAGES;
	so.full = LG_SNAP_FULL_WAIT;	/* until write_out() stops the process */
	so.spill_fd = s->spill;
	so.spill_pages = spill_pages(s->spill);
	/* Staged: read now, written once the target runs (a file) or when
	 * the stream gets there. */
	s->c.staging = true;
	for (i = 0; i < s->plan.n; i++)
		if (s->kind[i] == K_STOP && (r = lg_copy_entry(&s->c, &s->plan, i, err)))
			return r;
	s->c.staging = false;
	s->res->final_copy_ns = lg_now_ns() - t;
	u = s->uffd;
	s->uffd = -1;	/* the engine's from now on */
	if ((r = lg_snap_open(u, s->pid, s->ranges.v, s->ranges.n, s->armed.v, s->armed.n, &so,
			      &s->snap, err)))
		return r;
	r = lg_dump_release(&s->h, &s->res->final_ns, err);
	lg_progress_resumed(s->o->progress, s->res->final_ns);
	if (s->have_file)
		lg_core_file_watch_stop(&s->file, 0);
	return r;
}

static int out_put(struct sd *s, uint64_t off, const void *b, size_t len, struct lg_error *err)
{
	if (!s->path)
		return lg_stream_put(&s->st, off, b, len, err);
	return lg_core_file_write(&s->file, off, b, len, false, err);
}

/* Between two chunks: once a write of the process found the aside store
 * and the spill file full, stop the process until the end (snapshot.h). */
static int slow_reader(struct sd *s, struct lg_error *err)
{
	int r;

	if (s->late.held || !lg_snap_full_count(s->snap))
		return 0;
	if ((r = lg_dump_hold(&s->late, s->pid, 0, err)))
		return r;
	/* Until the end: a long stop, which the progress may show. */
	lg_progress_stopped(s->o->progress, s->late.since_ns, false);
	s->res->late_from = s->st.off;
	return 0;
}

/* Everything after T0, in address order. */
static int write_out(struct sd *s, struct lg_error *err)
{
	struct lg_progress *pg = s->o->progress;
	struct lg_snap_chunk ch;
	bool have = false;
	uint64_t total = 0;
	size_t i, k;
	int r;


	if (!s->path && (r = lg_stream_put(&s->st, 0, s->head.p, s->head.len, err)))
		return r;
	if (s->path && (r = lg_copy_flush(&s->c, err)))
		return r;
	/* After the flush: what the T0 stop copied is counted with its
	 * entry below. */
	for (i = 0; i < s->plan.n; i++)
		if (s->kind[i] != K_NONE)
			total += s->plan.e[i].dump_len;
	lg_progress_begin(pg, LG_PHASE_WRITE, -1, total);
	for (i = 0; i < s->plan.n; i++) {
		const struct lg_plan_entry *e = &s->plan.e[i];
		const struct lg_mapping *m = &s->plan.maps.v[e->map];
		const struct lg_segment *seg = &s->plan.layout.seg[e->seg];
		uint64_t base = pg ? pg->done : 0;

		switch (s->kind[i]) {
		case K_NONE:
			break;
		case K_STOP:
			if (!s->path &&
			    (r = lg_copy_flush_upto(&s->c, seg->offset + seg->filesz, err)))
				return r;
			break;
		case K_LATER:
			if ((r = lg_copy_entry(&s->c, &s->plan, i, err)))
				return r;
			break;
		case K_PROT:
			for (;;) {
				if (!have) {
					r = lg_snap_next(s->snap, &ch, err);
					if (r < 0)
						return r;
					if (r == 0)
						break;
					have = true;
				}
				if (ch.addr >= m->start + e->dump_len)
					break;
				if ((r = slow_reader(s, err)))
					return r;
				for (k = 0; k < ch.nruns; k++) {
					const struct lg_range *run = &ch.runs[k];
					uint64_t off = seg->offset + (run->start - m->start);
					if ((r = out_put(s, off, ch.data + (run->start - ch.addr),
							 run->end - run->start, err)))
						return r;
					lg_progress_copied(pg, run->end - run->start);
				}
				have = false;
			}
			break;
		}
		/* Holes and pages copied in the T0 stop included. */
		if (s->kind[i] != K_NONE)
			lg_progress_done(pg, base + e->dump_len);
	}
	if (!s->path && (r = lg_stream_pad(&s->st, s->plan.layout.data_end, err)))
		return r;
	lg_progress_end(pg);
	r = lg_dump_release(&s->late, &s->res->late_ns, err);
	lg_progress_resumed(pg, s->res->late_ns);
	return r;
}

static void sd_free(struct sd *s)
{
	struct lg_ranges w = { 0 };

	if (s->pa)
		lg_snap_prearm_stop(s->pa, &w, NULL, NULL, NULL);
	lg_ranges_free(&w);
	if (s->snap)
		lg_snap_close(s->snap, &s->res->snap, NULL);
	if (s->uffd >= 0)
		close(s->uffd);	/* wakes every waiting thread, removes every protection */
	if (s->pagemap >= 0)
		close(s->pagemap);
	if (s->spill >= 0)
		close(s->spill);
	lg_dump_release(&s->h, &s->res->dump.pause_ns, NULL);
	lg_dump_release(&s->late, &s->res->late_ns, NULL);
	lg_tgroup_free(&s->h.g);
	lg_tgroup_free(&s->late.g);
	lg_copier_free(&s->c);
	lg_plan_free(&s->setup_plan);
	lg_plan_free(&s->plan);
	lg_maps_free(&s->hint);
	lg_procinfo_free(&s->pi);
	lg_ranges_free(&s->reg);
	lg_ranges_free(&s->ranges);
	lg_ranges_free(&s->armed);
	lg_ranges_free(&s->scratch);
	lg_ranges_free(&s->unprot);
	lg_ranges_free(&s->removed);
	lg_ranges_free(&s->armpop);
	lg_buf_free(&s->head);
	free(s->kind);
	free(s->ti);
}

/* Errors that mean "this process cannot be snapshotted", not "the dump
 * failed": the same dump is then made in stop mode. */
static bool fall_back(int r)
{
	return r == -EPERM || r == -ENOTSUP || r == -E2BIG || r == -ENOSYS || r == -EINVAL ||
	       r == -ENOBUFS || r == -ENOENT;
}

static int stop_mode(pid_t pid, const char *path, int fd, const struct lg_dump_opts *o,
		     struct lg_snapshot_result *res, struct lg_error *err)
{
	res->stop_mode = true;
	return path ? lg_dump_stop(pid, path, o, &res->dump, err) :
		      lg_dump_stop_stream(pid, fd, o, &res->dump, err);
}

int lg_dump_snapshot(pid_t pid, const char *path, int fd, const struct lg_dump_opts *o,
		     struct lg_snapshot_result *res, struct lg_error *err)
{
	struct sd s = { .pid = pid, .path = path, .o = o, .res = res, .uffd = -1, .pagemap = -1,
		      .spill = -1 };
	uint64_t t0 = lg_now_ns(), pause;
	char pm[64];
	bool started = false;
	int r;

	memset(res, 0, sizeof(*res));
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return lg_failx(err, ESRCH, "no such process");
	if (!lg_snapshot_possible(pid, res->fallback, sizeof(res->fallback)))
		return stop_mode(pid, path, fd, o, res, err);

	if (path) {
		/* The file first: a bad output path costs the target no stop. */
		if ((r = lg_core_file_create(&s.file, path, err)))
			goto out;
		s.have_file = true;
		r = lg_copier_init(&s.c, pid, &s.file, err);
	} else {
		lg_stream_init(&s.st, fd);
		r = lg_copier_init_stream(&s.c, pid, &s.st, err);
	}
	if (r)
		goto out;
	s.c.progress = o->progress;
	snprintf(pm, sizeof(pm), "/proc/%d/pagemap", (int)pid);
	if ((s.pagemap = open(pm, O_RDONLY | O_CLOEXEC)) < 0) {
		r = lg_fail(err, errno, "%s", pm);
		goto out;
	}
	/* smaps walks every page table: read it while the target runs. */
	if ((r = lg_procinfo_read(pid, &s.pi, err)) || (r = lg_maps_read(pid, true, &s.hint, err))) {
		if (r == -ENOENT)
			r = lg_failx(err, ESRCH, "no such process");
		goto out;
	}
	s.spill = spill_open(&s);
	started = true;
	if ((r = setup_stop(&s, err)) || (r = arm_running(&s, err)) || (r = final_stop(&s, err)))
		goto out;
	if ((r = write_out(&s, err)))
		goto out;
	r = lg_snap_close(s.snap, &res->snap, err);
	s.snap = NULL;
	if (r)
		goto out;
	if (path) {
		lg_progress_begin(o->progress, LG_PHASE_FINISH, -1, 0);
		if ((r = lg_core_file_finish(&s.file, &s.plan.layout, &s.plan.maps, &s.pi, &s.h.g, s.ti,
					     err)))
			goto out;
		s.have_file = false;
	}
	res->dump.threads = s.h.g.n;
	res->dump.segments = s.plan.layout.n;
	res->dump.bytes_read = s.c.bytes_read + res->snap.direct * LG_PAGE_SIZE +
			       res->snap.copied * LG_PAGE_SIZE;
	res->dump.bytes_written = path ? s.file.bytes_written : s.st.off;
	res->dump.unreadable = s.c.mem.unreadable;
	res->dump.unreadable_maps = s.c.unreadable_maps;
out:
	sd_free(&s);
	/* A stop that failed is in dump.pause_ns (sd_free released it). */
	pause = res->setup_ns + res->final_ns + res->late_ns + res->dump.pause_ns;
	if (s.have_file)
		lg_core_file_abort(&s.file);
	if (r && path)
		lg_core_file_remove_stale(path);
	if (r && started && fall_back(r) && !s.st.off) {
		/* Nothing reached the reader yet: the stop mode can still
		 * make the whole core. */
		snprintf(res->fallback, sizeof(res->fallback), "%s", err ? err->msg : "");
		r = stop_mode(pid, path, fd, o, res, err);
		res->dump.pause_ns += pause;
	} else {
		res->dump.pause_ns = pause;
	}
	res->dump.total_ns = lg_now_ns() - t0;
	return r;
}
