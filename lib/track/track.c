/* Dirty-page trackers: probing, the common interface, and the none and
 * soft-dirty kinds.  The uffd kind lives in uffd.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "track/track_impl.h"

const char *lg_track_kind_name(enum lg_track_kind k)
{
	switch (k) {
	case LG_TRACK_UFFD: return "uffd";
	case LG_TRACK_SOFTDIRTY: return "soft-dirty";
	default: return "none";
	}
}

int lg_track_kind_parse(const char *s, enum lg_track_kind *k)
{
	if (!strcmp(s, "uffd"))
		*k = LG_TRACK_UFFD;
	else if (!strcmp(s, "soft-dirty") || !strcmp(s, "softdirty"))
		*k = LG_TRACK_SOFTDIRTY;
	else if (!strcmp(s, "none"))
		*k = LG_TRACK_NONE;
	else
		return -EINVAL;
	return 0;
}

const char *lg_track_reg_name(enum lg_track_reg r)
{
	switch (r) {
	case LG_TRACK_REG_OK: return "tracked";
	case LG_TRACK_REG_SPECIAL: return "special mapping (EINVAL)";
	case LG_TRACK_REG_NOWRITE: return "not writable (EPERM)";
	case LG_TRACK_REG_BUSY: return "target uses userfaultfd itself (EBUSY)";
	case LG_TRACK_REG_NONE: return "shared, special or not tracked";
	default: return "refused";
	}
}

/* --- probing ------------------------------------------------------------ */

/* Async uffd-wp needs UFFD_FEATURE_WP_ASYNC (6.7) and WP_UNPOPULATED (6.3:
 * swapped-out and zapped file pages keep their protection as PTE markers);
 * PAGEMAP_SCAN appeared in 6.7 too.  Asked on a userfaultfd of our own:
 * UFFDIO_API answers only once per descriptor, so the target's is not
 * spent on it. */
static void probe_uffd(struct lg_track_probe *p)
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
	if (pm < 0 || ioctl(pm, PAGEMAP_SCAN, &arg) != 1 || reg.start != (uintptr_t)page)
		snprintf(p->uffd_why, sizeof(p->uffd_why),
			 "PAGEMAP_SCAN does not work here (%s; Linux 6.7+ needed)", strerror(errno));
	else
		p->uffd = true;
	if (pm >= 0)
		close(pm);
	munmap(page, LG_PAGE_SIZE);
}

static int pagemap_entry(int pm, uint64_t addr, uint64_t *e)
{
	return pread(pm, e, 8, (off_t)(addr / LG_PAGE_SIZE * 8)) == 8 ? 0 : -1;
}

/* Soft-dirty (CONFIG_MEM_SOFT_DIRTY, 3.11) on a page of our own: clear our
 * bits (only this process is touched), write, and see bit 55 come back.
 * A kernel without the option accepts "4" and never sets the bit. */
static void probe_soft_dirty(struct lg_track_probe *p)
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

void lg_track_probe(struct lg_track_probe *p)
{
	memset(p, 0, sizeof(*p));
	probe_uffd(p);
	probe_soft_dirty(p);
}

enum lg_track_kind lg_track_best(const struct lg_track_probe *p)
{
	if (p->uffd)
		return LG_TRACK_UFFD;
	if (p->soft_dirty)
		return LG_TRACK_SOFTDIRTY;
	return LG_TRACK_NONE;
}

/* --- common -------------------------------------------------------------- */

int lg_tracker_add_reg(struct lg_tracker *t, uint64_t start, uint64_t end)
{
	return lg_ranges_add(&t->regs, start, end);
}

int lg_tracker_open(enum lg_track_kind kind, const struct lg_track_probe *probe,
		    struct lg_tgroup *g, struct lg_tracker **out, struct lg_error *err)
{
	struct lg_tracker *t;
	char path[64];
	int r = 0;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return lg_fail(err, ENOMEM, "tracker");
	t->kind = kind;
	t->pid = g->pid;
	t->uffd = t->pagemap = t->clear_refs = -1;
	switch (kind) {
	case LG_TRACK_NONE:
		break;
	case LG_TRACK_UFFD:
		if (!probe->uffd) {
			r = lg_failx(err, ENOTSUP, "uffd tracker unavailable: %s", probe->uffd_why);
			break;
		}
		r = lg_uffd_open(t, probe, g, err);
		break;
	case LG_TRACK_SOFTDIRTY:
		if (!probe->soft_dirty) {
			r = lg_failx(err, ENOTSUP, "soft-dirty tracker unavailable: %s",
				     probe->soft_dirty_why);
			break;
		}
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)t->pid);
		if ((t->pagemap = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			r = lg_fail(err, errno, "%s", path);
			break;
		}
		snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)t->pid);
		if ((t->clear_refs = open(path, O_WRONLY | O_CLOEXEC)) < 0)
			r = lg_fail(err, errno, "%s", path);
		break;
	}
	if (!r && !(t->pmbuf = malloc(LG_TRACK_PMBUF * sizeof(uint64_t))))
		r = lg_fail(err, ENOMEM, "tracker");
	if (r) {
		lg_tracker_close(t, NULL, NULL);
		return r;
	}
	*out = t;
	return 0;
}

enum lg_track_kind lg_tracker_kind(const struct lg_tracker *t)
{
	return t->kind;
}

bool lg_tracker_rearm_needs_stop(const struct lg_tracker *t)
{
	return t->kind == LG_TRACK_SOFTDIRTY;
}

