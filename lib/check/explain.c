/* The rules behind the expected-differences rows: facts from gdb 13
 * (gcore.c, linux-tdep.c) and Linux 6.x (fs/binfmt_elf.c, the vDSO). */
#include <string.h>

#include "check/explain.h"

/* [vvar] and [vvar_vclock] sit right below the vDSO on Linux 6.x. */
#define VVAR_WINDOW (64 * 1024ull)

bool lg_core_written_by_gdb(const struct lg_core *c)
{
	for (size_t i = 0; i < c->nnotes; i++)
		if (c->notes[i].type == LG_NT_GDB_TDESC)
			return true;
	return false;
}

static bool is_ldso(const char *name)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	return !strncmp(b, "ld-linux", 8) || !strncmp(b, "ld-2.", 5) || !strncmp(b, "ld.so", 5);
}

/* Whether [S, E) lies in the window below C's vDSO (AT_SYSINFO_EHDR). */
static bool near_vdso(const struct lg_core *c, uint64_t s, uint64_t e)
{
	uint64_t vdso;

	if (!lg_core_auxv(c, AT_SYSINFO_EHDR, &vdso) || !vdso)
		return false;
	return e <= vdso && s + VVAR_WINDOW >= vdso;
}

const char *const lg_explain_uncovered_rows[] = {
	"load.ldso-cow", "load.elf-header", "load.file-private", "load.vvar", "load.guard",
};

const char *lg_explain_uncovered(const struct lg_core *have, const struct lg_core *other,
				 uint64_t s, uint64_t e, const char **name)
{
	const struct lg_core_ntfile *f = lg_core_ntfile_at(have, s);
	const struct lg_core_load *l = lg_core_load_at(have, s), *ol = lg_core_load_at(other, s);

	if (!f)
		f = lg_core_ntfile_at(other, s);
	*name = f ? f->name : "";
	if (ol && !ol->filesz && !(ol->flags & (PF_R | PF_W | PF_X)))
		return "load.guard";
	if (f && is_ldso(f->name))
		return "load.ldso-cow";
	if (f && f->offset == 0)
		return "load.elf-header";
	if (f && l && !(l->flags & PF_W))
		return "load.file-private";
	if (!f && (near_vdso(have, s, e) || near_vdso(other, s, e)))
		return "load.vvar";
	return NULL;
}

const char *lg_explain_load_flags(const struct lg_core *a, const struct lg_core_load *x,
				  const struct lg_core *b, const struct lg_core_load *y)
{
	bool ga = lg_core_written_by_gdb(a), gb = lg_core_written_by_gdb(b);

	if (x->vaddr == LG_VSYSCALL_ADDR)
		return "load.vsyscall";
	/* gdb (gcore.c) sets PF_R on every PT_LOAD it writes, so a PROT_NONE
	 * mapping it dumps (a shared one whose pages the kernel dumps too)
	 * is r-- in its core and --- in a kernel-style one. */
	if ((ga && !gb && x->flags == PF_R && y->flags == 0) || (gb && !ga && y->flags == PF_R && x->flags == 0))
		return "load.flags";
	return NULL;
}

const char *lg_explain_page(const struct lg_core *a, const struct lg_core *b, uint64_t page)
{
	if (page == LG_VSYSCALL_ADDR)
		return "mem.vsyscall";
	if (!lg_core_ntfile_at(a, page) &&
	    (near_vdso(a, page, page + LG_PAGE_SIZE) || near_vdso(b, page, page + LG_PAGE_SIZE)))
		return "mem.vvar";
	return NULL;
}

const char *lg_explain_note_type(uint32_t type)
{
	switch (type) {
	case LG_NT_GDB_TDESC: return "note.gdb-tdesc";
	case NT_SIGINFO: return "note.siginfo-count";
	case LG_NT_X86_XSAVE_LAYOUT: return "note.xsave-layout";
	case LG_NT_X86_SHSTK: return "note.other";
	default: return NULL;
	}
}

const char *lg_explain_psargs(const uint8_t *x, size_t xlen, const uint8_t *y, size_t ylen)
{
	size_t n = xlen < ylen ? xlen : ylen;

	/* gdb's psargs is argv[0] alone: a prefix of the full one, ending
	 * where an argument does. */
	if (xlen != ylen && !memcmp(x, y, n) && (xlen == n ? y[n] : x[n]) == ' ')
		return "prpsinfo.psargs";
	return NULL;
}
