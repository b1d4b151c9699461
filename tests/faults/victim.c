/* A hostile target for the fault matrix: it notices by itself when a dump
 * harmed it.
 *
 *   victim MODE STATUS
 *
 * STATUS is a file the victim maps shared and keeps up to date (struct
 * lg_victim_status in victim.h): a heartbeat, the largest gap between two
 * beats since the driver last cleared it, and the first harm it saw.  It
 * prints "ready PID" on stdout once every thread runs.
 *
 * Every mode has: two writer threads that fill pages with self-checking
 * records and verify pages they wrote earlier (one in private, one in
 * MAP_SHARED anonymous memory); a sleeper that checks its
 * nanosleep never returns early or with EINTR; a ppoll thread with a
 * temporary signal mask that checks its own mask is unchanged afterwards;
 * a thread that checks a pattern in its own live stack frame; a heartbeat.
 * The main thread waits in pause(), or, by mode:
 *
 *   busy         as above
 *   spin         the main thread spins in a loop without syscalls, checking
 *                values it keeps in general and vector registers
 *   seccomp      one more thread, whose seccomp filter kills the process on
 *                userfaultfd(2)
 *   seccomp-all  that filter on every thread, installed before they start
 *   uffd         one more thread that serves a shared memfd's missing pages
 *                through its own userfaultfd, and one that reads them
 *   churn        threads come and go, children fork and exec, memory is
 *                mapped, moved and unmapped all the time
 *   exit         exits (exit_group) after EXIT_US microseconds (environment
 *                variable VICTIM_EXIT_US)
 *   leader-exit  the main thread calls pthread_exit after EXIT_US; the
 *                others exit the process 100 ms later
 *
 * VICTIM_BALLAST_MIB=N (environment): N MiB more of private anonymous
 * memory, written once at start and then a page every 50 us (20k pages/s),
 * to measure what the size of a dump costs the target.
 */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "victim.h"

#define PAGE 4096
#define WPAGES 1024		/* 4 MiB per writer */
#define UPAGES 256		/* 1 MiB served by the victim's own userfaultfd */

