/* Stop every thread with PTRACE_SEIZE + PTRACE_INTERRUPT (no signal is sent,
 * and a thread resumes by itself if we die), and release them as they were. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arch.h"
#include "proc/proc.h"
#include "ptrace/ptrace.h"
#include "common/grow.h"

#ifndef PTRACE_EVENT_STOP
# define PTRACE_EVENT_STOP 128
#endif

static struct lg_thread *find(struct lg_tgroup *g, pid_t tid)
{
	size_t i;
	for (i = 0; i < g->n; i++)
		if (g->t[i].tid == tid)
			return &g->t[i];
	return NULL;
}

static void free_thread(struct lg_thread *t)
{
	size_t i;
	lg_buf_free(&t->gregs);
	for (i = 0; i < LG_MAX_REGSETS; i++)
		lg_buf_free(&t->regsets[i]);
}

static void drop(struct lg_tgroup *g, size_t i)
{
	free_thread(&g->t[i]);
	memmove(&g->t[i], &g->t[i + 1], (g->n - i - 1) * sizeof(g->t[0]));
	g->n--;
}

/* A zombie or dead thread cannot stop; the leader of a group whose main
 * thread called pthread_exit stays a zombie while the others run. */
static bool thread_is_dead(pid_t pid, pid_t tid)
{
	struct lg_threadinfo ti;
	if (lg_threadinfo_read(pid, tid, false, &ti, NULL))
		return true;
	return ti.state == 'Z' || ti.state == 'X';
}

/* The ppid field of /proc/PID/stat, or -1. */
static pid_t parent_of(pid_t pid)
{
	struct lg_buf b = { 0 };
	char path[64], *p;
	int ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!lg_read_file(path, &b) && (p = strrchr((char *)b.p, ')')) &&
	    sscanf(p + 1, " %*c %d", &ppid) != 1)
		ppid = -1;
	lg_buf_free(&b);
	return (pid_t)ppid;
}

void lg_ptrace_explain_eperm(pid_t pid, char *buf, size_t len)
{
	char path[64], val[32];
	struct lg_buf b = { 0 };
	pid_t tracer = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!lg_read_file(path, &b) && !lg_status_field((char *)b.p, "TracerPid", val, sizeof(val)))
		tracer = atoi(val);
	lg_buf_free(&b);
	if (tracer)
		snprintf(buf, len, "already traced by another debugger (pid %d)", (int)tracer);
	else
		snprintf(buf, len, "permission denied (not ours to ptrace)");
}

/* Wait for T's first stop after our interrupt.  Returns 1 if stopped, 0 if
 * the thread is gone, -errno (ESRCH: the process exited). */
static int wait_stop(struct lg_tgroup *g, struct lg_thread *t, struct lg_error *err)
{
	int status, r;

	for (;;) {
		if ((r = lg_ptrace_wait(g, t, &status, err)) <= 0)
			return r;
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			/* Interrupt stop (SIGTRAP) or a group-stop reported as
			 * an event stop: the process was stopped before us. */
			int sig = WSTOPSIG(status);
			t->group_stop = sig == SIGSTOP || sig == SIGTSTP ||
					sig == SIGTTIN || sig == SIGTTOU;
			return 1;
		}
		if ((status >> 16) == 0) {
			/* A signal arrived before our interrupt: keep it and
			 * hand it back at release, or it would be lost. */
			t->resume_sig = WSTOPSIG(status);
			ptrace(PTRACE_GETSIGINFO, t->tid, 0, t->siginfo);
			return 1;
		}
		/* Another event we did not ask for: let it go and wait again. */
		if (ptrace(PTRACE_CONT, t->tid, 0, 0) < 0 && errno == ESRCH)
			t->gone = true;
	}
}

int lg_ptrace_stop_all(pid_t pid, unsigned long options, struct lg_tgroup *g,
		       struct lg_error *err)
{
	struct lg_stop_opts o = { options, 0 };
	return lg_ptrace_stop_all_opts(pid, &o, g, err);
}

int lg_ptrace_stop_all_opts(pid_t pid, const struct lg_stop_opts *o, struct lg_tgroup *g,
			    struct lg_error *err)
{
	unsigned long options = o->ptrace_options;
	pid_t *tids = NULL;
	size_t ntids, i, first_new;
	int r = 0;
	bool found_new;

