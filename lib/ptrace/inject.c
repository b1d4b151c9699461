/* Syscall injection into one thread of a stopped group, so that the target
 * survives our death at any instant.  See inject.h for the construction. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "common/buf.h"
#include "mem/mem.h"
#include "proc/proc.h"
#include "ptrace/inject.h"

#ifndef PTRACE_EVENT_STOP
# define PTRACE_EVENT_STOP 128
#endif
#ifndef NT_X86_XSTATE
# define NT_X86_XSTATE 0x202
#endif
#ifndef SYS_SECCOMP
# define SYS_SECCOMP 1
#endif

/* PTRACE_GET_SYSCALL_INFO (Linux 5.3), struct ptrace_syscall_info of
 * <linux/ptrace.h>, which cannot be included next to <sys/ptrace.h>. */
struct syscall_info {
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t instruction_pointer;
	uint64_t stack_pointer;
	union {
		struct {
			uint64_t nr;
			uint64_t args[6];
		} entry;
		struct {
			int64_t rval;
			uint8_t is_error;
		} exit;
	};
};
_Static_assert(offsetof(struct syscall_info, entry) == 24, "ptrace_syscall_info");
#define SYSCALL_INFO_ENTRY 1
#define SYSCALL_INFO_EXIT 2

#define FPU_MAX (64 * 1024)	/* NT_X86_XSTATE: 11008 bytes with AMX */
#define ERRNO_MAX 4095		/* a syscall's -errno is in [-4095, -1] */

enum { ST_IDLE, ST_ENTRY, ST_EXIT };

/* --- finding the trampoline, without faulting anything in ------------------ */

/* Mappings whose code a missing-page or minor-fault userfaultfd could
 * serve (shmem, memfd): never read a page of those that is not resident. */
static bool maybe_shmem(const struct lg_mapping *m)
{
	return !strncmp(m->name, "/memfd:", 7) || !strncmp(m->name, "/dev/shm/", 9) ||
	       !strncmp(m->name, "/SYSV", 5) || m->deleted || !lg_mapping_is_file(m);
}

/* Look for one of the gadgets in [START, END) of PID. */
static int find_gadget_in(pid_t pid, uint64_t start, uint64_t end, uint64_t *at, size_t *len)
{
	static uint8_t buf[65536];
	uint64_t a;

	for (a = start; a < end;) {
		size_t n = end - a < sizeof(buf) ? end - a : sizeof(buf), i, g;
		struct iovec l = { buf, n }, r = { (void *)(uintptr_t)a, n };
		ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (got < 16)
			return -EFAULT;
		for (i = 0; i < (size_t)got; i++)
			for (g = 0; g < lg_arch_nsigreturn_gadgets; g++) {
				const struct lg_arch_code *c = &lg_arch_sigreturn_gadgets[g];
				if (i + c->len <= (size_t)got && buf[i] == c->bytes[0] &&
				    !memcmp(buf + i, c->bytes, c->len)) {
					*at = a + i;
					*len = c->len;
					return 0;
				}
			}
		if ((size_t)got < n)
			break;
		a += (size_t)got - 15;	/* a gadget split over two reads */
	}
	return -ENOENT;
}

static int rank_mapping(const struct lg_mapping *m)
{
	const char *base = strrchr(m->name, '/');
	base = base ? base + 1 : m->name;
	if (!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5) ||
	    !strncmp(base, "ld-musl", 7))
		return 0;
	return 1;
}

/* The gadget, read from resident pages first (nothing faulted in), then
 * from any page of plain file mappings. */
