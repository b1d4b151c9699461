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
	unsigned char siginfo[128];	/* of resume_sig, from PTRACE_GETSIGINFO */
	/* Filled by lg_ptrace_get_regs(). */
	struct lg_buf gregs;			/* NT_PRSTATUS pr_reg */
	struct lg_buf regsets[LG_MAX_REGSETS];	/* one per lg_arch_regsets[], len 0 if unavailable */
};

struct lg_tgroup {
	pid_t pid;
	struct lg_thread *t;	/* the leader first when it is alive, then by tid */
	size_t n, cap;
};

/* PTRACE_SEIZE + PTRACE_INTERRUPT every thread of PID, re-reading
 * /proc/PID/task until no new thread appears, and wait for each stop.
 * Threads that exit meanwhile are dropped.  OPTIONS are PTRACE_O_* (never
 * EXITKILL: the target must outlive us).  On failure nothing stays seized. */
int lg_ptrace_stop_all(pid_t pid, unsigned long options, struct lg_tgroup *g,
		       struct lg_error *err);

/* Detach from every thread, re-delivering any signal we intercepted.  A
 * thread that was group-stopped goes back to its stop.  Keeps the list (and
 * registers) so a dump can still be written afterwards. */
int lg_ptrace_release_all(struct lg_tgroup *g, struct lg_error *err);

/* Read the general registers and every lg_arch_regsets[] entry of T. */
int lg_ptrace_get_regs(struct lg_thread *t, struct lg_error *err);

void lg_tgroup_free(struct lg_tgroup *g);

/* Why we may not trace PID, as one phrase ("already traced by another
 * debugger (pid 123)", ...), for an EPERM from PTRACE_SEIZE. */
void lg_ptrace_explain_eperm(pid_t pid, char *buf, size_t len);

#endif
