/* Stopping every thread of a process without a signal, reading registers,
 * and letting it go exactly as it was. */
#ifndef LG_PTRACE_H
#define LG_PTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/error.h"

#define LG_MAX_REGSETS 4

struct lg_thread {
	pid_t tid;
	int resume_sig;		/* signal it was stopped with, re-delivered at release */
	bool group_stop;	/* stopped by SIGSTOP & co. before we came: stays stopped */
	bool gone;		/* exited while we held it (reaped, but for a leader whose parent we are) */
	bool has_status;	/* a wait status seen while waiting for another thread */
	int status;
	unsigned char siginfo[128];	/* of resume_sig, from PTRACE_GETSIGINFO */
	/* Filled by lg_ptrace_get_regs(). */
	struct lg_buf gregs;			/* NT_PRSTATUS pr_reg */
	struct lg_buf regsets[LG_MAX_REGSETS];	/* one per lg_arch_regsets[], len 0 if unavailable */
};

struct lg_tgroup {
	pid_t pid;
	struct lg_thread *t;	/* the leader first when it is alive, then by tid */
	size_t n, cap;
	int timeout_ms;		/* deadline of every wait for one of its threads */
	bool exited;		/* the whole group exited while we held it */
	bool parent_is_us;	/* its leader's exit status belongs to our own wait */
};

/* How long one thread may take to reach a stop we asked for: a thread in
 * an uninterruptible sleep (D) reaches it only when the sleep ends. */
#define LG_PTRACE_TIMEOUT_MS 2000

struct lg_stop_opts {
	unsigned long ptrace_options;	/* PTRACE_O_*, never EXITKILL: the target outlives us */
	int timeout_ms;			/* per wait; 0: LG_PTRACE_TIMEOUT_MS */
};

/* PTRACE_SEIZE + PTRACE_INTERRUPT every thread of PID, re-reading
 * /proc/PID/task until no new thread appears, and wait for each stop.
 * Threads that exit meanwhile are dropped; if the whole process exits, the
 * error is -ESRCH "the process exited during the dump".  A thread that does
 * not stop in time fails it with -ETIMEDOUT; the kernel cannot detach a
 * thread that has not stopped, so such a one stays attached until it stops
 * (the release waits for that, within the deadline) or this process exits,
 * which releases it.  On failure nothing else stays seized.  Waits take
 * SIGCHLD with sigtimedwait(): the caller must not ignore SIGCHLD. */
int lg_ptrace_stop_all_opts(pid_t pid, const struct lg_stop_opts *o, struct lg_tgroup *g,
			    struct lg_error *err);
/* The same with OPTIONS and the default deadline. */
int lg_ptrace_stop_all(pid_t pid, unsigned long options, struct lg_tgroup *g,
		       struct lg_error *err);

/* The next wait status of T, a thread of G: 1 and *STATUS for a stop, 0 if
 * T is gone (exited, reaped), -ESRCH if the whole group exited,
 * -ETIMEDOUT after G's deadline.  Exits of T's siblings are reaped (a dying
 * leader is reported only after them) and their stops kept for their own
 * wait. */
int lg_ptrace_wait(struct lg_tgroup *g, struct lg_thread *t, int *status, struct lg_error *err);

/* Detach from every thread, re-delivering any signal we intercepted.  A
 * thread that was group-stopped goes back to its stop; one still running
 * (after a deadline) is let go at its next stop, waited for within the
 * deadline.  Keeps the list (and
 * registers) so a dump can still be written afterwards. */
int lg_ptrace_release_all(struct lg_tgroup *g, struct lg_error *err);

/* Read the general registers and every lg_arch_regsets[] entry of T. */
int lg_ptrace_get_regs(struct lg_thread *t, struct lg_error *err);

void lg_tgroup_free(struct lg_tgroup *g);

/* Why we may not trace PID, as one phrase ("already traced by another
 * debugger (pid 123)", ...), for an EPERM from PTRACE_SEIZE. */
void lg_ptrace_explain_eperm(pid_t pid, char *buf, size_t len);

#endif
