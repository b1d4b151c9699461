/* Benchmark target for thp-split.sh: thp-writer MIB RATE maps MIB of anonymous
 * memory aligned to 2 MiB, asks for transparent huge pages (MADV_HUGEPAGE),
 * touches every page, prints "ready" and then writes RATE random 4 KiB pages
 * per second.
 * SIGUSR2: run a one-second burst of random page writes, as fast as it can,
 *          and print "burst_writes_per_s N" (the write throughput, which drops
 *          when huge pages are split into 4 KiB ones: more TLB misses).
 * SIGUSR1: print "maxgap_us N writes N" and exit. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HUGE_SZ (2UL << 20)

static volatile sig_atomic_t quit, burst;

static void on_usr1(int sig) { (void)sig; quit = 1; }
static void on_usr2(int sig) { (void)sig; burst = 1; }

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static size_t next_page(size_t npages)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % npages;
}

int main(int argc, char **argv)
{
	size_t mib, npages, i;
	long rate;
	unsigned char *raw, *mem;
	long long start, last, t, maxgap = 0;
	unsigned long long writes = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MIB RATE\n", argv[0]);
		return 2;
	}
	mib = strtoul(argv[1], NULL, 10);
	rate = strtol(argv[2], NULL, 10);
	npages = mib * 256;
	raw = mmap(NULL, (mib << 20) + HUGE_SZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	mem = (unsigned char *)(((uintptr_t)raw + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
	if (madvise(mem, mib << 20, MADV_HUGEPAGE) != 0) {
		perror("madvise");
		return 1;
	}
	for (i = 0; i < npages; i++)
		mem[i * 4096] = 1;
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	printf("ready %p\n", (void *)mem);
	fflush(stdout);
	start = last = now_ns();
	while (!quit) {
		t = now_ns();
		if (burst) {
			unsigned long long n = 0;
			long long b0 = t, b1;

			do {
				for (i = 0; i < 4096; i++)
					mem[next_page(npages) * 4096 + 16]++;
				n += 4096;
			} while ((b1 = now_ns()) - b0 < 1000000000LL);
			printf("burst_writes_per_s %.0f\n", n * 1e9 / (b1 - b0));
			fflush(stdout);
			burst = 0;
			/* the burst is not a pause: restart the clock */
			start = last = now_ns();
			writes = 0;
			continue;
		}
		if (t - last > maxgap)
			maxgap = t - last;
		last = t;
		while ((long long)writes < (t - start) / 1000 * rate / 1000000) {
			mem[next_page(npages) * 4096 + 8]++;
			writes++;
		}
	}
	printf("maxgap_us %lld writes %llu\n", maxgap / 1000, writes);
	return 0;
}
