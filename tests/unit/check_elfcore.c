/* lib/elfcore: the kernel's dump rules, note encodings, layout (with the
 * PN_XNUM extension, read back through libelf) and the output file. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "elfcore/elfcore.h"

static struct lg_maps features, edge, reserve;

static void load(const char *name, struct lg_maps *m)
{
	char path[4096];
	const char *dir = getenv("top_srcdir");
	struct lg_buf b = { 0 };
	struct lg_error e = { 0 };

	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/%s", dir ? dir : "..", name);
	ck_assert_int_eq(lg_read_file(path, &b), 0);
	ck_assert_msg(lg_maps_parse((char *)b.p, m, &e) == 0, "%s", e.msg);
	lg_buf_free(&b);
}

static void setup(void)
{
	load("smaps-features.txt", &features);
	load("smaps-edge.txt", &edge);
	load("smaps-reserve.txt", &reserve);
}

static void teardown(void)
{
	lg_maps_free(&features);
	lg_maps_free(&edge);
	lg_maps_free(&reserve);
}

static enum lg_dump_what decide(const struct lg_maps *m, uint64_t start, unsigned long bits, bool all)
{
	struct lg_filter f = { .bits = bits, .all = all };
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].start == start)
			return lg_filter_mapping(&m->v[i], &f);
	ck_abort_msg("no mapping at %lx", (unsigned long)start);
	return LG_DUMP_NONE;
}

START_TEST(filter_default)
{
	const struct lg_maps *m = &features;
	ck_assert_int_eq(decide(m, 0x7fcf10a00000, 0x33, false), LG_DUMP_WHOLE);	/* THP anon */
	ck_assert_int_eq(decide(m, 0x7fcf10e00000, 0x33, false), LG_DUMP_NONE);	/* MADV_DONTDUMP */
	ck_assert_int_eq(decide(m, 0x7fcf112e5000, 0x33, false), LG_DUMP_WHOLE);	/* shared anon */
	ck_assert_int_eq(decide(m, 0x7fcf112e6000, 0x33, false), LG_DUMP_WHOLE);	/* shared, deleted */
	ck_assert_int_eq(decide(m, 0x7fcf112e7000, 0x33, false), LG_DUMP_ELF_HEADER);	/* file at 0 */
	ck_assert_int_eq(decide(m, 0x7fcf11122000, 0x33, false), LG_DUMP_NONE);	/* libc text */
	ck_assert_int_eq(decide(m, 0x7fcf112cf000, 0x33, false), LG_DUMP_WHOLE);	/* libc .data, written */
	ck_assert_int_eq(decide(m, 0x7fcf112cb000, 0x33, false), LG_DUMP_WHOLE);	/* RELRO, written before mprotect */
	ck_assert_int_eq(decide(m, 0x7fcf112e4000, 0x33, false), LG_DUMP_NONE);	/* PROT_NONE, untouched */
	ck_assert_int_eq(decide(m, 0x7fcf112eb000, 0x33, false), LG_DUMP_WHOLE);	/* [vvar] */
	ck_assert_int_eq(decide(m, 0x7fcf112f1000, 0x33, false), LG_DUMP_WHOLE);	/* [vdso] */
	ck_assert_int_eq(decide(m, 0xffffffffff600000, 0x33, false), LG_DUMP_WHOLE);	/* [vsyscall] */
}
END_TEST

