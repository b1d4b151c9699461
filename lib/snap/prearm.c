/* Arming before T0, while the target runs: a fault server that only
 * unprotects and records, so that the stop at T0 has only the pages
 * written since the last round to re-arm (no page-table scan for them). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "common/grow.h"
#include "snap/snap.h"

struct lg_snap_prearm {
	int uffd, efd;
	pthread_t th;
	pthread_mutex_t lk;
	uint64_t *pages;		/* written since the last take */
	size_t n, cap;
	struct lg_ranges removed;	/* dropped or unmapped since the start */
	uint64_t faults;
	int quit, err;
};

static int cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Unprotect a faulting page and record it; -EAGAIN while an event is
 * pending (mmap_changing).  Under lk. */
static int on_fault(struct lg_snap_prearm *p, uint64_t a)
{
	struct uffdio_writeprotect w;

	memset(&w, 0, sizeof(w));
	w.range.start = a;
	w.range.len = LG_PAGE_SIZE;
	if (ioctl(p->uffd, UFFDIO_WRITEPROTECT, &w) < 0) {
		if (errno == EAGAIN)
			return -EAGAIN;
		/* Unmapped meanwhile: let the thread go. */
		struct uffdio_range rg = { .start = a, .len = LG_PAGE_SIZE };
		ioctl(p->uffd, UFFDIO_WAKE, &rg);
		return 0;
	}
	if (LG_GROW(p->pages, p->cap, p->n + 1, 1024)) {
		p->err = -ENOMEM;
		return 0;
	}
	p->pages[p->n++] = a;
	p->faults++;
	return 0;
}

/* Under lk. */
static void on_event(struct lg_snap_prearm *p, const struct uffd_msg *m)
{
	size_t i;

	switch (m->event) {
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		if (lg_ranges_add(&p->removed, m->arg.remove.start, m->arg.remove.end))
			p->err = -ENOMEM;
		break;
	case UFFD_EVENT_REMAP: {
		/* What was recorded at the old place is at the new one now. */
		uint64_t from = m->arg.remap.from, to = m->arg.remap.to, len = m->arg.remap.len;
		for (i = 0; i < p->n; i++)
			if (p->pages[i] >= from && p->pages[i] < from + len)
				p->pages[i] = p->pages[i] - from + to;
		for (i = 0; i < p->removed.n; i++)
			if (p->removed.v[i].start >= from && p->removed.v[i].end <= from + len) {
				p->removed.v[i].start = p->removed.v[i].start - from + to;
				p->removed.v[i].end = p->removed.v[i].end - from + to;
			}
		break;
	}
	default:
		break;
	}
}

/* Read and handle everything pending, events first (they change what
 * the faults' addresses mean); faults refused with EAGAIN are retried
 * once the event that caused it is read.  False when there was nothing. */
static bool drain(struct lg_snap_prearm *p)
{
	struct uffd_msg m[64];
	uint64_t retry[128];	/* at most 64 retried + 64 new, all refused */
	size_t nretry = 0, i;
	bool any = false;

	for (;;) {
		/* A read fault is not delivered again: keep every refused
		 * one until it is served.  Read less while some wait. */
		ssize_t got = read(p->uffd, m, (LG_ARRAY_SIZE(m) - (nretry > 64 ? nretry - 64 : 0)) *
						   sizeof(m[0]));
		size_t n = got > 0 ? (size_t)got / sizeof(m[0]) : 0, k = 0;
		uint64_t again[128];
		if (!n && !nretry)
			break;
		any |= n != 0;
		pthread_mutex_lock(&p->lk);
		for (i = 0; i < n; i++)
			if (m[i].event != UFFD_EVENT_PAGEFAULT)
				on_event(p, &m[i]);
		for (i = 0; i < nretry; i++)
			if (on_fault(p, retry[i]) == -EAGAIN)
				again[k++] = retry[i];
		for (i = 0; i < n; i++)
			if (m[i].event == UFFD_EVENT_PAGEFAULT &&
			    on_fault(p, m[i].arg.pagefault.address & LG_PAGE_MASK) == -EAGAIN)
				again[k++] = m[i].arg.pagefault.address & LG_PAGE_MASK;
		pthread_mutex_unlock(&p->lk);
		memcpy(retry, again, k * sizeof(*again));
		nretry = k;
		if (nretry && !n)
			sched_yield();
	}
	return any;
}

static void *prearm_main(void *arg)
{
	struct lg_snap_prearm *p = arg;

	while (!__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE)) {
		struct pollfd pf[2] = { { p->uffd, POLLIN, 0 }, { p->efd, POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents & POLLIN)
			drain(p);
	}
	return NULL;
}

int lg_snap_prearm_start(int uffd, struct lg_snap_prearm **out, struct lg_error *err)
{
	struct lg_snap_prearm *p = calloc(1, sizeof(*p));
	int r;

	*out = NULL;
	if (!p)
		return lg_fail(err, ENOMEM, "pre-arming");
	p->uffd = uffd;
	pthread_mutex_init(&p->lk, NULL);
	if ((p->efd = eventfd(0, EFD_CLOEXEC)) < 0) {
		r = lg_fail(err, errno, "eventfd");
		goto fail;
	}
	if ((r = -pthread_create(&p->th, NULL, prearm_main, p))) {
		r = lg_fail(err, -r, "starting the pre-arm server");
		goto fail;
	}
	*out = p;
	return 0;
fail:
	if (p->efd >= 0)
		close(p->efd);
	pthread_mutex_destroy(&p->lk);
	free(p);
	return r;
}

/* Move the recorded pages to OUT as sorted page ranges. */
static int take(struct lg_snap_prearm *p, struct lg_ranges *out, struct lg_error *err)
{
	uint64_t *v;
	size_t n, i;
	int r = 0;

	pthread_mutex_lock(&p->lk);
	v = p->pages;
	n = p->n;
	p->pages = NULL;
	p->n = p->cap = 0;
	if (p->err)
		r = lg_fail(err, -p->err, "pre-arming");
	pthread_mutex_unlock(&p->lk);
	/* None recorded: V is NULL, which qsort() must not be given even
	 * for no elements (its argument is declared nonnull; UBSan stops). */
	if (n)
		qsort(v, n, sizeof(*v), cmp64);
	for (i = 0; i < n && !r; i++)
		if ((!i || v[i] != v[i - 1]) && lg_ranges_add(out, v[i], v[i] + LG_PAGE_SIZE))
			r = lg_fail(err, ENOMEM, "pre-arming");
	free(v);
	return r;
}

int lg_snap_prearm_take(struct lg_snap_prearm *p, struct lg_ranges *out, struct lg_error *err)
{
	return take(p, out, err);
}

int lg_snap_prearm_stop(struct lg_snap_prearm *p, struct lg_ranges *written,
			struct lg_ranges *removed, uint64_t *faults, struct lg_error *err)
{
	uint64_t one = 1;
	int r;

	__atomic_store_n(&p->quit, 1, __ATOMIC_RELEASE);
	(void)!write(p->efd, &one, sizeof(one));
	pthread_join(p->th, NULL);
	/* What arrived before the target stopped. */
	while (drain(p))
		;
	r = take(p, written, err);
	if (!r && removed) {
		size_t i;
		for (i = 0; i < p->removed.n && !r; i++)
			if (lg_ranges_add(removed, p->removed.v[i].start, p->removed.v[i].end))
				r = lg_fail(err, ENOMEM, "pre-arming");
	}
	if (faults)
		*faults = p->faults;
	close(p->efd);
	lg_ranges_free(&p->removed);
	pthread_mutex_destroy(&p->lk);
	free(p);
	return r;
}
