/* A process that executes a new program while lgcore dumps it.
 *
 * Usage: target-exec [--stay] [MIB]
 *   fills MIB MiB (default 256), prints "ready=1", then watches itself:
 *   the first time a tracer that attached has let it go again, or one of
 *   its mappings is registered for uffd write-protection ("uw" in smaps'
 *   VmFlags: lgcore's set-up stop is over, its passes or its copy have
 *   begun; the snapshot mode's stop can be too short to see) it execs
 *   itself with --execed, which prints "execed=1" and, on SIGUSR1, exits
 *   0.  Without a dump within 60 s, or on SIGUSR1 before one, it exits 1.
 *   --leader-exit: no memory; a second thread prints "ready=1" and waits
 *   for SIGUSR1 (then exit 0) while the main thread calls pthread_exit.
 *   --stay: never execs; a big process to dump, which declares its first
 *   MiB (region "head") and on SIGUSR1 checks that its memory still holds
 *   the pattern. */
#include "tcommon.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Whether a VmFlags line of /proc/self/smaps has "uw". */
static int uffd_wp_registered(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "VmFlags:", 8) && strstr(line, " uw");
	fclose(f);
	return found;
}

static long tracer_pid(void)
{
	char buf[4096], *p;
	FILE *f = fopen("/proc/self/status", "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strstr(buf, "TracerPid:");
	return p ? strtol(p + 10, NULL, 10) : -1;
}

static void *waiter(void *arg)
{
	(void)arg;
	tc_kv("ready", "1");
	tc_wait_usr1();
	exit(tc_failures() ? 1 : 0);
}

int main(int argc, char **argv)
{
	struct timespec nap = { 0, 50 * 1000 };
	size_t len;
	unsigned char *mem;
	int attached = 0, stay = 0;
	long polls;

	tc_init();
	if (argc > 1 && !strcmp(argv[1], "--execed")) {
		tc_kv("execed", "1");
		tc_wait_usr1();
		return tc_failures() ? 1 : 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--leader-exit")) {
		pthread_t t;
		if (pthread_create(&t, NULL, waiter, NULL))
			return 1;
		pthread_exit(NULL);
	}
	if (argc > 1 && !strcmp(argv[1], "--stay")) {
		stay = 1;
		argv++;
		argc--;
	}
	len = (size_t)(argc > 1 ? atoi(argv[1]) : 256) << 20;
	mem = malloc(len);
	if (!mem) {
		tc_kv("skip", "cannot allocate %zu bytes", len);
		return 77;
	}
	tc_fill(mem, len, 7);
	if (stay)
		tc_declare("head", mem, len < (1u << 20) ? len : (1u << 20));
	tc_kv("ready", "1");
	if (stay) {
		tc_wait_usr1();
		if (tc_verify(mem, len, 7))
			tc_fail("the memory changed");
		return tc_failures() ? 1 : 0;
	}
	for (polls = 0; polls < 60L * 1000 * 1000 / 50; polls++) {
		long t = tracer_pid();
		sigset_t pend;
		/* SIGUSR1 (blocked) before any dump: the test is over. */
		if (!sigpending(&pend) && sigismember(&pend, SIGUSR1)) {
			tc_fail("SIGUSR1 came before a dump made it exec");
			return 1;
		}
		if (t > 0)
			attached = 1;
		else if ((t == 0 && attached) || (polls % 20 == 0 && uffd_wp_registered())) {
			char *args[] = { argv[0], "--execed", NULL };
			execv("/proc/self/exe", args);
			tc_fail("execv: %m");
			return 1;
		}
		nanosleep(&nap, NULL);
	}
	tc_fail("no dump came within 60 s");
	return 1;
}
