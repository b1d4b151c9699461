#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check/core.h"
#include "common/grow.h"

const char *const lg_reg_names[LG_NREGS] = {
	"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
	"rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
	"rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
};

/* Whether [off, off+len) lies inside a file of SIZE bytes, without overflow. */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

static int note_cmp_owner(const struct lg_core_note *n, const char *owner)
{
	return strcmp(n->name, owner);
}

static void parse_nt_file(struct lg_core *c, const struct lg_core_note *n,
			  struct lg_check_list *ck)
{
	const uint8_t *d = n->desc, *names, *end = n->desc + n->descsz;
	uint64_t count, psz;

	if (n->descsz < 16) {
		lg_check_add(ck, LG_CHECK_FAIL, "note.file.format", "NT_FILE of %zu bytes has no header", n->descsz);
		return;
	}
	count = lg_get64(d);
	psz = lg_get64(d + 8);
	if (count > (n->descsz - 16) / 24) {
		lg_check_add(ck, LG_CHECK_FAIL, "note.file.format",
			     "NT_FILE claims %llu entries, its %zu bytes hold at most %zu",
			     (unsigned long long)count, n->descsz, (n->descsz - 16) / 24);
		return;
	}
	if (psz == 0 || (psz & (psz - 1))) {
		lg_check_add(ck, LG_CHECK_FAIL, "note.file.format",
			     "NT_FILE page size %llu is not a power of two", (unsigned long long)psz);
		return;
	}
	c->ntfiles = calloc(count ? count : 1, sizeof(*c->ntfiles));
	if (!c->ntfiles) {
		ck->oom = true;
		return;
	}
	names = d + 16 + count * 24;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *e = d + 16 + i * 24;
		const uint8_t *nul = memchr(names, 0, end - names);
		struct lg_core_ntfile *f = &c->ntfiles[i];

		if (!nul) {
			lg_check_add(ck, LG_CHECK_FAIL, "note.file.format",
				     "NT_FILE name %llu is not NUL-terminated inside the note",
				     (unsigned long long)i);
			goto bad;
		}
		f->start = lg_get64(e);
		f->end = lg_get64(e + 8);
		if (__builtin_mul_overflow(lg_get64(e + 16), psz, &f->offset) || f->end < f->start) {
			lg_check_add(ck, LG_CHECK_FAIL, "note.file.format",
				     "NT_FILE entry %llu (%s) has a bad range or offset",
				     (unsigned long long)i, (const char *)names);
			goto bad;
		}
		f->name = (const char *)names;
		names = nul + 1;
	}
	c->nntfiles = count;
	c->ntfile_page_size = psz;
	lg_check_add(ck, LG_CHECK_PASS, "note.file.format", "%llu entries, page size %llu%s",
		     (unsigned long long)count, (unsigned long long)psz,
		     names == end || (size_t)(end - names) < 4 ? "" : ", trailing bytes");
	return;
bad:
	free(c->ntfiles);
	c->ntfiles = NULL;
	c->nntfiles = 0;
}

