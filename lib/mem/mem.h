/* Reading another process's memory: batched process_vm_readv, with
 * /proc/PID/mem for what it cannot read, and the page-presence scan. */
#ifndef LG_MEM_H
#define LG_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/ranges.h"
#include "proc/proc.h"

/* A mapping whose missing pages the target serves itself, through its own
 * userfaultfd (VmFlags um or ui): QEMU, CRIU-restored processes.  A read
 * that faults there waits for the target's handler thread, forever if we
 * stopped it, and otherwise makes the target populate memory for us. */
struct lg_mem_guard {
	uint64_t start, end;
	uint64_t offset;	/* file offset of start */
	bool shared_file;	/* shared file or shmem: its file can be read instead */
};

struct lg_mem {
	pid_t pid;
	int memfd;		/* /proc/PID/mem, opened on first need; -1 before */
	bool no_vm_readv;	/* process_vm_readv refused (EPERM/ENOSYS): use memfd only */
	uint64_t unreadable;	/* bytes neither way could read (zero-filled) */
	/* Ranges served by the target's userfaultfd, read without faulting. */
	bool guards_known;	/* set by lg_mem_set_maps() or found on first read */
	struct lg_mem_guard *guards;
	size_t nguards;
	uint64_t guarded_zeroed;	/* bytes of those read as zeros (also in unreadable) */
};

void lg_mem_init(struct lg_mem *m, pid_t pid);
void lg_mem_close(struct lg_mem *m);

/* Take the userfaultfd-served ranges from MAPS, read with smaps (VmFlags).
 * Without this call the first read looks for itself: only if the target
 * holds a userfaultfd descriptor is its smaps read (a monitor process that
 * holds the only descriptor, as CRIU's lazy-pages daemon does, is not
 * found that way: callers with smaps at hand should call this). */
int lg_mem_set_maps(struct lg_mem *m, const struct lg_maps *maps, struct lg_error *err);

/* Read the N ranges into BUF back to back (BUF holds their total size).
 * Pages neither process_vm_readv nor /proc/PID/mem can read are zero-filled
 * and added to m->unreadable.  In userfaultfd-served ranges nothing is
 * faulted: a shared file or shmem mapping is read through its file
 * (/proc/PID/map_files, root only), elsewhere only resident pages are
 * read and the others are zeros (counted in m->unreadable and
 * m->guarded_zeroed).  Fails only when the process is gone (-ESRCH) or on
 * an unexpected error. */
int lg_mem_readv(struct lg_mem *m, const struct lg_range *r, size_t n, void *buf,
		 struct lg_error *err);
int lg_mem_read(struct lg_mem *m, uint64_t addr, void *buf, size_t len, struct lg_error *err);

/* Which pages of [start, end) are populated (present or swapped out),
 * appended to OUT.  PAGEMAP_SCAN (6.7+) reports ranges; older kernels fall
 * back to reading pagemap entries.  Only meaningful for private anonymous
 * memory: elsewhere an absent page can still hold file or shmem data. */
struct lg_pagemap {
	pid_t pid;
	int fd;
	int have_scan;		/* -1 unknown, 0 no, 1 yes */
};

void lg_pagemap_init(struct lg_pagemap *pm, pid_t pid);
void lg_pagemap_close(struct lg_pagemap *pm);
int lg_pagemap_populated(struct lg_pagemap *pm, uint64_t start, uint64_t end,
			 struct lg_ranges *out, struct lg_error *err);
/* The complement: the pages of [start, end) that are neither present nor
 * swapped out.  Where most pages are populated this is much cheaper than
 * listing them: the kernel's cost follows what it reports (1 GiB fully
 * populated: 0.73 ms against 3.4 ms on 6.18). */
int lg_pagemap_holes(struct lg_pagemap *pm, uint64_t start, uint64_t end,
		     struct lg_ranges *out, struct lg_error *err);
/* The pages of [start, end) without a present page table entry: holes,
 * swap entries and the PTE markers userfaultfd write-protect leaves where
 * a protected page was zapped (Linux 5.19).  For shared memory these are
 * the pages whose bytes the page tables cannot vouch for: dropped with
 * MADV_DONTNEED (content kept), punched with MADV_REMOVE (zeros now),
 * swapped out. */
int lg_pagemap_absent(struct lg_pagemap *pm, uint64_t start, uint64_t end,
		      struct lg_ranges *out, struct lg_error *err);

/* The two ways of asking an open /proc/PID/pagemap, for every user of it
 * (the page-presence scan above, the trackers, the snapshot engine). */
struct pm_scan_arg;

/* One PAGEMAP_SCAN ioctl (6.7) on FD, issued again when interrupted
 * (EINTR, EAGAIN).  Returns the number of regions the kernel wrote to
 * ARG->vec (ARG->walk_end says where it stopped), or -errno with errno
 * left set. */
long lg_pagemap_scan(int fd, struct pm_scan_arg *arg);

/* The pagemap entries of the N pages from START (page aligned) into ENT,
 * read again after EINTR and continued after a short read.  Returns how
 * many were read, fewer than N only where the file ends (the end of the
 * address space, or an exited process: 0), or -errno with errno left set. */
long lg_pagemap_entries(int fd, uint64_t start, uint64_t *ent, size_t n);

#endif
