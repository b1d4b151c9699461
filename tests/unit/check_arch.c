/* lib/arch/x86_64.c: the XSAVE area rewritten into the layout gdb 13 reads,
 * and the NT_X86_XSAVE_LAYOUT that describes it, for the CPUID layouts of
 * real CPUs (given here as tables, so that every layout is tested on any
 * machine) and for this one. */
#include <check.h>
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/x86_64.h"

struct comp {
	unsigned feature;
	uint32_t size, offset;
};

static void cpu_of(struct lg_xsave_cpuid *cpu, const struct comp *c, size_t n)
{
	memset(cpu, 0, sizeof(*cpu));
	for (size_t i = 0; i < n; i++) {
		cpu->size[c[i].feature] = c[i].size;
		cpu->offset[c[i].feature] = c[i].offset;
	}
}

/* CPUID leaf 0xD of AMD Zen 4 (AVX-512 right after AVX, no MPX hole, PKRU
 * at 2432: a 2440-byte area). */
static const struct comp zen4[] = {
	{ 2, 256, 576 }, { 5, 64, 832 }, { 6, 512, 896 }, { 7, 1024, 1408 }, { 9, 8, 2432 },
};
/* AMD Zen 3: AVX2 and PKU, PKRU at 2432 as well. */
static const struct comp zen3[] = { { 2, 256, 576 }, { 9, 8, 2432 } };
/* Intel Sapphire Rapids: Skylake-SP's layout (MPX slots kept) plus AMX. */
static const struct comp spr[] = {
	{ 2, 256, 576 }, { 3, 64, 960 }, { 4, 64, 1024 }, { 5, 64, 1088 }, { 6, 512, 1152 },
	{ 7, 1024, 1664 }, { 9, 8, 2688 }, { 17, 64, 2752 }, { 18, 8192, 2816 },
};

static uint32_t to_of(const struct lg_xsave_map *m, unsigned feature)
{
	for (unsigned k = 0; k < m->n; k++)
		if (m->c[k].feature == feature)
			return m->c[k].to;
	ck_abort_msg("component %u not in the map", feature);
	return 0;
}

START_TEST(map_amd_zen4)
{
	struct lg_xsave_cpuid cpu;
	struct lg_xsave_map m;

	cpu_of(&cpu, zen4, 5);
	ck_assert_int_eq(lg_arch_xsave_map(0x2e7, &cpu, &m), 0);
	ck_assert_uint_eq(m.n, 5);
	ck_assert_uint_eq(to_of(&m, 2), 576);
	ck_assert_uint_eq(to_of(&m, 5), 1088);
	ck_assert_uint_eq(to_of(&m, 6), 1152);
	ck_assert_uint_eq(to_of(&m, 7), 1664);
	ck_assert_uint_eq(to_of(&m, 9), 2688);
	ck_assert_uint_eq(m.size, 2696);
	/* Without PKU (as some VMs show Zen 4): gdb 13 wants 2688. */
	ck_assert_int_eq(lg_arch_xsave_map(0xe7, &cpu, &m), 0);
	ck_assert_uint_eq(m.n, 4);
	ck_assert_uint_eq(m.size, 2688);
}
END_TEST

START_TEST(map_amd_zen3)
{
	struct lg_xsave_cpuid cpu;
	struct lg_xsave_map m;

	cpu_of(&cpu, zen3, 2);
	ck_assert_int_eq(lg_arch_xsave_map(0x207, &cpu, &m), 0);
	ck_assert_uint_eq(to_of(&m, 2), 576);
	ck_assert_uint_eq(to_of(&m, 9), 2688);
	/* The size gdb 13 gives xcr0 0x207, not the kernel's 2440. */
	ck_assert_uint_eq(m.size, 2696);
	/* AVX alone: 832, the end of the AVX component. */
	ck_assert_int_eq(lg_arch_xsave_map(0x7, &cpu, &m), 0);
	ck_assert_uint_eq(m.size, 832);
	/* x87/SSE only: the legacy area and the header. */
	ck_assert_int_eq(lg_arch_xsave_map(0x3, &cpu, &m), 0);
	ck_assert_uint_eq(m.n, 0);
	ck_assert_uint_eq(m.size, 576);
}
END_TEST

