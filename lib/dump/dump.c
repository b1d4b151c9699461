/* Stop-and-copy: the whole dump with every thread stopped, as gcore does
 * it, and the stops that every mode makes. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "dump/dump.h"

int lg_dump_hold(struct lg_dump_hold *h, pid_t pid, unsigned long options, struct lg_error *err)
{
	int r;

	if ((r = lg_ptrace_stop_all(pid, options, &h->g, err)))
		return r;
	h->since_ns = lg_now_ns();
	h->held = true;
	return 0;
}

int lg_dump_setup_stop(struct lg_dump_hold *h, pid_t pid, unsigned long options,
		       const struct lg_procinfo *pi, const struct lg_maps *hint, bool all,
		       uint64_t zeros_budget, struct lg_mem *mem, struct lg_plan *p,
		       struct lg_error *err)
{
	unsigned long filter_bits;
	int r;

	if ((r = lg_dump_hold(h, pid, options, err)))
		return r;
	if (pi) {
		filter_bits = pi->coredump_filter;
	} else {
		struct lg_procinfo own = { 0 };
		if ((r = lg_procinfo_read(pid, &own, err)))
			return r;
		filter_bits = own.coredump_filter;
		lg_procinfo_free(&own);
	}
	return lg_plan_target(p, pid, filter_bits, all, zeros_budget, hint, mem, err);
}

int lg_dump_capture_threads(pid_t pid, struct lg_dump_hold *h, struct lg_threadinfo **tip,
			    struct lg_error *err)
{
	struct lg_tgroup *g = &h->g;
	struct lg_threadinfo *ti;
	size_t i;
	int r;

	ti = *tip = calloc(g->n + 1, sizeof(*ti));
	if (!ti)
		return lg_fail(err, ENOMEM, "reading threads");
	for (i = 0; i < g->n; i++) {
		if ((r = lg_ptrace_get_regs(&g->t[i], err)))
			return r;
		if (lg_threadinfo_read(pid, g->t[i].tid, g->t[i].tid == pid, &ti[i], NULL))
			ti[i].tid = g->t[i].tid;	/* gone meanwhile: times stay 0 */
	}
	return 0;
}

int lg_dump_release(struct lg_dump_hold *h, uint64_t *pause_ns, struct lg_error *err)
{
	int r;

	if (!h->held)
		return 0;
	r = lg_ptrace_release_all(&h->g, err);
	h->held = false;
	*pause_ns = lg_now_ns() - h->since_ns;
	return r;
}

/* The notes and headers first, then the memory in address order: the
 * kernel's order, which is the only one a pipe takes.  The process stays
 * stopped until the last byte is out, so the core is of one instant. */
static int stream_out(struct lg_copier *c, struct lg_stream *st, struct lg_plan *plan,
		      const struct lg_procinfo *pi, const struct lg_tgroup *g,
		      const struct lg_threadinfo *ti, struct lg_error *err)
{
	struct lg_buf notes = { 0 }, head = { 0 };
	size_t i;
	int r;

	if ((r = lg_note_core(&notes, pi, g, ti, &plan->maps)) ||
	    (r = lg_stream_layout(&plan->layout, &notes, &head))) {
		r = lg_fail(err, -r, "building the notes");
		goto out;
	}
	if ((r = lg_stream_put(st, 0, head.p, head.len, err)))
		goto out;
	for (i = 0; i < plan->n && !r; i++)
		r = lg_copy_entry(c, plan, i, err);
	if (!r)
		r = lg_stream_pad(st, plan->layout.data_end, err);
out:
	lg_buf_free(&notes);
	lg_buf_free(&head);
	return r;
}

