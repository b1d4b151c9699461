#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check/core.h"
#include "check/xsave.h"

int lg_xsave_layout_parse(const uint8_t *desc, size_t len, struct lg_xsave_layout *l,
			  char *why, size_t whylen)
{
	memset(l, 0, sizeof(*l));
	if (len % LG_XSAVE_RECORD_SIZE) {
		snprintf(why, whylen, "%zu bytes are not whole %d-byte records", len, LG_XSAVE_RECORD_SIZE);
		return -EINVAL;
	}
	if (len / LG_XSAVE_RECORD_SIZE > LG_XSAVE_MAX_COMP) {
		snprintf(why, whylen, "%zu records, XSAVE has at most %d extended components",
			 len / LG_XSAVE_RECORD_SIZE, LG_XSAVE_MAX_COMP);
		return -EINVAL;
	}
	for (size_t i = 0; i < len / LG_XSAVE_RECORD_SIZE; i++) {
		const uint8_t *p = desc + i * LG_XSAVE_RECORD_SIZE;
		struct lg_xsave_comp *c = &l->c[l->n];

		c->type = lg_get32(p);
		c->size = lg_get32(p + 4);
		c->offset = lg_get32(p + 8);
		/* flags is "reserved for future use" (0 today): a later kernel
		 * may set it, so it is not held against the note. */
		c->flags = lg_get32(p + 12);
		if (c->type < 2 || c->type > 63) {
			snprintf(why, whylen, "record %zu: component %u is not an extended one (2..63)", i, c->type);
			return -EINVAL;
		}
		if (l->n && c->type <= l->c[l->n - 1].type) {
			snprintf(why, whylen, "record %zu: component %u after component %u (not increasing)", i,
				 c->type, l->c[l->n - 1].type);
			return -EINVAL;
		}
		if (!c->size) {
			snprintf(why, whylen, "component %u has size 0", c->type);
			return -EINVAL;
		}
		if (c->offset < LG_XSAVE_EXT_START) {
			snprintf(why, whylen, "component %u at offset %u, inside the legacy area and header (< %d)",
				 c->type, c->offset, LG_XSAVE_EXT_START);
			return -EINVAL;
		}
		/* The standard format places components in any order of
		 * offsets; overlap is what no layout can have. */
		for (size_t k = 0; k < l->n; k++) {
			const struct lg_xsave_comp *o = &l->c[k];
			if ((uint64_t)c->offset < (uint64_t)o->offset + o->size &&
			    (uint64_t)o->offset < (uint64_t)c->offset + c->size) {
				snprintf(why, whylen, "component %u [%u, +%u) overlaps component %u [%u, +%u)",
					 c->type, c->offset, c->size, o->type, o->offset, o->size);
				return -EINVAL;
			}
		}
		l->n++;
	}
	return 0;
}

uint64_t lg_xsave_layout_end(const struct lg_xsave_layout *l)
{
	uint64_t end = 0;

	for (size_t i = 0; i < l->n; i++)
		if ((uint64_t)l->c[i].offset + l->c[i].size > end)
			end = (uint64_t)l->c[i].offset + l->c[i].size;
	return end;
}

int lg_xsave_layout_consistent(const struct lg_xsave_layout *l, size_t xstate_size, uint64_t xcr0,
			       char *why, size_t whylen)
{
	uint64_t end = lg_xsave_layout_end(l), have = 0;

	for (size_t i = 0; i < l->n; i++)
		have |= 1ull << l->c[i].type;
	/* The kernel writes one record per feature in its user xfeatures,
	 * which is also the XCR0 it stores in the XSAVE area. */
	if (have != (xcr0 & ~3ull)) {
		snprintf(why, whylen, "components 0x%llx in the layout, 0x%llx enabled in XSTATE's xcr0",
			 (unsigned long long)have, (unsigned long long)(xcr0 & ~3ull));
		return -EINVAL;
	}
	/* Without extended components the area is the legacy one plus the
	 * header. */
	if (!l->n)
		end = LG_XSAVE_EXT_START;
	if (end != xstate_size) {
		snprintf(why, whylen, "the last component ends at %llu, NT_X86_XSTATE is %zu bytes",
			 (unsigned long long)end, xstate_size);
		return -EINVAL;
	}
	return 0;
}

const struct lg_xsave_comp *lg_xsave_layout_find(const struct lg_xsave_layout *l, unsigned type)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->c[i].type == type)
			return &l->c[i];
	return NULL;
}
