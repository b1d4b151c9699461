/* XSTATE: the legacy x87/SSE area and every extended component enabled in
 * both cores' XCR0, each found where that core's writer put it. */
#include <cpuid.h>
#include <string.h>

#include "check/diff_impl.h"
#include "common/grow.h"

/* The FXSAVE area compared: up to the XMM registers' end, without
 * mxcsr_mask (FPREGSET's comparison covers it) and the reserved bytes. */
#define FXSAVE_MXCSR_MASK_OFF 28
#define FXSAVE_MXCSR_MASK_LEN 4
#define FXSAVE_XMM_END 416
/* XCR0 bits 0 and 1: x87 and SSE, the legacy area. */
#define XFEATURES_LEGACY 3ull
/* The components gdb 13 knows (X86_XSTATE_ALL_MASK): x87, SSE, AVX, MPX,
 * AVX-512, PKRU.  Its gcore writes only these, with only these in the XCR0
 * word; lgcore leaves the others out (AMX since Linux 5.16: 11008 bytes
 * instead of 2696) when no thread has them out of their init state. */
#define XFEATURES_GDB13 0x2ffull

/* gdb 13 (i387-tdep.c) writes XSTATE from its register cache at fixed
 * offsets, the original Intel layout, whatever the CPU's layout is. */
static const struct { unsigned comp; uint32_t off, size; } gdb_xsave_layout[] = {
	{ 2, 576, 256 }, { 3, 960, 64 }, { 4, 1024, 64 }, { 5, 1088, 64 },
	{ 6, 1152, 512 }, { 7, 1664, 1024 }, { 9, 2688, 8 },
};

void lg_xstate_source_init(struct lg_xstate_source *src, const struct lg_core *c)
{
	char why[160];

	memset(src, 0, sizeof(*src));
	src->gdb = lg_core_written_by_gdb(c);
	/* A malformed note is validate mode's failure (note.xsave-layout);
	 * here it is just not used. */
	if (!src->gdb && c->xsave_layout && c->nxsave_layout == 1 &&
	    !lg_xsave_layout_parse(c->xsave_layout, c->xsave_layout_size, &src->layout, why, sizeof(why)))
		src->note = true;
}

const char *lg_xstate_source_name(const struct lg_xstate_source *src)
{
	return src->gdb ? "gdb's" : src->note ? "NT_X86_XSAVE_LAYOUT" : "CPUID";
}

/* XSAVE component I's offset and size in a core: gdb's fixed layout for
 * gdb's cores; else the core's NT_X86_XSAVE_LAYOUT, which describes the
 * CPU that wrote it; else, for cores without one (gdb's, kernels before
 * 6.11), the standard layout from this machine's CPUID leaf 0xD, which is
 * right only when the core comes from a CPU like this one. */
static bool xsave_component(const struct lg_xstate_source *src, unsigned i, uint32_t *off, uint32_t *size)
{
	unsigned eax, ebx, ecx, edx;

	if (src->gdb) {
		for (size_t k = 0; k < LG_ARRAY_SIZE(gdb_xsave_layout); k++)
			if (gdb_xsave_layout[k].comp == i) {
				*off = gdb_xsave_layout[k].off;
				*size = gdb_xsave_layout[k].size;
				return true;
			}
		return false;
	}
	if (src->note) {
		const struct lg_xsave_comp *c = lg_xsave_layout_find(&src->layout, i);
		if (!c)
			return false;
		*off = c->offset;
		*size = c->size;
		return true;
	}
	if (!__get_cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx) || !eax)
		return false;
	*size = eax;
	*off = ebx;
	return true;
}

