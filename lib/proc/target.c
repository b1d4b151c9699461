/* What a process id must be before lgcore stops anything, and whether the
 * memory a failed dump was copying was replaced by an execve(2). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "proc/proc.h"

/* PF_KTHREAD in the flags field of /proc/PID/stat (include/linux/sched.h,
 * 0x00200000 since Linux 2.6.27, unchanged through 6.x). */
#define LG_PF_KTHREAD 0x00200000ul

/* Fields of /proc/PID/stat after "(comm)": F3 is the state, F9 the task
 * flags, F22 the start time.  Returns 0 or -errno. */
static int stat_fields(pid_t pid, char *state, unsigned long *flags, unsigned long long *start)
{
	struct lg_buf b = { 0 };
	char path[64], *p;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((r = lg_read_file(path, &b)))
		return r;
	p = strrchr((char *)b.p, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 state, flags, start) != 3)
		r = -EINVAL;
	lg_buf_free(&b);
	return r;
}

static void read_comm(pid_t pid, char *comm, size_t len)
{
	struct lg_buf b = { 0 };
	char path[64];
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	comm[0] = 0;
	if (lg_read_file(path, &b))
		return;
	n = b.len && b.p[b.len - 1] == '\n' ? b.len - 1 : b.len;
	if (n >= len)
		n = len - 1;
	memcpy(comm, b.p, n);
	comm[n] = 0;
	lg_buf_free(&b);
}

/* Why /proc/PID/auxv (PTRACE_MODE_READ, as every /proc file lgcore needs)
 * is refused: another user's process, or one that is not dumpable. */
static int explain_eacces(pid_t pid, const char *comm, struct lg_error *err)
{
	struct lg_buf b = { 0 };
	char path[64], uids[96] = "";
	unsigned r_, e_, s_, f_;
	uid_t me = geteuid();
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!lg_read_file(path, &b))
		lg_status_field((char *)b.p, "Uid", uids, sizeof(uids));
	lg_buf_free(&b);
	if (sscanf(uids, "%u %u %u %u", &r_, &e_, &s_, &f_) == 4 && (r_ != me || e_ != me || s_ != me))
		r = lg_failx(err, EPERM,
			     "permission denied: process %d (%s) belongs to uid %u, lgcore runs as uid %u "
			     "(another user's process needs root or CAP_SYS_PTRACE)",
			     (int)pid, comm, r_, (unsigned)me);
	else
		r = lg_failx(err, EPERM,
			     "permission denied: process %d (%s) is not dumpable (set-user-ID, file "
			     "capabilities or prctl(PR_SET_DUMPABLE, 0)): it needs root or CAP_SYS_PTRACE",
			     (int)pid, comm);
	return r;
}

int lg_target_check(pid_t pid, struct lg_error *err)
{
	unsigned long long start;
	unsigned long flags;
	char state, comm[32], path[64];
	int fd, r;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH) || stat_fields(pid, &state, &flags, &start) == -ENOENT)
		return lg_failx(err, ESRCH, "no such process");
	read_comm(pid, comm, sizeof(comm));
	/* Tracing ourselves is impossible and stopping ourselves would
	 * never end; a thread id of ours is the same process. */
	if (pid == getpid())
		return lg_failx(err, EINVAL, "process %d is lgcore itself: it cannot dump itself", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	{
		struct lg_buf b = { 0 };
		char tgid[32];
		if (!lg_read_file(path, &b) && !lg_status_field((char *)b.p, "Tgid", tgid, sizeof(tgid)) &&
		    atoi(tgid) == (int)getpid()) {
			lg_buf_free(&b);
			return lg_failx(err, EINVAL, "process %d is a thread of lgcore itself: it cannot dump itself",
					(int)pid);
		}
		lg_buf_free(&b);
	}
	if (!stat_fields(pid, &state, &flags, &start) && (flags & LG_PF_KTHREAD))
		return lg_failx(err, EINVAL, "process %d (%s) is a kernel thread: it has no user memory to dump",
				(int)pid, comm);
	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		if (r == EACCES || r == EPERM)
			return explain_eacces(pid, comm, err);
		/* The leader's /proc files that need its mm answer ESRCH once
		 * it has exited, even while other threads run on. */
		if (r == ESRCH && (state == 'Z' || state == 'X'))
			return lg_failx(err, ESRCH,
					"the main thread of process %d (%s) has exited: its /proc files "
					"(auxv, maps) are gone, so it cannot be dumped", (int)pid, comm);
		return r == ENOENT ? lg_failx(err, ESRCH, "no such process") : lg_fail(err, r, "cannot open %s", path);
	}
	close(fd);
	return 0;
}

void lg_target_mm_open(struct lg_target_mm *m, pid_t pid)
{
	char path[64], state;
	unsigned long flags;

	m->pid = pid;
	m->start = 0;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	/* The open file holds the mm it was opened on (proc_mem_open()),
	 * not whichever the process has later. */
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd >= 0 && stat_fields(pid, &state, &flags, &m->start)) {
		close(m->fd);
		m->fd = -1;
	}
}

bool lg_target_mm_replaced(const struct lg_target_mm *m)
{
	unsigned long long start;
	unsigned long flags;
	uint64_t e;
	ssize_t n;
	char state;

	if (m->fd < 0)
		return false;
	/* pagemap_read() reads nothing (6.18; ESRCH in some kernels) once
	 * the mm it holds has no users (mmget_not_zero() fails): after an
	 * execve, or the process's exit; a live mm has an entry for page 0.
	 * The same process (same start time), alive, means an execve. */
	n = pread(m->fd, &e, sizeof(e), 0);
	if (n == (ssize_t)sizeof(e) || (n < 0 && errno != ESRCH))
		return false;
	return !stat_fields(m->pid, &state, &flags, &start) && start == m->start && state != 'Z' &&
	       state != 'X';
}

void lg_target_mm_close(struct lg_target_mm *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}
