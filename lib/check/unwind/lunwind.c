/* libunwind backend.  Debian bookworm's libunwind 1.6.2 looks up unwind
 * tables of a core's modules at file offset 0 of the mapping, which is
 * wrong for `-z separate-code` binaries (all of bookworm's): its stock
 * _UCD_accessors give garbage frames.  So only the register accessors
 * come from _UCD_*; memory and unwind tables are served here: memory from
 * the core's PT_LOADs and else from the mapped file, and the unwind table
 * from the module's PT_GNU_EH_FRAME (.eh_frame_hdr) binary-search table,
 * handed to libunwind's own DWARF search as a remote table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libunwind-coredump.h>

#include "check/unwind/unwind.h"
#include "common/grow.h"

/* Exported by libunwind-x86_64 but not declared in its headers. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

/* DWARF exception-header pointer encodings (LSB Core, .eh_frame_hdr). */
#define EH_PE_absptr 0x00
#define EH_PE_udata4 0x03
#define EH_PE_udata8 0x04
#define EH_PE_sdata4 0x0b
#define EH_PE_sdata8 0x0c
#define EH_PE_pcrel 0x10
#define EH_PE_datarel 0x30
#define EH_PE_omit 0xff

/* The argument of every accessor below. */
struct lunwind_ctx {
	struct lg_unwind *u;
	struct UCD_info *ucd;
	struct lg_thread_bt *t;	/* the thread being unwound */
};

static int acc_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	struct lunwind_ctx *a = arg;

	if (write)
		return -UNW_EREADONLYREG;
	if (lg_unwind_read_mem(a->u, addr, val, sizeof(*val)) < 0)
		return -UNW_EINVAL;
	return 0;
}

static int acc_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	struct lunwind_ctx *a = arg;
	return _UCD_access_reg(as, reg, val, write, a->ucd);
}

static int acc_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
	struct lunwind_ctx *a = arg;
	return _UCD_access_fpreg(as, reg, val, write, a->ucd);
}

static int acc_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	return -UNW_EINVAL;
}

static void acc_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	/* libunwind frees the DWARF unwind info of table lookups itself
	 * (its own memory pool); nothing of ours to release. */
}

static int acc_dyn_list(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	return -UNW_ENOINFO;
}

static int acc_proc_name(unw_addr_space_t as, unw_word_t ip, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	struct lunwind_ctx *a = arg;
	char *name, *mod;
	int r = -UNW_ENOINFO;

	lg_unwind_name(a->u, ip, &name, &mod);
	if (name && len) {
		snprintf(buf, len, "%s", name);
		*off = 0;
		r = 0;
	}
	free(name);
	free(mod);
	return r;
}

/* Decode one encoded pointer of .eh_frame_hdr at ADDR (HDR is the header's
 * address, for datarel).  Returns its size, or 0 for an unknown encoding. */
static size_t eh_read(struct lg_unwind *u, uint8_t enc, uint64_t addr, uint64_t hdr, uint64_t *out)
{
	uint8_t b[8];
	size_t sz;
	uint64_t v;

	switch (enc & 0x0f) {
	case EH_PE_udata4: case EH_PE_sdata4: sz = 4; break;
	case EH_PE_absptr: case EH_PE_udata8: case EH_PE_sdata8: sz = 8; break;
	default: return 0;
	}
	if (lg_unwind_read_mem(u, addr, b, sz) < 0)
		return 0;
	if (sz == 4)
		v = (enc & 0x0f) == EH_PE_sdata4 ? (uint64_t)(int64_t)(int32_t)lg_get32(b) : lg_get32(b);
	else
		v = lg_get64(b);
	switch (enc & 0x70) {
	case 0: break;
	case EH_PE_pcrel: v += addr; break;
	case EH_PE_datarel: v += hdr; break;
	default: return 0;
	}
	*out = v;
	return sz;
}

/* libunwind falls back to frame-pointer guesses when we have no table:
 * remember from which frame, so a disagreement past it is not blamed on
 * the core. */
static void degrade(struct lunwind_ctx *a, Dwfl_Module *mod, uint64_t ip, const char *why)
{
	const char *mname = mod ? dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL) : NULL;

	if (!a->t || a->t->degraded_at >= 0)
		return;
	a->t->degraded_at = a->t->n ? (long)a->t->n - 1 : 0;
	if (asprintf(&a->t->degraded_why, "0x%llx in %s: %s", (unsigned long long)ip,
		     mname ? mname : "no module", why) < 0)
		a->t->degraded_why = NULL;
}

