/* Unit tests of lib/check: SHA-256, the expected-differences table, and
 * the core reader on small cores built here byte by byte. */
#include <check.h>
#include <errno.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/core.h"
#include "check/report.h"
#include "check/sha256.h"

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

static void build(struct mini *m, uint32_t prstatus_size)
{
	Elf64_Ehdr *e = (Elf64_Ehdr *)m->b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(m->b + 64);
	uint8_t pr[336] = { 0 }, ps[136] = { 0 };
	uint64_t auxv[] = { AT_ENTRY, 0x1000, AT_NULL, 0 };
	size_t off = 64 + 2 * 56, n = 0;

	memset(m, 0, sizeof(*m));
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_type = ET_CORE;
	e->e_machine = EM_X86_64;
	e->e_phoff = 64;
	e->e_phentsize = 56;
	e->e_phnum = 2;
	*(uint32_t *)(pr + 32) = 42;
	*(uint64_t *)(pr + 112 + 16 * 8) = 0x1234;	/* rip */
	*(uint32_t *)(ps + 24) = 42;
	n += add_note(m->b + off + n, NT_PRSTATUS, "CORE", prstatus_size, pr);
	n += add_note(m->b + off + n, NT_PRPSINFO, "CORE", 136, ps);
	n += add_note(m->b + off + n, NT_AUXV, "CORE", sizeof(auxv), auxv);
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = off;
	ph[0].p_filesz = n;
	ph[1].p_type = PT_LOAD;
	ph[1].p_vaddr = 0x1000;
	ph[1].p_offset = off + n;
	ph[1].p_filesz = ph[1].p_memsz = 16;
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

int main(void)
{
	Suite *s = suite_create("lcorecheck");
	TCase *t = tcase_create("core");
	SRunner *r;
	int nf;

	tcase_add_test(t, sha256_vectors);
	tcase_add_test(t, expected_table);
	tcase_add_test(t, reader_minimal);
	tcase_add_test(t, reader_bad_sizes);
	suite_add_tcase(s, t);
	r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	nf = srunner_ntests_failed(r);
	srunner_free(r);
	return nf ? 1 : 0;
}
