/* Known vector, mask, x87, MXCSR and PKRU values held across a wait; see
 * tvector.h. */
#include "tvector.h"
#include "tcommon.h"

#include <cpuid.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Byte offsets into struct tv_state, for the assembler. */
#define TV_K offsetof(struct tv_state, k)
#define TV_MXCSR offsetof(struct tv_state, mxcsr)
_Static_assert(offsetof(struct tv_state, v) == 0, "vectors first");

/* The x87 stack, loaded with fld from st_block[0..7] and stored back into
 * st_block[8..15] (one base register for the assembler). */
static const double st_values[8] = { 1.25, 2.5, 3.75, 5.0, 6.25, 7.5, 8.75, 10.0 };
static double st_block[16];

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

void tv_probe(struct tv_cpu *c)
{
	unsigned int a, b, cx, d;

	memset(c, 0, sizeof(*c));
	c->kind = TV_SSE;
	c->nregs = 16;
	c->lanes = 2;
	if (!__get_cpuid(1, &a, &b, &cx, &d) || !(cx & bit_OSXSAVE))
		return;
	c->xcr0 = xgetbv0();
	if ((cx & bit_AVX) && (c->xcr0 & 0x6) == 0x6) {
		c->kind = TV_AVX;
		c->lanes = 4;
	}
	if (__get_cpuid_max(0, NULL) < 7)
		return;
	__cpuid_count(7, 0, a, b, cx, d);
	/* AVX-512 needs XCR0's opmask, ZMM_Hi256 and Hi16_ZMM bits (5-7). */
	if (c->kind == TV_AVX && (b & bit_AVX512F) && (c->xcr0 & 0xe0) == 0xe0) {
		c->kind = TV_AVX512;
		c->nregs = 32;
		c->lanes = 8;
		c->kbits = (b & bit_AVX512BW) ? 64 : 16;
	}
	/* OSPKE: the kernel turned protection keys on (CR4.PKE). */
	c->pku = (cx & bit_OSPKE) && (c->xcr0 & (1ull << 9));
}

void tv_expected(const struct tv_cpu *c, struct tv_state *s)
{
	int i, j;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < c->nregs; i++)
		for (j = 0; j < c->lanes; j++)
			s->v[i][j] = 0xa500000000000000ull | (uint64_t)(i + 1) << 40 |
				     (uint64_t)(j + 1) << 32 | (uint64_t)(0x1000 * (i + 1) + j + 1);
	for (i = 0; c->kbits && i < 8; i++)
		s->k[i] = c->kbits == 64 ? 0x6b00c0de00000000ull | (uint64_t)(i + 1) * 0x1111
					 : 0x6b00u | (uint64_t)(i + 1);
	/* Keys 1-15 denied except key 1 fully (bits 2-3); key 0 (every
	 * ordinary page) stays accessible, or the thread could not run. */
	s->pkru = c->pku ? 0x5555555cu : 0;
	/* Flush-to-zero and denormals-are-zero on, exceptions masked. */
	s->mxcsr = 0x9fc0;
}

/* The futex wait between the loads and the stores: only registers that the
 * syscall ABI clobbers (rax, rcx, r11) and its arguments are touched. */
#define TV_X87_LOAD \
	"fninit\n" \
	".irp i,0,1,2,3,4,5,6,7\n fldl \\i*8(%%r15)\n .endr\n" \
	"ldmxcsr %c[mx](%%r12)\n"
#define TV_WAIT \
	"1:\n" \
	"mov $202, %%eax\n"		/* futex */ \
	"mov %%r14, %%rdi\n" \
	"mov $128, %%esi\n"		/* FUTEX_WAIT_PRIVATE */ \
	"xor %%edx, %%edx\n"		/* while *word == 0 */ \
	"xor %%r10d, %%r10d\n"		/* no timeout */ \
	"syscall\n" \
	"cmpl $0, (%%r14)\n" \
	"je 1b\n"
#define TV_X87_STORE \
	"stmxcsr %c[mx](%%r13)\n" \
	".irp i,0,1,2,3,4,5,6,7\n fstpl (7-\\i)*8+64(%%r15)\n .endr\n"
