/* x86-64: what syscall injection needs to know about registers and signal
 * frames.
 *
 * The injector (lib/ptrace/inject.c) never leaves a thread with registers
 * it could not survive on: before it changes any, it writes below the
 * thread's stack pointer the signal frame the kernel would write there for
 * a handler, holding the thread's own registers, signal mask and FPU
 * state, and every register set it installs resumes into rt_sigreturn(2)
 * on that frame.  Everything about that frame's layout is here. */
#include <cpuid.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/user.h>

#include "arch/arch.h"

/* syscall: 0f 05.  The x86-64 vDSO has it in its clock_gettime & co.
 * fallbacks; libc has many. */
const uint8_t lg_arch_syscall_insn[] = { 0x0f, 0x05 };
const size_t lg_arch_syscall_insn_len = sizeof(lg_arch_syscall_insn);

#define NR_rt_sigreturn 15
const long lg_arch_nr_sigreturn = NR_rt_sigreturn;

/* "mov $15, %rax; syscall" and "mov $15, %eax; syscall": glibc's and
 * musl's __restore_rt, Go's runtime.sigreturn__sigaction.  Any process that
 * handles a signal has one, since x86-64 signal delivery requires an
 * SA_RESTORER trampoline. */
static const uint8_t gadget_rax[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
static const uint8_t gadget_eax[] = { 0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
const struct lg_arch_code lg_arch_sigreturn_gadgets[] = {
	{ gadget_rax, sizeof(gadget_rax) },
	{ gadget_eax, sizeof(gadget_eax) },
};
const size_t lg_arch_nsigreturn_gadgets =
	sizeof(lg_arch_sigreturn_gadgets) / sizeof(lg_arch_sigreturn_gadgets[0]);

static struct user_regs_struct get(const void *gregs)
{
	struct user_regs_struct r;
	memcpy(&r, gregs, sizeof(r));
	return r;
}

/* The x86-64 syscall ABI: rdi rsi rdx r10 r8 r9. */
static void set_args(struct user_regs_struct *r, const uint64_t args[6])
{
	r->rdi = args[0];
	r->rsi = args[1];
	r->rdx = args[2];
	r->r10 = args[3];
	r->r8 = args[4];
	r->r9 = args[5];
}

void lg_arch_set_sigreturn(void *gregs, uint64_t pc, uint64_t sp)
{
	struct user_regs_struct r = get(gregs);
	r.rip = pc;
	r.rax = NR_rt_sigreturn;
	r.rsp = sp;
	/* No restart processing on the way out of the stop we set this in. */
	r.orig_rax = (uint64_t)-1;
	memcpy(gregs, &r, sizeof(r));
}

/* At a syscall-entry stop the kernel takes the syscall number from
 * orig_rax and the arguments from the registers after the stop, and
 * returns to rip (arch/x86/entry/common.c, kernel/entry/common.c). */
void lg_arch_retarget_syscall(void *gregs, long nr, const uint64_t args[6], uint64_t ret_pc)
{
	struct user_regs_struct r = get(gregs);
	r.orig_rax = (uint64_t)nr;
	set_args(&r, args);
	r.rip = ret_pc;
	r.rcx = ret_pc;	/* what the syscall instruction itself would leave */
	memcpy(gregs, &r, sizeof(r));
}

void lg_arch_set_syscall_skipped(void *gregs)
{
	struct user_regs_struct r = get(gregs);
	r.orig_rax = (uint64_t)-1;
	memcpy(gregs, &r, sizeof(r));
}

int64_t lg_arch_syscall_ret(const void *gregs)
{
	return (int64_t)get(gregs).rax;
}

int64_t lg_arch_syscall_nr(const void *gregs)
{
	return (int64_t)get(gregs).orig_rax;
}

/* The kernel's internal restart codes (include/linux/errno.h), never seen by
 * user space except in a tracer's view of rax. */
#define LG_ERESTARTSYS		512
#define LG_ERESTARTNOINTR	513
#define LG_ERESTARTNOHAND	514
#define LG_ERESTART_RESTARTBLOCK 516
#define LG_NR_restart_syscall	219

/* What arch/x86/kernel/signal.c does when a thread leaves a signal stop with
 * no handler to run: rewind to the syscall instruction and redo it, or for
 * nanosleep/clock_nanosleep/poll-style waits, call restart_syscall(2), which
 * continues with the remaining time.  Registers put back at a syscall-exit
 * stop after an injection miss that code (measured on 6.18), so it is done
 * here. */
bool lg_arch_fix_restart(void *gregs)
{
	struct user_regs_struct r = get(gregs);
	if ((int64_t)r.orig_rax < 0)
		return false;
	switch ((int64_t)r.rax) {
	case -LG_ERESTARTSYS:
	case -LG_ERESTARTNOINTR:
	case -LG_ERESTARTNOHAND:
		r.rax = r.orig_rax;
		r.rip -= sizeof(lg_arch_syscall_insn);	/* back onto the syscall */
		break;
	case -LG_ERESTART_RESTARTBLOCK:
		r.rax = LG_NR_restart_syscall;
		r.rip -= sizeof(lg_arch_syscall_insn);
		break;
	default:
		return false;
	}
	memcpy(gregs, &r, sizeof(r));
	return true;
}

/* rt_sigreturn(2) resets the restart block (restore_sigcontext sets
 * restart_block.fn = do_no_restart_syscall), so a thread in such a wait
 * that went through the frame would see EINTR instead of sleeping on. */
bool lg_arch_in_restart_block(const void *gregs)
{
	struct user_regs_struct r = get(gregs);
	return (int64_t)r.orig_rax >= 0 && (int64_t)r.rax == -LG_ERESTART_RESTARTBLOCK;
}

/* __USER_CS: a 64-bit thread.  A compat (32-bit) one has 0x23 and another
 * frame format. */
bool lg_arch_user_64bit(const void *gregs)
{
	return get(gregs).cs == 0x33;
}

/* --- the signal frame (arch/x86/include/asm/sigframe.h, uapi sigcontext.h) */

struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip;
	uint64_t eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct k_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

struct k_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct k_stack uc_stack;
	struct k_sigcontext uc_mcontext;
	uint64_t uc_sigmask;	/* the kernel's sigset_t: 64 signals */
};

struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	uint8_t info[128];	/* siginfo_t */
};

