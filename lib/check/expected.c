/* The one table of differences that are legitimate between a core written
 * by gdb's gcore and a kernel-style core (the kernel's own, lgcore's) of the
 * same process.  Facts from gdb 13 (linux-tdep.c, gcore.c, i387-tdep.c) and
 * Linux 6.x (fs/binfmt_elf.c).  The differ names a row for each difference
 * it tolerates (explain.c decides the ones that depend on the cores'
 * contents); --strict turns them all into failures. */
#include <stddef.h>
#include <string.h>

#include "check/report.h"
#include "common/grow.h"

const struct lg_expected_row lg_expected_table[] = {
	{ "note.order", "gdb writes NT_PRPSINFO first, the kernel after the first thread's NT_PRSTATUS" },
	{ "note.siginfo-count", "gdb writes NT_SIGINFO per thread when it has one (none after attaching to a stopped process), the kernel one for the dumping thread" },
	{ "note.gdb-tdesc", "gdb adds its target-description note (type 0xff000000, owner GDB)" },
	{ "note.xsave-layout", "the kernel adds NT_X86_XSAVE_LAYOUT on x86, gdb 13 does not know it" },
	{ "note.other", "a note type only one writer knows (e.g. the x86 shadow-stack regset)" },
	{ "thread.order", "gdb puts its current thread first, the kernel the dumping thread" },
	{ "prstatus.cursig", "gdb reports the SIGSTOP of its attach, other writers the pending or fatal signal" },
	{ "prstatus.info", "pr_info/si_signo follow the signal that stopped or killed the process" },
	{ "prstatus.ids", "gdb leaves pr_ppid, pr_pgrp and pr_sid at 0" },
	{ "prstatus.times", "gdb leaves the utime/stime/cutime/cstime fields at 0" },
	{ "prstatus.fpvalid", "gdb leaves pr_fpvalid at 0, the kernel sets 1" },
	{ "prstatus.sig", "gdb leaves pr_sigpend/pr_sighold at 0" },
	{ "siginfo", "the siginfo is the signal each writer saw: gdb's attach SIGSTOP, the fatal signal, or none" },
	{ "prpsinfo.state", "pr_state/pr_sname/pr_zomb are sampled while gdb has the process traced" },
	{ "prpsinfo.flag", "pr_flag is sampled while gdb has the process traced (PF_ flags change)" },
	{ "prpsinfo.psargs", "gdb knows only argv[0] after attaching, the kernel writes all arguments" },
	{ "xstate.layout", "gdb 13 writes XSTATE in its fixed layout (AVX-512 at 1088/1152/1664), the kernel in the CPU's CPUID layout: components are compared by number" },
	{ "xstate.gdb-misplaced", "gdb 13 reads the kernel's XSAVE buffer at its fixed offsets; where the CPU's differ (no MPX) its AVX-512 state is wrong, so that component is not compared" },
	{ "xstate.size", "the kernel writes the CPU's whole XSAVE area, gdb 13 only the bytes of the components it knows (2696 with PKRU), and lgcore those too when no thread uses the others" },
	{ "xstate.gdb-unknown", "gdb 13 knows no XSAVE component after PKRU (AMX and later): its core leaves them out of XSTATE and its xcr0" },
	{ "xstate.left-out", "lgcore leaves the XSAVE components gdb 13 does not know (AMX) out of XSTATE and its xcr0 when no thread has them out of their init state, so that gdb 13 accepts the size" },
	{ "xstate.header", "xstate_bv/xcomp_bv bits differ only where one writer saved a component in its init state" },
	{ "regs.restart-syscall", "a timed wait that a first dump interrupted is continued by restart_syscall when the thread resumes: orig_rax 219 in the later core, the same wait, deadline and registers" },
	{ "mem.rseq", "the kernel rewrites a thread's rseq area (cpu_id_start, cpu_id, rseq_cs, node_id, mm_cid at the thread pointer + glibc's __rseq_offset) whenever it returns the thread to user mode: where it last ran, not the program's data" },
	{ "fpregset.mxcsr_mask", "gdb 13 fills mxcsr_mask from its own register cache, not the kernel's" },
	{ "load.align", "gdb writes p_align 1, the kernel 0x1000" },
	{ "load.undumped", "the kernel writes a PT_LOAD with p_filesz 0 for mappings it does not dump, gdb none" },
	{ "load.elf-header", "gdb dumps a whole ELF-header mapping, the kernel one page of it" },
	{ "load.ldso-cow", "gdb's breakpoint in ld.so made its pages copy-on-write, so gdb dumps them and later cores may too" },
	{ "load.vvar", "gdb never dumps [vvar]/[vvar_vclock], the kernel always does" },
	{ "load.file-private", "read-only file mappings are outside coredump_filter's default and dumped by one writer only" },
	{ "load.guard", "gdb dumps PROT_NONE guard mappings as readable zeros, the kernel writes them with p_filesz 0" },
	{ "load.vsyscall", "[vsyscall] is execute-only (vsyscall=xonly): the kernel writes --x, gdb r-x" },
	{ "load.flags", "gdb sets PF_R on every PT_LOAD, so a PROT_NONE mapping both dump (shared /dev/zero guard pages) is r-- in its core, --- in the kernel's" },
	{ "mem.vsyscall", "gdb cannot read [vsyscall] and writes zeros" },
	{ "mem.vvar", "[vvar] pages hold the clock data that changes between two dumps" },
	{ "nt_file.extra", "gdb and the kernel differ on which special files appear in NT_FILE" },
};

const size_t lg_expected_table_len = LG_ARRAY_SIZE(lg_expected_table);

const char *lg_expected_reason(const char *row)
{
	for (size_t i = 0; i < lg_expected_table_len; i++)
		if (!strcmp(lg_expected_table[i].row, row))
			return lg_expected_table[i].reason;
	return NULL;
}