#define TV_CLOBBERS \
	"rax", "rcx", "rdx", "rsi", "rdi", "r10", "r11", "memory", "cc", \
	"st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", \
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
#define TV_CLOBBERS_512 TV_CLOBBERS, \
	"xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", \
	"xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", \
	"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"
#define TV_ALL16 ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
#define TV_ALL32 ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15," \
		 "16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"

static void park_sse(const struct tv_state *in, volatile int *word, struct tv_state *out)
{
	register const struct tv_state *r12 __asm__("r12") = in;
	register struct tv_state *r13 __asm__("r13") = out;
	register volatile int *r14 __asm__("r14") = word;
	register double *r15 __asm__("r15") = st_block;

	__asm__ volatile(TV_X87_LOAD
			 TV_ALL16 " movdqu \\i*64(%%r12), %%xmm\\i\n .endr\n"
			 TV_WAIT
			 TV_ALL16 " movdqu %%xmm\\i, \\i*64(%%r13)\n .endr\n"
			 TV_X87_STORE
			 : : "r"(r12), "r"(r13), "r"(r14), "r"(r15), [mx] "i"(TV_MXCSR)
			 : TV_CLOBBERS);
}

__attribute__((target("avx")))
static void park_avx(const struct tv_state *in, volatile int *word, struct tv_state *out)
{
	register const struct tv_state *r12 __asm__("r12") = in;
	register struct tv_state *r13 __asm__("r13") = out;
	register volatile int *r14 __asm__("r14") = word;
	register double *r15 __asm__("r15") = st_block;

	__asm__ volatile(TV_X87_LOAD
			 TV_ALL16 " vmovdqu \\i*64(%%r12), %%ymm\\i\n .endr\n"
			 TV_WAIT
			 TV_ALL16 " vmovdqu %%ymm\\i, \\i*64(%%r13)\n .endr\n"
			 TV_X87_STORE
			 "vzeroupper\n"
			 : : "r"(r12), "r"(r13), "r"(r14), "r"(r15), [mx] "i"(TV_MXCSR)
			 : TV_CLOBBERS);
}

__attribute__((target("avx512f,avx512bw")))
static void park_avx512(const struct tv_state *in, volatile int *word, struct tv_state *out,
			int kbits)
{
	register const struct tv_state *r12 __asm__("r12") = in;
	register struct tv_state *r13 __asm__("r13") = out;
	register volatile int *r14 __asm__("r14") = word;
	register double *r15 __asm__("r15") = st_block;

	if (kbits == 64)
		__asm__ volatile(TV_X87_LOAD
				 TV_ALL32 " vmovdqu64 \\i*64(%%r12), %%zmm\\i\n .endr\n"
				 ".irp i,0,1,2,3,4,5,6,7\n kmovq \\i*8+%c[k](%%r12), %%k\\i\n .endr\n"
				 TV_WAIT
				 TV_ALL32 " vmovdqu64 %%zmm\\i, \\i*64(%%r13)\n .endr\n"
				 ".irp i,0,1,2,3,4,5,6,7\n kmovq %%k\\i, \\i*8+%c[k](%%r13)\n .endr\n"
				 TV_X87_STORE
				 "vzeroupper\n"
				 : : "r"(r12), "r"(r13), "r"(r14), "r"(r15), [mx] "i"(TV_MXCSR),
				   [k] "i"(TV_K)
				 : TV_CLOBBERS_512);
	else
		__asm__ volatile(TV_X87_LOAD
				 TV_ALL32 " vmovdqu64 \\i*64(%%r12), %%zmm\\i\n .endr\n"
				 ".irp i,0,1,2,3,4,5,6,7\n kmovw \\i*8+%c[k](%%r12), %%k\\i\n .endr\n"
				 TV_WAIT
				 TV_ALL32 " vmovdqu64 %%zmm\\i, \\i*64(%%r13)\n .endr\n"
				 ".irp i,0,1,2,3,4,5,6,7\n kmovw %%k\\i, \\i*8+%c[k](%%r13)\n .endr\n"
				 TV_X87_STORE
				 "vzeroupper\n"
				 : : "r"(r12), "r"(r13), "r"(r14), "r"(r15), [mx] "i"(TV_MXCSR),
				   [k] "i"(TV_K)
				 : TV_CLOBBERS_512);
}