START_TEST(filter_bits)
{
	const struct lg_maps *m = &features, *x = &edge;
	/* Nothing of the process but the special mappings with filter 0. */
	ck_assert_int_eq(decide(m, 0x7fcf10a00000, 0, false), LG_DUMP_NONE);
	ck_assert_int_eq(decide(m, 0x7fcf112e5000, 0, false), LG_DUMP_NONE);
	ck_assert_int_eq(decide(m, 0x7fcf112e7000, 0, false), LG_DUMP_NONE);
	ck_assert_int_eq(decide(m, 0x7fcf112f1000, 0, false), LG_DUMP_WHOLE);
	/* bit 2: file-backed private mappings whole. */
	ck_assert_int_eq(decide(m, 0x7fcf11122000, 0x37, false), LG_DUMP_WHOLE);
	/* bit 1 alone: shared anonymous only. */
	ck_assert_int_eq(decide(m, 0x7fcf112e5000, 0x02, false), LG_DUMP_WHOLE);
	ck_assert_int_eq(decide(m, 0x7fcf10a00000, 0x02, false), LG_DUMP_NONE);
	/* hugetlb: bit 5 private, bit 6 shared. */
	ck_assert_int_eq(decide(x, 0x7f0000000000, 0x33, false), LG_DUMP_NONE);
	ck_assert_int_eq(decide(x, 0x7f0000200000, 0x33, false), LG_DUMP_WHOLE);
	ck_assert_int_eq(decide(x, 0x7f0000000000, 0x73, false), LG_DUMP_WHOLE);
	ck_assert_int_eq(decide(x, 0x7f0000200000, 0x13, false), LG_DUMP_NONE);
	/* bit 3: shared file mappings. */
	ck_assert_int_eq(decide(x, 0x7f0000402000, 0x33, false), LG_DUMP_NONE);
	ck_assert_int_eq(decide(x, 0x7f0000402000, 0x3b, false), LG_DUMP_WHOLE);
	/* swapped out counts as written. */
	ck_assert_int_eq(decide(x, 0x7f0000401000, 0x33, false), LG_DUMP_WHOLE);
	/* VM_IO never. */
	ck_assert_int_eq(decide(x, 0x7f0000403000, 0x1ff, false), LG_DUMP_NONE);
}
END_TEST

START_TEST(filter_all)
{
	const struct lg_maps *m = &features, *x = &edge;
	ck_assert_int_eq(decide(m, 0x7fcf10e00000, 0, true), LG_DUMP_WHOLE);	/* dd */
	ck_assert_int_eq(decide(m, 0x7fcf11122000, 0, true), LG_DUMP_WHOLE);	/* text */
	ck_assert_int_eq(decide(m, 0x7fcf112e7000, 0, true), LG_DUMP_WHOLE);
	ck_assert_int_eq(decide(x, 0x7f0000000000, 0, true), LG_DUMP_WHOLE);	/* hugetlb shared */
	ck_assert_int_eq(decide(x, 0x7f0000403000, 0, true), LG_DUMP_NONE);	/* io */
	/* Superset of the default: whatever 0x33 dumps, -a dumps. */
	for (size_t i = 0; i < m->n; i++) {
		struct lg_filter d = { .bits = 0x33, .all = false }, a = { .bits = 0x33, .all = true };
		if (lg_filter_mapping(&m->v[i], &d) != LG_DUMP_NONE)
			ck_assert_int_ne(lg_filter_mapping(&m->v[i], &a), LG_DUMP_NONE);
	}
}
END_TEST

static enum lg_dump_what decide_z(const struct lg_maps *m, uint64_t start, const struct lg_filter *f)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].start == start)
			return lg_filter_mapping(&m->v[i], f);
	ck_abort_msg("no mapping at %lx", (unsigned long)start);
	return LG_DUMP_NONE;
}

/* Never-written readable anonymous memory gets (hole) file space, the
 * smallest mappings first, up to LG_FILTER_ZEROS_BUDGET; PROT_NONE and
 * MADV_DONTDUMP never. */
