/* lcorecheck's library entry points: run a mode, print or serialise the
 * report.  src/lcorecheck.c only parses options and calls these. */
#ifndef LG_CHECK_LCORECHECK_H
#define LG_CHECK_LCORECHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "check/diff.h"
#include "check/report.h"
#include "check/validate.h"
#include "common/error.h"

#define LG_CHECK_JSON_SCHEMA 1

struct lg_check_opts {
	const char *core_a, *core_b;	/* validate: core_a only; diff: both */
	const char *exe;
	bool strict, keep, quiet;
	bool digest;			/* SHA-256 and size of the inputs (the JSON report's) */
	const char *dir;
	int pid;			/* --against-gcore */
	char **lgcore_argv;
	int lgcore_argc;
};

struct lg_check_result {
	struct lg_check_list checks;
	struct lg_core_view v[2];
	const char *label[2];
	char *path[2];
	int nviews;
	struct lg_memdiffs mem;
	char **messages;		/* notes for stderr (kept cores, warnings) */
	size_t nmessages, messages_cap;
	char *tool_version[2];		/* gdb's and lgcore's --version lines */
	char sha256[2][65];		/* "" when not digested or the file could not be read */
	uint64_t size[2];
	char *tmpdir;			/* --against-gcore's directory, removed unless kept */
};

/* Run the mode O selects.  Returns 0 when the checks ran (RES holds them),
 * -ENOEXEC when a core cannot be opened at all, another -errno otherwise. */
int lg_check_run(const struct lg_check_opts *o, struct lg_check_result *res, struct lg_error *err);
void lg_check_result_free(struct lg_check_result *res);
void lg_check_result_message(struct lg_check_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void lg_check_print_text(const struct lg_check_result *res, const struct lg_check_opts *o, FILE *f);
int lg_check_write_json(const struct lg_check_result *res, const struct lg_check_opts *o,
			const char *path, struct lg_error *err);
void lg_check_print_version(FILE *f);
void lg_check_print_expected(FILE *f);

/* --against-gcore (against.c): stop PID, dump it with gcore and lgcore,
 * put it back; the two core paths are returned in PATHS. */
int lg_check_take_cores(const struct lg_check_opts *o, struct lg_check_result *res,
			struct lg_error *err);

#endif
