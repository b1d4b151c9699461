/* The soft-dirty tracker: clear_refs "4" re-arms every page of the process,
 * bit 55 of /proc/PID/pagemap says which were written since
 * (CONFIG_MEM_SOFT_DIRTY, 3.11).  Re-arming is not atomic with reading, so
 * a collect that re-arms needs the target stopped.
 *
 * Transparent huge pages.  A huge page mapped by one PMD has one soft-dirty
 * bit: one write marks all its 512 pages written.  Debian's and RHEL's
 * kernels default THP to "always", and there a target writing random pages
 * leaves every huge page dirty at every pass: on Debian 12's 6.1 (qemu, a
 * 32 MiB target, 200 random pages/s) passes of 8220/7688/7688 pages and a
 * final stop of 8200 pages, as long as stop mode's.  Copying dirty huge
 * pages as 2 MiB units does not help there: they are all dirty.  So a 2 MiB
 * chunk that a re-arming pass finds written whole is split in that pass's
 * stop, between the reading and the clear: process_madvise(2) (5.10)
 * MADV_COLD on one 4 KiB page of it.  madvise_cold_or_pageout_pte_range()
 * (5.4) splits a huge page the advised range covers only in part.  The
 * split sets the soft-dirty bit of all 512 new PTEs (see sd_collect()), so
 * it must come before the clear, which then re-arms each 4 KiB page: from
 * the next pass on the chunk is tracked per page.  Same target split this
 * way beforehand: passes of 8220/49 and a final stop of 37 pages.  The
 * splits are bounded in time per stop (the pause target); what is left
 * waits for the next pass.  The advised page is deactivated (moved to the
 * inactive LRU list), one 4 KiB page a huge page.  Which chunks are huge
 * pages /proc/kpageflags says (root only); without it every chunk written
 * whole is advised, up to SPLIT_ASKS times (khugepaged may collapse one
 * again meanwhile: a collapse marks the new PMD dirty and soft-dirty).
 *
 * Split huge pages cost the process TLB reach (6-16% slower random writes
 * measured after a split).  At close the chunks split are collapsed again
 * with process_madvise(MADV_COLLAPSE) (6.1), the target running, when all
 * their pages are still there (a collapse fills missing ones, which would
 * grow the process); khugepaged would also collapse them in time (10-20 s
 * with its defaults on that 6.1).
 *
 * Not used: MADV_NOHUGEPAGE changes the VMA's flags for good (and needs
 * injecting madvise(2) into the target); PR_SET_THP_DISABLE likewise, and
 * would outlive a lgcore killed mid-dump.  process_madvise(2) needs
 * CAP_SYS_NICE over the target (5.10+): without it nothing is split, and
 * the reason is reported. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "mem/mem.h"
#include "common/clock.h"
#include "common/grow.h"
#include "ptrace/inject.h"
#include "track/track_impl.h"

#define HUGE_SIZE (2ull << 20)		/* x86-64's PMD size */
#define SPLIT_ASKS 3
#define MADV_BATCH 64			/* iovecs per process_madvise(2) */
#define SPLIT_BATCH 8			/* chunks split between two looks at the clock */

static int pagemap_entry(int pm, uint64_t addr, uint64_t *e)
{
	return lg_pagemap_entries(pm, addr, e, 1) == 1 ? 0 : -1;
}

/* Soft-dirty on a page of our own: clear our bits (only this process is
 * touched), write, and see bit 55 come back.  A kernel without the option
 * accepts "4" and never sets the bit. */
