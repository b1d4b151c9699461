/* lib/mem: reading a child's memory, PROT_NONE and unmapped pages, large
 * batches, and the populated-page scan. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arch.h"
#include "mem/mem.h"

#define PAGES 4096
static uint8_t *region;
static pid_t child;

static uint8_t pattern(size_t page, size_t byte)
{
	return (uint8_t)(page * 7 + byte * 13 + 1);
}

/* The child fills every page but pages 10..19 (never touched), makes page
 * 5 PROT_NONE and unmaps page 30. */
static void start_child(void)
{
	int pfd[2];
	char c;

	region = mmap(NULL, PAGES * LG_PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(region, MAP_FAILED);
	/* Huge pages would make the untouched pages 10..19 present. */
	madvise(region, PAGES * LG_PAGE_SIZE, MADV_NOHUGEPAGE);
	ck_assert_int_eq(pipe(pfd), 0);
	child = fork();
	if (child == 0) {
		for (size_t p = 0; p < PAGES; p++)
			if (p < 10 || p >= 20)
				for (size_t b = 0; b < LG_PAGE_SIZE; b++)
					region[p * LG_PAGE_SIZE + b] = pattern(p, b);
		mprotect(region + 5 * LG_PAGE_SIZE, LG_PAGE_SIZE, PROT_NONE);
		munmap(region + 30 * LG_PAGE_SIZE, LG_PAGE_SIZE);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	ck_assert_int_eq(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
}

static void stop_child(void)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	munmap(region, PAGES * LG_PAGE_SIZE);
}

static int page_ok(const uint8_t *buf, size_t page)
{
	for (size_t b = 0; b < LG_PAGE_SIZE; b++)
		if (buf[b] != pattern(page, b))
			return 0;
	return 1;
}

START_TEST(read_whole_region)
{
	struct lg_mem m;
	struct lg_error e = { 0 };
	uint8_t *buf = malloc(PAGES * LG_PAGE_SIZE);

	lg_mem_init(&m, child);
	ck_assert_msg(lg_mem_read(&m, (uintptr_t)region, buf, PAGES * LG_PAGE_SIZE, &e) == 0, "%s", e.msg);
	for (size_t p = 0; p < PAGES; p++) {
		const uint8_t *pg = buf + p * LG_PAGE_SIZE;
		if (p >= 10 && p < 20)
			ck_assert_int_eq(pg[0] | pg[LG_PAGE_SIZE - 1], 0);
		else if (p == 30)
			ck_assert_int_eq(pg[0] | pg[100], 0);	/* unmapped: zeros */
		else
			ck_assert_msg(page_ok(pg, p), "page %zu", p);	/* PROT_NONE too */
	}
	/* Only the unmapped page could not be read at all. */
	ck_assert_uint_eq(m.unreadable, LG_PAGE_SIZE);
	lg_mem_close(&m);
	free(buf);
}
END_TEST

START_TEST(batches_beyond_iov_max)
{
	/* 3000 scattered single pages: several process_vm_readv calls, and
	 * the unreadable page in the middle of a batch. */
	struct lg_mem m;
	struct lg_error e = { 0 };
	struct lg_range *r = calloc(3000, sizeof(*r));
	uint8_t *buf = malloc(3000 * 100);
	size_t i, n = 0;

	for (i = 0; n < 3000; i++) {
		size_t p = 31 + (i % (PAGES - 31));
		r[n].start = (uintptr_t)region + p * LG_PAGE_SIZE + 17;
		r[n].end = r[n].start + 100;
		n++;
	}
	r[1500].start = (uintptr_t)region + 30 * LG_PAGE_SIZE;	/* unmapped */
	r[1500].end = r[1500].start + 100;
	lg_mem_init(&m, child);
	ck_assert_msg(lg_mem_readv(&m, r, n, buf, &e) == 0, "%s", e.msg);
	for (i = 0; i < n; i++) {
		size_t p = (r[i].start - (uintptr_t)region) / LG_PAGE_SIZE;
		if (i == 1500) {
			ck_assert_int_eq(buf[i * 100], 0);
			continue;
		}
		for (size_t b = 0; b < 100; b++)
			ck_assert_uint_eq(buf[i * 100 + b], pattern(p, 17 + b));
	}
	ck_assert_uint_eq(m.unreadable, 100);
	lg_mem_close(&m);
	free(buf);
	free(r);
}
END_TEST

START_TEST(populated_pages)
{
	struct lg_pagemap pm;
	struct lg_ranges out = { 0 };
	struct lg_error e = { 0 };
	uint64_t base = (uintptr_t)region;

	lg_pagemap_init(&pm, child);
	ck_assert_msg(lg_pagemap_populated(&pm, base, base + 40 * LG_PAGE_SIZE, &out, &e) == 0, "%s",
		      e.msg);
	/* 0..9 and 20..39 touched; 10..19 never; 30 unmapped. */
	ck_assert_uint_eq(out.n, 3);
	ck_assert_uint_eq(out.v[0].start, base);
	ck_assert_uint_eq(out.v[0].end, base + 10 * LG_PAGE_SIZE);
	ck_assert_uint_eq(out.v[1].start, base + 20 * LG_PAGE_SIZE);
	ck_assert_uint_eq(out.v[1].end, base + 30 * LG_PAGE_SIZE);
	ck_assert_uint_eq(out.v[2].start, base + 31 * LG_PAGE_SIZE);
	ck_assert_uint_eq(out.v[2].end, base + 40 * LG_PAGE_SIZE);

	/* The same answer from the pre-6.7 path. */
	lg_ranges_clear(&out);
	pm.have_scan = 0;
	ck_assert_int_eq(lg_pagemap_populated(&pm, base, base + 40 * LG_PAGE_SIZE, &out, &e), 0);
	ck_assert_uint_eq(out.n, 3);
	ck_assert_uint_eq(lg_ranges_bytes(&out), 39 * LG_PAGE_SIZE - 10 * LG_PAGE_SIZE);
	/* The complement, from both paths: pages 10..19 of the first 30. */
	for (int path = 0; path < 2; path++) {
		lg_ranges_clear(&out);
		pm.have_scan = path ? 0 : -1;
		ck_assert_int_eq(lg_pagemap_holes(&pm, base, base + 30 * LG_PAGE_SIZE, &out, &e), 0);
		ck_assert_uint_eq(out.n, 1);
		ck_assert_uint_eq(out.v[0].start, base + 10 * LG_PAGE_SIZE);
		ck_assert_uint_eq(out.v[0].end, base + 20 * LG_PAGE_SIZE);
	}
	lg_pagemap_close(&pm);
	lg_ranges_free(&out);
}
END_TEST

/* Shared memory dropped with MADV_DONTNEED (bytes kept) or punched with
 * MADV_REMOVE has no present entry: lg_pagemap_absent() lists it, from
 * both paths. */
START_TEST(absent_shared_pages)
{
	struct lg_pagemap pm;
	struct lg_ranges out = { 0 };
	struct lg_error e = { 0 };
	char *p = mmap(NULL, 8 * LG_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	uint64_t base = (uintptr_t)p;
	int path, i;

	ck_assert_ptr_ne(p, MAP_FAILED);
	for (i = 0; i < 8; i++)
		p[i * LG_PAGE_SIZE] = 1;
	ck_assert_int_eq(madvise(p + 2 * LG_PAGE_SIZE, LG_PAGE_SIZE, MADV_DONTNEED), 0);
	ck_assert_int_eq(madvise(p + 5 * LG_PAGE_SIZE, 2 * LG_PAGE_SIZE, MADV_REMOVE), 0);
	lg_pagemap_init(&pm, getpid());
	for (path = 0; path < 2; path++) {
		lg_ranges_clear(&out);
		pm.have_scan = path ? 0 : -1;
		ck_assert_msg(lg_pagemap_absent(&pm, base, base + 8 * LG_PAGE_SIZE, &out, &e) == 0,
			      "%s", e.msg);
		ck_assert_uint_eq(out.n, 2);
		ck_assert_uint_eq(out.v[0].start, base + 2 * LG_PAGE_SIZE);
		ck_assert_uint_eq(out.v[0].end, base + 3 * LG_PAGE_SIZE);
		ck_assert_uint_eq(out.v[1].start, base + 5 * LG_PAGE_SIZE);
		ck_assert_uint_eq(out.v[1].end, base + 7 * LG_PAGE_SIZE);
	}
	/* Dropped, not punched: the bytes are still there. */
	ck_assert_int_eq(p[2 * LG_PAGE_SIZE], 1);
	ck_assert_int_eq(p[5 * LG_PAGE_SIZE], 0);
	lg_pagemap_close(&pm);
	lg_ranges_free(&out);
	munmap(p, 8 * LG_PAGE_SIZE);
}
END_TEST

START_TEST(gone_process)
{
	struct lg_mem m;
	struct lg_error e = { 0 };
	uint8_t b[16];

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	lg_mem_init(&m, child);
	ck_assert_int_eq(lg_mem_read(&m, (uintptr_t)region, b, sizeof(b), &e), -ESRCH);
	lg_mem_close(&m);
}
END_TEST

Suite *unit_suite(void);

Suite *unit_suite(void)
{
	Suite *s = suite_create("mem");
	TCase *tc = tcase_create("child");
	tcase_add_checked_fixture(tc, start_child, stop_child);
	tcase_add_test(tc, read_whole_region);
	tcase_add_test(tc, batches_beyond_iov_max);
	tcase_add_test(tc, populated_pages);
	tcase_add_test(tc, absent_shared_pages);
	tcase_add_test(tc, gone_process);
	suite_add_tcase(s, tc);
	return s;
}
