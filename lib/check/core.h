/* A bounds-checked reader for ELF core files written by anyone (lgcore,
 * gdb's gcore, the kernel, other tools).  libelf reads the file (ELF and
 * program headers, notes through gelf_getnote, as libdwfl reads them) and
 * lcorecheck's rules judge what it finds, as eu-elflint does on top of
 * libelf.  The input is untrusted: every offset and size is checked
 * against the file before use, nothing assumes a layout (program headers
 * and notes may follow the memory data), and structural problems are
 * recorded as checks rather than trusted. */
#ifndef LG_CHECK_CORE_H
#define LG_CHECK_CORE_H

#include <elf.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/procfs.h>

#include "check/report.h"
#include "check/spans.h"
#include "common/error.h"

/* x86-64 note descriptors are glibc's <sys/procfs.h> structs, the
 * kernel's layout (include/uapi/linux/elfcore.h, asm/user_64.h). */
#define LG_PRSTATUS_SIZE 336
#define LG_PRPSINFO_SIZE 136
#define LG_FPREGSET_SIZE 512
#define LG_SIGINFO_SIZE 128
#define LG_NREGS 27
_Static_assert(sizeof(struct elf_prstatus) == LG_PRSTATUS_SIZE, "NT_PRSTATUS is 336 bytes on x86-64");
_Static_assert(sizeof(struct elf_prpsinfo) == LG_PRPSINFO_SIZE, "NT_PRPSINFO is 136 bytes on x86-64");
_Static_assert(sizeof(elf_fpregset_t) == LG_FPREGSET_SIZE, "NT_FPREGSET is 512 bytes on x86-64");
_Static_assert(sizeof(elf_gregset_t) == LG_NREGS * 8, "27 general registers on x86-64");
#define LG_PRSTATUS_OFF(field) offsetof(struct elf_prstatus, field)
#define LG_PRPSINFO_OFF(field) offsetof(struct elf_prpsinfo, field)
/* The XSAVE area of NT_X86_XSTATE: the kernel stores XCR0 in the first
 * word of the FXSAVE area's software-reserved bytes (struct
 * user_xstateregs, USER_XSTATE_XCR0_WORD), and the XSAVE header, whose
 * first word is xstate_bv, follows the 512-byte FXSAVE area. */
#define LG_XSTATE_XCR0_OFF 464
#define LG_XSTATE_HDR_OFF 512
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif
/* Not in glibc 2.36's <elf.h>: the x86 shadow-stack regset (Linux 6.6),
 * NT_X86_XSAVE_LAYOUT (Linux 6.11), gdb's target description (gdb's
 * gcore.c, owner "GDB"). */
#define LG_NT_X86_SHSTK 0x204
#define LG_NT_X86_XSAVE_LAYOUT 0x205
#define LG_NT_GDB_TDESC 0xff000000u

extern const char *const lg_reg_names[LG_NREGS];
/* Indexes into pr_reg (struct user_regs_struct). */
#define LG_REG_RAX 10
#define LG_REG_ORIG_RAX 15
#define LG_REG_RIP 16
#define LG_REG_RSP 19
#define LG_REG_FS_BASE 21

struct lg_core_load {
	uint64_t vaddr, memsz, offset, filesz;
	uint64_t avail;		/* bytes of filesz actually inside the file */
	uint32_t flags;
	uint64_t align;
	size_t phidx;
};

struct lg_core_note {
	uint32_t type;
	char name[16];		/* owner, truncated; "" when absent */
	uint32_t namesz;
	const uint8_t *desc;
	size_t descsz;
	uint64_t offset;	/* file offset of the note header */
};

struct lg_core_thread {
	int tid;
	size_t note_idx;	/* its NT_PRSTATUS */
	const uint8_t *prstatus;	/* LG_PRSTATUS_SIZE bytes or NULL if the size was wrong */
	uint64_t regs[LG_NREGS];
	const uint8_t *fpregset;
	size_t fpregset_size;
	const uint8_t *xstate;
	size_t xstate_size;
	const uint8_t *siginfo;
	size_t siginfo_size;
};

