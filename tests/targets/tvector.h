/* Known values in every vector, mask and protection-key register a thread
 * has, held across a blocking wait, for the tests that compare what readers
 * show of a core's extended register state (NT_X86_XSTATE) with the truth.
 *
 * tv_probe() finds what the CPU and kernel enabled (XCR0 and CPUID); a thread
 * then calls tv_park(), which loads the values, waits on a futex with nothing
 * but a raw syscall instruction between the loads and the wait (no libc code
 * that could use a vector register), and on wake-up stores the registers
 * again so that the target can check that the dump left them alone. */
#ifndef LG_TVECTOR_H
#define LG_TVECTOR_H

#include <stdint.h>

enum tv_kind { TV_SSE, TV_AVX, TV_AVX512 };

struct tv_state {
	uint64_t v[32][8];	/* xmm/ymm/zmm N as 64-bit lanes, lane 0 lowest */
	uint64_t k[8];
	uint32_t pkru;
	uint32_t mxcsr;
};

struct tv_cpu {
	enum tv_kind kind;
	int nregs;		/* 16, or 32 with AVX-512 */
	int lanes;		/* 2, 4 or 8 64-bit lanes per register */
	int kbits;		/* 64 with AVX512BW, 16 with AVX512F alone, 0 */
	int pku;		/* PKRU enabled by the kernel (CPUID OSPKE) */
	uint64_t xcr0;
};

void tv_probe(struct tv_cpu *c);
/* The values loaded by tv_park(): never zero, different in every lane. */
void tv_expected(const struct tv_cpu *c, struct tv_state *s);
/* Load the expected values, wait until *WORD is non-zero (futex), store the
 * registers into *AFTER. */
void tv_park(const struct tv_cpu *c, volatile int *word, struct tv_state *after);
/* Print the facts a reader must show: vec.kind, vec.nregs, vec.lanes,
 * vec.kbits, vec.pku and vec.reg.NAME=VALUE in the form of gdb's
 * print/x $zmmN.v8_int64 (ymm: v4_int64, xmm: v2_int64), $kN, $pkru. */
void tv_print(const struct tv_cpu *c);
/* Compare AFTER with the expected values; records failures with tc_fail. */
void tv_check(const struct tv_cpu *c, const struct tv_state *after);

#endif
