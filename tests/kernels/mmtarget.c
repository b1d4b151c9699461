/* Target for the kernel harness's memory experiments.
 *
 *   mmtarget MIB RATE [SHMEM_MIB]
 *
 * Maps MIB of private anonymous memory aligned to 2 MiB (transparent huge
 * pages as the system's THP mode decides: no madvise either way), and
 * SHMEM_MIB of shared anonymous memory (shmem) if given, touches every page,
 * prints "anon ADDR LEN", "shmem ADDR LEN", "ready", then writes RATE random
 * pages per second (one word of each; RATE 0: none), pacing itself with
 * 1 ms sleeps rather than spinning, so that under TCG it leaves the vCPUs to
 * the tool being measured.  Every 100 ms it prints "writes N" (how many
 * writes so far): a test sees that it runs on.  Each write is a counter
 * increment; on SIGUSR1 it checks that every counter sums to the writes it
 * made (the memory still holds what it wrote), prints "check ok" or what is
 * wrong, and exits 0 or 1.  On SIGUSR2 it prints "maxgap_us N", the longest
 * time between two turns of its loop since the last SIGUSR2 (a stall some
 * operation on it caused, on top of the 1 ms sleep), and starts again. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HUGE_SZ (2UL << 20)
#define PAGE 4096UL

static volatile sig_atomic_t quit, gap;

static void on_usr1(int sig)
{
	(void)sig;
	quit = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	gap = 1;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* LEN bytes aligned to 2 MiB, so that THP can back all of it. */
static char *map_aligned(size_t len, int flags)
{
	char *raw = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE, flags, -1, 0);
	char *p;
	if (raw == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)raw + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (p + len < raw + len + HUGE_SZ)
		munmap(p + len, (size_t)(raw + len + HUGE_SZ - (p + len)));
	return p;
}

int main(int argc, char **argv)
{
	size_t anon_len, shm_len = 0, npages, nshm = 0, i;
	uint64_t writes = 0, sum = 0;
	long rate;
	char *anon, *shm = NULL;
	long long start, last_print, last, maxgap = 0;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: mmtarget MIB RATE [SHMEM_MIB]\n");
		return 2;
	}
	anon_len = strtoul(argv[1], NULL, 10) << 20;
	rate = strtol(argv[2], NULL, 10);
	if (argc == 4)
		shm_len = strtoul(argv[3], NULL, 10) << 20;
	npages = anon_len / PAGE;
	if (!(anon = map_aligned(anon_len, MAP_PRIVATE | MAP_ANONYMOUS))) {
		perror("mmap");
		return 2;
	}
	if (shm_len && !(shm = map_aligned(shm_len, MAP_SHARED | MAP_ANONYMOUS))) {
		perror("mmap shmem");
		return 2;
	}
	nshm = shm_len / PAGE;
	for (i = 0; i < npages; i++)
		*(uint64_t *)(anon + i * PAGE) = 0;
	for (i = 0; i < nshm; i++)
		*(uint64_t *)(shm + i * PAGE) = 0;
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	printf("anon %#lx %zu\nshmem %#lx %zu\nready\n", (unsigned long)(uintptr_t)anon, anon_len,
	       (unsigned long)(uintptr_t)shm, shm_len);
	fflush(stdout);

	start = last_print = last = now_ns();
	while (!quit) {
		long long t = now_ns();
		if (t - last > maxgap)
			maxgap = t - last;
		last = t;
		if (gap) {
			printf("maxgap_us %lld\n", maxgap / 1000);
			fflush(stdout);
			gap = 0;
			maxgap = 0;
		}
		uint64_t want = rate ? (uint64_t)((t - start) / 1000 * rate / 1000000) : 0;
		while (writes < want) {
			uint64_t r = next_rand() % (npages + nshm);
			char *p = r < npages ? anon + r * PAGE : shm + (r - npages) * PAGE;
			(*(volatile uint64_t *)p)++;
			writes++;
		}
		if (t - last_print >= 100000000LL) {
			printf("writes %llu\n", (unsigned long long)writes);
			fflush(stdout);
			last_print = t;
		}
		usleep(1000);
	}
	for (i = 0; i < npages; i++)
		sum += *(uint64_t *)(anon + i * PAGE);
	for (i = 0; i < nshm; i++)
		sum += *(uint64_t *)(shm + i * PAGE);
	if (sum != writes) {
		printf("check FAILED: the pages hold %llu writes, %llu were made\n",
		       (unsigned long long)sum, (unsigned long long)writes);
		return 1;
	}
	printf("check ok: %llu writes\n", (unsigned long long)writes);
	return 0;
}
