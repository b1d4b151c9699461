/* The copy-before-write engine: a fault server thread and a streamer over
 * one page-state array.
 *
 * Page states (2 bits a page, by T0 address):
 *   PROT   armed: the T0 content is in the target, which cannot change it;
 *   BUSY   the server is taking it (copying, then unprotecting);
 *   ASIDE  its T0 content is in the aside store;
 *   DONE   nothing left to take: yielded by the streamer, a hole at T0,
 *          or dropped by the target (zeros).
 * The server moves PROT -> BUSY -> ASIDE; the
 * streamer moves PROT -> DONE and ASIDE -> DONE.  Both with compare-and-
 * swap, so each page is taken exactly once.
 *
 * The streamer reads a page optimistically and keeps the read only if its
 * PROT -> DONE swap succeeds afterwards: the server unprotects a page only
 * after it left PROT, so a page still PROT after the read was protected
 * during it, and the read is its T0 content.
 *
 * Events.  The target's madvise(DONTNEED)/munmap/mremap of registered
 * memory raise mmap_changing before the page tables change and queue an
 * event; the calling thread waits until the event is read (measured on
 * 6.18: MADV_DONTNEED and munmap return only when the event is read; the
 * zap of MADV_DONTNEED comes after the read, the unmap before the event is
 * queued).  While mmap_changing is raised, UFFDIO_WRITEPROTECT fails with
 * EAGAIN.  So:
 *  - the server processes the events of a batch before its faults, and
 *    treats EAGAIN from the unprotect that follows a copy as "the copy may
 *    predate a change": it puts the page back to PROT and serves the fault
 *    again after the next batch;
 *  - the streamer, after a read, re-protects the chunk it read (a no-op
 *    on the pages still protected, and it covers whole huge pages, which
 *    a partial change would split): EAGAIN means an event is in flight,
 *    so it reads again later; success means every such change was read
 *    by the server, and once the server's current batch is over (its
 *    batch counter is even) the states and the address map are up to
 *    date; if an event was processed meanwhile (ev_seq moved), it reads
 *    again.
 * Dropped pages go PROT -> DONE (zeros); unmapped pieces of the address
 * map are marked gone; a remap moves pieces to their new place. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "common/clock.h"
#include "common/grow.h"
#include "mem/mem.h"
#include "snap/snap.h"

#define PG LG_PAGE_SIZE

enum { S_PROT = 0, S_BUSY = 1, S_ASIDE = 2, S_DONE = 3 };

#define MAXMSG 64

struct snap_range {
	uint64_t start, end;
	size_t first;		/* index of its first page in the state array */
};

/* A piece of the T0 address space and where it is now. */
struct piece {
	uint64_t t0, end;	/* T0 addresses */
	uint64_t cur;		/* its start address now */
	bool gone;		/* unmapped */
};

struct pend {
	uint64_t cur;		/* faulting page, current address */
	uint64_t since;		/* when it started waiting for a slot, 0 if not */
};

struct hent {
	uint64_t key;		/* T0 address | 1, 0 when empty */
	uint32_t slot;
};

struct lg_snap {
	int uffd, efd;
	pid_t pid;
	struct lg_snap_opts o;

	struct snap_range *rg;
	size_t nrg, npages;
	uint64_t *state;

	/* The address map, sorted by T0 address; pieces cover every range. */
	struct piece *pc;
	size_t npc, cappc, nmoved;

	/* The aside store: slots [0, mem_slots) in memory, the rest in the
	 * spill file.  The hash maps a T0 page address to its slot. */
	uint8_t *mem;
	size_t mem_slots, spill_slots;
	uint32_t *free_mem, *free_spill;
	size_t nfree_mem, nfree_spill;
	size_t spill_fresh;		/* spill slots never used yet, from the start */
	struct hent *ht;
	size_t htcap, in_use;

	pthread_mutex_t lk;
	pthread_cond_t cv;
	pthread_t th;
	bool th_started;
	unsigned long batch;		/* odd while the server handles a batch */
	unsigned long ev_seq;		/* events processed */
	int quit, tearing;

	/* Server side. */
	struct lg_mem msrv;
	uint8_t *tmp;			/* one page */
	struct pend *pend;
	size_t npend, cappend;
	int srv_r;			/* the first error of the server */
	struct lg_error srv_err;

	/* Streamer side. */
	struct lg_mem mstr;
	size_t cur_rg;
	uint64_t cursor;
	uint8_t *buf;
	struct lg_range *runs;
	size_t capruns;

	struct lg_snap_stats st;
};

