/* libFuzzer target for lcorecheck's core reader and validator: each input
 * is a core file, checked as `lcorecheck CORE CORE` checks it (the reader,
 * every validation rule, libdwfl's and libunwind's view, then the differ
 * on the two views) and reported in text and JSON, as lcorecheck does.
 *
 * libFuzzer rather than AFL++: clang and its runtime are Debian packages,
 * the target is a plain function run in one process (thousands of inputs
 * a second without a fork), ASan's leak checker runs after every input
 * that allocated more than it freed, and -timeout/-max_total_time give the
 * fixed budget and the per-input hang limit CI needs; AFL++ would need a
 * fork server and its own instrumenting compiler for the same.
 *
 * The reader opens cores by path (libelf maps them, libunwind's coredump
 * support opens them again), so the input goes into a memfd, read through
 * /proc/self/fd/N. */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check/lcorecheck.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int core_fd = -1;
static char core_path[64];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	core_fd = memfd_create("fuzz-core", MFD_CLOEXEC);
	devnull = fopen("/dev/null", "w");
	if (core_fd < 0 || !devnull) {
		perror("fuzz_core: memfd_create or /dev/null");
		abort();
	}
	snprintf(core_path, sizeof(core_path), "/proc/self/fd/%d", core_fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lg_check_opts o = { .core_a = core_path, .core_b = core_path, .digest = true };
	struct lg_check_result res;
	struct lg_error err = { 0 };
	size_t done = 0;

	if (ftruncate(core_fd, 0) < 0)
		abort();
	while (done < size) {
		ssize_t n = pwrite(core_fd, data + done, size - done, (off_t)done);
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	if (lg_check_run(&o, &res, &err) == 0) {
		lg_check_print_text(&res, &o, devnull);
		if (lg_check_write_json(&res, &o, "/dev/null", &err) < 0)
			abort();	/* /dev/null takes anything */
	}
	lg_check_result_free(&res);
	return 0;
}
