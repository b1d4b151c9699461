#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/validate.h"
#include "check/xsave.h"
#include "common/grow.h"

/* The dumped process's r_debug and link_map, as glibc's <link.h> lays
 * them out (x86-64, like lcorecheck itself). */
#define RDEBUG_MAP_OFF offsetof(struct r_debug, r_map)
#define LM_NAME_OFF offsetof(struct link_map, l_name)
#define LM_NEXT_OFF offsetof(struct link_map, l_next)
/* No real process has this many objects; a longer chain is a loop. */
#define LM_MAX 65536

static void check_notes_present(struct lg_core *c, struct lg_check_list *ck)
{
	uint64_t last = 1;

	if (c->prpsinfo)
		lg_check_add(ck, LG_CHECK_PASS, "note.prpsinfo", "NT_PRPSINFO present, pid %u, fname '%.16s'",
			     lg_get32(c->prpsinfo + LG_PRPSINFO_OFF(pr_pid)),
			     (const char *)c->prpsinfo + LG_PRPSINFO_OFF(pr_fname));
	else
		lg_check_add(ck, LG_CHECK_FAIL, "note.prpsinfo",
			     "no usable NT_PRPSINFO (libdwfl then sees no threads)");
	if (!c->auxv)
		lg_check_add(ck, LG_CHECK_FAIL, "note.auxv", "no NT_AUXV (gdb cannot relocate a PIE without it)");
	else if (c->auxv_size % 16 || c->auxv_size < 16)
		lg_check_add(ck, LG_CHECK_FAIL, "note.auxv", "NT_AUXV of %zu bytes is not whole (type, value) pairs",
			     c->auxv_size);
	else if ((last = lg_get64(c->auxv + c->auxv_size - 16)) != AT_NULL)
		lg_check_add(ck, LG_CHECK_FAIL, "note.auxv", "NT_AUXV does not end in AT_NULL (last type %llu)",
			     (unsigned long long)last);
	else
		lg_check_add(ck, LG_CHECK_PASS, "note.auxv", "%zu entries ending in AT_NULL", c->auxv_size / 16);
	if (c->nntfiles || c->ntfile_page_size)
		lg_check_add(ck, LG_CHECK_PASS, "note.file", "NT_FILE present");
	else if (!lg_check_failed(ck, "note.file.format"))
		lg_check_add(ck, LG_CHECK_FAIL, "note.file", "no NT_FILE (modules then have no names)");
	else
		lg_check_add(ck, LG_CHECK_FAIL, "note.file", "NT_FILE unusable");
}

/* NT_X86_XSAVE_LAYOUT, when present, must be well-formed and describe the
 * NT_X86_XSTATE of every thread: readers (gdb 14, lcorecheck) locate the
 * extended registers with it instead of their own CPU's layout. */
void lg_check_xsave_layout(const struct lg_core *c, struct lg_check_list *ck)
{
	struct lg_xsave_layout l;
	char why[200];
	size_t n = 0;

	if (!c->nxsave_layout) {
		lg_check_add(ck, LG_CHECK_SKIP, "note.xsave-layout",
			     "no NT_X86_XSAVE_LAYOUT (gdb and kernels before 6.11 write none)");
		return;
	}
	if (c->nxsave_layout > 1) {
		lg_check_add(ck, LG_CHECK_FAIL, "note.xsave-layout", "%zu NT_X86_XSAVE_LAYOUT notes, the kernel writes one",
			     c->nxsave_layout);
		return;
	}
	if (lg_xsave_layout_parse(c->xsave_layout, c->xsave_layout_size, &l, why, sizeof(why)) < 0) {
		lg_check_add(ck, LG_CHECK_FAIL, "note.xsave-layout", "NT_X86_XSAVE_LAYOUT: %s", why);
		return;
	}
	for (size_t i = 0; i < c->nthreads; i++) {
		const struct lg_core_thread *t = &c->threads[i];
		if (!t->xstate)
			continue;
		if (t->xstate_size < LG_XSAVE_EXT_START) {
			lg_check_add(ck, LG_CHECK_FAIL, "note.xsave-layout",
				     "thread %d: NT_X86_XSTATE of %zu bytes is shorter than the XSAVE header", t->tid,
				     t->xstate_size);
			return;
		}
		if (lg_xsave_layout_consistent(&l, t->xstate_size, lg_get64(t->xstate + LG_XSTATE_XCR0_OFF), why,
					       sizeof(why)) < 0) {
			lg_check_add(ck, LG_CHECK_FAIL, "note.xsave-layout", "thread %d: %s", t->tid, why);
			return;
		}
		n++;
	}
	if (!n)
		lg_check_add(ck, LG_CHECK_FAIL, "note.xsave-layout", "NT_X86_XSAVE_LAYOUT but no NT_X86_XSTATE to describe");
	else
		lg_check_add(ck, LG_CHECK_PASS, "note.xsave-layout",
			     "%zu components ending at %llu, the NT_X86_XSTATE size of %zu threads", l.n,
			     (unsigned long long)lg_xsave_layout_end(&l), n);
}