#define STAT_ADD(f, v) __atomic_fetch_add(&(f), (v), __ATOMIC_RELAXED)
static void stat_max(uint64_t *f, uint64_t v)
{
	uint64_t o = __atomic_load_n(f, __ATOMIC_RELAXED);
	while (v > o && !__atomic_compare_exchange_n(f, &o, v, false, __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
}

/* ---- page states ---- */

static unsigned st_get(struct lg_snap *s, size_t i)
{
	uint64_t w = __atomic_load_n(&s->state[i / 32], __ATOMIC_ACQUIRE);
	return (unsigned)(w >> (2 * (i % 32))) & 3;
}

static bool st_cas(struct lg_snap *s, size_t i, unsigned from, unsigned to)
{
	uint64_t *p = &s->state[i / 32], sh = 2 * (i % 32);
	uint64_t w = __atomic_load_n(p, __ATOMIC_ACQUIRE);

	for (;;) {
		uint64_t nw;
		if (((w >> sh) & 3) != from)
			return false;
		nw = (w & ~(3ull << sh)) | ((uint64_t)to << sh);
		if (__atomic_compare_exchange_n(p, &w, nw, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return true;
	}
}

static void st_set(struct lg_snap *s, size_t i, unsigned to)
{
	unsigned cur;
	while (!st_cas(s, i, (cur = st_get(s, i)), to))
		;
}

/* The range holding T0 address A, or NULL. */
static struct snap_range *range_of(struct lg_snap *s, uint64_t a)
{
	size_t lo = 0, hi = s->nrg;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (a < s->rg[mid].start)
			hi = mid;
		else if (a >= s->rg[mid].end)
			lo = mid + 1;
		else
			return &s->rg[mid];
	}
	return NULL;
}

static size_t page_index(const struct snap_range *r, uint64_t a)
{
	return r->first + (a - r->start) / PG;
}

/* ---- the address map (under lk) ---- */

static size_t piece_find(struct lg_snap *s, uint64_t a)
{
	size_t lo = 0, hi = s->npc;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (a < s->pc[mid].t0)
			hi = mid;
		else if (a >= s->pc[mid].end)
			lo = mid + 1;
		else
			return mid;
	}
	return (size_t)-1;
}

/* Where T0 address A is now; false if it is gone or not ours.  *END gets
 * the T0 end of its piece. */
static bool t0_to_cur(struct lg_snap *s, uint64_t a, uint64_t *cur, uint64_t *end)
{
	size_t i = piece_find(s, a);

	if (i == (size_t)-1)
		return false;
	*end = s->pc[i].end;
	if (s->pc[i].gone)
		return false;
	*cur = s->pc[i].cur + (a - s->pc[i].t0);
	return true;
}

static bool cur_to_t0(struct lg_snap *s, uint64_t x, uint64_t *a)
{
	size_t i = piece_find(s, x);

	if (i != (size_t)-1 && !s->pc[i].gone && s->pc[i].cur == s->pc[i].t0) {
		*a = x;
		return true;
	}
	if (!s->nmoved)
		return false;
	for (i = 0; i < s->npc; i++) {
		const struct piece *p = &s->pc[i];
		if (!p->gone && x >= p->cur && x < p->cur + (p->end - p->t0)) {
			*a = p->t0 + (x - p->cur);
			return true;
		}
	}
	return false;
}

/* Split piece I at T0 address A (inside it).  0 or -ENOMEM. */
static int piece_split(struct lg_snap *s, size_t i, uint64_t a)
{
	struct piece *p;

	if (LG_GROW(s->pc, s->cappc, s->npc + 1, 64))
		return -ENOMEM;
	memmove(&s->pc[i + 2], &s->pc[i + 1], (s->npc - i - 1) * sizeof(*s->pc));
	s->npc++;
	p = &s->pc[i];
	s->pc[i + 1] = *p;
	s->pc[i + 1].t0 = a;
	s->pc[i + 1].cur = p->cur + (a - p->t0);
	p->end = a;
	if (p->cur != p->t0)
		s->nmoved++;
	return 0;
}

typedef void (*piece_fn)(struct lg_snap *s, struct piece *p, void *arg);

/* Apply FN to exactly the parts of live pieces that are at current
 * addresses [x, y), splitting pieces as needed. */
static int pieces_in(struct lg_snap *s, uint64_t x, uint64_t y, piece_fn fn, void *arg)
{
	size_t i;

	for (i = 0; i < s->npc; i++) {
		struct piece *p = &s->pc[i];
		uint64_t len = p->end - p->t0, lo, hi;
		if (p->gone || p->cur >= y || p->cur + len <= x)
			continue;
		lo = x > p->cur ? x : p->cur;
		hi = y < p->cur + len ? y : p->cur + len;
		if (lo > p->cur) {
			if (piece_split(s, i, p->t0 + (lo - p->cur)))
				return -ENOMEM;
			continue;	/* the part from LO is piece i + 1 */
		}
		if (hi < p->cur + len && piece_split(s, i, p->t0 + (hi - p->cur)))
			return -ENOMEM;
		fn(s, &s->pc[i], arg);
	}
	return 0;
}

static void drop_piece(struct lg_snap *s, struct piece *p, void *arg)
{
	bool unmap = *(bool *)arg;
	uint64_t a;

	for (a = p->t0; a < p->end; a += PG) {
		struct snap_range *r = range_of(s, a);
		if (r && st_cas(s, page_index(r, a), S_PROT, S_DONE))
			STAT_ADD(s->st.dropped, 1);
	}
	if (unmap) {
		if (p->cur != p->t0)
			s->nmoved--;
		p->gone = true;
	}
}

static void move_piece(struct lg_snap *s, struct piece *p, void *arg)
{
	int64_t delta = *(int64_t *)arg;
	bool was = p->cur != p->t0;

	p->cur += (uint64_t)delta;
	if (was != (p->cur != p->t0))
		s->nmoved += was ? (size_t)-1 : 1;
}

static void wake(struct lg_snap *s, uint64_t x, uint64_t len)
{
	struct uffdio_range r = { .start = x, .len = len };
	ioctl(s->uffd, UFFDIO_WAKE, &r);
}

static void srv_fail(struct lg_snap *s, int code, const char *msg)
{
	if (!__atomic_load_n(&s->srv_r, __ATOMIC_ACQUIRE)) {
		int r = lg_failx(&s->srv_err, code, "%s", msg);
		__atomic_store_n(&s->tearing, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&s->srv_r, r, __ATOMIC_RELEASE);
	}
}

static void handle_event(struct lg_snap *s, const struct uffd_msg *m)
{
	bool unmap;
	int r = 0;

	switch (m->event) {
	case UFFD_EVENT_REMOVE:
		unmap = false;
		STAT_ADD(s->st.removes, 1);
		r = pieces_in(s, m->arg.remove.start, m->arg.remove.end, drop_piece, &unmap);
		break;
	case UFFD_EVENT_UNMAP:
		unmap = true;
		STAT_ADD(s->st.unmaps, 1);
		r = pieces_in(s, m->arg.remove.start, m->arg.remove.end, drop_piece, &unmap);
		wake(s, m->arg.remove.start, m->arg.remove.end - m->arg.remove.start);
		break;
	case UFFD_EVENT_REMAP: {
		uint64_t from = m->arg.remap.from, to = m->arg.remap.to, len = m->arg.remap.len;
		int64_t delta = (int64_t)(to - from);
		STAT_ADD(s->st.remaps, 1);
		/* Whatever was at the destination was unmapped first (the
		 * kernel sends that UNMAP before the REMAP); be sure. */
		unmap = true;
		if (!(to < from + len && from < to + len))
			r = pieces_in(s, to, to + len, drop_piece, &unmap);
		if (!r)
			r = pieces_in(s, from, from + len, move_piece, &delta);
		break;
	}
	default:
		break;
	}
	if (r)
		srv_fail(s, ENOMEM, "snapshot: out of memory following the target's mappings");
	__atomic_fetch_add(&s->ev_seq, 1, __ATOMIC_RELEASE);
}

/* ---- the aside store (under lk) ---- */

static size_t ht_pos(const struct lg_snap *s, uint64_t key)
{
	return (size_t)((key >> 12) * 0x9E3779B97F4A7C15ull) & (s->htcap - 1);
}

static void ht_put(struct lg_snap *s, uint64_t a, uint32_t slot)
{
	uint64_t key = a | 1;
	size_t i = ht_pos(s, key);

	while (s->ht[i].key)
		i = (i + 1) & (s->htcap - 1);
	s->ht[i].key = key;
	s->ht[i].slot = slot;
}

/* Remove A's entry and return its slot (it must be there). */
static uint32_t ht_take(struct lg_snap *s, uint64_t a)
{
	uint64_t key = a | 1;
	size_t i = ht_pos(s, key), j;
	uint32_t slot;

	while (s->ht[i].key != key)
		i = (i + 1) & (s->htcap - 1);
	slot = s->ht[i].slot;
	/* Backward-shift deletion keeps probe chains whole. */
	for (j = (i + 1) & (s->htcap - 1); s->ht[j].key; j = (j + 1) & (s->htcap - 1)) {
		size_t h = ht_pos(s, s->ht[j].key);
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			s->ht[i] = s->ht[j];
			i = j;
		}
	}
	s->ht[i].key = 0;
	return slot;
}

static bool slot_get(struct lg_snap *s, uint32_t *slot)
{
	if (s->nfree_mem)
		*slot = s->free_mem[--s->nfree_mem];
	else if (s->nfree_spill)
		*slot = s->free_spill[--s->nfree_spill];
	else if (s->spill_fresh < s->spill_slots)
		*slot = (uint32_t)(s->mem_slots + s->spill_fresh++);
	else
		return false;
	s->in_use++;
	if (s->in_use > s->st.aside_peak)
		s->st.aside_peak = s->in_use;
	return true;
}

static void slot_put(struct lg_snap *s, uint32_t slot)
{
	if (slot < s->mem_slots)
		s->free_mem[s->nfree_mem++] = slot;
	else
		s->free_spill[s->nfree_spill++] = slot;
	s->in_use--;
}

/* A whole page of the spill file, read or written. */
static int spill_io(int fd, void *buf, size_t len, uint64_t off, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = wr ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- the fault server ---- */

/* UFFDIO_WRITEPROTECT once, without retrying EAGAIN: the callers must
 * know when an event is in flight. */
static int wp_once(struct lg_snap *s, uint64_t x, uint64_t len, bool on)
{
	struct uffdio_writeprotect w;

	memset(&w, 0, sizeof(w));
	w.range.start = x;
	w.range.len = len;
	w.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
	return ioctl(s->uffd, UFFDIO_WRITEPROTECT, &w) ? -errno : 0;
}

static int pend_add(struct lg_snap *s, uint64_t x, uint64_t since)
{
	if (LG_GROW(s->pend, s->cappend, s->npend + 1, 16))
		return -ENOMEM;
	s->pend[s->npend].cur = x;
	s->pend[s->npend].since = since;
	s->npend++;
	return 0;
}

/* Let the faulting thread go without taking the page. */
static int release_page(struct lg_snap *s, uint64_t x)
{
	int r = wp_once(s, x, PG, false);

	if (r == -EAGAIN)
		return r;
	if (r)
		wake(s, x, PG);	/* not registered any more (unmapped) */
	return 0;
}

/* Serve a write fault on current page X.  Returns 0 when the thread was
 * let go, -EAGAIN to be retried after the next batch, -ENOBUFS when it
 * must wait for a slot. */
static int serve(struct lg_snap *s, uint64_t x)
{
	uint64_t a, t0 = lg_now_ns();
	struct snap_range *r = NULL;
	uint32_t slot = 0;
	bool have_slot = false;
	size_t i = 0;
	int e;

	pthread_mutex_lock(&s->lk);
	if (__atomic_load_n(&s->tearing, __ATOMIC_ACQUIRE) || !cur_to_t0(s, x, &a) ||
	    !(r = range_of(s, a)) || st_get(s, (i = page_index(r, a))) != S_PROT) {
		pthread_mutex_unlock(&s->lk);
		return release_page(s, x);
	}
	{
		if (!slot_get(s, &slot)) {
			pthread_mutex_unlock(&s->lk);
			if (s->o.full == LG_SNAP_FULL_FAIL) {
				srv_fail(s, ENOBUFS, "the aside store is full: the reader is slower than "
					 "the target writes");
				return release_page(s, x);
			}
			return -ENOBUFS;
		}
		have_slot = true;
	}
	if (!st_cas(s, i, S_PROT, S_BUSY)) {
		/* The streamer took it meanwhile. */
		if (have_slot)
			slot_put(s, slot);
		pthread_mutex_unlock(&s->lk);
		return release_page(s, x);
	}
	pthread_mutex_unlock(&s->lk);

	e = lg_mem_read(&s->msrv, x, (have_slot && slot < s->mem_slots) ? s->mem + (size_t)slot * PG
									 : s->tmp, PG, NULL);
	if (e) {
		srv_fail(s, -e, e == -ESRCH ? "the process exited during the dump"
					    : "reading a page of the process");
		goto revert;
	}
	e = wp_once(s, x, PG, false);
	if (e) {
		/* EAGAIN: a change of the mappings is under way and the copy
		 * may predate it; ENOENT: unmapped.  Put the page back and
		 * look again once the events are read. */
		if (e != -EAGAIN)
			wake(s, x, PG);
		goto revert;
	}
	/* The writer runs on from here; the copy is the T0 content. */
	{
		if (slot >= s->mem_slots) {
			e = spill_io(s->o.spill_fd, s->tmp, PG, (uint64_t)(slot - s->mem_slots) * PG, true);
			if (e)
				srv_fail(s, -e, "writing to the spill file");
			STAT_ADD(s->st.spilled, 1);
		}
		pthread_mutex_lock(&s->lk);
		ht_put(s, a, slot);
		st_set(s, i, S_ASIDE);
		pthread_mutex_unlock(&s->lk);
	}
	STAT_ADD(s->st.copied, 1);
	stat_max(&s->st.max_service_ns, lg_now_ns() - t0);
	return 0;
revert:
	pthread_mutex_lock(&s->lk);
	if (have_slot)
		slot_put(s, slot);
	st_set(s, i, S_PROT);
	pthread_mutex_unlock(&s->lk);
	pthread_cond_broadcast(&s->cv);
	return s->srv_r ? release_page(s, x) : -EAGAIN;
}

static void serve_fault(struct lg_snap *s, uint64_t x, uint64_t since)
{
	int r = serve(s, x);

	if (r == -ENOBUFS && !since) {
		since = lg_now_ns();
		STAT_ADD(s->st.full, 1);
	}
	if (r == -EAGAIN || r == -ENOBUFS) {
		if (pend_add(s, x, r == -ENOBUFS ? since : 0)) {
			srv_fail(s, ENOMEM, "snapshot: out of memory for waiting faults");
			release_page(s, x);
		}
		return;
	}
	if (since) {
		uint64_t w = lg_now_ns() - since;
		STAT_ADD(s->st.waits, 1);
		STAT_ADD(s->st.wait_ns, w);
		stat_max(&s->st.max_wait_ns, w);
	}
}

static void retry_pending(struct lg_snap *s)
{
	size_t n = s->npend, i;
	struct pend *old;

	if (!n)
		return;
	old = malloc(n * sizeof(*old));
	if (!old)
		return;		/* retried after the next batch */
	memcpy(old, s->pend, n * sizeof(*old));
	s->npend = 0;
	for (i = 0; i < n; i++) {
		if (old[i].since && s->o.max_wait_ns && lg_now_ns() - old[i].since > s->o.max_wait_ns &&
		    !s->srv_r)
			srv_fail(s, ENOBUFS, "a writer of the target waited too long for the reader");
		serve_fault(s, old[i].cur, old[i].since);
	}
	free(old);
}

static void *server_main(void *arg)
{
	struct lg_snap *s = arg;
	struct uffd_msg msg[MAXMSG];

	for (;;) {
		struct pollfd pf[2] = { { s->uffd, POLLIN, 0 }, { s->efd, POLLIN, 0 } };
		size_t n = 0, i;
		uint64_t v;

		if (poll(pf, 2, s->npend ? 1 : -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents & POLLIN)
			(void)!read(s->efd, &v, sizeof(v));
		if (__atomic_load_n(&s->quit, __ATOMIC_ACQUIRE))
			break;

		pthread_mutex_lock(&s->lk);
		s->batch++;
		pthread_mutex_unlock(&s->lk);
		while (n < MAXMSG) {
			ssize_t got = read(s->uffd, &msg[n], (MAXMSG - n) * sizeof(msg[0]));
			if (got <= 0)
				break;
			n += (size_t)got / sizeof(msg[0]);
		}
		/* Events first: they change what the faults mean. */
		pthread_mutex_lock(&s->lk);
		for (i = 0; i < n; i++)
			if (msg[i].event != UFFD_EVENT_PAGEFAULT)
				handle_event(s, &msg[i]);
		pthread_mutex_unlock(&s->lk);
		retry_pending(s);
		for (i = 0; i < n; i++)
			if (msg[i].event == UFFD_EVENT_PAGEFAULT) {
				STAT_ADD(s->st.faults, 1);
				serve_fault(s, msg[i].arg.pagefault.address & LG_PAGE_MASK, 0);
			}
		pthread_mutex_lock(&s->lk);
		s->batch++;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->lk);
	}
	/* Nobody may wait on us once we are gone. */
	while (s->npend) {
		s->npend--;
		if (release_page(s, s->pend[s->npend].cur) == -EAGAIN)
			wake(s, s->pend[s->npend].cur, PG);
	}
	return NULL;
}

static void kick(struct lg_snap *s)
{
	uint64_t one = 1;
	(void)!write(s->efd, &one, sizeof(one));
}

/* ---- open ---- */

static int build(struct lg_snap *s, const struct lg_range *ranges, size_t n,
		 const struct lg_range *armed, size_t narmed, struct lg_error *err)
{
	size_t i, j, words, nslots;

	if (!(s->rg = calloc(n ? n : 1, sizeof(*s->rg))))
		goto nomem;
	for (i = 0; i < n; i++) {
		if ((ranges[i].start | ranges[i].end) & (PG - 1) || ranges[i].end <= ranges[i].start ||
		    (i && ranges[i].start < ranges[i - 1].end))
			return lg_failx(err, EINVAL, "snapshot ranges must be page aligned, sorted, disjoint");
		s->rg[i].start = ranges[i].start;
		s->rg[i].end = ranges[i].end;
		s->rg[i].first = s->npages;
		s->npages += (ranges[i].end - ranges[i].start) / PG;
	}
	s->nrg = n;
	/* The address map first: with it the teardown can undo the arming. */
	if (LG_GROW(s->pc, s->cappc, n ? n : 1, 64))
		goto nomem;
	for (i = 0; i < n; i++) {
		s->pc[i].t0 = s->pc[i].cur = ranges[i].start;
		s->pc[i].end = ranges[i].end;
		s->pc[i].gone = false;
	}
	s->npc = n;
	/* Every page DONE (a hole: zeros), then the armed ones PROT. */
	words = (s->npages + 31) / 32;
	if (!(s->state = malloc((words ? words : 1) * sizeof(*s->state))))
		goto nomem;
	memset(s->state, 0xff, words * sizeof(*s->state));
	/* In the T0 stop: whole words at once (S_PROT is 0), as a page at a
	 * time costs about 10 ms per 4 GiB.  No server runs yet. */
	for (j = 0; j < narmed; j++) {
		uint64_t a = armed[j].start, e, i0, i1;
		while (a < armed[j].end) {
			struct snap_range *r = range_of(s, a);
			if (!r)
				return lg_failx(err, EINVAL, "armed page %#llx is outside the snapshot",
						(unsigned long long)a);
			e = armed[j].end < r->end ? armed[j].end : r->end;
			i0 = page_index(r, a);
			i1 = page_index(r, e - PG) + 1;
			for (; i0 < i1 && i0 % 32; i0++)
				s->state[i0 / 32] &= ~(3ull << (2 * (i0 % 32)));
			if (i1 - i0 >= 32) {
				memset(&s->state[i0 / 32], 0, (i1 - i0) / 32 * sizeof(*s->state));
				i0 += (i1 - i0) / 32 * 32;
			}
			for (; i0 < i1; i0++)
				s->state[i0 / 32] &= ~(3ull << (2 * (i0 % 32)));
			a = e;
		}
	}

	s->mem_slots = s->o.aside_pages;
	s->spill_slots = s->o.spill_fd >= 0 ? s->o.spill_pages : 0;
	nslots = s->mem_slots + s->spill_slots;
	if (nslots > UINT32_MAX / 2)
		return lg_failx(err, EINVAL, "aside store too large");
	if (s->mem_slots) {
		/* Untouched slots cost no memory: RSS follows the peak use. */
		s->mem = mmap(NULL, s->mem_slots * PG, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (s->mem == MAP_FAILED) {
			s->mem = NULL;
			goto nomem;
		}
	}
	if (!(s->free_mem = malloc((s->mem_slots + 1) * sizeof(uint32_t))) ||
	    !(s->free_spill = malloc((s->spill_slots + 1) * sizeof(uint32_t))))
		goto nomem;
	/* LIFO, lowest slots on top: the same few pages are reused. */
	for (i = 0; i < s->mem_slots; i++)
		s->free_mem[i] = (uint32_t)(s->mem_slots - 1 - i);
	s->nfree_mem = s->mem_slots;
	/* Spill slots are handed out in order the first time (the file
	 * grows from its start) and listed only once freed: nothing to fill
	 * for a million of them in the T0 stop. */
	s->nfree_spill = 0;
	s->spill_fresh = 0;
	for (s->htcap = 16; s->htcap < 2 * nslots; s->htcap *= 2)
		;
	if (!(s->ht = calloc(s->htcap, sizeof(*s->ht))))
		goto nomem;
	if (!(s->tmp = malloc(PG)) || !(s->buf = malloc(s->o.chunk)))
		goto nomem;
	return 0;
nomem:
	return lg_fail(err, ENOMEM, "snapshot");
}

static void undo(struct lg_snap *s, bool streamed_only);
static void destroy(struct lg_snap *s);

int lg_snap_open(int uffd, pid_t pid, const struct lg_range *ranges, size_t n,
		 const struct lg_range *armed, size_t narmed, const struct lg_snap_opts *o,
		 struct lg_snap **out, struct lg_error *err)
{
	struct lg_snap *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s) {
		close(uffd);
		return lg_fail(err, ENOMEM, "snapshot");
	}
	s->uffd = uffd;
	s->pid = pid;
	s->efd = -1;
	if (o)
		s->o = *o;
	else
		s->o.spill_fd = -1;
	if (!s->o.aside_pages)
		s->o.aside_pages = LG_SNAP_ASIDE_DEFAULT;
	if (!s->o.chunk)
		s->o.chunk = 2u << 20;
	s->o.chunk = (s->o.chunk + PG - 1) & LG_PAGE_MASK;
	pthread_mutex_init(&s->lk, NULL);
	pthread_cond_init(&s->cv, NULL);
	lg_mem_init(&s->msrv, pid);
	lg_mem_init(&s->mstr, pid);
	if ((r = build(s, ranges, n, armed, narmed, err)))
		goto fail;
	s->cursor = n ? s->rg[0].start : 0;
	if ((s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		r = lg_fail(err, errno, "eventfd");
		goto fail;
	}
	if ((r = -pthread_create(&s->th, NULL, server_main, s))) {
		r = lg_fail(err, -r, "starting the fault server");
		goto fail;
	}
	s->th_started = true;
	*out = s;
	return 0;
fail:
	/* The armed pages must not stay protected with nobody serving them:
	 * take everything down now (the target may already be running). */
	if (s->npc == n && n)
		undo(s, false);
	else
		close(uffd);
	destroy(s);
	return r;
}

/* ---- the streamer ---- */

static void wait_batch(struct lg_snap *s)
{
	pthread_mutex_lock(&s->lk);
	if (s->batch & 1) {
		unsigned long b = s->batch;
		while (s->batch == b)
			pthread_cond_wait(&s->cv, &s->lk);
	}
	pthread_mutex_unlock(&s->lk);
}

static int add_run(struct lg_snap *s, size_t *nruns, uint64_t a, uint64_t b)
{
	if (*nruns && s->runs[*nruns - 1].end == a) {
		s->runs[*nruns - 1].end = b;
		return 0;
	}
	if (LG_GROW(s->runs, s->capruns, *nruns + 1, 16))
		return -ENOMEM;
	s->runs[*nruns].start = a;
	s->runs[*nruns].end = b;
	(*nruns)++;
	return 0;
}

/* Move the streamer's cursor past [.., B). */
static void advance(struct lg_snap *s, uint64_t b)
{
	s->cursor = b;
	if (b >= s->rg[s->cur_rg].end) {
		s->cur_rg++;
		if (s->cur_rg < s->nrg)
			s->cursor = s->rg[s->cur_rg].start;
	}
}

/* Whether a read of target memory made since the address map was at
 * event count SEQ0 is still good: 1 yes, 0 read again, 2 nothing is
 * registered there any more, <0 error.  [X, X + LEN) is where the read
 * was, in one piece of the map: re-protecting it fails with EAGAIN while a
 * change of the mappings is under way.  It may re-protect pages the
 * server already took (a write to one then faults once more, and is let
 * go); the streamer unprotects the chunk when done.  The range must not
 * cut a huge page: changing the protection of part of one splits it. */
static int validate(struct lg_snap *s, uint64_t x, uint64_t len, unsigned long seq0,
		    struct lg_error *err)
{
	int r = wp_once(s, x, len, true);

	if (r == -EAGAIN) {
		sched_yield();
		return 0;
	}
	wait_batch(s);
	if (__atomic_load_n(&s->ev_seq, __ATOMIC_ACQUIRE) != seq0)
		return 0;
	if (r == -ENOENT) {
		/* Unregistered without an event: the process exited or
		 * exec'd, and nothing of it is left to read. */
		if (kill(s->pid, 0) < 0 && errno == ESRCH)
			return lg_failx(err, ESRCH, "the process exited during the dump");
		return 2;
	}
	if (r)
		return lg_fail(err, -r, "UFFDIO_WRITEPROTECT");
	return 1;
}

/* Take one PROT page at T0 address PA that the chunk's read did not cover:
 * read it alone.  0 when its state changed meanwhile (look again). */
static int take_alone(struct lg_snap *s, size_t i, uint64_t pa, uint8_t *p, struct lg_error *err)
{
	for (;;) {
		uint64_t cur, end;
		unsigned long seq0;
		bool live;
		int r;

		pthread_mutex_lock(&s->lk);
		live = t0_to_cur(s, pa, &cur, &end);
		seq0 = s->ev_seq;
		pthread_mutex_unlock(&s->lk);
		if (!live) {
			if (st_cas(s, i, S_PROT, S_DONE))
				STAT_ADD(s->st.dropped, 1);
			return 0;
		}
		if ((r = lg_mem_read(&s->mstr, cur, p, PG, err)))
			return r;
		r = validate(s, cur, PG, seq0, err);
		if (r < 0)
			return r;
		if (r == 0) {
			STAT_ADD(s->st.rereads, 1);
			if (st_get(s, i) != S_PROT)
				return 0;
			continue;
		}
		if (r == 2) {
			if (st_cas(s, i, S_PROT, S_DONE))
				STAT_ADD(s->st.dropped, 1);
			return 0;
		}
		if (st_cas(s, i, S_PROT, S_DONE)) {
			STAT_ADD(s->st.direct, 1);
			return 1;
		}
		return 0;
	}
}

int lg_snap_next(struct lg_snap *s, struct lg_snap_chunk *c, struct lg_error *err)
{
	const struct snap_range *rg;
	uint64_t a, b, cur = 0, pend_t0 = 0, first = (uint64_t)-1, last = 0;
	size_t i0, np, k, nruns = 0;
	bool live = false, got_read = false;
	int r;

	if ((r = __atomic_load_n(&s->srv_r, __ATOMIC_ACQUIRE))) {
		if (err)
			*err = s->srv_err;
		return r;
	}
	if (s->cur_rg >= s->nrg)
		return 0;
	rg = &s->rg[s->cur_rg];
	a = s->cursor;
	/* Chunks end on multiples of the chunk size (2 MiB by default):
	 * unprotecting a whole huge page keeps it huge. */
	b = (a / s->o.chunk + 1) * s->o.chunk;
	if (b > rg->end)
		b = rg->end;
	i0 = page_index(rg, a);

	/* One read for the pages still protected, kept only if nothing
	 * moved under it. */
	for (;;) {
		unsigned long seq0;
		pthread_mutex_lock(&s->lk);
		live = t0_to_cur(s, a, &cur, &pend_t0);
		seq0 = s->ev_seq;
		pthread_mutex_unlock(&s->lk);
		if (pend_t0 < b)
			b = pend_t0;	/* one piece a chunk */
		np = (b - a) / PG;
		first = (uint64_t)-1;
		for (k = 0; k < np; k++)
			if (st_get(s, i0 + k) == S_PROT) {
				if (first == (uint64_t)-1)
					first = k;
				last = k;
			}
		if (first == (uint64_t)-1 || !live)
			break;
		{
			struct lg_range rd = { cur + first * PG, cur + (last + 1) * PG };
			if ((r = lg_mem_readv(&s->mstr, &rd, 1, s->buf + first * PG, err)))
				return r;
		}
		/* The whole chunk: with 2 MiB chunks a huge page stays whole. */
		r = validate(s, cur, b - a, seq0, err);
		if (r < 0)
			return r;
		if (r == 1) {
			got_read = true;
			break;
		}
		if (r == 2) {
			/* Nothing left to read there. */
			for (k = first; k <= last; k++)
				if (st_cas(s, i0 + k, S_PROT, S_DONE))
					STAT_ADD(s->st.dropped, 1);
			break;
		}
		STAT_ADD(s->st.rereads, 1);
	}

	for (k = 0; k < np; k++) {
		uint8_t *p = s->buf + k * PG;
		uint64_t pa = a + k * PG;
		for (;;) {
			unsigned st = st_get(s, i0 + k);
			if (st == S_PROT) {
				/* Protected during the read: its T0 content. */
				if (got_read && k >= first && k <= last && st_cas(s, i0 + k, S_PROT, S_DONE)) {
					STAT_ADD(s->st.direct, 1);
					break;
				}
				/* Back to PROT after the server gave up a copy,
				 * or the read could not be kept. */
				if (!(got_read && k >= first && k <= last)) {
					if ((r = take_alone(s, i0 + k, pa, p, err)) < 0)
						return r;
					if (r == 1)
						break;
				}
				continue;
			}
			if (st == S_BUSY) {
				sched_yield();
				continue;
			}
			if (st == S_ASIDE) {
				uint32_t slot;
				r = 0;
				pthread_mutex_lock(&s->lk);
				slot = ht_take(s, pa);
				if (slot < s->mem_slots)
					memcpy(p, s->mem + (size_t)slot * PG, PG);
				else
					r = spill_io(s->o.spill_fd, p, PG,
						     (uint64_t)(slot - s->mem_slots) * PG, false);
				slot_put(s, slot);
				st_set(s, i0 + k, S_DONE);
				pthread_mutex_unlock(&s->lk);
				if (r)
					return lg_fail(err, -r, "reading the spill file");
				break;
			}
			/* DONE: a hole or dropped. */
			memset(p, 0, PG);
			STAT_ADD(s->st.zero, 1);
			break;
		}
		if (add_run(s, &nruns, pa, pa + PG))
			return lg_fail(err, ENOMEM, "snapshot");
	}
	/* Everything in the chunk is taken: let the target write it freely.
	 * A fault already queued for one of its pages is woken here. */
	pthread_mutex_lock(&s->lk);
	live = t0_to_cur(s, a, &cur, &pend_t0);
	pthread_mutex_unlock(&s->lk);
	if (live) {
		struct uffdio_writeprotect w;
		for (;;) {
			memset(&w, 0, sizeof(w));
			w.range.start = cur;
			w.range.len = b - a;
			if (!ioctl(s->uffd, UFFDIO_WRITEPROTECT, &w) || errno != EAGAIN)
				break;
			sched_yield();
		}
	}
	if (__atomic_load_n(&s->npend, __ATOMIC_RELAXED))
		kick(s);
	advance(s, b);
	c->addr = a;
	c->len = b - a;
	c->data = s->buf;
	c->runs = s->runs;
	c->nruns = nruns;
	return 1;
}

uint64_t lg_snap_full_count(struct lg_snap *s)
{
	return __atomic_load_n(&s->st.full, __ATOMIC_RELAXED);
}

void lg_snap_get_stats(struct lg_snap *s, struct lg_snap_stats *st)
{
	pthread_mutex_lock(&s->lk);
	*st = s->st;
	pthread_mutex_unlock(&s->lk);
}

/* ---- teardown ---- */

/* Without a server, read (and forget) what the uffd holds: an event
 * unread would fail every UFFDIO_WRITEPROTECT with EAGAIN, and the thread
 * that raised it waits for the read. */
static void drain(struct lg_snap *s)
{
	struct uffd_msg m[MAXMSG];

	while (read(s->uffd, m, sizeof(m)) > 0)
		;
}

static void timed_call(struct lg_snap *s, unsigned long req, void *arg, uint64_t *max)
{
	uint64_t t0 = lg_now_ns(), dt;

	while (ioctl(s->uffd, req, arg) < 0 && (errno == EAGAIN || errno == EINTR)) {
		if (!s->th_started)
			drain(s);
		sched_yield();
	}
	dt = lg_now_ns() - t0;
	if (dt > *max)
		*max = dt;
}

/* Piece I as it is now, read under the lock; false past the last. */
static bool piece_at(struct lg_snap *s, size_t i, struct piece *out)
{
	bool ok;

	pthread_mutex_lock(&s->lk);
	ok = i < s->npc;
	if (ok)
		*out = s->pc[i];
	pthread_mutex_unlock(&s->lk);
	return ok;
}

/* Unprotect what the streamer has not reached (everything when
 * STREAMED_ONLY is false), then unregister every live piece, chunk by
 * chunk, then stop the server and close the descriptor.  The server, if
 * running, lets every fault go meanwhile (tearing).  Closing with
 * protections left would clear them under the target's mmap write lock,
 * all at once (on 6.18 about 100 ms per GiB of 4 KiB pages, during which
 * its faults wait). */
static void undo(struct lg_snap *s, bool streamed_only)
{
	uint64_t t0, max = 0;
	size_t i;

	__atomic_store_n(&s->tearing, 1, __ATOMIC_RELEASE);
	if (s->th_started)
		kick(s);
	t0 = lg_now_ns();
	/* The server goes on handling the target's unmaps and remaps, which
	 * split and grow the pieces under the lock: each piece is read under
	 * it.  One split meanwhile may make us skip a piece, whose
	 * protection close() then clears. */
	for (i = 0;; i++) {
		struct piece pc;
		const struct piece *p = &pc;
		uint64_t a;
		if (!piece_at(s, i, &pc))
			break;
		a = p->t0;
		if (p->gone)
			continue;
		/* Everything below the cursor was streamed and unprotected. */
		if (streamed_only && a < s->cursor)
			a = s->cursor < p->end ? s->cursor : p->end;
		if (streamed_only && s->cur_rg >= s->nrg)
			a = p->end;
		while (a < p->end) {
			struct uffdio_writeprotect w;
			uint64_t len = LG_SNAP_TEARDOWN_CHUNK - (a & (LG_SNAP_TEARDOWN_CHUNK - 1));
			if (len > p->end - a)
				len = p->end - a;
			memset(&w, 0, sizeof(w));
			w.range.start = p->cur + (a - p->t0);
			w.range.len = len;
			timed_call(s, UFFDIO_WRITEPROTECT, &w, &max);
			a += len;
		}
	}
	s->st.unprotect_ns = lg_now_ns() - t0;
	t0 = lg_now_ns();
	/* UFFDIO_UNREGISTER takes the mmap lock for writing: small calls.
	 * It also wakes the faults still queued in the range. */
	for (i = 0;; i++) {
		struct piece pc;
		const struct piece *p = &pc;
		uint64_t a, end;
		if (!piece_at(s, i, &pc))
			break;
		a = p->cur;
		end = p->cur + (p->end - p->t0);
		if (p->gone)
			continue;
		while (a < end) {
			struct uffdio_range rg;
			uint64_t len = end - a;
			if (len > LG_SNAP_UNREGISTER_CHUNK)
				len = LG_SNAP_UNREGISTER_CHUNK;
			rg.start = a;
			rg.len = len;
			timed_call(s, UFFDIO_UNREGISTER, &rg, &max);
			a += len;
		}
	}
	s->st.unregister_ns = lg_now_ns() - t0;
	s->st.max_teardown_call_ns = max;
	if (s->th_started) {
		__atomic_store_n(&s->quit, 1, __ATOMIC_RELEASE);
		kick(s);
		pthread_join(s->th, NULL);
		s->th_started = false;
	}
	close(s->uffd);
	s->uffd = -1;
}

static void destroy(struct lg_snap *s)
{
	if (s->efd >= 0)
		close(s->efd);
	lg_mem_close(&s->msrv);
	lg_mem_close(&s->mstr);
	if (s->mem)
		munmap(s->mem, s->mem_slots * PG);
	free(s->rg);
	free(s->state);
	free(s->pc);
	free(s->free_mem);
	free(s->free_spill);
	free(s->ht);
	free(s->tmp);
	free(s->buf);
	free(s->runs);
	free(s->pend);
	pthread_mutex_destroy(&s->lk);
	pthread_cond_destroy(&s->cv);
	free(s);
}

int lg_snap_close(struct lg_snap *s, struct lg_snap_stats *st, struct lg_error *err)
{
	int r;

	undo(s, true);
	r = s->srv_r;
	if (r && err)
		*err = s->srv_err;
	if (st)
		*st = s->st;
	destroy(s);
	return r;
}