static void sd_probe(struct lg_track_probe *p)
{
	int pm = -1, cr = -1;
	uint64_t before = 0, after = 0;
	volatile char *page;

	page = mmap(NULL, LG_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		snprintf(p->soft_dirty_why, sizeof(p->soft_dirty_why), "mmap: %s", strerror(errno));
		return;
	}
	page[0] = 1;
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	cr = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (pm < 0 || cr < 0 || write(cr, "4", 1) != 1) {
		snprintf(p->soft_dirty_why, sizeof(p->soft_dirty_why),
			 "/proc/self/clear_refs: %s", strerror(errno));
		goto out;
	}
	if (pagemap_entry(pm, (uintptr_t)page, &before))
		goto out;
	page[0] = 2;
	if (pagemap_entry(pm, (uintptr_t)page, &after))
		goto out;
	if (!(before & LG_PM_SOFT_DIRTY) && (after & LG_PM_SOFT_DIRTY))
		p->soft_dirty = true;
	else
		snprintf(p->soft_dirty_why, sizeof(p->soft_dirty_why),
			 "kernel lacks CONFIG_MEM_SOFT_DIRTY (pagemap bit 55 %s)",
			 (after & LG_PM_SOFT_DIRTY) ? "not cleared" : "never set");
out:
	if (!p->soft_dirty && !p->soft_dirty_why[0])
		snprintf(p->soft_dirty_why, sizeof(p->soft_dirty_why), "/proc/self/pagemap: %s",
			 strerror(errno));
	if (pm >= 0)
		close(pm);
	if (cr >= 0)
		close(cr);
	munmap((void *)page, LG_PAGE_SIZE);
}

static int sd_open(struct lg_tracker *t, const struct lg_track_probe *probe, struct lg_tgroup *g,
		   struct lg_error *err)
{
	char path[64];
	int r;

	if (!probe->soft_dirty)
		return lg_failx(err, ENOTSUP, "soft-dirty tracker unavailable: %s",
				probe->soft_dirty_why);
	if ((r = lg_track_open_pagemap(t, err)))
		return r;
	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)t->pid);
	if ((t->clear_refs = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return lg_fail(err, errno, "%s", path);
	/* pidfd_open(2), 5.3: without it nothing is split. */
	if ((t->pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0)) < 0)
		snprintf(t->thp.why, sizeof(t->thp.why), "pidfd_open: %s", strerror(errno));
	/* Root only (and pagemap shows PFNs only to CAP_SYS_ADMIN): which
	 * chunks are huge pages.  Without it every chunk written whole is
	 * advised, and none is collapsed at close. */
	t->kpageflags = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	return lg_track_alloc_pmbuf(t, err);
}

static int sd_register(struct lg_tracker *t, uint64_t start, uint64_t end, enum lg_track_reg *res,
		       struct lg_error *err)
{
	*res = LG_TRACK_REG_OK;
	if (lg_tracker_add_reg(t, start, end))
		return lg_fail(err, ENOMEM, "tracker");
	return 0;
}

static int clear_soft_dirty(struct lg_tracker *t, struct lg_error *err)
{
	/* Clears the bits of the whole process: anyone else using them
	 * (CRIU's incremental dumps) loses them. */
	if (pwrite(t->clear_refs, "4", 1, 0) != 1)
		return lg_fail(err, errno, "writing /proc/%d/clear_refs", (int)t->pid);
	return 0;
}

static int sd_arm(struct lg_tracker *t, const struct lg_range *rg, size_t n, struct lg_ranges *pop,
		  bool *recreated, struct lg_error *err)
{
	size_t i;
	int r;

	/* Clear first, list after: a page written in between is both listed
	 * and dirty, never missed. */
	if ((r = clear_soft_dirty(t, err)))
		return r;
	for (i = 0; i < n; i++) {
		if (recreated)
			recreated[i] = false;
		if ((r = lg_track_pagemap_select(t, rg[i].start, rg[i].end,
						 LG_PM_PRESENT | LG_PM_SWAPPED, pop, err)))
			return r;
	}
	return 0;
}

static void split_whole(struct lg_tracker *t, const struct lg_range *w, size_t nw);

/* The pages of [START, END) written since the last clear, into W, and its
 * holes (neither present nor swapped), into HOLES.  A page that was a hole
 * at the last re-arming collect (t->holes, cursor *HC) and is present now
 * counts as written: khugepaged may have filled it (a collapse puts zeros
 * where a page was zapped) while we held the target stopped between
 * reading pagemap and clearing, and the clear took the collapse's
 * soft-dirty bit with it.  A page copied before it was zapped would keep
 * its old bytes in the core otherwise (seen on 6.1 with THP always). */
