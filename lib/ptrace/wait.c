/* Waiting for a tracee with a deadline, and without the hang a dying
 * thread group can cause.
 *
 * A traced thread that dies stays a zombie until its tracer reaps it, and
 * a dying leader is reported only once every other thread of its group has
 * been reaped (kernel/exit.c: delay_group_leader, wait_task_zombie).  A
 * tracer that waits on the leader alone while its siblings die therefore
 * waits forever, and so does the target's parent.  So while one thread is
 * awaited, the others are looked at too: their exits are reaped, their
 * stops kept for later.  Waiting is driven by SIGCHLD, which the kernel
 * sends the tracer for every stop and exit of a tracee (do_notify_parent,
 * do_notify_parent_cldstop), taken with sigtimedwait() so that the wait
 * has a deadline. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "common/clock.h"
#include "proc/proc.h"
#include "ptrace/ptrace.h"

/* How long the awaited thread may stay silent before the others are
 * looked at (reaping them is what unblocks a dying leader). */
#define SCAN_AFTER_NS (2 * 1000 * 1000ull)

#define PF_EXITING 0x00000004	/* include/linux/sched.h: in do_exit() */

/* State letter and flags of one thread (fields 3 and 9 of its stat);
 * '?' when it is gone. */
static char thread_state(pid_t pid, pid_t tid, unsigned long *flags)
{
	char path[64], buf[512], *p;
	unsigned long f = 0;
	char st = '?';
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (!(fp = fopen(path, "re")))
		return '?';
	if (fgets(buf, sizeof(buf), fp) && (p = strrchr(buf, ')')) &&
	    sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &st, &f) == 2)
		*flags = f;
	fclose(fp);
	return st;
}

/* Does a thread of PID live on, one neither dead nor on its way out? */
static bool group_alive(pid_t pid)
{
	pid_t *tids = NULL;
	size_t n = 0, i;
	bool alive = false;

	if (lg_tasks_list(pid, &tids, &n, NULL))
		return false;
	for (i = 0; i < n && !alive; i++) {
		unsigned long flags = 0;
		char st = thread_state(pid, tids[i], &flags);
		struct lg_threadinfo ti;
		alive = st != '?' && st != 'Z' && st != 'X' && !(flags & PF_EXITING);
		/* A group exit (exit_group, a fatal signal) puts SIGKILL in
		 * every thread's own pending set (zap_other_threads,
		 * complete_signal) before they run to do_exit(). */
		if (alive && !lg_threadinfo_read(pid, tids[i], false, &ti, NULL) &&
		    (ti.sigpend & (1ull << (SIGKILL - 1))))
			alive = false;
	}
	free(tids);
	return alive;
}

/* One non-blocking look at T: 1 with *STATUS (kept or fresh), 0 nothing,
 * -ESRCH if it is gone (and reaped).  waitid() is asked for stops and for
 * exits apart, so that the exit of a leader whose parent we also are is
 * seen without taking its status from the parent's own wait (WNOWAIT). */
static int peek(struct lg_tgroup *g, struct lg_thread *t, int *status)
{
	siginfo_t si;
	int flags;

	if (t->gone)
		return -ESRCH;
	if (t->has_status) {
		*status = t->status;
		t->has_status = false;
		return 1;
	}
	memset(&si, 0, sizeof(si));
	/* For a zombie tracee a query of stops alone fails with ECHILD
	 * (kernel/exit.c: wait_consider_task): ask for its exit next. */
	if (waitid(P_PID, (id_t)t->tid, &si, WSTOPPED | WNOHANG | __WALL) < 0 && errno == EINTR)
		return 0;
	if (si.si_pid == t->tid) {
		/* waitpid's encoding: the stop signal and the ptrace event
		 * (si_status holds both, as the kernel's exit_code). */
		*status = (si.si_status << 8) | 0x7f;
		return 1;
	}
	flags = WEXITED | WNOHANG | __WALL;
	if (t->tid == g->pid && g->parent_is_us)
		flags |= WNOWAIT;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)t->tid, &si, flags) < 0) {
		if (errno == EINTR)
			return 0;
		/* ECHILD: no longer ours (reaped, or detached by exit). */
		t->gone = true;
		return -ESRCH;
	}
	if (si.si_pid != t->tid)
		return 0;
	if (si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED) {
		/* A tracee's stops are reported even when only exits are
		 * asked for (wait_task_stopped checks WUNTRACED only for
		 * children that are not traced): one came between the two
		 * queries.  With WNOWAIT it is still pending. */
		if (flags & WNOWAIT)
			return 0;
		*status = (si.si_status << 8) | 0x7f;
		return 1;
	}
	t->gone = true;
	return -ESRCH;
}

