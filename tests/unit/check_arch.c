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
	tcase_add_test(tc, this_cpu);
	suite_add_tcase(s, tc);
	return s;
}