/* Notes of the first PT_NOTE, the only one libdwfl reads. */
static void parse_notes(struct lg_core *c, const Elf64_Phdr *ph, struct lg_check_list *ck)
{
	uint64_t off = ph->p_offset, len = ph->p_filesz, pos = 0;
	size_t cap = 0;
	bool align_ok = true, order_ok = true;
	struct lg_core_thread *cur = NULL;
	char why[200] = "";

	if (!in_file(off, len, c->size)) {
		lg_check_add(ck, LG_CHECK_FAIL, "note.in-file",
			     "PT_NOTE [0x%llx, +0x%llx) ends past the end of the file (%zu bytes)",
			     (unsigned long long)off, (unsigned long long)len, c->size);
		len = off < c->size ? c->size - off : 0;
	} else {
		lg_check_add(ck, LG_CHECK_PASS, "note.in-file", "PT_NOTE at 0x%llx, %llu bytes",
			     (unsigned long long)off, (unsigned long long)len);
	}
	if (ph->p_align > 4 && ph->p_align != 8) {
		align_ok = false;
		snprintf(why, sizeof(why), "PT_NOTE p_align %llu", (unsigned long long)ph->p_align);
	}
	while (pos < len) {
		const uint8_t *p = c->map + off + pos;
		uint32_t namesz, descsz, type;
		uint64_t nameoff, descoff, next;
		struct lg_core_note *n;

		if (len - pos < 12) {
			align_ok = false;
			snprintf(why, sizeof(why), "%llu stray bytes after the last note",
				 (unsigned long long)(len - pos));
			break;
		}
		namesz = lg_get32(p);
		descsz = lg_get32(p + 4);
		type = lg_get32(p + 8);
		nameoff = pos + 12;
		descoff = nameoff + (((uint64_t)namesz + 3) & ~3ull);
		next = descoff + (((uint64_t)descsz + 3) & ~3ull);
		if (descoff > len || next > len) {
			align_ok = false;
			snprintf(why, sizeof(why), "note %zu (type 0x%x) at offset 0x%llx runs past the PT_NOTE",
				 c->nnotes, type, (unsigned long long)(off + pos));
			break;
		}
		if (LG_GROW(c->notes, cap, c->nnotes + 1, 32)) {
			ck->oom = true;
			break;
		}
		n = &c->notes[c->nnotes++];
		memset(n, 0, sizeof(*n));
		n->type = type;
		n->namesz = namesz;
		if (namesz) {
			size_t k = namesz < sizeof(n->name) ? namesz : sizeof(n->name) - 1;
			memcpy(n->name, c->map + off + nameoff, k);
			n->name[k] = 0;
			/* The owner must be NUL-terminated inside namesz. */
			if (c->map[off + nameoff + namesz - 1] != 0) {
				align_ok = false;
				snprintf(why, sizeof(why), "note %zu owner name is not NUL-terminated", c->nnotes - 1);
			}
		}
		n->desc = c->map + off + descoff;
		n->descsz = descsz;
		n->offset = off + pos;
		pos = next;
	}
	if (align_ok)
		lg_check_add(ck, LG_CHECK_PASS, "note.align", "%zu notes, 4-byte aligned, PT_NOTE filled exactly", c->nnotes);
	else
		lg_check_add(ck, LG_CHECK_FAIL, "note.align", "%s", why);

	/* Classify.  Per-thread regsets belong to the NT_PRSTATUS before them
	 * (what Go tools and libdwfl assume); process-wide notes may sit
	 * anywhere, as the kernel puts them inside the first thread. */
	size_t tcap = 0;
	bool sizes_ok = true;
	char szwhy[200] = "";
	for (size_t i = 0; i < c->nnotes; i++) {
		struct lg_core_note *n = &c->notes[i];
		const char *owner = "CORE";
		size_t want = 0;

		switch (n->type) {
		case NT_PRSTATUS: want = LG_PRSTATUS_SIZE; break;
		case NT_PRPSINFO: want = LG_PRPSINFO_SIZE; break;
		case NT_FPREGSET: want = LG_FPREGSET_SIZE; break;
		case NT_SIGINFO: want = LG_SIGINFO_SIZE; break;
		case NT_X86_XSTATE: owner = "LINUX"; break;
		case LG_NT_X86_XSAVE_LAYOUT: owner = "LINUX"; break;
		case LG_NT_X86_SHSTK: owner = "LINUX"; break;
		case LG_NT_GDB_TDESC: owner = "GDB"; break;
		case NT_AUXV: case NT_FILE: break;
		default: owner = NULL; break;
		}
		if (owner && note_cmp_owner(n, owner)) {
			sizes_ok = false;
			snprintf(szwhy, sizeof(szwhy), "note %zu type 0x%x has owner '%s', want '%s'",
				 i, n->type, n->name, owner);
		}
		if (!owner || strcmp(n->name, owner))
			continue;
		if (want && n->descsz != want) {
			sizes_ok = false;
			snprintf(szwhy, sizeof(szwhy), "note %zu type %u is %zu bytes, want %zu",
				 i, n->type, n->descsz, want);
			if (n->type == NT_PRSTATUS) {
				/* Still a thread for ordering purposes, without registers. */
			} else {
				continue;
			}
		}
		switch (n->type) {
		case NT_PRSTATUS:
			if (LG_GROW(c->threads, tcap, c->nthreads + 1, 16)) {
				ck->oom = true;
				return;
			}
			cur = &c->threads[c->nthreads++];
			memset(cur, 0, sizeof(*cur));
			cur->note_idx = i;
			if (n->descsz == LG_PRSTATUS_SIZE) {
				cur->prstatus = n->desc;
				cur->tid = (int)lg_get32(n->desc + 32);
				memcpy(cur->regs, n->desc + LG_PRSTATUS_REG_OFF, sizeof(cur->regs));
			} else {
				cur->tid = -1;
			}
			break;
		case NT_FPREGSET:
		case NT_X86_XSTATE:
		case NT_SIGINFO: {
			const uint8_t **slot;
			size_t *ssz;
			if (!cur) {
				/* gdb and the kernel both write these only after a thread. */
				if (n->type != NT_SIGINFO || c->nthreads) {
					order_ok = false;
					snprintf(why, sizeof(why), "note %zu (type 0x%x) comes before any NT_PRSTATUS",
						 i, n->type);
				} else {
					order_ok = false;
					snprintf(why, sizeof(why), "NT_SIGINFO (note %zu) comes before any NT_PRSTATUS", i);
				}
				break;
			}
			slot = n->type == NT_FPREGSET ? &cur->fpregset :
			       n->type == NT_SIGINFO ? &cur->siginfo : &cur->xstate;
			ssz = n->type == NT_FPREGSET ? &cur->fpregset_size :
			      n->type == NT_SIGINFO ? &cur->siginfo_size : &cur->xstate_size;
			if (*slot) {
				order_ok = false;
				snprintf(why, sizeof(why), "thread %d has two notes of type 0x%x", cur->tid, n->type);
				break;
			}
			*slot = n->desc;
			*ssz = n->descsz;
			break;
		}
		case NT_PRPSINFO:
			if (c->prpsinfo) {
				sizes_ok = false;
				snprintf(szwhy, sizeof(szwhy), "two NT_PRPSINFO notes");
			}
			c->prpsinfo = n->desc;
			break;
		case NT_AUXV:
			if (!c->auxv) {
				c->auxv = n->desc;
				c->auxv_size = n->descsz;
			}
			break;
		case NT_FILE:
			if (!c->ntfiles && !c->nntfiles)
				parse_nt_file(c, n, ck);
			break;
		case LG_NT_X86_XSAVE_LAYOUT:
			/* Process-wide, after the threads; validate.c checks it. */
			if (!c->nxsave_layout++) {
				c->xsave_layout = n->desc;
				c->xsave_layout_size = n->descsz;
			}
			break;
		default:
			break;
		}
	}
	if (sizes_ok)
		lg_check_add(ck, LG_CHECK_PASS, "note.sizes", "owners and sizes as x86-64 readers require");
	else
		lg_check_add(ck, LG_CHECK_FAIL, "note.sizes", "%s", szwhy);
	if (!c->nthreads)
		lg_check_add(ck, LG_CHECK_FAIL, "note.thread-order", "no NT_PRSTATUS: the core has no thread");
	else if (order_ok)
		lg_check_add(ck, LG_CHECK_PASS, "note.thread-order",
			     "%zu threads, each NT_PRSTATUS before its regsets", c->nthreads);
	else
		lg_check_add(ck, LG_CHECK_FAIL, "note.thread-order", "%s", why);
}

