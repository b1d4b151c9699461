/* Would a thread's seccomp filters let a syscall through?  Read them with
 * PTRACE_SECCOMP_GET_FILTER and run them on the seccomp_data the thread
 * would present: the classic BPF subset seccomp accepts
 * (kernel/seccomp.c: seccomp_check_filter), evaluated as the kernel does. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#include "common/buf.h"
#include "proc/proc.h"
#include "ptrace/inject.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
# define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
# define SECCOMP_RET_KILL_PROCESS 0x80000000u
#endif
#ifndef SECCOMP_RET_ACTION_FULL
# define SECCOMP_RET_ACTION_FULL 0xffff0000u
#endif
#ifndef SECCOMP_RET_LOG
# define SECCOMP_RET_LOG 0x7ffc0000u
#endif
#define BPF_MEMWORDS_SECCOMP 16

int lg_seccomp_mode(pid_t pid, pid_t tid)
{
	struct lg_buf b = { 0 };
	char path[64], val[32];
	int mode = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (!lg_read_file(path, &b) && !lg_status_field((char *)b.p, "Seccomp", val, sizeof(val)))
		mode = atoi(val);
	else if (b.p)
		mode = 0;	/* a kernel without CONFIG_SECCOMP has no such field */
	lg_buf_free(&b);
	return mode;
}

static uint32_t load_word(const struct seccomp_data *d, uint32_t off, bool *ok)
{
	uint32_t w;
	if (off % 4 || off + 4 > sizeof(*d)) {
		*ok = false;
		return 0;
	}
	memcpy(&w, (const uint8_t *)d + off, 4);
	return w;
}

int lg_seccomp_run(const struct sock_filter *prog, size_t len, const struct seccomp_data *d,
		   uint32_t *ret)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS_SECCOMP] = { 0 };
	size_t pc = 0;
	bool ok = true;

	while (pc < len && ok) {
		const struct sock_filter *f = &prog[pc++];
		uint32_t k = f->k, src = BPF_SRC(f->code) == BPF_X ? X : k;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			switch (f->code) {
			case BPF_LD | BPF_W | BPF_ABS: A = load_word(d, k, &ok); break;
			case BPF_LD | BPF_W | BPF_LEN: A = sizeof(*d); break;
			case BPF_LD | BPF_IMM: A = k; break;
			case BPF_LD | BPF_MEM: ok = k < BPF_MEMWORDS_SECCOMP; if (ok) A = M[k]; break;
			default: ok = false;
			}
			break;
		case BPF_LDX:
			switch (f->code) {
			case BPF_LDX | BPF_W | BPF_LEN: X = sizeof(*d); break;
			case BPF_LDX | BPF_IMM: X = k; break;
			case BPF_LDX | BPF_MEM: ok = k < BPF_MEMWORDS_SECCOMP; if (ok) X = M[k]; break;
			default: ok = false;
			}
			break;
		case BPF_ST:
			ok = k < BPF_MEMWORDS_SECCOMP;
			if (ok)
				M[k] = A;
			break;
		case BPF_STX:
			ok = k < BPF_MEMWORDS_SECCOMP;
			if (ok)
				M[k] = X;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: A += src; break;
			case BPF_SUB: A -= src; break;
			case BPF_MUL: A *= src; break;
			case BPF_DIV:
				if (!src) {	/* classic BPF: the program returns 0 */
					*ret = 0;
					return 0;
				}
				A /= src;
				break;
			case BPF_MOD:
				if (!src) {
					*ret = 0;
					return 0;
				}
				A %= src;
				break;
			case BPF_OR: A |= src; break;
			case BPF_AND: A &= src; break;
			case BPF_XOR: A ^= src; break;
			case BPF_LSH: A = src < 32 ? A << src : 0; break;
			case BPF_RSH: A = src < 32 ? A >> src : 0; break;
			case BPF_NEG: A = -A; break;
			default: ok = false;
			}
			break;
		case BPF_JMP: {
			bool c;
			if (BPF_OP(f->code) == BPF_JA) {
				pc += k;
				break;
			}
			switch (BPF_OP(f->code)) {
			case BPF_JEQ: c = A == src; break;
			case BPF_JGT: c = A > src; break;
			case BPF_JGE: c = A >= src; break;
			case BPF_JSET: c = (A & src) != 0; break;
			default: ok = false; c = false;
			}
			pc += c ? f->jt : f->jf;
			break;
		}
		case BPF_RET:
			*ret = BPF_RVAL(f->code) == BPF_A ? A : k;
			return 0;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				X = A;
			else if (BPF_MISCOP(f->code) == BPF_TXA)
				A = X;
			else
				ok = false;
			break;
		default:
			ok = false;
		}
	}
	return -EINVAL;	/* ran off the end or an instruction seccomp never loads */
}

/* The kernel keeps the action of highest precedence over all filters:
 * the lowest as a signed number (seccomp_run_filters, ACTION_ONLY). */
static int32_t action(uint32_t ret)
{
	return (int32_t)(ret & SECCOMP_RET_ACTION_FULL);
}

int lg_seccomp_allows(pid_t tid, long nr, const uint64_t args[6], uint64_t ip, const char **why,
		      struct lg_error *err)
{
	struct seccomp_data d;
	struct sock_filter *prog = NULL;
	uint32_t worst = SECCOMP_RET_ALLOW;
	unsigned long i;
	int r = 0, k;

	memset(&d, 0, sizeof(d));
	d.nr = (int)nr;
	d.arch = AUDIT_ARCH_X86_64;
	d.instruction_pointer = ip;
	for (k = 0; k < 6; k++)
		d.args[k] = args ? args[k] : 0;
	*why = NULL;
	for (i = 0;; i++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)i, NULL);
		uint32_t ret;
		if (n < 0) {
			if (errno == ENOENT || (errno == EINVAL && i == 0))
				break;	/* past the last filter, or none */
			if (errno == EACCES || errno == EPERM) {
				*why = "its seccomp filters cannot be read without CAP_SYS_ADMIN";
				r = 1;
			} else if (errno == EMEDIUMTYPE) {
				*why = "it has a seccomp filter that is not classic BPF";
				r = 1;
			} else {
				r = lg_fail(err, errno, "cannot read the seccomp filters of thread %d",
					    (int)tid);
			}
			goto out;
		}
		free(prog);
		if (!(prog = calloc((size_t)n ? (size_t)n : 1, sizeof(*prog)))) {
			r = lg_fail(err, ENOMEM, "seccomp filter");
			goto out;
		}
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)i, prog) != n) {
			r = lg_fail(err, errno, "cannot read the seccomp filters of thread %d",
				    (int)tid);
			goto out;
		}
		if (lg_seccomp_run(prog, (size_t)n, &d, &ret)) {
			*why = "its seccomp filter could not be evaluated";
			r = 1;
			goto out;
		}
		if (action(ret) < action(worst))
			worst = ret;
	}
	/* LOG lets the call run (and logs it). */
	if ((worst & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW &&
	    (worst & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_LOG) {
		*why = "its seccomp filter does not allow the syscall";
		r = 1;
	}
out:
	free(prog);
	return r;
}