struct k_fpx_sw_bytes {
	uint32_t magic1, extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size, padding[7];
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "struct sigcontext");
_Static_assert(sizeof(struct k_ucontext) == 304, "struct ucontext");
_Static_assert(sizeof(struct k_rt_sigframe) == 440, "struct rt_sigframe");
_Static_assert(sizeof(struct k_fpx_sw_bytes) == 48, "struct _fpx_sw_bytes");

#define UC_FP_XSTATE		0x1
#define UC_SIGCONTEXT_SS	0x2
#define UC_STRICT_RESTORE_SS	0x4
#define FP_XSTATE_MAGIC1	0x46505853u
#define FP_XSTATE_MAGIC2	0x46505845u
#define FXSAVE_SIZE		512
#define XSAVE_HDR_SIZE		64
#define SW_RESERVED_OFFSET	464
#define XSTATE_BV_OFFSET	512
#define RED_ZONE		128
/* An ss_flags mode that is neither 0, SS_ONSTACK nor SS_DISABLE: see
 * lg_arch_sigframe_build. */
#define SS_INVALID_MODE		3

/* The end of the last component of XFEATURES in the standard (non-compacted)
 * XSAVE format, which PTRACE_GETREGSET NT_X86_XSTATE returns and signal
 * frames use: the size an XRSTOR of these features reads. */
static uint32_t xsave_size_for(uint64_t xfeatures)
{
	uint32_t size = FXSAVE_SIZE + XSAVE_HDR_SIZE;
	unsigned int i, a, b, c, d;

	for (i = 2; i < 64; i++) {
		if (!(xfeatures & (1ull << i)))
			continue;
		__cpuid_count(0xd, i, a, b, c, d);
		if (a && b + a > size)
			size = b + a;
	}
	return size;
}

size_t lg_arch_sigframe_max(size_t fpu_len)
{
	return RED_ZONE + fpu_len + 4 + 64 + sizeof(struct k_rt_sigframe) + 16 + 8;
}

/* Lay the frame out exactly as get_sigframe() (arch/x86/kernel/signal.c)
 * does for a handler without SA_ONSTACK: below the 128-byte red zone, the
 * FPU state 64-byte aligned with its 4-byte FP_XSTATE_MAGIC2 after it
 * (fpu__alloc_mathframe), then struct rt_sigframe, 16-byte aligned minus 8
 * as a function entry expects.  rt_sigreturn takes the frame at rsp - 8
 * and:
 *  - sets the blocked mask from uc_sigmask (set_current_blocked), so it
 *    holds what PTRACE_GETSIGMASK returned: that is the mask the thread
 *    returns to user mode with, saved_sigmask when a ppoll-style call has a
 *    temporary one (kernel/ptrace.c, since 5.0);
 *  - calls restore_altstack(), which ignores every error but EFAULT; a mode
 *    of ss_flags that is neither 0, SS_ONSTACK nor SS_DISABLE makes
 *    do_sigaltstack() return -EINVAL before it changes anything, so the
 *    thread's own sigaltstack, which no ptrace request reads, is kept;
 *  - restores every general register but orig_rax (set to -1: no restart
 *    processing) and the segment bases, which it does not touch; of rflags
 *    only the FIX_EFLAGS bits, the others being what the thread already
 *    has; cs and ss as given when UC_STRICT_RESTORE_SS is set;
 *  - restores the FPU state with XRSTOR from fpstate when the
 *    _fpx_sw_bytes in its FXSAVE header say so (check_xstate_in_sigframe:
 *    magic1, xstate_size within [576, the task's user_size] and not above
 *    extended_size, magic2 right after xstate_size bytes); features the
 *    frame does not carry are put in their init state.  PTRACE_GETREGSET
 *    returns the same standard format, but its sw_reserved holds XCR0
 *    (arch/x86/kernel/ptrace.c), so the header is rebuilt: the features
 *    are those the buffer's XSTATE_BV says are in use (plus FP and SSE, as
 *    save_xstate_epilog() sets them), which is at most the task's own
 *    size, and the rest is in init state already.
 * Any inconsistency would make rt_sigreturn kill the thread with SIGSEGV
 * (signal_fault), which is why the layout is checked by the unit tests
 * against a real sigreturn. */
