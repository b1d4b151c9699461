/* Running a system call inside a stopped target, from one of its own
 * threads, without changing its code: the registers of one stopped thread
 * are pointed at an existing syscall instruction (in the vDSO), the thread is
 * stepped through the call with PTRACE_SYSCALL, and its registers are put
 * back.  Used to create the userfaultfd that dirty tracking needs: a
 * userfaultfd belongs to the mm of the process that creates it. */
#ifndef LG_PTRACE_INJECT_H
#define LG_PTRACE_INJECT_H

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "ptrace/ptrace.h"

struct lg_injector {
	struct lg_tgroup *g;	/* stopped with PTRACE_O_TRACESYSGOOD in its options */
	size_t ti;		/* index in g->t of the thread that runs the calls */
	uint64_t pc;		/* address of a syscall instruction in the target */
};

/* Choose the thread and find a syscall instruction ([vdso] first, then any
 * executable mapping).  G must have been stopped by lg_ptrace_stop_all()
 * with PTRACE_O_TRACESYSGOOD.  A thread that holds an intercepted signal is
 * avoided, so that the signal goes back with its siginfo. */
int lg_inject_init(struct lg_tgroup *g, struct lg_injector *inj, struct lg_error *err);

/* Run syscall NR(ARGS) in the target; *RET gets its return value (-errno on
 * failure, which is not an error of this function).  The thread's registers
 * are restored before returning, with the kernel's restart rules applied if
 * it was interrupted in a syscall.  Catchable signals of this process are
 * blocked while the target's registers are not its own.  Signals that reach
 * the thread meanwhile are handed back at release. */
int lg_inject_syscall(struct lg_injector *inj, long nr, const uint64_t args[6], int64_t *ret,
		      struct lg_error *err);

/* A copy of descriptor TFD of process PID, in this process (O_CLOEXEC):
 * pidfd_open(2) + pidfd_getfd(2), Linux 5.6.  Returns the fd or -errno. */
int lg_fd_fetch(pid_t pid, int tfd, struct lg_error *err);

#endif
