/* lib/ptrace/inject.c, seccomp.c and wait.c on forked children: syscalls
 * injected into a stopped thread leave it exactly as it was; killing the
 * injector at any step leaves it as it was too; threads that cannot take
 * an injection safely are not used; waits end when the target dies. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "common/clock.h"
#include "common/grow.h"
#include "proc/proc.h"
#include "ptrace/inject.h"
#include "ptrace/ptrace.h"

#ifndef NT_X86_XSTATE
# define NT_X86_XSTATE 0x202
#endif

static void stop(pid_t pid, struct lg_tgroup *g)
{
	struct lg_error e = { 0 };
	int r = lg_ptrace_stop_all(pid, PTRACE_O_TRACESYSGOOD, g, &e);
	ck_assert_msg(r == 0, "stop_all: %s", e.msg);
}

static void release(struct lg_tgroup *g)
{
	ck_assert_int_eq(lg_ptrace_release_all(g, NULL), 0);
	lg_tgroup_free(g);
}

static void getregs(pid_t tid, struct user_regs_struct *r)
{
	struct iovec iov = { r, sizeof(*r) };
	ck_assert_int_eq(ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov), 0);
}

static long long now_ms(void)
{
	return (long long)(lg_now_ns() / 1000000);
}

/* --- one injection while the child sits in a call -------------------------- */

enum blocker { B_LOOP, B_READ, B_NANOSLEEP, B_FUTEX };

struct report {
	long ret;
	int err;
	long long elapsed_ms;
	char data;
};

#define SLEEP_MS 1000
#define INJECT_AFTER_MS 600

static void run_blocker(enum blocker b, int in, int out, volatile int *word)
{
	struct report rep = { 0 };
	long long t0 = now_ms();
	switch (b) {
	case B_LOOP: {
		volatile unsigned long x = 0;
		while (!*word)
			x++;
		break;
	}
	case B_READ:
		rep.ret = read(in, &rep.data, 1);
		break;
	case B_NANOSLEEP: {
		struct timespec ts = { SLEEP_MS / 1000, (SLEEP_MS % 1000) * 1000000L };
		rep.ret = nanosleep(&ts, NULL);
		break;
	}
	case B_FUTEX:
		while (*word == 0) {
			rep.ret = syscall(SYS_futex, word, FUTEX_WAIT, 0, NULL, NULL, 0);
			if (rep.ret)
				break;
		}
		break;
	}
	rep.err = rep.ret < 0 ? errno : 0;
	rep.elapsed_ms = now_ms() - t0;
	if (write(out, &rep, sizeof(rep)) != sizeof(rep))
		_exit(1);
	_exit(0);
}