static void parse_loads(struct lg_core *c, struct lg_check_list *ck)
{
	bool fs_ok = true, in_ok = true, sort_ok = true, ovl_ok = true;
	char w1[200] = "", w2[200] = "", w3[200] = "", w4[200] = "";
	size_t n = 0;

	for (size_t i = 0; i < c->phnum; i++)
		n += c->ph[i].p_type == PT_LOAD;
	c->loads = calloc(n ? n : 1, sizeof(*c->loads));
	if (!c->loads) {
		ck->oom = true;
		return;
	}
	for (size_t i = 0; i < c->phnum; i++) {
		const Elf64_Phdr *p = &c->ph[i];
		struct lg_core_load *l;

		if (p->p_type == PT_NOTE)
			c->nptnote++;
		if (p->p_type != PT_LOAD)
			continue;
		l = &c->loads[c->nloads++];
		l->vaddr = p->p_vaddr;
		l->memsz = p->p_memsz;
		l->offset = p->p_offset;
		l->filesz = p->p_filesz;
		l->flags = p->p_flags;
		l->align = p->p_align;
		l->phidx = i;
		if (l->filesz > l->memsz) {
			fs_ok = false;
			snprintf(w1, sizeof(w1), "PT_LOAD %zu at 0x%llx: p_filesz 0x%llx > p_memsz 0x%llx", i,
				 (unsigned long long)l->vaddr, (unsigned long long)l->filesz,
				 (unsigned long long)l->memsz);
		}
		if (l->vaddr + l->memsz < l->vaddr) {
			ovl_ok = false;
			snprintf(w4, sizeof(w4), "PT_LOAD %zu at 0x%llx wraps around the address space", i,
				 (unsigned long long)l->vaddr);
			l->memsz = 0;
		}
		if (in_file(l->offset, l->filesz, c->size)) {
			l->avail = l->filesz;
		} else {
			in_ok = false;
			snprintf(w2, sizeof(w2), "PT_LOAD %zu at 0x%llx: file bytes [0x%llx, +0x%llx) end past the end of the file (%zu bytes)",
				 i, (unsigned long long)l->vaddr, (unsigned long long)l->offset,
				 (unsigned long long)l->filesz, c->size);
			l->avail = l->offset < c->size ? c->size - l->offset : 0;
		}
		/* Never serve bytes beyond memsz either. */
		if (l->avail > l->memsz)
			l->avail = l->memsz;
		if (c->nloads > 1) {
			const struct lg_core_load *pr = &c->loads[c->nloads - 2];
			if (pr->vaddr > l->vaddr) {
				sort_ok = false;
				snprintf(w3, sizeof(w3), "PT_LOAD %zu at 0x%llx follows one at 0x%llx", i,
					 (unsigned long long)l->vaddr, (unsigned long long)pr->vaddr);
			} else if (pr->vaddr + pr->memsz > l->vaddr) {
				ovl_ok = false;
				snprintf(w4, sizeof(w4), "PT_LOAD at 0x%llx+0x%llx overlaps the one at 0x%llx",
					 (unsigned long long)pr->vaddr, (unsigned long long)pr->memsz,
					 (unsigned long long)l->vaddr);
			}
		}
	}
	lg_check_add(ck, fs_ok ? LG_CHECK_PASS : LG_CHECK_FAIL, "load.filesz", "%s",
		     fs_ok ? "p_filesz <= p_memsz everywhere" : w1);
	lg_check_add(ck, in_ok ? LG_CHECK_PASS : LG_CHECK_FAIL, "load.in-file", "%s",
		     in_ok ? "every PT_LOAD's data is inside the file" : w2);
	lg_check_add(ck, sort_ok ? LG_CHECK_PASS : LG_CHECK_FAIL, "load.sorted", "%s",
		     sort_ok ? "PT_LOADs sorted by address" : w3);
	lg_check_add(ck, ovl_ok ? LG_CHECK_PASS : LG_CHECK_FAIL, "load.overlap", "%s",
		     ovl_ok ? "no two PT_LOADs overlap" : w4);
	if (c->nptnote == 1)
		lg_check_add(ck, LG_CHECK_PASS, "phdr.note-count", "exactly one PT_NOTE");
	else
		lg_check_add(ck, LG_CHECK_FAIL, "phdr.note-count",
			     "%zu PT_NOTE segments (readers such as libdwfl use only the first)", c->nptnote);
}

