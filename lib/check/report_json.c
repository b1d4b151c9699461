/* The --json report.  Schema version LG_CHECK_JSON_SCHEMA; bump it when a
 * field changes meaning or disappears (adding fields keeps the version). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <elfutils/libdwfl.h>
#include <libunwind.h>

#include "common/json.h"
#include "check/lcorecheck.h"

int lg_check_write_json(const struct lg_check_result *res, const struct lg_check_opts *o,
			const char *path, struct lg_error *err)
{
	struct lg_buf out = { 0 };
	struct lg_json j;
	char buf[64];
	FILE *f;
	int r = 0;

	lg_json_init(&j, &out);
	lg_json_begin_object(&j, NULL);
	lg_json_uint(&j, "schema", LG_CHECK_JSON_SCHEMA);
	lg_json_string(&j, "mode", o->pid ? "against-gcore" : res->nviews == 2 ? "diff" : "validate");
	lg_json_bool(&j, "strict", o->strict);
	lg_json_begin_object(&j, "tools");
	lg_json_string(&j, "lcorecheck", PACKAGE_VERSION);
	lg_json_string(&j, "libdw", dwfl_version(NULL));
	snprintf(buf, sizeof(buf), "%d.%d.%d", UNW_VERSION_MAJOR, UNW_VERSION_MINOR, UNW_VERSION_EXTRA);
	lg_json_string(&j, "libunwind", buf);
	if (res->tool_version[0])
		lg_json_string(&j, "gdb", res->tool_version[0]);
	if (res->tool_version[1])
		lg_json_string(&j, "lgcore", res->tool_version[1]);
	lg_json_end_object(&j);
	if (o->pid)
		lg_json_int(&j, "pid", o->pid);
	lg_json_begin_array(&j, "inputs");
	for (int i = 0; i < res->nviews; i++) {
		lg_json_begin_object(&j, NULL);
		lg_json_string(&j, "label", res->label[i]);
		lg_json_string(&j, "path", res->path[i]);
		if (res->sha256[i][0]) {
			lg_json_uint(&j, "size", res->size[i]);
			lg_json_string(&j, "sha256", res->sha256[i]);
		}
		lg_json_end_object(&j);
	}
	lg_json_end_array(&j);
	lg_json_begin_object(&j, "summary");
	lg_json_string(&j, "status", lg_check_count(&res->checks, LG_CHECK_FAIL) ? "fail" : "ok");
	for (int s = LG_CHECK_PASS; s <= LG_CHECK_SKIP; s++)
		lg_json_uint(&j, lg_check_status_name(s), lg_check_count(&res->checks, s));
	lg_json_end_object(&j);
	lg_json_begin_array(&j, "checks");
	for (size_t i = 0; i < res->checks.n; i++) {
		lg_json_begin_object(&j, NULL);
		lg_json_string(&j, "id", res->checks.v[i].id);
		lg_json_string(&j, "status", lg_check_status_name(res->checks.v[i].status));
		lg_json_string(&j, "detail", res->checks.v[i].detail);
		lg_json_end_object(&j);
	}
	lg_json_end_array(&j);
	lg_json_begin_array(&j, "modules");
	for (int v = 0; v < res->nviews; v++)
		for (size_t i = 0; i < res->v[v].mods.n; i++) {
			const struct lg_module *m = &res->v[v].mods.v[i];
			lg_json_begin_object(&j, NULL);
			lg_json_string(&j, "input", res->label[v]);
			lg_json_string(&j, "name", m->name);
			lg_json_hex(&j, "start", m->start);
			lg_json_hex(&j, "end", m->end);
			lg_json_string(&j, "build_id", m->build_id[0] ? m->build_id : NULL);
			lg_json_end_object(&j);
		}
	lg_json_end_array(&j);
	lg_json_begin_array(&j, "backtraces");
	for (int v = 0; v < res->nviews; v++)
		for (int k = 0; k < 2; k++) {
			const struct lg_backtrace *b = &res->v[v].bt[k];
			if (!b->unwinder)
				continue;
			lg_json_begin_object(&j, NULL);
			lg_json_string(&j, "input", res->label[v]);
			lg_json_string(&j, "unwinder", b->unwinder);
			lg_json_string(&j, "error", b->error);
			lg_json_begin_array(&j, "threads");
			for (size_t t = 0; t < b->n; t++) {
				lg_json_begin_object(&j, NULL);
				lg_json_int(&j, "tid", b->t[t].tid);
				lg_json_string(&j, "error", b->t[t].error);
				lg_json_begin_array(&j, "frames");
				for (size_t i = 0; i < b->t[t].n; i++) {
					const struct lg_frame *fr = &b->t[t].f[i];
					lg_json_begin_object(&j, NULL);
					lg_json_hex(&j, "pc", fr->pc);
					lg_json_bool(&j, "activation", fr->activation);
					lg_json_string(&j, "function", fr->name);
					lg_json_string(&j, "module", fr->module);
					lg_json_end_object(&j);
				}
				lg_json_end_array(&j);
				lg_json_end_object(&j);
			}
			lg_json_end_array(&j);
			lg_json_end_object(&j);
		}
	lg_json_end_array(&j);
	lg_json_begin_object(&j, "memory_differences");
	lg_json_uint(&j, "pages", res->mem.total);
	lg_json_begin_array(&j, "listed");
	for (size_t i = 0; i < res->mem.n; i++) {
		const struct lg_memdiff *d = &res->mem.v[i];
		lg_json_begin_object(&j, NULL);
		lg_json_hex(&j, "page", d->page);
		lg_json_hex(&j, "first", d->first);
		lg_json_uint(&j, "bytes", d->nbytes);
		lg_json_uint(&j, "a", d->a);
		lg_json_uint(&j, "b", d->b);
		lg_json_bool(&j, "expected", d->expected);
		lg_json_end_object(&j);
	}
	lg_json_end_array(&j);
	lg_json_end_object(&j);
	lg_json_end_object(&j);
	if ((r = lg_json_finish(&j))) {
		lg_buf_free(&out);
		return lg_fail(err, -r, "building the JSON report");
	}
	f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	if (!f) {
		lg_buf_free(&out);
		return lg_fail(err, errno, "cannot write %s", path);
	}
	if (fwrite(out.p, 1, out.len, f) != out.len)
		r = lg_fail(err, errno, "cannot write %s", path);
	lg_buf_free(&out);
	if (f != stdout) {
		if (fclose(f) != 0 && !r)
			r = lg_fail(err, errno, "cannot write %s", path);
	} else if (fflush(f) != 0 && !r) {
		r = lg_fail(err, errno, "cannot write the JSON report");
	}
	return r;
}
