/* What the kernel offers a dumper from outside the target, tried on a live
 * process (the kernel harness runs it in the guest, as root):
 *
 *   mmtool huge PID          "huge N anonhuge_kb K": N 2 MiB-aligned chunks of
 *                            private anonymous mappings backed by a transparent
 *                            huge page (pagemap PFN + /proc/kpageflags), K the
 *                            PMD-mapped AnonHugePages of smaps_rollup
 *   mmtool split PID         split each of those huge pages with
 *                            process_madvise(MADV_COLD) on one 4 KiB page of it
 *                            (Linux 5.10; madvise_cold splits a huge page that
 *                            the range covers only in part)
 *   mmtool collapse PID      process_madvise(MADV_COLLAPSE) over every private
 *                            anonymous mapping (MADV_COLLAPSE: Linux 6.1)
 *   mmtool uffd-sync PID SECONDS ADDR LEN [ADDR LEN]
 *                            synchronous userfaultfd write-protect from outside:
 *                            userfaultfd(2) injected into PID, the descriptor
 *                            fetched with pidfd_getfd(2), UFFDIO_API without
 *                            WP_ASYNC, UFFDIO_REGISTER_MODE_WP on the ranges,
 *                            then for SECONDS every write fault is served the
 *                            way a copy-before-write snapshot would (read the
 *                            page, then un-protect it, which wakes the thread)
 *
 *   mmtool as UID PROG ARGS...
 *                            run PROG as UID (and gid UID), without capabilities
 *
 * Each prints one line per fact as "key value ..." and exits 0 when the
 * operation worked, 1 when the kernel refused it (the line says how), 2 on
 * usage or environment errors. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <grp.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "ptrace/inject.h"
#include "ptrace/ptrace.h"

#ifndef MADV_COLLAPSE
# define MADV_COLLAPSE 25
#endif
#define HUGE_SZ (2UL << 20)
#define PAGE 4096UL
#define KPF_COMPOUND_HEAD 15
#define KPF_THP 22
#define MAXR 64

struct range {
	uint64_t start, end;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The private, writable, anonymous mappings of PID (no path, or [heap]). */
static int anon_maps(pid_t pid, struct range *r, int max)
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		unsigned long s, e, off;
		char perms[8], name[256] = "";
		unsigned dmaj, dmin;
		unsigned long ino;
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %255s", &s, &e, perms, &off, &dmaj,
			   &dmin, &ino, name) < 7)
			continue;
		if (perms[1] != 'w' || perms[3] != 'p' || ino != 0 ||
		    (name[0] && strcmp(name, "[heap]")))
			continue;
		r[n].start = s;
		r[n].end = e;
		n++;
	}
	fclose(f);
	return n;
}

static long anonhuge_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Start addresses of the 2 MiB chunks of PID's anonymous mappings whose
 * first page is the head of a transparent huge page.  Needs CAP_SYS_ADMIN
 * (PFNs in pagemap, /proc/kpageflags). */
static int huge_chunks(pid_t pid, uint64_t *out, int max)
{
	struct range r[MAXR];
	char path[64];
	int pm = -1, kf = -1, n = 0, nr, i;

	nr = anon_maps(pid, r, MAXR);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm = open(path, O_RDONLY);
	kf = open("/proc/kpageflags", O_RDONLY);
	if (nr < 0 || pm < 0 || kf < 0) {
		n = -1;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		uint64_t a;
		for (a = (r[i].start + HUGE_SZ - 1) & ~(HUGE_SZ - 1); a + HUGE_SZ <= r[i].end;
		     a += HUGE_SZ) {
			uint64_t ent, flags, pfn;
			if (pread(pm, &ent, 8, (off_t)(a / PAGE * 8)) != 8 || !(ent >> 63))
				continue;
			pfn = ent & ((1ULL << 55) - 1);
			if (!pfn || pread(kf, &flags, 8, (off_t)(pfn * 8)) != 8)
				continue;
			if ((flags >> KPF_THP & 1) && (flags >> KPF_COMPOUND_HEAD & 1) && n < max)
				out[n++] = a;
		}
	}
out:
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	return n;
}

static int cmd_huge(pid_t pid)
{
	static uint64_t c[16384];
	int n = huge_chunks(pid, c, 16384);
	if (n < 0) {
		printf("huge error %s\n", strerror(errno));
		return 2;
	}
	printf("huge %d anonhuge_kb %ld\n", n, anonhuge_kb(pid));
	return 0;
}

static int pidfd_of(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		printf("pidfd_open error %s\n", strerror(errno));
	return fd;
}

