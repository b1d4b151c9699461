/* lgcore: gcore's command line, a dump that stops the process briefly.
 * main() parses and dispatches; the work is in lib/. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precopy/dump.h"

enum { EXIT_DUMP_FAILED = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lgcore [-h|--help] [-v|--version] [-a] [-o prefix] [-g gdb] [-d dir] pid1 [pid2...pidN]\n"
		"Write a core file PREFIX.PID (default prefix: core) of each running process.\n"
		"\n"
		"  -a              dump every readable mapping, MADV_DONTDUMP ones included\n"
		"                  (ignores /proc/PID/coredump_filter; never reads I/O mappings)\n"
		"  -o PREFIX       write PREFIX.PID instead of core.PID\n"
		"  -g GDB, -d DIR  accepted for compatibility with gcore; no effect\n"
		"  -h, --help      show this help and exit\n"
		"  -v, --version   show the version and exit\n"
		"\n"
		"Exit status: 0 all cores written, 1 a dump failed (later pids are not\n"
		"processed), 2 usage error.\n");
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct lg_dump_opts opts = { 0 };
	const char *prefix = "core";
	int c, i;

	while ((c = getopt_long(argc, argv, "+ahvo:g:d:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			opts.all = true;
			break;
		case 'o':
			prefix = optarg;
			break;
		case 'g':
		case 'd':
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("lgcore %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "lgcore: no process id given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = optind; i < argc; i++) {
		pid_t pid;
		if (parse_pid(argv[i], &pid)) {
			fprintf(stderr, "lgcore: '%s' is not a process id\n", argv[i]);
			return EXIT_USAGE;
		}
	}

	/* A write past RLIMIT_FSIZE must fail with EFBIG and be reported, not
	 * kill us with the core half-written. */
	signal(SIGXFSZ, SIG_IGN);
	/* Output goes to a pipe in scripts: report each core as it is saved. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (i = optind; i < argc; i++) {
		struct lg_dump_result res;
		struct lg_error err = { 0 };
		char *path;
		pid_t pid;

		parse_pid(argv[i], &pid);
		if (asprintf(&path, "%s.%d", prefix, (int)pid) < 0) {
			fprintf(stderr, "lgcore: out of memory\n");
			return EXIT_DUMP_FAILED;
		}
		if (lg_dump_stop(pid, path, &opts, &res, &err)) {
			fprintf(stderr, "lgcore: failed to create %s: %s\n", path, err.msg);
			free(path);
			return EXIT_DUMP_FAILED;
		}
		if (res.unreadable)
			fprintf(stderr,
				"lgcore: warning: %s: %llu KiB in %zu mappings could not be read and are zeros\n",
				path, (unsigned long long)(res.unreadable / 1024), res.unreadable_maps);
		printf("Saved corefile %s\n", path);
		free(path);
	}
	return 0;
}