/* Reap the exits of T's siblings, keep their stops. */
static void scan_others(struct lg_tgroup *g, struct lg_thread *t)
{
	size_t i;
	for (i = 0; i < g->n; i++) {
		struct lg_thread *u = &g->t[i];
		int s;
		if (u == t || u->gone || u->has_status || u->tid <= 0)
			continue;
		if (peek(g, u, &s) == 1) {
			u->status = s;
			u->has_status = true;
		}
	}
}

static bool all_gone(const struct lg_tgroup *g)
{
	size_t i;
	for (i = 0; i < g->n; i++)
		if (!g->t[i].gone && g->t[i].tid > 0)
			return false;
	return true;
}

int lg_ptrace_wait(struct lg_tgroup *g, struct lg_thread *t, int *status, struct lg_error *err)
{
	uint64_t start = lg_now_ns(), deadline, next_scan;
	int timeout_ms = g->timeout_ms > 0 ? g->timeout_ms : LG_PTRACE_TIMEOUT_MS;
	bool dying = false;	/* the whole group is on its way out */
	sigset_t chld, old;
	int r;

	deadline = start + (uint64_t)timeout_ms * 1000000ull;
	next_scan = start + SCAN_AFTER_NS;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	for (;;) {
		uint64_t now, until;
		struct timespec ts;

		r = peek(g, t, status);
		if (r == 1)
			break;
		if (r < 0 && !dying) {
			/* Gone: a thread that exited alone, or the whole
			 * group going down. */
			if (group_alive(g->pid)) {
				r = 0;
				break;
			}
			dying = true;
		}
		now = lg_now_ns();
		if (dying || now >= next_scan) {
			/* Reap the siblings: a dying leader is reported only
			 * after them, and its parent cannot reap it before. */
			scan_others(g, t);
			if (!dying) {
				unsigned long flags = 0;
				char st = thread_state(g->pid, t->tid, &flags);
				bool alive = group_alive(g->pid);
				/* A leader that exited alone stays a zombie,
				 * reported only when the whole group is gone. */
				if ((st == 'Z' || st == 'X') && alive) {
					t->gone = true;
					r = 0;
					break;
				}
				dying = !alive;
			}
			if (dying && (peek(g, t, status), all_gone(g))) {
				g->exited = true;
				r = lg_failx(err, ESRCH, "the process exited during the dump");
				break;
			}
			next_scan = now + (dying ? SCAN_AFTER_NS / 2 : SCAN_AFTER_NS);
		}
		if (now >= deadline && !dying) {
			/* A thread that is runnable and only waits for a CPU
			 * (a loaded machine) gets more time; one stuck in a
			 * sleep does not.  So does one already in its
			 * tracing stop ('t'): the kernel sets that state
			 * before it notifies the tracer (do_signal_stop,
			 * ptrace_stop), so its report is under way (seen
			 * under qemu TCG on 6.1: 't' at the deadline). */
			unsigned long flags = 0;
			char st = thread_state(g->pid, t->tid, &flags);
			if ((st == 'R' || st == 't') && now - start < 5ull * timeout_ms * 1000000ull)
				deadline = now + (uint64_t)timeout_ms * 1000000ull;
		}
		if (now >= deadline) {
			if (dying) {
				g->exited = true;
				r = lg_failx(err, ESRCH, "the process exited during the dump");
			} else {
				unsigned long flags = 0;
				r = lg_failx(err, ETIMEDOUT,
					     "thread %d did not stop within %d ms (state %c)",
					     (int)t->tid, timeout_ms, thread_state(g->pid, t->tid, &flags));
			}
			break;
		}
		until = next_scan < deadline ? next_scan : deadline;
		ts.tv_sec = (time_t)((until - now) / 1000000000ull);
		ts.tv_nsec = (long)((until - now) % 1000000000ull);
		sigtimedwait(&chld, NULL, &ts);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}
