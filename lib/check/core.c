/* Opening a core: the ELF header and program headers through libelf
 * (elf.*, phdr.* checks), the PT_LOAD table (load.*), and reading the
 * dumped memory by address.  The notes are core_notes.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check/core_impl.h"

const char *const lg_reg_names[LG_NREGS] = {
	"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
	"rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
	"rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
};

/* What the PT_LOAD rules found wrong, the last case of each. */
struct load_findings {
	char filesz[200], in_file[200], sorted[200], overlap[200];
};

static void read_load(struct lg_core *c, size_t phidx, const GElf_Phdr *p, struct load_findings *f)
{
	struct lg_core_load *l = &c->loads[c->nloads++];

	l->vaddr = p->p_vaddr;
	l->memsz = p->p_memsz;
	l->offset = p->p_offset;
	l->filesz = p->p_filesz;
	l->flags = p->p_flags;
	l->align = p->p_align;
	l->phidx = phidx;
	if (l->filesz > l->memsz)
		snprintf(f->filesz, sizeof(f->filesz), "PT_LOAD %zu at 0x%llx: p_filesz 0x%llx > p_memsz 0x%llx",
			 phidx, (unsigned long long)l->vaddr, (unsigned long long)l->filesz,
			 (unsigned long long)l->memsz);
	if (l->vaddr + l->memsz < l->vaddr) {
		snprintf(f->overlap, sizeof(f->overlap), "PT_LOAD %zu at 0x%llx wraps around the address space",
			 phidx, (unsigned long long)l->vaddr);
		l->memsz = 0;
	}
	if (lg_core_in_file(l->offset, l->filesz, c->size)) {
		l->avail = l->filesz;
	} else {
		snprintf(f->in_file, sizeof(f->in_file),
			 "PT_LOAD %zu at 0x%llx: file bytes [0x%llx, +0x%llx) end past the end of the file (%zu bytes)",
			 phidx, (unsigned long long)l->vaddr, (unsigned long long)l->offset,
			 (unsigned long long)l->filesz, c->size);
		l->avail = l->offset < c->size ? c->size - l->offset : 0;
	}
	/* Never serve bytes beyond memsz either. */
	if (l->avail > l->memsz)
		l->avail = l->memsz;
	if (c->nloads > 1) {
		const struct lg_core_load *pr = &c->loads[c->nloads - 2];
		if (pr->vaddr > l->vaddr)
			snprintf(f->sorted, sizeof(f->sorted), "PT_LOAD %zu at 0x%llx follows one at 0x%llx", phidx,
				 (unsigned long long)l->vaddr, (unsigned long long)pr->vaddr);
		else if (pr->vaddr + pr->memsz > l->vaddr)
			snprintf(f->overlap, sizeof(f->overlap), "PT_LOAD at 0x%llx+0x%llx overlaps the one at 0x%llx",
				 (unsigned long long)pr->vaddr, (unsigned long long)pr->memsz,
				 (unsigned long long)l->vaddr);
	}
}

/* The PT_LOAD table and its address index; counts the PT_NOTEs. */
static void read_loads(struct lg_core *c, struct lg_check_list *ck)
{
	struct load_findings f = { "", "", "", "" };
	GElf_Phdr mem, *p;
	size_t n = 0;

	for (size_t i = 0; i < c->phnum; i++)
		if ((p = gelf_getphdr(c->elf, i, &mem)))
			n += p->p_type == PT_LOAD;
	c->loads = calloc(n ? n : 1, sizeof(*c->loads));
	if (!c->loads || lg_spans_alloc(&c->load_spans, n) < 0) {
		ck->oom = true;
		return;
	}
	for (size_t i = 0; i < c->phnum; i++) {
		if (!(p = gelf_getphdr(c->elf, i, &mem)))
			continue;
		if (p->p_type == PT_NOTE)
			c->nptnote++;
		if (p->p_type == PT_LOAD)
			read_load(c, i, p, &f);
	}
	for (size_t i = 0; i < c->nloads; i++)
		lg_spans_set(&c->load_spans, i, c->loads[i].vaddr, c->loads[i].vaddr + c->loads[i].memsz);
	lg_spans_sort(&c->load_spans);
	lg_check_add(ck, f.filesz[0] ? LG_CHECK_FAIL : LG_CHECK_PASS, "load.filesz", "%s",
		     f.filesz[0] ? f.filesz : "p_filesz <= p_memsz everywhere");
	lg_check_add(ck, f.in_file[0] ? LG_CHECK_FAIL : LG_CHECK_PASS, "load.in-file", "%s",
		     f.in_file[0] ? f.in_file : "every PT_LOAD's data is inside the file");
	lg_check_add(ck, f.sorted[0] ? LG_CHECK_FAIL : LG_CHECK_PASS, "load.sorted", "%s",
		     f.sorted[0] ? f.sorted : "PT_LOADs sorted by address");
	lg_check_add(ck, f.overlap[0] ? LG_CHECK_FAIL : LG_CHECK_PASS, "load.overlap", "%s",
		     f.overlap[0] ? f.overlap : "no two PT_LOADs overlap");
	if (c->nptnote == 1)
		lg_check_add(ck, LG_CHECK_PASS, "phdr.note-count", "exactly one PT_NOTE");
	else
		lg_check_add(ck, LG_CHECK_FAIL, "phdr.note-count",
			     "%zu PT_NOTE segments (readers such as libdwfl use only the first)", c->nptnote);
}