int lg_core_open(struct lg_core *c, const char *path, struct lg_check_list *ck,
		 struct lg_error *err)
{
	struct stat st;
	int r = 0;
	uint64_t phnum, phbytes;
	void *m;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = strdup(path);
	if (!c->path) {
		r = lg_fail(err, ENOMEM, "%s", path);
		goto out;
	}
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0 || fstat(c->fd, &st) < 0) {
		r = lg_fail(err, errno, "cannot open %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = lg_failx(err, EINVAL, "%s is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size < sizeof(Elf64_Ehdr)) {
		r = lg_failx(err, ENOEXEC, "%s: %lld bytes is too short for an ELF header", path,
			     (long long)st.st_size);
		goto out;
	}
	c->size = st.st_size;
	m = mmap(NULL, c->size, PROT_READ, MAP_PRIVATE, c->fd, 0);
	if (m == MAP_FAILED) {
		r = lg_fail(err, errno, "cannot map %s", path);
		goto out;
	}
	c->map = m;
	if (memcmp(c->map, ELFMAG, SELFMAG)) {
		r = lg_failx(err, ENOEXEC, "%s: not an ELF file (bad magic)", path);
		goto out;
	}
	if (c->map[EI_CLASS] != ELFCLASS64 || c->map[EI_DATA] != ELFDATA2LSB) {
		lg_check_add(ck, LG_CHECK_FAIL, "elf.class",
			     "class %u data %u: only little-endian 64-bit (x86-64) cores are read",
			     c->map[EI_CLASS], c->map[EI_DATA]);
		goto out;
	}
	memcpy(&c->eh, c->map, sizeof(c->eh));
	if (c->eh.e_type == ET_CORE)
		lg_check_add(ck, LG_CHECK_PASS, "elf.type", "ET_CORE");
	else
		lg_check_add(ck, LG_CHECK_FAIL, "elf.type", "e_type %u is not ET_CORE", c->eh.e_type);
	if (c->eh.e_machine != EM_X86_64) {
		lg_check_add(ck, LG_CHECK_FAIL, "elf.machine", "e_machine %u is not EM_X86_64", c->eh.e_machine);
		goto out;
	}
	lg_check_add(ck, LG_CHECK_PASS, "elf.machine", "EM_X86_64");
	if (c->eh.e_phentsize != sizeof(Elf64_Phdr)) {
		lg_check_add(ck, LG_CHECK_FAIL, "phdr.in-file", "e_phentsize %u, want %zu",
			     c->eh.e_phentsize, sizeof(Elf64_Phdr));
		goto out;
	}
	phnum = c->eh.e_phnum;
	if (phnum == PN_XNUM) {
		/* More than 65534 segments: the real count is in section 0's sh_info. */
		Elf64_Shdr sh0;
		if (c->eh.e_shentsize < sizeof(Elf64_Shdr) || !in_file(c->eh.e_shoff, sizeof(sh0), c->size)) {
			lg_check_add(ck, LG_CHECK_FAIL, "phdr.extnum",
				     "e_phnum is PN_XNUM but section header 0 is not in the file");
			goto out;
		}
		memcpy(&sh0, c->map + c->eh.e_shoff, sizeof(sh0));
		phnum = sh0.sh_info;
		if (phnum < PN_XNUM)
			lg_check_add(ck, LG_CHECK_FAIL, "phdr.extnum",
				     "e_phnum is PN_XNUM but section 0 holds %llu (< 65535)", (unsigned long long)phnum);
		else
			lg_check_add(ck, LG_CHECK_PASS, "phdr.extnum", "%llu segments through section 0",
				     (unsigned long long)phnum);
	}
	phbytes = phnum * sizeof(Elf64_Phdr);	/* phnum < 2^32: no overflow */
	if (!in_file(c->eh.e_phoff, phbytes, c->size)) {
		lg_check_add(ck, LG_CHECK_FAIL, "phdr.in-file",
			     "%llu program headers at 0x%llx end past the end of the file (%zu bytes)",
			     (unsigned long long)phnum, (unsigned long long)c->eh.e_phoff, c->size);
		goto out;
	}
	lg_check_add(ck, LG_CHECK_PASS, "phdr.in-file", "%llu program headers at 0x%llx",
		     (unsigned long long)phnum, (unsigned long long)c->eh.e_phoff);
	c->phnum = phnum;
	c->ph = malloc(phbytes ? phbytes : 1);
	if (!c->ph) {
		r = lg_fail(err, ENOMEM, "%s", path);
		goto out;
	}
	memcpy(c->ph, c->map + c->eh.e_phoff, phbytes);
	parse_loads(c, ck);
	for (size_t i = 0; i < c->phnum; i++) {
		if (c->ph[i].p_type == PT_NOTE) {
			parse_notes(c, &c->ph[i], ck);
			break;
		}
	}
	c->structure_ok = true;
out:
	return r;
}

void lg_core_close(struct lg_core *c)
{
	if (c->map)
		munmap((void *)c->map, c->size);
	if (c->fd >= 0)
		close(c->fd);
	free(c->path);
	free(c->ph);
	free(c->loads);
	free(c->notes);
	free(c->threads);
	free(c->ntfiles);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

const struct lg_core_load *lg_core_load_at(const struct lg_core *c, uint64_t addr)
{
	/* Binary search would need sorted loads, which a hostile core need
	 * not have; cores have at most a few thousand segments. */
	for (size_t i = 0; i < c->nloads; i++) {
		const struct lg_core_load *l = &c->loads[i];
		if (addr >= l->vaddr && addr - l->vaddr < l->memsz)
			return l;
	}
	return NULL;
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
		memcpy((uint8_t *)buf + done, c->map + l->offset + (a - l->vaddr), k);
		done += k;
	}
	return done;
}

const struct lg_core_ntfile *lg_core_ntfile_at(const struct lg_core *c, uint64_t addr)
{
	for (size_t i = 0; i < c->nntfiles; i++)
		if (addr >= c->ntfiles[i].start && addr < c->ntfiles[i].end)
			return &c->ntfiles[i];
	return NULL;
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
