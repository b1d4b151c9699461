#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "check/lcorecheck.h"
#include "check/sha256.h"
#include "common/grow.h"

void lg_check_result_message(struct lg_check_result *res, const char *fmt, ...)
{
	va_list ap;

	if (LG_GROW(res->messages, res->messages_cap, res->nmessages + 1, 4))
		return;
	va_start(ap, fmt);
	if (vasprintf(&res->messages[res->nmessages], fmt, ap) >= 0)
		res->nmessages++;
	va_end(ap);
}

/* Digests are taken before --against-gcore removes its cores. */
static void digest_inputs(const struct lg_check_opts *o, struct lg_check_result *res)
{
	for (int i = 0; o->digest && i < res->nviews; i++) {
		struct stat st;
		if (!res->path[i] || stat(res->path[i], &st) < 0 || lg_sha256_file(res->path[i], res->sha256[i]) < 0)
			continue;
		res->size[i] = st.st_size;
	}
}

static int diff_paths(const struct lg_check_opts *o, struct lg_check_result *res,
		      struct lg_error *err)
{
	int r;

	res->nviews = 2;
	r = lg_check_validate(&res->v[0], res->path[0], o->exe, "a.", &res->checks, err);
	if (r < 0)
		goto out;
	r = lg_check_validate(&res->v[1], res->path[1], o->exe, "b.", &res->checks, err);
	if (r < 0)
		goto out;
	if (!res->v[0].core.structure_ok || !res->v[1].core.structure_ok) {
		lg_check_add(&res->checks, LG_CHECK_FAIL, "diff", "a core's structure cannot be read: nothing to compare");
		goto out;
	}
	r = lg_check_diff(&res->v[0], &res->v[1], &res->checks, &res->mem);
out:
	return r;
}

int lg_check_run(const struct lg_check_opts *o, struct lg_check_result *res, struct lg_error *err)
{
	int r = 0;

	memset(res, 0, sizeof(*res));
	res->checks.strict = o->strict;
	if (o->pid) {
		res->label[0] = "gcore";
		res->label[1] = "lgcore";
		r = lg_check_take_cores(o, res, err);
		if (r < 0)
			goto out;
		r = diff_paths(o, res, err);
		digest_inputs(o, res);
		if (o->keep)
			lg_check_result_message(res, "kept %s and %s", res->path[0], res->path[1]);
		else {
			unlink(res->path[0]);
			unlink(res->path[1]);
			rmdir(res->tmpdir);
		}
	} else if (o->core_b) {
		res->label[0] = "a";
		res->label[1] = "b";
		res->path[0] = strdup(o->core_a);
		res->path[1] = strdup(o->core_b);
		if (!res->path[0] || !res->path[1]) {
			r = lg_fail(err, ENOMEM, "lcorecheck");
			goto out;
		}
		r = diff_paths(o, res, err);
	} else {
		res->nviews = 1;
		res->label[0] = "core";
		res->path[0] = strdup(o->core_a);
		if (!res->path[0]) {
			r = lg_fail(err, ENOMEM, "lcorecheck");
			goto out;
		}
		r = lg_check_validate(&res->v[0], o->core_a, o->exe, "", &res->checks, err);
	}
	if (!o->pid)
		digest_inputs(o, res);
	if (r == 0 && res->checks.oom)
		r = lg_failx(err, ENOMEM, "out of memory while checking");
out:
	return r;
}

void lg_check_result_free(struct lg_check_result *res)
{
	lg_check_list_free(&res->checks);
	for (int i = 0; i < 2; i++) {
		lg_core_view_free(&res->v[i]);
		free(res->path[i]);
		free(res->tool_version[i]);
	}
	lg_memdiffs_free(&res->mem);
	free(res->tmpdir);
	for (size_t i = 0; i < res->nmessages; i++)
		free(res->messages[i]);
	free(res->messages);
	memset(res, 0, sizeof(*res));
}
