/* The consumers' view of a core: the module list and the backtrace of each
 * thread through two independent unwinders, libdwfl (elfutils) and
 * libunwind's coredump support with our own accessors.  Both unwinders'
 * frames are named through libdwfl so that they compare by name too. */
#ifndef LG_CHECK_UNWIND_H
#define LG_CHECK_UNWIND_H

#include <elfutils/libdwfl.h>
#include <libelf.h>

#include "check/core.h"
#include "check/report.h"
#include "common/error.h"

/* Frames past this are not unwound (eu-stack's default limit). */
#define LG_UNWIND_MAX_FRAMES 256

struct lg_unwind {
	const struct lg_core *core;	/* its libelf handle is libdwfl's too */
	Dwfl *dwfl;
	int nmodules_reported;
};

/* Report CORE's modules to libdwfl (EXE names the main executable when
 * NT_FILE's path is not usable).  CORE stays open until lg_unwind_close.
 * Returns 0, or -ENOEXEC with ERR set when libdwfl cannot read the core. */
int lg_unwind_open(struct lg_unwind *u, const struct lg_core *core, const char *exe,
		   struct lg_error *err);
void lg_unwind_close(struct lg_unwind *u);

int lg_unwind_modules(struct lg_unwind *u, struct lg_modules *out);

/* Name PC (already adjusted for return addresses) as libdwfl sees it;
 * returns malloc'd strings (NULL when unknown). */
void lg_unwind_name(struct lg_unwind *u, uint64_t pc, char **name, char **module);

/* Backtraces of every thread.  Problems are recorded in OUT (error fields);
 * the return value is -ENOMEM or 0. */
int lg_unwind_dwfl(struct lg_unwind *u, struct lg_backtrace *out);
int lg_unwind_libunwind(struct lg_unwind *u, struct lg_backtrace *out);

/* Read LEN bytes at ADDR from the core, falling back to the module file
 * libdwfl found for ADDR (text and unwind tables are rarely dumped).
 * Returns 0 or -1. */
int lg_unwind_read_mem(struct lg_unwind *u, uint64_t addr, void *buf, size_t len);

#endif
