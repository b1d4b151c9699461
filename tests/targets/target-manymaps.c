/* A process with more than 65535 mappings, so that its core needs the
 * PN_XNUM extension (e_phnum = 0xffff, the real count in section header 0).
 *
 * Usage: target-manymaps [PAGES]   (default 66000)
 * One region of PAGES pages whose protections alternate (rw-, r--) so the
 * kernel cannot merge them; page i starts with tc_word(seed, i).  Prints
 * maps (lines of /proc/self/maps at ready time), area.addr, area.pages,
 * area.seed, page.K.{addr,word} for a few pages (each page also declared
 * with tc_declare), and ready; or skip=... when vm.max_map_count is too
 * small.  On SIGUSR1 it checks every page. */
#include "tcommon.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define SEED 0x3a95

static long count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	long pages = argc > 1 ? atol(argv[1]) : 66000, i, max = 0, have;
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *area;
	FILE *f;
	char key[64];
	const long samples[] = { 0, 1, 2, 4097, 65534, 65535, 65536 };

	tc_init();
	f = fopen("/proc/sys/vm/max_map_count", "r");
	if (!f || fscanf(f, "%ld", &max) != 1)
		max = 0;
	if (f)
		fclose(f);
	have = count_maps();
	if (max < have + pages + 16) {
		tc_kv("skip", "vm.max_map_count is %ld, %ld mappings are needed "
		      "(sysctl vm.max_map_count=%ld)", max, have + pages + 16,
		      have + pages + 1000);
		return 77;
	}
	area = mmap(NULL, pages * pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED) {
		perror("mmap");
		return 99;
	}
	for (i = 0; i < pages; i++)
		*(uint64_t *)(area + i * pg) = tc_word(SEED, i);
	for (i = 1; i < pages; i += 2)
		if (mprotect(area + i * pg, pg, PROT_READ)) {
			perror("mprotect");
			return 99;
		}
	tc_kv("pid", "%d", (int)getpid());
	tc_kv("maps", "%ld", count_maps());
	tc_kv("area.addr", "%p", (void *)area);
	tc_kv("area.pages", "%ld", pages);
	tc_kv("area.seed", "0x%x", SEED);
	for (i = 0; i < (long)(sizeof(samples) / sizeof(samples[0])); i++) {
		if (samples[i] >= pages)
			continue;
		snprintf(key, sizeof(key), "page.%ld", samples[i]);
		tc_declare(key, area + samples[i] * pg, (size_t)pg);
		snprintf(key, sizeof(key), "page.%ld.word", samples[i]);
		tc_kv(key, "0x%016llx", (unsigned long long)tc_word(SEED, samples[i]));
	}
	tc_kv("ready", "1");

	tc_wait_usr1();
	for (i = 0; i < pages; i++)
		if (*(uint64_t *)(area + i * pg) != tc_word(SEED, i)) {
			tc_fail("page %ld changed", i);
			break;
		}
	if (count_maps() < pages)
		tc_fail("mappings were merged or removed");
	return tc_finish();
}
