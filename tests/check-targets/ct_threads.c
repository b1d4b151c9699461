/* A process for lcorecheck's tests: known frames in three threads.
 *   main -> ct_a -> ct_b -> pause()
 *   thread 1: ct_sleeper -> nanosleep()
 *   thread 2: ct_reader -> read() on a pipe nobody writes
 * It prints "ready PID" once every thread is blocked, then waits to be
 * dumped (or killed with SIGSEGV for a kernel core). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int pipefd[2];
static pthread_barrier_t started;

__attribute__((noinline)) static void ct_b(void)
{
	for (;;)
		pause();
}

__attribute__((noinline)) static void ct_a(void)
{
	ct_b();
	__asm__ volatile("" ::: "memory");	/* keep ct_b a call, not a jump */
}

__attribute__((noinline)) static void *ct_sleeper(void *arg)
{
	struct timespec ts = { 3600, 0 };

	pthread_barrier_wait(&started);
	for (;;)
		nanosleep(&ts, NULL);
	return arg;
}

__attribute__((noinline)) static void *ct_reader(void *arg)
{
	char c;

	pthread_barrier_wait(&started);
	while (read(pipefd[0], &c, 1) != 0)
		;
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t1, t2;

	/* "single": only the main thread, for comparing a core taken while
	 * the process is stopped with the kernel's own core taken after it
	 * resumes.  Other threads would run between the two (restarting
	 * their interrupted calls through user mode, where the kernel also
	 * updates their rseq areas), the thread that takes the SIGSEGV does
	 * not. */
	if (argc > 1 && !strcmp(argv[1], "single")) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		ct_a();
		return 0;
	}
	if (pipe(pipefd) < 0 || pthread_barrier_init(&started, NULL, 3) != 0)
		return 1;
	if (pthread_create(&t1, NULL, ct_sleeper, NULL) || pthread_create(&t2, NULL, ct_reader, NULL))
		return 1;
	pthread_barrier_wait(&started);
	/* Let both threads reach their blocking calls before saying so. */
	usleep(100 * 1000);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	ct_a();
	return 0;
}