/* The number of program headers the ELF header declares.  Past 65534 it
 * is in section header 0's sh_info and e_phnum is PN_XNUM (the kernel's
 * fs/binfmt_elf.c, gdb's BFD, libelf's elf_getphdrnum).  Returns false
 * (with a failed check) when that cannot be read. */
static bool declared_phnum(struct lg_core *c, const GElf_Ehdr *eh, struct lg_check_list *ck, uint64_t *phnum)
{
	GElf_Shdr mem, *sh0;

	*phnum = eh->e_phnum;
	if (eh->e_phnum != PN_XNUM)
		return true;
	/* libelf pretends there are no section headers when the table does
	 * not fit in the file: then libdwfl sees 65535 segments. */
	sh0 = eh->e_shentsize >= sizeof(Elf64_Shdr) ? gelf_getshdr(elf_getscn(c->elf, 0), &mem) : NULL;
	if (!sh0) {
		lg_check_add(ck, LG_CHECK_FAIL, "phdr.extnum", "e_phnum is PN_XNUM but section header 0 is not in the file");
		return false;
	}
	*phnum = sh0->sh_info;
	if (*phnum < PN_XNUM)
		lg_check_add(ck, LG_CHECK_FAIL, "phdr.extnum", "e_phnum is PN_XNUM but section 0 holds %llu (< 65535)",
			     (unsigned long long)*phnum);
	else
		lg_check_add(ck, LG_CHECK_PASS, "phdr.extnum", "%llu segments through section 0",
			     (unsigned long long)*phnum);
	return true;
}

/* The ELF header's rules; false when the rest cannot be read. */
static bool check_headers(struct lg_core *c, struct lg_check_list *ck)
{
	GElf_Ehdr mem, *eh = gelf_getehdr(c->elf, &mem);
	uint64_t phnum;
	size_t libelf_phnum;

	if (!eh) {
		lg_check_add(ck, LG_CHECK_FAIL, "elf.type", "libelf cannot read the ELF header: %s", elf_errmsg(-1));
		return false;
	}
	if (eh->e_type == ET_CORE)
		lg_check_add(ck, LG_CHECK_PASS, "elf.type", "ET_CORE");
	else
		lg_check_add(ck, LG_CHECK_FAIL, "elf.type", "e_type %u is not ET_CORE", eh->e_type);
	if (eh->e_machine != EM_X86_64) {
		lg_check_add(ck, LG_CHECK_FAIL, "elf.machine", "e_machine %u is not EM_X86_64", eh->e_machine);
		return false;
	}
	lg_check_add(ck, LG_CHECK_PASS, "elf.machine", "EM_X86_64");
	if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
		lg_check_add(ck, LG_CHECK_FAIL, "phdr.in-file", "e_phentsize %u, want %zu",
			     eh->e_phentsize, sizeof(Elf64_Phdr));
		return false;
	}
	if (!declared_phnum(c, eh, ck, &phnum))
		return false;
	/* phnum < 2^32: no overflow. */
	if (!lg_core_in_file(eh->e_phoff, phnum * sizeof(Elf64_Phdr), c->size)) {
		lg_check_add(ck, LG_CHECK_FAIL, "phdr.in-file",
			     "%llu program headers at 0x%llx end past the end of the file (%zu bytes)",
			     (unsigned long long)phnum, (unsigned long long)eh->e_phoff, c->size);
		return false;
	}
	/* libelf reads none at e_phoff 0; the count libdwfl will see. */
	if (elf_getphdrnum(c->elf, &libelf_phnum) != 0 || libelf_phnum != phnum) {
		lg_check_add(ck, LG_CHECK_FAIL, "phdr.in-file",
			     "%llu program headers at 0x%llx, but libelf reads %zu of them",
			     (unsigned long long)phnum, (unsigned long long)eh->e_phoff, libelf_phnum);
		return false;
	}
	lg_check_add(ck, LG_CHECK_PASS, "phdr.in-file", "%llu program headers at 0x%llx",
		     (unsigned long long)phnum, (unsigned long long)eh->e_phoff);
	c->phnum = phnum;
	return true;
}

/* Open PATH for libelf.  Returns 0, 1 when the file is ELF but not of the
 * class lcorecheck reads (a failed elf.class check), or -errno. */
