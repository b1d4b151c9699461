/* The synchronous write-protect descriptor: probing, features,
 * registration and arming. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "common/clock.h"
#include "common/grow.h"
#include "mem/mem.h"
#include "snap/snap.h"

/* UFFDIO_WRITEPROTECT fails with EAGAIN while the target is in the middle
 * of an mremap/munmap/madvise whose event is not read yet (mmap_changing,
 * 4.18+); the event reader (the server) makes progress, so retry. */
static int writeprotect(int uffd, uint64_t start, uint64_t len, bool wp)
{
	struct uffdio_writeprotect w;

	for (;;) {
		memset(&w, 0, sizeof(w));
		w.range.start = start;
		w.range.len = len;
		w.mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
		if (ioctl(uffd, UFFDIO_WRITEPROTECT, &w) == 0)
			return 0;
		if (errno == EAGAIN || errno == EINTR) {
			sched_yield();
			continue;
		}
		return -errno;
	}
}

int lg_snap_uffd_api(int uffd, struct lg_error *err)
{
	struct uffdio_api api;

	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = LG_SNAP_UFFD_FEATURES;
	if (ioctl(uffd, UFFDIO_API, &api) < 0)
		return lg_fail(err, errno, "UFFDIO_API (features %#llx)",
			       (unsigned long long)LG_SNAP_UFFD_FEATURES);
	if (!(api.ioctls & (1ull << _UFFDIO_REGISTER)))
		return lg_failx(err, ENOTSUP, "this userfaultfd cannot register memory");
	return 0;
}

int lg_snap_register(int uffd, uint64_t start, uint64_t end)
{
	struct uffdio_register reg;

	memset(&reg, 0, sizeof(reg));
	reg.range.start = start;
	reg.range.len = end - start;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
		return -errno;
	if (!(reg.ioctls & (1ull << _UFFDIO_WRITEPROTECT)))
		return -EINVAL;
	return 0;
}

static void count(struct lg_snap_arm_stats *st, uint64_t len, uint64_t dt)
{
	if (!st)
		return;
	st->calls++;
	st->bytes += len;
	st->ns += dt;
	if (dt > st->max_call_ns)
		st->max_call_ns = dt;
}

/* UFFDIO_WRITEPROTECT fails with ENOENT when part of the range is no
 * longer registered (the target unmapped it since): protect the rest,
 * halving, so that no page still mapped is left unprotected.  The bytes
 * gone are counted in ST. */
static int protect_what_is_left(int uffd, uint64_t a, uint64_t len, struct lg_snap_arm_stats *st)
{
	uint64_t half = len / LG_PAGE_SIZE / 2 * LG_PAGE_SIZE, part[2][2] = {
		{ a, half }, { a + half, len - half } };
	int i, e;

	if (len <= LG_PAGE_SIZE) {
		if (st)
			st->gone += len;
		return 0;
	}
	for (i = 0; i < 2; i++) {
		e = writeprotect(uffd, part[i][0], part[i][1], true);
		if (e == -ENOENT)
			e = protect_what_is_left(uffd, part[i][0], part[i][1], st);
		if (e)
			return e;
	}
	return 0;
}

int lg_snap_arm(int uffd, const struct lg_range *r, size_t n, uint64_t chunk,
		struct lg_snap_arm_stats *st, struct lg_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t a = r[i].start;
		while (a < r[i].end) {
			uint64_t len = r[i].end - a, t0 = lg_now_ns();
			int e;
			if (chunk && len > chunk)
				len = chunk;
			e = writeprotect(uffd, a, len, true);
			if (e == -ENOENT)
				e = protect_what_is_left(uffd, a, len, st);
			if (e)
				return lg_fail(err, -e, "write-protecting %#llx-%#llx",
					       (unsigned long long)a, (unsigned long long)(a + len));
			count(st, len, lg_now_ns() - t0);
			a += len;
		}
	}
	return 0;
}

int lg_snap_rearm_pages(int uffd, const uint64_t *pages, size_t n, struct lg_snap_arm_stats *st,
			struct lg_error *err)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i + 1;
		uint64_t t0 = lg_now_ns(), len;
		int e;
		while (j < n && pages[j] == pages[j - 1] + LG_PAGE_SIZE)
			j++;
		len = (uint64_t)(j - i) * LG_PAGE_SIZE;
		if ((e = writeprotect(uffd, pages[i], len, true)))
			return lg_fail(err, -e, "write-protecting %#llx-%#llx",
				       (unsigned long long)pages[i],
				       (unsigned long long)(pages[i] + len));
		count(st, len, lg_now_ns() - t0);
		i = j;
	}
	return 0;
}

