/* Benchmark target: SIZE MiB of anonymous memory, every page written with
 * non-zero data, and a ticker thread that measures the longest time it was
 * kept from running (the pause a dumper imposes).
 *
 * Usage: bench-bigmem [SIZE_MIB]   (default 1024)
 * Prints pid, size_mib, ready.  On each SIGUSR1 prints
 * "max_pause_us=N" (longest gap between ticks since the previous SIGUSR1)
 * and starts a new measurement.  Exits on SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t max_gap_ns;
static volatile int reset;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void *ticker(void *arg)
{
	struct timespec tick = { 0, 200 * 1000 };
	uint64_t last = now_ns(), t;

	for (;;) {
		nanosleep(&tick, NULL);
		t = now_ns();
		if (reset) {
			reset = 0;
			max_gap_ns = 0;
		} else if (t - last > max_gap_ns) {
			max_gap_ns = t - last;
		}
		last = t;
	}
	return arg;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	size_t len = mib << 20, i;
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *p;
	pthread_t t;
	sigset_t set;
	int sig;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (i = 0; i < len; i += pg)
		*(uint64_t *)(p + i) = 0x9e3779b97f4a7c15ULL ^ i;
	pthread_create(&t, NULL, ticker, NULL);
	printf("pid=%d\nsize_mib=%zu\nready=1\n", (int)getpid(), mib);
	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGTERM)
			return 0;
		printf("max_pause_us=%llu\n", (unsigned long long)(max_gap_ns / 1000));
		reset = 1;
	}
}