START_TEST(map_intel_identity)
{
	struct lg_xsave_cpuid cpu;
	struct lg_xsave_map m;

	cpu_of(&cpu, spr, 9);
	/* Sapphire Rapids as Linux enables it: no MPX, AMX on. */
	ck_assert_int_eq(lg_arch_xsave_map(0x602e7, &cpu, &m), 0);
	ck_assert_uint_eq(m.n, 7);
	for (unsigned k = 0; k < m.n; k++)
		ck_assert_uint_eq(m.c[k].to, m.c[k].from);
	ck_assert_uint_eq(m.size, 11008);
	/* Skylake-SP with MPX. */
	ck_assert_int_eq(lg_arch_xsave_map(0x2ff, &cpu, &m), 0);
	for (unsigned k = 0; k < m.n; k++)
		ck_assert_uint_eq(m.c[k].to, m.c[k].from);
	ck_assert_uint_eq(m.size, 2696);
}
END_TEST

START_TEST(map_unknown_components)
{
	/* APX (component 19) takes the MPX slots on CPUs without MPX: free
	 * in the fixed layout, it stays there. */
	static const struct comp apx[] = {
		{ 2, 256, 576 }, { 5, 64, 1088 }, { 6, 512, 1152 }, { 7, 1024, 1664 },
		{ 9, 8, 2688 }, { 19, 128, 960 },
	};
	/* A component gdb does not know right after an AMD-style area:
	 * Intel's offsets put Hi16_ZMM there, so it moves past the end. */
	static const struct comp odd[] = {
		{ 2, 256, 576 }, { 5, 64, 832 }, { 6, 512, 896 }, { 7, 1024, 1408 },
		{ 9, 8, 2432 }, { 19, 128, 2440 },
	};
	struct lg_xsave_cpuid cpu;
	struct lg_xsave_map m;

	cpu_of(&cpu, apx, 6);
	ck_assert_int_eq(lg_arch_xsave_map(0x802e7, &cpu, &m), 0);
	ck_assert_uint_eq(to_of(&m, 19), 960);
	ck_assert_uint_eq(m.size, 2696);
	cpu_of(&cpu, odd, 6);
	ck_assert_int_eq(lg_arch_xsave_map(0x802e7, &cpu, &m), 0);
	ck_assert_uint_eq(to_of(&m, 7), 1664);
	ck_assert_uint_eq(to_of(&m, 9), 2688);
	ck_assert_uint_eq(to_of(&m, 19), 2752);	/* 2696 rounded up to 64 */
	ck_assert_uint_eq(m.size, 2752 + 128);
	/* XCR0 enables a component the CPU does not describe. */
	ck_assert_int_eq(lg_arch_xsave_map(0x10207, &cpu, &m), -EINVAL);
}
END_TEST

/* A kernel-style area for CPU layout C: every component's bytes are its
 * number, the legacy area counts up, the header says all in use. */
static size_t fill_area(uint8_t *a, size_t cap, const struct comp *c, size_t n, uint64_t xcr0)
{
	size_t end = 576;
	uint64_t bv = xcr0, comp = 0x8000000000000000ull;

	memset(a, 0xee, cap);
	for (size_t i = 0; i < 512; i++)
		a[i] = (uint8_t)i;
	memset(a + 512, 0, 64);
	memcpy(a + 464, &xcr0, 8);
	bv &= ~(1ull << 2);	/* AVX in its init state: the core says present */
	memcpy(a + 512, &bv, 8);
	memcpy(a + 520, &comp, 8);	/* must not survive */
	for (size_t i = 0; i < n; i++) {
		memset(a + c[i].offset, (int)c[i].feature, c[i].size);
		if (c[i].offset + c[i].size > end)
			end = c[i].offset + c[i].size;
	}
	return end;
}

