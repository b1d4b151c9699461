/* x86-64: the register sets a core carries and where pc/sp live in pr_reg. */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/user.h>

#include "arch/arch.h"
#include "arch/x86_64.h"
#include "common/buf.h"
#include "common/grow.h"
#include "elfcore/elfcore.h"

#ifndef NT_X86_XSTATE
# define NT_X86_XSTATE 0x202
#endif
#ifndef NT_X86_XSAVE_LAYOUT
# define NT_X86_XSAVE_LAYOUT 0x205
#endif

const uint16_t lg_arch_elf_machine = EM_X86_64;
const size_t lg_arch_gregs_size = sizeof(struct user_regs_struct);

_Static_assert(sizeof(struct user_regs_struct) == 27 * 8, "pr_reg is 27 registers");
_Static_assert(sizeof(struct user_fpregs_struct) == 512, "FXSAVE area is 512 bytes");

/* The kernel and gdb write FPREGSET (owner CORE) then XSTATE (owner LINUX).
 * XSTATE is as large as the CPU's XSAVE area (11008 bytes with AMX); the
 * kernel trims the iovec to what it has, so a generous buffer is enough. */
const struct lg_regset lg_arch_regsets[] = {
	{ NT_PRFPREG, "CORE", sizeof(struct user_fpregs_struct) },
	{ NT_X86_XSTATE, "LINUX", 64 * 1024 },
};
const size_t lg_arch_nregsets = sizeof(lg_arch_regsets) / sizeof(lg_arch_regsets[0]);

uint64_t lg_arch_reg_pc(const void *gregs)
{
	struct user_regs_struct r;
	memcpy(&r, gregs, sizeof(r));
	return r.rip;
}

uint64_t lg_arch_reg_sp(const void *gregs)
{
	struct user_regs_struct r;
	memcpy(&r, gregs, sizeof(r));
	return r.rsp;
}

/* ---- XSAVE: the layout gdb 13 reads, described by NT_X86_XSAVE_LAYOUT ---- */

/* The offsets of Intel's first AVX-512 CPUs, which gdb 13 (i387-tdep.c) uses
 * whatever the CPU: AVX (Delve 1.20 reads it at 576 too), MPX bounds and
 * config, opmask, ZMM_Hi256, Hi16_ZMM, PKRU. */
static const struct {
	uint8_t feature;
	uint16_t offset, size;
} intel_fixed[] = {
	{ 2, 576, 256 }, { 3, 960, 64 }, { 4, 1024, 64 }, { 5, 1088, 64 },
	{ 6, 1152, 512 }, { 7, 1664, 1024 }, { 9, 2688, 8 },
};

/* The components gdb 13 knows (X86_XSTATE_ALL_MASK, gdbsupport/x86-xstate.h):
 * x87, SSE, AVX, MPX bounds and config, opmask, ZMM_Hi256, Hi16_ZMM, PKRU.
 * It takes the core's XCR0 (at LG_XSAVE_XCR0) masked with these for its
 * register set (amd64_linux_core_read_description) and wants exactly
 * X86_XSTATE_SIZE of that set (corelow.c): a larger one gets "Unexpected
 * size of section `.reg-xstate/TID' in core file" for every thread,
 * though gdb 13.1 still reads the registers it knows from it. */
#define GDB13_FEATURES 0x2ffull

/* The size gdb 13 requires (X86_XSTATE_SIZE): a shorter section is dropped
 * with "Section .reg-xstate too small", every extended register then reads
 * <unavailable>. */
static uint32_t gdb13_size(uint64_t xcr0)
{
	if (xcr0 & (1u << 9))
		return 2696;
	if (xcr0 & 0xe0)
		return 2688;
	if (xcr0 & 0x18)
		return 1088;
	if (xcr0 & 0x4)
		return 832;
	return LG_XSAVE_LEGACY;
}

void lg_arch_xsave_cpuid(struct lg_xsave_cpuid *cpu)
{
	unsigned int a, b, c, d, i;

	memset(cpu, 0, sizeof(*cpu));
	if (__get_cpuid_max(0, NULL) < 0xd)
		return;
	for (i = 2; i < 64; i++) {
		__cpuid_count(0xd, i, a, b, c, d);
		/* ECX bit 0: a supervisor component (IA32_XSS), never in
		 * the user-visible area. */
		if (c & 1)
			continue;
		cpu->size[i] = a;
		cpu->offset[i] = b;
	}
}

static bool overlaps(const struct lg_xsave_map *m, uint32_t off, uint32_t size)
{
	unsigned k;

	for (k = 0; k < m->n; k++)
		if (m->c[k].to && off < m->c[k].to + m->c[k].size && m->c[k].to < off + size)
			return true;
	return false;
}