START_TEST(filter_never_written)
{
	const struct lg_maps *m = &reserve;
	struct lg_filter f = { .bits = 0x33 }, a = { .bits = 0x33, .all = true },
			 none = { .bits = 0x32 };

	_Static_assert(LG_FILTER_ZEROS_BUDGET == 64ull << 30, "the fixture is sized for 64 GiB");
	/* 1 MiB + 2 GiB fit; the two of 40 GiB do not both, and a tie is
	 * left out whole; 4 TiB never. */
	f.zeros_below = lg_filter_zeros_cutoff(m, &f);
	ck_assert_uint_eq(f.zeros_below, 40ull << 30);
	ck_assert_int_eq(decide_z(m, 0x7f1000000000, &f), LG_DUMP_WHOLE);
	ck_assert_int_eq(decide_z(m, 0x7f1000101000, &f), LG_DUMP_WHOLE);
	ck_assert_int_eq(decide_z(m, 0x7f1080102000, &f), LG_DUMP_NONE);
	ck_assert_int_eq(decide_z(m, 0x7f1a80103000, &f), LG_DUMP_NONE);
	ck_assert_int_eq(decide_z(m, 0x7f3480104000, &f), LG_DUMP_NONE);
	ck_assert_int_eq(decide_z(m, 0x7f2480104000, &f), LG_DUMP_NONE);	/* PROT_NONE */
	ck_assert_int_eq(decide_z(m, 0x7f1000100000, &f), LG_DUMP_NONE);	/* guard */
	ck_assert_int_eq(decide_z(m, 0x7f7480105000, &f), LG_DUMP_NONE);	/* dd */
	ck_assert_int_eq(decide_z(m, 0x7f7480205000, &f), LG_DUMP_WHOLE);	/* written */
	ck_assert(lg_filter_never_written(&m->v[0], &f));
	ck_assert(!lg_filter_never_written(&m->v[m->n - 1], &f));
	/* Without the cutoff (0): the kernel's rule, p_filesz 0. */
	f.zeros_below = 0;
	ck_assert_int_eq(decide_z(m, 0x7f1000000000, &f), LG_DUMP_NONE);
	/* -a: the MADV_DONTDUMP MiB counts too, and the bound holds. */
	a.zeros_below = lg_filter_zeros_cutoff(m, &a);
	ck_assert_uint_eq(a.zeros_below, 40ull << 30);
	ck_assert_int_eq(decide_z(m, 0x7f7480105000, &a), LG_DUMP_WHOLE);
	ck_assert_int_eq(decide_z(m, 0x7f3480104000, &a), LG_DUMP_NONE);
	/* Anonymous private memory filtered out: no candidates at all. */
	ck_assert_uint_eq(lg_filter_zeros_cutoff(m, &none), UINT64_MAX);
	none.zeros_below = UINT64_MAX;
	ck_assert_int_eq(decide_z(m, 0x7f1000000000, &none), LG_DUMP_NONE);
	/* Everything fits: no cutoff. */
	ck_assert_uint_eq(lg_filter_zeros_cutoff(&features, &f), UINT64_MAX);
}
END_TEST

/* Walk notes: returns the number found, fills types/owners/sizes. */
static size_t walk(const struct lg_buf *b, uint32_t *types, char owners[][8], size_t *sizes,
		   const uint8_t **descs, size_t max)
{
	size_t off = 0, n = 0;
	while (off + 12 <= b->len && n < max) {
		Elf64_Nhdr h;
		memcpy(&h, b->p + off, sizeof(h));
		ck_assert_uint_le(h.n_namesz, 8);
		memcpy(owners[n], b->p + off + 12, h.n_namesz);
		types[n] = h.n_type;
		sizes[n] = h.n_descsz;
		descs[n] = b->p + off + 12 + ((h.n_namesz + 3) & ~3u);
		off += 12 + ((h.n_namesz + 3) & ~3u) + ((h.n_descsz + 3) & ~3u);
		n++;
	}
	ck_assert_uint_eq(off, b->len);
	return n;
}