static void inject_into(enum blocker b)
{
	int a[2], o[2], st;
	volatile int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct lg_tgroup g;
	struct lg_injector inj;
	struct lg_error e = { 0 };
	struct user_regs_struct before, after, expect;
	uint64_t args[6] = { 0 };
	int64_t ret = 0;
	struct report rep;
	pid_t pid;

	ck_assert_ptr_ne((void *)word, MAP_FAILED);
	*word = 0;
	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(o), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		run_blocker(b, a[0], o[1], word);
	usleep(b == B_NANOSLEEP ? INJECT_AFTER_MS * 1000 : 100000);	/* let it block */
	stop(pid, &g);
	getregs(pid, &before);
	ck_assert_msg(lg_inject_init(&g, &inj, &e) == 0, "%s", e.msg);
	ck_assert_msg(lg_inject_syscall(&inj, SYS_getpid, args, &ret, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(ret, pid);
	/* A failing call reports -errno. */
	args[0] = 12345;
	ck_assert_msg(lg_inject_syscall(&inj, SYS_close, args, &ret, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(ret, -EBADF);
	/* Two calls under one frame. */
	ck_assert_msg(lg_inject_begin(&inj, &e) == 0, "%s", e.msg);
	ck_assert_msg(lg_inject_call(&inj, SYS_getppid, args, &ret, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(ret, getpid());
	ck_assert_msg(lg_inject_call(&inj, SYS_gettid, args, &ret, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(ret, g.t[inj.ti].tid);
	ck_assert_msg(lg_inject_end(&inj, &e) == 0, "%s", e.msg);
	getregs(pid, &after);
	expect = before;
	lg_arch_fix_restart(&expect);
	ck_assert_msg(!memcmp(&after, &expect, sizeof(after)),
		      "registers differ: rip %llx/%llx rax %llx/%llx orig %llx/%llx",
		      after.rip, expect.rip, after.rax, expect.rax, after.orig_rax, expect.orig_rax);
	if (b == B_LOOP)
		ck_assert(!memcmp(&after, &before, sizeof(after)));
	release(&g);

	switch (b) {
	case B_LOOP:
		*word = 1;
		break;
	case B_READ:
		ck_assert_int_eq(write(a[1], "x", 1), 1);
		break;
	case B_FUTEX:
		usleep(50000);
		*word = 1;
		syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
		break;
	default:
		break;
	}
	ck_assert_int_eq(read(o[0], &rep, sizeof(rep)), sizeof(rep));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	switch (b) {
	case B_READ:
		ck_assert_int_eq(rep.ret, 1);
		ck_assert_int_eq(rep.data, 'x');
		break;
	case B_NANOSLEEP:
		/* Restarted with the remaining time: no EINTR, not short, and
		 * not a fresh full sleep, which would end at least
		 * INJECT_AFTER_MS later than asked. */
		ck_assert_msg(rep.ret == 0, "nanosleep: %s", strerror(rep.err));
		ck_assert_int_ge(rep.elapsed_ms, SLEEP_MS);
		ck_assert_int_lt(rep.elapsed_ms, SLEEP_MS + INJECT_AFTER_MS - 50);
		break;
	case B_FUTEX:
		ck_assert_msg(rep.ret == 0, "futex returned %ld errno %d", rep.ret, rep.err);
		break;
	default:
		break;
	}
	munmap((void *)word, 4096);
	close(a[0]);
	close(a[1]);
	close(o[0]);
	close(o[1]);
}

START_TEST(test_inject_loop) { inject_into(B_LOOP); }
END_TEST
START_TEST(test_inject_read) { inject_into(B_READ); }
END_TEST
START_TEST(test_inject_nanosleep) { inject_into(B_NANOSLEEP); }
END_TEST
START_TEST(test_inject_futex) { inject_into(B_FUTEX); }
END_TEST

/* A group-stopped process is not injected into at all: the thread would go
 * to user mode once and stop again at the syscall instruction. */
START_TEST(test_inject_groupstop)
{
	struct lg_tgroup g;
	struct lg_injector inj;
	struct lg_error e = { 0 };
	struct user_regs_struct before, after;
	struct lg_threadinfo ti;
	int a[2], st;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(a), 0);
	pid = fork();
	if (pid == 0) {
		_exit(read(a[0], &c, 1) == 1 && c == 'y' ? 0 : 1);
	}
	usleep(100000);
	kill(pid, SIGSTOP);
	usleep(50000);
	stop(pid, &g);
	ck_assert(g.t[0].group_stop);
	getregs(pid, &before);
	ck_assert_int_eq(lg_inject_init(&g, &inj, &e), -EPERM);
	ck_assert_msg(strstr(e.msg, "group-stopped") != NULL, "%s", e.msg);
	getregs(pid, &after);
	ck_assert(!memcmp(&before, &after, sizeof(after)));
	release(&g);
	usleep(100000);
	ck_assert_int_eq(lg_threadinfo_read(pid, pid, false, &ti, NULL), 0);
	ck_assert_int_eq(ti.state, 'T');
	ck_assert_int_eq(write(a[1], "y", 1), 1);
	kill(pid, SIGCONT);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(a[0]);
	close(a[1]);
}
END_TEST

/* --- the injector dies: the thread must be as it was ------------------------ */

/* r12-r15, rbx, rbp and xmm8/xmm9 hold known values around a raw read(2)
 * (or, with FD < 0, a loop without syscalls until *FLAG is set); the
 * return value is a bit mask of those that changed, *RESULT the read's. */
uint64_t lg_test_regs_read(long fd, void *buf, int64_t *result, volatile int *flag);
__asm__(".text\n"
	".globl lg_test_regs_read\n"
	".type lg_test_regs_read,@function\n"
	"lg_test_regs_read:\n"
	"	push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"	push %rdx\n push %rcx\n"
	"	movabs $0x1111111111111111, %r12\n movabs $0x2222222222222222, %r13\n"
	"	movabs $0x3333333333333333, %r14\n movabs $0x4444444444444444, %r15\n"
	"	movabs $0x5555555555555555, %rbx\n movabs $0x6666666666666666, %rbp\n"
	"	movq %r12, %xmm8\n pinsrq $1, %r13, %xmm8\n"
	"	movq %r14, %xmm9\n pinsrq $1, %r15, %xmm9\n"
	"	test %rdi, %rdi\n js 3f\n"
	"	mov $1, %edx\n xor %eax, %eax\n syscall\n"	/* read(fd, buf, 1) */
	"	jmp 4f\n"
	"3:	mov (%rsp), %rcx\n"
	"5:	cmpl $0, (%rcx)\n je 5b\n xor %eax, %eax\n"
	"4:	mov 8(%rsp), %rdx\n mov %rax, (%rdx)\n xor %eax, %eax\n"
	"	movabs $0x1111111111111111, %rcx\n cmp %rcx, %r12\n je 1f\n or $1, %rax\n"
	"1:	movabs $0x2222222222222222, %rcx\n cmp %rcx, %r13\n je 1f\n or $2, %rax\n"
	"1:	movabs $0x3333333333333333, %rcx\n cmp %rcx, %r14\n je 1f\n or $4, %rax\n"
	"1:	movabs $0x4444444444444444, %rcx\n cmp %rcx, %r15\n je 1f\n or $8, %rax\n"
	"1:	movabs $0x5555555555555555, %rcx\n cmp %rcx, %rbx\n je 1f\n or $16, %rax\n"
	"1:	movabs $0x6666666666666666, %rcx\n cmp %rcx, %rbp\n je 1f\n or $32, %rax\n"
	"1:	movq %xmm8, %rcx\n cmp %rcx, %r12\n je 1f\n or $64, %rax\n"
	"1:	pextrq $1, %xmm8, %rcx\n cmp %rcx, %r13\n je 1f\n or $128, %rax\n"
	"1:	movq %xmm9, %rcx\n cmp %rcx, %r14\n je 1f\n or $256, %rax\n"
	"1:	pextrq $1, %xmm9, %rcx\n cmp %rcx, %r15\n je 1f\n or $512, %rax\n"
	"1:	add $16, %rsp\n"
	"	pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n"
	".size lg_test_regs_read, .-lg_test_regs_read\n");

struct death_report {
	uint64_t bad_regs;
	int64_t result;
	char data;
	int mask_ok, altstack_ok;
};

/* The target: a known signal mask and sigaltstack, then the register
 * check around a read (SPIN: around a loop) ; it reports what it saw. */
static void death_target(int in, int out, bool spin, volatile int *flag)
{
	static char altstack[65536];
	struct death_report rep;
	stack_t ss = { altstack, 0, sizeof(altstack) }, now;
	sigset_t m, cur;

	memset(&rep, 0, sizeof(rep));
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGWINCH);
	sigprocmask(SIG_SETMASK, &m, NULL);
	sigaltstack(&ss, NULL);
	rep.bad_regs = lg_test_regs_read(spin ? -1 : in, &rep.data, &rep.result, flag);
	sigprocmask(SIG_SETMASK, NULL, &cur);
	rep.mask_ok = sigismember(&cur, SIGUSR1) == 1 && sigismember(&cur, SIGWINCH) == 1 &&
		      sigismember(&cur, SIGTERM) == 0;
	sigaltstack(NULL, &now);
	rep.altstack_ok = now.ss_sp == altstack && now.ss_size == sizeof(altstack) &&
			  now.ss_flags == 0;
	if (write(out, &rep, sizeof(rep)) != sizeof(rep))
		_exit(1);
	_exit(0);
}

enum death_point {
	D_R1,		/* frame written, registers set to enter rt_sigreturn, not resumed */
	D_ENTRY,	/* at rt_sigreturn's entry stop */
	D_RETARGET,	/* entry stop turned into another syscall, not resumed */
	D_EXIT,		/* at the exit stop of an injected call */
	D_EXIT2,	/* at the exit stop of a second call under the same frame */
	D_ENDED,	/* registers and stack restored, not released */
	D_NPOINTS
};

/* In the helper, which dies by SIGKILL at POINT (or exits 1 on failure,
 * saying why on stderr). */
static void helper_failed(const struct lg_error *e)
{
	fprintf(stderr, "injector: %s\n", e->msg);
	_exit(1);
}

static void injector_dies_at(pid_t pid, enum death_point point)
{
	struct lg_tgroup g;
	struct lg_injector inj;
	struct lg_error e = { 0 };
	uint64_t args[6] = { 0 };
	int64_t ret;

	if (lg_ptrace_stop_all(pid, PTRACE_O_TRACESYSGOOD, &g, &e) || lg_inject_init(&g, &inj, &e))
		helper_failed(&e);
	if (point == D_R1) {
		/* What lg_inject_begin does up to its first resume. */
		struct user_regs_struct r = { 0 }, fixed;
		static uint8_t fpu[65536], frame[80000];
		struct iovec iov = { &r, sizeof(r) };
		struct lg_arch_sigframe_in in = { 0 };
		struct lg_arch_sigframe f;
		uint64_t mask;
		if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov) ||
		    ptrace(PTRACE_GETSIGMASK, pid, (void *)8, &mask))
			_exit(1);
		fixed = r;
		lg_arch_fix_restart(&fixed);
		iov.iov_base = fpu;
		iov.iov_len = sizeof(fpu);
		if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov))
			_exit(1);
		in.gregs = &fixed;
		in.sigmask = mask;
		in.fpu = fpu;
		in.fpu_len = iov.iov_len;
		in.fpu_is_xstate = true;
		if (lg_arch_sigframe_build(&in, frame, sizeof(frame), &f))
			_exit(1);
		{
			struct iovec l = { frame, f.len }, rr = { (void *)(uintptr_t)f.lo, f.len };
			if (process_vm_writev(pid, &l, 1, &rr, 1, 0) != (ssize_t)f.len)
				_exit(1);
		}
		lg_arch_set_sigreturn(&r, inj.gadget + inj.gadget_len - 2, f.sp);
		iov.iov_base = &r;
		iov.iov_len = sizeof(r);
		if (ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov))
			_exit(1);
		raise(SIGKILL);
	}
	if (lg_inject_begin(&inj, &e))
		helper_failed(&e);
	if (point == D_ENTRY)
		raise(SIGKILL);
	if (point == D_RETARGET) {
		struct user_regs_struct r;
		struct iovec iov = { &r, sizeof(r) };
		if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov))
			_exit(1);
		lg_arch_retarget_syscall(&r, SYS_getpid, args, inj.gadget);
		if (ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov))
			_exit(1);
		raise(SIGKILL);
	}
	if (lg_inject_call(&inj, SYS_getpid, args, &ret, &e) || ret != pid)
		helper_failed(&e);
	if (point == D_EXIT)
		raise(SIGKILL);
	if (lg_inject_call(&inj, SYS_getpid, args, &ret, &e) || ret != pid)
		helper_failed(&e);
	if (point == D_EXIT2)
		raise(SIGKILL);
	if (lg_inject_end(&inj, &e))
		helper_failed(&e);
	raise(SIGKILL);
	_exit(1);
}