static int acc_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			      int need_unwind_info, void *arg)
{
	struct lunwind_ctx *a = arg;
	Dwfl_Module *mod = dwfl_addrmodule(a->u->dwfl, ip);
	Dwarf_Addr low, high;
	GElf_Addr bias;
	Elf *elf;
	size_t phnum, n1, n2;
	uint64_t hdr = 0, eh_frame, count;
	uint8_t h[4];
	unw_dyn_info_t di;
	bool found = false;

	if (!mod) {
		degrade(a, NULL, ip, "no module");
		return -UNW_ENOINFO;
	}
	elf = dwfl_module_getelf(mod, &bias);
	if (!elf || elf_getphdrnum(elf, &phnum) != 0) {
		degrade(a, mod, ip, "module file not found");
		return -UNW_ENOINFO;
	}
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, i, &mem);
		if (ph && ph->p_type == PT_GNU_EH_FRAME) {
			hdr = ph->p_vaddr + bias;
			found = true;
			break;
		}
	}
	if (!found || lg_unwind_read_mem(a->u, hdr, h, 4) < 0 || h[0] != 1) {
		degrade(a, mod, ip, "no usable PT_GNU_EH_FRAME");
		return -UNW_ENOINFO;
	}
	/* libunwind's remote table search reads 32-bit (start, fde) pairs
	 * relative to the header: the only table encoding it accepts. */
	if (h[3] != (EH_PE_datarel | EH_PE_sdata4) || h[2] == EH_PE_omit)
		return -UNW_ENOINFO;
	n1 = eh_read(a->u, h[1], hdr + 4, hdr, &eh_frame);
	if (!n1)
		return -UNW_ENOINFO;
	n2 = eh_read(a->u, h[2], hdr + 4 + n1, hdr, &count);
	if (!n2 || count > (1u << 26))
		return -UNW_ENOINFO;
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = low;
	di.end_ip = high;
	di.u.rti.name_ptr = 0;
	di.u.rti.segbase = hdr;
	di.u.rti.table_data = hdr + 4 + n1 + n2;
	di.u.rti.table_len = count * 8 / sizeof(unw_word_t);
	return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

static unw_accessors_t lg_lunw_accessors = {
	.find_proc_info = acc_find_proc_info,
	.put_unwind_info = acc_put_unwind_info,
	.get_dyn_info_list_addr = acc_dyn_list,
	.access_mem = acc_mem,
	.access_reg = acc_reg,
	.access_fpreg = acc_fpreg,
	.resume = acc_resume,
	.get_proc_name = acc_proc_name,
};

static int unwind_thread(struct lg_unwind *u, unw_addr_space_t as, struct lunwind_ctx *a,
			 struct lg_thread_bt *t)
{
	unw_cursor_t cur;
	size_t cap = 0;
	bool next_act = true;
	uint64_t last_sp = 0, last_ip = 0;
	int r;

	t->degraded_at = -1;
	a->t = t;
	unw_flush_cache(as, 0, 0);
	r = unw_init_remote(&cur, as, a);
	if (r < 0) {
		if (asprintf(&t->error, "unw_init_remote: %s", unw_strerror(r)) < 0)
			t->error = NULL;
		return 0;
	}
	for (;;) {
		unw_word_t ip, sp;
		struct lg_frame *f;

		if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 || unw_get_reg(&cur, UNW_REG_SP, &sp) < 0)
			break;
		/* A zero return address is how the outermost frame ends. */
		if (t->n && ip == 0)
			break;
		if (t->n && ip == last_ip && sp == last_sp) {
			t->error = strdup("no progress (same pc and sp)");
			break;
		}
		if (t->n >= LG_UNWIND_MAX_FRAMES)
			break;
		if (LG_GROW(t->f, cap, t->n + 1, 16))
			return -ENOMEM;
		f = &t->f[t->n++];
		f->pc = ip;
		f->activation = next_act;
		lg_unwind_name(u, next_act ? ip : ip - 1, &f->name, &f->module);
		next_act = unw_is_signal_frame(&cur) > 0;
		last_ip = ip;
		last_sp = sp;
		r = unw_step(&cur);
		if (r == 0)
			break;
		if (r < 0) {
			if (asprintf(&t->error, "unw_step: %s", unw_strerror(r)) < 0)
				t->error = NULL;
			break;
		}
	}
	return 0;
}

int lg_unwind_libunwind(struct lg_unwind *u, struct lg_backtrace *out)
{
	struct lunwind_ctx a = { .u = u };
	unw_addr_space_t as = NULL;
	int r = 0, n;

	memset(out, 0, sizeof(*out));
	out->unwinder = "libunwind";
	a.ucd = _UCD_create(u->core->path);
	if (!a.ucd) {
		out->error = strdup("_UCD_create could not read the core");
		goto out;
	}
	as = unw_create_addr_space(&lg_lunw_accessors, 0);
	if (!as) {
		out->error = strdup("unw_create_addr_space failed");
		goto out;
	}
	n = _UCD_get_num_threads(a.ucd);
	if (n <= 0)
		goto out;
	out->t = calloc(n, sizeof(*out->t));
	if (!out->t) {
		r = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct lg_thread_bt *t = &out->t[out->n++];
		_UCD_select_thread(a.ucd, i);
		t->tid = _UCD_get_pid(a.ucd);
		r = unwind_thread(u, as, &a, t);
		if (r < 0)
			goto out;
	}
out:
	if (as)
		unw_destroy_addr_space(as);
	if (a.ucd)
		_UCD_destroy(a.ucd);
	return r;
}
