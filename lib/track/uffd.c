/* The uffd tracker: asynchronous userfaultfd write-protect (Linux 6.7,
 * UFFD_FEATURE_WP_ASYNC) read and re-armed with PAGEMAP_SCAN.
 *
 * A userfaultfd belongs to the mm of the process that creates it, so it is
 * created inside the target by an injected syscall, copied to us with
 * pidfd_getfd(2), and the target's copy is closed at once: from then on our
 * descriptor is the only reference, and if we die (SIGKILL included) the
 * kernel releases it and with it every registration and protection.  In
 * async mode the kernel resolves write faults by itself, so the target
 * never waits on us. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "common/buf.h"
#include "mem/mem.h"
#include "proc/proc.h"
#include "ptrace/inject.h"
#include "track/track_impl.h"

/* Async uffd-wp needs UFFD_FEATURE_WP_ASYNC (6.7) and WP_UNPOPULATED (6.3:
 * swapped-out and zapped file pages keep their protection as PTE markers);
 * PAGEMAP_SCAN appeared in 6.7 too.  Asked on a userfaultfd of our own:
 * UFFDIO_API answers only once per descriptor, so the target's is not
 * spent on it. */
static void uffd_probe(struct lg_track_probe *p)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	struct pm_scan_arg arg;
	struct page_region reg;
	int fd, pm;
	void *page;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == EPERM)	/* vm.unprivileged_userfaultfd = 0 */
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0) {
		snprintf(p->uffd_why, sizeof(p->uffd_why), "userfaultfd: %s", strerror(errno));
		return;
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		snprintf(p->uffd_why, sizeof(p->uffd_why), "UFFDIO_API: %s", strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	if (!(api.features & UFFD_FEATURE_WP_ASYNC) || !(api.features & UFFD_FEATURE_WP_UNPOPULATED)) {
		snprintf(p->uffd_why, sizeof(p->uffd_why),
			 "kernel lacks UFFD_FEATURE_WP_ASYNC (Linux 6.7+ needed)");
		return;
	}
	p->uffd_features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	if (api.features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM)
		p->uffd_features |= UFFD_FEATURE_WP_HUGETLBFS_SHMEM;

	page = mmap(NULL, LG_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		snprintf(p->uffd_why, sizeof(p->uffd_why), "mmap: %s", strerror(errno));
		return;
	}
	*(volatile char *)page = 1;
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = (uintptr_t)page;
	arg.end = (uintptr_t)page + LG_PAGE_SIZE;
	arg.vec = (uintptr_t)&reg;
	arg.vec_len = 1;
	arg.category_anyof_mask = arg.return_mask = PAGE_IS_PRESENT;
	if (pm < 0 || lg_pagemap_scan(pm, &arg) != 1 || reg.start != (uintptr_t)page)
		snprintf(p->uffd_why, sizeof(p->uffd_why),
			 "PAGEMAP_SCAN does not work here (%s; Linux 6.7+ needed)", strerror(errno));
	else
		p->uffd = true;
	if (pm >= 0)
		close(pm);
	munmap(page, LG_PAGE_SIZE);
}

static int uffd_open(struct lg_tracker *t, const struct lg_track_probe *probe, struct lg_tgroup *g,
		     struct lg_error *err)
{
	struct uffdio_api api;
	int r;

	if (!probe->uffd)
		return lg_failx(err, ENOTSUP, "uffd tracker unavailable: %s", probe->uffd_why);
	/* User-mode-only is enough here: async write-protect resolves
	 * faults without us, before that matters. */
	if ((r = lg_inject_userfaultfd(g, t->pid, O_CLOEXEC | O_NONBLOCK, true, err)) < 0)
		return r;
	t->uffd = r;

	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = probe->uffd_features;
	if (ioctl(t->uffd, UFFDIO_API, &api) < 0)
		return lg_fail(err, errno, "UFFDIO_API (features %#llx)",
			       (unsigned long long)probe->uffd_features);
	if ((r = lg_track_open_pagemap(t, err)))
		return r;
	if (!(t->vec = malloc(LG_TRACK_VEC * sizeof(struct page_region))))
		return lg_fail(err, ENOMEM, "tracker");
	return 0;
}

static int uffd_register(struct lg_tracker *t, uint64_t start, uint64_t end,
			 enum lg_track_reg *res, struct lg_error *err)
{
	struct uffdio_register reg;

	memset(&reg, 0, sizeof(reg));
	reg.range.start = start;
	reg.range.len = end - start;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(t->uffd, UFFDIO_REGISTER, &reg) == 0) {
		*res = LG_TRACK_REG_OK;
		if (lg_tracker_add_reg(t, start, end))
			return lg_fail(err, ENOMEM, "tracker");
		return 0;
	}
	switch (errno) {
	case EINVAL:	/* [vdso], [vvar], VM_PFNMAP, VM_IO ... */
		*res = LG_TRACK_REG_SPECIAL;
		break;
	case EPERM:	/* no VM_MAYWRITE: a read-only file mapped shared */
		*res = LG_TRACK_REG_NOWRITE;
		break;
	case EBUSY:	/* registered with the target's own userfaultfd */
		*res = LG_TRACK_REG_BUSY;
		break;
	default:
		*res = LG_TRACK_REG_OTHER;
		break;
	}
	return 0;
}

