#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/unwind/unwind.h"
#include "common/grow.h"

/* The callbacks eu-stack uses for cores (libdwfl/argp-std.c): files by
 * build-id or by the NT_FILE path, separate debuginfo the standard way.
 * Using the same ones keeps our backtraces comparable with eu-stack's. */
static char *lg_debuginfo_path;
static const Dwfl_Callbacks lg_core_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &lg_debuginfo_path,
};

int lg_unwind_open(struct lg_unwind *u, const struct lg_core *core, const char *exe,
		   struct lg_error *err)
{
	int r = 0;

	memset(u, 0, sizeof(*u));
	u->core = core;
	u->dwfl = dwfl_begin(&lg_core_callbacks);
	if (!u->dwfl) {
		r = lg_failx(err, ENOMEM, "dwfl_begin: %s", dwfl_errmsg(-1));
		goto out;
	}
	dwfl_report_begin(u->dwfl);
	u->nmodules_reported = dwfl_core_file_report(u->dwfl, core->elf, exe);
	if (u->nmodules_reported < 0) {
		r = lg_failx(err, ENOEXEC, "libdwfl cannot read %s: %s", core->path, dwfl_errmsg(-1));
		goto out;
	}
	if (dwfl_report_end(u->dwfl, NULL, NULL) != 0) {
		r = lg_failx(err, ENOEXEC, "libdwfl cannot read %s: %s", core->path, dwfl_errmsg(-1));
		goto out;
	}
out:
	if (r < 0)
		lg_unwind_close(u);
	return r;
}

void lg_unwind_close(struct lg_unwind *u)
{
	/* dwfl_end leaves the core's Elf alone: libdwfl closes only one it
	 * opened itself (dwfl_end.c, user_core from argp). */
	if (u->dwfl)
		dwfl_end(u->dwfl);
	u->dwfl = NULL;
}

/* dwfl_getmodules' callback state: the list being built. */
struct module_walk {
	struct lg_modules *m;
	size_t cap;
	bool oom;
};

static int module_cb(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start, void *arg)
{
	struct module_walk *a = arg;
	struct lg_module *e;
	const unsigned char *bits;
	GElf_Addr vaddr;
	Dwarf_Addr low, high;
	int n;

	if (LG_GROW(a->m->v, a->cap, a->m->n + 1, 32)) {
		a->oom = true;
		return DWARF_CB_ABORT;
	}
	e = &a->m->v[a->m->n];
	memset(e, 0, sizeof(*e));
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	e->start = low;
	e->end = high;
	e->name = strdup(name ? name : "");
	if (!e->name) {
		a->oom = true;
		return DWARF_CB_ABORT;
	}
	n = dwfl_module_build_id(mod, &bits, &vaddr);
	for (int i = 0; n > 0 && i < n && i < 64; i++)
		snprintf(e->build_id + 2 * i, 3, "%02x", bits[i]);
	a->m->n++;
	return DWARF_CB_OK;
}

static int module_cmp(const void *x, const void *y)
{
	const struct lg_module *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

int lg_unwind_modules(struct lg_unwind *u, struct lg_modules *out)
{
	struct module_walk a = { .m = out };

	memset(out, 0, sizeof(*out));
	dwfl_getmodules(u->dwfl, module_cb, &a, 0);
	if (a.oom) {
		lg_modules_free(out);
		return -ENOMEM;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), module_cmp);
	return 0;
}

void lg_unwind_name(struct lg_unwind *u, uint64_t pc, char **name, char **module)
{
	Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, pc);
	const char *s = NULL, *mname = NULL;

	*name = *module = NULL;
	if (!mod)
		return;
	s = dwfl_module_addrname(mod, pc);
	mname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (s)
		*name = strdup(s);
	if (mname)
		*module = strdup(mname);
}

