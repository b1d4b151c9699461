/* What lgcore writes for XSTATE on a CPU with AMX, from an area of this
 * one: reads an XSTATE note in Intel's fixed layout (lgcore's, on any CPU)
 * on stdin, makes the area the kernel hands out on a Sapphire Rapids
 * (CPUID leaf 0xD below: AMX TILECFG at 2752, TILEDATA at 2816, 11008
 * bytes; XCR0 with the AMX bits set, AMX in its init state unless "used"),
 * and writes to stdout:
 *   kernel       that area, as the kernel's core carries it
 *   note         lgcore's NT_X86_XSTATE for it
 *   layout       lgcore's NT_X86_XSAVE_LAYOUT for it
 *   kernel-layout  the kernel's (Linux 6.11+): every component of XCR0
 * add "used" to put TILEDATA in use (every byte 0x18) before converting. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/x86_64.h"

#define SPR_SIZE 11008u
#define AMX_BITS 0x60000ull

static const struct { unsigned feature; uint32_t size, offset; } spr[] = {
	{ 2, 256, 576 }, { 3, 64, 960 }, { 4, 64, 1024 }, { 5, 64, 1088 }, { 6, 512, 1152 },
	{ 7, 1024, 1664 }, { 9, 8, 2688 }, { 17, 64, 2752 }, { 18, 8192, 2816 },
};

int main(int argc, char **argv)
{
	static uint8_t area[SPR_SIZE];
	struct lg_xsave_cpuid cpu;
	struct lg_arch_core ac = { 0 };
	struct lg_xsave_map m;
	struct lg_buf out = { 0 };
	uint64_t xcr0, bv;
	size_t n;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: xstate-amx kernel|note|layout|kernel-layout [used] < XSTATE\n");
		return 2;
	}
	n = fread(area, 1, 2752, stdin);
	if (n < 576) {
		fprintf(stderr, "xstate-amx: %zu bytes of XSTATE, want at least 576\n", n);
		return 2;
	}
	memset(&cpu, 0, sizeof(cpu));
	for (size_t i = 0; i < sizeof(spr) / sizeof(spr[0]); i++) {
		cpu.size[spr[i].feature] = spr[i].size;
		cpu.offset[spr[i].feature] = spr[i].offset;
	}
	memcpy(&xcr0, area + LG_XSAVE_XCR0, 8);
	memcpy(&bv, area + LG_XSAVE_XSTATE_BV, 8);
	xcr0 |= AMX_BITS;
	memcpy(area + LG_XSAVE_XCR0, &xcr0, 8);
	if (argc > 2 && !strcmp(argv[2], "used")) {
		bv |= 1ull << 18;
		memset(area + 2816, 0x18, 8192);
	}
	memcpy(area + LG_XSAVE_XSTATE_BV, &bv, 8);
	for (size_t i = 0; i < lg_arch_nregsets; i++)
		lg_arch_core_scan(&ac, i, area, lg_arch_regsets[i].note_type == 0x202 ? SPR_SIZE : 0);
	if (!strcmp(argv[1], "kernel"))
		r = lg_buf_append(&out, area, SPR_SIZE);
	else if (!strcmp(argv[1], "note"))
		r = lg_arch_xsave_note(&ac, &cpu, area, SPR_SIZE, &out);
	else if (!strcmp(argv[1], "layout"))
		r = lg_arch_xsave_layout_note(&ac, xcr0, &cpu, &out);
	else if (!strcmp(argv[1], "kernel-layout"))
		r = lg_arch_xsave_map(xcr0, &cpu, &m) ? -1 : lg_arch_xsave_layout_desc(&m, &out);
	else
		r = -1;
	if (r || fwrite(out.p, 1, out.len, stdout) != out.len) {
		fprintf(stderr, "xstate-amx: %s failed\n", argv[1]);
		return 1;
	}
	lg_buf_free(&out);
	return 0;
}
