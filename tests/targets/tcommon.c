/* Shared helpers for the dump targets; see tcommon.h for the protocol. */
#include "tcommon.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stray_signals;
static volatile sig_atomic_t stray_last;
static int failures;

/* Signals that neither the test nor the dumper should ever deliver: a
 * dumper that injects a fork() would raise SIGCHLD, one that leaves a
 * breakpoint SIGTRAP, and so on.  SIGSTOP/SIGCONT are the test's own. */
static const int watched[] = { SIGCHLD, SIGTRAP, SIGUSR2, SIGALRM, SIGPIPE,
	SIGURG, SIGWINCH, SIGHUP, SIGIO, SIGPROF, SIGVTALRM };

static void on_stray(int sig)
{
	stray_signals++;
	stray_last = sig;
}

void tc_init(void)
{
	sigset_t set;
	struct sigaction sa;
	size_t i;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		perror("sigprocmask");
		exit(99);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stray;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		sigaction(watched[i], &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void tc_kv(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%s=", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void tc_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("check-failed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

int tc_failures(void)
{
	return failures;
}

/* splitmix64 of (seed, index): cheap, stateless, and never 0 in practice,
 * so a page of zeros can't pass for the pattern. */
uint64_t tc_word(uint64_t seed, size_t index)
{
	uint64_t z = seed + (uint64_t)(index + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 1;
}

void tc_fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = tc_word(seed, i);
}

int tc_verify(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != tc_word(seed, i))
			return -1;
	return 0;
}

unsigned long tc_cksum(const void *p, size_t len)
{
	const unsigned char *b = p;
	unsigned long crc = 0;
	size_t i, n;
	int k;

	for (i = 0; i < len + sizeof(size_t); i++) {
		unsigned c;

		if (i < len) {
			c = b[i];
		} else {
			/* The length follows, low byte first, without its
			 * high zero bytes. */
			n = len >> (8 * (i - len));
			if (!n && i > len)
				break;
			c = n & 0xff;
		}
		crc ^= (unsigned long)c << 24;
		for (k = 0; k < 8; k++)
			crc = crc & 0x80000000UL ? ((crc << 1) ^ 0x04c11db7UL) & 0xffffffffUL
						 : (crc << 1) & 0xffffffffUL;
	}
	return ~crc & 0xffffffffUL;
}

static void kv2(const char *name, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void kv2(const char *name, const char *field, const char *fmt, ...)
{
	va_list ap;

	printf("%s.%s=", name, field);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void tc_declare(const char *name, const void *p, size_t len)
{
	kv2(name, "addr", "%p", p);
	kv2(name, "len", "%zu", len);
	kv2(name, "crc", "%lu %zu", tc_cksum(p, len), len);
}

void tc_region(const char *name, const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;

	tc_declare(name, p, len);
	kv2(name, "seed", "0x%llx", (unsigned long long)seed);
	kv2(name, "first", "0x%016llx", (unsigned long long)w[0]);
	kv2(name, "last", "0x%016llx", (unsigned long long)w[len / 8 - 1]);
}

pid_t tc_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

int tc_wait_sleeping(pid_t tid)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 1000; i++) {
		if (thread_state(tid) == 'S')
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

void tc_wait_usr1(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	/* sigwaitinfo is never restarted by the kernel: a ptrace attach (gdb,
	 * and possibly lgcore) makes it fail with EINTR. */
	do
		sig = sigwaitinfo(&set, NULL);
	while (sig < 0 && errno == EINTR);
	if (sig != SIGUSR1) {
		perror("sigwaitinfo");
		exit(99);
	}
}

static unsigned long long status_mask(const char *field)
{
	char line[256];
	unsigned long long v = ~0ULL;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 16);
			break;
		}
	fclose(f);
	return v;
}

void tc_check_signals(void)
{
	unsigned long long pnd = status_mask("SigPnd");
	unsigned long long shd = status_mask("ShdPnd");
	unsigned long long tracer = status_mask("TracerPid");

	if (stray_signals)
		tc_fail("%d stray signal(s) delivered, last %d (%s)",
			(int)stray_signals, (int)stray_last,
			strsignal(stray_last));
	if (pnd || shd)
		tc_fail("signals pending after the dump: SigPnd=%llx ShdPnd=%llx",
			pnd, shd);
	/* TracerPid is decimal; parsed as hex it is still 0 only when 0. */
	if (tracer)
		tc_fail("still traced (TracerPid field non-zero)");
}

int tc_finish(void)
{
	tc_check_signals();
	if (failures) {
		tc_kv("check", "failed");
		return 1;
	}
	tc_kv("check", "ok");
	return 0;
}
