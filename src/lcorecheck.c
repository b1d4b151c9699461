/* lcorecheck: validate a core, or diff two cores of one process, or take a
 * gcore and an lgcore core of a live process and diff them.  main() parses
 * options, calls lib/check and maps the result to an exit code. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/lcorecheck.h"
#include "common/parse.h"

enum { EXIT_OK = 0, EXIT_DIFF = 1, EXIT_USAGE = 2, EXIT_UNREADABLE = 3 };

static void usage(FILE *f)
{
	fputs("Usage: lcorecheck [OPTIONS] CORE                validate one core\n"
	      "       lcorecheck [OPTIONS] CORE_A CORE_B       diff two cores of one process\n"
	      "       lcorecheck [OPTIONS] --against-gcore PID [-- LGCORE-OPTIONS]\n"
	      "                                               dump PID with gcore and lgcore, diff\n"
	      "\n"
	      "Options:\n"
	      "  -e, --exe FILE      the executable of the process (when NT_FILE's path is not usable)\n"
	      "      --strict        count expected gdb vs kernel-style differences as failures\n"
	      "  -j, --json FILE     also write the report as JSON to FILE ('-' for stdout)\n"
	      "  -k, --keep          with --against-gcore: keep the two cores (their paths are printed)\n"
	      "  -d, --dir DIR       with --against-gcore: write the cores in DIR (default $TMPDIR or /tmp)\n"
	      "  -q, --quiet         print only the summary line and failures\n"
	      "      --expected      list the table of expected differences and exit\n"
	      "  -h, --help          this help\n"
	      "  -V, --version       version and library versions\n"
	      "\n"
	      "Environment: LGCORE (the lgcore to run, default: lgcore next to lcorecheck),\n"
	      "             GCORE (default: gcore in PATH).\n"
	      "\n"
	      "Exit status:\n"
	      "  0  no unexpected difference, every validation rule passed\n"
	      "  1  differences or validation failures\n"
	      "  2  usage error or I/O error (a file cannot be read, gdb is not installed)\n"
	      "  3  a core that libelf/libdwfl cannot open at all (not an ELF file)\n", f);
}

/* libelf maps the cores (ELF_C_READ_MMAP): a core that another process
 * truncates while we read it raises SIGBUS on the pages that vanished.
 * Every size was checked at open, so nothing else can cause it: say so
 * and exit as for an I/O error rather than die of the signal. */
static void on_sigbus(int sig)
{
	static const char msg[] =
		"lcorecheck: a core file shrank while being read (SIGBUS): no report; check it again once its writer has finished\n";
	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing else to do from a signal handler */
	}
	_exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "exe", required_argument, NULL, 'e' },
		{ "strict", no_argument, NULL, 'S' },
		{ "json", required_argument, NULL, 'j' },
		{ "keep", no_argument, NULL, 'k' },
		{ "dir", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "against-gcore", required_argument, NULL, 'G' },
		{ "expected", no_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct lg_check_opts o = { 0 };
	struct lg_check_result res;
	struct lg_error err = { 0 };
	const char *json = NULL;
	int c, r, ex;

	while ((c = getopt_long(argc, argv, "+e:j:kd:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'e': o.exe = optarg; break;
		case 'S': o.strict = true; break;
		case 'j': json = optarg; break;
		case 'k': o.keep = true; break;
		case 'd': o.dir = optarg; break;
		case 'q': o.quiet = true; break;
		case 'G': {
			uint64_t pid;
			if (lg_parse_uint(optarg, INT_MAX, &pid) || pid == 0) {
				fprintf(stderr, "lcorecheck: --against-gcore: bad pid '%s'\n", optarg);
				return EXIT_USAGE;
			}
			o.pid = (int)pid;
			break;
		}
		case 'X':
			lg_check_print_expected(stdout);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			lg_check_print_version(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (o.pid) {
		/* Everything after "--" goes to lgcore (getopt consumed "--"). */
		o.lgcore_argv = argv + optind;
		o.lgcore_argc = argc - optind;
	} else if (argc - optind == 1 || argc - optind == 2) {
		o.core_a = argv[optind];
		o.core_b = argc - optind == 2 ? argv[optind + 1] : NULL;
	} else {
		usage(stderr);
		return EXIT_USAGE;
	}
	{
		struct sigaction sa = { .sa_handler = on_sigbus };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
	}
	/* Hashing 2 x 270 MB takes seconds; only the JSON report has it. */
	o.digest = json != NULL;
	r = lg_check_run(&o, &res, &err);
	if (r < 0) {
		fprintf(stderr, "lcorecheck: %s\n", err.msg);
		ex = r == -ENOEXEC ? EXIT_UNREADABLE : EXIT_USAGE;
		goto out;
	}
	lg_check_print_text(&res, &o, stdout);
	if (json) {
		r = lg_check_write_json(&res, &o, json, &err);
		if (r < 0) {
			fprintf(stderr, "lcorecheck: %s\n", err.msg);
			ex = EXIT_USAGE;
			goto out;
		}
	}
	for (size_t i = 0; i < res.nmessages; i++)
		fprintf(stderr, "lcorecheck: %s\n", res.messages[i]);
	ex = lg_check_count(&res.checks, LG_CHECK_FAIL) ? EXIT_DIFF : EXIT_OK;
out:
	lg_check_result_free(&res);
	return ex;
}