static int find_gadget(pid_t pid, const struct lg_maps *maps, uint64_t *at, size_t *len)
{
	struct lg_pagemap pm;
	struct lg_ranges pop = { 0 };
	int pass, rank, r = -ENOENT;
	size_t i, k;

	lg_pagemap_init(&pm, pid);
	for (pass = 0; pass < 2 && r; pass++)
		for (rank = 0; rank < 2 && r; rank++)
			for (i = 0; i < maps->n && r; i++) {
				const struct lg_mapping *m = &maps->v[i];
				if (!(m->prot & LG_PROT_X) || !(m->prot & LG_PROT_R) ||
				    lg_mapping_is_special(m) || rank_mapping(m) != rank)
					continue;
				if (pass == 1) {
					if (!maybe_shmem(m))
						r = find_gadget_in(pid, m->start, m->end, at, len);
					continue;
				}
				pop.n = 0;
				if (lg_pagemap_populated(&pm, m->start, m->end, &pop, NULL))
					continue;
				for (k = 0; k < pop.n && r; k++)
					r = find_gadget_in(pid, pop.v[k].start, pop.v[k].end, at, len);
			}
	lg_ranges_free(&pop);
	lg_pagemap_close(&pm);
	return r;
}

/* --- registers and the frame -------------------------------------------------- */

static int getregs(pid_t tid, void *regs)
{
	struct iovec iov = { regs, lg_arch_gregs_size };
	return ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) < 0 ? -errno : 0;
}

static int setregs(pid_t tid, const void *regs)
{
	struct iovec iov = { (void *)regs, lg_arch_gregs_size };
	return ptrace(PTRACE_SETREGSET, tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) < 0 ? -errno : 0;
}

/* The frame for thread TID with registers FIXED (restart rules applied),
 * in a malloc'd *BUF. */
static int build_frame(pid_t tid, const void *fixed, uint8_t **buf, struct lg_arch_sigframe *f)
{
	uint8_t *fpu = malloc(FPU_MAX);
	struct iovec iov = { fpu, FPU_MAX };
	struct lg_arch_sigframe_in in;
	uint64_t mask = 0;
	size_t cap;
	int r;

	*buf = NULL;
	if (!fpu)
		return -ENOMEM;
	memset(&in, 0, sizeof(in));
	in.gregs = fixed;
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(mask), &mask) < 0) {
		r = -errno;
		goto out;
	}
	in.sigmask = mask;
	in.fpu = fpu;
	in.fpu_is_xstate = true;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)NT_X86_XSTATE, &iov) < 0) {
		/* No XSAVE: the FXSAVE area alone. */
		in.fpu_is_xstate = false;
		iov.iov_len = FPU_MAX;
		if (ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)NT_PRFPREG, &iov) < 0) {
			r = -errno;
			goto out;
		}
	}
	in.fpu_len = iov.iov_len;
	cap = lg_arch_sigframe_max(in.fpu_len);
	if (!(*buf = malloc(cap))) {
		r = -ENOMEM;
		goto out;
	}
	r = lg_arch_sigframe_build(&in, *buf, cap, f);
out:
	free(fpu);
	if (r) {
		free(*buf);
		*buf = NULL;
	}
	return r;
}

struct stack_ctx {
	pid_t pid;
	const struct lg_maps *maps;
	struct lg_maps smaps;	/* read only if needed */
	bool have_smaps;
};

/* May the frame [LO, HI) go below SP?  Only where the kernel itself would
 * put a signal frame and the thread's own stack has room: the main [stack],
 * or a thread stack of the pthread shape (a PROT_NONE guard mapping right
 * below it), writable and holding the whole frame.  A stack somewhere else
 * (a Go goroutine's, in a heap arena) could have live data below SP.  The
 * frame's pages must be resident, or the mapping known not to be served
 * by a userfaultfd of the target (a fault there would wait for a thread we
 * stopped). */