static int cmd_split(pid_t pid)
{
	static uint64_t c[16384];
	int n = huge_chunks(pid, c, 16384), pfd, i, bad = 0, err = 0;
	double t0;

	if (n < 0 || (pfd = pidfd_of(pid)) < 0)
		return 2;
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		struct iovec iov = { (void *)(uintptr_t)c[i], PAGE };
		if (syscall(SYS_process_madvise, pfd, &iov, 1, MADV_COLD, 0) != (long)PAGE) {
			bad++;
			err = errno;
		}
	}
	printf("split %d huge pages, %d refused%s%s, %.3f ms\n", n, bad, bad ? ": " : "",
	       bad ? strerror(err) : "", now_ms() - t0);
	n = huge_chunks(pid, c, 16384);
	printf("huge %d anonhuge_kb %ld\n", n, anonhuge_kb(pid));
	close(pfd);
	return bad ? 1 : 0;
}

static int cmd_collapse(pid_t pid)
{
	static uint64_t c[16384];
	struct range r[MAXR];
	int nr = anon_maps(pid, r, MAXR), pfd, i, bad = 0, err = 0;
	double t0;

	if (nr < 0 || (pfd = pidfd_of(pid)) < 0)
		return 2;
	t0 = now_ms();
	for (i = 0; i < nr; i++) {
		uint64_t s = (r[i].start + HUGE_SZ - 1) & ~(HUGE_SZ - 1), e = r[i].end & ~(HUGE_SZ - 1);
		struct iovec iov;
		if (e <= s)
			continue;
		iov.iov_base = (void *)(uintptr_t)s;
		iov.iov_len = e - s;
		if (syscall(SYS_process_madvise, pfd, &iov, 1, MADV_COLLAPSE, 0) < 0) {
			bad++;
			err = errno;
		}
	}
	printf("collapse %d mappings, %d refused%s%s, %.3f ms\n", nr, bad, bad ? ": " : "",
	       bad ? strerror(err) : "", now_ms() - t0);
	printf("huge %d anonhuge_kb %ld\n", huge_chunks(pid, c, 16384), anonhuge_kb(pid));
	close(pfd);
	return bad ? 1 : 0;
}