static int open_elf(struct lg_core *c, const char *path, struct lg_check_list *ck, struct lg_error *err)
{
	unsigned char ident[EI_NIDENT];
	struct stat st;
	ssize_t n;

	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0 || fstat(c->fd, &st) < 0)
		return lg_fail(err, errno, "cannot open %s", path);
	if (!S_ISREG(st.st_mode))
		return lg_failx(err, EINVAL, "%s is not a regular file", path);
	if ((uint64_t)st.st_size < sizeof(Elf64_Ehdr))
		return lg_failx(err, ENOEXEC, "%s: %lld bytes is too short for an ELF header", path,
				(long long)st.st_size);
	n = pread(c->fd, ident, sizeof(ident), 0);
	if (n < 0)
		return lg_fail(err, errno, "cannot read %s", path);
	if (n < SELFMAG || memcmp(ident, ELFMAG, SELFMAG))
		return lg_failx(err, ENOEXEC, "%s: not an ELF file (bad magic)", path);
	if (n < EI_NIDENT || ident[EI_CLASS] != ELFCLASS64 || ident[EI_DATA] != ELFDATA2LSB) {
		lg_check_add(ck, LG_CHECK_FAIL, "elf.class",
			     "class %u data %u: only little-endian 64-bit (x86-64) cores are read",
			     ident[EI_CLASS], ident[EI_DATA]);
		return 1;
	}
	/* ELF_C_READ_MMAP: the memory data is read in place, not copied. */
	elf_version(EV_CURRENT);
	c->elf = elf_begin(c->fd, ELF_C_READ_MMAP, NULL);
	if (!c->elf || elf_kind(c->elf) != ELF_K_ELF)
		return lg_failx(err, ENOEXEC, "libelf cannot open %s: %s", path, elf_errmsg(-1));
	c->map = (const uint8_t *)elf_rawfile(c->elf, &c->size);
	if (!c->map)
		return lg_failx(err, EIO, "libelf cannot read %s: %s", path, elf_errmsg(-1));
	return 0;
}

int lg_core_open(struct lg_core *c, const char *path, struct lg_check_list *ck,
		 struct lg_error *err)
{
	GElf_Phdr mem, *ph;
	int r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = strdup(path);
	if (!c->path) {
		r = lg_fail(err, ENOMEM, "%s", path);
		goto out;
	}
	r = open_elf(c, path, ck, err);
	if (r)
		goto out;
	if (!check_headers(c, ck))
		goto out;
	read_loads(c, ck);
	for (size_t i = 0; i < c->phnum; i++) {
		ph = gelf_getphdr(c->elf, i, &mem);
		if (ph && ph->p_type == PT_NOTE) {
			lg_core_read_notes(c, ph, ck);
			break;
		}
	}
	c->structure_ok = true;
out:
	/* A core that cannot be read at all is not open: nothing to close. */
	if (r < 0)
		lg_core_close(c);
	return r < 0 ? r : 0;
}

void lg_core_close(struct lg_core *c)
{
	if (c->elf)
		elf_end(c->elf);
	if (c->fd >= 0)
		close(c->fd);
	free(c->path);
	free(c->loads);
	lg_spans_free(&c->load_spans);
	free(c->notes);
	free(c->threads);
	free(c->ntfiles);
	lg_spans_free(&c->ntfile_spans);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

const struct lg_core_load *lg_core_load_at(const struct lg_core *c, uint64_t addr)
{
	size_t i = lg_spans_find(&c->load_spans, addr);

	return i == LG_SPAN_NONE ? NULL : &c->loads[i];
}

const struct lg_core_load *lg_core_load_starting(const struct lg_core *c, uint64_t vaddr)
{
	size_t i = lg_spans_find_start(&c->load_spans, vaddr);

	return i == LG_SPAN_NONE ? NULL : &c->loads[i];
}

size_t lg_core_read(const struct lg_core *c, uint64_t vaddr, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		uint64_t a = vaddr + done, k;
		const struct lg_core_load *l = lg_core_load_at(c, a);
		if (!l || a - l->vaddr >= l->avail)
			break;
		k = l->avail - (a - l->vaddr);
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)buf + done, lg_core_load_data(c, l) + (a - l->vaddr), k);
		done += k;
	}
	return done;
}

const struct lg_core_ntfile *lg_core_ntfile_at(const struct lg_core *c, uint64_t addr)
{
	size_t i = lg_spans_find(&c->ntfile_spans, addr);

	return i == LG_SPAN_NONE ? NULL : &c->ntfiles[i];
}

bool lg_core_auxv(const struct lg_core *c, uint64_t type, uint64_t *val)
{
	for (size_t i = 0; i + 16 <= c->auxv_size; i += 16) {
		uint64_t t = lg_get64(c->auxv + i);
		if (t == AT_NULL)
			break;
		if (t == type) {
			*val = lg_get64(c->auxv + i + 8);
			return true;
		}
	}
	return false;
}