START_TEST(convert_zen4)
{
	static uint8_t in[4096];
	struct lg_xsave_cpuid cpu;
	struct lg_xsave_map m;
	struct lg_buf out = { 0 };
	uint64_t v;
	size_t len;

	cpu_of(&cpu, zen4, 5);
	len = fill_area(in, sizeof(in), zen4, 5, 0x2e7);
	ck_assert_uint_eq(len, 2440);
	ck_assert_int_eq(lg_arch_xsave_map(0x2e7, &cpu, &m), 0);
	ck_assert_int_eq(lg_arch_xsave_convert(&m, in, len, &out), 0);
	ck_assert_uint_eq(out.len, 2696);
	ck_assert_mem_eq(out.p, in, 512);
	memcpy(&v, out.p + 464, 8);
	ck_assert_uint_eq(v, 0x2e7);
	memcpy(&v, out.p + 512, 8);
	ck_assert_uint_eq(v, 0x2e7);
	memcpy(&v, out.p + 520, 8);
	ck_assert_uint_eq(v, 0);
	for (unsigned k = 0; k < m.n; k++)
		for (uint32_t b = 0; b < m.c[k].size; b++)
			ck_assert_uint_eq(out.p[m.c[k].to + b], m.c[k].feature);
	/* The MPX slots gdb 13 skips (xcr0 has no MPX) are zeros. */
	for (uint32_t b = 960; b < 1088; b++)
		ck_assert_uint_eq(out.p[b], 0);

	/* A short area (the kernel gave less than CPUID says): the missing
	 * component is said to be in its init state, not read as garbage. */
	ck_assert_int_eq(lg_arch_xsave_convert(&m, in, 2432, &out), 0);
	memcpy(&v, out.p + 512, 8);
	ck_assert_uint_eq(v, 0x2e7 & ~(1ull << 9));
	ck_assert_uint_eq(out.p[2688], 0);
	lg_buf_free(&out);
}
END_TEST

START_TEST(layout_desc)
{
	struct lg_xsave_cpuid cpu;
	struct lg_xsave_map m;
	struct lg_buf d = { 0 };
	uint32_t rec[5][4];

	cpu_of(&cpu, zen4, 5);
	ck_assert_int_eq(lg_arch_xsave_map(0x2e7, &cpu, &m), 0);
	ck_assert_int_eq(lg_arch_xsave_layout_desc(&m, &d), 0);
	ck_assert_uint_eq(d.len, sizeof(rec));
	memcpy(rec, d.p, sizeof(rec));
	/* type, size, offset where this core has it, flags */
	ck_assert_uint_eq(rec[0][0], 2);
	ck_assert_uint_eq(rec[0][2], 576);
	ck_assert_uint_eq(rec[1][0], 5);
	ck_assert_uint_eq(rec[1][2], 1088);
	ck_assert_uint_eq(rec[3][0], 7);
	ck_assert_uint_eq(rec[3][1], 1024);
	ck_assert_uint_eq(rec[3][2], 1664);
	ck_assert_uint_eq(rec[4][0], 9);
	ck_assert_uint_eq(rec[4][2], 2688);
	ck_assert_uint_eq(rec[4][3], 0);
	/* The last component ends where the note does. */
	ck_assert_uint_eq(rec[4][1] + rec[4][2], m.size);
	lg_buf_free(&d);
}
END_TEST

/* The size gdb 13 accepts for an XSTATE whose XCR0 word is XCR0: it keeps
 * the features it knows (0x2ff) and wants X86_XSTATE_SIZE of them
 * (gdbsupport/x86-xstate.h), any other size is "Unexpected size of
 * section".  Written from gdb's rule, not from lib/arch. */
