/* track-probe: what lg_track_probe() finds on this kernel, as key=value
 * lines for the test scripts (precopy-consistency.sh), cross-checked with
 * tests/kernel-offers.h:
 *   uffd=yes|no        uffd.why=REASON        (lg_track_probe)
 *   soft-dirty=yes|no  soft-dirty.why=REASON
 *   kernel.uffd=yes|no kernel.soft-dirty=yes|no   (asked independently)
 *   snapshot=yes|no    snapshot.why=REASON    (lg_snap_probe: synchronous
 *                      write-protect and PAGEMAP_SCAN)
 * Exit 0, or 1 when the library and the kernel disagree: a tracker the
 * library calls unavailable on a kernel that offers it would be skipped
 * by every test, so that is a failure, not a skip.  Likewise the snapshot
 * mode's synchronous write-protect (Linux 5.7) on a kernel with the
 * asynchronous one (6.7). */
#include <stdio.h>

#include "snap/snap.h"
#include "track/track.h"
#include "../kernel-offers.h"

static int report(const char *kind, bool lib, const char *lib_why, bool kernel,
		  const char *kernel_why)
{
	printf("%s=%s\n%s.why=%s\n", kind, lib ? "yes" : "no", kind, lib ? "" : lib_why);
	printf("kernel.%s=%s\nkernel.%s.why=%s\n", kind, kernel ? "yes" : "no", kind, kernel_why);
	if (lib == kernel)
		return 0;
	fprintf(stderr, "track-probe: lg_track_probe() says %s is %savailable%s%s, the kernel says %s\n",
		kind, lib ? "" : "un", lib ? "" : ": ", lib ? "" : lib_why, kernel_why);
	return 1;
}

int main(void)
{
	struct lg_track_probe p;
	char uffd_why[160], sd_why[160], snap_why[200] = "";
	bool uffd = lgt_kernel_offers_uffd(uffd_why, sizeof(uffd_why));
	bool sd = lgt_kernel_offers_soft_dirty(sd_why, sizeof(sd_why));
	int bad = 0;

	lg_track_probe(&p);
	bad |= report("uffd", p.uffd, p.uffd_why, uffd, uffd_why);
	bad |= report("soft-dirty", p.soft_dirty, p.soft_dirty_why, sd, sd_why);
	printf("best=%s\n", lg_track_kind_name(lg_track_best(&p)));
	if (lg_snap_probe(snap_why, sizeof(snap_why))) {
		printf("snapshot=no\nsnapshot.why=%s\n", snap_why);
		if (uffd) {
			fprintf(stderr, "track-probe: the kernel offers asynchronous write-protect, "
				"but lg_snap_probe() says: %s\n", snap_why);
			bad = 1;
		}
	} else {
		printf("snapshot=yes\nsnapshot.why=\n");
	}
	return bad;
}