int lg_arch_xsave_map(uint64_t xcr0, const struct lg_xsave_cpuid *cpu, struct lg_xsave_map *m)
{
	uint32_t end = LG_XSAVE_LEGACY;
	unsigned i, k, pass;

	memset(m, 0, sizeof(*m));
	m->xcr0 = xcr0;
	for (i = 2; i < 64; i++) {
		if (!(xcr0 >> i & 1))
			continue;
		if (!cpu->size[i] || cpu->offset[i] < LG_XSAVE_LEGACY)
			return -EINVAL;
		m->c[m->n].feature = i;
		m->c[m->n].size = cpu->size[i];
		m->c[m->n].from = cpu->offset[i];
		for (k = 0; k < LG_ARRAY_SIZE(intel_fixed); k++)
			if (intel_fixed[k].feature == i && intel_fixed[k].size == cpu->size[i])
				m->c[m->n].to = intel_fixed[k].offset;
		m->n++;
	}
	/* Components gdb 13 does not know (AMX tiles, APX, later ones) keep
	 * their CPUID offset where it is free, which on Intel CPUs it always
	 * is: there the whole area stays as the kernel gave it.  The rest go
	 * after everything else. */
	for (pass = 0; pass < 2; pass++)
		for (k = 0; k < m->n; k++) {
			uint32_t off = m->c[k].from, size = m->c[k].size;
			if (m->c[k].to)
				continue;
			if (pass == 1) {
				for (i = 0; i < m->n; i++)
					if (m->c[i].to && m->c[i].to + m->c[i].size > end)
						end = m->c[i].to + m->c[i].size;
				off = (end + 63) & ~63u;
			}
			if (pass == 1 || !overlaps(m, off, size))
				m->c[k].to = off;
		}
	end = gdb13_size(xcr0);
	for (k = 0; k < m->n; k++)
		if (m->c[k].to + m->c[k].size > end)
			end = m->c[k].to + m->c[k].size;
	m->size = end;
	return 0;
}

int lg_arch_xsave_convert(const struct lg_xsave_map *m, const void *in, size_t len,
			  struct lg_buf *out)
{
	const uint8_t *src = in;
	uint64_t bv, zero = 0;
	unsigned k;
	int r;

	out->len = 0;
	if ((r = lg_buf_append_zeros(out, m->size)))
		return r;
	memcpy(out->p, src, len < LG_XSAVE_LEGACY ? len : LG_XSAVE_LEGACY);
	/* Every enabled component is present, as gdb's gcore writes them:
	 * Delve shows no ymm register at all for a thread whose AVX bit is
	 * clear.  The state is the same: where the bit was clear, the
	 * kernel's buffer (copy_xstate_to_uabi_buf) holds the component's
	 * init value. */
	bv = m->xcr0;
	for (k = 0; k < m->n; k++) {
		if (m->c[k].from + (size_t)m->c[k].size <= len)
			memcpy(out->p + m->c[k].to, src + m->c[k].from, m->c[k].size);
		else	/* not in what the kernel gave: say init state */
			bv &= ~(1ull << m->c[k].feature);
	}
	memcpy(out->p + LG_XSAVE_XSTATE_BV, &bv, sizeof(bv));
	/* The features this area holds, which are fewer than the kernel's
	 * when the core leaves components out (lg_arch_xsave_core_xcr0). */
	memcpy(out->p + LG_XSAVE_XCR0, &m->xcr0, sizeof(m->xcr0));
	/* The standard format: readers take a set bit 63 for the compacted
	 * one, whose offsets are different again. */
	memcpy(out->p + LG_XSAVE_XCOMP_BV, &zero, sizeof(zero));
	return 0;
}

int lg_arch_xsave_layout_desc(const struct lg_xsave_map *m, struct lg_buf *desc)
{
	unsigned k;
	int r;

	desc->len = 0;
	for (k = 0; k < m->n; k++) {
		uint32_t rec[4] = { m->c[k].feature, m->c[k].size, m->c[k].to, 0 };
		if ((r = lg_buf_append(desc, rec, sizeof(rec))))
			return r;
	}
	return 0;
}

/* CPUID is read once: in a VM every CPUID exits to the hypervisor. */
static const struct lg_xsave_cpuid *this_cpu(void)
{
	static struct lg_xsave_cpuid cpu;
	static bool done;

	if (!done) {
		lg_arch_xsave_cpuid(&cpu);
		done = true;
	}
	return &cpu;
}

static bool is_xstate(size_t i, size_t len)
{
	return i < lg_arch_nregsets && lg_arch_regsets[i].note_type == NT_X86_XSTATE &&
	       len >= LG_XSAVE_LEGACY;
}