/* One NT_FILE entry: a file mapping of the dumped process. */
struct lg_core_ntfile {
	uint64_t start, end, offset;	/* offset in bytes, whatever page_size said */
	const char *name;		/* points into the core, NUL-terminated */
};

struct lg_core {
	char *path;
	int fd;
	Elf *elf;			/* libelf's handle, also libdwfl's */
	const uint8_t *map;		/* the file's bytes, as libelf mapped them */
	size_t size;
	size_t phnum;
	struct lg_core_load *loads;
	size_t nloads;
	struct lg_spans load_spans;	/* loads by [vaddr, vaddr + memsz) */
	size_t nptnote;
	struct lg_core_note *notes;	/* of the first PT_NOTE, as libdwfl reads them */
	size_t nnotes;
	struct lg_core_thread *threads;
	size_t nthreads;
	const uint8_t *prpsinfo;	/* LG_PRPSINFO_SIZE bytes or NULL */
	const uint8_t *auxv;
	size_t auxv_size;
	struct lg_core_ntfile *ntfiles;
	size_t nntfiles;
	struct lg_spans ntfile_spans;	/* ntfiles by [start, end) */
	uint64_t ntfile_page_size;	/* as written in NT_FILE */
	const uint8_t *xsave_layout;	/* first NT_X86_XSAVE_LAYOUT's descriptor or NULL */
	size_t xsave_layout_size;
	size_t nxsave_layout;		/* how many there are (the kernel writes one) */
	bool structure_ok;		/* headers and notes could be read */
};

/* Open and parse PATH.  Structural findings are appended to CHECKS (ids
 * elf.*, phdr.*, load.*, note.*).  Returns 0 when the file is an ELF core
 * that could be parsed at least in part, -errno with ERR set when it cannot
 * be read (2) and -ENOEXEC when it is not an ELF file at all (3); then C
 * holds nothing to close. */
int lg_core_open(struct lg_core *c, const char *path, struct lg_check_list *checks,
		 struct lg_error *err);
void lg_core_close(struct lg_core *c);

/* Copy LEN bytes at VADDR from the core's PT_LOAD data.  Returns the number
 * of leading bytes available (stops at the first byte not in the file). */
size_t lg_core_read(const struct lg_core *c, uint64_t vaddr, void *buf, size_t len);
/* The first PT_LOAD whose [vaddr, vaddr+memsz) holds ADDR, or NULL. */
const struct lg_core_load *lg_core_load_at(const struct lg_core *c, uint64_t addr);
/* The first PT_LOAD that starts at VADDR, or NULL. */
const struct lg_core_load *lg_core_load_starting(const struct lg_core *c, uint64_t vaddr);
/* The file bytes of L: L->avail of them. */
static inline const uint8_t *lg_core_load_data(const struct lg_core *c, const struct lg_core_load *l)
{
	return c->map + l->offset;
}
/* The first NT_FILE entry that maps ADDR, or NULL. */
const struct lg_core_ntfile *lg_core_ntfile_at(const struct lg_core *c, uint64_t addr);
/* Value of auxv entry TYPE; returns false when absent. */
bool lg_core_auxv(const struct lg_core *c, uint64_t type, uint64_t *val);

/* Little helpers for reading fields out of note descriptors. */
static inline uint16_t lg_get16(const uint8_t *p)
{
	uint16_t v;
	__builtin_memcpy(&v, p, 2);
	return v;
}

static inline uint64_t lg_get64(const uint8_t *p)
{
	uint64_t v;
	__builtin_memcpy(&v, p, 8);
	return v;
}

static inline uint32_t lg_get32(const uint8_t *p)
{
	uint32_t v;
	__builtin_memcpy(&v, p, 4);
	return v;
}

#endif
