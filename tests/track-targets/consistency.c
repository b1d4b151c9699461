/* A busy target whose core must be one snapshot, and its checker.
 *
 *   consistency run RATE [LOG]  writers write RATE page records/s each (0:
 *                            flat out); prints "world ADDR" then "ready"
 *   consistency shared RATE ANON_MIB MEMFD_MIB KEEPFD [LOG]
 *                            the same with writer 0's pages in ANON_MIB of
 *                            MAP_SHARED|MAP_ANONYMOUS memory and writer 1's
 *                            in a memfd of MEMFD_MIB, both populated before
 *                            "ready"; the memfd's descriptor is closed once
 *                            mapped unless KEEPFD is 1; with KEEPFD 2 its
 *                            first MiB is mapped a second time
 *   consistency check CORE ADDR [LOG]   reads the core and checks it; exit 0
 *                            if consistent, 1 with the first problem if not
 *
 * On SIGUSR1 the target prints "maxgap_us N writes N": the longest time
 * a writer's loop went without running (the pause a dumper imposed, from
 * "ready" on), and exits.
 *
 * Each writer owns NPAGES pages, a counter G and a journal: operation s
 * (a page record or a MADV_DONTNEED; in shared memory a MADV_REMOVE, and
 * a MADV_DONTNEED that keeps the bytes) is applied, journalled at s % NJ, and
 * only then is G set to s.  In a snapshot, for every page the last journal
 * operation up to G decides its content exactly: a record with that seq
 * whose payload and checksum match, or zeros after a zap.  A page copied
 * before a later write that the dump missed has an older seq; a torn copy
 * fails its checksum; a page from after the snapshot has seq > G.  Only
 * operation G+1 may be half done.  A mapper thread maps, fills, publishes,
 * unpublishes and unmaps regions; a spawner creates threads that exit.
 *
 * With LOG, every discard (a zap, an unmap) is first appended to the file
 * LOG, outside the process's memory.  A snapshot-mode core is the state at
 * its start except for memory the process discards before it was written
 * out (the kernel drops it first): given the LOG, the checker accepts
 * zeros exactly where a discard after the snapshot's G happened, and says
 * how many. */
#include <elf.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define NWRITERS 2
#define NPAGES 4096		/* 16 MiB per writer */
#define NJ (1u << 20)		/* journal entries */
#define ZAP 0x80000000u
/* Shared memory only: MADV_DONTNEED, which drops the page table entry but
 * keeps the bytes (zaps there are MADV_REMOVE, which punches the page). */
#define DROP 0x40000000u
#define OPS (ZAP | DROP)
#define NMAPS 8
#define MAXPAGES (1u << 20)	/* 4 GiB a writer at most */

struct rec {
	uint64_t seq;
	uint32_t page, writer;
	uint64_t sum;
	uint64_t payload[(PAGE - 24) / 8];
};

struct writer {
	volatile uint64_t g;
	struct rec *pages;
	volatile uint32_t *journal;
};

struct mapdesc {
	volatile uint64_t addr, gen, len;
};

struct world {
	uint64_t magic;
	struct writer w[NWRITERS];
	struct mapdesc maps[NMAPS];
	/* After the rest: snapshot-consistency.sh reads the counters G at
	 * fixed offsets. */
	struct {
		uint32_t npages;
		uint32_t shared;	/* pages are shared memory */
	} wi[NWRITERS];
};

static struct world *W;
static long rate;
static int logfd = -1;
static volatile long long maxgap_ns, started_ns;
static volatile unsigned long long writes;