static void check_auxv_addrs(struct lg_core *c, struct lg_check_list *ck)
{
	static const struct { uint64_t type; const char *id, *name; } want[] = {
		{ AT_PHDR, "auxv.phdr", "AT_PHDR" },
		{ AT_ENTRY, "auxv.entry", "AT_ENTRY" },
		{ AT_SYSINFO_EHDR, "auxv.sysinfo-ehdr", "AT_SYSINFO_EHDR" },
	};

	for (size_t i = 0; i < LG_ARRAY_SIZE(want); i++) {
		uint64_t v;
		if (!c->auxv) {
			lg_check_add(ck, LG_CHECK_SKIP, want[i].id, "no NT_AUXV");
		} else if (!lg_core_auxv(c, want[i].type, &v) || (!v && want[i].type == AT_SYSINFO_EHDR)) {
			if (want[i].type == AT_SYSINFO_EHDR)
				lg_check_add(ck, LG_CHECK_SKIP, want[i].id, "no vDSO in this process");
			else
				lg_check_add(ck, LG_CHECK_FAIL, want[i].id, "%s missing from NT_AUXV", want[i].name);
		} else if (!lg_core_load_at(c, v) && lg_core_ntfile_at(c, v)) {
			/* gdb writes PT_LOADs only for what it dumps; NT_FILE
			 * still maps the address. */
			lg_check_expected(ck, "load.undumped", want[i].id, "%s 0x%llx is in no PT_LOAD but in NT_FILE's %s",
					  want[i].name, (unsigned long long)v, lg_core_ntfile_at(c, v)->name);
		} else if (!lg_core_load_at(c, v)) {
			lg_check_add(ck, LG_CHECK_FAIL, want[i].id, "%s 0x%llx is in no PT_LOAD", want[i].name,
				     (unsigned long long)v);
		} else {
			lg_check_add(ck, LG_CHECK_PASS, want[i].id, "%s 0x%llx inside a PT_LOAD", want[i].name,
				     (unsigned long long)v);
		}
	}
}

/* Whether the file at PATH starts with ELF magic: 1 yes, 0 no, -1 unknown. */
static int file_is_elf(const char *path)
{
	char m[SELFMAG];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), r = -1;

	if (fd < 0)
		return -1;
	if (read(fd, m, SELFMAG) == SELFMAG)
		r = !memcmp(m, ELFMAG, SELFMAG);
	close(fd);
	return r;
}

static void check_elf_headers(struct lg_core *c, struct lg_check_list *ck)
{
	size_t n = 0, ok = 0, unknown = 0;
	bool failed = false;
	char why[300] = "";

	for (size_t i = 0; i < c->nntfiles; i++) {
		const struct lg_core_ntfile *f = &c->ntfiles[i];
		uint8_t m[SELFMAG];
		int disk;

		if (f->offset != 0)
			continue;
		n++;
		if (lg_core_read(c, f->start, m, SELFMAG) == SELFMAG) {
			/* Non-ELF files mapped at offset 0 (locale archives, fonts)
			 * are fine without magic. */
			if (!memcmp(m, ELFMAG, SELFMAG) || file_is_elf(f->name) != 1) {
				ok++;
				continue;
			}
			failed = true;
			snprintf(why, sizeof(why), "%s at 0x%llx: the core's bytes do not start with ELF magic",
				 f->name, (unsigned long long)f->start);
			continue;
		}
		disk = file_is_elf(f->name);
		if (disk == 1) {
			failed = true;
			snprintf(why, sizeof(why), "%s at 0x%llx: ELF header page not in the core",
				 f->name, (unsigned long long)f->start);
		} else if (disk < 0) {
			unknown++;
		} else {
			ok++;
		}
	}
	if (failed)
		lg_check_add(ck, LG_CHECK_FAIL, "nt_file.elf-magic", "%s", why);
	else if (!n)
		lg_check_add(ck, LG_CHECK_SKIP, "nt_file.elf-magic", "no NT_FILE entry at offset 0");
	else
		lg_check_add(ck, LG_CHECK_PASS, "nt_file.elf-magic",
			     "%zu of %zu offset-0 mappings verified%s", ok, n,
			     unknown ? " (others not dumped and their files absent)" : "");
}