START_TEST(notes_encoding)
{
	struct lg_buf b = { 0 }, xs = { 0 };
	struct lg_procinfo pi;
	struct lg_thread t;
	struct lg_threadinfo ti;
	struct lg_thread_note tn = { &t, &ti, &pi, NULL };
	uint32_t types[16];
	char owners[16][8];
	size_t sizes[16], n;
	const uint8_t *d[16];
	struct elf_prstatus st;
	struct elf_prpsinfo ps;

	memset(&pi, 0, sizeof(pi));
	pi.pid = 100;
	pi.ppid = 1;
	pi.pgrp = 100;
	pi.sid = 99;
	pi.state = 'S';
	pi.uid = 1000;
	strcpy(pi.comm, "target");
	strcpy(pi.psargs, "./target --long");
	lg_buf_append(&pi.auxv, "\x06\0\0\0\0\0\0\0\0\x10\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32);

	memset(&t, 0, sizeof(t));
	t.tid = 101;
	lg_buf_append_zeros(&t.gregs, lg_arch_gregs_size);
	t.gregs.p[16 * 8] = 0x42;	/* rip */
	lg_buf_append_zeros(&t.regsets[0], 512);
	lg_buf_append_zeros(&t.regsets[1], 2696);
	/* XSTATE's xcr0 (x87, SSE, AVX): the arch may lay it out anew. */
	t.regsets[1].p[464] = 0x7;
	ck_assert_int_eq(lg_arch_regset_note(NULL, 1, t.regsets[1].p, t.regsets[1].len, &xs), 0);
	memset(&ti, 0, sizeof(ti));
	ti.utime = 250;
	ti.sigpend = 1u << 9;

	ck_assert_int_eq(lg_note_prpsinfo(&b, &pi), 0);
	ck_assert_int_eq(lg_note_thread(&b, &tn), 0);
	ck_assert_int_eq(lg_note_auxv(&b, &pi), 0);
	ck_assert_int_eq(lg_note_file(&b, &features), 0);
	n = walk(&b, types, owners, sizes, d, 16);
	ck_assert_uint_eq(n, 7);
	ck_assert_uint_eq(types[0], NT_PRPSINFO);
	ck_assert_uint_eq(sizes[0], 136);
	ck_assert_uint_eq(types[1], NT_PRSTATUS);
	ck_assert_uint_eq(sizes[1], 336);
	ck_assert_uint_eq(types[2], NT_PRFPREG);
	ck_assert_uint_eq(sizes[2], 512);
	ck_assert_str_eq(owners[2], "CORE");
	ck_assert_uint_eq(types[3], 0x202);	/* NT_X86_XSTATE */
	ck_assert_str_eq(owners[3], "LINUX");
	ck_assert_uint_eq(sizes[3], xs.len);
	ck_assert_mem_eq(d[3], xs.p, xs.len);
	ck_assert_uint_eq(types[4], 0x53494749);	/* NT_SIGINFO */
	ck_assert_uint_eq(sizes[4], 128);
	ck_assert_uint_eq(types[5], NT_AUXV);
	ck_assert_uint_eq(sizes[5], 32);
	ck_assert_uint_eq(types[6], 0x46494c45);	/* NT_FILE */

	memcpy(&ps, d[0], sizeof(ps));
	ck_assert_int_eq(ps.pr_pid, 100);
	ck_assert_int_eq(ps.pr_sid, 99);
	ck_assert_int_eq(ps.pr_sname, 'S');
	ck_assert_int_eq(ps.pr_state, 1);
	ck_assert_str_eq(ps.pr_fname, "target");
	ck_assert_str_eq(ps.pr_psargs, "./target --long");

	memcpy(&st, d[1], sizeof(st));
	ck_assert_int_eq(st.pr_pid, 101);
	ck_assert_int_eq(st.pr_ppid, 1);
	ck_assert_int_eq(st.pr_fpvalid, 1);
	ck_assert_int_eq(st.pr_cursig, 0);
	ck_assert_uint_eq(st.pr_sigpend, 1u << 9);
	ck_assert_uint_eq(st.pr_reg[16], 0x42);
	ck_assert_int_eq(st.pr_utime.tv_sec, 250 / sysconf(_SC_CLK_TCK));

	/* NT_FILE: the kernel's format, page offsets, every file mapping,
	 * deleted names as the kernel writes them. */
	{
		/* A note's desc is only 4-byte aligned: copy the words out. */
		uint64_t w[8];
		const char *names;
		size_t i, files = 0;
		ck_assert_uint_ge(sizes[6], sizeof(w));
		memcpy(w, d[6], sizeof(w));
		for (i = 0; i < features.n; i++)
			files += lg_mapping_is_file(&features.v[i]);
		ck_assert_uint_eq(w[0], files);
		ck_assert_uint_eq(w[1], 4096);
		ck_assert_uint_eq(w[2], 0x5644f7566000);
		ck_assert_uint_eq(w[3 * 1 + 2 + 2], 1);	/* 2nd: offset 0x1000 = page 1 */
		names = (const char *)d[6] + sizeof(uint64_t) * (2 + 3 * files);
		ck_assert_str_eq(names, "/tmp/fx");
		ck_assert_ptr_nonnull(memmem(d[6], sizes[6], "/tmp/gone.bin (deleted)", 24));
		ck_assert_ptr_nonnull(memmem(d[6], sizes[6], "/dev/zero (deleted)", 20));
		ck_assert_ptr_null(memmem(d[6], sizes[6], "[vdso]", 6));
	}
	lg_buf_free(&b);
	lg_buf_free(&pi.auxv);
	lg_buf_free(&t.gregs);
	lg_buf_free(&t.regsets[0]);
	lg_buf_free(&t.regsets[1]);
	lg_buf_free(&xs);
}
END_TEST

START_TEST(note_padding)
{
	struct lg_buf b = { 0 };
	ck_assert_int_eq(lg_note_add(&b, "LINUX", 1, "abcde", 5), 0);
	/* 12 + "LINUX\0" padded to 8 + 5 padded to 8 */
	ck_assert_uint_eq(b.len, 28);
	ck_assert_int_eq(b.p[12 + 8 + 5], 0);
	lg_buf_free(&b);
}
END_TEST

static char tmpdir[256];
static void mktmp(void);
static void rmtmp(void);

START_TEST(contiguous_chains)
{
	struct lg_layout l;
	struct lg_move *mv;
	size_t n;

	/* In address order, as the stop mode lays it out: nothing to move. */
	lg_layout_init(&l);
	lg_layout_add(&l, 0x10000, 0x2000, 0x2000, PF_R);
	lg_layout_add(&l, 0x12000, 0x1000, 0x1000, PF_R);
	lg_layout_add(&l, 0x13000, 0x1000, 0x1000, PF_R);
	ck_assert_int_eq(lg_layout_contiguous_chains(&l, &mv, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(mv);

	/* A mapping that appeared during a pre-copy got space at the end,
	 * though it lies just below one that kept its place: the chain of
	 * 3 (0x13000 is adjacent too) moves to contiguous space. */
	l.seg[0].offset = l.data_end;
	l.data_end += 0x2000;
	ck_assert_int_eq(lg_layout_contiguous_chains(&l, &mv, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(mv[0].len, 0x2000);
	ck_assert_uint_eq(l.seg[1].offset, l.seg[0].offset + 0x2000);
	ck_assert_uint_eq(l.seg[2].offset, l.seg[1].offset + 0x1000);
	ck_assert_uint_eq(mv[1].to, l.seg[1].offset);
	ck_assert_uint_eq(l.data_end, l.seg[2].offset + 0x1000);
	free(mv);
	/* ... and then it is in order. */
	ck_assert_int_eq(lg_layout_contiguous_chains(&l, &mv, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(mv);
	lg_layout_free(&l);

	/* A truncated segment (an ELF header page) or a gap in memory ends
	 * a chain: readers do not read past it. */
	lg_layout_init(&l);
	lg_layout_add(&l, 0x10000, 0x3000, 0x1000, PF_R);
	lg_layout_add(&l, 0x20000, 0x1000, 0x1000, PF_R);
	lg_layout_add(&l, 0x30000, 0x1000, 0x1000, PF_R);
	l.seg[1].offset = l.data_end + 0x10000;
	l.seg[0].offset = l.data_end + 0x20000;
	ck_assert_int_eq(lg_layout_contiguous_chains(&l, &mv, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(mv);
	lg_layout_free(&l);
}
END_TEST

START_TEST(layout_place)
{
	struct lg_layout l;

	/* Added segments get page-aligned space from the page after the ELF
	 * header; one without data gets none. */
	lg_layout_init(&l);
	lg_layout_add(&l, 0x10000, 0x3000, 0x1800, PF_R);
	lg_layout_add(&l, 0x20000, 0x1000, 0, PF_R);
	lg_layout_add(&l, 0x30000, 0x1000, 0x1000, PF_R);
	ck_assert_uint_eq(l.seg[0].offset, LG_LAYOUT_DATA_START);
	ck_assert_uint_eq(l.seg[1].offset, 0);
	ck_assert_uint_eq(l.seg[2].offset, LG_LAYOUT_DATA_START + 0x2000);
	ck_assert_uint_eq(l.data_end, LG_LAYOUT_DATA_START + 0x3000);

	/* Placed again after some other data (rounded up to a page). */
	lg_layout_place_from(&l, 0x10001);
	ck_assert_uint_eq(lg_layout_place(&l, 2), 0x11000);
	ck_assert_uint_eq(lg_layout_place(&l, 0), 0x12000);
	ck_assert_uint_eq(l.seg[0].offset, 0x12000);
	ck_assert_uint_eq(l.data_end, 0x14000);
	lg_layout_free(&l);
}
END_TEST

START_TEST(file_move)
{
	char path[512];
	struct lg_core_file f;
	struct lg_error e = { 0 };
	uint8_t page[4096], back[4096];
	struct stat st;

	mktmp();
	snprintf(path, sizeof(path), "%s/core.6", tmpdir);
	ck_assert_int_eq(lg_core_file_create(&f, path, &e), 0);
	memset(page, 0x3c, sizeof(page));
	ck_assert_int_eq(lg_core_file_write(&f, 4096, page, sizeof(page), false, &e), 0);
	ck_assert_int_eq(lg_core_file_move(&f, 4096, 3 * 4096, 4096, &e), 0);
	ck_assert_int_eq(pread(f.fd, back, sizeof(back), 3 * 4096), sizeof(back));
	ck_assert_int_eq(memcmp(back, page, sizeof(page)), 0);
	ck_assert_int_eq(pread(f.fd, back, sizeof(back), 4096), sizeof(back));
	ck_assert_int_eq(back[0] | back[4095], 0);	/* the source is a hole now */
	ck_assert_int_eq(fstat(f.fd, &st), 0);
	ck_assert_int_le(st.st_blocks * 512, 4096);
	lg_core_file_abort(&f);
	rmtmp();
}
END_TEST

static void mktmp(void)
{
	strcpy(tmpdir, "/tmp/lgcore-unit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rmtmp(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
	closedir(d);
	return n;
}

/* Build a core of N segments (every other one dumped, one page) and
 * commit it to PATH. */
static void write_core(const char *path, size_t nseg)
{
	struct lg_core_file f;
	struct lg_layout l;
	struct lg_buf notes = { 0 }, tail = { 0 };
	struct lg_error e = { 0 };
	Elf64_Ehdr eh;
	uint8_t page[4096];
	size_t i;

	ck_assert_msg(lg_core_file_create(&f, path, &e) == 0, "%s", e.msg);
	lg_layout_init(&l);
	for (i = 0; i < nseg; i++) {
		long s = lg_layout_add(&l, 0x10000 + i * 0x2000, 0x1000, (i % 2) ? 0 : 0x1000, PF_R | PF_W);
		ck_assert_int_eq(s, (long)i);
		if (i % 2 == 0) {
			memset(page, 0, sizeof(page));
			if (i % 4 == 0)
				memcpy(page, &i, sizeof(i));	/* others stay holes */
			ck_assert_int_eq(lg_core_file_write(&f, l.seg[i].offset, page, sizeof(page), false, &e), 0);
		}
	}
	lg_note_add(&notes, "CORE", NT_AUXV, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	ck_assert_int_eq(lg_layout_tail(&l, &notes, l.data_end, &tail, &eh), 0);
	ck_assert_msg(lg_core_file_commit(&f, &eh, &tail, l.data_end, &e) == 0, "%s", e.msg);
	lg_layout_free(&l);
	lg_buf_free(&notes);
	lg_buf_free(&tail);
}

static void check_core(const char *path, size_t nseg)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	size_t phnum, i;
	GElf_Phdr ph;
	GElf_Ehdr eh;

	ck_assert_int_ge(fd, 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	ck_assert_ptr_nonnull(elf);
	ck_assert_ptr_nonnull(gelf_getehdr(elf, &eh));
	ck_assert_int_eq(eh.e_type, ET_CORE);
	ck_assert_int_eq(eh.e_machine, EM_X86_64);
	ck_assert_int_eq(elf_getphdrnum(elf, &phnum), 0);
	ck_assert_uint_eq(phnum, nseg + 1);
	ck_assert_uint_eq(eh.e_phnum, nseg + 1 >= PN_XNUM ? PN_XNUM : nseg + 1);
	ck_assert_ptr_nonnull(gelf_getphdr(elf, 0, &ph));
	ck_assert_uint_eq(ph.p_type, PT_NOTE);
	ck_assert_uint_eq(ph.p_filesz, 12 + 8 + 16);
	for (i = 1; i < phnum; i += 997) {
		uint64_t v = 0;
		ck_assert_ptr_nonnull(gelf_getphdr(elf, i, &ph));
		ck_assert_uint_eq(ph.p_type, PT_LOAD);
		ck_assert_uint_eq(ph.p_vaddr, 0x10000 + (i - 1) * 0x2000);
		ck_assert_uint_eq(ph.p_filesz, (i - 1) % 2 ? 0 : 0x1000);
		ck_assert_uint_eq(ph.p_align, 4096);
		if (ph.p_filesz) {
			ck_assert_uint_eq(ph.p_offset % 4096, 0);
			ck_assert_int_eq(pread(fd, &v, sizeof(v), ph.p_offset), sizeof(v));
			ck_assert_uint_eq(v, (i - 1) % 4 == 0 ? i - 1 : 0);
		}
	}
	elf_end(elf);
	close(fd);
}

START_TEST(layout_small)
{
	char path[512];
	struct stat st;

	mktmp();
	snprintf(path, sizeof(path), "%s/core.1", tmpdir);
	write_core(path, 40);
	check_core(path, 40);
	ck_assert_int_eq(stat(path, &st), 0);
	/* Half of the dumped pages are zero: holes, not blocks. */
	ck_assert_int_lt(st.st_blocks * 512, st.st_size);
	rmtmp();
}
END_TEST

START_TEST(layout_more_than_65535)
{
	char path[512];

	mktmp();
	snprintf(path, sizeof(path), "%s/core.2", tmpdir);
	write_core(path, 70000);
	check_core(path, 70000);
	/* 65534 segments + PT_NOTE = 65535 = PN_XNUM needs the extension too. */
	write_core(path, 65534);
	check_core(path, 65534);
	write_core(path, 65533);
	check_core(path, 65533);
	rmtmp();
}
END_TEST

START_TEST(file_mode_symlink_abort)
{
	char path[512], victim[512];
	struct lg_core_file f;
	struct lg_error e = { 0 };
	struct stat st;
	int fd;

	mktmp();
	umask(022);
	snprintf(path, sizeof(path), "%s/core.3", tmpdir);
	snprintf(victim, sizeof(victim), "%s/victim", tmpdir);
	fd = open(victim, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	ck_assert_int_eq(symlink(victim, path), 0);

	write_core(path, 4);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(victim, &st), 0);
	ck_assert_uint_eq(st.st_size, 4);

	/* An aborted dump leaves no file behind, named or not. */
	ck_assert_uint_eq(count_entries(tmpdir), 2);
	ck_assert_int_eq(lg_core_file_create(&f, path, &e), 0);
	ck_assert_int_eq(lg_core_file_write(&f, 4096, "x", 1, false, &e), 0);
	lg_core_file_abort(&f);
	ck_assert_uint_eq(count_entries(tmpdir), 2);

	/* No directory: an error that names it. */
	snprintf(path, sizeof(path), "%s/nodir/core.4", tmpdir);
	ck_assert_int_eq(lg_core_file_create(&f, path, &e), -ENOENT);
	ck_assert_ptr_nonnull(strstr(e.msg, "nodir"));
	rmtmp();
}
END_TEST

START_TEST(file_overwrite_punches)
{
	char path[512];
	struct lg_core_file f;
	struct lg_error e = { 0 };
	struct lg_buf tail = { 0 };
	Elf64_Ehdr eh;
	uint8_t page[4096], back[4096];
	int fd;

	mktmp();
	snprintf(path, sizeof(path), "%s/core.5", tmpdir);
	ck_assert_int_eq(lg_core_file_create(&f, path, &e), 0);
	memset(page, 0x5a, sizeof(page));
	ck_assert_int_eq(lg_core_file_write(&f, 8192, page, sizeof(page), false, &e), 0);
	memset(page, 0, sizeof(page));
	/* A page that became zero since the last pass must read as zero. */
	ck_assert_int_eq(lg_core_file_write(&f, 8192, page, sizeof(page), true, &e), 0);
	memset(&eh, 0, sizeof(eh));
	lg_buf_append_zeros(&tail, 8);
	ck_assert_int_eq(lg_core_file_commit(&f, &eh, &tail, 16384, &e), 0);
	fd = open(path, O_RDONLY);
	ck_assert_int_eq(pread(fd, back, sizeof(back), 8192), sizeof(back));
	ck_assert_int_eq(memcmp(back, page, sizeof(page)), 0);
	close(fd);
	lg_buf_free(&tail);
	rmtmp();
}
END_TEST

Suite *unit_suite(void);

Suite *unit_suite(void)
{
	Suite *s = suite_create("elfcore");
	TCase *tc = tcase_create("filter");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, filter_default);
	tcase_add_test(tc, filter_bits);
	tcase_add_test(tc, filter_all);
	tcase_add_test(tc, filter_never_written);
	suite_add_tcase(s, tc);
	tc = tcase_create("notes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, notes_encoding);
	tcase_add_test(tc, note_padding);
	suite_add_tcase(s, tc);
	tc = tcase_create("layout+file");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, layout_small);
	tcase_add_test(tc, layout_more_than_65535);
	tcase_add_test(tc, file_mode_symlink_abort);
	tcase_add_test(tc, file_overwrite_punches);
	tcase_add_test(tc, contiguous_chains);
	tcase_add_test(tc, layout_place);
	tcase_add_test(tc, file_move);
	suite_add_tcase(s, tc);
	return s;
}