/* PAGEMAP_SCAN of [start, end) for pages in any of CATEGORIES, re-arming
 * them if WP; -EPERM from PM_SCAN_CHECK_WPASYNC sets *RECREATED (when not
 * NULL, else it is an error). */
static int uffd_scan(struct lg_tracker *t, uint64_t start, uint64_t end, bool wp,
		     uint64_t categories, struct lg_ranges *out, bool *recreated,
		     struct lg_error *err)
{
	struct page_region *vec = t->vec;
	struct pm_scan_arg arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	/* CHECK_WPASYNC: -EPERM if a VMA in the range is not (any more)
	 * registered for async write-protect; without it a recreated mapping
	 * would silently report nothing. */
	arg.flags = PM_SCAN_CHECK_WPASYNC | (wp ? PM_SCAN_WP_MATCHING : 0);
	arg.start = start;
	arg.end = end;
	arg.vec = (uintptr_t)vec;
	arg.vec_len = LG_TRACK_VEC;
	/* Only populated pages, always: a hole (pte_none without a marker)
	 * counts as PAGE_IS_WRITTEN, and with PM_SCAN_WP_MATCHING it would be
	 * armed, filling page tables for whole sparse reservations (measured
	 * on 6.18).  A hole that is written becomes a present, unprotected
	 * page and is reported then. */
	arg.category_mask = categories & PAGE_IS_WRITTEN;
	arg.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
	arg.return_mask = categories | PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
	while (arg.start < end) {
		long n = lg_pagemap_scan(t->pagemap, &arg);
		long i;
		if (n < 0) {
			if (n == -EPERM && recreated) {
				*recreated = true;
				return 0;
			}
			return lg_fail(err, (int)-n, "PAGEMAP_SCAN of %#llx-%#llx",
				       (unsigned long long)arg.start, (unsigned long long)end);
		}
		for (i = 0; i < n; i++)
			if (lg_ranges_add(out, vec[i].start, vec[i].end))
				return lg_fail(err, ENOMEM, "page list");
		/* The kernel stops when the vector is full and says where. */
		if (arg.walk_end <= arg.start)
			break;
		arg.start = arg.walk_end;
	}
	return 0;
}

/* One PAGEMAP_SCAN per range; RECREATED[i] says a range's mapping was
 * replaced since registration. */
static int uffd_ranges(struct lg_tracker *t, const struct lg_range *rg, size_t n, bool wp,
		       uint64_t categories, struct lg_ranges *out, bool *recreated,
		       struct lg_error *err)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		bool rec = false;
		if ((r = uffd_scan(t, rg[i].start, rg[i].end, wp, categories, out, &rec, err)))
			return r;
		if (recreated)
			recreated[i] = rec;
	}
	return 0;
}

static int uffd_arm(struct lg_tracker *t, const struct lg_range *rg, size_t n,
		    struct lg_ranges *pop, bool *recreated, struct lg_error *err)
{
	return uffd_ranges(t, rg, n, true, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, pop, recreated, err);
}

static int uffd_collect(struct lg_tracker *t, const struct lg_range *rg, size_t n, bool rearm,
			struct lg_ranges *written, bool *recreated, struct lg_error *err)
{
	return uffd_ranges(t, rg, n, rearm, PAGE_IS_WRITTEN, written, recreated, err);
}

static int uffd_populated(struct lg_tracker *t, uint64_t start, uint64_t end,
			  struct lg_ranges *pop, struct lg_error *err)
{
	return uffd_scan(t, start, end, false, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, pop, NULL, err);
}

/* UFFDIO_REGISTER refuses a mapping without VM_MAYWRITE with EPERM (a
 * check of its VmFlags, made under the mmap lock: no page is walked, as
 * smaps would); one it accepts is unregistered at once. */
