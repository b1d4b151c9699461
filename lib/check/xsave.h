/* NT_X86_XSAVE_LAYOUT (Linux 6.11+, owner "LINUX", type 0x205): where each
 * extended XSAVE component sits in the core's NT_X86_XSTATE.  A core
 * carries the layout of the CPU that wrote it, which need not be the CPU
 * lcorecheck runs on, so it is preferred over CPUID when present. */
#ifndef LG_CHECK_XSAVE_H
#define LG_CHECK_XSAVE_H

#include <stddef.h>
#include <stdint.h>

/* XSAVE has at most 64 state components; records cover numbers 2..63. */
#define LG_XSAVE_MAX_COMP 62
/* Legacy FXSAVE area (512) and XSAVE header (64): extended state follows. */
#define LG_XSAVE_EXT_START 576
#define LG_XSAVE_RECORD_SIZE 16

/* One record, as the kernel writes it (struct x86_xfeat_component). */
struct lg_xsave_comp {
	uint32_t type, size, offset, flags;
};

struct lg_xsave_layout {
	struct lg_xsave_comp c[LG_XSAVE_MAX_COMP];
	size_t n;
};

/* Parse the descriptor DESC of LEN bytes into L and check it is
 * well-formed: whole records, at most one per component number 2..63, in
 * increasing order (the kernel walks the features in order), non-empty
 * components inside the extended area, not overlapping.  Returns 0, or
 * -EINVAL with the reason in WHY. */
int lg_xsave_layout_parse(const uint8_t *desc, size_t len, struct lg_xsave_layout *l,
			  char *why, size_t whylen);

/* Whether L describes an NT_X86_XSTATE of XSTATE_SIZE bytes whose XCR0
 * (bytes 464..471) is XCR0: the last component ends exactly at its end and
 * there is one record per extended feature (bit >= 2) enabled in XCR0.
 * Returns 0 or -EINVAL with the reason in WHY. */
int lg_xsave_layout_consistent(const struct lg_xsave_layout *l, size_t xstate_size, uint64_t xcr0,
			       char *why, size_t whylen);

/* The record of component TYPE, or NULL. */
const struct lg_xsave_comp *lg_xsave_layout_find(const struct lg_xsave_layout *l, unsigned type);

/* Where the last component ends (0 when there is none). */
uint64_t lg_xsave_layout_end(const struct lg_xsave_layout *l);

#endif
