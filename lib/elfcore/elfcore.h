/* How a core is laid out and written, independent of when its pages are
 * copied: which bytes of each mapping belong in it (filter), the notes, the
 * program headers, and the output file itself. */
#ifndef LG_ELFCORE_H
#define LG_ELFCORE_H

#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"
#include "common/buf.h"
#include "common/error.h"
#include "proc/proc.h"
#include "ptrace/ptrace.h"

/* ---- filter.c: which bytes of a mapping the core holds ---- */

/* coredump_filter bits (Documentation/filesystems/proc.rst) */
enum {
	LG_FILTER_ANON_PRIVATE = 1u << 0,
	LG_FILTER_ANON_SHARED = 1u << 1,
	LG_FILTER_MAPPED_PRIVATE = 1u << 2,
	LG_FILTER_MAPPED_SHARED = 1u << 3,
	LG_FILTER_ELF_HEADERS = 1u << 4,
	LG_FILTER_HUGETLB_PRIVATE = 1u << 5,
	LG_FILTER_HUGETLB_SHARED = 1u << 6,
	LG_FILTER_DAX_PRIVATE = 1u << 7,
	LG_FILTER_DAX_SHARED = 1u << 8,
	LG_FILTER_ALL_BITS = 0x1ff,
};

enum lg_dump_what {
	LG_DUMP_NONE,		/* PT_LOAD with p_filesz 0 */
	LG_DUMP_WHOLE,
	LG_DUMP_ELF_HEADER,	/* the first page, if it starts with ELF magic */
};

struct lg_filter {
	unsigned long bits;	/* coredump_filter */
	bool all;		/* -a: MADV_DONTDUMP too, and every readable mapping */
	/* Never-written mappings this large or larger get no file space
	 * (lg_filter_zeros_cutoff); 0: none gets any, the kernel's rule. */
	uint64_t zeros_below;
	/* The bound lg_filter_zeros_cutoff() fits them into (0:
	 * LG_FILTER_ZEROS_BUDGET). */
	uint64_t zeros_budget;
};

/* At most this much file space, all of it holes, goes to memory the process
 * never wrote.  The kernel gives such mappings a PT_LOAD with p_filesz 0;
 * gdb reads zeros there, lldb and drgn refuse to read at all, and gdb 13's
 * gcore writes them out as zeros.  File space for them makes every reader
 * read zeros without using disk blocks, but it counts in the file's apparent
 * size: the bound keeps reservations of terabytes (MAP_NORESERVE arenas,
 * sanitizer shadows with -a) from making a file that ext4 refuses (16 TiB
 * with 4 KiB blocks, ext2/ext3 2 TiB) or that tools unaware of holes (scp,
 * tar without -S, compressors) must read through. */
#define LG_FILTER_ZEROS_BUDGET (64ull << 30)
/* A stream (a pipe) has no holes: every zero is written, and pushed
 * through the reader (a compressor, the network).  1 GiB covers the
 * untouched malloc arenas and buffers a reader would look into. */
#define LG_FILTER_STREAM_ZEROS_BUDGET (1ull << 30)

/* M is anonymous private memory that the process can read and never wrote
 * (smaps shows neither anonymous nor swapped pages), which the filter F
 * would dump if it had been written: its bytes are all zeros. */
bool lg_filter_never_written(const struct lg_mapping *m, const struct lg_filter *f);
/* The zeros_below that fits the never-written mappings of MAPS into
 * F's zeros_budget, the smallest first (so the largest are the ones
 * left at p_filesz 0); UINT64_MAX when all fit. */
uint64_t lg_filter_zeros_cutoff(const struct lg_maps *maps, const struct lg_filter *f);

enum lg_dump_what lg_filter_mapping(const struct lg_mapping *m, const struct lg_filter *f);

/* ---- notes.c: note encodings, exactly as the kernel sizes them ---- */

/* Notes are padded and their PT_NOTE aligned to 4 bytes in 64-bit cores
 * too, as the kernel writes them (fs/binfmt_elf.c) and readers expect. */
#define LG_NOTE_ALIGN 4