/* The executable's program headers and the link_map names may be in
 * read-only pages that a core need not hold (old kernels did not dump ELF
 * headers); gdb reads those from the files, and so do we.  .dynamic,
 * r_debug and the link_map entries are writable data: the core must hold
 * them. */
static void check_rdebug(struct lg_core_view *v, struct lg_check_list *ck)
{
	struct lg_core *c = &v->core;
	uint64_t phdr, phnum, base = 0, bias = 0, dyn = 0, dynsz = 0, rdebug = 0, lm;
	bool have_phdr = false;
	size_t n = 0, noname = 0;

	if (!lg_core_auxv(c, AT_PHDR, &phdr) || !lg_core_auxv(c, AT_PHNUM, &phnum)) {
		lg_check_add(ck, LG_CHECK_SKIP, "rdebug.link-map", "no AT_PHDR/AT_PHNUM");
		return;
	}
	if (phnum > 1024) {
		lg_check_add(ck, LG_CHECK_FAIL, "rdebug.link-map", "AT_PHNUM %llu is absurd", (unsigned long long)phnum);
		return;
	}
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		if (lg_unwind_read_mem(&v->uw, phdr + i * sizeof(ph), &ph, sizeof(ph)) < 0) {
			/* Not the core's fault when only the file is missing:
			 * kernel cores before coredump_filter bit 4 lack ELF headers. */
			lg_check_add(ck, LG_CHECK_SKIP, "rdebug.link-map",
				     "the executable's program headers at 0x%llx are not in the core and its file was not found (--exe)",
				     (unsigned long long)phdr);
			return;
		}
		if (ph.p_type == PT_PHDR) {
			bias = phdr - ph.p_vaddr;
			have_phdr = true;
		} else if (ph.p_type == PT_INTERP) {
			base = 1;
		} else if (ph.p_type == PT_DYNAMIC) {
			dyn = ph.p_vaddr;
			dynsz = ph.p_memsz;
		}
	}
	/* Only ld.so fills DT_DEBUG: static executables have no r_debug. */
	if (!base) {
		lg_check_add(ck, LG_CHECK_SKIP, "rdebug.link-map", "no PT_INTERP (static executable)");
		return;
	}
	if (!have_phdr || !dynsz) {
		lg_check_add(ck, LG_CHECK_SKIP, "rdebug.link-map", "executable has no PT_PHDR or PT_DYNAMIC");
		return;
	}
	dyn += bias;
	for (uint64_t off = 0; off + 16 <= dynsz && off < (1u << 20); off += 16) {
		Elf64_Dyn d;
		if (lg_core_read(c, dyn + off, &d, sizeof(d)) != sizeof(d)) {
			lg_check_add(ck, LG_CHECK_FAIL, "rdebug.link-map", ".dynamic at 0x%llx is not in the core",
				     (unsigned long long)(dyn + off));
			return;
		}
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_DEBUG)
			rdebug = d.d_un.d_ptr;
	}
	if (!rdebug) {
		lg_check_add(ck, LG_CHECK_FAIL, "rdebug.link-map", "DT_DEBUG is 0 or missing in .dynamic at 0x%llx",
			     (unsigned long long)dyn);
		return;
	}
	if (lg_core_read(c, rdebug + RDEBUG_MAP_OFF, &lm, 8) != 8) {
		lg_check_add(ck, LG_CHECK_FAIL, "rdebug.link-map", "r_debug at 0x%llx is not in the core",
			     (unsigned long long)rdebug);
		return;
	}
	for (; lm; n++) {
		uint64_t name, next;
		char s[2];
		if (n >= LM_MAX) {
			lg_check_add(ck, LG_CHECK_FAIL, "rdebug.link-map", "link_map chain longer than %d: a loop", LM_MAX);
			return;
		}
		if (lg_core_read(c, lm + LM_NAME_OFF, &name, 8) != 8 ||
		    lg_core_read(c, lm + LM_NEXT_OFF, &next, 8) != 8) {
			lg_check_add(ck, LG_CHECK_FAIL, "rdebug.link-map", "link_map entry %zu at 0x%llx is not in the core",
				     n, (unsigned long long)lm);
			return;
		}
		/* Names live in ld.so's read-only data or the heap; the former
		 * is legitimately undumped, so only count them. */
		if (name && lg_unwind_read_mem(&v->uw, name, s, 1) < 0)
			noname++;
		lm = next;
	}
	lg_check_add(ck, LG_CHECK_PASS, "rdebug.link-map", "r_debug at 0x%llx, %zu link_map entries%s",
		     (unsigned long long)rdebug, n, noname ? " (some names in files not found)" : "");
}

