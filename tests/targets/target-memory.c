/* A process with one memory region of each kind the dump rules tell apart.
 *
 * Usage: target-memory [--filter HEX] [--dir DIR]
 *   --filter  write HEX to /proc/self/coredump_filter first
 *   --dir     where to create the mapped files (default $TMPDIR or /tmp)
 *
 * For every region NAME it prints NAME.addr, NAME.len, NAME.first and
 * NAME.last (first and last 8-byte words, hex), NAME.crc (POSIX cksum of the
 * region's bytes, as `cksum` prints it) and what the kernel's rules say about
 * dumping it: NAME.dump and NAME.dump_a (with lgcore -a) are yes, no or any
 * (the rules leave it to the dumper).  Then "regions=NAME ..." and "ready".
 * On SIGUSR1 it checks that every region still holds what it held. */
#include "tcommon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RLEN (64 * 1024)
#define BIG (64 * 1024 * 1024)
#define MAXR 16

struct region {
	const char *name;
	unsigned char *addr;
	size_t len;
	unsigned long crc;	/* of the bytes at set-up time */
	const char *dump, *dump_a;
};
static struct region regions[MAXR];
static int nregions;
static unsigned filter = 0x33;
static char dir[4096];
static int nfiles;

static const char *yesno(int b)
{
	return b ? "yes" : "no";
}

/* With -a the contract only adds MADV_DONTDUMP regions; lgcore may dump
 * more (it ignores coredump_filter), so what the filter leaves out is "any". */
static const char *yes_any(int b)
{
	return b ? "yes" : "any";
}

static void add(const char *name, void *addr, size_t len, const char *dump,
		const char *dump_a)
{
	struct region *r = &regions[nregions++];

	r->name = name;
	r->addr = addr;
	r->len = len;
	r->crc = tc_cksum(addr, len);
	r->dump = dump;
	r->dump_a = dump_a;
}

/* An anonymous region between two PROT_NONE guard pages, so that the
 * kernel cannot merge it with a neighbour: a merged VMA would share the
 * neighbour's anon_vma, which changes what the kernel's rules dump. */
static void *anon(size_t len, int flags)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, len + 2 * pg, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p, pg, PROT_NONE) || mprotect(p + pg + len, pg, PROT_NONE)) {
		perror("mmap");
		exit(99);
	}
	return p + pg;
}

/* A file of RLEN pattern bytes, mapped; unlinked if asked. */
static void *file_map(int prot, int flags, uint64_t seed, int unlink_it)
{
	char path[4200];
	void *buf = malloc(RLEN), *p;
	int fd;

	snprintf(path, sizeof(path), "%s/target-memory.%d.%d", dir, (int)getpid(), nfiles++);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || !buf) {
		perror(path);
		exit(99);
	}
	tc_fill(buf, RLEN, seed);
	if (write(fd, buf, RLEN) != RLEN) {
		perror("write");
		exit(99);
	}
	p = mmap(NULL, RLEN, prot, flags, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap file");
		exit(99);
	}
	close(fd);
	free(buf);
	if (unlink_it)
		unlink(path);
	else
		tc_kv("file", "%s", path);	/* removed by the test */
	return p;
}