/* Extended component I, at OFF in X and OFFB in Y, SIZE bytes in both. */
static void diff_component(const struct lg_xstate_source *sa, const struct lg_xstate_source *sb,
			   const struct lg_core_thread *x, const struct lg_core_thread *y, unsigned i,
			   uint32_t off, uint32_t offb, uint32_t size, struct lg_check_list *ck, bool *any)
{
	static const uint8_t zeros[8192];
	uint64_t bva = lg_get64(x->xstate + LG_XSTATE_HDR_OFF), bvb = lg_get64(y->xstate + LG_XSTATE_HDR_OFF);
	const uint8_t *pa, *pb;

	if (sa->gdb != sb->gdb) {
		/* gdb 13 copied the component from the kernel's buffer at its
		 * fixed (Intel) offset: right only where the CPU that filled
		 * that buffer has the component there.  The other core's
		 * NT_X86_XSAVE_LAYOUT describes that core's buffer, not the
		 * kernel's (lgcore writes Intel's offsets on every CPU), so
		 * ask this CPU: --against-gcore takes both cores here, and an
		 * offline diff is meant to run on the machine that dumped. */
		unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
		uint32_t gdb_off = sa->gdb ? off : offb;
		if (!__get_cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx) || ebx != gdb_off) {
			lg_check_expected(ck, "xstate.gdb-misplaced", "diff.xstate.component",
					  "thread %d: component %u at %u in gdb's layout, at %u in this CPU's",
					  x->tid, i, gdb_off, ebx);
			return;
		}
	}
	if ((uint64_t)off + size > x->xstate_size || (uint64_t)offb + size > y->xstate_size) {
		lg_check_expected(ck, "xstate.size", "diff.xstate.size",
				  "thread %d: component %u is beyond one XSTATE's size", x->tid, i);
		return;
	}
	/* A clear xstate_bv bit means the component is in its init state
	 * (all zeros for components 2 and up), whatever the buffer holds. */
	pa = bva >> i & 1 ? x->xstate + off : zeros;
	pb = bvb >> i & 1 ? y->xstate + offb : zeros;
	if (size > sizeof(zeros) && (!(bva >> i & 1) || !(bvb >> i & 1)))
		return;
	if (memcmp(pa, pb, size)) {
		*any = true;
		lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate.component",
			     "thread %d: XSAVE component %u (%u bytes at %u) differs", x->tid, i, size, off);
	} else if ((bva ^ bvb) >> i & 1) {
		lg_check_expected(ck, "xstate.header", "diff.xstate.header",
				  "thread %d: component %u saved by one side in its init state", x->tid, i);
	}
}

/* XSTATE's XCR0 word differs (XA in X's core, XB in the other's): legitimate
 * only where one core has a subset and leaves out components gdb 13 does
 * not know, which gdb's gcore always does and lgcore where the other core
 * has them in their init state (its xstate_bv bit clear): the state is the
 * same, since those components' init state is all zeros. */
static void diff_xcr0(const struct lg_xstate_source *sa, const struct lg_xstate_source *sb,
		      const struct lg_core_thread *x, uint64_t xa, uint64_t xb, uint64_t bva, uint64_t bvb,
		      struct lg_check_list *ck, bool *any)
{
	uint64_t left = xa ^ xb;
	bool a_less = (xa & xb) == xa, b_less = (xa & xb) == xb;
	const struct lg_xstate_source *less = a_less ? sa : sb;
	uint64_t bv_more = a_less ? bvb : bva;

	if ((a_less || b_less) && !(left & XFEATURES_GDB13)) {
		if (less->gdb) {
			lg_check_expected(ck, "xstate.gdb-unknown", "diff.xstate.xcr0",
					  "thread %d: xcr0 0x%llx vs 0x%llx: gdb's core has none of 0x%llx",
					  x->tid, (unsigned long long)xa, (unsigned long long)xb,
					  (unsigned long long)left);
			return;
		}
		if (!(left & bv_more)) {
			lg_check_expected(ck, "xstate.left-out", "diff.xstate.xcr0",
					  "thread %d: xcr0 0x%llx vs 0x%llx: components 0x%llx left out, in their init state in %s",
					  x->tid, (unsigned long long)xa, (unsigned long long)xb,
					  (unsigned long long)left, a_less ? "b" : "a");
			return;
		}
	}
	*any = true;
	lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate.xcr0", "thread %d: xcr0 0x%llx vs 0x%llx", x->tid,
		     (unsigned long long)xa, (unsigned long long)xb);
}

