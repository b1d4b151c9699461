/* x86-64 only: the XSAVE area as cores carry it.
 *
 * PTRACE_GETREGSET(NT_X86_XSTATE) returns the XSAVE area in the standard
 * (non-compacted) format, each component at the offset CPUID leaf 0xD gives
 * for it on this CPU.  Readers disagree on how to find the components in a
 * core: gdb 13 uses Intel's original fixed offsets (Delve 1.20 too, for AVX)
 * and wants the size those offsets give for the core's XCR0; gdb 14+ and Linux 6.11+ use
 * NT_X86_XSAVE_LAYOUT, a list of (component, size, offset).  On CPUs whose
 * offsets are Intel's, both agree with the kernel's buffer; on others (AMD
 * Zen 4 and later: AVX-512 state right after AVX, no MPX hole; AMD Zen 2/3
 * with PKU: PKRU at 2432) gdb 13 reads garbage or nothing.  So the core gets
 * every component moved to Intel's fixed offset, those gdb 13 does not know
 * where they overlap nothing (or, when no thread has them out of their init
 * state, not at all: the size gdb 13 wants), and a layout note that says
 * so: both kinds of reader then read the same, right, bytes. */
#ifndef LG_ARCH_X86_64_H
#define LG_ARCH_X86_64_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* The legacy FXSAVE area (512 bytes) and the XSAVE header (64 bytes). */
#define LG_XSAVE_LEGACY 576u
#define LG_XSAVE_XSTATE_BV 512u	/* header: components not in their init state */
#define LG_XSAVE_XCOMP_BV 520u	/* header: compacted-format bits, 0 in standard format */
/* Linux stores the XCR0 the area was saved under in the first word of the
 * FXSAVE area's software-reserved bytes (the ptrace format), where gdb and
 * the kernel's own cores look for it. */
#define LG_XSAVE_XCR0 464u

/* CPUID.(EAX=0xD, ECX=i): the size (EAX) and standard-format offset (EBX)
 * of state component i; size 0 when the CPU has no such component. */
struct lg_xsave_cpuid {
	uint32_t size[64], offset[64];
};

/* Where every component enabled in XCR0 goes. */
struct lg_xsave_map {
	uint64_t xcr0;
	uint32_t size;		/* of the NT_X86_XSTATE written */
	unsigned n;
	struct {
		uint32_t feature, size;
		uint32_t from;	/* offset in the kernel's (CPUID) layout */
		uint32_t to;	/* offset in the core */
	} c[62];
};

/* The XCR0 a core's XSTATE notes are written for, given the kernel's XCR0
 * and the components some thread has out of their init state (IN_USE):
 * XCR0 without the components gdb 13 does not know when none of those is
 * in use, else XCR0. */
uint64_t lg_arch_xsave_core_xcr0(uint64_t xcr0, uint64_t in_use);
/* This CPU's leaf 0xD. */
void lg_arch_xsave_cpuid(struct lg_xsave_cpuid *cpu);
/* The core's layout for XCR0 on a CPU described by CPU.  Returns 0, or
 * -EINVAL if XCR0 enables a component CPU has no size for. */
int lg_arch_xsave_map(uint64_t xcr0, const struct lg_xsave_cpuid *cpu, struct lg_xsave_map *m);
/* Rewrite the kernel's area IN (LEN bytes, laid out as the CPUID offsets in
 * M say) into OUT, laid out as M's "to" offsets, M->size bytes, with every
 * component of M->xcr0 marked present in xstate_bv (but those IN is too
 * short for) and M->xcr0 as the area's XCR0.  Returns 0 or -ENOMEM. */
int lg_arch_xsave_convert(const struct lg_xsave_map *m, const void *in, size_t len,
			  struct lg_buf *out);
/* NT_X86_XSAVE_LAYOUT's descriptor for M: one 16-byte record (type, size,
 * offset, flags 0) per extended component, in increasing type order, as
 * Linux 6.11 writes it.  Returns 0 or -ENOMEM. */
int lg_arch_xsave_layout_desc(const struct lg_xsave_map *m, struct lg_buf *desc);
/* The NT_X86_XSTATE note of a thread whose regset is RAW (LEN bytes, at
 * least the legacy area and header) in a core scanned into AC (NULL: a
 * core of this thread alone), on a CPU described by CPU: the kernel's
 * area in the layout of lg_arch_xsave_map() for lg_arch_xsave_core_xcr0().
 * Returns 0 or -ENOMEM. */
struct lg_arch_core;
int lg_arch_xsave_note(const struct lg_arch_core *ac, const struct lg_xsave_cpuid *cpu,
		       const void *raw, size_t len, struct lg_buf *out);
/* NT_X86_XSAVE_LAYOUT's descriptor for the notes lg_arch_xsave_note() wrote
 * with AC and CPU; XCR0 is used when AC saw no XSTATE.  DESC is empty when
 * CPU does not describe that XCR0.  Returns 0 or -ENOMEM. */
int lg_arch_xsave_layout_note(const struct lg_arch_core *ac, uint64_t xcr0,
			      const struct lg_xsave_cpuid *cpu, struct lg_buf *desc);

#endif
