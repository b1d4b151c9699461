/* Syscall injection into one thread of a stopped group.  See inject.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "proc/proc.h"
#include "ptrace/inject.h"

#ifndef PTRACE_EVENT_STOP
# define PTRACE_EVENT_STOP 128
#endif

/* Look for the syscall instruction in the mapping [START, END) of PID. */
static int find_insn(pid_t pid, uint64_t start, uint64_t end, uint64_t *pc)
{
	uint8_t buf[65536];
	uint64_t a;

	for (a = start; a < end;) {
		size_t len = end - a < sizeof(buf) ? end - a : sizeof(buf);
		struct iovec l = { buf, len }, r = { (void *)(uintptr_t)a, len };
		ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);
		size_t i;
		if (n < (ssize_t)lg_arch_syscall_insn_len)
			return -EFAULT;
		for (i = 0; i + lg_arch_syscall_insn_len <= (size_t)n; i++)
			if (!memcmp(buf + i, lg_arch_syscall_insn, lg_arch_syscall_insn_len)) {
				*pc = a + i;
				return 0;
			}
		/* An instruction split over two reads is found on the next one. */
		a += (size_t)n - (lg_arch_syscall_insn_len - 1);
		if ((size_t)n < len)
			break;
	}
	return -ENOENT;
}

int lg_inject_init(struct lg_tgroup *g, struct lg_injector *inj, struct lg_error *err)
{
	struct lg_maps maps = { 0 };
	size_t i;
	int r;

	memset(inj, 0, sizeof(*inj));
	inj->g = g;
	if (g->n == 0)
		return lg_failx(err, ESRCH, "no thread to run a syscall in");
	inj->ti = 0;
	for (i = 0; i < g->n; i++)
		if (g->t[i].resume_sig == 0) {
			inj->ti = i;
			break;
		}
	if ((r = lg_maps_read(g->pid, false, &maps, err)))
		return r;
	r = -ENOENT;
	/* The vDSO first: it is the same code in every process of this kernel
	 * and nobody unmaps it in practice; then any executable mapping. */
	for (i = 0; i < maps.n && r; i++)
		if (!strcmp(maps.v[i].name, "[vdso]"))
			r = find_insn(g->pid, maps.v[i].start, maps.v[i].end, &inj->pc);
	for (i = 0; i < maps.n && r; i++)
		if ((maps.v[i].prot & LG_PROT_X) && (maps.v[i].prot & LG_PROT_R) &&
		    !lg_mapping_is_special(&maps.v[i]))
			r = find_insn(g->pid, maps.v[i].start, maps.v[i].end, &inj->pc);
	lg_maps_free(&maps);
	if (r)
		return lg_failx(err, ENOENT, "no syscall instruction found in the target's code");
	return 0;
}

static int getregs(pid_t tid, void *regs)
{
	struct iovec iov = { regs, lg_arch_gregs_size };
	return ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) < 0 ? -errno : 0;
}

static int setregs(pid_t tid, void *regs)
{
	struct iovec iov = { regs, lg_arch_gregs_size };
	return ptrace(PTRACE_SETREGSET, tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) < 0 ? -errno : 0;
}

/* Resume T to its next syscall stop (entry or exit).  Signals that arrive
 * meanwhile are taken off the thread (they would otherwise run a handler on
 * the injected registers) and kept for release in *PENDING.  Returns 0 at a
 * syscall stop, -ESRCH if the thread died. */
static int step_syscall(struct lg_thread *t, int *pending, size_t *npending, size_t maxpending)
{
	int status;

	if (ptrace(PTRACE_SYSCALL, t->tid, 0, 0) < 0)
		return -errno;
	for (;;) {
		pid_t w = waitpid(t->tid, &status, __WALL);
		int sig;
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECHILD ? -ESRCH : -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		sig = WSTOPSIG(status);
		if (sig == (SIGTRAP | 0x80))
			return 0;
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			/* A group stop (SIGSTOP sent meanwhile) or an
			 * interrupt: go on, and remember the group stop. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				t->group_stop = true;
		} else if ((status >> 16) == 0 && *npending < maxpending) {
			pending[(*npending)++] = sig;
		}
		if (ptrace(PTRACE_SYSCALL, t->tid, 0, 0) < 0)
			return -errno;
	}
}

int lg_inject_syscall(struct lg_injector *inj, long nr, const uint64_t args[6], int64_t *ret,
		      struct lg_error *err)
{
	struct lg_thread *t = &inj->g->t[inj->ti];
	uint64_t saved[64], regs[64];	/* >= lg_arch_gregs_size */
	int pending[16];
	size_t npending = 0, i;
	sigset_t all, old;
	int r, rr;

	_Static_assert(sizeof(saved) >= 27 * 8, "register buffer");
	if (lg_arch_gregs_size > sizeof(saved))
		return lg_failx(err, EINVAL, "register set too large");
	if ((r = getregs(t->tid, saved)))
		return lg_fail(err, -r, "cannot read registers of thread %d", (int)t->tid);
	memcpy(regs, saved, lg_arch_gregs_size);
	lg_arch_set_syscall(regs, inj->pc, nr, args);

	/* From here until the registers are back, a SIGINT or SIGTERM that
	 * killed us would let the thread run on with the injected registers. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if ((r = setregs(t->tid, regs))) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return lg_fail(err, -r, "cannot set registers of thread %d", (int)t->tid);
	}
	r = step_syscall(t, pending, &npending, 16);	/* entry */
	if (!r)
		r = step_syscall(t, pending, &npending, 16);	/* exit */
	if (!r && (r = getregs(t->tid, regs)) == 0)
		*ret = lg_arch_syscall_ret(regs);
	memcpy(regs, saved, lg_arch_gregs_size);
	lg_arch_fix_restart(regs);
	rr = r == -ESRCH ? 0 : setregs(t->tid, regs);
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* Signals intercepted meanwhile go back: the first as the thread's
	 * release signal, the rest queued again (without their siginfo). */
	for (i = 0; i < npending; i++) {
		if (t->resume_sig == 0)
			t->resume_sig = pending[i];
		else
			syscall(SYS_tgkill, inj->g->pid, t->tid, pending[i]);
	}
	if (r == -ESRCH)
		return lg_failx(err, ESRCH, "thread %d exited during an injected syscall", (int)t->tid);
	if (r)
		return lg_fail(err, -r, "injecting a syscall into thread %d", (int)t->tid);
	if (rr)
		return lg_fail(err, -rr, "cannot restore the registers of thread %d", (int)t->tid);
	return 0;
}

int lg_fd_fetch(pid_t pid, int tfd, struct lg_error *err)
{
	int pidfd, fd;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return lg_fail(err, errno, "pidfd_open(%d)", (int)pid);
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, tfd, 0);
	if (fd < 0) {
		int e = errno;
		close(pidfd);
		return lg_fail(err, e, "pidfd_getfd(%d, fd %d)", (int)pid, tfd);
	}
	close(pidfd);
	return fd;
}