static void death_at(enum death_point point, bool spin)
{
	int a[2], o[2], st;
	volatile int *flag = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct death_report rep;
	pid_t pid, helper;

	ck_assert_ptr_ne((void *)flag, MAP_FAILED);
	*flag = 0;
	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(o), 0);
	pid = fork();
	if (pid == 0)
		death_target(a[0], o[1], spin, flag);
	usleep(100000);
	helper = fork();
	if (helper == 0)
		injector_dies_at(pid, point);
	ck_assert_int_eq(waitpid(helper, &st, 0), helper);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		      "the injector failed before point %d (status %#x)", point, st);
	usleep(50000);
	/* Still alive, and in the same wait. */
	ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0);
	if (spin)
		*flag = 1;
	else
		ck_assert_int_eq(write(a[1], "z", 1), 1);
	ck_assert_int_eq(read(o[0], &rep, sizeof(rep)), sizeof(rep));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "target status %#x", st);
	ck_assert_msg(rep.bad_regs == 0, "point %d: registers changed: %#llx", point,
		      (unsigned long long)rep.bad_regs);
	if (!spin) {
		ck_assert_msg(rep.result == 1 && rep.data == 'z', "point %d: read returned %lld",
			      point, (long long)rep.result);
	}
	ck_assert_msg(rep.mask_ok, "point %d: signal mask changed", point);
	ck_assert_msg(rep.altstack_ok, "point %d: sigaltstack changed", point);
	close(a[0]);
	close(a[1]);
	close(o[0]);
	close(o[1]);
	munmap((void *)flag, 4096);
}

