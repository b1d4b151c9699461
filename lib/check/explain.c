/* The rules behind the expected-differences rows: facts from gdb 13
 * (gcore.c, linux-tdep.c) and Linux 6.x (fs/binfmt_elf.c, the vDSO). */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

char lg_core_running(const struct lg_core *c)
{
	char s;

	if (!c->prpsinfo)
		return 0;
	s = (char)c->prpsinfo[LG_PRPSINFO_OFF(pr_sname)];
	return s == 'R' || s == 'S' || s == 'D' ? s : 0;
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

/* glibc 2.35+ registers one struct rseq per thread at the thread pointer
 * plus __rseq_offset (a ptrdiff_t), __rseq_size bytes of it in use; both
 * are exported by ld.so.  The kernel (Linux 4.18+) rewrites cpu_id_start
 * and cpu_id (bytes 0-7), and from 6.3 node_id and mm_cid (20-31), each
 * time it returns the thread to user mode after it was preempted or
 * migrated, and clears rseq_cs (8-15) when it aborts a critical section;
 * flags (16-19) is the process's own.  The kernel accepts rseq_len 32 at
 * least (ORIG_RSEQ_SIZE), which glibc registers even when __rseq_size says
 * 20 (Debian 12's glibc 2.36). */
#define RSEQ_AREA_LEN 32u
#define RSEQ_FLAGS_OFF 16u
#define RSEQ_FLAGS_LEN 4u
/* __rseq_offset is a small distance inside the static TLS block. */
#define RSEQ_OFFSET_MAX (1ll << 20)

/* The value of ld.so's dynamic symbol NAME in PATH (st_value), or false. */
static bool dynsym_value(const char *path, const char *name, uint64_t *value)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e;
	Elf_Scn *scn = NULL;
	bool found = false;

	if (fd < 0)
		return false;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (e && !found && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;
			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
				continue;
			n = elf_strptr(e, sh.sh_link, s.st_name);
			if (n && !strcmp(n, name)) {
				*value = s.st_value;
				found = true;
				break;
			}
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return found;
}

/* Whether the file at PATH starts with the ELF header C holds at BASE (or
 * C does not hold it): the ld.so on this machine is the one the process
 * ran, else its symbols' values say nothing about the core. */
static bool same_elf_header(const struct lg_core *c, uint64_t base, const char *path)
{
	uint8_t mem[sizeof(Elf64_Ehdr)], file[sizeof(Elf64_Ehdr)];
	int fd;
	ssize_t n;

	if (lg_core_read(c, base, mem, sizeof(mem)) != sizeof(mem))
		return true;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, file, sizeof(file), 0);
	close(fd);
	return n == (ssize_t)sizeof(file) && !memcmp(mem, file, sizeof(mem));
}

void lg_rseq_find(const struct lg_core *c, struct lg_rseq_areas *r)
{
	const struct lg_core_ntfile *ldso = NULL;
	uint64_t sym_off, sym_size, base;
	int64_t off;
	uint32_t size;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < c->nntfiles && !ldso; i++)
		if (c->ntfiles[i].offset == 0 && is_ldso(c->ntfiles[i].name))
			ldso = &c->ntfiles[i];
	if (!ldso || elf_version(EV_CURRENT) == EV_NONE)
		return;
	/* ld.so is a shared object linked at 0: its first mapping is its base. */
	base = ldso->start;
	if (!same_elf_header(c, base, ldso->name) || !dynsym_value(ldso->name, "__rseq_offset", &sym_off) ||
	    !dynsym_value(ldso->name, "__rseq_size", &sym_size) ||
	    lg_core_read(c, base + sym_off, &off, sizeof(off)) != sizeof(off) ||
	    lg_core_read(c, base + sym_size, &size, sizeof(size)) != sizeof(size))
		return;
	/* __rseq_size 0: glibc registered no area (glibc.pthread.rseq=0). */
	if (!size || off > RSEQ_OFFSET_MAX || off < -RSEQ_OFFSET_MAX)
		return;
	r->start = calloc(c->nthreads ? c->nthreads : 1, sizeof(*r->start));
	if (!r->start)
		return;
	for (size_t i = 0; i < c->nthreads; i++)
		if (c->threads[i].regs[LG_REG_FS_BASE])
			r->start[r->n++] = c->threads[i].regs[LG_REG_FS_BASE] + (uint64_t)off;
}

void lg_rseq_free(struct lg_rseq_areas *r)
{
	free(r->start);
	memset(r, 0, sizeof(*r));
}

bool lg_explain_rseq_byte(const struct lg_rseq_areas *r, uint64_t addr)
{
	for (size_t i = 0; i < r->n; i++) {
		uint64_t o = addr - r->start[i];
		if (addr >= r->start[i] && o < RSEQ_AREA_LEN &&
		    !(o >= RSEQ_FLAGS_OFF && o < RSEQ_FLAGS_OFF + RSEQ_FLAGS_LEN))
			return true;
	}
	return false;
}

/* A timed wait (nanosleep, clock_nanosleep, a futex wait with a timeout,
 * poll...) interrupted by a stop returns -ERESTART_RESTARTBLOCK (516,
 * include/linux/errno.h); when the thread resumes the kernel enters
 * restart_syscall (x86-64 219) instead, which continues the wait to the
 * same deadline.  A first dump of a running process stops it there; a
 * second one finds the same thread in the same wait with orig_rax 219. */
#define ERESTART_RESTARTBLOCK 516
#define NR_RESTART_SYSCALL 219

const char *lg_explain_regs(const uint64_t *x, const uint64_t *y)
{
	for (int r = 0; r < LG_NREGS; r++)
		if (r != LG_REG_ORIG_RAX && x[r] != y[r])
			return NULL;
	if (x[LG_REG_RAX] != (uint64_t)-ERESTART_RESTARTBLOCK)
		return NULL;
	if (x[LG_REG_ORIG_RAX] == NR_RESTART_SYSCALL || y[LG_REG_ORIG_RAX] == NR_RESTART_SYSCALL)
		return "regs.restart-syscall";
	return NULL;
}