static void check_first_thread(struct lg_core *c, struct lg_check_list *ck)
{
	const struct lg_core_thread *t = c->nthreads ? &c->threads[0] : NULL;
	int pid = c->prpsinfo ? (int)lg_get32(c->prpsinfo + LG_PRPSINFO_OFF(pr_pid)) : -1;

	if (!t || !t->prstatus || pid < 0) {
		lg_check_add(ck, LG_CHECK_SKIP, "thread.first", "no usable first thread or NT_PRPSINFO");
		return;
	}
	/* Readers take the first NT_PRSTATUS as the current thread: the main
	 * thread (gdb) or the one that received the signal (the kernel). */
	if (t->tid == pid || lg_get16(t->prstatus + LG_PRSTATUS_OFF(pr_cursig)))
		lg_check_add(ck, LG_CHECK_PASS, "thread.first", "first thread %d is the main or signalled thread", t->tid);
	else
		lg_check_add(ck, LG_CHECK_FAIL, "thread.first",
			     "first thread %d is neither the main thread %d nor signalled", t->tid, pid);
}

bool lg_frame_equal(const struct lg_frame *a, const struct lg_frame *b)
{
	return a->pc == b->pc;
}

/* One unwinder ran on every one of the core's NTHREADS threads and found
 * frames in each (check unwind.<unwinder>). */
static void check_unwound(const struct lg_backtrace *b, size_t nthreads, struct lg_check_list *ck)
{
	size_t empty = 0, frames = 0;
	char id[32];

	snprintf(id, sizeof(id), "unwind.%s", b->unwinder);
	if (b->error) {
		lg_check_add(ck, LG_CHECK_FAIL, id, "%s", b->error);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		empty += b->t[i].n == 0;
		frames += b->t[i].n;
	}
	if (b->n != nthreads || empty)
		lg_check_add(ck, LG_CHECK_FAIL, id, "%zu threads of %zu unwound, %zu without frames", b->n, nthreads,
			     empty);
	else
		lg_check_add(ck, LG_CHECK_PASS, id, "%zu threads, %zu frames", b->n, frames);
}

static void check_unwinders(struct lg_core_view *v, struct lg_check_list *ck)
{
	const struct lg_backtrace *d = &v->bt[0], *u = &v->bt[1];
	char why[300] = "", dwhy[300] = "";
	bool agree = true;
	size_t degraded = 0;

	check_unwound(d, v->core.nthreads, ck);
	check_unwound(u, v->core.nthreads, ck);
	if (d->error || u->error) {
		lg_check_add(ck, LG_CHECK_SKIP, "unwind.agree", "an unwinder did not run");
		return;
	}
	for (size_t i = 0; i < d->n && agree; i++) {
		const struct lg_thread_bt *td = &d->t[i], *tu = lg_backtrace_thread(u, td->tid);
		if (!tu) {
			agree = false;
			snprintf(why, sizeof(why), "thread %d unwound by libdwfl only", td->tid);
			break;
		}
		/* The outermost frames are where unwinders legitimately stop at
		 * different places (no CFI for _start, clone's end marker): the
		 * frames both produced must be the same. */
		size_t n = td->n < tu->n ? td->n : tu->n;
		for (size_t j = 0; j < n; j++) {
			if (!lg_frame_equal(&td->f[j], &tu->f[j]) && tu->degraded_at >= 0 &&
			    (long)j > tu->degraded_at) {
				degraded++;
				snprintf(dwhy, sizeof(dwhy), "thread %d from frame #%zu: libunwind had no unwind table for %s",
					 td->tid, j, tu->degraded_why ? tu->degraded_why : "?");
				break;
			}
			if (!lg_frame_equal(&td->f[j], &tu->f[j])) {
				agree = false;
				snprintf(why, sizeof(why), "thread %d frame #%zu: libdwfl 0x%llx %s, libunwind 0x%llx %s",
					 td->tid, j, (unsigned long long)td->f[j].pc,
					 td->f[j].name ? td->f[j].name : "??", (unsigned long long)tu->f[j].pc,
					 tu->f[j].name ? tu->f[j].name : "??");
				break;
			}
		}
		if (agree && !degraded && td->n != tu->n && n < 2) {
			agree = false;
			snprintf(why, sizeof(why), "thread %d: libdwfl %zu frames, libunwind %zu", td->tid, td->n, tu->n);
		}
	}
	if (agree && degraded)
		lg_check_add(ck, LG_CHECK_SKIP, "unwind.agree",
			     "agree up to where libunwind lacked an unwind table, %zu threads: %s", degraded, dwhy);
	else if (agree)
		lg_check_add(ck, LG_CHECK_PASS, "unwind.agree", "libdwfl and libunwind agree on every thread");
	else
		lg_check_add(ck, LG_CHECK_FAIL, "unwind.agree", "%s", why);
}