int lg_arch_sigframe_build(const struct lg_arch_sigframe_in *in, uint8_t *buf, size_t cap,
			   struct lg_arch_sigframe *out)
{
	struct user_regs_struct r = get(in->gregs);
	struct k_rt_sigframe f;
	uint64_t sp = r.rsp - RED_ZONE, fp, frame, xbv = 0;
	uint32_t fsize;
	bool xsave = in->fpu_is_xstate && in->fpu_len >= FXSAVE_SIZE + XSAVE_HDR_SIZE;

	if (!in->fpu_len || in->fpu_len < FXSAVE_SIZE)
		return -EINVAL;
	if (xsave) {
		memcpy(&xbv, (const uint8_t *)in->fpu + XSTATE_BV_OFFSET, sizeof(xbv));
		xbv |= 3;	/* FP | SSE */
		fsize = xsave_size_for(xbv);
		if (fsize > in->fpu_len)
			return -EINVAL;
	} else {
		fsize = FXSAVE_SIZE;
	}
	fp = (sp - (fsize + (xsave ? 4 : 0))) & ~63ull;
	frame = ((fp - sizeof(f)) & ~15ull) - 8;
	out->lo = frame;
	out->len = (size_t)(fp + fsize + (xsave ? 4 : 0) - frame);
	out->sp = frame + 8;
	if (out->len > cap)
		return -ENOSPC;

	memset(buf, 0, out->len);
	memset(&f, 0, sizeof(f));
	f.pretcode = 0;	/* never returned through: the thread is not in a handler */
	f.uc.uc_flags = (xsave ? UC_FP_XSTATE : 0) | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f.uc.uc_stack.ss_flags = SS_INVALID_MODE;
	f.uc.uc_mcontext.r8 = r.r8;
	f.uc.uc_mcontext.r9 = r.r9;
	f.uc.uc_mcontext.r10 = r.r10;
	f.uc.uc_mcontext.r11 = r.r11;
	f.uc.uc_mcontext.r12 = r.r12;
	f.uc.uc_mcontext.r13 = r.r13;
	f.uc.uc_mcontext.r14 = r.r14;
	f.uc.uc_mcontext.r15 = r.r15;
	f.uc.uc_mcontext.rdi = r.rdi;
	f.uc.uc_mcontext.rsi = r.rsi;
	f.uc.uc_mcontext.rbp = r.rbp;
	f.uc.uc_mcontext.rbx = r.rbx;
	f.uc.uc_mcontext.rdx = r.rdx;
	f.uc.uc_mcontext.rax = r.rax;
	f.uc.uc_mcontext.rcx = r.rcx;
	f.uc.uc_mcontext.rsp = r.rsp;
	f.uc.uc_mcontext.rip = r.rip;
	f.uc.uc_mcontext.eflags = r.eflags;
	f.uc.uc_mcontext.cs = (uint16_t)r.cs;
	f.uc.uc_mcontext.ss = (uint16_t)r.ss;
	f.uc.uc_mcontext.oldmask = in->sigmask;
	f.uc.uc_mcontext.fpstate = fp;
	f.uc.uc_sigmask = in->sigmask;
	memcpy(buf, &f, sizeof(f));

	memcpy(buf + (fp - frame), in->fpu, fsize);
	if (xsave) {
		struct k_fpx_sw_bytes sw;
		uint32_t m2 = FP_XSTATE_MAGIC2;
		memset(&sw, 0, sizeof(sw));
		sw.magic1 = FP_XSTATE_MAGIC1;
		sw.extended_size = fsize + 4;
		sw.xfeatures = xbv;
		sw.xstate_size = fsize;
		memcpy(buf + (fp - frame) + SW_RESERVED_OFFSET, &sw, sizeof(sw));
		memcpy(buf + (fp - frame) + XSTATE_BV_OFFSET, &xbv, sizeof(xbv));
		memcpy(buf + (fp - frame) + fsize, &m2, sizeof(m2));
	} else {
		/* A legacy frame: no extended state marker. */
		memset(buf + (fp - frame) + SW_RESERVED_OFFSET, 0, sizeof(struct k_fpx_sw_bytes));
	}
	return 0;
}