static const char *stack_refusal(struct stack_ctx *c, uint64_t sp, uint64_t lo, uint64_t hi)
{
	const struct lg_maps *maps = c->maps;
	const struct lg_mapping *m = NULL;
	struct lg_pagemap pm;
	struct lg_ranges pop = { 0 };
	uint64_t a, b, covered = 0;
	size_t i;

	for (i = 0; i < maps->n; i++)
		if (maps->v[i].start < sp && sp <= maps->v[i].end) {
			m = &maps->v[i];
			break;
		}
	if (!m)
		return "its stack pointer is outside any mapping";
	if (strcmp(m->name, "[stack]")) {
		if (!lg_mapping_is_private_anon(m) || i == 0 || maps->v[i - 1].end != m->start ||
		    maps->v[i - 1].prot != 0)
			return "its stack is not one a signal frame may go on";
	}
	if (!(m->prot & LG_PROT_W) || !(m->prot & LG_PROT_R))
		return "its stack is not writable";
	if (lo < m->start || hi > sp)
		return "no room for a signal frame on its stack";

	a = lo & LG_PAGE_MASK;
	b = (hi + LG_PAGE_SIZE - 1) & LG_PAGE_MASK;
	lg_pagemap_init(&pm, c->pid);
	if (!lg_pagemap_populated(&pm, a, b, &pop, NULL))
		for (i = 0; i < pop.n; i++)
			covered += pop.v[i].end - pop.v[i].start;
	lg_ranges_free(&pop);
	lg_pagemap_close(&pm);
	if (covered == b - a)
		return NULL;
	if (!c->have_smaps) {
		if (lg_maps_read(c->pid, true, &c->smaps, NULL))
			return "cannot tell whether its stack is served by a userfaultfd";
		c->have_smaps = true;
	}
	for (i = 0; i < c->smaps.n; i++)
		if (c->smaps.v[i].start == m->start)
			return c->smaps.v[i].vmflags & (LG_VM_UM | LG_VM_UI) ?
			       "its stack is served by the process's own userfaultfd" : NULL;
	return "its stack changed";
}

/* "shstk" in x86_Thread_features (Linux 6.6): a user shadow stack, on which
 * rt_sigreturn wants a token that a forged frame does not have. */
static bool has_shadow_stack(pid_t pid, pid_t tid)
{
	struct lg_buf b = { 0 };
	char path[64], val[128];
	bool r = false;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (!lg_read_file(path, &b) &&
	    !lg_status_field((char *)b.p, "x86_Thread_features", val, sizeof(val)))
		r = strstr(val, "shstk") != NULL;
	lg_buf_free(&b);
	return r;
}

/* Why thread T may not be used (NULL: it may).  *LAST_RESORT: it may, but
 * a thread without a restart block to lose is better. */
static const char *refusal(struct lg_injector *inj, struct stack_ctx *sc, struct lg_thread *t,
			   const struct lg_inject_call *calls, size_t n, bool *last_resort,
			   bool *filtered, struct lg_error *err)
{
	uint64_t regs[LG_INJECT_GREGS], fixed[LG_INJECT_GREGS];
	struct lg_arch_sigframe f;
	uint8_t *frame = NULL;
	const char *why = NULL;
	int mode;
	size_t i;

	*last_resort = *filtered = false;
	if (t->gone)
		return "it exited";
	if (t->resume_sig)
		return "it holds a signal of its own";
	if (t->group_stop)
		return "it is group-stopped (injecting would run it once)";
	if (getregs(t->tid, regs))
		return "its registers cannot be read";
	if (!lg_arch_user_64bit(regs))
		return "it runs 32-bit code";
	if (has_shadow_stack(inj->g->pid, t->tid))
		return "it has a user shadow stack";
	mode = lg_seccomp_mode(inj->g->pid, t->tid);
	if (mode < 0)
		return "its seccomp mode cannot be read";
	if (mode == 1)
		return "it runs in strict seccomp mode";
	if (mode == 2) {
		uint64_t none[6] = { 0 };
		if (!calls)
			return "it runs under a seccomp filter";
		*filtered = true;
		/* rt_sigreturn from the trampoline's own syscall (the way
		 * back on our death), then every call entered there. */
		if (lg_seccomp_allows(t->tid, lg_arch_nr_sigreturn, none,
				      inj->gadget + inj->gadget_len, &why, err))
			return why ? why : "its seccomp filters cannot be read";
		for (i = 0; i < n; i++)
			if (lg_seccomp_allows(t->tid, calls[i].nr, calls[i].args, inj->gadget, &why,
					      err))
				return why ? why : "its seccomp filters cannot be read";
	}
	memcpy(fixed, regs, sizeof(fixed));
	lg_arch_fix_restart(fixed);
	if (build_frame(t->tid, fixed, &frame, &f))
		return "its signal mask or FPU state cannot be read";
	free(frame);
	if ((why = stack_refusal(sc, lg_arch_reg_sp(regs), f.lo, f.lo + f.len)))
		return why;
	*last_resort = lg_arch_in_restart_block(regs);
	return NULL;
}

