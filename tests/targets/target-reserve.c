/* Reservations the process never writes, as Go, JVMs and allocators make
 * them: readable and writable, MAP_NORESERVE, no page ever touched.  NEVER
 * dump this target with gdb 13's gcore: it writes every byte (4 TiB).
 *
 * Regions, each between PROT_NONE guard pages (so that none merges with
 * another mapping):
 *   huge     4 TiB, never written: more than lgcore gives file space to
 *   medium   1 GiB, never written: read as zeros from the core
 *   written  16 MiB of which the first and last pages are written
 *   reserved 1 TiB PROT_NONE: never dumped
 * Prints NAME.addr, NAME.len, written.first/last (first and last words)
 * and ready; on SIGUSR1 checks that nothing got populated and the written
 * pages still hold their values. */
#include "tcommon.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TIB (1ull << 40)
#define GIB (1ull << 30)
#define MIB (1ull << 20)
#define PAGE 4096ull

static unsigned char *region(const char *name, uint64_t len, int prot)
{
	char key[64];
	unsigned char *p = mmap(NULL, len + 2 * PAGE, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED ||
	    (prot != PROT_NONE &&
	     mmap(p + PAGE, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		  0) == MAP_FAILED)) {
		tc_kv("skip", "cannot reserve %llu bytes of address space (%s)",
		      (unsigned long long)len, name);
		_exit(77);
	}
	/* A PROT_NONE region is one mapping with its guards. */
	if (prot == PROT_NONE)
		len += 2 * PAGE;
	else
		p += PAGE;
	snprintf(key, sizeof(key), "%s.addr", name);
	tc_kv(key, "%p", (void *)p);
	snprintf(key, sizeof(key), "%s.len", name);
	tc_kv(key, "%llu", (unsigned long long)len);
	return p;
}

/* Rss of the mapping that starts at P, in kB, from /proc/self/smaps
 * (mincore over 4 TiB would take seconds). */
static long rss_kb(const void *p)
{
	char line[512], start[32];
	long kb = -1;
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)p);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, '-') < strchr(line, ' ') &&
		    line[0] != ' ' && strncmp(line, "Rss", 3))
			in = !strncmp(line, start, strlen(start));
		else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

int main(void)
{
	unsigned char *huge, *medium, *written;
	uint64_t *w;

	tc_init();
	huge = region("huge", 4 * TIB, PROT_READ | PROT_WRITE);
	medium = region("medium", GIB, PROT_READ | PROT_WRITE);
	written = region("written", 16 * MIB, PROT_READ | PROT_WRITE);
	region("reserved", TIB, PROT_NONE);
	w = (uint64_t *)written;
	w[0] = 0x5eed0000000000f1ull;
	w[(16 * MIB) / 8 - 1] = 0x5eed0000000000f2ull;
	tc_kv("written.first", "0x%016llx", (unsigned long long)w[0]);
	tc_kv("written.last", "0x%016llx", (unsigned long long)w[(16 * MIB) / 8 - 1]);
	/* The two written pages: every core must hold exactly these bytes. */
	tc_declare("written_head", written, 4096);
	tc_declare("written_tail", written + 16 * MIB - 4096, 4096);
	tc_kv("pid", "%d", (int)getpid());
	tc_kv("ready", "1");

	tc_wait_usr1();

	/* The dump read nothing of the reservations: no page was faulted in
	 * (a dumper that reads them would also take minutes). */
	if (rss_kb(huge) != 0 || rss_kb(medium) != 0)
		tc_fail("pages of the never-written reservations became resident (Rss %ld and %ld kB)",
			rss_kb(huge), rss_kb(medium));
	if (w[0] != 0x5eed0000000000f1ull || w[(16 * MIB) / 8 - 1] != 0x5eed0000000000f2ull)
		tc_fail("the written pages changed");
	return tc_finish();
}
