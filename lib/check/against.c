/* --against-gcore: dump one stopped process with gdb's gcore and with
 * lgcore, then put it back exactly as it was.  Two gcores of a process
 * stopped by SIGSTOP have byte-identical memory (none of its threads runs
 * in between), so every remaining difference is the writers'. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check/lcorecheck.h"
#include "common/buf.h"
#include "proc/proc.h"

/* A gcore of a large process takes about a second per GiB. */
#define RUN_TIMEOUT_MS (600 * 1000)

/* The process state letter from /proc/PID/stat, or 0 when there is no
 * such process (any more). */
static char proc_state(int pid)
{
	char state = 0;

	if (lg_proc_state(pid, &state) < 0)
		return 0;
	return state;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Run ARGV with stdout+stderr captured into OUT; returns the wait status,
 * or -errno when it could not run or timed out (then it is killed). */
static int run_capture(char *const argv[], struct lg_buf *out)
{
	int pfd[2], status = 0, r;
	pid_t child;
	int waited = 0;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (child == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		char buf[4096];
		ssize_t n;
		int pr = poll(&p, 1, 100);
		if (pr > 0) {
			n = read(pfd[0], buf, sizeof(buf));
			if (n > 0) {
				/* Keep the output bounded; the tail matters least. */
				if (out->len < (1 << 20))
					lg_buf_append(out, buf, n);
				continue;
			}
			if (n == 0 || errno != EINTR)
				break;
		}
		waited += 100;
		if (waited > RUN_TIMEOUT_MS) {
			kill(child, SIGKILL);
			break;
		}
	}
	close(pfd[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	lg_buf_append(out, "", 1);
	out->len--;
	if (waited > RUN_TIMEOUT_MS)
		return -ETIMEDOUT;
	return status;
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *e = strchrnul(path, ':');
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - path), path, prog);
		if (access(buf, X_OK) == 0)
			return true;
		path = *e ? e + 1 : e;
	}
	return false;
}

static char *first_line(const struct lg_buf *b)
{
	const char *s = b->p ? (const char *)b->p : "";
	return strndup(s, strcspn(s, "\n"));
}

/* The last line of the tool's output, for error messages. */
static const char *last_line(struct lg_buf *b)
{
	char *s = b->p ? (char *)b->p : (char *)"";
	size_t n = strlen(s);
	while (n && s[n - 1] == '\n')
		s[--n] = 0;
	char *nl = strrchr(s, '\n');
	return nl ? nl + 1 : s;
}

int lg_check_take_cores(const struct lg_check_opts *o, struct lg_check_result *res,
			struct lg_error *err)
{
	const char *gcore = getenv("GCORE"), *lgcore = getenv("LGCORE");
	const char *dir = o->dir ? o->dir : getenv("TMPDIR");
	char self[PATH_MAX], deflg[PATH_MAX + 16], prefix[2][PATH_MAX + 32];
	struct lg_buf out = { 0 };
	bool stopped_by_us = false;
	char state;
	int r = 0, st;
	ssize_t n;

