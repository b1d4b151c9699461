/* The process-wide notes: which note types each core has and in which
 * order, NT_PRPSINFO, NT_AUXV, NT_FILE. */
#include <string.h>

#include "check/diff_impl.h"

void lg_diff_notes(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	bool order_same = a->nnotes == b->nnotes;
	const struct lg_core *c[2] = { a, b };

	for (size_t i = 0; order_same && i < a->nnotes; i++)
		order_same = a->notes[i].type == b->notes[i].type;
	if (!order_same)
		lg_check_expected(ck, "note.order", "diff.note.order", "%zu vs %zu notes in different orders",
				  a->nnotes, b->nnotes);
	/* Note types present in one core only, each reported once. */
	for (int s = 0; s < 2; s++) {
		const struct lg_core *x = c[s], *y = c[!s];
		for (size_t i = 0; i < x->nnotes; i++) {
			uint32_t t = x->notes[i].type;
			bool dup = false, found = false;
			for (size_t k = 0; k < i && !dup; k++)
				dup = x->notes[k].type == t;
			for (size_t k = 0; k < y->nnotes && !found; k++)
				found = y->notes[k].type == t;
			if (dup || found)
				continue;
			lg_check_difference(ck, lg_explain_note_type(t), "diff.note.types", "note type 0x%x only in %s",
					    t, s ? "b" : "a");
		}
	}
}

/* The length of pr_psargs, trailing spaces dropped. */
static size_t psargs_len(const uint8_t *p)
{
	size_t n = strnlen((const char *)p, sizeof(((struct elf_prpsinfo *)0)->pr_psargs));
	while (n && p[n - 1] == ' ')
		n--;
	return n;
}

void lg_diff_prpsinfo(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	const size_t flag = LG_PRPSINFO_OFF(pr_flag), uid = LG_PRPSINFO_OFF(pr_uid);
	const size_t fname = LG_PRPSINFO_OFF(pr_fname), psargs = LG_PRPSINFO_OFF(pr_psargs);
	const uint8_t *x = a->prpsinfo, *y = b->prpsinfo;
	size_t lx, ly;
	bool any = false;

	if (!x || !y) {
		if (x || y)
			lg_check_add(ck, LG_CHECK_FAIL, "diff.prpsinfo", "NT_PRPSINFO only in %s", x ? "a" : "b");
		return;
	}
	/* pr_state, pr_sname, pr_zomb. */
	if (memcmp(x, y, LG_PRPSINFO_OFF(pr_nice))) {
		any = true;
		lg_check_expected(ck, "prpsinfo.state", "diff.prpsinfo", "pr_state/pr_sname '%c' vs '%c'",
				  x[1] ? x[1] : '?', y[1] ? y[1] : '?');
	}
	if (memcmp(x + flag, y + flag, sizeof(((struct elf_prpsinfo *)0)->pr_flag))) {
		any = true;
		lg_check_expected(ck, "prpsinfo.flag", "diff.prpsinfo", "pr_flag 0x%llx vs 0x%llx",
				  (unsigned long long)lg_get64(x + flag), (unsigned long long)lg_get64(y + flag));
	}
	/* pr_nice, pr_uid up to pr_sid, pr_fname. */
	if (x[LG_PRPSINFO_OFF(pr_nice)] != y[LG_PRPSINFO_OFF(pr_nice)] ||
	    memcmp(x + uid, y + uid, fname - uid) || memcmp(x + fname, y + fname, psargs - fname)) {
		any = true;
		lg_check_add(ck, LG_CHECK_FAIL, "diff.prpsinfo",
			     "nice/uid/gid/pid/ppid/pgrp/sid/fname differ (pid %u vs %u, fname '%.16s' vs '%.16s')",
			     lg_get32(x + LG_PRPSINFO_OFF(pr_pid)), lg_get32(y + LG_PRPSINFO_OFF(pr_pid)),
			     (const char *)x + fname, (const char *)y + fname);
	}
	lx = psargs_len(x + psargs);
	ly = psargs_len(y + psargs);
	if (lx != ly || memcmp(x + psargs, y + psargs, lx)) {
		any = true;
		lg_check_difference(ck, lg_explain_psargs(x + psargs, lx, y + psargs, ly), "diff.prpsinfo",
				    "pr_psargs '%.*s' vs '%.*s'", (int)lx, (const char *)x + psargs, (int)ly,
				    (const char *)y + psargs);
	}
	if (!any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.prpsinfo", "NT_PRPSINFO identical");
}

void lg_diff_auxv(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	if (!a->auxv || !b->auxv) {
		lg_check_add(ck, (a->auxv || b->auxv) ? LG_CHECK_FAIL : LG_CHECK_SKIP, "diff.auxv",
			     "NT_AUXV missing in %s", a->auxv ? "b" : b->auxv ? "a" : "both");
		return;
	}
	if (a->auxv_size == b->auxv_size && !memcmp(a->auxv, b->auxv, a->auxv_size)) {
		lg_check_add(ck, LG_CHECK_PASS, "diff.auxv", "%zu bytes identical", a->auxv_size);
		return;
	}
	for (size_t i = 0; i + 16 <= a->auxv_size && i + 16 <= b->auxv_size; i += 16) {
		if (memcmp(a->auxv + i, b->auxv + i, 16)) {
			lg_check_add(ck, LG_CHECK_FAIL, "diff.auxv", "entry %zu: type %llu value 0x%llx vs type %llu value 0x%llx",
				     i / 16, (unsigned long long)lg_get64(a->auxv + i), (unsigned long long)lg_get64(a->auxv + i + 8),
				     (unsigned long long)lg_get64(b->auxv + i), (unsigned long long)lg_get64(b->auxv + i + 8));
			return;
		}
	}
	lg_check_add(ck, LG_CHECK_FAIL, "diff.auxv", "%zu vs %zu bytes", a->auxv_size, b->auxv_size);
}

static bool ntfile_eq(const struct lg_core_ntfile *x, const struct lg_core_ntfile *y)
{
	return x->start == y->start && x->end == y->end && x->offset == y->offset && !strcmp(x->name, y->name);
}

/* Whether C has an NT_FILE entry equal to F. */
static bool has_ntfile(const struct lg_core *c, const struct lg_core_ntfile *f)
{
	const struct lg_core_ntfile *g = lg_core_ntfile_at(c, f->start);

	/* Entries do not overlap in a sound core: the one at F's start. */
	if (g && ntfile_eq(f, g))
		return true;
	for (size_t k = 0; k < c->nntfiles; k++)
		if (ntfile_eq(f, &c->ntfiles[k]))
			return true;
	return false;
}

void lg_diff_ntfiles(const struct lg_core *a, const struct lg_core *b, struct lg_check_list *ck)
{
	const struct lg_core *c[2] = { a, b };
	bool any = false;

	for (int s = 0; s < 2; s++) {
		const struct lg_core *x = c[s], *y = c[!s];
		for (size_t i = 0; i < x->nntfiles; i++) {
			const struct lg_core_ntfile *f = &x->ntfiles[i];
			if (has_ntfile(y, f))
				continue;
			any = true;
			lg_check_add(ck, LG_CHECK_FAIL, "diff.nt_file", "[0x%llx, 0x%llx) offset 0x%llx %s only in %s",
				     (unsigned long long)f->start, (unsigned long long)f->end,
				     (unsigned long long)f->offset, f->name, s ? "b" : "a");
		}
	}
	if (!any)
		lg_check_add(ck, LG_CHECK_PASS, "diff.nt_file", "%zu NT_FILE entries identical (offsets in bytes)", a->nntfiles);
}