START_TEST(test_death_in_read)
{
	death_at((enum death_point)_i, false);
}
END_TEST

START_TEST(test_death_in_loop)
{
	death_at((enum death_point)_i, true);
}
END_TEST

/* --- seccomp ------------------------------------------------------------------ */

static uint32_t run_prog(const struct sock_filter *f, size_t n, int nr, uint64_t a0)
{
	struct seccomp_data d;
	uint32_t ret = 0xdead;
	memset(&d, 0, sizeof(d));
	d.nr = nr;
	d.arch = 0xc000003e;
	d.args[0] = a0;
	ck_assert_int_eq(lg_seccomp_run(f, n, &d, &ret), 0);
	return ret;
}

START_TEST(test_seccomp_bpf)
{
	struct sock_filter kill_uffd[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_userfaultfd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_STMT(BPF_ST, 3),
		BPF_STMT(BPF_LDX | BPF_MEM, 3),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 100, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		/* X = sizeof(seccomp_data) - 64 = 0; 7 != X: trap. */
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
		BPF_STMT(BPF_ALU | BPF_SUB | BPF_K, 64),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_IMM, 7),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_filter bad[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2) };
	struct seccomp_data d;
	uint32_t ret;

	ck_assert_uint_eq(run_prog(kill_uffd, LG_ARRAY_SIZE(kill_uffd), SYS_userfaultfd, 0),
			  SECCOMP_RET_KILL_PROCESS);
	ck_assert_uint_eq(run_prog(kill_uffd, LG_ARRAY_SIZE(kill_uffd), SYS_close, 5),
			  SECCOMP_RET_TRAP);
	ck_assert_uint_eq(run_prog(kill_uffd, LG_ARRAY_SIZE(kill_uffd), SYS_close, 200),
			  SECCOMP_RET_ERRNO | EPERM);
	ck_assert_uint_eq(run_prog(kill_uffd, LG_ARRAY_SIZE(kill_uffd), SYS_getpid, 0),
			  SECCOMP_RET_TRAP);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(lg_seccomp_run(bad, 1, &d, &ret), -EINVAL);
}
END_TEST