static void prefix_ids(struct lg_check_list *ck, size_t from, const char *prefix)
{
	if (!prefix || !*prefix)
		return;
	for (size_t i = from; i < ck->n; i++) {
		char *id;
		if (asprintf(&id, "%s%s", prefix, ck->v[i].id) < 0) {
			ck->oom = true;
			return;
		}
		free(ck->v[i].id);
		ck->v[i].id = id;
	}
}

int lg_check_validate(struct lg_core_view *v, const char *path, const char *exe,
		      const char *prefix, struct lg_check_list *ck, struct lg_error *err)
{
	size_t from = ck->n;
	bool sound;
	int r;

	memset(v, 0, sizeof(*v));
	r = lg_core_open(&v->core, path, ck, err);
	if (r < 0)
		goto out;
	v->core_open = true;
	if (!v->core.structure_ok)
		goto out;
	check_notes_present(&v->core, ck);
	lg_check_xsave_layout(&v->core, ck);
	check_first_thread(&v->core, ck);
	check_auxv_addrs(&v->core, ck);
	check_elf_headers(&v->core, ck);

	/* libunwind's _UCD_create trusts the file; only hand it cores whose
	 * structure passed (a fuzzed core must not crash us through it). */
	sound = !lg_check_failed(ck, "elf.") && !lg_check_failed(ck, "phdr.") &&
		!lg_check_failed(ck, "load.") && !lg_check_failed(ck, "note.in-file") &&
		!lg_check_failed(ck, "note.align") && !lg_check_failed(ck, "note.sizes") &&
		!lg_check_failed(ck, "note.thread-order") && !lg_check_failed(ck, "note.file.format");
	r = lg_unwind_open(&v->uw, &v->core, exe, err);
	if (r < 0)
		goto out;
	v->uw_open = true;
	check_rdebug(v, ck);
	r = lg_unwind_modules(&v->uw, &v->mods);
	if (r < 0)
		goto out;
	if (v->mods.n)
		lg_check_add(ck, LG_CHECK_PASS, "modules", "%zu modules reported by libdwfl", v->mods.n);
	else
		lg_check_add(ck, LG_CHECK_FAIL, "modules", "libdwfl found no module");
	r = lg_unwind_dwfl(&v->uw, &v->bt[0]);
	if (r < 0)
		goto out;
	if (sound) {
		r = lg_unwind_libunwind(&v->uw, &v->bt[1]);
		if (r < 0)
			goto out;
	} else {
		v->bt[1].unwinder = "libunwind";
		v->bt[1].error = strdup("not run: the core's structure is broken");
	}
	check_unwinders(v, ck);
out:
	prefix_ids(ck, from, prefix);
	return r;
}

void lg_core_view_free(struct lg_core_view *v)
{
	lg_backtrace_free(&v->bt[0]);
	lg_backtrace_free(&v->bt[1]);
	lg_modules_free(&v->mods);
	if (v->uw_open)
		lg_unwind_close(&v->uw);
	if (v->core_open)
		lg_core_close(&v->core);
	memset(v, 0, sizeof(*v));
}
