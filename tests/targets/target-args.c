/* A process started with a command line longer than the 80 bytes of
 * NT_PRPSINFO's pr_psargs.
 *
 * Prints argc, argv.N (the test passes arguments without blanks), fname,
 * psargs_kernel (what the kernel writes: the first 79 bytes of the argument
 * area, NULs turned into spaces), psargs_argv0 (what gdb writes),
 * cmdline_len, the argument area as the declared region "args"
 * (tc_declare), and ready.  g_argc/g_argv are globals for gdb to print.  On
 * SIGUSR1 it checks that its argument strings are unchanged. */
#include "tcommon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int g_argc;
char **g_argv;

int main(int argc, char **argv)
{
	char key[32], psargs[80], **copy;
	size_t total = 0, n;
	int i;

	tc_init();
	g_argc = argc;
	g_argv = argv;
	copy = calloc(argc, sizeof(*copy));
	for (i = 0; i < argc; i++) {
		copy[i] = strdup(argv[i]);
		total += strlen(argv[i]) + 1;
	}
	if (total <= 80) {
		tc_kv("skip", "command line of %zu bytes, needs more than 80", total);
		return 77;
	}
	/* argv strings are contiguous in the argument area. */
	n = total < sizeof(psargs) ? total : sizeof(psargs) - 1;
	memcpy(psargs, argv[0], n);
	for (i = 0; i < (int)n; i++)
		if (!psargs[i])
			psargs[i] = ' ';
	psargs[n] = '\0';

	tc_kv("pid", "%d", (int)getpid());
	tc_kv("argc", "%d", argc);
	for (i = 0; i < argc; i++) {
		snprintf(key, sizeof(key), "argv.%d", i);
		tc_kv(key, "%s", argv[i]);
	}
	tc_kv("cmdline_len", "%zu", total);
	tc_kv("fname", "%.15s", strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0]);
	tc_kv("psargs_kernel", "%s", psargs);
	tc_kv("psargs_argv0", "%.79s", argv[0]);
	tc_declare("args", argv[0], total);
	tc_kv("ready", "1");

	tc_wait_usr1();
	for (i = 0; i < argc; i++)
		if (strcmp(copy[i], argv[i]))
			tc_fail("argv[%d] changed", i);
	return tc_finish();
}
