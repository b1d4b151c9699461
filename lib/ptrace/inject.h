/* Running system calls inside a stopped target, from one of its own
 * threads, without changing its code, and so that the target survives our
 * death (SIGKILL included) at any instant.  Used to create the userfaultfd
 * that dirty tracking needs: a userfaultfd belongs to the mm of the process
 * that creates it.
 *
 * How: before any register of the chosen thread changes, the signal frame
 * the kernel itself would write below its stack pointer for a handler is
 * written there, holding the thread's own registers (restart rules
 * applied), signal mask and FPU state.  Every register set we install
 * after that resumes into rt_sigreturn(2) on that frame, which puts the
 * thread back as it was:
 *   1. rip = the syscall instruction of an existing "mov $15, %rax;
 *      syscall" (every signal trampoline has one), rax = rt_sigreturn, rsp
 *      = the frame; PTRACE_SYSCALL to the syscall-entry stop;
 *   2. there the entered rt_sigreturn is turned into the wanted syscall,
 *      returning to the start of that trampoline, which is again
 *      rt_sigreturn on the frame; at the exit stop the result is read;
 *   3. a second call steps into the trampoline's own rt_sigreturn entry
 *      stop and turns it the same way;
 *   4. after the last call, at its exit stop, the thread's registers are
 *      set directly and the bytes under the frame put back.
 * If we die at any point the thread runs on into rt_sigreturn and is back
 * in its own state; the only leftover is what the injected calls created
 * (a descriptor, between a userfaultfd() and its close()).
 *
 * That window of lg_inject_userfaultfd() is open from the exit stop of the
 * injected userfaultfd(2) (the descriptor is in the target's table) to the
 * exit stop of the injected close(2): reading the result, pidfd_open +
 * pidfd_getfd, writing the frame again and two more stops, about 0.3 ms
 * on a loaded 2-vCPU machine (the long fault matrix: 56 of 511 SIGKILLs
 * 5 us apart in the set-up stop of the busy victim).  A SIGKILL of lgcore
 * inside it leaves the target one O_CLOEXEC descriptor
 * anon_inode:[userfaultfd] on which UFFDIO_API was never called and
 * nothing is registered (registration uses our copy, after the close): no
 * fault ever goes to it, it pins the mm_struct only (mmgrab, not its
 * memory), is closed by an execve and costs one descriptor slot.  It
 * cannot be closed without a tracer: no code in the target runs
 * close(fd) and then returns into the frame's rt_sigreturn (the
 * trampoline's syscall returns into whatever follows it; a "syscall; ret"
 * gadget chained to the frame would still need one PTRACE_SETREGSET after
 * the userfaultfd exit stop, a shorter window but not none); a clone
 * without CLONE_FILES to hold the descriptor in a separate table leaves a
 * zombie child (no exit signal, so no autoreap) or, as a thread, a second
 * frame on a stack the released target may overwrite.
 *
 * A thread is used only if that is safe: not group-stopped (it would go to
 * user mode once), no signal of its own held by us, a native 64-bit
 * thread, no user shadow stack (a forged sigreturn has no token there),
 * seccomp filters that allow every call (read and evaluated as root;
 * without root a filtered thread is not used), and a stack the kernel would
 * put a signal frame on with room for it: the main [stack], or a thread
 * stack of the pthread shape (a PROT_NONE guard right below).  Threads in
 * a nanosleep-like wait are used last: rt_sigreturn resets the restart
 * block, so on our death they would see EINTR. */
#ifndef LG_PTRACE_INJECT_H
#define LG_PTRACE_INJECT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "ptrace/ptrace.h"

/* A syscall the caller means to inject, so that the thread's seccomp
 * filters can be asked beforehand (args as they will be, or a best guess). */
struct lg_inject_call {
	long nr;
	uint64_t args[6];
};

#define LG_INJECT_GREGS 32	/* >= the general registers, in 64-bit words */