	memset(g, 0, sizeof(*g));
	g->pid = pid;
	g->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : LG_PTRACE_TIMEOUT_MS;
	g->parent_is_us = parent_of(pid) == getpid();
	do {
		found_new = false;
		free(tids);
		tids = NULL;
		if ((r = lg_tasks_list(pid, &tids, &ntids, err))) {
			if (r == -ENOENT)
				r = lg_failx(err, ESRCH, "no such process");
			goto fail;
		}
		if (ntids == 0 && g->n == 0) {
			r = lg_failx(err, ESRCH, "no such process");
			goto fail;
		}
		first_new = g->n;
		for (i = 0; i < ntids; i++) {
			struct lg_thread *t;
			if (find(g, tids[i]))
				continue;
			if (thread_is_dead(pid, tids[i]))
				continue;
			if (ptrace(PTRACE_SEIZE, tids[i], 0, options) < 0) {
				char why[128];
				if (errno == ESRCH || (errno == EPERM && thread_is_dead(pid, tids[i])))
					continue;	/* exited since the listing (a zombie: EPERM) */
				if (errno == EPERM) {
					lg_ptrace_explain_eperm(pid, why, sizeof(why));
					r = lg_failx(err, EPERM, "%s", why);
				} else {
					r = lg_fail(err, errno, "cannot attach to thread %d", (int)tids[i]);
				}
				goto fail;
			}
			if (LG_GROW(g->t, g->cap, g->n + 1, 16)) {
				ptrace(PTRACE_DETACH, tids[i], 0, 0);
				r = lg_fail(err, ENOMEM, "attaching");
				goto fail;
			}
			t = &g->t[g->n++];
			memset(t, 0, sizeof(*t));
			t->tid = tids[i];
			if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0 && errno != ESRCH) {
				r = lg_fail(err, errno, "cannot stop thread %d", (int)t->tid);
				goto fail;
			}
			found_new = true;
		}
		/* Once every listed thread is stopped none can clone, so one
		 * more listing that finds nothing new means we have them all. */
		for (i = first_new; i < g->n;) {
			int s = g->t[i].gone ? 0 : wait_stop(g, &g->t[i], err);
			if (s < 0) {
				r = s;
				goto fail;
			}
			if (s == 0)
				drop(g, i);
			else
				i++;
		}
	} while (found_new);
	for (i = 0; i < g->n;)
		if (g->t[i].gone)
			drop(g, i);
		else
			i++;
	if (g->n == 0) {
		r = lg_failx(err, ESRCH, "no such process (it exited)");
		goto fail;
	}
	/* Readers take the first thread as the current one: the leader, even
	 * when tids wrapped around and a later thread got a smaller one. */
	for (i = 1; i < g->n; i++)
		if (g->t[i].tid == pid) {
			struct lg_thread t = g->t[i];
			memmove(&g->t[1], &g->t[0], i * sizeof(t));
			g->t[0] = t;
		}
	free(tids);
	return 0;
fail:
	free(tids);
	lg_ptrace_release_all(g, NULL);
	lg_tgroup_free(g);
	return r;
}

int lg_ptrace_release_all(struct lg_tgroup *g, struct lg_error *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < g->n; i++) {
		struct lg_thread *t = &g->t[i];
		if (t->tid <= 0 || t->gone)
			continue;
		if (ptrace(PTRACE_DETACH, t->tid, 0, (long)t->resume_sig) < 0) {
			int e = errno, status;
			/* ESRCH also means "not stopped": a thread still
			 * running after a deadline passed.  Every state we
			 * leave a thread in is one it can resume from, so
			 * catch it at its next stop and let it go there. */
			if (e == ESRCH && !t->gone && lg_ptrace_wait(g, t, &status, NULL) == 1 &&
			    ptrace(PTRACE_DETACH, t->tid, 0, (long)t->resume_sig) == 0)
				e = 0;
			if (e && e != ESRCH && !r)
				r = lg_fail(err, e, "cannot release thread %d", (int)t->tid);
		}
		t->resume_sig = 0;
	}
	return r;
}

int lg_ptrace_get_regs(struct lg_thread *t, struct lg_error *err)
{
	struct iovec iov;
	size_t i;
	int r;

	if ((r = lg_buf_reserve(&t->gregs, lg_arch_gregs_size)))
		return lg_fail(err, -r, "registers");
	iov.iov_base = t->gregs.p;
	iov.iov_len = lg_arch_gregs_size;
	if (ptrace(PTRACE_GETREGSET, t->tid, (void *)(uintptr_t)NT_PRSTATUS, &iov) < 0)
		return lg_fail(err, errno, "cannot read registers of thread %d", (int)t->tid);
	t->gregs.len = iov.iov_len;

	for (i = 0; i < lg_arch_nregsets && i < LG_MAX_REGSETS; i++) {
		struct lg_buf *b = &t->regsets[i];
		b->len = 0;
		if ((r = lg_buf_reserve(b, lg_arch_regsets[i].max_size)))
			return lg_fail(err, -r, "registers");
		memset(b->p, 0, lg_arch_regsets[i].max_size);
		iov.iov_base = b->p;
		iov.iov_len = lg_arch_regsets[i].max_size;
		if (ptrace(PTRACE_GETREGSET, t->tid,
			   (void *)(uintptr_t)lg_arch_regsets[i].note_type, &iov) < 0) {
			/* The CPU or kernel lacks this set: no note, as the kernel does. */
			if (errno == EINVAL || errno == ENODEV || errno == EIO)
				continue;
			return lg_fail(err, errno, "cannot read registers of thread %d", (int)t->tid);
		}
		b->len = iov.iov_len;
	}
	return 0;
}

void lg_tgroup_free(struct lg_tgroup *g)
{
	size_t i;
	for (i = 0; i < g->n; i++)
		free_thread(&g->t[i]);
	free(g->t);
	g->t = NULL;
	g->n = g->cap = 0;
}