/* Stop mode into PATH, or into FD as a stream when PATH is NULL. */
static int dump_stop(pid_t pid, const char *path, int fd, const struct lg_dump_opts *o,
		     struct lg_dump_result *res, struct lg_error *err)
{
	struct lg_core_file file;
	struct lg_stream st;
	struct lg_dump_hold h = { 0 };
	struct lg_procinfo pi = { 0 };
	struct lg_plan plan = { 0 };
	struct lg_copier c = { 0 };
	struct lg_threadinfo *ti = NULL;
	bool have_file = false, have_copier = false;
	uint64_t t0 = lg_now_ns();
	size_t i;
	int r;

	memset(res, 0, sizeof(*res));
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH)) {
		r = lg_failx(err, ESRCH, "no such process");
		goto out;
	}
	if (path) {
		/* The file first: a bad output path must not cost the target
		 * a stop. */
		if ((r = lg_core_file_create(&file, path, err)))
			goto out;
		have_file = true;
		r = lg_copier_init(&c, pid, &file, err);
	} else {
		lg_stream_init(&st, fd);
		r = lg_copier_init_stream(&c, pid, &st, err);
	}
	have_copier = true;
	if (r)
		goto out;
	c.progress = o->progress;

	/* Before the stop: it costs the target nothing here, and once
	 * stopped /proc shows every thread in tracing stop ('t'). */
	if ((r = lg_procinfo_read(pid, &pi, err))) {
		if (r == -ENOENT)
			r = lg_failx(err, ESRCH, "no such process");
		goto out;
	}

	if ((r = lg_dump_setup_stop(&h, pid, 0, &pi, NULL, o->all,
				    path ? 0 : LG_FILTER_STREAM_ZEROS_BUDGET, &c.mem, &plan, err)) ||
	    (r = lg_dump_capture_threads(pid, &h, &ti, err)))
		goto out;
	/* Stopped throughout: a long stop, which the progress may show. */
	lg_progress_begin(o->progress, LG_PHASE_STOPPED, -1, lg_plan_bytes(&plan));
	lg_progress_stopped(o->progress, h.since_ns, false);
	if (!path) {
		if ((r = stream_out(&c, &st, &plan, &pi, &h.g, ti, err)))
			goto out;
		res->bytes_written = st.off;
	}
	for (i = 0; path && i < plan.n; i++)
		if ((r = lg_copy_entry(&c, &plan, i, err)))
			goto out;
	lg_progress_end(o->progress);
	r = lg_dump_release(&h, &res->pause_ns, err);
	lg_progress_resumed(o->progress, res->pause_ns);
	if (r)
		goto out;

	if (path) {
		lg_progress_begin(o->progress, LG_PHASE_FINISH, -1, 0);
		if ((r = lg_core_file_finish(&file, &plan.layout, &plan.maps, &pi, &h.g, ti, err)))
			goto out;
		have_file = false;	/* committed */
		res->bytes_written = file.bytes_written;
	}
	res->threads = h.g.n;
	res->segments = plan.layout.n;
	res->bytes_read = c.bytes_read;
	res->unreadable = c.mem.unreadable;
	res->unreadable_maps = c.unreadable_maps;
out:
	if (h.held) {
		lg_dump_release(&h, &res->pause_ns, NULL);
		lg_progress_resumed(o->progress, res->pause_ns);
	}
	if (have_file) {
		lg_core_file_abort(&file);
		lg_core_file_remove_stale(path);
	} else if (r && path) {
		lg_core_file_remove_stale(path);
	}
	if (have_copier)
		lg_copier_free(&c);
	lg_plan_free(&plan);
	lg_procinfo_free(&pi);
	lg_tgroup_free(&h.g);
	free(ti);
	res->total_ns = lg_now_ns() - t0;
	return r;
}

int lg_dump_stop(pid_t pid, const char *path, const struct lg_dump_opts *o,
		 struct lg_dump_result *res, struct lg_error *err)
{
	return dump_stop(pid, path, -1, o, res, err);
}

int lg_dump_stop_stream(pid_t pid, int fd, const struct lg_dump_opts *o,
			struct lg_dump_result *res, struct lg_error *err)
{
	return dump_stop(pid, NULL, fd, o, res, err);
}