static int uffd_maywrite(struct lg_tracker *t, uint64_t start, uint64_t end)
{
	struct uffdio_register reg;
	struct uffdio_range rg;

	memset(&reg, 0, sizeof(reg));
	reg.range.start = start;
	reg.range.len = end - start;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(t->uffd, UFFDIO_REGISTER, &reg) < 0)
		return errno == EPERM ? 0 : -errno;
	rg.start = start;
	rg.len = end - start;
	if (ioctl(t->uffd, UFFDIO_UNREGISTER, &rg) < 0) {
		int e = errno;
		/* The teardown tries again. */
		lg_tracker_add_reg(t, start, end);
		return -e;
	}
	return 1;
}

/* Closing the descriptor alone would clear every protection bit of every
 * registered range under the target's mmap write lock: about 8.5 ms per GiB
 * during which its page faults wait.  Clearing the protection first with
 * UFFDIO_WRITEPROTECT (mode 0), chunk by chunk, takes only the read side,
 * and only over the pages actually populated. */
static int teardown(struct lg_tracker *t, struct lg_track_teardown *td, struct lg_error *err)
{
	struct lg_ranges pop = { 0 };
	uint64_t t0 = lg_now_ns();
	size_t i, j;
	int r = 0;

	for (i = 0; i < t->regs.n && !r; i++) {
		lg_ranges_clear(&pop);
		/* No CHECK_WPASYNC failure here: a recreated range is simply
		 * not unprotected (it is not registered). */
		if (uffd_scan(t, t->regs.v[i].start, t->regs.v[i].end, false,
				 PAGE_IS_PRESENT | PAGE_IS_SWAPPED, &pop, &(bool){ false }, err))
			continue;
		for (j = 0; j < pop.n; j++) {
			uint64_t a = pop.v[j].start;
			while (a < pop.v[j].end) {
				struct uffdio_writeprotect wp;
				uint64_t len = pop.v[j].end - a, c0, dt;
				if (t->opts.unprotect_chunk && len > t->opts.unprotect_chunk)
					len = t->opts.unprotect_chunk;
				memset(&wp, 0, sizeof(wp));
				wp.range.start = a;
				wp.range.len = len;
				wp.mode = 0;
				c0 = lg_now_ns();
				/* ENOENT/EINVAL: unmapped meanwhile; nothing to do. */
				if (ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp) < 0 && errno != ENOENT &&
				    errno != EINVAL && errno != EAGAIN && !r)
					r = lg_fail(err, errno, "UFFDIO_WRITEPROTECT");
				dt = lg_now_ns() - c0;
				if (dt > td->max_chunk_ns)
					td->max_chunk_ns = dt;
				td->chunks++;
				a += len;
			}
		}
	}
	lg_ranges_free(&pop);
	td->unprotect_ns = lg_now_ns() - t0;

	t0 = lg_now_ns();
	for (i = 0; i < t->regs.n; i++) {
		uint64_t a = t->regs.v[i].start;
		while (a < t->regs.v[i].end) {
			struct uffdio_range rg;
			uint64_t len = t->regs.v[i].end - a, c0, dt;
			if (t->opts.unregister_chunk && len > t->opts.unregister_chunk)
				len = t->opts.unregister_chunk;
			rg.start = a;
			rg.len = len;
			c0 = lg_now_ns();
			/* Fails harmlessly where the range was unmapped. */
			ioctl(t->uffd, UFFDIO_UNREGISTER, &rg);
			dt = lg_now_ns() - c0;
			if (dt > td->max_unregister_ns)
				td->max_unregister_ns = dt;
			a += len;
		}
	}
	td->unregister_ns = lg_now_ns() - t0;
	return r;
}

static int uffd_close(struct lg_tracker *t, struct lg_track_teardown *td, struct lg_error *err)
{
	int r = 0;

	if (t->uffd >= 0) {
		uint64_t t0;
		r = teardown(t, td, err);
		t0 = lg_now_ns();
		close(t->uffd);
		td->close_ns = lg_now_ns() - t0;
		t->uffd = -1;
	}
	lg_track_close_fd(&t->pagemap);
	free(t->vec);
	t->vec = NULL;
	return r;
}

const struct lg_track_ops lg_track_uffd_ops = {
	.rearm_needs_stop = false,
	.probe = uffd_probe,
	.open = uffd_open,
	.reg = uffd_register,
	.arm = uffd_arm,
	.collect = uffd_collect,
	.populated = uffd_populated,
	.maywrite = uffd_maywrite,
	.close = uffd_close,
};
