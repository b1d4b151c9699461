/* A process to dump in the README's demo: two threads with a recognisable
 * call chain each. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void __attribute__((noinline)) wait_for_work(void)
{
	for (;;)
		pause();
}

static void __attribute__((noinline)) serve_requests(void)
{
	wait_for_work();
}

static void *worker(void *arg)
{
	for (;;)
		sleep(60);
	return arg;
}

int main(void)
{
	pthread_t t;

	pthread_create(&t, NULL, worker, NULL);
	printf("%d\n", (int)getpid());
	fflush(stdout);
	serve_requests();
	return 0;
}