/* userfaultfd(2) created in PID by an injected call; our copy of it, or -1. */
static int inject_uffd(pid_t pid, struct lg_tgroup *g)
{
	struct lg_injector inj;
	struct lg_error err = { 0 };
	uint64_t args[6] = { O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0, 0 };
	int64_t tfd = -1, cret = 0;
	int fd = -1;

	if (lg_inject_init(g, &inj, &err) ||
	    lg_inject_syscall(&inj, SYS_userfaultfd, args, &tfd, &err)) {
		printf("inject error %s\n", err.msg);
		return -1;
	}
	if (tfd < 0) {
		printf("userfaultfd error %s\n", strerror((int)-tfd));
		return -1;
	}
	fd = lg_fd_fetch(pid, (int)tfd, &err);
	if (fd < 0)
		printf("pidfd_getfd error %s\n", err.msg);
	args[0] = (uint64_t)tfd;
	if (lg_inject_syscall(&inj, SYS_close, args, &cret, &err) || cret) {
		printf("close-in-target error %s\n", err.msg);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	return fd;
}

static int wp(int fd, uint64_t start, uint64_t len, bool on)
{
	struct uffdio_writeprotect w = { { start, len }, on ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };
	return ioctl(fd, UFFDIO_WRITEPROTECT, &w);
}

static int cmd_uffd_sync(pid_t pid, double seconds, struct range *r, int nr)
{
	struct lg_tgroup g = { 0 };
	struct lg_error err = { 0 };
	struct uffdio_api api;
	char buf[PAGE];
	int fd, i, rc = 1, registered = 0;
	bool released = false;
	uint64_t faults = 0, wp_faults = 0;
	double t0, worst = 0, total = 0;
	bool shmem_feature = true;

	if (lg_ptrace_stop_all(pid, PTRACE_O_TRACESYSGOOD, &g, &err)) {
		printf("stop error %s\n", err.msg);
		return 2;
	}
	fd = inject_uffd(pid, &g);
	if (fd < 0)
		goto release;
	/* Write-protect on shmem needs UFFD_FEATURE_WP_HUGETLBFS_SHMEM
	 * (Linux 5.19); ask without it where the kernel does not know it. */
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		shmem_feature = false;
		if ((fd = inject_uffd(pid, &g)) < 0)
			goto release;
		memset(&api, 0, sizeof(api));
		api.api = UFFD_API;
		if (ioctl(fd, UFFDIO_API, &api) < 0) {
			printf("api error %s\n", strerror(errno));
			goto release;
		}
	}
	printf("api features %#" PRIx64 " wp_async %s wp_shmem %s\n", (uint64_t)api.features,
	       api.features & UFFD_FEATURE_WP_ASYNC ? "yes" : "no", shmem_feature ? "yes" : "no");
	for (i = 0; i < nr; i++) {
		struct uffdio_register reg = { { r[i].start, r[i].end - r[i].start },
					       UFFDIO_REGISTER_MODE_WP, 0 };
		if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
			printf("register %#" PRIx64 " error %s\n", r[i].start, strerror(errno));
			r[i].end = r[i].start;	/* not ours */
			continue;
		}
		if (wp(fd, r[i].start, r[i].end - r[i].start, true) < 0) {
			printf("writeprotect %#" PRIx64 " error %s\n", r[i].start, strerror(errno));
			continue;
		}
		printf("register %#" PRIx64 " ok\n", r[i].start);
		registered++;
	}
	released = true;
	if (lg_ptrace_release_all(&g, &err)) {
		printf("release error %s\n", err.msg);
		goto teardown;
	}
	t0 = now_ms();
	while (now_ms() - t0 < seconds * 1000) {
		struct pollfd p = { fd, POLLIN, 0 };
		struct uffd_msg m;
		double t1;
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (read(fd, &m, sizeof(m)) != sizeof(m))
			continue;
		t1 = now_ms();
		if (m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		faults++;
		if (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
			uint64_t a = m.arg.pagefault.address & ~(PAGE - 1);
			struct iovec l = { buf, PAGE }, rr = { (void *)(uintptr_t)a, PAGE };
			wp_faults++;
			/* The copy a snapshot keeps of the page before the write. */
			if (process_vm_readv(pid, &l, 1, &rr, 1, 0) != (ssize_t)PAGE)
				printf("read %#" PRIx64 " error %s\n", a, strerror(errno));
			if (wp(fd, a, PAGE, false) < 0)
				printf("unprotect %#" PRIx64 " error %s\n", a, strerror(errno));
		}
		total += now_ms() - t1;
		if (now_ms() - t1 > worst)
			worst = now_ms() - t1;
	}
	printf("faults %" PRIu64 " wp %" PRIu64 " served_avg_us %.1f served_max_us %.1f\n", faults,
	       wp_faults, faults ? total * 1000 / faults : 0.0, worst * 1000);
	rc = registered == nr && wp_faults > 0 ? 0 : 1;
teardown:
	for (i = 0; i < nr; i++) {
		struct uffdio_range u = { r[i].start, r[i].end - r[i].start };
		if (r[i].end == r[i].start)
			continue;
		if (wp(fd, r[i].start, r[i].end - r[i].start, false) < 0 ||
		    ioctl(fd, UFFDIO_UNREGISTER, &u) < 0) {
			printf("teardown %#" PRIx64 " error %s\n", r[i].start, strerror(errno));
			rc = 1;
		}
	}
	close(fd);
	fd = -1;
release:
	if (fd >= 0)
		close(fd);
	if (!released && lg_ptrace_release_all(&g, &err))
		printf("release error %s\n", err.msg);
	lg_tgroup_free(&g);
	return rc;
}

int main(int argc, char **argv)
{
	struct range r[4];
	pid_t pid;
	int i, nr = 0;

	if (argc < 3)
		goto usage;
	if (!strcmp(argv[1], "as") && argc >= 4) {
		/* Run PROG as UID (gid the same, no groups, no capabilities). */
		uid_t uid = (uid_t)atoi(argv[2]);
		if (setgroups(0, NULL) || setgid(uid) || setuid(uid)) {
			fprintf(stderr, "mmtool as %u: %s\n", (unsigned)uid, strerror(errno));
			return 2;
		}
		execv(argv[3], argv + 3);
		fprintf(stderr, "mmtool as: %s: %s\n", argv[3], strerror(errno));
		return 2;
	}
	pid = (pid_t)atoi(argv[2]);
	if (!strcmp(argv[1], "huge") && argc == 3)
		return cmd_huge(pid);
	if (!strcmp(argv[1], "split") && argc == 3)
		return cmd_split(pid);
	if (!strcmp(argv[1], "collapse") && argc == 3)
		return cmd_collapse(pid);
	if (!strcmp(argv[1], "uffd-sync") && argc >= 6 && argc % 2 == 0 && argc <= 12) {
		for (i = 4; i + 1 < argc; i += 2, nr++) {
			r[nr].start = strtoull(argv[i], NULL, 0);
			r[nr].end = r[nr].start + strtoull(argv[i + 1], NULL, 0);
		}
		return cmd_uffd_sync(pid, atof(argv[3]), r, nr);
	}
usage:
	fprintf(stderr, "usage: mmtool huge|split|collapse PID | uffd-sync PID SECONDS ADDR LEN... | "
		"as UID PROG ARGS...\n");
	return 2;
}
