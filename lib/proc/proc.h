/* /proc in, structs out: mappings, process and thread facts, auxv. */
#ifndef LG_PROC_H
#define LG_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/error.h"

/* Protection bits as /proc/PID/maps shows them. */
#define LG_PROT_R 1u
#define LG_PROT_W 2u
#define LG_PROT_X 4u

/* VmFlags of /proc/PID/smaps that decide what is dumped or tracked. */
enum {
	LG_VM_RD = 1u << 0,	/* rd */
	LG_VM_WR = 1u << 1,	/* wr */
	LG_VM_EX = 1u << 2,	/* ex */
	LG_VM_SH = 1u << 3,	/* sh: shared */
	LG_VM_MW = 1u << 4,	/* mw: may write (VM_MAYWRITE) */
	LG_VM_IO = 1u << 5,	/* io: memory-mapped I/O, never read */
	LG_VM_DD = 1u << 6,	/* dd: MADV_DONTDUMP */
	LG_VM_HT = 1u << 7,	/* ht: hugetlb */
	LG_VM_PF = 1u << 8,	/* pf: pure PFN range */
	LG_VM_DC = 1u << 9,	/* dc: MADV_DONTFORK */
	LG_VM_UW = 1u << 10,	/* uw: userfaultfd write-protect registered */
	LG_VM_UM = 1u << 11,	/* um: userfaultfd missing registered */
	LG_VM_MR = 1u << 12,	/* mr: may read */
	LG_VM_SD = 1u << 13,	/* sd: soft-dirty */
	LG_VM_SS = 1u << 14,	/* ss: shadow stack */
	LG_VM_UI = 1u << 15,	/* ui: userfaultfd minor-fault registered (Linux 5.13) */
};

struct lg_mapping {
	uint64_t start, end;		/* [start, end) */
	uint64_t offset;		/* file offset in bytes */
	uint64_t inode;
	unsigned int dev_major, dev_minor;
	unsigned int prot;		/* LG_PROT_* */
	bool shared;			/* 's' in the perms column */
	bool deleted;			/* name ended in " (deleted)" */
	bool has_smaps;			/* the fields below are filled */
	char *name;			/* path, "[heap]", ... or ""; \012 unescaped.
					   " (deleted)" is kept, as the kernel's NT_FILE has it. */
	uint64_t anonymous_kb;		/* smaps Anonymous: */
	uint64_t swap_kb;		/* smaps Swap: */
	uint64_t rss_kb;		/* smaps Rss: */
	unsigned int vmflags;		/* LG_VM_* */
};

struct lg_maps {
	struct lg_mapping *v;
	size_t n, cap;
	/* As a hint to lg_plan_read_maps(): a mapping not in it may be left
	 * without its smaps fields (has_smaps false) when reading smaps again
	 * would walk more than LG_PLAN_PARTIAL_KB of resident memory. */
	bool partial_ok;
};

/* Parse the text of /proc/PID/maps or /proc/PID/smaps (TEXT is NUL-terminated). */
int lg_maps_parse(const char *text, struct lg_maps *out, struct lg_error *err);
/* Read /proc/PID/smaps (WITH_SMAPS) or the cheaper /proc/PID/maps. */
int lg_maps_read(pid_t pid, bool with_smaps, struct lg_maps *out, struct lg_error *err);
void lg_maps_free(struct lg_maps *m);

/* A mapping of a file (what the kernel puts in NT_FILE): it has an inode
 * or a path.  Anonymous, [heap], [stack], [vdso]... are not. */
bool lg_mapping_is_file(const struct lg_mapping *m);
/* One of the kernel's special mappings: [vdso] [vvar] [vvar_vclock] [vsyscall] [uprobes]. */
bool lg_mapping_is_special(const struct lg_mapping *m);
/* Private anonymous memory (no file): pages never touched read as zeros. */
bool lg_mapping_is_private_anon(const struct lg_mapping *m);