static void wrpkru(uint32_t v)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xef" : : "a"(v), "c"(0), "d"(0) : "memory");
}

static uint32_t rdpkru(void)
{
	uint32_t a, d;

	__asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(a), "=d"(d) : "c"(0));
	return a;
}

void tv_park(const struct tv_cpu *c, volatile int *word, struct tv_state *after)
{
	static struct tv_state in;

	tv_expected(c, &in);
	memset(after, 0, sizeof(*after));
	memcpy(st_block, st_values, sizeof(st_values));
	if (c->pku)
		wrpkru(in.pkru);
	switch (c->kind) {
	case TV_AVX512:
		park_avx512(&in, word, after, c->kbits);
		break;
	case TV_AVX:
		park_avx(&in, word, after);
		break;
	default:
		park_sse(&in, word, after);
		break;
	}
	if (c->pku)
		after->pkru = rdpkru();
}

static const char *kind_name(enum tv_kind k)
{
	return k == TV_AVX512 ? "avx512" : k == TV_AVX ? "avx" : "sse";
}

void tv_print(const struct tv_cpu *c)
{
	static const char *const vname[] = { "xmm", "xmm", "ymm", "ymm", "zmm" };
	struct tv_state s;
	char key[64], val[256];
	int i, j, n;

	tv_expected(c, &s);
	tc_kv("vec.kind", "%s", kind_name(c->kind));
	tc_kv("vec.nregs", "%d", c->nregs);
	tc_kv("vec.lanes", "%d", c->lanes);
	tc_kv("vec.kbits", "%d", c->kbits);
	tc_kv("vec.pku", "%d", c->pku);
	tc_kv("vec.xcr0", "0x%llx", (unsigned long long)c->xcr0);
	for (i = 0; i < c->nregs; i++) {
		n = 0;
		for (j = 0; j < c->lanes; j++)
			n += snprintf(val + n, sizeof(val) - n, "%s0x%llx", j ? ", " : "{",
				      (unsigned long long)s.v[i][j]);
		snprintf(val + n, sizeof(val) - n, "}");
		snprintf(key, sizeof(key), "vec.reg.%s%d.v%d_int64", vname[c->lanes / 2], i,
			 c->lanes);
		tc_kv(key, "%s", val);
	}
	for (i = 0; c->kbits && i < 8; i++) {
		snprintf(key, sizeof(key), "vec.reg.k%d", i);
		tc_kv(key, "0x%llx", (unsigned long long)s.k[i]);
	}
	if (c->pku)
		tc_kv("vec.reg.pkru", "0x%x", s.pkru);
	tc_kv("vec.reg.mxcsr", "0x%x", s.mxcsr);
}

void tv_check(const struct tv_cpu *c, const struct tv_state *after)
{
	struct tv_state s;
	int i, j;

	tv_expected(c, &s);
	for (i = 0; i < c->nregs; i++)
		for (j = 0; j < c->lanes; j++)
			if (after->v[i][j] != s.v[i][j])
				tc_fail("vector register %d lane %d changed to 0x%llx", i, j,
					(unsigned long long)after->v[i][j]);
	for (i = 0; c->kbits && i < 8; i++)
		if (after->k[i] != s.k[i])
			tc_fail("k%d changed to 0x%llx", i, (unsigned long long)after->k[i]);
	if (c->pku && after->pkru != s.pkru)
		tc_fail("pkru changed to 0x%x", after->pkru);
	if (after->mxcsr != s.mxcsr)
		tc_fail("mxcsr changed to 0x%x", after->mxcsr);
	for (i = 0; i < 8; i++)
		if (st_block[8 + i] != st_values[i])
			tc_fail("x87 register (load order %d) changed to %g", i, st_block[8 + i]);
}