int lg_inject_init_calls(struct lg_tgroup *g, const struct lg_inject_call *calls, size_t n,
			 struct lg_injector *inj, struct lg_error *err)
{
	struct lg_maps maps = { 0 };
	struct stack_ctx sc;
	char reasons[200] = "";
	size_t i, len = 0, best = (size_t)-1;
	bool best_last = true, best_filtered = false;
	int r;

	_Static_assert(sizeof(inj->regs) >= 27 * 8, "register buffer");
	memset(inj, 0, sizeof(*inj));
	inj->g = g;
	if (lg_arch_gregs_size > sizeof(inj->regs))
		return lg_failx(err, EINVAL, "register set too large");
	if (g->n == 0)
		return lg_failx(err, ESRCH, "no thread to run a syscall in");
	if ((r = lg_maps_read(g->pid, false, &maps, err)))
		return r;
	{
		size_t glen = 0;
		if (find_gadget(g->pid, &maps, &inj->gadget, &glen)) {
			lg_maps_free(&maps);
			return lg_failx(err, ENOENT,
					"not injecting: no rt_sigreturn trampoline in the target's code");
		}
		inj->gadget_len = glen;
	}
	memset(&sc, 0, sizeof(sc));
	sc.pid = g->pid;
	sc.maps = &maps;
	for (i = 0; i < g->n && (best == (size_t)-1 || best_last); i++) {
		bool last, filtered;
		const char *why = refusal(inj, &sc, &g->t[i], calls, n, &last, &filtered, err);
		if (why) {
			if (len < sizeof(reasons) - 1)
				len += (size_t)snprintf(reasons + len, sizeof(reasons) - len,
							"%sthread %d: %s", len ? "; " : "",
							(int)g->t[i].tid, why);
			continue;
		}
		if (best == (size_t)-1 || (best_last && !last)) {
			best = i;
			best_last = last;
			best_filtered = filtered;
		}
	}
	lg_maps_free(&maps);
	if (sc.have_smaps)
		lg_maps_free(&sc.smaps);
	if (best == (size_t)-1)
		return lg_failx(err, EPERM, "not injecting: no thread is safe to use (%s)", reasons);
	inj->ti = best;
	inj->filtered = best_filtered;
	return 0;
}

int lg_inject_init(struct lg_tgroup *g, struct lg_injector *inj, struct lg_error *err)
{
	return lg_inject_init_calls(g, NULL, 0, inj, err);
}

/* --- stepping ------------------------------------------------------------------ */

/* A ptrace request on T failed with E: if T (or its process) is gone, say
 * so as such, after reaping what can be reaped. */
static int ptrace_failed(struct lg_injector *inj, int e, const char *what, struct lg_error *err)
{
	struct lg_thread *t = &inj->g->t[inj->ti];
	int status, r;

	if (e != ESRCH)
		return lg_fail(err, e, "cannot %s thread %d", what, (int)t->tid);
	r = lg_ptrace_wait(inj->g, t, &status, err);
	if (r < 0)
		return r;
	if (r == 0)
		return lg_failx(err, ESRCH, "thread %d exited during an injected syscall",
				(int)t->tid);
	t->status = status;
	t->has_status = true;
	return lg_failx(err, EPROTO, "thread %d was not stopped when it should have been",
			(int)t->tid);
}

/* Resume T to its next syscall stop.  Signals that arrive meanwhile are
 * taken off the thread (they would otherwise run a handler on registers
 * that are not its own) and kept for lg_inject_end(); a SIGSYS that a
 * seccomp filter raised for our own call is dropped, as the call did not
 * run.  Returns 0 at a syscall stop (*SECCOMP_TRAP set if such a SIGSYS
 * came), or -errno. */