/* A userfaultfd of our own, on a page of our own: the same calls the
 * snapshot makes, without a fault (none is needed to know the kernel
 * accepts them). */
int lg_snap_probe(char *why, size_t whylen)
{
	struct lg_ranges pop = { 0 }, unprot = { 0 };
	void *p = MAP_FAILED;
	int u, r = 0, pm = -1;

	u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u < 0) {
		r = -errno;
		snprintf(why, whylen, "userfaultfd(2) without UFFD_USER_MODE_ONLY: %s%s",
			 strerror(errno),
			 errno == EPERM ? " (vm.unprivileged_userfaultfd is 0 and no CAP_SYS_PTRACE)" : "");
		goto out;
	}
	if (lg_snap_uffd_api(u, NULL) < 0) {
		r = -errno;
		snprintf(why, whylen, "UFFDIO_API with events: %s", strerror(errno));
		goto out;
	}
	p = mmap(NULL, LG_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		snprintf(why, whylen, "mmap: %s", strerror(errno));
		goto out;
	}
	*(volatile char *)p = 1;
	if ((r = lg_snap_register(u, (uintptr_t)p, (uintptr_t)p + LG_PAGE_SIZE))) {
		snprintf(why, whylen, "UFFDIO_REGISTER_MODE_WP: %s", strerror(-r));
		goto out;
	}
	if ((r = writeprotect(u, (uintptr_t)p, LG_PAGE_SIZE, true)) ||
	    (r = writeprotect(u, (uintptr_t)p, LG_PAGE_SIZE, false))) {
		snprintf(why, whylen, "UFFDIO_WRITEPROTECT: %s", strerror(-r));
		goto out;
	}
	/* lg_snap_populated() and lg_snap_unprotected() walk the page
	 * tables with PAGEMAP_SCAN (Linux 6.7). */
	if ((pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) < 0 ||
	    (r = lg_snap_populated(pm, (uintptr_t)p, (uintptr_t)p + LG_PAGE_SIZE, &pop, &unprot,
				   NULL)) ||
	    pop.n != 1) {
		r = r ? r : -ENOTSUP;
		snprintf(why, whylen, "PAGEMAP_SCAN does not work here (%s; Linux 6.7+ needed)",
			 strerror(-r));
		goto out;
	}
out:
	lg_ranges_free(&pop);
	lg_ranges_free(&unprot);
	if (pm >= 0)
		close(pm);
	if (u >= 0)
		close(u);
	if (p != MAP_FAILED)
		munmap(p, LG_PAGE_SIZE);
	return r;
}

/* The populated pages of [START, END) (CATEGORY: only those not write-
 * protected too) to POPULATED, if not NULL; those of them not write-
 * protected also to UNPROTECTED.  A hole counts as written (it has no
 * marker): only populated pages are asked for. */
static int scan(int pagemap, uint64_t start, uint64_t end, uint64_t category,
		struct lg_ranges *populated, struct lg_ranges *unprotected, struct lg_error *err)
{
	struct page_region vec[512];
	struct pm_scan_arg arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = start;
	arg.end = end;
	arg.vec = (uintptr_t)vec;
	arg.vec_len = LG_ARRAY_SIZE(vec);
	arg.category_mask = category;
	arg.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
	arg.return_mask = PAGE_IS_WRITTEN;
	while (arg.start < end) {
		long n = lg_pagemap_scan(pagemap, &arg), i;
		if (n < 0)
			return lg_fail(err, (int)-n, "PAGEMAP_SCAN of %#llx-%#llx",
				       (unsigned long long)arg.start, (unsigned long long)end);
		for (i = 0; i < n; i++)
			if ((populated && lg_ranges_add(populated, vec[i].start, vec[i].end)) ||
			    ((vec[i].categories & PAGE_IS_WRITTEN) &&
			     lg_ranges_add(unprotected, vec[i].start, vec[i].end)))
				return lg_fail(err, ENOMEM, "page list");
		if (arg.walk_end <= arg.start)
			break;
		arg.start = arg.walk_end;
	}
	return 0;
}

int lg_snap_unprotected(int pagemap, uint64_t start, uint64_t end, struct lg_ranges *out,
			struct lg_error *err)
{
	return scan(pagemap, start, end, PAGE_IS_WRITTEN, NULL, out, err);
}

int lg_snap_populated(int pagemap, uint64_t start, uint64_t end, struct lg_ranges *populated,
		      struct lg_ranges *unprotected, struct lg_error *err)
{
	return scan(pagemap, start, end, 0, populated, unprotected, err);
}
