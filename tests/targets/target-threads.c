/* A process whose threads are blocked in different system calls, plus one
 * that spins, each with its own value of a __thread variable, and known
 * heap, stack and global patterns.
 *
 * Prints: pid, threads, thread.N.{tid,func,tls} (N = 0 is the main thread;
 * func is the function of this file the thread sits in, which must show in
 * its backtrace), heap.*, stack.*, global.* (see tc_region), ready.
 * On SIGUSR1 it wakes every thread, checks that none returned early or lost
 * its TLS value, that the spinner still runs and the patterns are intact. */
#include "tcommon.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 6
#define TLS_BASE 0x7e15000000000000ULL

__thread uint64_t tls_var;
uint64_t global_pattern[512];
volatile uint64_t spin_count;

static volatile int stop;
static int pipe_fds[2], poll_fds[2];
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_flag;

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
	tls_var = TLS_BASE + (uint64_t)idx * 0x1111;
	pthread_mutex_lock(&ready_lock);
	slots[idx].tid = tc_gettid();
	slots[idx].func = func;
	slots[idx].ready = 1;
	pthread_cond_broadcast(&ready_cond);
	pthread_mutex_unlock(&ready_lock);
}

static void check_tls(int idx)
{
	if (tls_var != TLS_BASE + (uint64_t)idx * 0x1111)
		tc_fail("thread %d: tls_var changed to 0x%llx", idx,
			(unsigned long long)tls_var);
	if (slots[idx].tid != tc_gettid())
		tc_fail("thread %d: tid changed", idx);
}

static void on_wake(int sig)
{
	(void)sig;
}

static void *thr_nanosleep(void *arg)
{
	struct timespec ts = { 24 * 3600, 0 };
	int rc;

	announce(1, "thr_nanosleep");
	rc = nanosleep(&ts, NULL);
	if (!stop)
		tc_fail("nanosleep returned early (rc %d, %s)", rc,
			strerror(errno));
	check_tls(1);
	return arg;
}

static void *thr_pipe_read(void *arg)
{
	char c = 0;
	ssize_t n;

	announce(2, "thr_pipe_read");
	n = read(pipe_fds[0], &c, 1);
	if (!stop || n != 1 || c != 'w')
		tc_fail("read on the pipe returned early (n %zd, %s)", n,
			n < 0 ? strerror(errno) : "no error");
	check_tls(2);
	return arg;
}

static void *thr_cond_wait(void *arg)
{
	int waits = 0;

	announce(3, "thr_cond_wait");
	pthread_mutex_lock(&cond_lock);
	while (!cond_flag) {
		pthread_cond_wait(&cond, &cond_lock);
		waits++;
	}
	pthread_mutex_unlock(&cond_lock);
	if (!stop)
		tc_fail("pthread_cond_wait returned before the signal");
	check_tls(3);
	return arg;
}

static void *thr_poll(void *arg)
{
	struct pollfd pfd = { .fd = poll_fds[0], .events = POLLIN };
	int rc;

	announce(4, "thr_poll");
	rc = poll(&pfd, 1, -1);
	if (!stop || rc != 1 || !(pfd.revents & POLLIN))
		tc_fail("poll returned early (rc %d, %s)", rc,
			rc < 0 ? strerror(errno) : "no error");
	check_tls(4);
	return arg;
}

static void *thr_spin(void *arg)
{
	announce(5, "thr_spin");
	while (!stop)
		spin_count++;
	check_tls(5);
	return arg;
}

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int main(void)
{
	static void *(*const fns[NTHREADS])(void *) = { NULL, thr_nanosleep,
		thr_pipe_read, thr_cond_wait, thr_poll, thr_spin };
	uint64_t stack_pattern[512];
	uint64_t *heap;
	struct sigaction sa;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	uint64_t before;
	char key[64];
	int i;

	tc_init();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake;
	sigaction(SIGRTMIN + 1, &sa, NULL);
	if (pipe(pipe_fds) || pipe(poll_fds)) {
		perror("pipe");
		return 99;
	}
	heap = malloc(64 * 1024);
	if (!heap)
		return 99;
	tc_fill(heap, 64 * 1024, 0x4ea9);
	tc_fill(stack_pattern, sizeof(stack_pattern), 0x57ac);
	tc_fill(global_pattern, sizeof(global_pattern), 0x610b);

	announce(0, "tc_wait_usr1");
	for (i = 1; i < NTHREADS; i++)
		if (pthread_create(&slots[i].thread, NULL, fns[i], NULL)) {
			perror("pthread_create");
			return 99;
		}
	pthread_mutex_lock(&ready_lock);
	for (i = 1; i < NTHREADS; i++)
		while (!slots[i].ready)
			pthread_cond_wait(&ready_cond, &ready_lock);
	pthread_mutex_unlock(&ready_lock);
	/* "ready" only once every blocking thread is asleep in its call. */
	for (i = 1; i < NTHREADS - 1; i++)
		if (tc_wait_sleeping(slots[i].tid)) {
			fprintf(stderr, "thread %d never went to sleep\n", i);
			return 99;
		}

	tc_kv("pid", "%d", (int)getpid());
	tc_kv("threads", "%d", NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		snprintf(key, sizeof(key), "thread.%d.tid", i);
		tc_kv(key, "%d", (int)slots[i].tid);
		snprintf(key, sizeof(key), "thread.%d.func", i);
		tc_kv(key, "%s", slots[i].func);
		snprintf(key, sizeof(key), "thread.%d.tls", i);
		tc_kv(key, "0x%llx",
		      (unsigned long long)(TLS_BASE + (uint64_t)i * 0x1111));
	}
	tc_region("heap", heap, 64 * 1024, 0x4ea9);
	tc_region("stack", stack_pattern, sizeof(stack_pattern), 0x57ac);
	tc_region("global", global_pattern, sizeof(global_pattern), 0x610b);
	tc_kv("ready", "1");

	tc_wait_usr1();

	/* Self-check: the spinner must still be spinning.  Given up to 5 s:
	 * on a loaded machine it may not get a CPU within one 50 ms sleep. */
	before = spin_count;
	for (i = 0; i < 100 && spin_count == before; i++)
		nanosleep(&ts, NULL);
	if (spin_count == before)
		tc_fail("the spinning thread no longer runs");
	if (count_tasks() != NTHREADS)
		tc_fail("%d threads instead of %d", count_tasks(), NTHREADS);
	if (tc_verify(heap, 64 * 1024, 0x4ea9))
		tc_fail("heap pattern changed");
	if (tc_verify(stack_pattern, sizeof(stack_pattern), 0x57ac))
		tc_fail("stack pattern changed");
	if (tc_verify(global_pattern, sizeof(global_pattern), 0x610b))
		tc_fail("global pattern changed");
	/* Stray signals are checked before waking the threads ourselves. */
	tc_check_signals();

	stop = 1;
	pthread_kill(slots[1].thread, SIGRTMIN + 1);
	if (write(pipe_fds[1], "w", 1) != 1 || write(poll_fds[1], "p", 1) != 1)
		tc_fail("cannot wake the pipe readers");
	pthread_mutex_lock(&cond_lock);
	cond_flag = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&cond_lock);
	for (i = 1; i < NTHREADS; i++) {
		struct timespec deadline;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 10;
		if (pthread_timedjoin_np(slots[i].thread, NULL, &deadline))
			tc_fail("thread %d (%s) did not finish", i,
				slots[i].func);
	}
	check_tls(0);
	return tc_finish();
}
