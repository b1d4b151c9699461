/* The notes of a core's first PT_NOTE, the only one libdwfl reads.
 * libelf walks them (gelf_getnote over elf_getdata_rawchunk, with the
 * note alignment dwfl_core_file_report chooses: 8 bytes when p_align is
 * 8, else 4); the rules here are what x86-64 readers need of them: owners
 * and sizes, each thread's regsets after its NT_PRSTATUS, one well-formed
 * NT_FILE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/core_impl.h"
#include "common/grow.h"

/* NT_FILE (fs/binfmt_elf.c fill_files_note): count and page size, then
 * (start, end, file offset in pages) per entry, then the NUL-terminated
 * names in the same order. */
#define NTFILE_HEADER 16
#define NTFILE_ENTRY 24

static void parse_nt_file(struct lg_core *c, const struct lg_core_note *n,
			  struct lg_check_list *ck)
{
	const uint8_t *d = n->desc, *names, *end = n->desc + n->descsz;
	uint64_t count, psz;

	if (n->descsz < NTFILE_HEADER) {
		lg_check_add(ck, LG_CHECK_FAIL, "note.file.format", "NT_FILE of %zu bytes has no header", n->descsz);
		return;
	}
	count = lg_get64(d);
	psz = lg_get64(d + 8);
	if (count > (n->descsz - NTFILE_HEADER) / NTFILE_ENTRY) {
		lg_check_add(ck, LG_CHECK_FAIL, "note.file.format",
			     "NT_FILE claims %llu entries, its %zu bytes hold at most %zu",
			     (unsigned long long)count, n->descsz, (n->descsz - NTFILE_HEADER) / NTFILE_ENTRY);
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
	names = d + NTFILE_HEADER + count * NTFILE_ENTRY;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *e = d + NTFILE_HEADER + i * NTFILE_ENTRY;
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
	if (lg_spans_alloc(&c->ntfile_spans, count) < 0) {
		ck->oom = true;
		goto bad;
	}
	for (uint64_t i = 0; i < count; i++)
		lg_spans_set(&c->ntfile_spans, i, c->ntfiles[i].start, c->ntfiles[i].end);
	lg_spans_sort(&c->ntfile_spans);
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

/* The notes as libelf walks them (note.in-file, note.align). */
static void walk_notes(struct lg_core *c, const GElf_Phdr *ph, struct lg_check_list *ck)
{
	uint64_t off = ph->p_offset, len = ph->p_filesz;
	size_t cap = 0, pos = 0;
	bool align_ok = true;
	char why[200] = "";
	Elf_Data *d = NULL;

	if (!lg_core_in_file(off, len, c->size)) {
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
	if (len) {
		/* Inside the file: only an allocation can fail. */
		d = elf_getdata_rawchunk(c->elf, off, len, ph->p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (!d)
			ck->oom = true;
	}
	while (d && pos < d->d_size) {
		const uint8_t *base = d->d_buf, *p = base + pos;
		size_t next, name_off, desc_off;
		struct lg_core_note *n;
		GElf_Nhdr nh;

		next = gelf_getnote(d, pos, &nh, &name_off, &desc_off);
		if (!next && d->d_size - pos < sizeof(nh)) {
			align_ok = false;
			snprintf(why, sizeof(why), "%llu stray bytes after the last note",
				 (unsigned long long)(d->d_size - pos));
			break;
		}
		if (!next) {
			align_ok = false;
			snprintf(why, sizeof(why), "note %zu (type 0x%x) at offset 0x%llx runs past the PT_NOTE",
				 c->nnotes, lg_get32(p + 8), (unsigned long long)(off + pos));
			break;
		}
		if (LG_GROW(c->notes, cap, c->nnotes + 1, 32)) {
			ck->oom = true;
			break;
		}
		n = &c->notes[c->nnotes++];
		memset(n, 0, sizeof(*n));
		n->type = nh.n_type;
		n->namesz = nh.n_namesz;
		if (nh.n_namesz) {
			size_t k = nh.n_namesz < sizeof(n->name) ? nh.n_namesz : sizeof(n->name) - 1;
			memcpy(n->name, base + name_off, k);
			n->name[k] = 0;
			/* The owner must be NUL-terminated inside namesz. */
			if (base[name_off + nh.n_namesz - 1] != 0) {
				align_ok = false;
				snprintf(why, sizeof(why), "note %zu owner name is not NUL-terminated", c->nnotes - 1);
			}
		}
		n->desc = base + desc_off;
		n->descsz = nh.n_descsz;
		n->offset = off + pos;
		pos = next;
	}
	if (align_ok)
		lg_check_add(ck, LG_CHECK_PASS, "note.align", "%zu notes, 4-byte aligned, PT_NOTE filled exactly", c->nnotes);
	else
		lg_check_add(ck, LG_CHECK_FAIL, "note.align", "%s", why);
}

/* The owner and, for fixed-size descriptors, the size x86-64 readers
 * require of each note type they interpret. */
static const struct note_rule {
	uint32_t type;
	const char *owner;
	size_t size;		/* 0: any */
} note_rules[] = {
	{ NT_PRSTATUS, "CORE", LG_PRSTATUS_SIZE },
	{ NT_PRPSINFO, "CORE", LG_PRPSINFO_SIZE },
	{ NT_FPREGSET, "CORE", LG_FPREGSET_SIZE },
	{ NT_SIGINFO, "CORE", LG_SIGINFO_SIZE },
	{ NT_AUXV, "CORE", 0 },
	{ NT_FILE, "CORE", 0 },
	{ NT_X86_XSTATE, "LINUX", 0 },
	{ LG_NT_X86_XSAVE_LAYOUT, "LINUX", 0 },
	{ LG_NT_X86_SHSTK, "LINUX", 0 },
	{ LG_NT_GDB_TDESC, "GDB", 0 },
};

static const struct note_rule *note_rule(uint32_t type)
{
	for (size_t i = 0; i < LG_ARRAY_SIZE(note_rules); i++)
		if (note_rules[i].type == type)
			return &note_rules[i];
	return NULL;
}

/* What sorting the notes found wrong; the last reason of each kind is
 * the one reported. */
struct note_findings {
	bool sizes_ok, order_ok;
	char sizes_why[200], order_why[200];
};

/* An NT_PRSTATUS starts a thread; without the right size it still counts for
 * the order of the regsets, without registers. */
static struct lg_core_thread *add_thread(struct lg_core *c, size_t *cap, size_t note_idx,
					 const struct lg_core_note *n, bool sized)
{
	struct lg_core_thread *t;

	if (LG_GROW(c->threads, *cap, c->nthreads + 1, 16))
		return NULL;
	t = &c->threads[c->nthreads++];
	memset(t, 0, sizeof(*t));
	t->note_idx = note_idx;
	t->tid = -1;
	if (sized) {
		t->prstatus = n->desc;
		t->tid = (int)lg_get32(n->desc + LG_PRSTATUS_OFF(pr_pid));
		memcpy(t->regs, n->desc + LG_PRSTATUS_OFF(pr_reg), sizeof(t->regs));
	}
	return t;
}

/* NT_FPREGSET, NT_X86_XSTATE, NT_SIGINFO belong to the NT_PRSTATUS
 * before them (what Go tools and libdwfl assume). */
static void add_regset(struct lg_core_thread *t, size_t note_idx, const struct lg_core_note *n,
		       struct note_findings *f)
{
	const uint8_t **slot;
	size_t *size;

	if (!t) {
		f->order_ok = false;
		if (n->type == NT_SIGINFO)
			snprintf(f->order_why, sizeof(f->order_why),
				 "NT_SIGINFO (note %zu) comes before any NT_PRSTATUS", note_idx);
		else
			snprintf(f->order_why, sizeof(f->order_why),
				 "note %zu (type 0x%x) comes before any NT_PRSTATUS", note_idx, n->type);
		return;
	}
	slot = n->type == NT_FPREGSET ? &t->fpregset : n->type == NT_SIGINFO ? &t->siginfo : &t->xstate;
	size = n->type == NT_FPREGSET ? &t->fpregset_size :
	       n->type == NT_SIGINFO ? &t->siginfo_size : &t->xstate_size;
	if (*slot) {
		f->order_ok = false;
		snprintf(f->order_why, sizeof(f->order_why), "thread %d has two notes of type 0x%x", t->tid, n->type);
		return;
	}
	*slot = n->desc;
	*size = n->descsz;
}

/* Process-wide notes may sit anywhere: the kernel writes them inside the
 * first thread's notes (fs/binfmt_elf.c write_note_info). */
static void add_process_note(struct lg_core *c, const struct lg_core_note *n, struct lg_check_list *ck,
			     struct note_findings *f)
{
	switch (n->type) {
	case NT_PRPSINFO:
		if (c->prpsinfo) {
			f->sizes_ok = false;
			snprintf(f->sizes_why, sizeof(f->sizes_why), "two NT_PRPSINFO notes");
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
		/* Until one parses: a broken first one leaves none. */
		if (!c->ntfiles)
			parse_nt_file(c, n, ck);
		break;
	case LG_NT_X86_XSAVE_LAYOUT:
		/* validate.c judges it (note.xsave-layout). */
		if (!c->nxsave_layout++) {
			c->xsave_layout = n->desc;
			c->xsave_layout_size = n->descsz;
		}
		break;
	default:
		break;
	}
}

/* Hand every note whose owner and size are right to its thread or to the
 * process (note.sizes, note.thread-order). */
static void sort_notes(struct lg_core *c, struct lg_check_list *ck)
{
	struct note_findings f = { .sizes_ok = true, .order_ok = true };
	struct lg_core_thread *cur = NULL;
	size_t tcap = 0;

	for (size_t i = 0; i < c->nnotes; i++) {
		const struct lg_core_note *n = &c->notes[i];
		const struct note_rule *rule = note_rule(n->type);
		bool sized;

		if (!rule)
			continue;
		if (strcmp(n->name, rule->owner)) {
			f.sizes_ok = false;
			snprintf(f.sizes_why, sizeof(f.sizes_why), "note %zu type 0x%x has owner '%s', want '%s'",
				 i, n->type, n->name, rule->owner);
			continue;
		}
		sized = !rule->size || n->descsz == rule->size;
		if (!sized) {
			f.sizes_ok = false;
			snprintf(f.sizes_why, sizeof(f.sizes_why), "note %zu type %u is %zu bytes, want %zu",
				 i, n->type, n->descsz, rule->size);
			if (n->type != NT_PRSTATUS)
				continue;
		}
		switch (n->type) {
		case NT_PRSTATUS:
			cur = add_thread(c, &tcap, i, n, sized);
			if (!cur) {
				ck->oom = true;
				return;
			}
			break;
		case NT_FPREGSET:
		case NT_X86_XSTATE:
		case NT_SIGINFO:
			add_regset(cur, i, n, &f);
			break;
		default:
			add_process_note(c, n, ck, &f);
			break;
		}
	}
	if (f.sizes_ok)
		lg_check_add(ck, LG_CHECK_PASS, "note.sizes", "owners and sizes as x86-64 readers require");
	else
		lg_check_add(ck, LG_CHECK_FAIL, "note.sizes", "%s", f.sizes_why);
	if (!c->nthreads)
		lg_check_add(ck, LG_CHECK_FAIL, "note.thread-order", "no NT_PRSTATUS: the core has no thread");
	else if (f.order_ok)
		lg_check_add(ck, LG_CHECK_PASS, "note.thread-order",
			     "%zu threads, each NT_PRSTATUS before its regsets", c->nthreads);
	else
		lg_check_add(ck, LG_CHECK_FAIL, "note.thread-order", "%s", f.order_why);
}

void lg_core_read_notes(struct lg_core *c, const GElf_Phdr *ph, struct lg_check_list *ck)
{
	walk_notes(c, ph, ck);
	sort_notes(c, ck);
}
