/* The copy-before-write engine on forked children.
 *
 * The child has N writer threads that rewrite whole random pages of a
 * region (each page carries its index and a version in every word) and
 * keep a journal of their own writes: the last version written to each
 * page and the page each thread is writing.  The test stops the child
 * (T0), takes the userfaultfd as lgcore does (injected userfaultfd(2),
 * pidfd_getfd, injected close), registers and arms the region, reads the
 * region and the journal as they are at T0, starts the engine and lets the
 * child run on.  The engine's output must be the T0 bytes exactly, also
 * while the writers run, with madvise(MADV_DONTNEED), munmap and mremap
 * in the child (dropped pages may read as zeros, and are counted), with
 * huge pages, with a tiny aside store (writers wait for the reader) and a
 * spill file.  Whatever happens to the engine's holder, the child's
 * writers run on and no protection is left. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "mem/mem.h"
#include "proc/proc.h"
#include "ptrace/inject.h"
#include "ptrace/ptrace.h"
#include "snap/snap.h"

#define PG LG_PAGE_SIZE
#define MAXT 4
#define MAXPAGES 8192		/* 32 MiB */

enum { OP_NONE, OP_UNMAP, OP_REMAP };

struct shm {
	volatile int ready, stop, op, op_done, after_t0;
	uint32_t nthreads, npages, dontneed_every;
	int thp;
	uint64_t region, spare;		/* in the child (the same as in the test) */
	volatile uint64_t moved_to;
	uint32_t op_first, op_n;
	volatile uint64_t writes[MAXT];
	volatile uint32_t inflight[MAXT];	/* page + 1 being written */
	volatile uint32_t lastver[MAXPAGES];	/* the journal */
	volatile uint8_t dropped[MAXPAGES];	/* madvised or unmapped once */
	volatile uint8_t gone[MAXPAGES];	/* unmapped: not written any more */
};

static struct shm *sh;
/* Test knobs: the region is shared memory (MAP_SHARED | MAP_ANONYMOUS),
 * or given to the engine as three ranges with a gap. */
static bool use_shmem, split_ranges;

static uint64_t mix(uint64_t p, uint64_t v, uint64_t i)
{
	uint64_t x = (p << 40) ^ (v << 12) ^ i ^ 0x9E3779B97F4A7C15ull;
	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	return x ^ (x >> 29);
}

static void fill(uint64_t *w, uint32_t p, uint32_t v)
{
	size_t i;

	w[0] = ((uint64_t)v << 32) | p;
	for (i = 1; i < PG / 8; i++)
		w[i] = mix(p, v, i);
}

/* ---- the child ---- */

static pthread_rwlock_t maplk;

static uint64_t *page_addr(uint32_t p)
{
	if (sh->moved_to && p >= sh->op_first && p < sh->op_first + sh->op_n)
		return (uint64_t *)(sh->moved_to + (uint64_t)(p - sh->op_first) * PG);
	return (uint64_t *)(sh->region + (uint64_t)p * PG);
}

static void *writer(void *arg)
{
	uint32_t t = (uint32_t)(uintptr_t)arg, n = 0;
	unsigned int seed = 12345 + t;

	while (!sh->stop) {
		/* Each thread its own pages, so that the journal is exact;
		 * holes (every 7th page) are left alone until after T0. */
		uint32_t p = (uint32_t)rand_r(&seed) % (sh->npages / sh->nthreads) * sh->nthreads + t;
		if (!sh->thp && p % 7 == 3 && !sh->after_t0)
			continue;
		pthread_rwlock_rdlock(&maplk);
		if (!sh->gone[p]) {
			uint32_t v = (++n << 3) | t;
			uint64_t *w = page_addr(p);
			sh->inflight[t] = p + 1;
			fill(w, p, v);
			sh->lastver[p] = v;
			sh->inflight[t] = 0;
			sh->writes[t]++;
			if (sh->dontneed_every && t == 0 && n % sh->dontneed_every == 0) {
				/* Another page of ours, likely not taken yet. */
				uint32_t q = (uint32_t)rand_r(&seed) % (sh->npages / sh->nthreads) *
					     sh->nthreads + t;
				if (!sh->gone[q]) {
					madvise(page_addr(q), PG, MADV_DONTNEED);
					sh->dropped[q] = 1;
					sh->lastver[q] = 0;
				}
			}
		}
		pthread_rwlock_unlock(&maplk);
	}
	return NULL;
}