static struct lg_victim_status *S;
static uint8_t canary[2 * PAGE] __attribute__((aligned(PAGE)));
static pthread_mutex_t bad_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void harm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void harm(const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&bad_lock);
	if (!S->bad) {
		va_start(ap, fmt);
		vsnprintf(S->badmsg, sizeof(S->badmsg), fmt, ap);
		va_end(ap);
		__atomic_store_n(&S->bad, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&bad_lock);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* --- writers: pages of self-checking records ---------------------------- */

struct rec {
	uint64_t seq, sum;
	uint64_t payload[(PAGE - 16) / 8];
};

static void *writer_main(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	/* Writer 1 in MAP_SHARED anonymous memory, which pre-copy tracks
	 * like private memory: its protection must go too. */
	struct rec *pages = mmap(NULL, (size_t)WPAGES * PAGE, PROT_READ | PROT_WRITE,
				 (id ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	uint64_t seq = 0, seed = 0x9e3779b97f4a7c15ull * (id + 1);

	if (pages == MAP_FAILED) {
		harm("writer %u: mmap: %s", id, strerror(errno));
		return NULL;
	}
	for (;;) {
		struct rec *r;
		uint64_t s = 0;
		size_t i;

		seed = mix(seed + ++seq);
		r = &pages[seed % WPAGES];
		if (r->seq) {
			/* A page written before must still check. */
			for (i = 0; i < sizeof(r->payload) / 8; i++)
				s += r->payload[i];
			if ((s ^ r->seq) != r->sum)
				harm("writer %u: page %zu torn (seq %llu)", id,
				     (size_t)(r - pages), (unsigned long long)r->seq);
		}
		s = 0;
		for (i = 0; i < sizeof(r->payload) / 8; i++) {
			r->payload[i] = mix(seq * 131 + i);
			s += r->payload[i];
		}
		r->seq = seq;
		r->sum = s ^ seq;
		__atomic_add_fetch(&S->progress[id], 1, __ATOMIC_RELAXED);
		if ((seq & 31) == 0)
			usleep(1000);	/* about 25k pages/s each, not the whole CPU */
	}
	return NULL;
}

/* --- sleeper: nanosleep keeps its promise -------------------------------- */

static void *sleeper_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 3 * 1000 * 1000 };
		uint64_t t0 = now_ns(), dt;
		if (nanosleep(&ts, NULL) != 0)
			harm("sleeper: nanosleep failed: %s", strerror(errno));
		dt = now_ns() - t0;
		if (dt < 3000000)
			harm("sleeper: nanosleep returned after %llu ns of 3 ms",
			     (unsigned long long)dt);
		__atomic_add_fetch(&S->progress[2], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* --- ppoll: a temporary signal mask is undone ---------------------------- */

static void *ppoll_main(void *arg)
{
	sigset_t mine, tmp, now;
	int p[2];

	(void)arg;
	if (pipe(p)) {
		harm("ppoll: pipe: %s", strerror(errno));
		return NULL;
	}
	sigemptyset(&mine);
	sigaddset(&mine, SIGUSR2);
	sigaddset(&mine, SIGWINCH);
	pthread_sigmask(SIG_SETMASK, &mine, NULL);
	sigfillset(&tmp);
	sigdelset(&tmp, SIGWINCH);
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		struct timespec ts = { 0, 2 * 1000 * 1000 };
		if (ppoll(&pf, 1, &ts, &tmp) < 0 && errno != EINTR)
			harm("ppoll: %s", strerror(errno));
		pthread_sigmask(SIG_SETMASK, NULL, &now);
		if (sigismember(&now, SIGUSR2) != 1 || sigismember(&now, SIGWINCH) != 1 ||
		    sigismember(&now, SIGTERM) != 0 || sigismember(&now, SIGALRM) != 0)
			harm("ppoll: the thread's signal mask changed");
		__atomic_add_fetch(&S->progress[3], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* --- a live stack frame must not change under the thread ---------------- */

static void *stack_main(void *arg)
{
	volatile uint64_t frame[512];
	size_t i;
	(void)arg;
	for (i = 0; i < 512; i++)
		frame[i] = mix(i + 7);
	for (;;) {
		usleep(1000);
		for (i = 0; i < 512; i++)
			if (frame[i] != mix(i + 7))
				harm("stack: live frame word %zu changed", i);
		__atomic_add_fetch(&S->progress[4], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* --- heartbeat: the pause the victim saw ---------------------------------- */

static void *beat_main(void *arg)
{
	uint64_t last = now_ns();
	(void)arg;
	for (;;) {
		uint64_t t = now_ns(), gap = t - last, m;
		last = t;
		m = __atomic_load_n(&S->maxgap_ns, __ATOMIC_RELAXED);
		while (gap > m && !__atomic_compare_exchange_n(&S->maxgap_ns, &m, gap, false,
							       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		__atomic_add_fetch(&S->beats, 1, __ATOMIC_RELEASE);
		usleep(200);
	}
	return NULL;
}

/* --- spin: registers are the thread's own -------------------------------- */

/* r12 counts, r13 = 3 * r12, r14 = ~r12, and a vector register holds r12
 * in every 64-bit lane (xmm8, or ymm8 where AVX2 exists, so that the upper
 * halves are checked too); all checked every iteration, with no syscall
 * and no memory access but a progress count every 2^20 iterations.
 * Returns the iteration at which a check failed. */
uint64_t lg_victim_spin_sse(volatile uint64_t *progress);
uint64_t lg_victim_spin_avx(volatile uint64_t *progress);
__asm__(".text\n"
	".globl lg_victim_spin_sse\n"
	".type lg_victim_spin_sse,@function\n"
	"lg_victim_spin_sse:\n"
	"	push %r12\n push %r13\n push %r14\n"
	"	xor %r12d, %r12d\n xor %r13d, %r13d\n mov $-1, %r14\n"
	"	pxor %xmm8, %xmm8\n mov $1, %eax\n movq %rax, %xmm11\n punpcklqdq %xmm11, %xmm11\n"
	"1:	movq %xmm8, %rax\n cmp %rax, %r12\n jne 2f\n"
	"	pshufd $0x4e, %xmm8, %xmm10\n movq %xmm10, %rax\n cmp %rax, %r12\n jne 2f\n"
	"	lea (%r12,%r12,2), %rax\n cmp %rax, %r13\n jne 2f\n"
	"	mov %r12, %rax\n not %rax\n cmp %rax, %r14\n jne 2f\n"
	"	inc %r12\n add $3, %r13\n dec %r14\n paddq %xmm11, %xmm8\n"
	"	test $0xfffff, %r12d\n jnz 1b\n"
	"	lock incq (%rdi)\n jmp 1b\n"
	"2:	mov %r12, %rax\n pop %r14\n pop %r13\n pop %r12\n ret\n"
	".size lg_victim_spin_sse, .-lg_victim_spin_sse\n"
	".globl lg_victim_spin_avx\n"
	".type lg_victim_spin_avx,@function\n"
	"lg_victim_spin_avx:\n"
	"	push %r12\n push %r13\n push %r14\n"
	"	xor %r12d, %r12d\n xor %r13d, %r13d\n mov $-1, %r14\n"
	"	vpxor %ymm8, %ymm8, %ymm8\n mov $1, %eax\n vmovq %rax, %xmm11\n"
	"	vpbroadcastq %xmm11, %ymm11\n"
	"1:	vextracti128 $1, %ymm8, %xmm10\n vmovq %xmm10, %rax\n cmp %rax, %r12\n jne 2f\n"
	"	vpextrq $1, %xmm10, %rax\n cmp %rax, %r12\n jne 2f\n"
	"	vmovq %xmm8, %rax\n cmp %rax, %r12\n jne 2f\n"
	"	lea (%r12,%r12,2), %rax\n cmp %rax, %r13\n jne 2f\n"
	"	mov %r12, %rax\n not %rax\n cmp %rax, %r14\n jne 2f\n"
	"	inc %r12\n add $3, %r13\n dec %r14\n vpaddq %ymm11, %ymm8, %ymm8\n"
	"	test $0xfffff, %r12d\n jnz 1b\n"
	"	lock incq (%rdi)\n jmp 1b\n"
	"2:	mov %r12, %rax\n vzeroupper\n pop %r14\n pop %r13\n pop %r12\n ret\n"
	".size lg_victim_spin_avx, .-lg_victim_spin_avx\n");

/* --- seccomp: a thread that must never run userfaultfd(2) ----------------- */

/* The filter: userfaultfd(2) kills the process.  0, or -1 with the harm said. */
static int install_filter(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_userfaultfd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { LG_ARRAY(f), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		harm("seccomp: cannot install the filter: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void *seccomp_main(void *arg)
{
	(void)arg;
	if (install_filter())
		return NULL;
	for (;;) {
		usleep(500);
		__atomic_add_fetch(&S->progress[5], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* --- uffd: the victim serves its own missing pages ------------------------ */

static int ufd, memfd;
static char *uregion;

static void *uffd_server(void *arg)
{
	static char page[PAGE] __attribute__((aligned(PAGE)));
	(void)arg;
	for (;;) {
		struct uffd_msg msg;
		struct pollfd pf = { ufd, POLLIN, 0 };
		struct uffdio_copy cp;
		uint64_t off, i;

		if (poll(&pf, 1, -1) < 0)
			continue;
		if (read(ufd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		off = (msg.arg.pagefault.address & ~(uint64_t)(PAGE - 1)) - (uintptr_t)uregion;
		for (i = 0; i < PAGE / 8; i++)
			((uint64_t *)page)[i] = mix(off / PAGE * 1000 + i);
		cp.dst = (uintptr_t)uregion + off;
		cp.src = (uintptr_t)page;
		cp.len = PAGE;
		cp.mode = 0;
		cp.copy = 0;
		if (ioctl(ufd, UFFDIO_COPY, &cp) && errno != EEXIST)
			harm("uffd: UFFDIO_COPY: %s", strerror(errno));
	}
	return NULL;
}

static void *uffd_reader(void *arg)
{
	uint64_t seed = 12345;
	(void)arg;
	for (;;) {
		uint64_t p, i;
		seed = mix(seed + 1);
		p = seed % UPAGES;
		/* Drop it again now and then, so that missing pages exist. */
		if (seed & 1)
			fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  (off_t)(p * PAGE), PAGE);
		for (i = 0; i < PAGE / 8; i += 64)
			if (((volatile uint64_t *)(uregion + p * PAGE))[i] != mix(p * 1000 + i))
				harm("uffd: page %llu holds something else",
				     (unsigned long long)p);
		__atomic_add_fetch(&S->progress[6], 1, __ATOMIC_RELAXED);
		usleep(500);
	}
	return NULL;
}

static int uffd_setup(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;

	ufd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (ufd < 0 || ioctl(ufd, UFFDIO_API, &api))
		return -1;
	memfd = memfd_create("victim-uffd", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)UPAGES * PAGE))
		return -1;
	uregion = mmap(NULL, (size_t)UPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (uregion == MAP_FAILED)
		return -1;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)uregion;
	reg.range.len = (size_t)UPAGES * PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	return ioctl(ufd, UFFDIO_REGISTER, &reg);
}

/* --- churn: threads, processes and mappings come and go ------------------- */

static void *short_main(void *arg)
{
	volatile char buf[8192];
	memset((char *)buf, 1, sizeof(buf));
	usleep(300);
	return arg;
}

static void *churn_threads(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t;
		if (!pthread_create(&t, NULL, short_main, NULL))
			pthread_join(t, NULL);
		__atomic_add_fetch(&S->progress[7], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *churn_procs(void *arg)
{
	unsigned n = 0;
	(void)arg;
	for (;;) {
		pid_t p = fork();
		int st;
		if (p == 0) {
			if (n & 1)
				_exit(0);	/* fork alone, or fork and exec */
			execl("/bin/true", "true", (char *)NULL);
			_exit(0);
		}
		n++;
		if (p > 0)
			waitpid(p, &st, 0);
		usleep(2000);
	}
	return NULL;
}

static void *churn_maps(void *arg)
{
	uint64_t gen = 0;
	(void)arg;
	for (;;) {
		size_t len = (size_t)(1 + gen % 7) * 16 * PAGE, k;
		uint64_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0), *n;
		gen++;
		if (m == MAP_FAILED)
			continue;
		for (k = 0; k < len / 8; k += 512)
			m[k] = gen ^ k;
		n = mremap(m, len, 2 * len, MREMAP_MAYMOVE);
		if (n == MAP_FAILED) {
			munmap(m, len);
			continue;
		}
		for (k = 0; k < len / 8; k += 512)
			if (n[k] != (gen ^ k))
				harm("churn: a moved mapping lost its contents");
		mprotect(n, len, PROT_READ);
		madvise(n, 2 * len, MADV_DONTNEED);
		munmap(n, 2 * len);
		usleep(200);
	}
	return NULL;
}

/* --- main ------------------------------------------------------------------ */

static void start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, fn, arg)) {
		fprintf(stderr, "victim: pthread_create failed\n");
		exit(2);
	}
	pthread_detach(t);
}

/* For the test framework's mutants (tests/mutants): the region a broken
 * lgcore damages in the cores it saves, declared as tc_declare does. */
static int declare_canary(void)
{
	const char *facts = getenv("LG_FACTS");
	char path[4096];
	FILE *f;
	int bad;

	if (!facts)
		return 0;
	snprintf(path, sizeof(path), "%s/%d", facts, (int)getpid());
	f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f, "canary.addr=0x%llx\ncanary.len=%zu\n", (unsigned long long)S->canary_addr,
		sizeof(canary));
	bad = ferror(f);
	return fclose(f) || bad ? -1 : 0;
}

static void *exiter_main(void *arg)
{
	usleep(100 * 1000);
	exit((int)(uintptr_t)arg);
}

/* --- the ballast (VICTIM_BALLAST_MIB) ---------------------------------------- */

static uint8_t *ballast;
static size_t ballast_len;

static int ballast_setup(size_t mib)
{
	if (!mib)
		return 0;
	ballast_len = mib << 20;
	ballast = mmap(NULL, ballast_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ballast == MAP_FAILED) {
		ballast = NULL;
		return -1;
	}
	for (size_t i = 0; i < ballast_len; i += PAGE)
		ballast[i] = 1;
	return 0;
}

static void *ballast_main(void *arg)
{
	struct timespec t = { 0, 50000 };
	size_t i = 0;

	(void)arg;
	for (;;) {
		ballast[(i++ * PAGE) % ballast_len]++;
		nanosleep(&t, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode;
	uint64_t exit_us = 0;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: victim busy|spin|seccomp|seccomp-all|uffd|churn|exit|leader-exit STATUS\n");
		return 2;
	}
	mode = argv[1];
	if (getenv("VICTIM_EXIT_US"))
		exit_us = strtoull(getenv("VICTIM_EXIT_US"), NULL, 10);
	fd = open(argv[2], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(*S))) {
		perror(argv[2]);
		return 2;
	}
	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (S == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	close(fd);
	memset(S, 0, sizeof(*S));
	S->magic = LG_VICTIM_MAGIC;
	for (size_t i = 0; i < sizeof(canary); i++)
		canary[i] = lg_victim_canary(i);
	S->canary_addr = (uint64_t)(uintptr_t)canary;
	S->canary_len = sizeof(canary);
	if (declare_canary()) {
		fprintf(stderr, "victim: cannot write its facts in $LG_FACTS: %s\n", strerror(errno));
		return 2;
	}
	if (getenv("VICTIM_BALLAST_MIB") && ballast_setup(strtoull(getenv("VICTIM_BALLAST_MIB"), NULL, 10))) {
		fprintf(stderr, "victim: cannot map the ballast: %s\n", strerror(errno));
		return 2;
	}
	if (!strcmp(mode, "uffd") && uffd_setup()) {
		fprintf(stderr, "victim: userfaultfd set-up failed: %s\n", strerror(errno));
		return 3;
	}
	/* seccomp-all: every thread inherits the filter, the leader's
	 * status shows it. */
	if (!strcmp(mode, "seccomp-all") && install_filter())
		return 3;
	start(beat_main, NULL);
	if (ballast)
		start(ballast_main, NULL);
	start(writer_main, (void *)0);
	start(writer_main, (void *)1);
	start(sleeper_main, NULL);
	start(ppoll_main, NULL);
	start(stack_main, NULL);
	if (!strcmp(mode, "seccomp"))
		start(seccomp_main, NULL);
	if (!strcmp(mode, "uffd")) {
		start(uffd_server, NULL);
		start(uffd_reader, NULL);
	}
	if (!strcmp(mode, "churn")) {
		start(churn_threads, NULL);
		start(churn_procs, NULL);
		start(churn_maps, NULL);
	}
	usleep(20000);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!strcmp(mode, "exit")) {
		usleep(exit_us);
		exit(0);
	}
	if (!strcmp(mode, "leader-exit")) {
		usleep(exit_us);
		start(exiter_main, (void *)0);
		pthread_exit(NULL);
	}
	if (!strcmp(mode, "spin")) {
		uint64_t at = __builtin_cpu_supports("avx2") ? lg_victim_spin_avx(&S->progress[8])
							      : lg_victim_spin_sse(&S->progress[8]);
		harm("spin: registers changed under the thread at iteration %llu",
		     (unsigned long long)at);
		for (;;)
			pause();
	}
	for (;;)
		pause();
}
