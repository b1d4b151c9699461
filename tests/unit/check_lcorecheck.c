/* Unit tests of lib/check: SHA-256, the expected-differences table, and
 * the core reader on small cores built here byte by byte. */
#include <check.h>
#include <errno.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/x86_64.h"
#include "check/core.h"
#include "check/diff.h"
#include "check/explain.h"
#include "check/report.h"
#include "check/sha256.h"
#include "check/spans.h"
#include "check/validate.h"
#include "check/xsave.h"
#include "common/grow.h"

static void hex(const char *s, char out[65])
{
	struct lg_sha256 h;
	uint8_t d[32];
	lg_sha256_init(&h);
	lg_sha256_update(&h, s, strlen(s));
	lg_sha256_final(&h, d);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

START_TEST(sha256_vectors)
{
	char out[65];
	/* FIPS 180-4 examples. */
	hex("", out);
	ck_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex("abc", out);
	ck_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", out);
	ck_assert_str_eq(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(expected_table)
{
	ck_assert_ptr_nonnull(lg_expected_reason("load.align"));
	ck_assert_ptr_null(lg_expected_reason("no.such.row"));
	for (size_t i = 0; i < lg_expected_table_len; i++)
		ck_assert_msg(strlen(lg_expected_table[i].reason) > 10, "row %s needs a reason",
			      lg_expected_table[i].row);
	struct lg_check_list l = { 0 };
	lg_check_expected(&l, "load.align", "x", "d");
	l.strict = true;
	lg_check_expected(&l, "load.align", "y", "d");
	lg_check_expected(&l, "missing-row", "z", "d");
	ck_assert_int_eq(l.v[0].status, LG_CHECK_EXPECTED);
	ck_assert_int_eq(l.v[1].status, LG_CHECK_FAIL);
	ck_assert_int_eq(l.v[2].status, LG_CHECK_FAIL);
	lg_check_list_free(&l);
}
END_TEST

/* The rules name rows the table has, and only where they apply. */
START_TEST(explain_rules)
{
	static const uint32_t types[] = { LG_NT_GDB_TDESC, NT_SIGINFO, LG_NT_X86_XSAVE_LAYOUT, LG_NT_X86_SHSTK };
	const uint8_t *argv0 = (const uint8_t *)"sleep", *full = (const uint8_t *)"sleep 30";

	for (size_t i = 0; i < LG_EXPLAIN_UNCOVERED_NROWS; i++)
		ck_assert_ptr_nonnull(lg_expected_reason(lg_explain_uncovered_rows[i]));
	for (size_t i = 0; i < LG_ARRAY_SIZE(types); i++)
		ck_assert_ptr_nonnull(lg_expected_reason(lg_explain_note_type(types[i])));
	ck_assert_ptr_null(lg_explain_note_type(NT_PRSTATUS));
	ck_assert_ptr_null(lg_explain_note_type(NT_FILE));
	/* gdb's psargs is argv[0]: a prefix ending where an argument does. */
	ck_assert_str_eq(lg_explain_psargs(argv0, 5, full, 8), "prpsinfo.psargs");
	ck_assert_str_eq(lg_explain_psargs(full, 8, argv0, 5), "prpsinfo.psargs");
	ck_assert_ptr_nonnull(lg_expected_reason("prpsinfo.psargs"));
	ck_assert_ptr_null(lg_explain_psargs(argv0, 4, full, 8));
	ck_assert_ptr_null(lg_explain_psargs((const uint8_t *)"sleep 31", 8, full, 8));
	ck_assert_ptr_null(lg_explain_psargs((const uint8_t *)"sleepy 3", 8, argv0, 5));
}
END_TEST

/* A restarted timed wait: orig_rax alone, rax -ERESTART_RESTARTBLOCK, one
 * side restart_syscall (219).  The restart fix-up (rip 2 back, rax the
 * syscall number) or any other register is not it. */
START_TEST(explain_restart)
{
	uint64_t x[LG_NREGS] = { 0 }, y[LG_NREGS];

	x[LG_REG_RAX] = (uint64_t)-516;
	x[LG_REG_ORIG_RAX] = 230;	/* clock_nanosleep */
	x[LG_REG_RIP] = 0x7f0000001002;
	memcpy(y, x, sizeof(y));
	y[LG_REG_ORIG_RAX] = 219;
	ck_assert_str_eq(lg_explain_regs(x, y), "regs.restart-syscall");
	ck_assert_str_eq(lg_explain_regs(y, x), "regs.restart-syscall");
	ck_assert_ptr_nonnull(lg_expected_reason("regs.restart-syscall"));
	y[LG_REG_ORIG_RAX] = 35;	/* nanosleep: not a restart */
	ck_assert_ptr_null(lg_explain_regs(x, y));
	y[LG_REG_ORIG_RAX] = 219;
	y[LG_REG_RIP] -= 2;
	ck_assert_ptr_null(lg_explain_regs(x, y));
	y[LG_REG_RIP] += 2;
	x[LG_REG_RAX] = y[LG_REG_RAX] = (uint64_t)-512;	/* -ERESTARTSYS: re-executed, not restart_syscall */
	ck_assert_ptr_null(lg_explain_regs(x, y));
}
END_TEST

/* The kernel's fields of a 32-byte rseq area, not its flags word. */
START_TEST(explain_rseq)
{
	uint64_t start[] = { 0x7f0000002920 };
	struct lg_rseq_areas r = { start, 1 };

	ck_assert_ptr_nonnull(lg_expected_reason("mem.rseq"));
	for (uint64_t o = 0; o < 40; o++)
		ck_assert_int_eq(lg_explain_rseq_byte(&r, start[0] + o), o < 16 || (o >= 20 && o < 32));
	ck_assert(!lg_explain_rseq_byte(&r, start[0] - 1));
	r.n = 0;
	ck_assert(!lg_explain_rseq_byte(&r, start[0]));
}
END_TEST

/* A tiny core: ehdr, 2 phdrs (PT_NOTE, PT_LOAD), notes, 16 bytes of memory. */
struct mini {
	uint8_t b[4096];
	size_t len;
};

static size_t add_note(uint8_t *p, uint32_t type, const char *owner, size_t descsz, const void *desc)
{
	uint32_t h[3] = { strlen(owner) + 1, descsz, type };
	size_t n = 12;
	memcpy(p, h, 12);
	memcpy(p + n, owner, h[0]);
	n += (h[0] + 3) & ~3u;
	if (desc)
		memcpy(p + n, desc, descsz);
	n += (descsz + 3) & ~3u;
	return n;
}

/* An x86-64 ET_CORE header with two program headers right after it. */
static void core_header(Elf64_Ehdr *e)
{
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_version = EV_CURRENT;
	e->e_type = ET_CORE;
	e->e_machine = EM_X86_64;
	e->e_phoff = 64;
	e->e_phentsize = 56;
	e->e_phnum = 2;
}

/* PH[0]: NOTES bytes of notes at OFF; PH[1]: 16 bytes of memory at 0x1000
 * right after them. */
static void core_phdrs(Elf64_Phdr *ph, size_t off, size_t notes)
{
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = off;
	ph[0].p_filesz = notes;
	ph[1].p_type = PT_LOAD;
	ph[1].p_vaddr = 0x1000;
	ph[1].p_offset = off + notes;
	ph[1].p_filesz = ph[1].p_memsz = 16;
}

static void build(struct mini *m, uint32_t prstatus_size)
{
	Elf64_Ehdr *e = (Elf64_Ehdr *)m->b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(m->b + 64);
	uint8_t pr[336] = { 0 }, ps[136] = { 0 };
	uint64_t auxv[] = { AT_ENTRY, 0x1000, AT_NULL, 0 };
	size_t off = 64 + 2 * 56, n = 0;

	memset(m, 0, sizeof(*m));
	core_header(e);
	*(uint32_t *)(pr + 32) = 42;
	*(uint64_t *)(pr + 112 + 16 * 8) = 0x1234;	/* rip */
	*(uint32_t *)(ps + 24) = 42;
	n += add_note(m->b + off + n, NT_PRSTATUS, "CORE", prstatus_size, pr);
	n += add_note(m->b + off + n, NT_PRPSINFO, "CORE", 136, ps);
	n += add_note(m->b + off + n, NT_AUXV, "CORE", sizeof(auxv), auxv);
	core_phdrs(ph, off, n);
	memset(m->b + off + n, 0xab, 16);
	m->len = off + n + 16;
}

static char *write_tmp(const void *p, size_t len)
{
	static char path[64];
	strcpy(path, "/tmp/check_lcorecheck.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, len), (ssize_t)len);
	close(fd);
	return path;
}

static bool has(const struct lg_check_list *l, enum lg_check_status st, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].status == st && !strcmp(l->v[i].id, id))
			return true;
	return false;
}

START_TEST(reader_minimal)
{
	struct mini m;
	struct lg_core c;
	struct lg_check_list l = { 0 };
	struct lg_error err = { 0 };
	uint8_t buf[32];
	uint64_t v;

	build(&m, 336);
	char *path = write_tmp(m.b, m.len);
	ck_assert_int_eq(lg_core_open(&c, path, &l, &err), 0);
	ck_assert(c.structure_ok);
	ck_assert_uint_eq(c.nthreads, 1);
	ck_assert_int_eq(c.threads[0].tid, 42);
	ck_assert_uint_eq(c.threads[0].regs[16], 0x1234);
	ck_assert(lg_core_auxv(&c, AT_ENTRY, &v) && v == 0x1000);
	/* Reads stop at the end of the dumped bytes. */
	ck_assert_uint_eq(lg_core_read(&c, 0x1008, buf, 32), 8);
	ck_assert_uint_eq(lg_core_read(&c, 0x2000, buf, 1), 0);
	ck_assert(has(&l, LG_CHECK_PASS, "note.sizes"));
	ck_assert(has(&l, LG_CHECK_PASS, "load.in-file"));
	lg_core_close(&c);
	lg_check_list_free(&l);
	unlink(path);

	/* Truncated by 8 bytes: the PT_LOAD's data ends past the file. */
	path = write_tmp(m.b, m.len - 8);
	ck_assert_int_eq(lg_core_open(&c, path, &l, &err), 0);
	ck_assert(has(&l, LG_CHECK_FAIL, "load.in-file"));
	ck_assert_uint_eq(lg_core_read(&c, 0x1000, buf, 16), 8);
	lg_core_close(&c);
	lg_check_list_free(&l);
	unlink(path);
}
END_TEST

START_TEST(reader_bad_sizes)
{
	struct mini m;
	struct lg_core c;
	struct lg_check_list l = { 0 };
	struct lg_error err = { 0 };

	build(&m, 320);
	char *path = write_tmp(m.b, m.len);
	ck_assert_int_eq(lg_core_open(&c, path, &l, &err), 0);
	ck_assert(has(&l, LG_CHECK_FAIL, "note.sizes"));
	ck_assert_ptr_null(c.threads[0].prstatus);
	lg_core_close(&c);
	lg_check_list_free(&l);
	unlink(path);

	/* Not an ELF file at all. */
	path = write_tmp("hello, world, this is not an elf file, really not at all, nope!!", 64);
	ck_assert_int_eq(lg_core_open(&c, path, &l, &err), -ENOEXEC);
	lg_core_close(&c);
	lg_check_list_free(&l);
	unlink(path);

	/* e_phnum = PN_XNUM without a section header. */
	build(&m, 336);
	((Elf64_Ehdr *)m.b)->e_phnum = PN_XNUM;
	path = write_tmp(m.b, m.len);
	ck_assert_int_eq(lg_core_open(&c, path, &l, &err), 0);
	ck_assert(has(&l, LG_CHECK_FAIL, "phdr.extnum"));
	ck_assert(!c.structure_ok);
	lg_core_close(&c);
	lg_check_list_free(&l);
	unlink(path);
}
END_TEST


/* This kind of machine's layout (AMD with AVX-512, no MPX): YMM, opmask,
 * ZMM_Hi256, Hi16_ZMM; 2432 bytes, xcr0 0xe7. */
static const uint32_t amd_layout[] = {
	2, 256, 576, 0,  5, 64, 832, 0,  6, 512, 896, 0,  7, 1024, 1408, 0,
};
/* The same components at other offsets, also ending at 2432: a core from
 * a CPU unlike this one. */
static const uint32_t other_layout[] = {
	2, 256, 2176, 0,  5, 64, 576, 0,  6, 512, 640, 0,  7, 1024, 1152, 0,
};

START_TEST(xsave_layout_parse)
{
	struct lg_xsave_layout l;
	char why[200];
	uint32_t bad[16];

	ck_assert_int_eq(lg_xsave_layout_parse((const uint8_t *)amd_layout, sizeof(amd_layout), &l, why, sizeof(why)), 0);
	ck_assert_uint_eq(l.n, 4);
	ck_assert_uint_eq(lg_xsave_layout_find(&l, 6)->offset, 896);
	ck_assert_ptr_null(lg_xsave_layout_find(&l, 3));
	ck_assert_uint_eq(lg_xsave_layout_end(&l), 2432);
	ck_assert_int_eq(lg_xsave_layout_consistent(&l, 2432, 0xe7, why, sizeof(why)), 0);
	/* gdb's 2688-byte XSTATE is not what this layout describes. */
	ck_assert_int_eq(lg_xsave_layout_consistent(&l, 2688, 0xe7, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "ends at 2432"));
	/* PKRU (bit 9) enabled in xcr0 but absent from the layout. */
	ck_assert_int_eq(lg_xsave_layout_consistent(&l, 2432, 0x2e7, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(lg_xsave_layout_parse((const uint8_t *)other_layout, sizeof(other_layout), &l, why, sizeof(why)), 0);
	ck_assert_int_eq(lg_xsave_layout_consistent(&l, 2432, 0xe7, why, sizeof(why)), 0);

	/* Not whole records. */
	ck_assert_int_eq(lg_xsave_layout_parse((const uint8_t *)amd_layout, 15, &l, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "records"));
#define BAD(i, v, text) do { \
		memcpy(bad, amd_layout, sizeof(bad)); bad[i] = (v); \
		ck_assert_int_eq(lg_xsave_layout_parse((const uint8_t *)bad, sizeof(bad), &l, why, sizeof(why)), -EINVAL); \
		ck_assert_msg(strstr(why, text), "want '%s' in '%s'", text, why); \
	} while (0)
	BAD(0, 1, "not an extended");		/* SSE is legacy state */
	BAD(4, 2, "not increasing");		/* component 2 twice */
	BAD(9, 0, "size 0");
	BAD(10, 512, "legacy area");		/* offset inside FXSAVE */
	BAD(6, 896, "overlaps");		/* YMM on top of ZMM_Hi256 */
#undef BAD
}
END_TEST

/* A core of one thread (tid 7) with an XSTATE of XSIZE bytes (xcr0 0xe7,
 * every component saved) and, when LAYOUT is not NULL, NLAYOUTS copies of
 * an NT_X86_XSAVE_LAYOUT of NREC records.  Each component K of LAYOUT
 * (this machine's without one) is filled with 0x40 + K at its offset, so a
 * reader using any other layout sees other bytes; BUMP is xored into the
 * first byte of component 6. */
static char *build_xs(const uint32_t *layout, size_t nrec, size_t nlayouts, size_t xsize, uint8_t bump)
{
	static uint8_t b[16384];
	Elf64_Ehdr *e = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + 64);
	uint8_t pr[336] = { 0 }, ps[136] = { 0 }, fp[512] = { 0 }, xs[4096];
	uint64_t auxv[] = { AT_ENTRY, 0x1000, AT_NULL, 0 };
	size_t off = 64 + 2 * 56, n = 0;
	const uint32_t *fl = layout ? layout : amd_layout;
	size_t fn = layout ? nrec : 4;

	memset(b, 0, sizeof(b));
	core_header(e);
	*(uint32_t *)(pr + 32) = 7;
	*(uint32_t *)(ps + 24) = 7;
	ck_assert_uint_le(xsize, sizeof(xs));
	memset(xs, 0, sizeof(xs));
	*(uint64_t *)(xs + 464) = 0xe7;		/* xcr0 */
	*(uint64_t *)(xs + 512) = 0xe7;		/* xstate_bv */
	for (size_t i = 0; i < fn; i++) {
		if (fl[4 * i + 2] + fl[4 * i + 1] > xsize)
			continue;
		memset(xs + fl[4 * i + 2], 0x40 + fl[4 * i], fl[4 * i + 1]);
		if (fl[4 * i] == 6)
			xs[fl[4 * i + 2]] ^= bump;
	}
	n += add_note(b + off + n, NT_PRSTATUS, "CORE", 336, pr);
	n += add_note(b + off + n, NT_FPREGSET, "CORE", 512, fp);
	n += add_note(b + off + n, NT_X86_XSTATE, "LINUX", xsize, xs);
	n += add_note(b + off + n, NT_PRPSINFO, "CORE", 136, ps);
	n += add_note(b + off + n, NT_AUXV, "CORE", sizeof(auxv), auxv);
	for (size_t k = 0; layout && k < nlayouts; k++)
		n += add_note(b + off + n, LG_NT_X86_XSAVE_LAYOUT, "LINUX", 16 * nrec, layout);
	core_phdrs(ph, off, n);
	ck_assert_uint_le(off + n + 16, sizeof(b));
	return strdup(write_tmp(b, off + n + 16));
}

/* Validate mode's note.xsave-layout on hand-built notes: STATUS expected,
 * and (when not NULL) TEXT in its detail. */
static void validate_xs(const char *path, enum lg_check_status status, const char *text)
{
	struct lg_core c;
	struct lg_check_list l = { 0 };
	struct lg_error err = { 0 };
	bool found = false;

	ck_assert_int_eq(lg_core_open(&c, path, &l, &err), 0);
	ck_assert(c.structure_ok);
	lg_check_xsave_layout(&c, &l);
	for (size_t i = 0; i < l.n; i++) {
		if (strcmp(l.v[i].id, "note.xsave-layout"))
			continue;
		found = true;
		ck_assert_msg(l.v[i].status == status, "%s: status %s: %s", path,
			      lg_check_status_name(l.v[i].status), l.v[i].detail);
		if (text)
			ck_assert_msg(strstr(l.v[i].detail, text), "want '%s' in '%s'", text, l.v[i].detail);
	}
	ck_assert(found);
	lg_core_close(&c);
	lg_check_list_free(&l);
	unlink(path);
	free((void *)path);
}

START_TEST(xsave_layout_validate)
{
	uint32_t bad[16];

	validate_xs(build_xs(amd_layout, 4, 1, 2432, 0), LG_CHECK_PASS, "ending at 2432");
	validate_xs(build_xs(NULL, 0, 0, 2432, 0), LG_CHECK_SKIP, NULL);
	/* gdb-sized XSTATE with the CPU's layout. */
	validate_xs(build_xs(amd_layout, 4, 1, 2688, 0), LG_CHECK_FAIL, "ends at 2432, NT_X86_XSTATE is 2688");
	/* A record missing: xcr0 enables component 7. */
	validate_xs(build_xs(amd_layout, 3, 1, 2432, 0), LG_CHECK_FAIL, "enabled in XSTATE's xcr0");
	validate_xs(build_xs(amd_layout, 4, 2, 2432, 0), LG_CHECK_FAIL, "2 NT_X86_XSAVE_LAYOUT notes");
	memcpy(bad, amd_layout, sizeof(bad));
	bad[14] = 1400;	/* Hi16_ZMM on top of ZMM_Hi256 */
	validate_xs(build_xs(bad, 4, 1, 2432, 0), LG_CHECK_FAIL, "overlaps");
}
END_TEST

/* diff mode locates XSTATE components through each core's own layout. */
static void diff_xs(const char *pa, const char *pb, const char *want_id, enum lg_check_status want,
		    const char *text)
{
	struct lg_core_view v[2];
	struct lg_check_list l = { 0 };
	struct lg_memdiffs m = { 0 };
	struct lg_error err = { 0 };
	bool found = false;

	memset(v, 0, sizeof(v));
	ck_assert_int_eq(lg_core_open(&v[0].core, pa, &l, &err), 0);
	ck_assert_int_eq(lg_core_open(&v[1].core, pb, &l, &err), 0);
	v[0].core_open = v[1].core_open = true;
	ck_assert_int_eq(lg_check_diff(&v[0], &v[1], &l, &m), 0);
	for (size_t i = 0; i < l.n; i++) {
		if (strcmp(l.v[i].id, want_id) || l.v[i].status != want)
			continue;
		if (!text || strstr(l.v[i].detail, text))
			found = true;
	}
	if (!found)
		for (size_t i = 0; i < l.n; i++)
			fprintf(stderr, "%s %s %s\n", lg_check_status_name(l.v[i].status), l.v[i].id, l.v[i].detail);
	ck_assert_msg(found, "no %s %s '%s'", lg_check_status_name(want), want_id, text ? text : "");
	ck_assert(!lg_check_failed(&l, "diff.xstate") || want == LG_CHECK_FAIL);
	lg_core_view_free(&v[0]);
	lg_core_view_free(&v[1]);
	lg_memdiffs_free(&m);
	lg_check_list_free(&l);
	unlink(pa);
	unlink(pb);
	free((void *)pa);
	free((void *)pb);
}

START_TEST(xsave_layout_diff)
{
	/* Same registers, different layouts: equal only when each core is read
	 * with its own note (with any single layout, some component's bytes
	 * differ). */
	diff_xs(build_xs(amd_layout, 4, 1, 2432, 0), build_xs(other_layout, 4, 1, 2432, 0),
		"diff.xstate", LG_CHECK_PASS, "layouts: a NT_X86_XSAVE_LAYOUT, b NT_X86_XSAVE_LAYOUT");
	/* One byte of ZMM_Hi256 changed: named. */
	diff_xs(build_xs(amd_layout, 4, 1, 2432, 0), build_xs(other_layout, 4, 1, 2432, 0x80),
		"diff.xstate.component", LG_CHECK_FAIL, "component 6 (512 bytes at 896) differs");
}
END_TEST

/* A core of one thread (tid 7) whose NT_X86_XSTATE is XS (XSIZE bytes),
 * with the NT_X86_XSAVE_LAYOUT LAYOUT (LLEN bytes) when LLEN is not 0, and
 * gdb's target-description note when GDB. */
static char *build_xs_raw(const uint8_t *xs, size_t xsize, const void *layout, size_t llen, bool gdb)
{
	static uint8_t b[32768];
	Elf64_Ehdr *e = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + 64);
	uint8_t pr[336] = { 0 }, ps[136] = { 0 }, fp[512] = { 0 };
	uint64_t auxv[] = { AT_ENTRY, 0x1000, AT_NULL, 0 };
	size_t off = 64 + 2 * 56, n = 0;

	memset(b, 0, sizeof(b));
	core_header(e);
	*(uint32_t *)(pr + 32) = 7;
	*(uint32_t *)(ps + 24) = 7;
	ck_assert_uint_le(off + xsize + llen + 2048, sizeof(b));
	if (gdb)
		n += add_note(b + off + n, LG_NT_GDB_TDESC, "GDB", 8, "<target>");
	n += add_note(b + off + n, NT_PRSTATUS, "CORE", 336, pr);
	n += add_note(b + off + n, NT_FPREGSET, "CORE", 512, fp);
	n += add_note(b + off + n, NT_X86_XSTATE, "LINUX", xsize, xs);
	n += add_note(b + off + n, NT_PRPSINFO, "CORE", 136, ps);
	n += add_note(b + off + n, NT_AUXV, "CORE", sizeof(auxv), auxv);
	if (llen)
		n += add_note(b + off + n, LG_NT_X86_XSAVE_LAYOUT, "LINUX", llen, layout);
	core_phdrs(ph, off, n);
	return strdup(write_tmp(b, off + n + 16));
}

/* Sapphire Rapids' CPUID leaf 0xD as Linux enables it (xcr0 0x602e7: no
 * MPX; AMX TILECFG at 2752, TILEDATA at 2816, an 11008-byte area). */
static const uint32_t spr_layout[] = {
	2, 256, 576, 0,  5, 64, 1088, 0,  6, 512, 1152, 0,  7, 1024, 1664, 0,
	9, 8, 2688, 0,  17, 64, 2752, 0,  18, 8192, 2816, 0,
};

/* The kernel's XSTATE of a Sapphire Rapids thread with xstate_bv BV:
 * component K holds 0x40 + K where BV has it, zeros (its init state)
 * where not. */
static void spr_kernel_area(uint8_t *xs, uint64_t bv)
{
	memset(xs, 0, 11008);
	for (size_t i = 0; i < 160; i++)
		xs[i] = (uint8_t)i;
	*(uint64_t *)(xs + 464) = 0x602e7;
	*(uint64_t *)(xs + 512) = bv;
	for (size_t i = 0; i < LG_ARRAY_SIZE(spr_layout) / 4; i++)
		if (bv >> spr_layout[4 * i] & 1)
			memset(xs + spr_layout[4 * i + 2], 0x40 + spr_layout[4 * i], spr_layout[4 * i + 1]);
}

/* The core lgcore writes for the kernel's area XS, in a core whose threads
 * had the components IN_USE out of their init state. */
static char *spr_lgcore(const uint8_t *xs, uint64_t in_use)
{
	struct lg_xsave_cpuid cpu;
	struct lg_arch_core ac = { .seen = true, .xcr0 = 0x602e7, .in_use = in_use };
	struct lg_buf out = { 0 }, d = { 0 };
	char *path;

	memset(&cpu, 0, sizeof(cpu));
	for (size_t i = 0; i < LG_ARRAY_SIZE(spr_layout) / 4; i++) {
		cpu.size[spr_layout[4 * i]] = spr_layout[4 * i + 1];
		cpu.offset[spr_layout[4 * i]] = spr_layout[4 * i + 2];
	}
	ck_assert_int_eq(lg_arch_xsave_note(&ac, &cpu, xs, 11008, &out), 0);
	ck_assert_int_eq(lg_arch_xsave_layout_note(&ac, 0x602e7, &cpu, &d), 0);
	path = build_xs_raw(out.p, out.len, d.p, d.len, false);
	lg_buf_free(&out);
	lg_buf_free(&d);
	return path;
}

START_TEST(xstate_amx_left_out)
{
	static uint8_t init[11008], used[11008], gdb[11008];
	const size_t spr_len = sizeof(spr_layout);

	spr_kernel_area(init, 0x2e7);
	spr_kernel_area(used, 0x602e7);
	/* lgcore's core of threads without AMX state is 2696 bytes and
	 * describes itself. */
	validate_xs(spr_lgcore(init, 0x2e7), LG_CHECK_PASS, "ending at 2696");
	validate_xs(build_xs_raw(init, 11008, spr_layout, spr_len, false), LG_CHECK_PASS, "ending at 11008");
	/* Against the kernel's core: the same state, both ways round. */
	diff_xs(build_xs_raw(init, 11008, spr_layout, spr_len, false), spr_lgcore(init, 0x2e7),
		"diff.xstate.xcr0", LG_CHECK_EXPECTED, "components 0x60000 left out, in their init state in a");
	diff_xs(spr_lgcore(init, 0x2e7), build_xs_raw(init, 11008, spr_layout, spr_len, false),
		"diff.xstate", LG_CHECK_PASS, NULL);
	/* Tiles in use: lgcore keeps them, and they are compared. */
	validate_xs(spr_lgcore(used, 0x602e7), LG_CHECK_PASS, "ending at 11008");
	diff_xs(build_xs_raw(used, 11008, spr_layout, spr_len, false), spr_lgcore(used, 0x602e7),
		"diff.xstate", LG_CHECK_PASS, NULL);
	used[2816 + 100] ^= 1;
	diff_xs(build_xs_raw(used, 11008, spr_layout, spr_len, false), spr_lgcore(init, 0x602e7),
		"diff.xstate.component", LG_CHECK_FAIL, "component 18 (8192 bytes at 2816) differs");
	/* A core that drops tiles in use lost their state. */
	diff_xs(build_xs_raw(used, 11008, spr_layout, spr_len, false), spr_lgcore(used, 0x2e7),
		"diff.xstate.xcr0", LG_CHECK_FAIL, "xcr0 0x602e7 vs 0x2e7");
	/* One that drops a component gdb 13 knows fails, even one in its
	 * init state (AVX here): gdb 13 would show no ymm registers. */
	spr_kernel_area(used, 0x2e3);
	memcpy(gdb, used, 2696);
	*(uint64_t *)(gdb + 464) = 0x2e3;
	diff_xs(build_xs_raw(used, 11008, spr_layout, spr_len, false), build_xs_raw(gdb, 2696, NULL, 0, false),
		"diff.xstate.xcr0", LG_CHECK_FAIL, "xcr0 0x602e7 vs 0x2e3");
	spr_kernel_area(used, 0x602e7);
	/* gdb's gcore never has them, whatever their state. */
	memcpy(gdb, used, 2696);
	*(uint64_t *)(gdb + 464) = 0x2e7;
	*(uint64_t *)(gdb + 512) = 0x2e7;
	diff_xs(build_xs_raw(used, 11008, spr_layout, spr_len, false), build_xs_raw(gdb, 2696, NULL, 0, true),
		"diff.xstate.xcr0", LG_CHECK_EXPECTED, "gdb's core has none of 0x60000");
}
END_TEST

/* The address index answers as a linear scan of the ranges would, for
 * sorted disjoint tables (real cores) and unsorted overlapping ones. */
static void spans_against_scan(const uint64_t (*r)[2], size_t n, uint64_t hi)
{
	struct lg_spans s;
	size_t *out = calloc(n ? n : 1, sizeof(*out));

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(lg_spans_alloc(&s, n), 0);
	for (size_t i = 0; i < n; i++)
		lg_spans_set(&s, i, r[i][0], r[i][1]);
	lg_spans_sort(&s);
	for (uint64_t a = 0; a < hi; a++) {
		size_t want = LG_SPAN_NONE, want_start = LG_SPAN_NONE, k = 0, got;
		for (size_t i = n; i-- > 0;) {
			if (r[i][0] <= a && a < r[i][1])
				want = i;
			if (r[i][0] == a)
				want_start = i;
		}
		ck_assert_uint_eq(lg_spans_find(&s, a), want);
		ck_assert_uint_eq(lg_spans_find_start(&s, a), want_start);
		got = lg_spans_meeting(&s, a, a + 3, out);
		for (size_t i = 0; i < n; i++) {
			if (r[i][0] >= a + 3 || r[i][1] <= a || r[i][1] <= r[i][0])
				continue;
			ck_assert_uint_lt(k, got);
			ck_assert_uint_eq(out[k], i);
			k++;
		}
		ck_assert_uint_eq(k, got);
	}
	lg_spans_free(&s);
	free(out);
}

START_TEST(spans_lookup)
{
	static const uint64_t sorted[][2] = { { 2, 5 }, { 5, 6 }, { 9, 12 }, { 12, 12 }, { 20, 30 } };
	static const uint64_t hostile[][2] = {
		{ 20, 30 }, { 2, 5 }, { 3, 40 }, { 9, 12 }, { 9, 10 }, { 15, 15 }, { 7, 2 }, { 25, 26 }, { 2, 5 },
	};
	uint64_t r[64][2];

	spans_against_scan(sorted, LG_ARRAY_SIZE(sorted), 40);
	spans_against_scan(hostile, LG_ARRAY_SIZE(hostile), 45);
	spans_against_scan(NULL, 0, 5);
	srandom(7);
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < LG_ARRAY_SIZE(r); i++) {
			r[i][0] = random() % 200;
			r[i][1] = r[i][0] + random() % (round < 10 ? 4 : 40);
		}
		spans_against_scan((const uint64_t (*)[2])r, LG_ARRAY_SIZE(r), 250);
	}
}
END_TEST

Suite *unit_suite(void);

Suite *unit_suite(void)
{
	Suite *s = suite_create("lcorecheck");
	TCase *t = tcase_create("core");

	tcase_add_test(t, sha256_vectors);
	tcase_add_test(t, expected_table);
	tcase_add_test(t, explain_rules);
	tcase_add_test(t, explain_restart);
	tcase_add_test(t, explain_rseq);
	tcase_add_test(t, reader_minimal);
	tcase_add_test(t, reader_bad_sizes);
	tcase_add_test(t, spans_lookup);
	tcase_add_test(t, xsave_layout_parse);
	tcase_add_test(t, xsave_layout_validate);
	tcase_add_test(t, xsave_layout_diff);
	tcase_add_test(t, xstate_amx_left_out);
	suite_add_tcase(s, t);
	return s;
}