static int sd_walk(struct lg_tracker *t, uint64_t start, uint64_t end, struct lg_ranges *w,
		   struct lg_ranges *holes, size_t *hc, struct lg_error *err)
{
	uint64_t a = start, p;
	size_t want, i;
	long n;

	while (a < end) {
		want = (end - a) / LG_PAGE_SIZE;
		if (want > LG_TRACK_PMBUF)
			want = LG_TRACK_PMBUF;
		n = lg_pagemap_entries(t->pagemap, a, t->pmbuf, want);
		if (n < 0)
			return lg_fail(err, (int)-n, "reading /proc/%d/pagemap", (int)t->pid);
		if (n == 0)
			break;
		for (i = 0; i < (size_t)n; i++) {
			uint64_t e = t->pmbuf[i];
			bool was_hole;
			p = a + i * LG_PAGE_SIZE;
			while (*hc < t->holes.n && t->holes.v[*hc].end <= p)
				(*hc)++;
			was_hole = *hc < t->holes.n && t->holes.v[*hc].start <= p;
			if ((e & LG_PM_SOFT_DIRTY) ||
			    (was_hole && (e & (LG_PM_PRESENT | LG_PM_SWAPPED)))) {
				if (lg_ranges_add(w, p, p + LG_PAGE_SIZE))
					return lg_fail(err, ENOMEM, "page list");
			} else if (!(e & (LG_PM_PRESENT | LG_PM_SWAPPED)) &&
				   lg_ranges_add(holes, p, p + LG_PAGE_SIZE)) {
				return lg_fail(err, ENOMEM, "page list");
			}
		}
		a += (uint64_t)n * LG_PAGE_SIZE;
	}
	return 0;
}

static int sd_collect(struct lg_tracker *t, const struct lg_range *rg, size_t n, bool rearm,
		      struct lg_ranges *written, bool *recreated, struct lg_error *err)
{
	struct lg_ranges holes = { 0 };
	size_t i, n0 = written->n, hc = 0;
	int r = 0;

	/* A new mapping at the same place has VM_SOFTDIRTY: all its pages
	 * read as dirty, so nothing is lost without a flag. */
	for (i = 0; i < n && !r; i++) {
		if (recreated)
			recreated[i] = false;
		r = sd_walk(t, rg[i].start, rg[i].end, written, &holes, &hc, err);
	}
	if (r || !rearm)
		goto out;
	/* Split before the clear: a split sets the soft-dirty bit of all 512
	 * new PTEs (x86's pte_mkdirty() sets _PAGE_SOFT_DIRTY too, and
	 * __split_huge_pmd_locked() applies it to an anonymous THP, which is
	 * always dirty; 6.1), so a split after the clear makes the next pass
	 * find the whole chunk written again. */
	split_whole(t, written->v + n0, written->n - n0);
	if ((r = clear_soft_dirty(t, err)))
		goto out;
	/* The holes the next collect compares with. */
	lg_ranges_free(&t->holes);
	t->holes = holes;
	holes = (struct lg_ranges){ 0 };
out:
	lg_ranges_free(&holes);
	return r;
}