/* Process-wide facts, as NT_PRPSINFO and NT_PRSTATUS need them. */
struct lg_procinfo {
	pid_t pid, ppid, pgrp, sid;
	char state;			/* letter of /proc/PID/stat ('R', 'S', 'T', ...) */
	unsigned long flags;		/* task flags (stat field 9) */
	long nice;
	uid_t uid;			/* real ids, as the kernel writes them */
	gid_t gid;
	char comm[16];			/* /proc/PID/comm, NUL-terminated */
	char psargs[80];		/* the kernel's pr_psargs: argv joined by spaces */
	unsigned long coredump_filter;	/* /proc/PID/coredump_filter */
	pid_t tracer;			/* TracerPid, 0 if not traced */
	struct lg_buf auxv;		/* /proc/PID/auxv, byte for byte */
	struct lg_buf exe;		/* readlink /proc/PID/exe (may be empty) */
};

int lg_procinfo_read(pid_t pid, struct lg_procinfo *pi, struct lg_error *err);
/* Only the state letter of /proc/PID/stat ('R', 'S', 'T', 't', ...): cheap
 * enough to poll while waiting for a process to stop.  0, -ENOENT when
 * there is no such process, -EINVAL when the file cannot be parsed. */
int lg_proc_state(pid_t pid, char *state);
/* AnonHugePages of /proc/PID/smaps_rollup (4.14): the process's anonymous
 * memory mapped by transparent huge pages (PMD-mapped), in KiB.  It walks
 * every page table: read it while the process runs.  0, -ENOENT, or
 * -ENODATA when the kernel shows no such line (no THP). */
int lg_proc_anon_huge_kb(pid_t pid, uint64_t *kb);
void lg_procinfo_free(struct lg_procinfo *pi);

/* Per-thread facts from /proc/PID/task/TID/{stat,status}. Times in clock ticks. */
struct lg_threadinfo {
	pid_t tid;
	char state;
	uint64_t utime, stime, cutime, cstime;
	uint64_t sigpend, sighold;	/* SigPnd, SigBlk */
};

/* LEADER: take times from /proc/PID/stat (the whole group's, as the kernel
 * does for the leader's NT_PRSTATUS). */
int lg_threadinfo_read(pid_t pid, pid_t tid, bool leader, struct lg_threadinfo *ti,
		       struct lg_error *err);

/* Claim PID for one dump (lib/proc/claim.c): *FD holds the claim until
 * lg_claim_release() or our death.  -EBUSY, with the holder named, when
 * another dumper holds it. */
int lg_claim(pid_t pid, int *fd, struct lg_error *err);
void lg_claim_release(int fd);

/* The thread ids in /proc/PID/task, in its order: the leader, then by
 * creation (not by tid: tids wrap around). */
int lg_tasks_list(pid_t pid, pid_t **tids, size_t *n, struct lg_error *err);

/* The files open in a process (lib/proc/fds.c), sorted: one entry for
 * each descriptor of /proc/PID/fd, so a file open twice is there twice.
 * Descriptor tables of threads made with clone(2) without CLONE_FILES are
 * not seen (pthreads share one). */
struct lg_fileid {
	dev_t dev;
	uint64_t ino;
};
struct lg_fileids {
	struct lg_fileid *v;
	size_t n, cap;
};
int lg_proc_open_files(pid_t pid, struct lg_fileids *out, struct lg_error *err);
/* Whether the file (MAJOR:MINOR, INO), as /proc/PID/maps names it, is open. */
bool lg_fileids_has(const struct lg_fileids *f, unsigned int major_, unsigned int minor_, uint64_t ino);
void lg_fileids_free(struct lg_fileids *f);

/* Parse one "Key:\tvalue" hex field (SigPnd...) or decimal field of a status text. */
int lg_status_field(const char *status, const char *key, char *out, size_t outlen);

/* Before a dump (lib/proc/target.c): PID must be a live user process
 * other than lgcore whose /proc files we may read.  Returns 0, or -errno
 * with a one-line reason: no such process, lgcore itself, a kernel
 * thread, another user's or a non-dumpable process. */
int lg_target_check(pid_t pid, struct lg_error *err);

/* The address space a dump starts on: after a failed dump,
 * lg_target_mm_replaced() says whether the process lives on with another
 * one (it called execve(2) meanwhile).  Best effort: never replaced if
 * the open failed. */
struct lg_target_mm {
	int fd;				/* /proc/PID/pagemap of the dumped mm */
	pid_t pid;
	unsigned long long start;	/* start time, against pid reuse */
};
void lg_target_mm_open(struct lg_target_mm *m, pid_t pid);
bool lg_target_mm_replaced(const struct lg_target_mm *m);
void lg_target_mm_close(struct lg_target_mm *m);

#endif
