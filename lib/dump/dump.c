/* Stop-and-copy: the whole dump with every thread stopped, as gcore does
 * it, and the assembly of notes and headers that every mode shares. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "dump/dump.h"

int lg_dump_finish(struct lg_core_file *file, struct lg_plan *p, const struct lg_procinfo *pi,
		   const struct lg_tgroup *g, struct lg_threadinfo *ti, struct lg_error *err)
{
	struct lg_buf notes = { 0 }, tail = { 0 };
	struct lg_move *moves = NULL;
	size_t nmoves = 0;
	Elf64_Ehdr eh;
	uint64_t tail_off;
	size_t i;
	int r;

	if ((r = lg_layout_contiguous_chains(&p->layout, &moves, &nmoves)))
		goto nomem;
	for (i = 0; i < nmoves; i++)
		if ((r = lg_core_file_move(file, moves[i].from, moves[i].to, moves[i].len, err)))
			goto out;
	tail_off = p->layout.data_end;

	if ((r = lg_note_prpsinfo(&notes, pi)))
		goto nomem;
	/* gdb, the Go tools and libunwind take the first thread as the
	 * current one: the leader comes first (g keeps it first). */
	for (i = 0; i < g->n; i++) {
		struct lg_thread_note tn = {
			.t = &g->t[i],
			.ti = ti ? &ti[i] : NULL,
			.pi = pi,
		};
		if ((r = lg_note_thread(&notes, &tn)))
			goto nomem;
	}
	if ((r = lg_note_auxv(&notes, pi)) || (r = lg_note_file(&notes, &p->maps)) ||
	    (r = lg_arch_process_notes(&notes)))
		goto nomem;
	if ((r = lg_layout_tail(&p->layout, &notes, tail_off, &tail, &eh)))
		goto nomem;
	r = lg_core_file_commit(file, &eh, &tail, tail_off, err);
	goto out;
nomem:
	r = lg_fail(err, -r, "building the notes");
out:
	free(moves);
	lg_buf_free(&notes);
	lg_buf_free(&tail);
	return r;
}

int lg_dump_stop(pid_t pid, const char *path, const struct lg_dump_opts *o,
		 struct lg_dump_result *res, struct lg_error *err)
{
	struct lg_core_file file;
	struct lg_tgroup g = { 0 };
	struct lg_procinfo pi = { 0 };
	struct lg_maps maps = { 0 };
	struct lg_plan plan = { 0 };
	struct lg_copier c = { 0 };
	struct lg_threadinfo *ti = NULL;
	struct lg_filter filter;
	bool stopped = false, have_file = false, have_copier = false, have_plan = false, have_pi = false;
	uint64_t t0 = lg_now_ns(), tstop = 0;
	size_t i;
	int r;

	memset(res, 0, sizeof(*res));
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH)) {
		r = lg_failx(err, ESRCH, "no such process");
		goto out;
	}
	/* The file first: a bad output path must not cost the target a stop. */
	if ((r = lg_core_file_create(&file, path, err)))
		goto out;
	have_file = true;
	if ((r = lg_copier_init(&c, pid, &file, err)))
		goto out;
	have_copier = true;

	/* Before the stop: it costs the target nothing here, and once
	 * stopped /proc shows every thread in tracing stop ('t'). */
	if ((r = lg_procinfo_read(pid, &pi, err))) {
		if (r == -ENOENT)
			r = lg_failx(err, ESRCH, "no such process");
		goto out;
	}
	have_pi = true;

	if ((r = lg_ptrace_stop_all(pid, 0, &g, err)))
		goto out;
	tstop = lg_now_ns();
	stopped = true;
	if ((r = lg_maps_read(pid, true, &maps, err)))
		goto out;
	filter.bits = pi.coredump_filter;
	filter.all = o->all;
	if ((r = lg_plan_build(&plan, &maps, &filter, &c.mem, err)))
		goto out;
	have_plan = true;

	ti = calloc(g.n ? g.n : 1, sizeof(*ti));
	if (!ti) {
		r = lg_fail(err, ENOMEM, "reading threads");
		goto out;
	}
	for (i = 0; i < g.n; i++) {
		if ((r = lg_ptrace_get_regs(&g.t[i], err)))
			goto out;
		if (lg_threadinfo_read(pid, g.t[i].tid, g.t[i].tid == pid, &ti[i], NULL))
			ti[i].tid = g.t[i].tid;	/* gone meanwhile: times stay 0 */
	}
	for (i = 0; i < plan.n; i++)
		if ((r = lg_copy_entry(&c, &plan, i, err)))
			goto out;

	r = lg_ptrace_release_all(&g, err);
	stopped = false;
	res->pause_ns = lg_now_ns() - tstop;
	if (r)
		goto out;

	if ((r = lg_dump_finish(&file, &plan, &pi, &g, ti, err)))
		goto out;
	have_file = false;	/* committed */
	res->threads = g.n;
	res->segments = plan.layout.n;
	res->bytes_read = c.bytes_read;
	res->bytes_written = file.bytes_written;
	res->unreadable = c.mem.unreadable;
	res->unreadable_maps = c.unreadable_maps;
out:
	if (stopped) {
		lg_ptrace_release_all(&g, NULL);
		res->pause_ns = lg_now_ns() - tstop;
	}
	if (have_file) {
		lg_core_file_abort(&file);
		lg_core_file_remove_stale(path);
	} else if (r) {
		lg_core_file_remove_stale(path);
	}
	if (have_copier)
		lg_copier_free(&c);
	if (have_plan)
		lg_plan_free(&plan);
	else
		lg_maps_free(&maps);
	if (have_pi)
		lg_procinfo_free(&pi);
	lg_tgroup_free(&g);
	free(ti);
	res->total_ns = lg_now_ns() - t0;
	return r;
}