/* The chunk at ADDR in t->chunks: its index, or where it would go. */
static size_t chunk_find(const struct lg_tracker *t, uint64_t addr)
{
	size_t lo = 0, hi = t->nchunks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->chunks[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#define KPF_COMPOUND_HEAD 15
#define KPF_THP 22
#define PM_PFN_MASK ((1ull << 55) - 1)

/* Is the chunk at A a transparent huge page: 1 yes, 0 no, -1 unknown. */
static int chunk_is_huge(struct lg_tracker *t, uint64_t a)
{
	uint64_t ent, flags;

	if (t->kpageflags < 0 || lg_pagemap_entries(t->pagemap, a, &ent, 1) != 1 ||
	    !(ent & LG_PM_PRESENT) || !(ent & PM_PFN_MASK))
		return -1;
	if (pread(t->kpageflags, &flags, sizeof(flags), (off_t)((ent & PM_PFN_MASK) * 8)) !=
	    sizeof(flags))
		return -1;
	return (flags >> KPF_THP & 1) && (flags >> KPF_COMPOUND_HEAD & 1);
}

/* process_madvise(ADVICE) on the N iovecs, in batches; how many the kernel
 * refused, *E the errno of the last refusal.  A call advises the iovecs in
 * order and stops at the first refused one: it returns the bytes done so
 * far, or -1 when it was the first; that one is skipped. */
static size_t advise(struct lg_tracker *t, struct iovec *iov, size_t n, int advice, int *e)
{
	size_t done = 0, refused = 0, len;
	long r;

	while (done < n) {
		len = n - done < MADV_BATCH ? n - done : MADV_BATCH;
		r = syscall(SYS_process_madvise, t->pidfd, iov + done, len, advice, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*e = errno;
			refused++;
			done++;
			/* Refused for every chunk alike: do not try the rest.
			 * Not EINVAL: MADV_COLLAPSE answers it for a chunk
			 * whose every PTE is read-only (SCAN_PAGE_RO, 6.1),
			 * which a clear leaves until the next write. */
			if (errno == EPERM || errno == ENOSYS || errno == EBADF || errno == ESRCH) {
				refused += n - done;
				break;
			}
			continue;
		}
		for (; done < n && r >= (long)iov[done].iov_len; done++)
			r -= (long)iov[done].iov_len;
	}
	return refused;
}

static const char *advice_why(int e)
{
	switch (e) {
	case EPERM: return "process_madvise needs CAP_SYS_NICE over the target (Linux 5.10+)";
	case ENOSYS: return "no process_madvise (Linux 5.10+)";
	case EINVAL: return "refused (EINVAL)";
	default: return strerror(e);
	}
}

/* Without CAP_SYS_NICE: madvise(MADV_COLD) run by one of the target's own
 * threads, in the stop we hold (lib/ptrace/inject.c: a thread under a
 * seccomp filter that might refuse it is not used, and our death at any
 * instant leaves the thread as it was; MADV_COLD changes nothing the
 * process can see).  Returns how many were refused, *E the last errno. */
static size_t advise_injected(struct lg_tracker *t, struct iovec *iov, size_t n, uint64_t t0,
			      size_t *ndone, int *e)
{
	struct lg_inject_call call = { SYS_madvise, { 0, LG_PAGE_SIZE, MADV_COLD, 0, 0, 0 } };
	struct lg_injector inj;
	struct lg_error ie = { 0 };
	size_t i, refused = 0;
	int64_t ret;

	call.args[0] = (uint64_t)(uintptr_t)iov[0].iov_base;
	if (lg_inject_init_calls(t->stop, &call, 1, &inj, &ie) || lg_inject_begin(&inj, &ie)) {
		lg_inject_end(&inj, NULL);
		t->no_inject = true;
		snprintf(t->thp.why, sizeof(t->thp.why),
			 "split: no CAP_SYS_NICE for process_madvise, and injecting madvise: %s", ie.msg);
		*e = EPERM;
		*ndone = n;
		return n;
	}
	for (i = 0; i < n; i++) {
		uint64_t args[6] = { (uint64_t)(uintptr_t)iov[i].iov_base, iov[i].iov_len, MADV_COLD,
				     0, 0, 0 };
		/* The budget is looked at before each call past the first
		 * batch, as for process_madvise (SPLIT_BATCH at least a stop).
		 * A split costs the same either way: 250-450 us natively for
		 * one 2 MiB THP, injected or by process_madvise (6.18, 64
		 * each, a loaded 2-vCPU VM), and starting the injection
		 * 1-4 ms once a stop. */
		if (i >= SPLIT_BATCH && t->opts.thp_split_budget_ns &&
		    lg_now_ns() - t0 >= t->opts.thp_split_budget_ns)
			break;
		if (lg_inject_call(&inj, SYS_madvise, args, &ret, &ie)) {
			/* The thread is not ours to use any more: stop here. */
			t->no_inject = true;
			refused += n - i;
			*e = EPERM;
			break;
		}
		if (ret < 0) {
			refused++;
			*e = (int)-ret;
		} else {
			t->thp.injected++;
		}
	}
	*ndone = i;
	if (lg_inject_end(&inj, &ie)) {
		t->no_inject = true;
		snprintf(t->thp.why, sizeof(t->thp.why), "split: injected madvise: %s", ie.msg);
	}
	return refused;
}

/* Split the 2 MiB chunks that W (this collect's list) covers whole, the
 * target stopped, before the clear (see the top), for at most
 * opts.thp_split_budget_ns: what is left waits for the next pass.
 * Failing is not an error: the chunk is tracked whole. */
static void split_whole(struct lg_tracker *t, const struct lg_range *w, size_t nw)
{
	struct iovec *iov = NULL;
	uint64_t *addr = NULL, t0 = lg_now_ns(), a, ns;
	signed char *huge = NULL;
	size_t cap = 0, hcap = 0, acap = 0, n = 0, i, k, done, len;
	int e = 0;

	if (!t->opts.thp_split || t->no_inject || (t->no_split && (!t->inject || !t->stop)) ||
	    (t->pidfd < 0 && !t->stop))
		return;
	for (i = 0; i < nw; i++)
		for (a = (w[i].start + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1); a + HUGE_SIZE <= w[i].end;
		     a += HUGE_SIZE) {
			int h = chunk_is_huge(t, a);
			t->thp.whole++;
			/* Small pages written whole (or split already):
			 * nothing to split. */
			if (h == 0)
				continue;
			k = chunk_find(t, a);
			if (k < t->nchunks && t->chunks[k].addr == a && t->chunks[k].asked >= SPLIT_ASKS)
				continue;
			/* Out of memory: only the split is lost. */
			if (LG_GROW(iov, cap, n + 1, 64) || LG_GROW(addr, acap, n + 1, 64) ||
			    LG_GROW(huge, hcap, n + 1, 64))
				goto out;
			/* One page inside the huge page, not all of it. */
			iov[n].iov_base = (void *)(uintptr_t)(a + HUGE_SIZE - LG_PAGE_SIZE);
			iov[n].iov_len = LG_PAGE_SIZE;
			addr[n] = a;
			huge[n] = (signed char)h;
			n++;
		}
	for (done = 0; done < n && !t->no_inject; done += len) {
		if (t->opts.thp_split_budget_ns && done &&
		    lg_now_ns() - t0 >= t->opts.thp_split_budget_ns) {
			t->thp.deferred += n - done;
			break;
		}
		len = n - done < SPLIT_BATCH ? n - done : SPLIT_BATCH;
		if (!t->no_split) {
			e = 0;
			t->thp.refused += advise(t, iov + done, len, MADV_COLD, &e);
			if (e == EPERM || e == ENOSYS || e == EBADF) {
				/* Refused for all (EPERM: no CAP_SYS_NICE; ENOSYS:
				 * before 5.10): the target's own madvise(2). */
				t->no_split = true;
				t->inject = t->stop != NULL;
				t->thp.refused -= len;
				if (!t->inject) {
					t->thp.refused += len;
					break;
				}
				e = 0;
			}
		}
		if (t->no_split && t->inject) {
			size_t k2 = len;
			/* Out of time inside the batch: the rest waits. */
			t->thp.refused += advise_injected(t, iov + done, n - done, t0, &k2, &e);
			len = k2;
			if (done + len < n && !t->no_inject) {
				t->thp.deferred += n - done - len;
				n = done + len;	/* only those are recorded below */
			}
		}
		for (i = done; i < done + len; i++) {
			k = chunk_find(t, addr[i]);
			if (k < t->nchunks && t->chunks[k].addr == addr[i]) {
				t->chunks[k].asked++;
				t->thp.again++;
				continue;
			}
			if (LG_GROW(t->chunks, t->chunks_cap, t->nchunks + 1, 64))
				goto out;
			memmove(t->chunks + k + 1, t->chunks + k, (t->nchunks - k) * sizeof(*t->chunks));
			t->chunks[k].addr = addr[i];
			t->chunks[k].asked = 1;
			t->chunks[k].huge = huge[i] == 1;
			t->nchunks++;
			t->thp.split++;
		}
	}
out:
	if (e && !t->thp.why[0])
		snprintf(t->thp.why, sizeof(t->thp.why), "split: %s", advice_why(e));
	if (n) {
		ns = lg_now_ns() - t0;
		t->thp.split_ns += ns;
		if (ns > t->thp.max_split_ns)
			t->thp.max_split_ns = ns;
	}
	free(iov);
	free(addr);
	free(huge);
}

/* At close: collapse again the chunks split whose 512 pages are all still
 * present (see the top), the target running. */
static void collapse_split(struct lg_tracker *t)
{
	struct iovec *iov = NULL;
	size_t n = 0, i, j;
	uint64_t t0 = lg_now_ns();
	int e = 0;
	long got;

	if (!t->nchunks || !t->opts.thp_collapse || t->pidfd < 0 || t->pagemap < 0 ||
	    !t->pmbuf || !(iov = calloc(t->nchunks, sizeof(*iov))))
		goto out;
	for (i = 0; i < t->nchunks; i++) {
		uint64_t a = t->chunks[i].addr;
		if (!t->chunks[i].huge)
			continue;
		got = lg_pagemap_entries(t->pagemap, a, t->pmbuf, HUGE_SIZE / LG_PAGE_SIZE);
		for (j = 0; got == (long)(HUGE_SIZE / LG_PAGE_SIZE) && j < (size_t)got; j++)
			if (!(t->pmbuf[j] & LG_PM_PRESENT))
				break;
		if (got != (long)(HUGE_SIZE / LG_PAGE_SIZE) || j < (size_t)got) {
			t->thp.collapse_skipped++;
			continue;
		}
		iov[n].iov_base = (void *)(uintptr_t)a;
		iov[n].iov_len = HUGE_SIZE;
		n++;
	}
	if (!n)
		goto out;
	t->thp.collapse_refused = advise(t, iov, n, MADV_COLLAPSE, &e);
	t->thp.collapsed = n - t->thp.collapse_refused;
	if (e)
		snprintf(t->thp.why + strlen(t->thp.why), sizeof(t->thp.why) - strlen(t->thp.why),
			 "%scollapse: %s%s", t->thp.why[0] ? "; " : "", advice_why(e),
			 e == EINVAL ? ": MADV_COLLAPSE needs Linux 6.1 and a page written "
				       "since the last pass; khugepaged collapses it once written" : "");
	t->thp.collapse_ns = lg_now_ns() - t0;
out:
	free(iov);
}

static int sd_populated(struct lg_tracker *t, uint64_t start, uint64_t end, struct lg_ranges *pop,
			struct lg_error *err)
{
	int r;

	if ((r = lg_track_open_pagemap(t, err)))
		return r;
	return lg_track_pagemap_select(t, start, end, LG_PM_PRESENT | LG_PM_SWAPPED, pop, err);
}

static int sd_close(struct lg_tracker *t, struct lg_track_teardown *td, struct lg_error *err)
{
	collapse_split(t);
	td->thp = t->thp;
	lg_ranges_free(&t->holes);
	free(t->chunks);
	t->chunks = NULL;
	lg_track_close_fd(&t->pidfd);
	lg_track_close_fd(&t->kpageflags);
	lg_track_close_fd(&t->pagemap);
	lg_track_close_fd(&t->clear_refs);
	free(t->pmbuf);
	t->pmbuf = NULL;
	return 0;
}

const struct lg_track_ops lg_track_softdirty_ops = {
	.rearm_needs_stop = true,
	.probe = sd_probe,
	.open = sd_open,
	.reg = sd_register,
	.arm = sd_arm,
	.collect = sd_collect,
	.populated = sd_populated,
	.close = sd_close,
};