static uint32_t gdb13_wants(uint64_t xcr0)
{
	xcr0 &= 0x2ff;
	return xcr0 & 0x200 ? 2696 : xcr0 & 0xe0 ? 2688 : xcr0 & 0x18 ? 1088 : xcr0 & 4 ? 832 : 576;
}

/* Component F of CPU table C (N entries). */
static const struct comp *comp_of(const struct comp *c, size_t n, unsigned f)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].feature == f)
			return &c[i];
	ck_abort_msg("component %u not in the table", f);
	return NULL;
}

/* lg_arch_regsets[]'s index of NT_X86_XSTATE. */
static size_t xstate_regset(void)
{
	for (size_t i = 0; i < lg_arch_nregsets; i++)
		if (lg_arch_regsets[i].note_type == 0x202)
			return i;
	ck_abort_msg("no XSTATE regset");
	return 0;
}

/* A Sapphire Rapids area (xcr0 0x602e7, 11008 bytes) whose xstate_bv is
 * BV; AMX components hold their numbers only where BV says in use (the
 * kernel zeroes components in their init state). */
static size_t spr_area(uint8_t *a, size_t cap, uint64_t bv)
{
	size_t len = fill_area(a, cap, spr, 9, 0x602e7);

	memcpy(a + 512, &bv, 8);
	for (unsigned f = 17; f <= 18; f++)
		if (!(bv >> f & 1))
			memset(a + comp_of(spr, 9, f)->offset, 0, comp_of(spr, 9, f)->size);
	return len;
}

/* The layout note's records, as (type, size, offset) of REC. */
static unsigned layout_of(const struct lg_buf *d, uint32_t rec[][4], unsigned cap)
{
	ck_assert_uint_eq(d->len % 16, 0);
	ck_assert_uint_le(d->len / 16, cap);
	memcpy(rec, d->p, d->len);
	return (unsigned)(d->len / 16);
}

