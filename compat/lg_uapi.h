/* Kernel UAPI definitions newer than Debian bookworm's linux-libc-dev (6.1).
 *
 * Values are those of Linux 6.7's include/uapi/linux/userfaultfd.h and
 * include/uapi/linux/fs.h (PAGEMAP_SCAN, UFFD_FEATURE_WP_ASYNC), and the
 * syscall numbers of arch/x86/entry/syscalls/syscall_64.tbl (pidfd_open 5.3,
 * pidfd_getfd 5.6).  Each is defined only when the system headers lack it,
 * and checked against them when they have it, so a newer distro header
 * silently takes over.  See compat/README. */
#ifndef LG_COMPAT_UAPI_H
#define LG_COMPAT_UAPI_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/types.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

#define LG_CHECK_CONST(name, value) \
	_Static_assert((name) == (value), #name " differs from the kernel's value")

/* userfaultfd features (6.3 WP_UNPOPULATED/HUGETLBFS_SHMEM, 6.7 WP_ASYNC) */
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
# define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#else
LG_CHECK_CONST(UFFD_FEATURE_WP_HUGETLBFS_SHMEM, 1 << 12);
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
# define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#else
LG_CHECK_CONST(UFFD_FEATURE_WP_UNPOPULATED, 1 << 13);
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
# define UFFD_FEATURE_WP_ASYNC (1 << 15)
#else
LG_CHECK_CONST(UFFD_FEATURE_WP_ASYNC, 1 << 15);
#endif
#ifndef UFFD_USER_MODE_ONLY
# define UFFD_USER_MODE_ONLY 1
#endif

/* PAGEMAP_SCAN ioctl on /proc/PID/pagemap (6.7) */
#ifndef PAGEMAP_SCAN
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

# define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
# define PM_SCAN_WP_MATCHING	(1 << 0)
# define PM_SCAN_CHECK_WPASYNC	(1 << 1)
# define PAGE_IS_WPALLOWED	(1 << 0)
# define PAGE_IS_WRITTEN	(1 << 1)
# define PAGE_IS_FILE		(1 << 2)
# define PAGE_IS_PRESENT	(1 << 3)
# define PAGE_IS_SWAPPED	(1 << 4)
# define PAGE_IS_PFNZERO	(1 << 5)
# define PAGE_IS_HUGE		(1 << 6)
# define PAGE_IS_SOFT_DIRTY	(1 << 7)
#else
LG_CHECK_CONST(PM_SCAN_WP_MATCHING, 1 << 0);
LG_CHECK_CONST(PM_SCAN_CHECK_WPASYNC, 1 << 1);
LG_CHECK_CONST(PAGE_IS_WRITTEN, 1 << 1);
LG_CHECK_CONST(PAGE_IS_PRESENT, 1 << 3);
LG_CHECK_CONST(PAGE_IS_SWAPPED, 1 << 4);
LG_CHECK_CONST(PAGE_IS_SOFT_DIRTY, 1 << 7);
#endif
_Static_assert(sizeof(struct pm_scan_arg) == 96, "pm_scan_arg layout");
_Static_assert(sizeof(struct page_region) == 24, "page_region layout");

/* pidfd syscalls (x86-64 numbers) */
#ifndef SYS_pidfd_open
# define SYS_pidfd_open 434
#else
LG_CHECK_CONST(SYS_pidfd_open, 434);
#endif
#ifndef SYS_pidfd_getfd
# define SYS_pidfd_getfd 438
#else
LG_CHECK_CONST(SYS_pidfd_getfd, 438);
#endif
#ifndef SYS_userfaultfd
# define SYS_userfaultfd 323
#endif
/* process_madvise (5.10) and the advice the soft-dirty tracker gives with
 * it: MADV_COLD (5.4), MADV_COLLAPSE (6.1) */
#ifndef SYS_process_madvise
# define SYS_process_madvise 440
#else
LG_CHECK_CONST(SYS_process_madvise, 440);
#endif
#ifndef MADV_COLD
# define MADV_COLD 20
#else
LG_CHECK_CONST(MADV_COLD, 20);
#endif
#ifndef MADV_COLLAPSE
# define MADV_COLLAPSE 25
#else
LG_CHECK_CONST(MADV_COLLAPSE, 25);
#endif

/* /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define LG_PM_PRESENT		(1ULL << 63)
#define LG_PM_SWAPPED		(1ULL << 62)
#define LG_PM_FILE_SHARED	(1ULL << 61)
#define LG_PM_UFFD_WP		(1ULL << 57)
#define LG_PM_SOFT_DIRTY	(1ULL << 55)

#endif