int lg_tracker_register(struct lg_tracker *t, uint64_t start, uint64_t end,
			enum lg_track_reg *res, struct lg_error *err)
{
	switch (t->kind) {
	case LG_TRACK_UFFD:
		return lg_uffd_register(t, start, end, res, err);
	case LG_TRACK_SOFTDIRTY:
		*res = LG_TRACK_REG_OK;
		if (lg_tracker_add_reg(t, start, end))
			return lg_fail(err, ENOMEM, "tracker");
		return 0;
	default:
		*res = LG_TRACK_REG_NONE;
		return 0;
	}
}

/* Walk pagemap entries of [start, end) and append pages for which
 * (entry & MASK) != 0. */
static int pagemap_select(struct lg_tracker *t, uint64_t start, uint64_t end, uint64_t mask,
			  struct lg_ranges *out, struct lg_error *err)
{
	uint64_t a = start;

	while (a < end) {
		size_t want = (end - a) / LG_PAGE_SIZE, i;
		ssize_t n;
		if (want > LG_TRACK_PMBUF)
			want = LG_TRACK_PMBUF;
		n = pread(t->pagemap, t->pmbuf, want * 8, (off_t)(a / LG_PAGE_SIZE * 8));
		if (n < 0)
			return lg_fail(err, errno, "reading /proc/%d/pagemap", (int)t->pid);
		if (n < 8)
			break;
		for (i = 0; i < (size_t)n / 8; i++)
			if ((t->pmbuf[i] & mask) &&
			    lg_ranges_add(out, a + i * LG_PAGE_SIZE, a + (i + 1) * LG_PAGE_SIZE))
				return lg_fail(err, ENOMEM, "page list");
		a += (uint64_t)(n / 8) * LG_PAGE_SIZE;
	}
	return 0;
}

static int clear_soft_dirty(struct lg_tracker *t, struct lg_error *err)
{
	/* Clears the bits of the whole process: anyone else using them (CRIU)
	 * loses them, as REFERENCE.md section 6 notes. */
	if (pwrite(t->clear_refs, "4", 1, 0) != 1)
		return lg_fail(err, errno, "writing /proc/%d/clear_refs", (int)t->pid);
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
		if ((r = lg_uffd_scan(t, rg[i].start, rg[i].end, wp, categories, out, &rec, err)))
			return r;
		if (recreated)
			recreated[i] = rec;
	}
	return 0;
}

int lg_tracker_arm(struct lg_tracker *t, const struct lg_range *rg, size_t n,
		   struct lg_ranges *pop, bool *recreated, struct lg_error *err)
{
	size_t i;
	int r;

	switch (t->kind) {
	case LG_TRACK_UFFD:
		return uffd_ranges(t, rg, n, true, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, pop, recreated,
				   err);
	case LG_TRACK_SOFTDIRTY:
		/* Clear first, list after: a page written in between is both
		 * listed and dirty, never missed. */
		if ((r = clear_soft_dirty(t, err)))
			return r;
		for (i = 0; i < n; i++) {
			if (recreated)
				recreated[i] = false;
			if ((r = pagemap_select(t, rg[i].start, rg[i].end,
						LG_PM_PRESENT | LG_PM_SWAPPED, pop, err)))
				return r;
		}
		return 0;
	default:
		return lg_failx(err, EINVAL, "the none tracker arms nothing");
	}
}

int lg_tracker_collect(struct lg_tracker *t, const struct lg_range *rg, size_t n, bool rearm,
		       struct lg_ranges *written, bool *recreated, struct lg_error *err)
{
	size_t i;
	int r;

	switch (t->kind) {
	case LG_TRACK_UFFD:
		return uffd_ranges(t, rg, n, rearm, PAGE_IS_WRITTEN, written, recreated, err);
	case LG_TRACK_SOFTDIRTY:
		/* A new mapping at the same place has VM_SOFTDIRTY: all its
		 * pages read as dirty, so nothing is lost without a flag. */
		for (i = 0; i < n; i++) {
			if (recreated)
				recreated[i] = false;
			if ((r = pagemap_select(t, rg[i].start, rg[i].end, LG_PM_SOFT_DIRTY,
						written, err)))
				return r;
		}
		return rearm ? clear_soft_dirty(t, err) : 0;
	default:
		return lg_failx(err, EINVAL, "the none tracker collects nothing");
	}
}

int lg_tracker_populated(struct lg_tracker *t, uint64_t start, uint64_t end,
			 struct lg_ranges *pop, struct lg_error *err)
{
	if (t->kind == LG_TRACK_UFFD)
		return lg_uffd_scan(t, start, end, false, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, pop,
				    NULL, err);
	if (t->pagemap < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)t->pid);
		if ((t->pagemap = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return lg_fail(err, errno, "%s", path);
	}
	return pagemap_select(t, start, end, LG_PM_PRESENT | LG_PM_SWAPPED, pop, err);
}

int lg_tracker_close(struct lg_tracker *t, struct lg_track_teardown *td, struct lg_error *err)
{
	struct lg_track_teardown dummy;
	int r = 0;

	if (!t)
		return 0;
	if (!td)
		td = &dummy;
	memset(td, 0, sizeof(*td));
	if (t->kind == LG_TRACK_UFFD && t->uffd >= 0)
		r = lg_uffd_teardown(t, td, err);
	if (t->uffd >= 0) {
		uint64_t t0 = lg_now_ns();
		close(t->uffd);
		td->close_ns = lg_now_ns() - t0;
	}
	if (t->pagemap >= 0)
		close(t->pagemap);
	if (t->clear_refs >= 0)
		close(t->clear_refs);
	lg_ranges_free(&t->regs);
	free(t->pmbuf);
	free(t->vec);
	free(t);
	return r;
}