	if (!gcore || !*gcore)
		gcore = "gcore";
	if (!dir || !*dir)
		dir = "/tmp";
	if (!lgcore || !*lgcore) {
		/* The lgcore built or installed next to this lcorecheck. */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			r = lg_fail(err, errno, "cannot find lgcore (set LGCORE)");
			goto out;
		}
		self[n] = 0;
		*strrchr(self, '/') = 0;
		snprintf(deflg, sizeof(deflg), "%s/lgcore", self);
		lgcore = deflg;
	}
	if (!in_path(gcore)) {
		r = lg_failx(err, ENOENT, "%s not found: --against-gcore needs gdb's gcore (apt-get install gdb)", gcore);
		goto out;
	}
	if (!in_path("gdb")) {
		r = lg_failx(err, ENOENT, "gdb not found: --against-gcore needs gdb (apt-get install gdb)");
		goto out;
	}
	{
		char *av[] = { (char *)lgcore, (char *)"--version", NULL };
		st = run_capture(av, &out);
		if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			r = lg_failx(err, ENOENT, "%s --version failed: not a usable lgcore (set LGCORE)", lgcore);
			goto out;
		}
		res->tool_version[1] = first_line(&out);
		out.len = 0;
		char *gv[] = { (char *)"gdb", (char *)"--version", NULL };
		st = run_capture(gv, &out);
		if (st >= 0)
			res->tool_version[0] = first_line(&out);
		out.len = 0;
	}
	state = proc_state(o->pid);
	if (!state || kill(o->pid, 0) < 0) {
		r = lg_failx(err, ESRCH, "no process %d", o->pid);
		goto out;
	}
	if (asprintf(&res->tmpdir, "%s/lcorecheck.XXXXXX", dir) < 0) {
		res->tmpdir = NULL;
		r = lg_fail(err, ENOMEM, "lcorecheck");
		goto out;
	}
	if (!mkdtemp(res->tmpdir)) {
		r = lg_fail(err, errno, "cannot create a directory in %s", dir);
		goto out;
	}
	snprintf(prefix[0], sizeof(prefix[0]), "%s/gcore", res->tmpdir);
	snprintf(prefix[1], sizeof(prefix[1]), "%s/lgcore", res->tmpdir);
	if (asprintf(&res->path[0], "%s.%d", prefix[0], o->pid) < 0 ||
	    asprintf(&res->path[1], "%s.%d", prefix[1], o->pid) < 0) {
		r = lg_fail(err, ENOMEM, "lcorecheck");
		goto out;
	}
	/* A stopped process stays put between the two dumps; gdb leaves a
	 * stopped process stopped, so only we resume it, and only if we
	 * stopped it. */
	if (state != 'T' && state != 't') {
		if (kill(o->pid, SIGSTOP) < 0) {
			r = lg_fail(err, errno, "cannot stop process %d", o->pid);
			goto out;
		}
		stopped_by_us = true;
		for (int i = 0; i < 500 && proc_state(o->pid) != 'T'; i++)
			sleep_ms(10);
	}
	{
		/* lgcore first: gdb's breakpoint in ld.so leaves pages
		 * copy-on-write that later dumps see (an expected row). */
		char pidstr[16];
		char **av = calloc(o->lgcore_argc + 5, sizeof(*av));
		int k = 0;
		snprintf(pidstr, sizeof(pidstr), "%d", o->pid);
		if (!av) {
			r = lg_fail(err, ENOMEM, "lcorecheck");
			goto resume;
		}
		av[k++] = (char *)lgcore;
		for (int i = 0; i < o->lgcore_argc; i++)
			av[k++] = o->lgcore_argv[i];
		av[k++] = (char *)"-o";
		av[k++] = prefix[1];
		av[k++] = pidstr;
		av[k] = NULL;
		st = run_capture(av, &out);
		free(av);
		if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || access(res->path[1], R_OK) < 0) {
			r = lg_failx(err, EIO, "%s failed on process %d: %s", lgcore, o->pid, last_line(&out));
			goto resume;
		}
		out.len = 0;
		char *gv[] = { (char *)gcore, (char *)"-o", prefix[0], pidstr, NULL };
		st = run_capture(gv, &out);
		/* gcore's exit status is not reliable (it judges by "the file is
		 * readable"): also require its success line. */
		if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !out.p ||
		    !strstr((char *)out.p, "Saved corefile") || access(res->path[0], R_OK) < 0) {
			r = lg_failx(err, EIO, "%s failed on process %d: %s", gcore, o->pid, last_line(&out));
			goto resume;
		}
	}
resume:
	if (stopped_by_us)
		kill(o->pid, SIGCONT);
	if (r < 0 && res->path[0]) {
		unlink(res->path[0]);
		unlink(res->path[1]);
		rmdir(res->tmpdir);
	}
out:
	lg_buf_free(&out);
	return r;
}