/* A thread whose filter kills the process on userfaultfd(2) is never the
 * one that runs it; a process with only such threads is not injected. */
static void *filtered_thread(void *arg)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_userfaultfd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { LG_ARRAY_SIZE(f), f };
	int *p = arg;
	char c;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		_exit(3);
	if (write(p[1], "r", 1) != 1)
		_exit(4);
	while (read(p[2], &c, 1) < 0)
		;
	_exit(0);
}

static void seccomp_case(bool main_filtered)
{
	struct lg_inject_call call = { SYS_userfaultfd, { O_CLOEXEC | O_NONBLOCK } };
	struct lg_tgroup g;
	struct lg_injector inj;
	struct lg_error e = { 0 };
	int p[4], st;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(p + 2), 0);
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		if (main_filtered)
			filtered_thread(p);
		pthread_create(&t, NULL, filtered_thread, p);
		while (read(p[2], &c, 1) < 0)
			;
		_exit(0);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	usleep(50000);
	stop(pid, &g);
	if (main_filtered) {
		ck_assert_int_eq(lg_inject_init_calls(&g, &call, 1, &inj, &e), -EPERM);
		ck_assert_msg(strstr(e.msg, "seccomp") != NULL, "%s", e.msg);
	} else {
		int64_t fd = -1;
		ck_assert_msg(lg_inject_init_calls(&g, &call, 1, &inj, &e) == 0, "%s", e.msg);
		ck_assert_int_eq(g.t[inj.ti].tid, pid);
		ck_assert_msg(lg_inject_syscall(&inj, SYS_userfaultfd, call.args, &fd, &e) == 0,
			      "%s", e.msg);
		ck_assert_int_ge(fd, 0);
		call.nr = SYS_close;
		call.args[0] = (uint64_t)fd;
		ck_assert_msg(lg_inject_syscall(&inj, SYS_close, call.args, &fd, &e) == 0, "%s",
			      e.msg);
		ck_assert_int_eq(fd, 0);
	}
	release(&g);
	ck_assert_int_eq(write(p[3], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	close(p[0]);
	close(p[1]);
	close(p[2]);
	close(p[3]);
}

START_TEST(test_seccomp_other_thread)
{
	seccomp_case(false);
}
END_TEST

START_TEST(test_seccomp_only_thread)
{
	seccomp_case(true);
}
END_TEST

/* As root, a filter that allows the calls does not keep a thread from
 * being used; without root it does. */
START_TEST(test_seccomp_allowing_filter)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ptrace, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { LG_ARRAY_SIZE(f), f };
	struct lg_inject_call call = { SYS_getpid, { 0 } };
	struct lg_tgroup g;
	struct lg_injector inj;
	struct lg_error e = { 0 };
	int p[2], q[2], st, r;
	int64_t ret = 0;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
			_exit(3);
		if (write(p[1], "r", 1) != 1)
			_exit(4);
		_exit(read(q[0], &c, 1) == 1 ? 0 : 5);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	usleep(50000);
	stop(pid, &g);
	r = lg_inject_init_calls(&g, &call, 1, &inj, &e);
	if (geteuid() == 0) {
		ck_assert_msg(r == 0, "%s", e.msg);
		ck_assert(inj.filtered);
		ck_assert_msg(lg_inject_syscall(&inj, SYS_getpid, call.args, &ret, &e) == 0, "%s",
			      e.msg);
		ck_assert_int_eq(ret, pid);
		/* The filter is asked at every call: this one it refuses. */
		ck_assert_int_eq(lg_inject_syscall(&inj, SYS_ptrace, call.args, &ret, &e), -EPERM);
	} else {
		ck_assert_int_eq(r, -EPERM);
	}
	release(&g);
	ck_assert_int_eq(write(q[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}
END_TEST

/* --- waits that end ------------------------------------------------------------ */

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* The target dies while stopped and injected into: every traced thread is
 * a zombie only we can reap, and the leader is reported last.  The
 * injection must end with "the process exited during the dump", and the
 * target's parent must be able to reap it. */
START_TEST(test_wait_target_killed)
{
	struct lg_tgroup g;
	struct lg_injector inj;
	struct lg_error e = { 0 };
	uint64_t args[6] = { 0 };
	int64_t ret;
	int st, r, i;
	pid_t pid;
	uint64_t t0;

	pid = fork();
	if (pid == 0) {
		pthread_t t;
		for (i = 0; i < 3; i++)
			pthread_create(&t, NULL, sleeper, NULL);
		for (;;)
			pause();
	}
	usleep(100000);
	stop(pid, &g);
	ck_assert_uint_eq(g.n, 4);
	ck_assert_msg(lg_inject_init(&g, &inj, &e) == 0, "%s", e.msg);
	ck_assert_msg(lg_inject_begin(&inj, &e) == 0, "%s", e.msg);
	kill(pid, SIGKILL);
	t0 = lg_now_ns();
	r = lg_inject_call(&inj, SYS_getpid, args, &ret, &e);
	ck_assert_int_eq(r, -ESRCH);
	ck_assert_str_eq(e.msg, "the process exited during the dump");
	ck_assert(g.exited);
	lg_inject_end(&inj, NULL);
	ck_assert(lg_now_ns() - t0 < 1500000000ull);
	lg_ptrace_release_all(&g, NULL);
	lg_tgroup_free(&g);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}
END_TEST

/* Targets that exit on their own (exit_group from a thread, or the leader
 * first with pthread_exit) at random moments of a stop: the stop ends
 * (stopped, or -ESRCH) and the target can be reaped. */
static void *exiter(void *arg)
{
	usleep((useconds_t)(uintptr_t)arg);
	/* exit_group(2) from this thread, as exit(3) ends in, but without
	 * the atexit handlers: under --enable-sanitizers LeakSanitizer's
	 * runs at exit, and its leak check stops the process's threads by
	 * PTRACE_ATTACHing them from a helper task, so the stop this test
	 * makes found them "already traced" (by that task). */
	_exit(0);
}

START_TEST(test_wait_target_exits)
{
	unsigned seed = 7;
	int k;

	for (k = 0; k < 40; k++) {
		struct lg_tgroup g;
		struct lg_error e = { 0 };
		int st, r;
		unsigned delay = 500 + rand_r(&seed) % 3000;
		bool leader_first = k & 1;
		pid_t pid = fork();
		if (pid == 0) {
			pthread_t t;
			int i;
			for (i = 0; i < 3; i++)
				pthread_create(&t, NULL, sleeper, NULL);
			pthread_create(&t, NULL, exiter, (void *)(uintptr_t)(delay + 300));
			if (leader_first)
				pthread_exit(NULL);
			for (;;)
				pause();
		}
		usleep(delay);
		r = lg_ptrace_stop_all(pid, PTRACE_O_TRACESYSGOOD, &g, &e);
		ck_assert_msg(r == 0 || r == -ESRCH, "stop_all: %d %s", r, e.msg);
		if (r == 0) {
			struct lg_injector inj;
			uint64_t args[6] = { 0 };
			int64_t ret;
			/* Let the exit happen while we hold it, then wait. */
			usleep(1000);
			if (!lg_inject_init(&g, &inj, &e)) {
				r = lg_inject_syscall(&inj, SYS_getpid, args, &ret, &e);
				ck_assert_msg(r == 0 || r == -ESRCH, "inject: %d %s", r, e.msg);
			}
			lg_ptrace_release_all(&g, NULL);
			lg_tgroup_free(&g);
		}
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	}
}
END_TEST

/* A thread that cannot reach the stop (the parent of a vfork child waits
 * killably, not interruptibly) fails the stop at its deadline. */
START_TEST(test_wait_deadline)
{
	struct lg_stop_opts o = { PTRACE_O_TRACESYSGOOD, 300 };
	struct lg_tgroup g;
	struct lg_error e = { 0 };
	uint64_t t0;
	int st, r;
	pid_t pid = fork();

	if (pid == 0) {
		if (vfork() == 0) {
			usleep(1500 * 1000);
			_exit(0);
		}
		_exit(0);
	}
	usleep(100000);
	t0 = lg_now_ns();
	r = lg_ptrace_stop_all_opts(pid, &o, &g, &e);
	ck_assert_int_eq(r, -ETIMEDOUT);
	ck_assert_msg(strstr(e.msg, "did not stop within 300 ms") != NULL, "%s", e.msg);
	ck_assert(lg_now_ns() - t0 < 1000000000ull);
	/* It stops once the vfork child is gone; then it can be let go. */
	ck_assert_int_eq(waitpid(pid, &st, __WALL), pid);
	ck_assert(WIFSTOPPED(st));
	ck_assert_int_eq(ptrace(PTRACE_DETACH, pid, 0, 0), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

Suite *unit_suite(void);

Suite *unit_suite(void)
{
	Suite *s = suite_create("inject");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_inject_loop);
	tcase_add_test(tc, test_inject_read);
	tcase_add_test(tc, test_inject_nanosleep);
	tcase_add_test(tc, test_inject_futex);
	tcase_add_test(tc, test_inject_groupstop);
	tcase_add_loop_test(tc, test_death_in_read, 0, D_NPOINTS);
	tcase_add_loop_test(tc, test_death_in_loop, 0, D_NPOINTS);
	tcase_add_test(tc, test_seccomp_bpf);
	tcase_add_test(tc, test_seccomp_other_thread);
	tcase_add_test(tc, test_seccomp_only_thread);
	tcase_add_test(tc, test_seccomp_allowing_filter);
	tcase_add_test(tc, test_wait_target_killed);
	tcase_add_test(tc, test_wait_target_exits);
	tcase_add_test(tc, test_wait_deadline);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