int lg_unwind_read_mem(struct lg_unwind *u, uint64_t addr, void *buf, size_t len)
{
	Dwfl_Module *mod;
	Elf *elf;
	GElf_Addr bias;
	size_t phnum, rawsize;
	const char *raw;

	if (lg_core_read(u->core, addr, buf, len) == len)
		return 0;
	/* Not dumped (text, read-only data, .eh_frame): the file NT_FILE
	 * named for this address, as libdwfl found and opened it. */
	mod = dwfl_addrmodule(u->dwfl, addr);
	if (!mod)
		return -1;
	elf = dwfl_module_getelf(mod, &bias);
	if (!elf || elf_getphdrnum(elf, &phnum) != 0)
		return -1;
	raw = elf_rawfile(elf, &rawsize);
	if (!raw)
		return -1;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, i, &mem);
		uint64_t rel;
		if (!ph || ph->p_type != PT_LOAD)
			continue;
		rel = addr - bias;
		if (rel < ph->p_vaddr || rel - ph->p_vaddr >= ph->p_filesz)
			continue;
		rel -= ph->p_vaddr;
		if (len > ph->p_filesz - rel || ph->p_offset > rawsize ||
		    rel + len > rawsize - ph->p_offset)
			return -1;
		memcpy(buf, raw + ph->p_offset + rel, len);
		return 0;
	}
	return -1;
}

/* dwfl_getthreads' and dwfl_thread_getframes' callback state. */
struct thread_walk {
	struct lg_unwind *u;
	struct lg_backtrace *b;
	size_t cap;			/* of b->t */
	struct lg_thread_bt *cur;	/* the thread being unwound */
	size_t fcap;			/* of cur->f */
	bool oom;
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct thread_walk *a = arg;
	struct lg_thread_bt *t = a->cur;
	Dwarf_Addr pc;
	bool act;
	struct lg_frame *f;

	if (!dwfl_frame_pc(state, &pc, &act))
		return DWARF_CB_ABORT;
	if (t->n >= LG_UNWIND_MAX_FRAMES)
		return DWARF_CB_ABORT;
	if (LG_GROW(t->f, a->fcap, t->n + 1, 16)) {
		a->oom = true;
		return DWARF_CB_ABORT;
	}
	f = &t->f[t->n++];
	f->pc = pc;
	f->activation = act;
	lg_unwind_name(a->u, act ? pc : pc - 1, &f->name, &f->module);
	return DWARF_CB_OK;
}

static int thread_cb(Dwfl_Thread *thread, void *arg)
{
	struct thread_walk *a = arg;
	struct lg_backtrace *b = a->b;
	int r;

	if (LG_GROW(b->t, a->cap, b->n + 1, 16)) {
		a->oom = true;
		return DWARF_CB_ABORT;
	}
	a->cur = &b->t[b->n++];
	memset(a->cur, 0, sizeof(*a->cur));
	a->fcap = 0;
	a->cur->tid = dwfl_thread_tid(thread);
	a->cur->degraded_at = -1;
	r = dwfl_thread_getframes(thread, frame_cb, a);
	if (a->oom)
		return DWARF_CB_ABORT;
	if (r < 0 && a->cur->n < LG_UNWIND_MAX_FRAMES)
		a->cur->error = strdup(dwfl_errmsg(-1));
	return DWARF_CB_OK;
}

int lg_unwind_dwfl(struct lg_unwind *u, struct lg_backtrace *out)
{
	struct thread_walk a = { .u = u, .b = out };
	int r;

	memset(out, 0, sizeof(*out));
	out->unwinder = "libdwfl";
	r = dwfl_core_file_attach(u->dwfl, u->core->elf);
	if (r < 0) {
		if (asprintf(&out->error, "dwfl_core_file_attach: %s", dwfl_errmsg(-1)) < 0)
			out->error = NULL;
		return 0;
	}
	/* libdwfl (elfutils 0.188's core_next_thread) takes an NT_PRSTATUS
	 * whose pr_pid is 0 for the end of its thread list and a negative
	 * one for an error, and in both cases leaks its 16-byte iterator:
	 * such a core's threads are not handed to it (the fuzzer found it). */
	for (size_t i = 0; i < u->core->nthreads; i++) {
		const struct lg_core_thread *t = &u->core->threads[i];
		if (t->prstatus && t->tid <= 0) {
			if (asprintf(&out->error, "not run: NT_PRSTATUS %zu has thread id %d", i, t->tid) < 0)
				out->error = NULL;
			return 0;
		}
	}
	r = dwfl_getthreads(u->dwfl, thread_cb, &a);
	if (a.oom)
		return -ENOMEM;
	if (r < 0 && asprintf(&out->error, "dwfl_getthreads: %s", dwfl_errmsg(-1)) < 0)
		out->error = NULL;
	return 0;
}
