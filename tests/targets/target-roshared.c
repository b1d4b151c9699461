/* A process with a large shared mapping it cannot write, a small one it
 * could, and one it makes writable during the dump: what pre-copy copies
 * early and what it copies in the stop.
 *
 * Usage: target-roshared DIR MIB
 *   DIR  where to create the two files (the test removes them with DIR)
 *   MIB  size of the read-only mapping in MiB
 *
 * coredump_filter 0x3f (as OpenJDK 17 sets it), so that shared file
 * mappings are dumped.  Region "ro": DIR/ro, MIB MiB of pattern, opened
 * O_RDONLY and mapped MAP_SHARED PROT_READ: no VM_MAYWRITE.  Region "rw":
 * DIR/rw, 4 MiB, opened O_RDWR and mapped MAP_SHARED PROT_READ: the same
 * protection, but VM_MAYWRITE (mprotect could make it writable).
 * "flip": DIR/flip, 4 MiB, mapped as "ro" is; once a thread sees a
 * userfaultfd registration in its smaps ("uw": lgcore's set-up stop is
 * over, pre-copy runs), it maps the file again at the same place from a
 * descriptor opened O_RDWR, writes a second pattern through it and makes
 * it PROT_READ again: the same range, file, offset and protection, now
 * with VM_MAYWRITE; then prints "flipped=1".  Not declared as a region
 * (its bytes change): the test compares the core with the file.
 * Prints NAME.path, the regions (tc_region), "maywrite.ro" and
 * "maywrite.rw" (the "mw" of each in /proc/self/smaps, 0 or 1),
 * flip.addr, flip.len, then "ready".  On SIGUSR1 it checks that "ro" and
 * "rw" still hold their pattern, and "flip" one of its two. */
#include "tcommon.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RW_LEN (4u << 20)
#define FLIP_SEED 0x464c
#define FLIP_SEED2 0x464d

static char flip_path[4200];
static void *flip;

/* Write LEN pattern bytes to PATH, map it back with the file opened by
 * OFLAGS. */
static void *map_file(const char *path, size_t len, uint64_t seed, int oflags)
{
	void *buf = malloc(len), *p;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0 || !buf) {
		perror(path);
		exit(99);
	}
	tc_fill(buf, len, seed);
	if (write(fd, buf, len) != (ssize_t)len || close(fd)) {
		perror("write");
		exit(99);
	}
	free(buf);
	fd = open(path, oflags);
	p = fd < 0 ? MAP_FAILED : mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(99);
	}
	close(fd);
	/* Read once, so that the pages are in the page cache before the dump. */
	if (tc_verify(p, len, seed)) {
		fprintf(stderr, "%s: wrong bytes read back\n", path);
		exit(99);
	}
	return p;
}

/* 1 if the smaps VmFlags of the mapping at P have "mw", 0 if not, -1 if
 * not found. */
static int maywrite(const void *p)
{
	char line[512], want[32];
	FILE *f = fopen("/proc/self/smaps", "r");
	int in = 0, r = -1;

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)p);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			in = 1;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			r = strstr(line, " mw") != NULL;
			break;
		}
	}
	fclose(f);
	return r;
}

/* 1 once any mapping of this process is registered with a userfaultfd. */
static int uffd_registered(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	int r = 0;

	if (!f)
		return 0;
	while (!r && fgets(line, sizeof(line), f))
		r = !strncmp(line, "VmFlags:", 8) && strstr(line, " uw");
	fclose(f);
	return r;
}

static void *flipper(void *arg)
{
	int fd;

	(void)arg;
	while (!uffd_registered())
		usleep(2000);
	fd = open(flip_path, O_RDWR);
	if (fd < 0 || mmap(flip, RW_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != flip) {
		perror("flip");
		exit(99);
	}
	close(fd);
	tc_fill(flip, RW_LEN, FLIP_SEED2);
	if (mprotect(flip, RW_LEN, PROT_READ)) {
		perror("mprotect");
		exit(99);
	}
	tc_kv("flipped", "1");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	char ro_path[4200], rw_path[4200];
	size_t ro_len;
	void *ro, *rw;
	int fd;

	tc_init();
	if (argc != 3 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: %s DIR MIB\n", argv[0]);
		return 99;
	}
	ro_len = (size_t)atoi(argv[2]) << 20;
	fd = open("/proc/self/coredump_filter", O_WRONLY);
	if (fd < 0 || dprintf(fd, "0x3f") < 0) {
		perror("coredump_filter");
		return 99;
	}
	close(fd);
	snprintf(ro_path, sizeof(ro_path), "%s/ro", argv[1]);
	snprintf(rw_path, sizeof(rw_path), "%s/rw", argv[1]);
	ro = map_file(ro_path, ro_len, 0x524f, O_RDONLY);
	rw = map_file(rw_path, RW_LEN, 0x5257, O_RDWR);
	snprintf(flip_path, sizeof(flip_path), "%s/flip", argv[1]);
	flip = map_file(flip_path, RW_LEN, FLIP_SEED, O_RDONLY);

	tc_kv("ro.path", "%s", ro_path);
	tc_kv("rw.path", "%s", rw_path);
	tc_region("ro", ro, ro_len, 0x524f);
	tc_region("rw", rw, RW_LEN, 0x5257);
	tc_kv("maywrite.ro", "%d", maywrite(ro));
	tc_kv("maywrite.rw", "%d", maywrite(rw));
	tc_kv("flip.path", "%s", flip_path);
	tc_kv("flip.addr", "%p", flip);
	tc_kv("flip.len", "%u", RW_LEN);
	if (pthread_create(&th, NULL, flipper, NULL)) {
		perror("pthread_create");
		return 99;
	}
	tc_kv("ready", "1");

	tc_wait_usr1();
	if (tc_verify(ro, ro_len, 0x524f))
		tc_fail("region ro changed");
	if (tc_verify(rw, RW_LEN, 0x5257))
		tc_fail("region rw changed");
	if (tc_verify(flip, RW_LEN, FLIP_SEED) && tc_verify(flip, RW_LEN, FLIP_SEED2))
		tc_fail("region flip holds neither of its patterns");
	tc_check_signals();
	return tc_finish();
}
