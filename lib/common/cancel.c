#include <errno.h>
#include <signal.h>
#include <string.h>

#include "common/cancel.h"

static const int cancel_signals[] = { SIGHUP, SIGINT, SIGPIPE, SIGTERM };

static void cancel_set(sigset_t *s)
{
	sigemptyset(s);
	for (size_t i = 0; i < sizeof(cancel_signals) / sizeof(cancel_signals[0]); i++)
		sigaddset(s, cancel_signals[i]);
}

int lg_cancel_block(void)
{
	sigset_t s;
	int r;

	cancel_set(&s);
	r = pthread_sigmask(SIG_BLOCK, &s, NULL);
	return r ? -r : 0;
}

int lg_cancel_pending(void)
{
	sigset_t p;

	/* sigpending() is the union of the thread's and the process's sets:
	 * a kill(1) to the process is seen by whichever thread asks. */
	if (sigpending(&p))
		return 0;
	for (size_t i = 0; i < sizeof(cancel_signals) / sizeof(cancel_signals[0]); i++)
		if (sigismember(&p, cancel_signals[i]) == 1)
			return cancel_signals[i];
	return 0;
}

int lg_cancel_check(struct lg_error *err)
{
	int sig = lg_cancel_pending();

	if (!sig)
		return 0;
	return lg_failx(err, EINTR, "interrupted by SIG%s", sigabbrev_np(sig));
}