static int step(struct lg_injector *inj, bool *seccomp_trap, struct lg_error *err)
{
	struct lg_thread *t = &inj->g->t[inj->ti];
	int status, r;

	if (ptrace(PTRACE_SYSCALL, t->tid, 0, 0) < 0)
		return ptrace_failed(inj, errno, "resume", err);
	for (;;) {
		int sig;
		if ((r = lg_ptrace_wait(inj->g, t, &status, err)) < 0)
			return r;
		if (r == 0)
			return lg_failx(err, ESRCH, "thread %d exited during an injected syscall",
					(int)t->tid);
		sig = WSTOPSIG(status);
		if (sig == (SIGTRAP | 0x80))
			return 0;
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			/* A group stop (SIGSTOP sent meanwhile) or an
			 * interrupt: go on, and remember the group stop, which
			 * the detach at release puts it back into. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				t->group_stop = true;
		} else if ((status >> 16) == 0) {
			siginfo_t si;
			if (sig == SIGSYS && !ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) &&
			    si.si_code == SYS_SECCOMP)
				*seccomp_trap = true;
			else if (inj->npending < sizeof(inj->pending) / sizeof(inj->pending[0]))
				inj->pending[inj->npending++] = sig;
		}
		if (ptrace(PTRACE_SYSCALL, t->tid, 0, 0) < 0)
			return ptrace_failed(inj, errno, "resume", err);
	}
}

/* The stop T is in is the OP (entry or exit) of syscall NR at PC. */
static int expect(struct lg_injector *inj, int op, long nr, uint64_t pc, uint64_t *regs,
		  struct lg_error *err)
{
	struct lg_thread *t = &inj->g->t[inj->ti];
	struct syscall_info si;
	int r;

	if ((r = getregs(t->tid, regs)))
		return ptrace_failed(inj, -r, "read the registers of", err);
	memset(&si, 0, sizeof(si));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(si), &si) > 0 && si.op != op)
		return lg_failx(err, EPROTO, "thread %d: syscall %s stop expected, got op %d",
				(int)t->tid, op == SYSCALL_INFO_ENTRY ? "entry" : "exit", si.op);
	if (lg_arch_syscall_nr(regs) != nr || lg_arch_reg_pc(regs) != pc)
		return lg_failx(err, EPROTO,
				"thread %d: stopped in syscall %lld at %#llx, not %ld at %#llx",
				(int)t->tid, (long long)lg_arch_syscall_nr(regs),
				(unsigned long long)lg_arch_reg_pc(regs), nr, (unsigned long long)pc);
	return 0;
}

static ssize_t write_target(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec l = { (void *)buf, len }, r = { (void *)(uintptr_t)addr, len };
	return process_vm_writev(pid, &l, 1, &r, 1, 0);
}

static ssize_t read_target(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)addr, len };
	return process_vm_readv(pid, &l, 1, &r, 1, 0);
}

int lg_inject_begin(struct lg_injector *inj, struct lg_error *err)
{
	struct lg_thread *t = &inj->g->t[inj->ti];
	struct lg_arch_sigframe f;
	uint64_t r1[LG_INJECT_GREGS], regs[LG_INJECT_GREGS];
	uint8_t *frame = NULL;
	sigset_t all;
	bool trap = false;
	int r;

	if (inj->state != ST_IDLE)
		return lg_failx(err, EINVAL, "injection already under way");
	if ((r = getregs(t->tid, inj->regs)))
		return lg_fail(err, -r, "cannot read registers of thread %d", (int)t->tid);
	memcpy(inj->fixed, inj->regs, sizeof(inj->fixed));
	lg_arch_fix_restart(inj->fixed);
	if ((r = build_frame(t->tid, inj->fixed, &frame, &f)))
		return lg_fail(err, -r, "cannot build a signal frame for thread %d", (int)t->tid);
	if (!(inj->saved_stack = malloc(f.len))) {
		free(frame);
		return lg_fail(err, ENOMEM, "injection");
	}
	if (read_target(inj->g->pid, f.lo, inj->saved_stack, f.len) != (ssize_t)f.len) {
		r = lg_fail(err, errno ? errno : EFAULT, "cannot read the stack of thread %d",
			    (int)t->tid);
		goto fail;
	}
	inj->frame_lo = f.lo;
	inj->frame_len = f.len;

	/* Catchable signals wait until the thread is back: with them, a
	 * SIGINT would still be safe for the target, but leave a
	 * descriptor the calls created or the frame's bytes behind. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &inj->oldmask);
	if (write_target(inj->g->pid, f.lo, frame, f.len) != (ssize_t)f.len) {
		r = lg_fail(err, errno ? errno : EFAULT, "cannot write a signal frame for thread %d",
			    (int)t->tid);
		write_target(inj->g->pid, f.lo, inj->saved_stack, f.len);
		sigprocmask(SIG_SETMASK, &inj->oldmask, NULL);
		goto fail;
	}
	free(frame);
	frame = NULL;

	/* From this SETREGSET on, the thread resumes into rt_sigreturn. */
	memcpy(r1, inj->regs, sizeof(r1));
	lg_arch_set_sigreturn(r1, inj->gadget + inj->gadget_len - lg_arch_syscall_insn_len, f.sp);
	if ((r = setregs(t->tid, r1))) {
		write_target(inj->g->pid, f.lo, inj->saved_stack, f.len);
		sigprocmask(SIG_SETMASK, &inj->oldmask, NULL);
		r = lg_fail(err, -r, "cannot set registers of thread %d", (int)t->tid);
		goto fail;
	}
	inj->state = ST_ENTRY;	/* in effect: lg_inject_end knows how to undo it */
	if ((r = step(inj, &trap, err)) ||
	    (r = expect(inj, SYSCALL_INFO_ENTRY, lg_arch_nr_sigreturn, inj->gadget + inj->gadget_len,
			regs, err))) {
		lg_inject_end(inj, NULL);
		return r;
	}
	return 0;
fail:
	free(frame);
	free(inj->saved_stack);
	inj->saved_stack = NULL;
	return r;
}