START_TEST(amx_init_left_out)
{
	static uint8_t in[12288];
	struct lg_xsave_cpuid cpu;
	struct lg_arch_core ac = { 0 };
	struct lg_buf out = { 0 }, d = { 0 };
	uint32_t rec[16][4];
	uint64_t v;
	size_t len;
	unsigned n, k;

	cpu_of(&cpu, spr, 9);
	/* Every known component in use, AMX in its init state. */
	len = spr_area(in, sizeof(in), 0x2e7);
	ck_assert_uint_eq(len, 11008);
	lg_arch_core_scan(&ac, xstate_regset(), in, len);
	ck_assert_int_eq(lg_arch_xsave_note(&ac, &cpu, in, len, &out), 0);
	ck_assert_uint_eq(out.len, 2696);
	memcpy(&v, out.p + 464, 8);
	ck_assert_uint_eq(v, 0x2e7);	/* as gdb's gcore writes it there */
	ck_assert_uint_eq(out.len, gdb13_wants(v));
	memcpy(&v, out.p + 512, 8);
	ck_assert_uint_eq(v, 0x2e7);
	memcpy(&v, out.p + 520, 8);
	ck_assert_uint_eq(v, 0);
	/* Every register gdb 13 knows, where it reads it (Intel's offsets
	 * are this CPU's): x87/SSE, then each enabled component. */
	ck_assert_mem_eq(out.p, in, 464);
	ck_assert_mem_eq(out.p + 472, in + 472, 40);
	for (k = 0; k < 7; k++) {
		if (!(0x2e7 >> spr[k].feature & 1))
			continue;
		ck_assert_mem_eq(out.p + spr[k].offset, in + spr[k].offset, spr[k].size);
		ck_assert_uint_eq(out.p[spr[k].offset], spr[k].feature);
	}
	/* The layout note says the same: no AMX, ending where XSTATE ends. */
	ck_assert_int_eq(lg_arch_xsave_layout_note(&ac, 0x602e7, &cpu, &d), 0);
	n = layout_of(&d, rec, 16);
	ck_assert_uint_eq(n, 5);
	for (k = 0; k < n; k++) {
		ck_assert_uint_lt(rec[k][0], 17);
		ck_assert_uint_eq(rec[k][1], comp_of(spr, 9, rec[k][0])->size);
		ck_assert_uint_eq(rec[k][2], comp_of(spr, 9, rec[k][0])->offset);
	}
	ck_assert_uint_eq(rec[n - 1][0], 9);
	ck_assert_uint_eq(rec[n - 1][1] + rec[n - 1][2], out.len);

	/* A core of this thread alone decides the same. */
	ck_assert_int_eq(lg_arch_xsave_note(NULL, &cpu, in, len, &out), 0);
	ck_assert_uint_eq(out.len, 2696);
	/* No thread scanned: the layout note for the kernel's XCR0 trims. */
	ck_assert_int_eq(lg_arch_xsave_layout_note(NULL, 0x602e7, &cpu, &d), 0);
	ck_assert_uint_eq(d.len, 5 * 16);

	/* APX (component 19) and any later one: left out the same way. */
	{
		static const struct comp apx[] = {
			{ 2, 256, 576 }, { 5, 64, 1088 }, { 6, 512, 1152 }, { 7, 1024, 1664 },
			{ 9, 8, 2688 }, { 17, 64, 2752 }, { 18, 8192, 2816 }, { 19, 128, 960 },
		};
		struct lg_arch_core ac2 = { 0 };
		cpu_of(&cpu, apx, 8);
		len = fill_area(in, sizeof(in), apx, 8, 0xe02e7);
		v = 0x2e7;
		memcpy(in + 512, &v, 8);
		lg_arch_core_scan(&ac2, xstate_regset(), in, len);
		ck_assert_int_eq(lg_arch_xsave_note(&ac2, &cpu, in, len, &out), 0);
		ck_assert_uint_eq(out.len, 2696);
		memcpy(&v, out.p + 464, 8);
		ck_assert_uint_eq(v, 0x2e7);
		/* APX's slot (MPX's, unused here) is not carried over. */
		for (uint32_t b = 960; b < 1088; b++)
			ck_assert_uint_eq(out.p[b], 0);
	}
	lg_buf_free(&out);
	lg_buf_free(&d);
}
END_TEST

START_TEST(amx_in_use_kept)
{
	static uint8_t in[12288], other[12288];
	struct lg_xsave_cpuid cpu;
	struct lg_arch_core ac = { 0 };
	struct lg_buf out = { 0 }, d = { 0 };
	uint32_t rec[16][4];
	uint64_t v;
	size_t len;
	unsigned n;

	cpu_of(&cpu, spr, 9);
	/* One thread has tiles loaded (TILECFG and TILEDATA in use), the
	 * other has not: both get the whole area, since the layout note is
	 * one for the process. */
	len = spr_area(in, sizeof(in), 0x602e7);
	ck_assert_uint_eq(spr_area(other, sizeof(other), 0x2e7), len);
	lg_arch_core_scan(&ac, xstate_regset(), other, len);
	lg_arch_core_scan(&ac, xstate_regset(), in, len);
	ck_assert_int_eq(lg_arch_xsave_note(&ac, &cpu, in, len, &out), 0);
	ck_assert_uint_eq(out.len, 11008);
	memcpy(&v, out.p + 464, 8);
	ck_assert_uint_eq(v, 0x602e7);
	memcpy(&v, out.p + 512, 8);
	ck_assert_uint_eq(v, 0x602e7);
	ck_assert_mem_eq(out.p + 2752, in + 2752, 64);
	ck_assert_mem_eq(out.p + 2816, in + 2816, 8192);
	ck_assert_uint_eq(out.p[2816], 18);
	for (unsigned k = 0; k < 9; k++)
		if (0x602e7 >> spr[k].feature & 1)
			ck_assert_mem_eq(out.p + spr[k].offset, in + spr[k].offset, spr[k].size);
	ck_assert_int_eq(lg_arch_xsave_note(&ac, &cpu, other, len, &out), 0);
	ck_assert_uint_eq(out.len, 11008);
	ck_assert_int_eq(lg_arch_xsave_layout_note(&ac, 0x602e7, &cpu, &d), 0);
	n = layout_of(&d, rec, 16);
	ck_assert_uint_eq(n, 7);
	ck_assert_uint_eq(rec[5][0], 17);
	ck_assert_uint_eq(rec[5][2], 2752);
	ck_assert_uint_eq(rec[6][0], 18);
	ck_assert_uint_eq(rec[6][1], 8192);
	ck_assert_uint_eq(rec[6][2], 2816);
	ck_assert_uint_eq(rec[6][1] + rec[6][2], out.len);
	/* TILECFG alone in use is in use too. */
	memset(&ac, 0, sizeof(ac));
	spr_area(in, sizeof(in), 0x202e7);
	lg_arch_core_scan(&ac, xstate_regset(), in, len);
	ck_assert_int_eq(lg_arch_xsave_note(&ac, &cpu, in, len, &out), 0);
	ck_assert_uint_eq(out.len, 11008);
	lg_buf_free(&out);
	lg_buf_free(&d);
}
END_TEST

