/* What this kernel offers for dirty-page tracking, found without
 * lib/track: the tests use it to tell "the kernel lacks it" (a skip) from
 * "lg_track_probe() says so wrongly" (a failure).  It asks other questions
 * than the library does, so that a library bug cannot answer for both.
 * Header-only: included by tests/unit/check_track.c and
 * tests/integration/track-probe.c. */
#ifndef LG_TESTS_KERNEL_OFFERS_H
#define LG_TESTS_KERNEL_OFFERS_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lg_uapi.h"

/* Async uffd-wp: userfaultfd(2) whose UFFDIO_API, asked for no feature,
 * lists UFFD_FEATURE_WP_ASYNC and UFFD_FEATURE_WP_UNPOPULATED (6.7 and
 * 6.3), and a /proc/self/pagemap that knows the PAGEMAP_SCAN ioctl (6.7):
 * a kernel without it answers ENOTTY, one with it rejects our zero-sized
 * argument with EINVAL. */
static inline bool lgt_kernel_offers_uffd(char *why, size_t n)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	struct pm_scan_arg arg = { .size = 0 };
	int fd, pm, r, e;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0) {
		snprintf(why, n, "userfaultfd(UFFD_USER_MODE_ONLY): %s", strerror(errno));
		return false;
	}
	r = ioctl(fd, UFFDIO_API, &api);
	e = errno;
	close(fd);
	if (r < 0) {
		snprintf(why, n, "UFFDIO_API: %s", strerror(e));
		return false;
	}
	if ((api.features & (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)) !=
	    (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)) {
		snprintf(why, n, "UFFDIO_API features %#llx lack WP_ASYNC or WP_UNPOPULATED",
			 (unsigned long long)api.features);
		return false;
	}
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		snprintf(why, n, "/proc/self/pagemap: %s", strerror(errno));
		return false;
	}
	r = ioctl(pm, PAGEMAP_SCAN, &arg);
	e = errno;
	close(pm);
	if (r < 0 && e == ENOTTY) {
		snprintf(why, n, "no PAGEMAP_SCAN ioctl on /proc/self/pagemap");
		return false;
	}
	snprintf(why, n, "userfaultfd with WP_ASYNC, PAGEMAP_SCAN");
	return true;
}

/* Soft-dirty: with CONFIG_MEM_SOFT_DIRTY (3.11) the kernel shows the flag
 * "sd" in the VmFlags of /proc/PID/smaps, and new mappings carry it; a
 * kernel without the option never prints it. */
static inline bool lgt_kernel_offers_soft_dirty(char *why, size_t n)
{
	char line[512];
	bool sd = false, flags = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f) {
		snprintf(why, n, "/proc/self/smaps: %s", strerror(errno));
		return false;
	}
	while (!sd && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmFlags:", 8))
			continue;
		flags = true;
		sd = strstr(line, " sd ") || strstr(line, " sd\n");
	}
	fclose(f);
	snprintf(why, n, sd ? "VmFlags show sd" : flags ? "no VmFlags shows sd (no CONFIG_MEM_SOFT_DIRTY)"
						 : "no VmFlags in /proc/self/smaps");
	return sd;
}

#endif
