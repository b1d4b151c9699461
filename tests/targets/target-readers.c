/* What a user asks a debugger about a C program's core, in one small
 * process: threads blocked in different calls with call chains of a few
 * frames, a __thread variable per thread, globals, a linked list on the heap
 * reached through a global pointer, a mapping the process never touched,
 * and one thread holding known values in every vector, mask, x87, MXCSR and
 * PKRU register it has (tvector.h).
 *
 * Prints: pid, threads, thread.N.{tid,func,tls} (N = 0 is the main thread),
 * global.value, global.message, list.{addr,0.id,0.name,1.id,...},
 * untouched.{addr,len}, heap.* (tc_region), the vec.* facts of tv_print()
 * with vec.thread (the index of the vector thread), then ready.
 * On SIGUSR1 it checks that nothing changed, wakes and joins every thread,
 * and the vector thread checks its registers.
 *
 * Usage: target-readers [--main-read]
 *   --main-read  the main thread waits in read(2) on a pipe, which the
 *                kernel restarts after a stop (-ERESTARTSYS), instead of in
 *                sigwaitinfo(2), which it never restarts; an extra thread
 *                takes SIGUSR1 and writes the pipe.  Every thread then sits
 *                in a restartable call. */
#include "tcommon.h"
#include "tvector.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 6	/* at most: the waker exists with --main-read only */
#define VEC_THREAD 4
#define WAKER_THREAD 5
#define TLS_BASE 0x7e15000000000000ULL
#define UNTOUCHED_LEN (1024 * 1024)
#define HEAP_LEN (64 * 1024)

struct lg_node {
	uint64_t id;
	char name[16];
	struct lg_node *next;
};

__thread uint64_t lg_tls;
uint64_t lg_global = 0x1122334455667788ULL;
char lg_message[32] = "lgcore readers";
struct lg_node *lg_list;
unsigned char *lg_untouched;

static volatile int stop;
static volatile int vec_word;
static int pipe_fds[2], wake_fds[2];
static int nthreads = NTHREADS - 1;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_flag;
static struct tv_cpu cpu;
static struct tv_state vec_after;

struct slot {
	pthread_t thread;
	pid_t tid;
	const char *func;
	int ready;
};
static struct slot slots[NTHREADS];
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;

static void announce(int idx, const char *func)
{
	lg_tls = TLS_BASE + (uint64_t)idx * 0x1111;
	pthread_mutex_lock(&ready_lock);
	slots[idx].tid = tc_gettid();
	slots[idx].func = func;
	slots[idx].ready = 1;
	pthread_cond_broadcast(&ready_cond);
	pthread_mutex_unlock(&ready_lock);
}

static void check_tls(int idx)
{
	if (lg_tls != TLS_BASE + (uint64_t)idx * 0x1111)
		tc_fail("thread %d: lg_tls changed to 0x%llx", idx, (unsigned long long)lg_tls);
}

static void on_wake(int sig)
{
	(void)sig;
}

/* A few frames of our own under every blocking call, so that backtraces
 * have something to agree on. */
static void __attribute__((noinline)) sleep_deep(int depth)
{
	struct timespec ts = { 24 * 3600, 0 };

	if (depth > 0) {
		sleep_deep(depth - 1);
		return;
	}
	if (nanosleep(&ts, NULL) == 0 || !stop)
		tc_fail("nanosleep returned early (%s)", strerror(errno));
}

static void *thr_sleep(void *arg)
{
	announce(1, "thr_sleep");
	sleep_deep(3);
	check_tls(1);
	return arg;
}

static void *thr_cond(void *arg)
{
	announce(2, "thr_cond");
	pthread_mutex_lock(&cond_lock);
	while (!cond_flag)
		pthread_cond_wait(&cond, &cond_lock);
	pthread_mutex_unlock(&cond_lock);
	if (!stop)
		tc_fail("pthread_cond_wait returned before the signal");
	check_tls(2);
	return arg;
}

static void *thr_read(void *arg)
{
	char c = 0;
	ssize_t n;

	announce(3, "thr_read");
	n = read(pipe_fds[0], &c, 1);
	if (!stop || n != 1 || c != 'w')
		tc_fail("read on the pipe returned early (n %zd)", n);
	check_tls(3);
	return arg;
}

static void *thr_vector(void *arg)
{
	announce(VEC_THREAD, "thr_vector");
	tv_park(&cpu, &vec_word, &vec_after);
	check_tls(VEC_THREAD);
	return arg;
}

static void *thr_waker(void *arg)
{
	announce(WAKER_THREAD, "thr_waker");
	tc_wait_usr1();
	if (write(wake_fds[1], "u", 1) != 1)
		tc_fail("cannot wake the main thread");
	check_tls(WAKER_THREAD);
	return arg;
}