int main(int argc, char **argv)
{
	uint64_t stack_pattern[1024];
	unsigned char *p;
	char key[128];
	int i, fd;
	const char *t = getenv("TMPDIR");
	int a0, a1, f2, f3, f4;

	tc_init();
	snprintf(dir, sizeof(dir), "%s", t && *t ? t : "/tmp");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--filter") && i + 1 < argc) {
			filter = strtoul(argv[++i], NULL, 16);
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			snprintf(dir, sizeof(dir), "%s", argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--filter HEX] [--dir DIR]\n", argv[0]);
			return 99;
		}
	}
	fd = open("/proc/self/coredump_filter", O_WRONLY);
	if (fd < 0 || dprintf(fd, "0x%x", filter) < 0) {
		perror("coredump_filter");
		return 99;
	}
	close(fd);
	a0 = filter & 1, a1 = filter & 2, f2 = filter & 4, f3 = filter & 8, f4 = filter & 16;

	p = malloc(RLEN);
	tc_fill(p, RLEN, 0x11);
	add("heap", p, RLEN, yesno(a0), yesno(a0));

	tc_fill(stack_pattern, sizeof(stack_pattern), 0x22);
	add("stack", stack_pattern, sizeof(stack_pattern), yesno(a0), yesno(a0));

	/* MADV_DONTDUMP: never, except that lgcore -a dumps it. */
	p = anon(RLEN, MAP_PRIVATE);
	tc_fill(p, RLEN, 0x33);
	if (madvise(p, RLEN, MADV_DONTDUMP)) {
		perror("madvise");
		return 99;
	}
	add("dontdump", p, RLEN, "no", yesno(a0));

	p = anon(RLEN, MAP_SHARED);
	tc_fill(p, RLEN, 0x44);
	add("shared_anon", p, RLEN, yesno(a1), yesno(a1));

	/* A private file mapping nobody wrote to: bit 2. */
	p = file_map(PROT_READ, MAP_PRIVATE, 0x55, 0);
	add("file_ro", p, RLEN, yesno(f2), yes_any(f2));

	/* Written to: it has anonymous pages, so bit 0 (or bit 2) dumps it. */
	p = file_map(PROT_READ | PROT_WRITE, MAP_PRIVATE, 0x66, 0);
	tc_fill(p, RLEN, 0x67);
	add("file_written", p, RLEN, yesno(a0 || f2), yes_any(a0 || f2));

	p = file_map(PROT_READ | PROT_WRITE, MAP_SHARED, 0x77, 0);
	add("file_shared", p, RLEN, yesno(f3), yes_any(f3));

	/* Deleted files: the kernel treats a shared mapping of an unlinked
	 * file as anonymous shared (bit 1), a private one as a file (bit 2)
	 * unless written to. gdb calls every "(deleted)" mapping anonymous. */
	p = file_map(PROT_READ, MAP_PRIVATE, 0x88, 1);
	add("deleted_ro", p, RLEN, yesno(f2), yes_any(f2));
	p = file_map(PROT_READ | PROT_WRITE, MAP_PRIVATE, 0x99, 1);
	tc_fill(p, RLEN, 0x9a);
	add("deleted_written", p, RLEN, yesno(a0 || f2), yes_any(a0 || f2));
	p = file_map(PROT_READ | PROT_WRITE, MAP_SHARED, 0xaa, 1);
	add("deleted_shared", p, RLEN, yesno(a1), yes_any(a1));

	/* Pages written then zeroed, and pages never touched: both read as
	 * zeros from the core (a sparse core leaves them as holes). */
	p = anon(RLEN, MAP_PRIVATE);
	tc_fill(p, RLEN, 0xbb);
	memset(p, 0, RLEN);
	add("zeros", p, RLEN, yesno(a0), yesno(a0));
	/* Never written, so it has no anonymous pages (no anon_vma): the
	 * kernel writes its PT_LOAD with p_filesz 0 whatever the filter, and
	 * lldb and drgn then cannot read it.  lgcore gives it file space
	 * (holes) when the filter dumps anonymous private memory, as gdb's
	 * gcore writes it out; -a dumps every readable mapping. */
	p = anon(BIG, MAP_PRIVATE);
	add("untouched", p, BIG, yesno(a0), "yes");
	/* cksum above read it: make sure reading mapped no real pages. */
	madvise(p, BIG, MADV_DONTNEED);
	/* Written at both ends only: dumped whole (bit 0), the never-touched
	 * middle left as holes in a sparse core. */
	p = anon(BIG, MAP_PRIVATE);
	p[0] = 0x5e;
	p[BIG - 1] = 0x5e;
	add("sparse", p, BIG, yesno(a0), yesno(a0));

	/* Our own executable mapped again at offset 0: the ELF-header rule
	 * (bit 4) dumps its first page; the rest is a plain file mapping. */
	fd = open("/proc/self/exe", O_RDONLY);
	p = fd < 0 ? MAP_FAILED : mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap exe");
		return 99;
	}
	close(fd);
	add("elfhdr", p, 4096, yesno(f4 || f2), yes_any(f4 || f2));
	add("elfrest", p + 4096, 4096, f2 ? "yes" : "any", f2 ? "yes" : "any");

	tc_kv("pid", "%d", (int)getpid());
	tc_kv("filter", "0x%x", filter);
	printf("regions=");
	for (i = 0; i < nregions; i++)
		printf("%s%s", i ? " " : "", regions[i].name);
	printf("\n");
	for (i = 0; i < nregions; i++) {
		struct region *r = &regions[i];
		const uint64_t *w = (const uint64_t *)r->addr;

#define KV(suffix, ...) \
		(snprintf(key, sizeof(key), "%s." suffix, r->name), tc_kv(key, __VA_ARGS__))
		KV("addr", "%p", (void *)r->addr);
		KV("len", "%zu", r->len);
		KV("first", "0x%016llx", (unsigned long long)w[0]);
		KV("last", "0x%016llx", (unsigned long long)w[r->len / 8 - 1]);
		KV("crc", "%lu %zu", r->crc, r->len);
		KV("dump", "%s", r->dump);
		KV("dump_a", "%s", r->dump_a);
	}
	tc_kv("ready", "1");

	tc_wait_usr1();
	for (i = 0; i < nregions; i++)
		if (tc_cksum(regions[i].addr, regions[i].len) != regions[i].crc)
			tc_fail("region %s changed", regions[i].name);
	return tc_finish();
}
