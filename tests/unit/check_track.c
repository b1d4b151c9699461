/* Dirty-page trackers, on forked children (injection has check_inject).
 *
 * Built twice: check_track runs the best tracker this kernel has (uffd
 * here); check_track_softdirty (LG_TEST_SOFTDIRTY)
 * runs the tracker tests with soft-dirty, and exits 77 when the kernel
 * lacks CONFIG_MEM_SOFT_DIRTY, saying so. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "proc/proc.h"
#include "ptrace/ptrace.h"
#include "track/track.h"
#include "../kernel-offers.h"

static struct lg_track_probe probe;
static enum lg_track_kind kind;

/* --- a child driven through pipes ---------------------------------------- */

#define REGION_PAGES 4096	/* 16 MiB */
#define MAXIDX 2048

enum { OP_WRITE = 1, OP_DONTNEED, OP_REMAP, OP_EXIT };
struct cmd {
	int op;
	uint32_t n;
	uint32_t idx[MAXIDX];
};

struct child {
	pid_t pid;
	int to, from;		/* command pipe, ack pipe */
	uint64_t region;	/* REGION_PAGES pages */
};

static void child_loop(int in, int out, char *region)
{
	static struct cmd c;
	for (;;) {
		size_t got = 0;
		uint32_t i;
		char ack = 'k';
		while (got < sizeof(c)) {
			ssize_t n = read(in, (char *)&c + got, sizeof(c) - got);
			if (n <= 0)
				_exit(0);
			got += n;
		}
		switch (c.op) {
		case OP_WRITE:
			for (i = 0; i < c.n; i++)
				region[(size_t)c.idx[i] * LG_PAGE_SIZE + 7] += 1;
			break;
		case OP_DONTNEED:
			for (i = 0; i < c.n; i++)
				madvise(region + (size_t)c.idx[i] * LG_PAGE_SIZE, LG_PAGE_SIZE,
					MADV_DONTNEED);
			break;
		case OP_REMAP:
			/* A new mapping at the same place, populated. */
			if (mmap(region, (size_t)REGION_PAGES * LG_PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
				ack = 'e';
			madvise(region, (size_t)REGION_PAGES * LG_PAGE_SIZE, MADV_NOHUGEPAGE);
			for (i = 0; i < 10; i++)
				region[(size_t)i * LG_PAGE_SIZE] = 1;
			break;
		case OP_EXIT:
			_exit(0);
		}
		if (write(out, &ack, 1) != 1)
			_exit(1);
	}
}

/* Fork a child with a 16 MiB private region of which the first POPULATED
 * pages are touched.  THP is turned off on it so that page granularity is
 * exact (huge pages are measured separately). */
static void child_start(struct child *ch, uint32_t populated)
{
	int a[2], b[2];
	char *region;

	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(b), 0);
	region = mmap(NULL, (size_t)REGION_PAGES * LG_PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(region, MAP_FAILED);
	madvise(region, (size_t)REGION_PAGES * LG_PAGE_SIZE, MADV_NOHUGEPAGE);
	ch->region = (uintptr_t)region;
	ch->pid = fork();
	ck_assert_int_ge(ch->pid, 0);
	if (ch->pid == 0) {
		uint32_t i;
		close(a[1]);
		close(b[0]);
		for (i = 0; i < populated; i++)
			region[(size_t)i * LG_PAGE_SIZE] = (char)(i | 1);
		if (write(b[1], "k", 1) != 1)
			_exit(1);
		child_loop(a[0], b[1], region);
	}
	munmap(region, (size_t)REGION_PAGES * LG_PAGE_SIZE);
	close(a[0]);
	close(b[1]);
	ch->to = a[1];
	ch->from = b[0];
	{
		char ack;
		ck_assert_int_eq(read(ch->from, &ack, 1), 1);
	}
}

#ifdef LG_TEST_SOFTDIRTY
/* The same child, its region 2 MiB aligned, with MADV_HUGEPAGE and every
 * page touched: transparent huge pages where the kernel gives them. */
static void child_start_huge(struct child *ch)
{
	int a[2], b[2];
	size_t len = (size_t)REGION_PAGES * LG_PAGE_SIZE;
	char *map, *region;
	char ack;

	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(b), 0);
	map = mmap(NULL, len + (2u << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(map, MAP_FAILED);
	region = (char *)(((uintptr_t)map + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	madvise(region, len, MADV_HUGEPAGE);
	ch->region = (uintptr_t)region;
	ch->pid = fork();
	ck_assert_int_ge(ch->pid, 0);
	if (ch->pid == 0) {
		close(a[1]);
		close(b[0]);
		memset(region, 1, len);
		if (write(b[1], "k", 1) != 1)
			_exit(1);
		child_loop(a[0], b[1], region);
	}
	munmap(map, len + (2u << 20));
	close(a[0]);
	close(b[1]);
	ch->to = a[1];
	ch->from = b[0];
	ck_assert_int_eq(read(ch->from, &ack, 1), 1);
}

/* Is the 2 MiB chunk at A of PID a transparent huge page: 1, 0, or -1 when
 * this process cannot tell (PFNs and /proc/kpageflags are root's). */
static int is_huge(pid_t pid, uint64_t a)
{
	char path[64];
	uint64_t ent = 0, fl = 0;
	int pm, kf, r = -1;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm = open(path, O_RDONLY);
	kf = open("/proc/kpageflags", O_RDONLY);
	if (pm >= 0 && kf >= 0 && pread(pm, &ent, 8, (off_t)(a / LG_PAGE_SIZE * 8)) == 8 &&
	    (ent >> 63) && (ent & ((1ull << 55) - 1)) &&
	    pread(kf, &fl, 8, (off_t)((ent & ((1ull << 55) - 1)) * 8)) == 8)
		r = (fl >> 22 & 1) && (fl >> 15 & 1);	/* KPF_THP, KPF_COMPOUND_HEAD */
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	return r;
}
#endif

static void child_cmd(struct child *ch, int op, const uint32_t *idx, uint32_t n)
{
	static struct cmd c;
	char ack;
	c.op = op;
	c.n = n;
	if (n)
		memcpy(c.idx, idx, n * sizeof(*idx));
	ck_assert_int_eq(write(ch->to, &c, sizeof(c)), sizeof(c));
	ck_assert_int_eq(read(ch->from, &ack, 1), 1);
	ck_assert_int_eq(ack, 'k');
}

static void child_end(struct child *ch)
{
	int st;
	close(ch->to);
	close(ch->from);
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, &st, 0);
}

static void stop(pid_t pid, struct lg_tgroup *g)
{
	struct lg_error e = { 0 };
	int r = lg_ptrace_stop_all(pid, PTRACE_O_TRACESYSGOOD, g, &e);
	ck_assert_msg(r == 0, "stop_all: %s", e.msg);
}

static void release(struct lg_tgroup *g)
{
	ck_assert_int_eq(lg_ptrace_release_all(g, NULL), 0);
	lg_tgroup_free(g);
}

/* Does the set of pages in R equal exactly the sorted indexes IDX[N]?
 * Returns misses; *FP gets false positives. */
static size_t compare_pages(const struct lg_ranges *r, uint64_t base, const uint32_t *idx,
			    uint32_t n, size_t *fp)
{
	static unsigned char seen[REGION_PAGES];
	size_t i, misses = 0;
	uint64_t a;

	memset(seen, 0, sizeof(seen));
	*fp = 0;
	for (i = 0; i < r->n; i++)
		for (a = r->v[i].start; a < r->v[i].end; a += LG_PAGE_SIZE) {
			ck_assert(a >= base && a < base + (uint64_t)REGION_PAGES * LG_PAGE_SIZE);
			seen[(a - base) / LG_PAGE_SIZE] = 1;
		}
	for (i = 0; i < n; i++) {
		if (!seen[idx[i]])
			misses++;
		seen[idx[i]] = 2;
	}
	for (i = 0; i < REGION_PAGES; i++)
		if (seen[i] == 1)
			(*fp)++;
	return misses;
}

static uint32_t rnd_pages(uint32_t *idx, uint32_t n, unsigned int *seed)
{
	static unsigned char used[REGION_PAGES];
	uint32_t k = 0;
	memset(used, 0, sizeof(used));
	while (k < n) {
		uint32_t p = (uint32_t)rand_r(seed) % REGION_PAGES;
		if (!used[p]) {
			used[p] = 1;
			idx[k++] = p;
		}
	}
	return k;
}

static bool smaps_has_uw(pid_t pid)
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

/* Open a tracker on CH with its region registered and armed; returns the
 * populated pages found by arming. */
static struct lg_tracker *track_region(struct child *ch, struct lg_ranges *pop)
{
	struct lg_tgroup g;
	struct lg_tracker *t;
	struct lg_error e = { 0 };
	enum lg_track_reg res;
	struct lg_range rg = { ch->region, ch->region + (uint64_t)REGION_PAGES * LG_PAGE_SIZE };
	int r;

	stop(ch->pid, &g);
	r = lg_tracker_open(kind, &probe, &g, &t, &e);
	ck_assert_msg(r == 0, "tracker_open: %s", e.msg);
	ck_assert_int_eq(lg_tracker_register(t, rg.start, rg.end, &res, &e), 0);
	ck_assert_int_eq(res, LG_TRACK_REG_OK);
	release(&g);
	r = lg_tracker_arm(t, &rg, 1, pop, NULL, &e);
	ck_assert_msg(r == 0, "arm: %s", e.msg);
	return t;
}

static void collect(struct child *ch, struct lg_tracker *t, bool rearm, struct lg_ranges *w,
		    bool *recreated)
{
	struct lg_range rg = { ch->region, ch->region + (uint64_t)REGION_PAGES * LG_PAGE_SIZE };
	struct lg_error e = { 0 };
	struct lg_tgroup g;
	bool stopped = rearm && lg_tracker_rearm_needs_stop(t);
	int r;

	if (stopped)
		stop(ch->pid, &g);
	lg_ranges_clear(w);
	r = lg_tracker_collect(t, &rg, 1, rearm, w, recreated, &e);
	ck_assert_msg(r == 0, "collect: %s", e.msg);
	if (stopped)
		release(&g);
}

/* --- tracker tests --------------------------------------------------------- */

START_TEST(test_exact_pages)
{
	struct child ch;
	struct lg_ranges pop = { 0 }, w = { 0 };
	static uint32_t idx[MAXIDX], pidx[3000];
	struct lg_tracker *t;
	unsigned int seed = 1234;
	size_t fp, misses, i;
	bool rec = false;
	int round;

	child_start(&ch, 3000);
	t = track_region(&ch, &pop);
	for (i = 0; i < 3000; i++)
		pidx[i] = (uint32_t)i;
	/* Arming lists exactly the populated pages, holes left out. */
	misses = compare_pages(&pop, ch.region, pidx, 3000, &fp);
	ck_assert_uint_eq(misses, 0);
	ck_assert_uint_eq(fp, 0);

	/* Nothing written yet: nothing reported. */
	collect(&ch, t, true, &w, &rec);
	ck_assert_uint_eq(lg_ranges_bytes(&w), 0);

	/* Rounds of random writes, to populated pages and holes alike: each
	 * collect reports exactly that round's pages (re-arming works). */
	for (round = 0; round < 5; round++) {
		uint32_t n = rnd_pages(idx, 300 + round * 300, &seed);
		child_cmd(&ch, OP_WRITE, idx, n);
		collect(&ch, t, true, &w, &rec);
		ck_assert(!rec);
		misses = compare_pages(&w, ch.region, idx, n, &fp);
		ck_assert_msg(misses == 0, "round %d: %zu of %u written pages missed", round, misses, n);
		ck_assert_msg(fp == 0, "round %d: %zu false positives", round, fp);
	}

	/* Without re-arming, the same pages are reported again. */
	{
		uint32_t n = rnd_pages(idx, 500, &seed);
		child_cmd(&ch, OP_WRITE, idx, n);
		collect(&ch, t, false, &w, &rec);
		ck_assert_uint_eq(compare_pages(&w, ch.region, idx, n, &fp), 0);
		ck_assert_uint_eq(fp, 0);
		collect(&ch, t, false, &w, &rec);
		ck_assert_uint_eq(compare_pages(&w, ch.region, idx, n, &fp), 0);
		ck_assert_uint_eq(fp, 0);
		collect(&ch, t, true, &w, &rec);
	}

	/* MADV_DONTNEED then a write: the new page is reported.  A page only
	 * dropped is not (the pre-copy loop's final scan of populated pages
	 * catches that case). */
	{
		uint32_t d[2] = { 10, 20 }, wr[1] = { 10 };
		child_cmd(&ch, OP_DONTNEED, d, 2);
		child_cmd(&ch, OP_WRITE, wr, 1);
		collect(&ch, t, true, &w, &rec);
		ck_assert_uint_eq(compare_pages(&w, ch.region, wr, 1, &fp), 0);
		lg_ranges_clear(&pop);
		ck_assert_int_eq(lg_tracker_populated(t, ch.region,
						      ch.region + (uint64_t)REGION_PAGES * LG_PAGE_SIZE,
						      &pop, NULL), 0);
		for (i = 0; i < pop.n; i++)
			ck_assert(!(ch.region + 20 * LG_PAGE_SIZE >= pop.v[i].start &&
				    ch.region + 20 * LG_PAGE_SIZE < pop.v[i].end));
	}

	/* A mapping replaced at the same place: uffd says so; soft-dirty
	 * reports all its pages as written. */
	child_cmd(&ch, OP_REMAP, NULL, 0);
	rec = false;
	collect(&ch, t, true, &w, &rec);
	if (kind == LG_TRACK_UFFD) {
		ck_assert(rec);
	} else {
		uint32_t first[10];
		for (i = 0; i < 10; i++)
			first[i] = (uint32_t)i;
		ck_assert_uint_eq(compare_pages(&w, ch.region, first, 10, &fp), 0);
	}

	{
		struct lg_track_teardown td;
		ck_assert_int_eq(lg_tracker_close(t, &td, NULL), 0);
	}
	ck_assert(!smaps_has_uw(ch.pid));
	child_cmd(&ch, OP_WRITE, idx, 100);
	lg_ranges_free(&pop);
	lg_ranges_free(&w);
	child_end(&ch);
}
END_TEST

/* A tracker killed with SIGKILL, before arming (target stopped) and after
 * arming (target running): the target runs on, with nothing armed. */
static void killed_tracker(bool while_stopped)
{
	struct child ch;
	int p[2], st;
	pid_t tr;
	char c;
	static uint32_t idx[MAXIDX];
	uint32_t i;

	child_start(&ch, 2000);
	ck_assert_int_eq(pipe(p), 0);
	tr = fork();
	ck_assert_int_ge(tr, 0);
	if (tr == 0) {
		struct lg_tgroup g;
		struct lg_tracker *t;
		struct lg_error e;
		struct lg_ranges pop = { 0 };
		enum lg_track_reg res;
		struct lg_range rg = { ch.region, ch.region + (uint64_t)REGION_PAGES * LG_PAGE_SIZE };
		if (lg_ptrace_stop_all(ch.pid, PTRACE_O_TRACESYSGOOD, &g, &e) ||
		    lg_tracker_open(kind, &probe, &g, &t, &e) ||
		    lg_tracker_register(t, rg.start, rg.end, &res, &e))
			_exit(1);
		if (!while_stopped) {
			lg_ptrace_release_all(&g, NULL);
			if (lg_tracker_arm(t, &rg, 1, &pop, NULL, &e))
				_exit(1);
		}
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	if (kind == LG_TRACK_UFFD)
		ck_assert(smaps_has_uw(ch.pid));
	kill(tr, SIGKILL);
	ck_assert_int_eq(waitpid(tr, &st, 0), tr);
	/* The target answers (it runs), writes every page, and nothing of
	 * the tracking is left. */
	for (i = 0; i < MAXIDX; i++)
		idx[i] = i;
	child_cmd(&ch, OP_WRITE, idx, MAXIDX);
	ck_assert(!smaps_has_uw(ch.pid));
	child_end(&ch);
}

START_TEST(test_sigkill_armed)
{
	killed_tracker(false);
}
END_TEST

START_TEST(test_sigkill_stopped)
{
	killed_tracker(true);
}
END_TEST

#ifndef LG_TEST_SOFTDIRTY
/* --- registration failure classes (uffd) ----------------------------------- */

START_TEST(test_register_classes)
{
	int a[2], b[2], st;
	pid_t pid;
	struct {
		uint64_t ro, busy;
	} addrs;
	struct lg_tgroup g;
	struct lg_tracker *t;
	struct lg_error e = { 0 };
	struct lg_maps m = { 0 };
	enum lg_track_reg res;
	size_t i;
	bool saw_vdso = false;

	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(b), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Read-only file mapped shared: no VM_MAYWRITE.  A region
		 * registered with our own userfaultfd: EBUSY for the dumper. */
		int fd = open("/proc/self/exe", O_RDONLY);
		void *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		char *busy = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int u = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
		struct uffdio_api api = { .api = UFFD_API };
		struct uffdio_register reg = { .range = { (uintptr_t)busy, 65536 },
					       .mode = UFFDIO_REGISTER_MODE_MISSING };
		char c;
		close(a[1]);
		busy[0] = 1;
		if (ro == MAP_FAILED || u < 0 || ioctl(u, UFFDIO_API, &api) ||
		    ioctl(u, UFFDIO_REGISTER, &reg))
			_exit(2);
		addrs.ro = (uintptr_t)ro;
		addrs.busy = (uintptr_t)busy;
		if (write(b[1], &addrs, sizeof(addrs)) != sizeof(addrs))
			_exit(1);
		if (read(a[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(read(b[0], &addrs, sizeof(addrs)), sizeof(addrs));
	stop(pid, &g);
	ck_assert_msg(lg_tracker_open(LG_TRACK_UFFD, &probe, &g, &t, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(lg_tracker_register(t, addrs.ro, addrs.ro + 4096, &res, &e), 0);
	ck_assert_int_eq(res, LG_TRACK_REG_NOWRITE);
	ck_assert_int_eq(lg_tracker_register(t, addrs.busy, addrs.busy + 65536, &res, &e), 0);
	ck_assert_int_eq(res, LG_TRACK_REG_BUSY);
	ck_assert_int_eq(lg_maps_read(pid, false, &m, &e), 0);
	for (i = 0; i < m.n; i++) {
		if (!lg_mapping_is_special(&m.v[i]))
			continue;
		ck_assert_int_eq(lg_tracker_register(t, m.v[i].start, m.v[i].end, &res, &e), 0);
		ck_assert_msg(res == LG_TRACK_REG_SPECIAL, "%s: %s", m.v[i].name,
			      lg_track_reg_name(res));
		if (!strcmp(m.v[i].name, "[vdso]"))
			saw_vdso = true;
	}
	ck_assert(saw_vdso);
	lg_maps_free(&m);
	release(&g);
	ck_assert_int_eq(lg_tracker_close(t, NULL, NULL), 0);
	close(a[1]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(a[0]);
	close(b[0]);
	close(b[1]);
}
END_TEST

/* A seccomp-filtered target is not injected into. */
START_TEST(test_seccomp_refused)
{
	int a[2], b[2], st;
	pid_t pid;
	struct lg_tgroup g;
	struct lg_tracker *t;
	struct lg_error e = { 0 };
	char c;

	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(b), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(a[1]);
		/* Strict mode allows read/write/exit only. */
		if (write(b[1], "r", 1) != 1)
			_exit(1);
		if (syscall(SYS_seccomp, 0 /* SECCOMP_SET_MODE_STRICT */, 0, NULL))
			_exit(3);
		if (read(a[0], &c, 1) < 0)
			syscall(SYS_exit, 1);
		syscall(SYS_exit, 0);
	}
	ck_assert_int_eq(read(b[0], &c, 1), 1);
	usleep(20000);
	stop(pid, &g);
	ck_assert_int_ne(lg_tracker_open(LG_TRACK_UFFD, &probe, &g, &t, &e), 0);
	ck_assert_msg(strstr(e.msg, "seccomp") != NULL, "%s", e.msg);
	release(&g);
	close(a[1]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	close(a[0]);
	close(b[0]);
	close(b[1]);
}
END_TEST

/* The teardown's chunk sizes are the tracker's options: 3000 contiguous
 * pages take one UFFDIO_WRITEPROTECT call with the default 32 MiB chunks
 * or with none, one a MiB with 1 MiB chunks; every range is unregistered
 * whatever the unregister chunk. */
static uint64_t teardown_chunks(struct child *ch, const struct lg_track_opts *o)
{
	struct lg_ranges pop = { 0 };
	struct lg_track_teardown td;
	struct lg_tracker *t = track_region(ch, &pop);

	ck_assert_uint_eq(lg_ranges_bytes(&pop), 3000ull * LG_PAGE_SIZE);
	if (o)
		lg_tracker_set_opts(t, o);
	ck_assert_int_eq(lg_tracker_close(t, &td, NULL), 0);
	ck_assert(!smaps_has_uw(ch->pid));
	lg_ranges_free(&pop);
	return td.chunks;
}

START_TEST(test_teardown_chunks)
{
	struct lg_track_opts o = LG_TRACK_OPTS_DEFAULT;
	struct child ch;

	ck_assert_uint_eq(o.unprotect_chunk, 32ull << 20);
	ck_assert_uint_eq(o.unregister_chunk, 32ull << 20);
	child_start(&ch, 3000);
	ck_assert_uint_eq(teardown_chunks(&ch, NULL), 1);
	o.unprotect_chunk = o.unregister_chunk = 1 << 20;
	ck_assert_uint_eq(teardown_chunks(&ch, &o),
			  (3000ull * LG_PAGE_SIZE + (1 << 20) - 1) / (1 << 20));
	o.unprotect_chunk = o.unregister_chunk = 0;
	ck_assert_uint_eq(teardown_chunks(&ch, &o), 1);
	child_end(&ch);
}
END_TEST

#endif /* !LG_TEST_SOFTDIRTY */

#ifdef LG_TEST_SOFTDIRTY
/* A huge page written once reads as 512 written pages; the tracker splits
 * it in that collect's stop, before the clear, so the next collect reports
 * exactly the pages written (a split after the clear would report all 512
 * again: the split sets the soft-dirty bit of every new PTE); at close the
 * chunk is a huge page again. */
START_TEST(test_thp_split)
{
	struct child ch;
	struct lg_ranges pop = { 0 }, w = { 0 };
	struct lg_track_teardown td;
	struct lg_tracker *t;
	uint32_t one[1] = { 5 }, three[3] = { 1, 100, 511 }, other[1] = { 512 + 7 };
	size_t fp;
	bool rec = false;
	int h, h2;

	child_start_huge(&ch);
	h = is_huge(ch.pid, ch.region);
	if (h == 1 && is_huge(ch.pid, ch.region + (2u << 20)) != 1)
		h = 0;
	h2 = is_huge(ch.pid, ch.region + (2u << 20) * 2);
	if (h != 1) {
		printf("test_thp_split: chunks 0 and 1 are %s: nothing to split here (THP %s)\n",
		       h == 0 ? "not both huge pages" : "unknown (not root)",
		       h == 0 ? "off or not given" : "unknown");
		child_end(&ch);
		return;
	}
	t = track_region(&ch, &pop);
	child_cmd(&ch, OP_WRITE, one, 1);
	child_cmd(&ch, OP_WRITE, other, 1);
	collect(&ch, t, true, &w, &rec);
	/* Two huge pages written once each: both whole. */
	ck_assert_uint_eq(lg_ranges_bytes(&w), 2 * 512 * LG_PAGE_SIZE);
	ck_assert_msg(lg_tracker_thp(t)->split == 2, "split %llu, why: %s",
		      (unsigned long long)lg_tracker_thp(t)->split, lg_tracker_thp(t)->why);
	ck_assert_int_eq(is_huge(ch.pid, ch.region), 0);
	/* Not written: left as it was. */
	ck_assert_int_eq(is_huge(ch.pid, ch.region + (2u << 20) * 2), h2);
	child_cmd(&ch, OP_WRITE, three, 3);
	collect(&ch, t, true, &w, &rec);
	ck_assert_uint_eq(compare_pages(&w, ch.region, three, 3, &fp), 0);
	ck_assert_msg(fp == 0, "%zu false positives after the split", fp);
	ck_assert_uint_eq(lg_tracker_thp(t)->split, 2);
	/* MADV_COLLAPSE wants a writable PTE in the chunk (6.1): the clear
	 * left them all read-only; a write after it makes one writable. */
	child_cmd(&ch, OP_WRITE, three, 1);
	child_cmd(&ch, OP_WRITE, other, 1);
	ck_assert_int_eq(lg_tracker_close(t, &td, NULL), 0);
	ck_assert_msg(td.thp.collapsed == 2, "collapsed %llu, skipped %llu, refused %llu: %s",
		      (unsigned long long)td.thp.collapsed, (unsigned long long)td.thp.collapse_skipped,
		      (unsigned long long)td.thp.collapse_refused, td.thp.why);
	ck_assert_int_eq(is_huge(ch.pid, ch.region), 1);
	ck_assert_int_eq(is_huge(ch.pid, ch.region + (2u << 20)), 1);
	lg_ranges_free(&pop);
	lg_ranges_free(&w);
	child_end(&ch);
}
END_TEST
#endif

int main(void)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	char why[160];
	int failed;

	lg_track_probe(&probe);
	/* A skip only when the kernel really lacks the tracker: a probe that
	 * wrongly says so would hide every test below. */
#ifdef LG_TEST_SOFTDIRTY
	if (!probe.soft_dirty) {
		if (lgt_kernel_offers_soft_dirty(why, sizeof(why))) {
			printf("FAIL: lg_track_probe: no soft-dirty tracker (%s), but the kernel has it (%s)\n",
			       probe.soft_dirty_why, why);
			return 1;
		}
		printf("SKIP: soft-dirty tracker: %s\n", probe.soft_dirty_why);
		return 77;
	}
	kind = LG_TRACK_SOFTDIRTY;
#else
	if (!probe.uffd) {
		if (lgt_kernel_offers_uffd(why, sizeof(why))) {
			printf("FAIL: lg_track_probe: no uffd tracker (%s), but the kernel has it (%s)\n",
			       probe.uffd_why, why);
			return 1;
		}
		printf("SKIP: uffd tracker: %s\n", probe.uffd_why);
		return 77;
	}
	kind = LG_TRACK_UFFD;
#endif
	/* Created after the skips, which would leak them (LeakSanitizer). */
	s = suite_create("track");
	tc = tcase_create("core");
#ifndef LG_TEST_SOFTDIRTY
	tcase_add_test(tc, test_register_classes);
	tcase_add_test(tc, test_seccomp_refused);
	tcase_add_test(tc, test_teardown_chunks);
#else
	tcase_add_test(tc, test_thp_split);
#endif
	printf("tracker: %s\n", lg_track_kind_name(kind));
	tcase_add_test(tc, test_exact_pages);
	tcase_add_test(tc, test_sigkill_armed);
	tcase_add_test(tc, test_sigkill_stopped);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	if (srunner_ntests_run(sr) == 0) {
		printf("FAIL: no test ran\n");
		failed = 1;
	}
	srunner_free(sr);
	return failed ? 1 : 0;
}