/* One note: 12-byte header, owner NUL-terminated and padded to
 * LG_NOTE_ALIGN, desc padded to LG_NOTE_ALIGN. */
int lg_note_add(struct lg_buf *b, const char *owner, uint32_t type, const void *desc,
		size_t len);

int lg_note_prpsinfo(struct lg_buf *b, const struct lg_procinfo *pi);

struct lg_thread_note {
	const struct lg_thread *t;	/* registers */
	const struct lg_threadinfo *ti;	/* times, signal masks */
	const struct lg_procinfo *pi;	/* ppid, pgrp, sid */
	const struct lg_arch_core *ac;	/* all threads' regsets scanned, or NULL */
};
/* NT_PRSTATUS, the arch's regsets, NT_SIGINFO for one thread.  The signal
 * is the one the thread was receiving when it stopped, usually none: lgcore
 * stops threads with PTRACE_INTERRUPT, which sends none. */
int lg_note_thread(struct lg_buf *b, const struct lg_thread_note *tn);
int lg_note_auxv(struct lg_buf *b, const struct lg_procinfo *pi);
/* NT_FILE in the kernel's format (page_size 4096, offsets in pages) for
 * every file mapping in MAPS. */
int lg_note_file(struct lg_buf *b, const struct lg_maps *maps);
/* Every note of a core, in the kernel's order: NT_PRPSINFO, each thread of
 * the stopped group G (registers read; TI one per thread, or NULL), the
 * auxv, NT_FILE for MAPS, then the arch's process-wide notes. */
int lg_note_core(struct lg_buf *b, const struct lg_procinfo *pi, const struct lg_tgroup *g,
		 const struct lg_threadinfo *ti, const struct lg_maps *maps);

/* ---- layout.c: program headers and where each segment's bytes go ---- */

struct lg_segment {
	uint64_t vaddr, memsz;
	uint64_t filesz;	/* bytes of data in the file, 0 if not dumped */
	uint64_t offset;	/* file offset of the data (valid when filesz > 0) */
	uint32_t flags;		/* PF_R | PF_W | PF_X */
};

struct lg_layout {
	struct lg_segment *seg;
	size_t n, cap;
	uint64_t data_end;	/* next free, page-aligned file offset */
	/* Segments without data point where the next data would go (the
	 * kernel's running offset) instead of at the program headers: set
	 * by lg_stream_layout, as libdwfl matches such a segment's offset
	 * against the data of the modules it finds. */
	bool dataless_placed;
};

/* Data starts at the page after the ELF header; program headers and notes
 * go after the data, so memory can be written to its final place before
 * the notes are known (pre-copy). */
#define LG_LAYOUT_DATA_START 4096u

void lg_layout_init(struct lg_layout *l);
/* Append a segment (in address order) and give it FILESZ bytes of file
 * space.  Returns its index or -ENOMEM. */
long lg_layout_add(struct lg_layout *l, uint64_t vaddr, uint64_t memsz, uint64_t filesz,
		   uint32_t flags);
/* Placement: segment data goes one segment after the other from a page
 * boundary, each page-aligned.  Data placed next starts at OFF (rounded up
 * to a page): after the headers and notes in a stream, after another
 * layout's data when segments reuse its file space (pre-copy). */
void lg_layout_place_from(struct lg_layout *l, uint64_t off);
/* Give segment I of L the next FILESZ bytes of file space; its offset. */
uint64_t lg_layout_place(struct lg_layout *l, size_t i);
/* The tail: PT_NOTE + PT_LOAD headers, the notes, and the section header
 * that carries the real count when there are more than 65534 segments
 * (PN_XNUM).  TAIL_OFF is where it will be written; EHDR is filled. */
int lg_layout_tail(const struct lg_layout *l, const struct lg_buf *notes, uint64_t tail_off,
		   struct lg_buf *tail, Elf64_Ehdr *ehdr);
void lg_layout_free(struct lg_layout *l);

/* A block of segment data to move within the file. */
struct lg_move {
	uint64_t from, to, len;
};