int lg_inject_call(struct lg_injector *inj, long nr, const uint64_t args[6], int64_t *ret,
		   struct lg_error *err)
{
	struct lg_thread *t = &inj->g->t[inj->ti];
	uint64_t regs[LG_INJECT_GREGS];
	bool trap = false;
	int r;

	if (inj->state == ST_EXIT) {
		/* Into the trampoline's own rt_sigreturn. */
		if ((r = step(inj, &trap, err)) ||
		    (r = expect(inj, SYSCALL_INFO_ENTRY, lg_arch_nr_sigreturn,
				inj->gadget + inj->gadget_len, regs, err)))
			return r;
		inj->state = ST_ENTRY;
	}
	if (inj->state != ST_ENTRY)
		return lg_failx(err, EINVAL, "no injection under way");
	if (inj->filtered) {
		const char *why = NULL;
		r = lg_seccomp_allows(t->tid, nr, args, inj->gadget, &why, err);
		if (r < 0)
			return r;
		if (r)
			return lg_failx(err, EPERM, "thread %d: %s (syscall %ld)", (int)t->tid, why, nr);
	}
	if ((r = getregs(t->tid, regs)))
		return ptrace_failed(inj, -r, "read the registers of", err);
	/* On our death from here on, the call runs and returns into the
	 * trampoline: rt_sigreturn on the frame. */
	lg_arch_retarget_syscall(regs, nr, args, inj->gadget);
	if ((r = setregs(t->tid, regs)))
		return ptrace_failed(inj, -r, "set the registers of", err);
	if ((r = step(inj, &trap, err)))
		return r;
	inj->state = ST_EXIT;
	if ((r = expect(inj, SYSCALL_INFO_EXIT, nr, inj->gadget, regs, err)))
		return r;
	if (trap)
		return lg_failx(err, EPERM, "thread %d: a seccomp filter trapped syscall %ld",
				(int)t->tid, nr);
	*ret = lg_arch_syscall_ret(regs);
	if (*ret < -ERRNO_MAX)
		return lg_failx(err, EPROTO, "thread %d: syscall %ld returned %lld, not a result",
				(int)t->tid, nr, (long long)*ret);
	return 0;
}