/* gdb 13 reads NT_X86_XSTATE as a regset of X86_XSTATE_SIZE(xcr0) bytes
 * (x86-xstate.h: 2696 with PKRU, 2688 with AVX-512, 1088 with MPX, 832
 * with AVX, else 576) and drops a smaller section whole ("Section
 * `.reg-xstate/TID' in core file too small"): no AVX, AVX-512 or PKRU
 * register of that thread, where gdb's own core, the other one here,
 * shows them.  The kernel writes the CPU's compacted size instead (2440 on
 * an AMD CPU with AVX2 and PKU), lgcore the size gdb 13 wants. */
static bool gdb13_too_small(const struct lg_core_thread *t, uint64_t xcr0, struct lg_check_list *ck)
{
	size_t want = xcr0 >> 9 & 1 ? 2696 : xcr0 & 0xe0 ? 2688 : xcr0 & 0x18 ? 1088 : xcr0 & 4 ? 832 : 576;

	if (t->xstate_size >= want)
		return false;
	lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate.gdb13-size",
		     "thread %d: the non-gdb core's XSTATE is %zu bytes, gdb 13 needs %zu for its xcr0 0x%llx and drops the whole section (no AVX, AVX-512 or PKRU register), which it reads from gdb's core",
		     t->tid, t->xstate_size, want, (unsigned long long)xcr0);
	return true;
}

void lg_diff_xstate(const struct lg_xstate_source *sa, const struct lg_xstate_source *sb,
		    const struct lg_core_thread *x, const struct lg_core_thread *y,
		    struct lg_check_list *ck, bool *any)
{
	uint64_t xa, xb, bva, bvb, common;

	if (!x->xstate || !y->xstate) {
		if (x->xstate || y->xstate) {
			*any = true;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate", "thread %d: NT_X86_XSTATE only in %s", x->tid,
				     x->xstate ? "a" : "b");
		}
		return;
	}
	if (x->xstate_size < LG_XSAVE_EXT_START || y->xstate_size < LG_XSAVE_EXT_START) {
		*any = true;
		lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate", "thread %d: XSTATE shorter than its header", x->tid);
		return;
	}
	xa = lg_get64(x->xstate + LG_XSTATE_XCR0_OFF);
	xb = lg_get64(y->xstate + LG_XSTATE_XCR0_OFF);
	if (sa->gdb != sb->gdb && gdb13_too_small(sa->gdb ? y : x, sa->gdb ? xb : xa, ck)) {
		*any = true;
	} else if (x->xstate_size != y->xstate_size) {
		lg_check_expected(ck, "xstate.size", "diff.xstate.size", "thread %d: %zu vs %zu bytes",
				  x->tid, x->xstate_size, y->xstate_size);
	}
	bva = lg_get64(x->xstate + LG_XSTATE_HDR_OFF);
	bvb = lg_get64(y->xstate + LG_XSTATE_HDR_OFF);
	if (xa != xb)
		diff_xcr0(sa, sb, x, xa, xb, bva, bvb, ck, any);
	common = xa & xb;
	if (common & bva & bvb & XFEATURES_LEGACY) {
		const size_t after = FXSAVE_MXCSR_MASK_OFF + FXSAVE_MXCSR_MASK_LEN;
		if (memcmp(x->xstate, y->xstate, FXSAVE_MXCSR_MASK_OFF) ||
		    memcmp(x->xstate + after, y->xstate + after, FXSAVE_XMM_END - after)) {
			*any = true;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.xstate.legacy", "thread %d: x87/SSE area differs", x->tid);
		}
	}
	if (sa->gdb != sb->gdb)
		lg_check_expected(ck, "xstate.layout", "diff.xstate.layout", "thread %d: XSTATE layouts differ", x->tid);
	for (unsigned i = 2; i < 63; i++) {
		uint32_t off, size, offb, sizeb;
		if (!(common >> i & 1) || !xsave_component(sa, i, &off, &size) ||
		    !xsave_component(sb, i, &offb, &sizeb) || size != sizeb)
			continue;
		diff_component(sa, sb, x, y, i, off, offb, size, ck, any);
	}
}