/* Readers such as libdwfl read across PT_LOADs adjacent in memory as if
 * their data were adjacent in the file, as the kernel lays it out: they
 * extend a read into the next segment unless the current one is truncated
 * (p_filesz < p_memsz) or the next one's data starts after a gap; data that
 * starts *before* the end of the previous one makes the whole read fail.
 * Pre-copy puts mappings that appear during the dump after the others, so
 * for every chain of such segments whose data is not contiguous, give the
 * chain contiguous space at the end of the data.  Fills MOVES (to be done on
 * the file, sources then punched) and updates the offsets.  0 or -ENOMEM. */
int lg_layout_contiguous_chains(struct lg_layout *l, struct lg_move **moves, size_t *nmoves);
uint32_t lg_layout_pflags(unsigned int prot);

/* ---- file.c: the output file ---- */

struct lg_core_file {
	int fd;
	int dirfd;
	char *dir, *base;	/* final path, split */
	char *tmpname;		/* a visible temporary name, when O_TMPFILE is unsupported */
	uint64_t bytes_written;	/* data bytes actually written (holes excluded) */
	/* Largest single write, 0 for no limit.  Pre-copy overwrites pages it
	 * wrote before; ext4 (6.16+) builds its page cache from large folios
	 * when the writes are large, and a 4 KiB overwrite in a large folio
	 * then costs 35-41 us here instead of 1.1-1.7 us (measured on 6.18:
	 * a file filled with 4 MiB writes vs 4-16 KiB writes). */
	size_t max_write;
	/* The keeper: a child holding the file open, so that our death is
	 * never slowed by the file's last close (see file.c), removing the
	 * temporary name if we die before the core is named, and the
	 * watchdog of stops (lg_core_file_watch_stop). */
	pid_t keeper;
	int keeper_fd;		/* our end of its socket */
};

/* Create an unnamed file (O_TMPFILE, mode 0600) in PATH's directory; it gets
 * its name only at lg_core_file_commit(), so a failed or killed dump leaves
 * nothing under PATH.  Forks the keeper (a dump goes on without one if
 * fork fails). */
int lg_core_file_create(struct lg_core_file *f, const char *path, struct lg_error *err);
/* A stop of the target begins that must not outlast LIMIT_NS (0: it
 * ended): past it and a second more, the keeper kills us, which releases
 * the target, because we are not running to end it ourselves. */
void lg_core_file_watch_stop(struct lg_core_file *f, uint64_t limit_ns);
/* Write LEN bytes at OFF, leaving all-zero pages as holes.  OVERWRITE: the
 * range may hold older data (pre-copy), so zero pages are punched. */
int lg_core_file_write(struct lg_core_file *f, uint64_t off, const void *buf, size_t len,
		       bool overwrite, struct lg_error *err);
/* Write the tail and the ELF header, set the size, and give the file its
 * name atomically, replacing whatever was there (a symlink is replaced,
 * never followed). */
int lg_core_file_commit(struct lg_core_file *f, const Elf64_Ehdr *ehdr, const struct lg_buf *tail,
			uint64_t tail_off, struct lg_error *err);
/* Complete the core laid out in L: move the data of segments where readers
 * need it contiguous (lg_layout_contiguous_chains; the target must be
 * running by then), write the notes (lg_note_core) and program headers
 * after the data, and commit. */
int lg_core_file_finish(struct lg_core_file *f, struct lg_layout *l, const struct lg_maps *maps,
			const struct lg_procinfo *pi, const struct lg_tgroup *g,
			const struct lg_threadinfo *ti, struct lg_error *err);
/* Make [OFF, OFF+LEN) read as zeros again, giving its blocks back. */
int lg_core_file_punch(struct lg_core_file *f, uint64_t off, uint64_t len, struct lg_error *err);
/* Move LEN bytes of data from FROM to TO (non-overlapping) and punch FROM. */
int lg_core_file_move(struct lg_core_file *f, uint64_t from, uint64_t to, uint64_t len,
		      struct lg_error *err);
/* Drop the file (nothing appears under the final name). */
void lg_core_file_abort(struct lg_core_file *f);
/* Remove a stale file from an earlier run at PATH, so a failed dump never
 * looks like a successful one.  Only a regular file or a symlink (not its
 * target) is removed. */
void lg_core_file_remove_stale(const char *path);

#endif