/* The main thread's wait with --main-read. */
static void __attribute__((noinline)) main_read(void)
{
	char c = 0;
	ssize_t n;

	do
		n = read(wake_fds[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || c != 'u')
		tc_fail("the main thread's read returned %zd", n);
}

static void build_list(void)
{
	static const char *const names[] = { "alpha", "beta", "gamma" };
	struct lg_node **tail = &lg_list;
	int i;

	for (i = 0; i < 3; i++) {
		struct lg_node *n = calloc(1, sizeof(*n));
		if (!n)
			exit(99);
		n->id = 0x1d00 + (uint64_t)i;
		snprintf(n->name, sizeof(n->name), "%s", names[i]);
		*tail = n;
		tail = &n->next;
	}
}

/* Never written, and kept a mapping of its own: PROT_NONE neighbours stop
 * the kernel from merging it with an anonymous mapping that was. */
static unsigned char *map_untouched(void)
{
	unsigned char *p = mmap(NULL, UNTOUCHED_LEN + 2 * 4096, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED ||
	    mmap(p + 4096, UNTOUCHED_LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		perror("mmap");
		exit(99);
	}
	return p + 4096;
}

static void print_facts(const uint64_t *heap)
{
	char key[64];
	struct lg_node *n;
	int i;

	tc_kv("pid", "%d", (int)getpid());
	tc_kv("threads", "%d", nthreads);
	for (i = 0; i < nthreads; i++) {
		snprintf(key, sizeof(key), "thread.%d.tid", i);
		tc_kv(key, "%d", (int)slots[i].tid);
		snprintf(key, sizeof(key), "thread.%d.func", i);
		tc_kv(key, "%s", slots[i].func);
		snprintf(key, sizeof(key), "thread.%d.tls", i);
		tc_kv(key, "0x%llx", (unsigned long long)(TLS_BASE + (uint64_t)i * 0x1111));
	}
	tc_kv("global.value", "0x%llx", (unsigned long long)lg_global);
	tc_kv("global.message", "%s", lg_message);
	tc_kv("list.addr", "%p", (void *)lg_list);
	for (n = lg_list, i = 0; n; n = n->next, i++) {
		snprintf(key, sizeof(key), "list.%d.id", i);
		tc_kv(key, "0x%llx", (unsigned long long)n->id);
		snprintf(key, sizeof(key), "list.%d.name", i);
		tc_kv(key, "%s", n->name);
	}
	tc_kv("untouched.addr", "%p", (void *)lg_untouched);
	tc_kv("untouched.len", "%d", UNTOUCHED_LEN);
	tc_region("heap", heap, HEAP_LEN, 0x4ea9);
	tc_kv("vec.thread", "%d", VEC_THREAD);
	tv_print(&cpu);
}

static void check_memory(const uint64_t *heap)
{
	struct lg_node *n;
	size_t i;
	int k;

	if (lg_global != 0x1122334455667788ULL || strcmp(lg_message, "lgcore readers"))
		tc_fail("globals changed");
	for (n = lg_list, k = 0; n; n = n->next, k++)
		if (n->id != 0x1d00 + (uint64_t)k)
			tc_fail("list node %d changed", k);
	if (k != 3)
		tc_fail("the list has %d nodes", k);
	for (i = 0; i < UNTOUCHED_LEN; i++)
		if (lg_untouched[i]) {
			tc_fail("the untouched mapping holds data at +%zu", i);
			break;
		}
	if (tc_verify(heap, HEAP_LEN, 0x4ea9))
		tc_fail("heap pattern changed");
}

int main(int argc, char **argv)
{
	static void *(*const fns[NTHREADS])(void *) = { NULL, thr_sleep, thr_cond, thr_read,
							thr_vector, thr_waker };
	struct sigaction sa;
	uint64_t *heap;
	bool main_reads = argc > 1 && !strcmp(argv[1], "--main-read");
	int i;

	tc_init();
	if (main_reads)
		nthreads = NTHREADS;
	if (argc > 1 && !main_reads) {
		fprintf(stderr, "usage: target-readers [--main-read]\n");
		return 99;
	}
	tv_probe(&cpu);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake;
	sigaction(SIGRTMIN + 1, &sa, NULL);
	if (pipe(pipe_fds) || pipe(wake_fds)) {
		perror("pipe");
		return 99;
	}
	heap = malloc(HEAP_LEN);
	if (!heap)
		return 99;
	tc_fill(heap, HEAP_LEN, 0x4ea9);
	build_list();
	lg_untouched = map_untouched();

	announce(0, main_reads ? "main_read" : "tc_wait_usr1");
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&slots[i].thread, NULL, fns[i], NULL)) {
			perror("pthread_create");
			return 99;
		}
	pthread_mutex_lock(&ready_lock);
	for (i = 1; i < nthreads; i++)
		while (!slots[i].ready)
			pthread_cond_wait(&ready_cond, &ready_lock);
	pthread_mutex_unlock(&ready_lock);
	for (i = 1; i < nthreads; i++)
		if (tc_wait_sleeping(slots[i].tid)) {
			fprintf(stderr, "thread %d never went to sleep\n", i);
			return 99;
		}
	print_facts(heap);
	tc_kv("ready", "1");

	if (main_reads)
		main_read();
	else
		tc_wait_usr1();

	check_memory(heap);
	tc_check_signals();
	stop = 1;
	pthread_kill(slots[1].thread, SIGRTMIN + 1);
	if (write(pipe_fds[1], "w", 1) != 1)
		tc_fail("cannot wake the pipe reader");
	pthread_mutex_lock(&cond_lock);
	cond_flag = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&cond_lock);
	vec_word = 1;
	syscall(SYS_futex, &vec_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	for (i = 1; i < nthreads; i++) {
		struct timespec deadline;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 10;
		if (pthread_timedjoin_np(slots[i].thread, NULL, &deadline))
			tc_fail("thread %d (%s) did not finish", i, slots[i].func);
	}
	tv_check(&cpu, &vec_after);
	check_tls(0);
	return tc_finish();
}