/* This machine: the regset hook gives an area as large as its layout
 * note says, and the layout note matches what the hook used. */
START_TEST(this_cpu)
{
	static uint8_t in[16384];
	struct lg_xsave_cpuid cpu;
	struct lg_xsave_map m;
	struct lg_buf out = { 0 };
	unsigned int a, b, c, d;
	uint32_t lo, hi;
	uint64_t xcr0;
	size_t xs = SIZE_MAX;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return;	/* no XSAVE: no XSTATE regset at all */
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	xcr0 = (uint64_t)hi << 32 | lo;
	lg_arch_xsave_cpuid(&cpu);
	ck_assert_int_eq(lg_arch_xsave_map(xcr0, &cpu, &m), 0);
	for (size_t i = 0; i < lg_arch_nregsets; i++)
		if (lg_arch_regsets[i].note_type == 0x202)
			xs = i;
	ck_assert_uint_ne(xs, SIZE_MAX);
	__cpuid_count(0xd, 0, a, b, c, d);
	ck_assert_uint_le(b, sizeof(in));
	memset(in, 0x5a, sizeof(in));
	memcpy(in + 464, &xcr0, 8);
	ck_assert_int_eq(lg_arch_regset_note(NULL, xs, in, b, &out), 0);
	ck_assert_uint_eq(out.len, m.size);
	ck_assert_uint_ge(out.len, b < 2688 && (xcr0 & 0xe0) ? 2688 : 576);
	/* FPREGSET is copied as it is. */
	ck_assert_int_eq(lg_arch_regset_note(NULL, 0, in, 512, &out), 0);
	ck_assert_uint_eq(out.len, 512);
	ck_assert_mem_eq(out.p, in, 512);
	lg_buf_free(&out);
}
END_TEST

Suite *unit_suite(void);
Suite *unit_suite(void)
{
	Suite *s = suite_create("arch");
	TCase *tc = tcase_create("xsave");

	tcase_add_test(tc, map_amd_zen4);
	tcase_add_test(tc, map_amd_zen3);
	tcase_add_test(tc, map_intel_identity);
	tcase_add_test(tc, map_unknown_components);
	tcase_add_test(tc, convert_zen4);
	tcase_add_test(tc, layout_desc);
	tcase_add_test(tc, amx_init_left_out);
	tcase_add_test(tc, amx_in_use_kept);
	tcase_add_test(tc, this_cpu);
	suite_add_tcase(s, tc);
	return s;
}