static void scan_xstate(struct lg_arch_core *ac, const void *raw)
{
	uint64_t xcr0, bv;

	/* The XCR0 the kernel saved the area under: Linux's ptrace regset
	 * stores its user xfeatures there (fpu_user_cfg.max_features, the
	 * same for every process).  Its xstate_bv keeps only the task's own
	 * features (fpstate->user_xfeatures, copy_xstate_to_uabi_buf): AMX
	 * bits stay clear in a process that never got AMX permission
	 * (arch_prctl ARCH_REQ_XCOMP_PERM, Linux 5.16), and TILEDATA is clear
	 * again after TILERELEASE. */
	memcpy(&xcr0, (const uint8_t *)raw + LG_XSAVE_XCR0, sizeof(xcr0));
	memcpy(&bv, (const uint8_t *)raw + LG_XSAVE_XSTATE_BV, sizeof(bv));
	if (!ac->seen)
		ac->xcr0 = xcr0;
	ac->seen = true;
	ac->in_use |= bv & xcr0;
}

void lg_arch_core_scan(struct lg_arch_core *ac, size_t i, const void *raw, size_t len)
{
	if (is_xstate(i, len))
		scan_xstate(ac, raw);
}

uint64_t lg_arch_xsave_core_xcr0(uint64_t xcr0, uint64_t in_use)
{
	/* Components gdb 13 does not know (AMX TILECFG 17 and TILEDATA 18
	 * since Linux 5.16, APX 19, later ones) make its size rule fail: on
	 * a Sapphire Rapids the kernel's area is 11008 bytes, gdb 13 wants
	 * 2696, as gdb's gcore writes it.  Where no thread has one out
	 * of its init state (all zeros), leaving them out loses no value, and
	 * XCR0 says they are left out: a reader that derives the size from
	 * XCR0 and knows AMX would take a 2696-byte area with the kernel's
	 * XCR0 for a short one.  The price: such a reader shows no tile
	 * registers rather than zeroed ones.  Where a thread does use one,
	 * the whole area stays, because only that holds its value: gdb 13
	 * then warns about the size but reads what it knows at its offsets.
	 * gdb 13 itself masks XCR0 before using it, so the XCR0 word matters
	 * to the others; its gcore writes its own masked one there too
	 * (i387_collect_xsave with gcore set). */
	if (in_use & xcr0 & ~GDB13_FEATURES)
		return xcr0;
	return xcr0 & GDB13_FEATURES;
}

int lg_arch_xsave_note(const struct lg_arch_core *ac, const struct lg_xsave_cpuid *cpu,
		       const void *raw, size_t len, struct lg_buf *out)
{
	struct lg_arch_core self = { 0 };
	struct lg_xsave_map m;
	uint64_t xcr0;

	if (!ac) {
		scan_xstate(&self, raw);
		ac = &self;
	}
	memcpy(&xcr0, (const uint8_t *)raw + LG_XSAVE_XCR0, sizeof(xcr0));
	if (!lg_arch_xsave_map(lg_arch_xsave_core_xcr0(xcr0, ac->in_use), cpu, &m))
		return lg_arch_xsave_convert(&m, raw, len, out);
	/* An XCR0 this CPU does not describe: the kernel's bytes as they are. */
	out->len = 0;
	return lg_buf_append(out, raw, len);
}

int lg_arch_xsave_layout_note(const struct lg_arch_core *ac, uint64_t xcr0,
			      const struct lg_xsave_cpuid *cpu, struct lg_buf *desc)
{
	struct lg_xsave_map m;

	desc->len = 0;
	if (ac && ac->seen)
		xcr0 = ac->xcr0;
	/* The components lg_arch_xsave_note() kept, and only those. */
	if (lg_arch_xsave_map(lg_arch_xsave_core_xcr0(xcr0, ac ? ac->in_use : 0), cpu, &m))
		return 0;
	return lg_arch_xsave_layout_desc(&m, desc);
}

int lg_arch_regset_note(const struct lg_arch_core *ac, size_t i, const void *raw, size_t len,
			struct lg_buf *desc)
{
	if (is_xstate(i, len))
		return lg_arch_xsave_note(ac, this_cpu(), raw, len, desc);
	desc->len = 0;
	return lg_buf_append(desc, raw, len);
}

/* Linux 6.11 added NT_X86_XSAVE_LAYOUT because readers guessed the layout
 * from the note's size and XCR0, wrongly on AMD CPUs; ours describes the
 * layout lg_arch_regset_note() wrote, so readers that use it (gdb 14+) and
 * readers that assume Intel's offsets (gdb 13) read the same bytes. */
int lg_arch_process_notes(const struct lg_arch_core *ac, struct lg_buf *notes)
{
	struct lg_buf d = { 0 };
	unsigned int a, b, c, dx;
	uint32_t lo, hi;
	int r = 0;

	if (!__get_cpuid(1, &a, &b, &c, &dx) || !(c & bit_OSXSAVE))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((r = lg_arch_xsave_layout_note(ac, (uint64_t)hi << 32 | lo, this_cpu(), &d)))
		goto out;
	if (d.len)
		r = lg_note_add(notes, "LINUX", NT_X86_XSAVE_LAYOUT, d.p, d.len);
out:
	lg_buf_free(&d);
	return r;
}