struct lg_injector {
	struct lg_tgroup *g;	/* stopped with PTRACE_O_TRACESYSGOOD in its options */
	size_t ti;		/* index in g->t of the thread that runs the calls */
	uint64_t gadget;	/* "mov $15, %rax; syscall" in the target */
	uint64_t gadget_len;
	bool filtered;		/* the thread has seccomp filters (checked per call) */
	/* Between lg_inject_begin() and lg_inject_end(). */
	int state;		/* 0 idle, 1 at an entry stop, 2 at an exit stop */
	uint64_t regs[LG_INJECT_GREGS];		/* its own, as read */
	uint64_t fixed[LG_INJECT_GREGS];	/* its own, restart rules applied */
	uint64_t frame_lo;
	size_t frame_len;
	uint8_t *saved_stack;	/* what the frame covers */
	int pending[16];	/* signals that arrived meanwhile */
	size_t npending;
	sigset_t oldmask;	/* our own, while catchable signals are blocked */
};

/* Choose the thread and find the trampoline.  CALLS (N of them, may be
 * NULL) are the syscalls that will be injected: a thread under a seccomp
 * filter is used only if its filters allow them all, and rt_sigreturn.
 * Fails with a one-line reason when no thread is safe to use (the caller
 * then does without injection). */
int lg_inject_init_calls(struct lg_tgroup *g, const struct lg_inject_call *calls, size_t n,
			 struct lg_injector *inj, struct lg_error *err);
/* The same, for calls not known in advance: no thread under seccomp. */
int lg_inject_init(struct lg_tgroup *g, struct lg_injector *inj, struct lg_error *err);

/* Write the frame and bring the thread to the entry stop of its
 * rt_sigreturn: from here on, our death leaves it as it was. */
int lg_inject_begin(struct lg_injector *inj, struct lg_error *err);
/* Run syscall NR(ARGS) in the thread; *RET gets its return value (-errno on
 * failure, which is not an error of this function).  Errors: the thread or
 * process exited (-ESRCH), a seccomp filter would refuse it (-EPERM), a
 * stop that is not the one asked for (-EPROTO), a deadline (-ETIMEDOUT). */
int lg_inject_call(struct lg_injector *inj, long nr, const uint64_t args[6], int64_t *ret,
		   struct lg_error *err);
/* Put the thread's registers and stack bytes back, and hand back the
 * signals that reached it meanwhile (at release).  Safe to call in any
 * state; returns the first error. */
int lg_inject_end(struct lg_injector *inj, struct lg_error *err);

/* begin + call + end: one syscall. */
int lg_inject_syscall(struct lg_injector *inj, long nr, const uint64_t args[6], int64_t *ret,
		      struct lg_error *err);

/* A copy of descriptor TFD of process PID, in this process (O_CLOEXEC):
 * pidfd_open(2) + pidfd_getfd(2), Linux 5.6.  Returns the fd or -errno. */
int lg_fd_fetch(pid_t pid, int tfd, struct lg_error *err);

/* A userfaultfd of PID's mm, in this process: userfaultfd(2) (FLAGS:
 * O_CLOEXEC, O_NONBLOCK) run in one of its threads of G (stopped with
 * PTRACE_O_TRACESYSGOOD), fetched (lg_fd_fetch), and closed in the target
 * again whatever happens, so the protection never outlives us.  Refused
 * (-EPERM, with the reason) when the target runs under seccomp: a filter
 * may answer userfaultfd(2) by killing it.  When the target may not create
 * a full descriptor (vm.unprivileged_userfaultfd = 0 and no
 * CAP_SYS_PTRACE) and USER_MODE_OK, a UFFD_USER_MODE_ONLY one. */
int lg_inject_userfaultfd(struct lg_tgroup *g, pid_t pid, int flags, bool user_mode_ok,
			  struct lg_error *err);

/* seccomp (lib/ptrace/seccomp.c).  The Seccomp field of TID's status: 0
 * none, 1 strict, 2 filter, -1 unreadable. */
int lg_seccomp_mode(pid_t pid, pid_t tid);
/* Would TID's filters let NR(ARGS) entered at IP (the address after the
 * syscall instruction) run?  0 yes, 1 no (*WHY says why), -errno when they
 * cannot be read for another reason.  TID must be ptrace-stopped by us. */
int lg_seccomp_allows(pid_t tid, long nr, const uint64_t args[6], uint64_t ip, const char **why,
		      struct lg_error *err);
struct sock_filter;
struct seccomp_data;
/* Run one classic BPF program; 0 and *RET, or -EINVAL for an instruction
 * seccomp would not have loaded. */
int lg_seccomp_run(const struct sock_filter *prog, size_t len, const struct seccomp_data *d,
		   uint32_t *ret);

#endif
