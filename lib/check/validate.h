/* Validate mode: the structure rules the readers of cores rely on (libdwfl
 * reads only the first PT_NOTE and needs NT_PRPSINFO for threads; gdb needs
 * NT_AUXV to relocate a PIE; Go tools need AT_ENTRY and each regset after
 * its NT_PRSTATUS; libunwind's coredump support trusts the file) and the
 * consumers' view of the core: libdwfl's modules, and every thread unwound
 * by libdwfl and by libunwind. */
#ifndef LG_CHECK_VALIDATE_H
#define LG_CHECK_VALIDATE_H

#include "check/core.h"
#include "check/report.h"
#include "check/unwind/unwind.h"

/* One core as lcorecheck sees it: parsed structure plus what libdwfl and
 * libunwind make of it. */
struct lg_core_view {
	struct lg_core core;
	bool core_open;
	struct lg_unwind uw;
	bool uw_open;
	struct lg_modules mods;
	struct lg_backtrace bt[2];	/* [0] libdwfl, [1] libunwind */
};

/* Open PATH and run every validation rule, appending checks to CK with
 * their ids prefixed by PREFIX ("" in validate mode, "a." / "b." when
 * diffing).  Returns 0 when the checks ran (failures are in CK), -ENOEXEC
 * when the file is not an ELF core the libraries can open (exit 3), or
 * another -errno with ERR set (exit 2). */
int lg_check_validate(struct lg_core_view *v, const char *path, const char *exe,
		      const char *prefix, struct lg_check_list *ck, struct lg_error *err);
void lg_core_view_free(struct lg_core_view *v);

/* The NT_X86_XSAVE_LAYOUT rule alone (check id note.xsave-layout): when
 * present, one well-formed note whose last component ends at the
 * NT_X86_XSTATE size of every thread and whose components are the ones
 * XSTATE's xcr0 enables. */
void lg_check_xsave_layout(const struct lg_core *c, struct lg_check_list *ck);

/* Whether two frames name the same place. */
bool lg_frame_equal(const struct lg_frame *a, const struct lg_frame *b);

#endif