static void child_main(void)
{
	pthread_t th[MAXT];
	uint32_t i;
	char *r = (char *)sh->region;
	pthread_rwlockattr_t la;

	/* The map operations must not starve behind the writers. */
	pthread_rwlockattr_init(&la);
	pthread_rwlockattr_setkind_np(&la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&maplk, &la);
	for (i = 0; i < sh->npages; i++)
		if (sh->thp || i % 7 != 3)
			fill((uint64_t *)(r + (uint64_t)i * PG), i, 0);
	for (i = 0; i < sh->nthreads; i++)
		pthread_create(&th[i], NULL, writer, (void *)(uintptr_t)i);
	sh->ready = 1;
	for (;;) {
		int op;
		while (!(op = sh->op))
			usleep(200);
		pthread_rwlock_wrlock(&maplk);
		if (op == OP_UNMAP) {
			/* Unmapped, then something else at the same place:
			 * that must not get into the snapshot. */
			char *at = r + (uint64_t)sh->op_first * PG;
			munmap(at, (uint64_t)sh->op_n * PG);
			for (i = sh->op_first; i < sh->op_first + sh->op_n; i++)
				sh->gone[i] = sh->dropped[i] = 1;
			if (mmap(at, (uint64_t)sh->op_n * PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED)
				memset(at, 0x5a, (uint64_t)sh->op_n * PG);
		} else if (op == OP_REMAP) {
			void *to = mremap(r + (uint64_t)sh->op_first * PG, (uint64_t)sh->op_n * PG,
					  (uint64_t)sh->op_n * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
					  (void *)sh->spare);
			if (to != MAP_FAILED)
				sh->moved_to = (uintptr_t)to;
		}
		sh->op = OP_NONE;
		sh->op_done = 1;
		pthread_rwlock_unlock(&maplk);
	}
}

struct child {
	pid_t pid;
	uint64_t len;
};

static void child_start(struct child *ch, uint32_t npages, uint32_t nthreads, bool thp,
			uint32_t dontneed_every)
{
	uint64_t len = (uint64_t)npages * PG, a;
	char *m;

	ck_assert_uint_le(npages, MAXPAGES);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	/* Room for 2 MiB alignment, and a spare area as mremap's target. */
	m = mmap(NULL, len + (2u << 20) + len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	a = ((uintptr_t)m + (2u << 20) - 1) & ~((2ull << 20) - 1);
	ck_assert_ptr_ne(mmap((void *)a, len, PROT_READ | PROT_WRITE,
			      (use_shmem ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
			 MAP_FAILED);
	madvise((void *)a, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	sh->region = a;
	sh->spare = a + len + (1u << 20);
	sh->npages = npages;
	sh->nthreads = nthreads;
	sh->thp = thp;
	sh->dontneed_every = dontneed_every;
	ch->len = len;
	ch->pid = fork();
	ck_assert_int_ge(ch->pid, 0);
	if (ch->pid == 0)
		child_main();
	while (!sh->ready)
		usleep(1000);
	/* Let the writers make a T0 state of their own. */
	usleep(50000);
}

/* AnonHugePages of the process, in kB. */
static uint64_t anon_huge_kb(pid_t pid)
{
	char path[64], line[256];
	uint64_t kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "AnonHugePages:", 14))
			kb = strtoull(line + 14, NULL, 10);
	fclose(f);
	return kb;
}

static bool thp_enabled(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	return !strstr(buf, "[never]") && buf[0];
}

static void child_end(struct child *ch)
{
	int st;

	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, &st, 0);
	munmap(sh, sizeof(*sh));
}

static uint64_t total_writes(void)
{
	uint64_t n = 0;
	for (uint32_t t = 0; t < sh->nthreads; t++)
		n += sh->writes[t];
	return n;
}

/* The writers run: their counts grow. */
static void assert_writers_run(void)
{
	uint64_t w0 = total_writes();
	int i;

	for (i = 0; i < 200 && total_writes() == w0; i++)
		usleep(10000);
	ck_assert_msg(total_writes() > w0, "the child's writers do not run");
}

static bool child_has_uw(pid_t pid)
{
	struct lg_maps m = { 0 };
	struct lg_error e;
	bool uw = false;
	size_t i;

	ck_assert_int_eq(lg_maps_read(pid, true, &m, &e), 0);
	for (i = 0; i < m.n; i++)
		if (m.v[i].vmflags & LG_VM_UW)
			uw = true;
	lg_maps_free(&m);
	return uw;
}

/* ---- T0 ---- */

/* The userfaultfd of the child's mm, as lgcore gets it. */
static int take_uffd(struct lg_tgroup *g, pid_t pid)
{
	struct lg_injector inj;
	struct lg_error e = { 0 };
	uint64_t args[6] = { O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0, 0 };
	int64_t tfd = -1, cret = -1;
	int u;

	ck_assert_msg(lg_inject_init(g, &inj, &e) == 0, "%s", e.msg);
	ck_assert_msg(lg_inject_syscall(&inj, SYS_userfaultfd, args, &tfd, &e) == 0, "%s", e.msg);
	ck_assert_int_ge(tfd, 0);
	u = lg_fd_fetch(pid, (int)tfd, &e);
	ck_assert_msg(u >= 0, "%s", e.msg);
	args[0] = (uint64_t)tfd;
	ck_assert_int_eq(lg_inject_syscall(&inj, SYS_close, args, &cret, &e), 0);
	ck_assert_int_eq(cret, 0);
	return u;
}

struct t0 {
	uint8_t *ref;			/* the region at T0 */
	uint8_t in_snap[MAXPAGES];	/* pages the engine yields */
	uint32_t lastver[MAXPAGES];	/* the journal at T0 */
	uint32_t inflight[MAXT];
	uint64_t writes;
	struct lg_ranges armed;
};

/* Stop the child, arm its region, take T0, start the engine, resume. */
static struct lg_snap *snapshot(struct child *ch, const struct lg_snap_opts *o, struct t0 *t)
{
	struct lg_tgroup g = { 0 };
	struct lg_error e = { 0 };
	struct lg_pagemap pm;
	struct lg_snap *s;
	struct lg_range rg = { sh->region, sh->region + ch->len };
	struct lg_range ranges[3];
	size_t nranges;
	struct iovec l, r;
	int u;

	ck_assert_msg(lg_ptrace_stop_all(ch->pid, PTRACE_O_TRACESYSGOOD, &g, &e) == 0, "%s", e.msg);
	u = take_uffd(&g, ch->pid);
	ck_assert_msg(lg_snap_uffd_api(u, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(lg_snap_register(u, rg.start, rg.end), 0);
	memset(&t->armed, 0, sizeof(t->armed));
	if (split_ranges) {
		/* [0, 1000) [1000, 2500) [3000, end): the gap is not dumped. */
		ranges[0] = (struct lg_range){ rg.start, rg.start + 1000 * PG };
		ranges[1] = (struct lg_range){ rg.start + 1000 * PG, rg.start + 2500 * PG };
		ranges[2] = (struct lg_range){ rg.start + 3000 * PG, rg.end };
		nranges = 3;
	} else {
		ranges[0] = rg;
		nranges = 1;
	}
	for (size_t k = 0; k < nranges; k++) {
		for (uint64_t a = ranges[k].start; a < ranges[k].end; a += PG)
			t->in_snap[(a - rg.start) / PG] = 1;
		if (use_shmem) {
			/* Shared memory is armed whole: its holes get markers. */
			ck_assert_int_eq(lg_ranges_add(&t->armed, ranges[k].start, ranges[k].end), 0);
			continue;
		}
		lg_pagemap_init(&pm, ch->pid);
		ck_assert_int_eq(lg_pagemap_populated(&pm, ranges[k].start, ranges[k].end,
						      &t->armed, &e), 0);
		lg_pagemap_close(&pm);
	}
	ck_assert_msg(lg_snap_arm(u, t->armed.v, t->armed.n, 0, NULL, &e) == 0, "%s", e.msg);

	t->ref = malloc(ch->len);
	ck_assert_ptr_nonnull(t->ref);
	l.iov_base = t->ref;
	l.iov_len = ch->len;
	r.iov_base = (void *)sh->region;
	r.iov_len = ch->len;
	ck_assert_int_eq(process_vm_readv(ch->pid, &l, 1, &r, 1, 0), (ssize_t)ch->len);
	memcpy(t->lastver, (void *)sh->lastver, sizeof(t->lastver));
	memcpy(t->inflight, (void *)sh->inflight, sizeof(t->inflight));
	t->writes = total_writes();

	ck_assert_msg(lg_snap_open(u, ch->pid, ranges, nranges, t->armed.v, t->armed.n, o, &s, &e) == 0,
		      "%s", e.msg);
	sh->after_t0 = 1;
	ck_assert_int_eq(lg_ptrace_release_all(&g, NULL), 0);
	lg_tgroup_free(&g);
	return s;
}

/* The same T0, armed while the child runs: register in a short set-up
 * stop, arm the populated pages while it runs, re-arm what it writes in
 * rounds, and at T0 re-arm only the last round's pages and the holes it
 * filled (PAGEMAP_SCAN).  *LAST gets the pages re-armed in the stop. */
static struct lg_snap *snapshot_prearm(struct child *ch, const struct lg_snap_opts *o, struct t0 *t,
				       uint64_t *last, uint64_t *faults)
{
	struct lg_tgroup g = { 0 };
	struct lg_error e = { 0 };
	struct lg_pagemap pm;
	struct lg_snap_prearm *pa;
	struct lg_snap *s;
	struct lg_range rg = { sh->region, sh->region + ch->len };
	struct lg_ranges p0 = { 0 }, w = { 0 }, rm = { 0 }, un = { 0 };
	static uint8_t armed[MAXPAGES];
	struct iovec l, r;
	char path[64];
	int u, round, pmfd;
	size_t i;

	ck_assert_msg(lg_ptrace_stop_all(ch->pid, PTRACE_O_TRACESYSGOOD, &g, &e) == 0, "%s", e.msg);
	u = take_uffd(&g, ch->pid);
	ck_assert_msg(lg_snap_uffd_api(u, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(lg_snap_register(u, rg.start, rg.end), 0);
	ck_assert_msg(lg_snap_prearm_start(u, &pa, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(lg_ptrace_release_all(&g, NULL), 0);
	lg_tgroup_free(&g);

	/* The child runs from here on. */
	lg_pagemap_init(&pm, ch->pid);
	ck_assert_int_eq(lg_pagemap_populated(&pm, rg.start, rg.end, &p0, &e), 0);
	lg_pagemap_close(&pm);
	ck_assert_msg(lg_snap_arm(u, p0.v, p0.n, 2u << 20, NULL, &e) == 0, "%s", e.msg);
	for (round = 0; round < 4; round++) {
		usleep(20000);
		lg_ranges_clear(&w);
		ck_assert_int_eq(lg_snap_prearm_take(pa, &w, &e), 0);
		ck_assert_msg(lg_snap_arm(u, w.v, w.n, 0, NULL, &e) == 0, "%s", e.msg);
	}
	/* T0 */
	ck_assert_msg(lg_ptrace_stop_all(ch->pid, PTRACE_O_TRACESYSGOOD, &g, &e) == 0, "%s", e.msg);
	lg_ranges_clear(&w);
	ck_assert_int_eq(lg_snap_prearm_stop(pa, &w, &rm, faults, &e), 0);
	ck_assert_msg(lg_snap_arm(u, w.v, w.n, 0, NULL, &e) == 0, "%s", e.msg);
	*last = lg_ranges_bytes(&w) / PG;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)ch->pid);
	pmfd = open(path, O_RDONLY);
	ck_assert_int_ge(pmfd, 0);
	ck_assert_int_eq(lg_snap_unprotected(pmfd, rg.start, rg.end, &un, &e), 0);
	close(pmfd);
	ck_assert_msg(lg_snap_arm(u, un.v, un.n, 0, NULL, &e) == 0, "%s", e.msg);

	/* armed = p0 - removed + (populated in removed) + unprotected: a page
	 * dropped may have been filled again, and re-armed by a round. */
	{
		struct lg_ranges rp = { 0 };
		lg_pagemap_init(&pm, ch->pid);
		for (i = 0; i < rm.n; i++) {
			uint64_t a = rm.v[i].start < rg.start ? rg.start : rm.v[i].start;
			uint64_t b = rm.v[i].end > rg.end ? rg.end : rm.v[i].end;
			if (a < b)
				ck_assert_int_eq(lg_pagemap_populated(&pm, a, b, &rp, &e), 0);
		}
		lg_pagemap_close(&pm);
		memset(armed, 0, sizeof(armed));
		for (i = 0; i < p0.n; i++)
			for (uint64_t a = p0.v[i].start; a < p0.v[i].end; a += PG)
				armed[(a - rg.start) / PG] = 1;
		for (i = 0; i < rm.n; i++)
			for (uint64_t a = rm.v[i].start; a < rm.v[i].end; a += PG)
				if (a >= rg.start && a < rg.end)
					armed[(a - rg.start) / PG] = 0;
		for (i = 0; i < rp.n; i++)
			for (uint64_t a = rp.v[i].start; a < rp.v[i].end; a += PG)
				armed[(a - rg.start) / PG] = 1;
		lg_ranges_free(&rp);
	}
	for (i = 0; i < un.n; i++)
		for (uint64_t a = un.v[i].start; a < un.v[i].end; a += PG)
			armed[(a - rg.start) / PG] = 1;
	memset(&t->armed, 0, sizeof(t->armed));
	memset(t->in_snap, 1, sizeof(t->in_snap));
	for (i = 0; i < sh->npages; i++)
		if (armed[i])
			ck_assert_int_eq(lg_ranges_add(&t->armed, rg.start + i * PG, rg.start + (i + 1) * PG), 0);

	t->ref = malloc(ch->len);
	ck_assert_ptr_nonnull(t->ref);
	l.iov_base = t->ref;
	l.iov_len = ch->len;
	r.iov_base = (void *)sh->region;
	r.iov_len = ch->len;
	ck_assert_int_eq(process_vm_readv(ch->pid, &l, 1, &r, 1, 0), (ssize_t)ch->len);
	memcpy(t->lastver, (void *)sh->lastver, sizeof(t->lastver));
	memcpy(t->inflight, (void *)sh->inflight, sizeof(t->inflight));
	t->writes = total_writes();

	ck_assert_msg(lg_snap_open(u, ch->pid, &rg, 1, t->armed.v, t->armed.n, o, &s, &e) == 0,
		      "%s", e.msg);
	sh->after_t0 = 1;
	ck_assert_int_eq(lg_ptrace_release_all(&g, NULL), 0);
	lg_tgroup_free(&g);
	lg_ranges_free(&p0);
	lg_ranges_free(&w);
	lg_ranges_free(&rm);
	lg_ranges_free(&un);
	return s;
}

/* Stream everything into OUT, slowly (PACE_US between chunks), running
 * HOOK(i) before chunk I. */
static int stream(struct lg_snap *s, struct child *ch, uint8_t *out, unsigned pace_us,
		  void (*hook)(int), struct lg_error *e)
{
	struct lg_snap_chunk c;
	int r, i = 0;

	memset(out, 0xa5, ch->len);
	while ((r = lg_snap_next(s, &c, e)) == 1) {
		size_t k;
		ck_assert_uint_ge(c.addr, sh->region);
		ck_assert_uint_le(c.addr + c.len, sh->region + ch->len);
		for (k = 0; k < c.nruns; k++)
			memcpy(out + (c.runs[k].start - sh->region), c.data + (c.runs[k].start - c.addr),
			       c.runs[k].end - c.runs[k].start);
		if (hook)
			hook(i);
		i++;
		if (pace_us)
			usleep(pace_us);
	}
	return r;
}

static bool all_zero(const uint8_t *p)
{
	for (size_t i = 0; i < PG; i++)
		if (p[i])
			return false;
	return true;
}

/* OUT is the T0 state: byte for byte, except pages the child dropped,
 * which may read as zeros.  The journal agrees with the T0 bytes.
 * Returns the pages dropped to zeros. */
static uint64_t check_t0(struct child *ch, const struct t0 *t, const uint8_t *out,
			 const struct lg_snap_stats *st)
{
	uint64_t zeroed = 0;
	uint32_t p, k;

	for (p = 0; p < sh->npages; p++) {
		const uint8_t *o = out + (uint64_t)p * PG, *rf = t->ref + (uint64_t)p * PG;
		bool in_flight = false;
		if (!t->in_snap[p]) {
			/* Not dumped: the engine must not have yielded it. */
			ck_assert_msg(o[0] == 0xa5 && o[PG - 1] == 0xa5, "page %u outside the ranges", p);
			continue;
		}
		if (memcmp(o, rf, PG)) {
			uint64_t ov, rv;
			memcpy(&ov, o, 8);
			memcpy(&rv, rf, 8);
			ck_assert_msg(all_zero(o) && sh->dropped[p],
				      "page %u differs from T0: %#llx, T0 %#llx (journal %#x, now %#x)", p,
				      (unsigned long long)ov, (unsigned long long)rv, t->lastver[p],
				      sh->lastver[p]);
			zeroed++;
		}
		for (k = 0; k < MAXT; k++)
			if (t->inflight[k] == p + 1)
				in_flight = true;
		if (!in_flight && !all_zero(rf)) {
			uint64_t w0;
			memcpy(&w0, rf, 8);
			ck_assert_msg((uint32_t)w0 == p && (uint32_t)(w0 >> 32) == t->lastver[p],
				      "page %u at T0 holds %#llx, the journal says version %#x", p,
				      (unsigned long long)w0, t->lastver[p]);
		}
	}
	ck_assert_msg(zeroed <= st->dropped, "%llu pages read as zeros, %llu counted as dropped",
		      (unsigned long long)zeroed, (unsigned long long)st->dropped);
	(void)ch;
	return zeroed;
}

/* The hooks run between chunks and must not wait for the child: its
 * threads may be waiting for the stream to free aside slots. */
static void op_start(int op, uint32_t first, uint32_t n)
{
	sh->op_done = 0;
	sh->op_first = first;
	sh->op_n = n;
	sh->op = op;
}

static void op_wait(void)
{
	int i;
	for (i = 0; i < 5000 && !sh->op_done; i++)
		usleep(1000);
	ck_assert_msg(sh->op_done, "the child did not do the operation");
}

static void run_consistency(uint32_t npages, uint32_t nthreads, bool thp, uint32_t dontneed_every,
			    const struct lg_snap_opts *o, unsigned pace_us, void (*hook)(int),
			    struct lg_snap_stats *stp)
{
	struct child ch;
	struct t0 *t = calloc(1, sizeof(*t));
	struct lg_snap_stats st;
	struct lg_error e = { 0 };
	struct lg_snap *s;
	uint8_t *out;
	int r;

	ck_assert_ptr_nonnull(t);
	child_start(&ch, npages, nthreads, thp, dontneed_every);
	if (thp && thp_enabled())
		ck_assert_msg(anon_huge_kb(ch.pid) > 0, "no huge pages in the THP target");
	out = malloc(ch.len);
	ck_assert_ptr_nonnull(out);
	s = snapshot(&ch, o, t);
	r = stream(s, &ch, out, pace_us, hook, &e);
	ck_assert_msg(r == 0, "lg_snap_next: %s", e.msg);
	if (hook)
		op_wait();
	ck_assert_msg(lg_snap_close(s, &st, &e) == 0, "lg_snap_close: %s", e.msg);
	ck_assert(!child_has_uw(ch.pid));
	assert_writers_run();
	/* The writers ran during the stream, and pages were taken for them. */
	ck_assert_uint_gt(total_writes(), t->writes);
	ck_assert_uint_gt(st.copied, 0);
	check_t0(&ch, t, out, &st);
	if (stp)
		*stp = st;
	child_end(&ch);
	lg_ranges_free(&t->armed);
	free(t->ref);
	free(t);
	free(out);
}

static struct lg_snap_opts opts(size_t aside)
{
	struct lg_snap_opts o;

	memset(&o, 0, sizeof(o));
	o.aside_pages = aside;
	o.spill_fd = -1;
	o.chunk = 64 << 10;
	return o;
}

START_TEST(test_concurrent_4k)
{
	struct lg_snap_opts o = opts(1024);
	struct lg_snap_stats st;

	run_consistency(4096, 2, false, 0, &o, 1000, NULL, &st);
	ck_assert_uint_gt(st.direct, 0);
	ck_assert_uint_gt(st.zero, 0);	/* the holes at T0 */
	ck_assert_uint_eq(st.dropped, 0);
}
END_TEST

START_TEST(test_shmem)
{
	struct lg_snap_opts o = opts(1024);

	use_shmem = true;
	run_consistency(4096, 2, false, 0, &o, 1000, NULL, NULL);
}
END_TEST

START_TEST(test_ranges)
{
	struct lg_snap_opts o = opts(1024);

	split_ranges = true;
	run_consistency(4096, 2, false, 0, &o, 1000, NULL, NULL);
}
END_TEST

START_TEST(test_concurrent_thp)
{
	struct lg_snap_opts o = opts(2048);

	run_consistency(8192, 2, true, 0, &o, 500, NULL, NULL);
}
END_TEST

/* Streamed in 2 MiB chunks, huge pages nobody writes stay huge. */
START_TEST(test_thp_kept)
{
	struct lg_snap_opts o = opts(64);
	struct child ch;
	struct t0 *t = calloc(1, sizeof(*t));
	struct lg_snap_stats st;
	struct lg_error e = { 0 };
	struct lg_snap *s;
	uint64_t before, after;
	uint8_t *out;

	if (!thp_enabled())
		return;
	o.chunk = 2u << 20;
	child_start(&ch, 8192, 0, true, 0);
	before = anon_huge_kb(ch.pid);
	ck_assert_uint_gt(before, 0);
	out = malloc(ch.len);
	s = snapshot(&ch, &o, t);
	ck_assert_msg(stream(s, &ch, out, 0, NULL, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(lg_snap_close(s, &st, &e), 0);
	after = anon_huge_kb(ch.pid);
	ck_assert_msg(after == before, "AnonHugePages %llu kB before, %llu kB after",
		      (unsigned long long)before, (unsigned long long)after);
	ck_assert(!memcmp(out, t->ref, ch.len));
	ck_assert_uint_eq(st.direct, 8192);
	child_end(&ch);
	lg_ranges_free(&t->armed);
	free(t->ref);
	free(t);
	free(out);
}
END_TEST

START_TEST(test_dontneed)
{
	struct lg_snap_opts o = opts(1024);
	struct lg_snap_stats st;

	run_consistency(4096, 2, false, 16, &o, 1000, NULL, &st);
	ck_assert_uint_gt(st.removes, 0);
	ck_assert_uint_gt(st.dropped, 0);
}
END_TEST

static void unmap_hook(int i)
{
	if (i == 20)
		op_start(OP_UNMAP, 3000, 256);
}

START_TEST(test_munmap)
{
	struct lg_snap_opts o = opts(1024);
	struct lg_snap_stats st;

	run_consistency(4096, 2, false, 0, &o, 1000, unmap_hook, &st);
	ck_assert_uint_gt(st.unmaps, 0);
	/* The unmapped pages were ahead of the stream: those not taken yet
	 * are zeros. */
	ck_assert_msg(st.dropped > 0, "unmapped: %llu dropped, %llu copied, %llu direct",
		      (unsigned long long)st.dropped, (unsigned long long)st.copied,
		      (unsigned long long)st.direct);
}
END_TEST

static void remap_hook(int i)
{
	if (i == 20)
		op_start(OP_REMAP, 2048, 1024);
}

START_TEST(test_mremap)
{
	struct lg_snap_opts o = opts(1024);
	struct lg_snap_stats st;

	/* Followed: the moved pages keep their T0 content (no zeros). */
	run_consistency(4096, 2, false, 0, &o, 1000, remap_hook, &st);
	ck_assert_uint_gt(st.remaps, 0);
	ck_assert_uint_eq(st.dropped, 0);
}
END_TEST

START_TEST(test_tiny_aside)
{
	struct lg_snap_opts o = opts(4);
	struct lg_snap_stats st;

	run_consistency(4096, 2, false, 0, &o, 300, NULL, &st);
	ck_assert_uint_gt(st.waits, 0);
	ck_assert_uint_le(st.aside_peak, 4);
}
END_TEST

START_TEST(test_spill)
{
	struct lg_snap_opts o = opts(4);
	struct lg_snap_stats st;
	char path[] = "/tmp/check_snap_spill_XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	o.spill_fd = fd;
	o.spill_pages = 4096;
	run_consistency(4096, 2, false, 0, &o, 1000, NULL, &st);
	ck_assert_uint_gt(st.spilled, 0);
	close(fd);
}
END_TEST

/* Armed while the child runs (the design without arming in the stop):
 * the same exact T0, with MADV_DONTNEED before and after T0 and holes
 * filled before T0 without a fault. */
static void run_prearm(uint32_t dontneed_every)
{
	struct lg_snap_opts o = opts(1024);
	struct child ch;
	struct t0 *t = calloc(1, sizeof(*t));
	struct lg_snap_stats st;
	struct lg_error e = { 0 };
	struct lg_snap *s;
	uint64_t last = 0, faults = 0;
	uint8_t *out;

	child_start(&ch, 4096, 2, false, dontneed_every);
	/* Holes may be filled before T0 here: their writes do not fault. */
	sh->after_t0 = 1;
	out = malloc(ch.len);
	s = snapshot_prearm(&ch, &o, t, &last, &faults);
	ck_assert_uint_gt(faults, 0);
	ck_assert_msg(stream(s, &ch, out, 1000, NULL, &e) == 0, "%s", e.msg);
	ck_assert_msg(lg_snap_close(s, &st, &e) == 0, "%s", e.msg);
	ck_assert(!child_has_uw(ch.pid));
	assert_writers_run();
	ck_assert_uint_gt(st.copied, 0);
	check_t0(&ch, t, out, &st);
	child_end(&ch);
	lg_ranges_free(&t->armed);
	free(t->ref);
	free(t);
	free(out);
}

START_TEST(test_prearm)
{
	run_prearm(0);
}
END_TEST

START_TEST(test_prearm_dontneed)
{
	run_prearm(16);
}
END_TEST

/* A full store with LG_SNAP_FULL_FAIL: the snapshot fails, nobody waits. */
START_TEST(test_full_fail)
{
	struct lg_snap_opts o = opts(2);
	struct child ch;
	struct t0 *t = calloc(1, sizeof(*t));
	struct lg_error e = { 0 };
	struct lg_snap *s;
	struct lg_snap_chunk c;
	int r, i;

	o.full = LG_SNAP_FULL_FAIL;
	child_start(&ch, 4096, 2, false, 0);
	s = snapshot(&ch, &o, t);
	/* No streaming for a while: the two slots fill at once. */
	assert_writers_run();
	for (i = 0; (r = lg_snap_next(s, &c, &e)) == 1; i++)
		;
	ck_assert_int_eq(r, -ENOBUFS);
	ck_assert_int_eq(lg_snap_close(s, NULL, &e), -ENOBUFS);
	ck_assert(!child_has_uw(ch.pid));
	assert_writers_run();
	child_end(&ch);
	lg_ranges_free(&t->armed);
	free(t->ref);
	free(t);
}
END_TEST

/* Writers blocked on a full store, nobody streaming: closing the engine
 * (an abort) releases them and removes every protection. */
START_TEST(test_abort_releases)
{
	struct lg_snap_opts o = opts(1);
	struct child ch;
	struct t0 *t = calloc(1, sizeof(*t));
	struct lg_snap_stats st;
	struct lg_snap *s;
	uint64_t w;

	child_start(&ch, 4096, 2, false, 0);
	s = snapshot(&ch, &o, t);
	usleep(100000);
	w = total_writes();
	usleep(100000);
	/* Blocked: at most the one slot's worth of progress, the rest of the
	 * writes hit pages already written. */
	ck_assert_uint_lt(total_writes() - w, 100000);
	ck_assert(child_has_uw(ch.pid));
	ck_assert_int_eq(lg_snap_close(s, &st, NULL), 0);
	ck_assert(!child_has_uw(ch.pid));
	assert_writers_run();
	child_end(&ch);
	lg_ranges_free(&t->armed);
	free(t->ref);
	free(t);
}
END_TEST

/* The engine's holder killed with the child's writers blocked in faults:
 * the kernel closes the descriptor and the writers run on. */
START_TEST(test_sigkill_holder)
{
	struct child ch;
	int p[2], st;
	pid_t h;
	char c;

	child_start(&ch, 4096, 2, false, 0);
	ck_assert_int_eq(pipe(p), 0);
	h = fork();
	ck_assert_int_ge(h, 0);
	if (h == 0) {
		struct lg_snap_opts o = opts(1);
		struct t0 *t = calloc(1, sizeof(*t));
		struct lg_snap *s = snapshot(&ch, &o, t);
		(void)s;
		usleep(100000);
		if (write(p[1], "b", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	/* Blocked now: the writers make (almost) no progress. */
	{
		uint64_t w = total_writes();
		usleep(100000);
		ck_assert_uint_lt(total_writes() - w, 100000);
	}
	ck_assert(child_has_uw(ch.pid));
	kill(h, SIGKILL);
	ck_assert_int_eq(waitpid(h, &st, 0), h);
	assert_writers_run();
	ck_assert(!child_has_uw(ch.pid));
	child_end(&ch);
}
END_TEST

/* Arming helpers: re-arming single pages makes them fault again. */
START_TEST(test_rearm_pages)
{
	char why[200];
	int u;
	uint8_t *m;
	uint64_t pages[3];
	struct lg_snap_arm_stats st = { 0 };
	struct lg_error e;

	ck_assert_msg(lg_snap_probe(why, sizeof(why)) == 0, "%s", why);
	u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ck_assert_int_ge(u, 0);
	ck_assert_int_eq(lg_snap_uffd_api(u, &e), 0);
	m = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(m, 1, 16 * PG);
	ck_assert_int_eq(lg_snap_register(u, (uintptr_t)m, (uintptr_t)m + 16 * PG), 0);
	pages[0] = (uintptr_t)m + 2 * PG;
	pages[1] = (uintptr_t)m + 3 * PG;
	pages[2] = (uintptr_t)m + 9 * PG;
	ck_assert_int_eq(lg_snap_rearm_pages(u, pages, 3, &st, &e), 0);
	ck_assert_uint_eq(st.calls, 2);	/* 2-3 merged */
	ck_assert_uint_eq(st.bytes, 3 * PG);
	{
		/* pagemap bit 57: write-protected by userfaultfd */
		uint64_t pm[16];
		int fd = open("/proc/self/pagemap", O_RDONLY);
		ck_assert_int_eq(pread(fd, pm, sizeof(pm), (off_t)((uintptr_t)m / PG * 8)), sizeof(pm));
		close(fd);
		for (int i = 0; i < 16; i++)
			ck_assert_msg(!!(pm[i] & LG_PM_UFFD_WP) == (i == 2 || i == 3 || i == 9),
				      "page %d", i);
	}
	close(u);
	munmap(m, 16 * PG);
}
END_TEST

/* A private file mapping cannot be registered for synchronous WP. */
START_TEST(test_register_file_private)
{
	int u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), fd;
	char path[] = "/tmp/check_snap_file_XXXXXX";
	struct lg_error e;
	void *m;

	ck_assert_int_ge(u, 0);
	ck_assert_int_eq(lg_snap_uffd_api(u, &e), 0);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(ftruncate(fd, PG), 0);
	m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	ck_assert_int_eq(lg_snap_register(u, (uintptr_t)m, (uintptr_t)m + PG), -EINVAL);
	munmap(m, PG);
	close(fd);
	close(u);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("snap");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	char why[200];
	int failed;

	if (lg_snap_probe(why, sizeof(why))) {
		printf("SKIP: synchronous uffd-wp snapshots: %s\n", why);
		return 77;
	}
	tcase_add_test(tc, test_rearm_pages);
	tcase_add_test(tc, test_register_file_private);
	tcase_add_test(tc, test_concurrent_4k);
	tcase_add_test(tc, test_concurrent_thp);
	tcase_add_test(tc, test_shmem);
	tcase_add_test(tc, test_ranges);
	tcase_add_test(tc, test_thp_kept);
	tcase_add_test(tc, test_dontneed);
	tcase_add_test(tc, test_munmap);
	tcase_add_test(tc, test_mremap);
	tcase_add_test(tc, test_tiny_aside);
	tcase_add_test(tc, test_spill);
	tcase_add_test(tc, test_prearm);
	tcase_add_test(tc, test_prearm_dontneed);
	tcase_add_test(tc, test_full_fail);
	tcase_add_test(tc, test_abort_releases);
	tcase_add_test(tc, test_sigkill_holder);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