/* Appended before the discard, so that every discard is in the log. */
static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char line[96];
	va_list ap;
	int n;

	if (logfd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (write(logfd, line, (size_t)n) != n)
		_exit(3);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void fill(struct rec *r, uint64_t seq, uint32_t page, uint32_t writer)
{
	uint64_t s = 0;
	size_t i;
	for (i = 0; i < sizeof(r->payload) / 8; i++) {
		r->payload[i] = mix(seq * 131 + i);
		s += r->payload[i];
	}
	r->page = page;
	r->writer = writer;
	r->sum = s ^ seq;
	__atomic_store_n(&r->seq, seq, __ATOMIC_RELEASE);
}

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *writer_main(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	struct writer *w = &W->w[id];
	uint32_t npages = W->wi[id].npages, shared = W->wi[id].shared;
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (id + 1), s = w->g;
	long long start = now_ns(), last = start;

	for (;;) {
		uint32_t p;
		long long t = now_ns();
		if (started_ns && t - last > maxgap_ns && last >= started_ns)
			maxgap_ns = t - last;	/* racy max: a lost update is a near-equal gap */
		last = t;
		if (rate) {
			long long want = (now_ns() - start) / 1000 * rate / 1000000;
			if ((long long)w->g >= want) {
				usleep(200);
				continue;
			}
		}
		s = w->g + 1;
		seed = mix(seed + s);
		p = (uint32_t)(seed % npages);
		if (s % 64 == 0) {
			w->journal[s % NJ] = p | ZAP;
			logf_("z %u %u %llu\n", id, p, (unsigned long long)s);
			madvise(&w->pages[p], PAGE, shared ? MADV_REMOVE : MADV_DONTNEED);
		} else if (shared && s % 64 == 32) {
			/* Logged as a discard too: the snapshot mode documents
			 * MADV_DONTNEED after T0 as one, shared memory or not. */
			w->journal[s % NJ] = p | DROP;
			logf_("z %u %u %llu\n", id, p, (unsigned long long)s);
			madvise(&w->pages[p], PAGE, MADV_DONTNEED);
		} else {
			w->journal[s % NJ] = p;
			fill(&w->pages[p], s, p, id);
		}
		__atomic_store_n(&w->g, s, __ATOMIC_RELEASE);
		__atomic_add_fetch(&writes, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *mapper_main(void *arg)
{
	uint64_t gen = 0;
	(void)arg;
	for (;;) {
		int i = (int)(gen % NMAPS);
		size_t len = (size_t)(1 + gen % 7) * PAGE * 16, k;
		uint64_t *m;
		if (W->maps[i].addr) {
			void *old = (void *)(uintptr_t)W->maps[i].addr;
			size_t olen = W->maps[i].len;
			__atomic_store_n(&W->maps[i].addr, 0, __ATOMIC_RELEASE);
			logf_("u %d %llu\n", i, (unsigned long long)W->maps[i].gen);
			munmap(old, olen);
		}
		gen++;
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			continue;
		for (k = 0; k < len / 8; k++)
			m[k] = gen ^ k;
		W->maps[i].gen = gen;
		W->maps[i].len = len;
		__atomic_store_n(&W->maps[i].addr, (uint64_t)(uintptr_t)m, __ATOMIC_RELEASE);
		usleep(500);
	}
	return NULL;
}

static void *short_main(void *arg)
{
	volatile char buf[8192];
	memset((char *)buf, 1, sizeof(buf));
	usleep(1000);
	return arg;
}

static void *spawner_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t;
		if (!pthread_create(&t, NULL, short_main, NULL))
			pthread_join(t, NULL);
		usleep(2000);
	}
	return NULL;
}

/* Writer I's pages: private, or (SHARED) MAP_SHARED|MAP_ANONYMOUS for
 * writer 0 and a memfd for writer 1, every page populated. */
static void *pages_of(int i, size_t mib, bool shared, int keepfd)
{
	size_t len = mib << 20, k;
	char *p;
	int fd;

	if (!shared)
		return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (i == 0) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	} else {
		if ((fd = memfd_create("consistency", MFD_CLOEXEC)) < 0 || ftruncate(fd, (off_t)len))
			return MAP_FAILED;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		/* KEEPFD 2: the memfd's first MiB mapped a second time. */
		if (keepfd == 2 && mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
				   MAP_FAILED)
			return MAP_FAILED;
		if (keepfd != 1)
			close(fd);
	}
	if (p != MAP_FAILED)
		for (k = 0; k < len; k += PAGE)
			((volatile char *)p)[k] = 0;
	return p;
}

static int run(bool shared, size_t anon_mib, size_t memfd_mib, int keepfd)
{
	sigset_t usr1;
	pthread_t t;
	int i;

	W = mmap(NULL, sizeof(*W), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	W->magic = 0x6c67636f6e736973ULL;
	/* SIGUSR1 for the main thread only, which waits for it: blocked
	 * before the other threads start, they inherit the mask. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	for (i = 0; i < NWRITERS; i++) {
		size_t mib = !shared ? (size_t)NPAGES * PAGE >> 20 : i == 0 ? anon_mib : memfd_mib;
		W->wi[i].npages = (uint32_t)(mib << 20 >> 12);
		W->wi[i].shared = shared;
		W->w[i].pages = pages_of(i, mib, shared, keepfd);
		W->w[i].journal = mmap(NULL, NJ * 4, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (W->w[i].pages == MAP_FAILED || W->w[i].journal == MAP_FAILED)
			return 2;
	}
	for (i = 0; i < NWRITERS; i++)
		pthread_create(&t, NULL, writer_main, (void *)(uintptr_t)i);
	pthread_create(&t, NULL, mapper_main, NULL);
	pthread_create(&t, NULL, spawner_main, NULL);
	printf("world %#llx\n", (unsigned long long)(uintptr_t)W);
	/* The pages every core must hold, for a test harness that damages a
	 * core on purpose to see the checker catch it. */
	for (i = 0; i < NWRITERS; i++)
		printf("writer.%d.pages.addr=%p\nwriter.%d.pages.len=%zu\n", i,
		       (void *)W->w[i].pages, i, (size_t)W->wi[i].npages * PAGE);
	started_ns = now_ns();
	printf("ready\n");
	fflush(stdout);
	while (sigwaitinfo(&usr1, NULL) != SIGUSR1)
		;
	printf("maxgap_us %lld writes %llu\n", maxgap_ns / 1000, writes);
	fflush(stdout);
	_exit(0);
}

/* --- checker: read memory out of the core ------------------------------- */

static int cfd;
static Elf64_Phdr *ph;
static size_t nph;

static int core_read(uint64_t addr, void *buf, size_t len)
{
	size_t i;
	for (i = 0; i < nph; i++) {
		if (ph[i].p_type != PT_LOAD || addr < ph[i].p_vaddr ||
		    addr + len > ph[i].p_vaddr + ph[i].p_memsz)
			continue;
		if (addr + len > ph[i].p_vaddr + ph[i].p_filesz) {
			memset(buf, 0, len);	/* not dumped: treat as zeros */
			if (addr >= ph[i].p_vaddr + ph[i].p_filesz)
				return 0;
			len = ph[i].p_vaddr + ph[i].p_filesz - addr;
		}
		return pread(cfd, buf, len, (off_t)(ph[i].p_offset + addr - ph[i].p_vaddr)) == (ssize_t)len ? 0 : -1;
	}
	return -1;
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("INCONSISTENT: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	return 1;
}

/* The discards a LOG holds: the last zap of each page, the unmapped
 * region generations. */
static uint64_t *lastzap[NWRITERS];
static uint64_t *unmapped;
static size_t nunmapped;

static int read_log(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned a, b;
	unsigned long long c;
	char t;

	if (!f)
		return -1;
	while (fscanf(f, " %c", &t) == 1) {
		if (t == 'z' && fscanf(f, "%u %u %llu", &a, &b, &c) == 3 && a < NWRITERS &&
		    1) {
			if (b >= MAXPAGES)
				continue;
			if (!lastzap[a] && !(lastzap[a] = calloc(MAXPAGES, sizeof(uint64_t))))
				return -1;
			if (c > lastzap[a][b])
				lastzap[a][b] = c;
		} else if (t == 'u' && fscanf(f, "%u %llu", &a, &c) == 2) {
			uint64_t *n = realloc(unmapped, (nunmapped + 1) * sizeof(*n));
			if (!n)
				return -1;
			unmapped = n;
			unmapped[nunmapped++] = c * NMAPS + a;
		} else {
			break;	/* a line cut short by the kill: the rest is unused */
		}
	}
	fclose(f);
	return 0;
}

static bool was_unmapped(int i, uint64_t gen)
{
	size_t k;

	for (k = 0; k < nunmapped; k++)
		if (unmapped[k] == gen * NMAPS + (uint64_t)i)
			return true;
	return false;
}

static int check(const char *core, uint64_t waddr, const char *log)
{
	static struct world w;
	static uint32_t journal[NJ];
	static uint64_t last[MAXPAGES];	/* seq of the last op on each page that set its
					 * bytes, 0: none in the window */
	static struct rec r;
	Elf64_Ehdr eh;
	int i;
	uint64_t checked = 0, zeros = 0, maps = 0, dropped = 0, dropped_maps = 0;

	if (log && read_log(log))
		return bad("cannot read the log %s", log);

	cfd = open(core, O_RDONLY);
	if (cfd < 0 || pread(cfd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, 4))
		return bad("%s is not an ELF file", core);
	nph = eh.e_phnum;
	if (nph == PN_XNUM) {
		Elf64_Shdr sh;
		if (pread(cfd, &sh, sizeof(sh), (off_t)eh.e_shoff) != sizeof(sh))
			return bad("no section header 0");
		nph = sh.sh_info;
	}
	ph = calloc(nph, sizeof(*ph));
	if (pread(cfd, ph, nph * sizeof(*ph), (off_t)eh.e_phoff) != (ssize_t)(nph * sizeof(*ph)))
		return bad("short program headers");
	if (core_read(waddr, &w, sizeof(w)) || w.magic != 0x6c67636f6e736973ULL)
		return bad("world not found at %#llx", (unsigned long long)waddr);

	for (i = 0; i < NWRITERS; i++) {
		uint64_t g = w.w[i].g, s, lo = g > NJ - 2 ? g - (NJ - 2) : 0;
		uint32_t inflight, np = w.wi[i].npages;
		uint32_t p;
		if (np > MAXPAGES)
			return bad("writer %d has %u pages", i, np);
		if (core_read((uintptr_t)w.w[i].journal, journal, sizeof(journal)))
			return bad("journal of writer %d unreadable", i);
		memset(last, 0, sizeof(last));
		for (s = lo + 1; s <= g; s++)
			if (!(journal[s % NJ] & DROP) && (journal[s % NJ] & ~OPS) < np)
				last[journal[s % NJ] & ~OPS] = s;
		inflight = journal[(g + 1) % NJ] & ~OPS;
		for (p = 0; p < np; p++) {
			uint64_t sum = 0, want = last[p];
			size_t k;
			if (p == inflight)
				continue;
			if (core_read((uintptr_t)&w.w[i].pages[p], &r, sizeof(r)))
				return bad("writer %d page %u unreadable", i, p);
			if (want && (journal[want % NJ] & ZAP)) {
				for (k = 0; k < sizeof(r) / 8; k++)
					if (((uint64_t *)&r)[k])
						return bad("writer %d page %u: zapped at op %llu but holds op %llu",
							   i, p, (unsigned long long)want,
							   (unsigned long long)r.seq);
				zeros++;
				continue;
			}
			if (r.seq == 0) {
				if (want && lastzap[i] && lastzap[i][p] > g) {
					/* Discarded after the snapshot. */
					dropped++;
					continue;
				}
				if (want)
					return bad("writer %d page %u: zeros, but op %llu wrote it", i, p,
						   (unsigned long long)want);
				/* Never written, or zapped: all zeros.  Only the
				 * op in flight (skipped above) has written a
				 * record's body but not yet its seq. */
				for (k = 1; k < sizeof(r) / 8; k++)
					if (((uint64_t *)&r)[k])
						return bad("writer %d page %u: no record, but not zeros", i, p);
				continue;
			}
			if (r.seq > g)
				return bad("writer %d page %u: op %llu is after the snapshot (G=%llu)", i, p,
					   (unsigned long long)r.seq, (unsigned long long)g);
			if (want && r.seq != want)
				return bad("writer %d page %u: holds op %llu, last op was %llu (G=%llu)", i,
					   p, (unsigned long long)r.seq, (unsigned long long)want,
					   (unsigned long long)g);
			for (k = 0; k < sizeof(r.payload) / 8; k++)
				sum += r.payload[k];
			if ((sum ^ r.seq) != r.sum || r.page != p || r.writer != (uint32_t)i ||
			    r.payload[5] != mix(r.seq * 131 + 5))
				return bad("writer %d page %u: record of op %llu torn", i, p,
					   (unsigned long long)r.seq);
			checked++;
		}
	}
	for (i = 0; i < NMAPS; i++) {
		uint64_t k, v;
		bool gone;
		if (!w.maps[i].addr)
			continue;
		gone = was_unmapped(i, w.maps[i].gen);
		for (k = 0; k < w.maps[i].len / 8; k += 61) {
			if (core_read(w.maps[i].addr + k * 8, &v, 8))
				return bad("mapped region %d at %#llx missing from the core", i,
					   (unsigned long long)w.maps[i].addr);
			if (v == 0 && gone) {
				dropped_maps++;
				break;
			}
			if (v != (w.maps[i].gen ^ k))
				return bad("mapped region %d (gen %llu) word %llu holds %#llx", i,
					   (unsigned long long)w.maps[i].gen, (unsigned long long)k,
					   (unsigned long long)v);
		}
		maps++;
	}
	printf("consistent: G=%llu/%llu, %llu records, %llu zapped pages, %llu mapped regions",
	       (unsigned long long)w.w[0].g, (unsigned long long)w.w[1].g, (unsigned long long)checked,
	       (unsigned long long)zeros, (unsigned long long)maps);
	if (log)
		printf("; discarded after the snapshot: %llu pages, %llu regions",
		       (unsigned long long)dropped, (unsigned long long)dropped_maps);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "run")) {
		rate = atol(argv[2]);
		if (argc == 4 && (logfd = open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
					       0600)) < 0)
			return 2;
		return run(false, 0, 0, 0);
	}
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "shared")) {
		rate = atol(argv[2]);
		if (argc == 7 && (logfd = open(argv[6], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
					       0600)) < 0)
			return 2;
		if (atol(argv[3]) <= 0 || atol(argv[4]) <= 0 || atol(argv[3]) > 4096 ||
		    atol(argv[4]) > 4096)
			return 2;
		return run(true, (size_t)atol(argv[3]), (size_t)atol(argv[4]), atoi(argv[5]));
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "check"))
		return check(argv[2], strtoull(argv[3], NULL, 0), argc == 5 ? argv[4] : NULL);
	fprintf(stderr, "usage: consistency run RATE [LOG] | "
			"shared RATE ANON_MIB MEMFD_MIB KEEPFD [LOG] | check CORE WORLD [LOG]\n");
	return 2;
}