int lg_inject_end(struct lg_injector *inj, struct lg_error *err)
{
	struct lg_thread *t = &inj->g->t[inj->ti];
	uint64_t regs[LG_INJECT_GREGS];
	int r = 0;
	size_t i;

	if (inj->state != ST_IDLE) {
		memcpy(regs, inj->fixed, sizeof(regs));
		/* At an entry stop the pending rt_sigreturn must not run on
		 * these registers: skip it (orig_rax -1 makes the kernel skip
		 * the call and keep rax as set, arch/x86/entry/common.c). */
		if (inj->state == ST_ENTRY)
			lg_arch_set_syscall_skipped(regs);
		r = setregs(t->tid, regs);
		if (r == 0) {
			/* The registers are its own: the frame is not needed. */
			write_target(inj->g->pid, inj->frame_lo, inj->saved_stack, inj->frame_len);
		} else if (t->gone) {
			r = 0;
		} else {
			/* Not at a stop (ptrace says ESRCH for a running
			 * tracee too; a deadline passed): it still runs into
			 * rt_sigreturn by itself, so the frame stays. */
			r = lg_fail(err, -r, "cannot restore the registers of thread %d", (int)t->tid);
		}
		sigprocmask(SIG_SETMASK, &inj->oldmask, NULL);
		inj->state = ST_IDLE;
	}
	free(inj->saved_stack);
	inj->saved_stack = NULL;
	/* Signals intercepted meanwhile go back: the first as the thread's
	 * release signal, the rest queued again (without their siginfo). */
	for (i = 0; i < inj->npending; i++) {
		if (t->resume_sig == 0)
			t->resume_sig = inj->pending[i];
		else
			syscall(SYS_tgkill, inj->g->pid, t->tid, inj->pending[i]);
	}
	inj->npending = 0;
	return r;
}

int lg_inject_syscall(struct lg_injector *inj, long nr, const uint64_t args[6], int64_t *ret,
		      struct lg_error *err)
{
	struct lg_error e2;
	int r, rr;

	if ((r = lg_inject_begin(inj, err)))
		return r;
	r = lg_inject_call(inj, nr, args, ret, err);
	rr = lg_inject_end(inj, &e2);
	if (!r && rr && err)
		*err = e2;
	return r ? r : rr;
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

/* We cannot tell what a filter answers userfaultfd(2) without reading it
 * (root only), and a SECCOMP_RET_KILL answer kills the target: no try. */
static int refuse_seccomp(pid_t pid, struct lg_error *err)
{
	struct lg_buf b = { 0 };
	char path[64], val[32];
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (lg_read_file(path, &b))
		return lg_fail(err, errno, "%s", path);
	if (!lg_status_field((char *)b.p, "Seccomp", val, sizeof(val)) && atoi(val) != 0)
		r = lg_failx(err, EPERM,
			     "the target runs under seccomp (mode %d): not injecting userfaultfd(2), "
			     "which a filter could answer by killing it", atoi(val));
	lg_buf_free(&b);
	return r;
}

int lg_inject_userfaultfd(struct lg_tgroup *g, pid_t pid, int flags, bool user_mode_ok,
			  struct lg_error *err)
{
	struct lg_injector inj;
	uint64_t args[6] = { (uint64_t)flags, 0, 0, 0, 0, 0 };
	int64_t tfd = -1, cret = 0;
	struct lg_error e2;
	int r, ir;

	if ((r = refuse_seccomp(pid, err)))
		return r;
	if ((r = lg_inject_init(g, &inj, err)))
		return r;
	if ((r = lg_inject_syscall(&inj, SYS_userfaultfd, args, &tfd, err)))
		return r;
	if (tfd == -EPERM && user_mode_ok) {
		args[0] |= UFFD_USER_MODE_ONLY;
		if ((r = lg_inject_syscall(&inj, SYS_userfaultfd, args, &tfd, err)))
			return r;
	}
	if (tfd < 0)
		return lg_failx(err, (int)-tfd, "userfaultfd(2) in the target failed: %s",
				strerror((int)-tfd));
	r = lg_fd_fetch(pid, (int)tfd, err);
	args[0] = (uint64_t)tfd;
	ir = lg_inject_syscall(&inj, SYS_close, args, &cret, &e2);
	if (r < 0)
		return r;
	if (ir || cret) {
		close(r);
		if (ir) {
			if (err)
				*err = e2;
			return ir;
		}
		return lg_failx(err, (int)-cret, "close(%d) in the target failed: %s", (int)tfd,
				strerror((int)-cret));
	}
	return r;
}
