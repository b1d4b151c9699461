/* The output file: unnamed until complete, 0600, sparse, never through a
 * symlink. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "elfcore/elfcore.h"

#ifndef FALLOC_FL_KEEP_SIZE
# define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
# define FALLOC_FL_PUNCH_HOLE 0x02
#endif

/* The keeper.  When a dumper is killed, the kernel closes its files
 * (do_exit: exit_files, then the deferred final fput) before it releases
 * its tracees (exit_notify), so the last close of a GiB-sized unnamed core,
 * which frees its page cache, happened while the target was still stopped:
 * 56-144 ms at 2 GiB on ext4 here (6.18), seconds on busier machines.  A
 * child that holds the same open file makes our close cheap; it waits for
 * EOF on a socket from us (however we die) and then exits, freeing the
 * file after the target runs again.  It also knows the temporary name the
 * core has when O_TMPFILE is not available (or briefly while it is named),
 * from before the name exists, and removes it unless we said the core was
 * committed.
 *
 * And it is the watchdog of a stop that a stopped or starved lgcore cannot
 * end itself: told that a stop began with a bound, it kills lgcore (whose
 * death releases the target at once) if the stop outlasts the bound by
 * KEEPER_GRACE_MS.
 *
 * Messages on the socket: 'N' NAME '\0' (the temporary name in dirfd), 'X'
 * (forget it: the name was taken), 'F' with the core's descriptor
 * (SCM_RIGHTS), 'C' (committed: remove nothing), 'W' and 8 bytes (a stop
 * began, bound in milliseconds, little-endian), 'U' (it ended). */

/* Close every descriptor but the N in KEEP. */
static void close_others(int *keep, int n)
{
	unsigned lo = 0;
	int i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	/* The gaps before, between and after the kept ones. */
	for (i = 0; i <= n; i++) {
		unsigned hi = i < n ? (unsigned)keep[i] : ~0u;
		if (i < n && keep[i] < 0)
			continue;
		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0) {
			/* Before 5.9: one by one, up to a bound that covers
			 * what a dumper has open. */
			unsigned top = i < n ? hi : 4096;
			for (unsigned fd = lo; fd < top; fd++)
				close((int)fd);
		}
		if (i < n)
			lo = (unsigned)keep[i] + 1;
	}
}

/* 120 s, then the keeper is killed and reaped (its exit still frees the
 * file, in the kernel). */
#define KEEPER_WAIT_MS 120000
/* A watched stop may last its bound plus this before the keeper acts:
 * lgcore's own check (lib/dump/copy.c) comes first when lgcore runs. */
#define KEEPER_GRACE_MS 1000

/* One byte from the socket, with the descriptor it carries ('F'), if any. */
static ssize_t keeper_recv(int sock, char *c, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

	if (r > 0)
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return r;
}

static void keeper_main(int sock, int dirfd)
{
	char name[4096] = "", c;
	size_t n = 0;
	bool committed = false, in_name = false;
	uint64_t watch_ms = 0, since = 0;
	int keep[] = { sock, dirfd, 2 }, left = 0, held = -1;
	pid_t parent = getppid();
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	prctl(PR_SET_NAME, "lgcore-keeper");
	close_others(keep, 3);
	for (;;) {
		struct pollfd pf = { .fd = sock, .events = POLLIN };
		int timeout = -1, fd = -1;
		ssize_t r;

		if (watch_ms) {
			uint64_t spent = (lg_now_ns() - since) / 1000000;
			timeout = spent >= watch_ms ? 0 : (int)(watch_ms - spent);
		}
		if (poll(&pf, 1, timeout) == 0 && watch_ms) {
			/* Held past its bound and a second more: lgcore does
			 * not run (stopped, starved).  Its death releases the
			 * process at once (we hold the file). */
			if (getppid() == parent) {
				dprintf(2, "lgcore: held the process longer than --max-pause"
					   " without running: killed, so that the process runs on\n");
				kill(parent, SIGKILL);
			}
			watch_ms = 0;
			continue;
		}
		r = keeper_recv(sock, &c, &fd);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (left) {
			/* The bytes of a 'W': milliseconds, little-endian. */
			watch_ms |= (uint64_t)(unsigned char)c << (8 * (8 - left));
			if (!--left)
				watch_ms += KEEPER_GRACE_MS, since = lg_now_ns();
		} else if (in_name) {
			if (c) {
				if (n < sizeof(name) - 1)
					name[n++] = c;
			} else {
				name[n] = 0;
				in_name = false;
			}
		} else if (c == 'N') {
			in_name = true;
			n = 0;
		} else if (c == 'X') {
			name[0] = 0;
		} else if (c == 'F' && fd >= 0) {
			if (held >= 0)
				close(held);
			held = fd;
		} else if (c == 'C') {
			committed = true;
		} else if (c == 'W') {
			watch_ms = 0;
			left = 8;
		} else if (c == 'U') {
			watch_ms = 0;
		}
	}
	if (!committed && name[0])
		unlinkat(dirfd, name, 0);
	_exit(0);
}

static void keeper_start(struct lg_core_file *f)
{
	int sv[2];
	pid_t pid;

	f->keeper = 0;
	f->keeper_fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	pid = fork();
	if (pid == 0)
		keeper_main(sv[1], f->dirfd);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return;
	}
	f->keeper = pid;
	f->keeper_fd = sv[0];
}

/* The keeper holds FD (the core file) open from now on. */
static void keeper_hold(struct lg_core_file *f)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { "F", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	if (f->keeper <= 0)
		return;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &f->fd, sizeof(int));
	while (sendmsg(f->keeper_fd, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static void keeper_say(struct lg_core_file *f, const char *msg, size_t len)
{
	while (f->keeper > 0 && len) {
		ssize_t n = send(f->keeper_fd, msg, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		msg += n;
		len -= (size_t)n;
	}
}

static void keeper_name(struct lg_core_file *f)
{
	keeper_say(f, "N", 1);
	keeper_say(f, f->tmpname, strlen(f->tmpname) + 1);
}

void lg_core_file_watch_stop(struct lg_core_file *f, uint64_t limit_ns)
{
	uint64_t ms = (limit_ns + 999999) / 1000000;
	char m[9] = { 'W' };

	if (!limit_ns) {
		keeper_say(f, "U", 1);
		return;
	}
	for (int i = 0; i < 8; i++)
		m[1 + i] = (char)(ms >> (8 * i));
	keeper_say(f, m, sizeof(m));
}

/* Our end closed: the keeper closes the file (freeing it if unnamed) and
 * exits.  Waited for: by now the target runs. */
static void keeper_stop(struct lg_core_file *f)
{
	/* keeper_fd means something only with a keeper: a zeroed struct
	 * (never created) must not close descriptor 0. */
	if (f->keeper <= 0)
		return;
	close(f->keeper_fd);
	f->keeper_fd = -1;
	/* It exits at once, or once the file is freed (the page cache of
	 * an unnamed core: seconds for hundreds of GiB).  Bounded all the
	 * same: a keeper that does not end must not hang the dumper. */
	for (int ms = 0; f->keeper > 0; ms++) {
		pid_t w = waitpid(f->keeper, NULL, WNOHANG);
		if (w == f->keeper || (w < 0 && errno != EINTR))
			break;
		if (ms == KEEPER_WAIT_MS)
			kill(f->keeper, SIGKILL);
		usleep(ms < 10 ? 100 : 1000);
	}
	f->keeper = 0;
}

static int split_path(struct lg_core_file *f, const char *path)
{
	char *a = strdup(path), *b = strdup(path);
	int r = 0;

	if (!a || !b) {
		r = -ENOMEM;
		goto out;
	}
	f->dir = strdup(dirname(a));
	f->base = strdup(basename(b));
	if (!f->dir || !f->base)
		r = -ENOMEM;
out:
	free(a);
	free(b);
	return r;
}

static int make_tmpname(struct lg_core_file *f)
{
	static unsigned int seq;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	free(f->tmpname);
	if (asprintf(&f->tmpname, ".%s.lgcore-%d-%lx%x", f->base, (int)getpid(),
		     (unsigned long)ts.tv_nsec, seq++) < 0) {
		f->tmpname = NULL;
		return -ENOMEM;
	}
	return 0;
}

int lg_core_file_create(struct lg_core_file *f, const char *path, struct lg_error *err)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->fd = f->dirfd = f->keeper_fd = -1;
	if ((r = split_path(f, path)))
		return lg_fail(err, -r, "%s", path);
	if (!*f->base || !strcmp(f->base, "/") || !strcmp(f->base, ".") || !strcmp(f->base, "..")) {
		r = lg_failx(err, EISDIR, "%s is a directory", path);
		goto fail;
	}
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0) {
		r = lg_fail(err, errno, "cannot open directory %s", f->dir);
		goto fail;
	}
	/* The rename at the end could not replace a directory: say so now,
	 * before the target is stopped for nothing. */
	{
		struct stat st;
		if (fstatat(f->dirfd, f->base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			r = lg_failx(err, EISDIR, "%s is a directory", path);
			goto fail;
		}
	}
	/* Before the file exists, so that no instant has a name the keeper
	 * does not know. */
	keeper_start(f);
	f->fd = openat(f->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (f->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* No O_TMPFILE on this filesystem (before 3.11, or NFS...): a
		 * hidden name renamed into place at the end. */
		int tries;
		for (tries = 0; tries < 100; tries++) {
			if ((r = make_tmpname(f)))
				goto fail_errno;
			keeper_name(f);
			f->fd = openat(f->dirfd, f->tmpname,
				       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (f->fd >= 0 || errno != EEXIST)
				break;
			keeper_say(f, "X", 1);	/* not ours */
		}
		if (f->fd < 0) {
			free(f->tmpname);
			f->tmpname = NULL;
		}
	}
	if (f->fd < 0) {
		r = lg_fail(err, errno, "cannot create a file in %s", f->dir);
		goto fail;
	}
	/* The umask may only have taken bits away; make it exactly 0600,
	 * as the kernel creates cores: they hold the process's secrets. */
	if (fchmod(f->fd, 0600) < 0) {
		r = lg_fail(err, errno, "cannot set the mode of the core file");
		goto fail;
	}
	keeper_hold(f);
	return 0;
fail_errno:
	r = lg_fail(err, -r, "%s", path);
fail:
	lg_core_file_abort(f);
	return r;
}

static bool page_is_zero(const uint8_t *p, size_t len)
{
	const uint64_t *q = (const void *)p;
	size_t i, n = len / 8;

	for (i = 0; i < n; i++)
		if (q[i])
			return false;
	for (i = n * 8; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int punch(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[4096];

	if (!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		int r = pwrite_all(fd, zeros, n, off);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

int lg_core_file_write(struct lg_core_file *f, uint64_t off, const void *vbuf, size_t len,
		       bool overwrite, struct lg_error *err)
{
	const uint8_t *buf = vbuf;
	size_t pos = 0;
	int r;

	/* Every dump writes all along: here a termination request is seen
	 * within one chunk, with the error path still able to clean up. */
	if ((r = lg_cancel_check(err)))
		return r;
	/* Runs of non-zero pages are written in one call; zero pages become
	 * holes, as in the kernel's cores. */
	while (pos < len) {
		size_t run = pos;
		bool zero = page_is_zero(buf + pos, len - pos < LG_PAGE_SIZE ? len - pos : LG_PAGE_SIZE);
		while (run < len) {
			size_t n = len - run < LG_PAGE_SIZE ? len - run : LG_PAGE_SIZE;
			if (page_is_zero(buf + run, n) != zero)
				break;
			run += n;
		}
		if (!zero) {
			size_t at = pos;
			while (at < run) {
				size_t n = run - at;
				if (f->max_write && n > f->max_write)
					n = f->max_write;
				if ((r = pwrite_all(f->fd, buf + at, n, off + at)))
					return lg_fail(err, -r, "cannot write the core file");
				at += n;
			}
			f->bytes_written += run - pos;
		} else if (overwrite && (r = punch(f->fd, off + pos, run - pos))) {
			return lg_fail(err, -r, "cannot write the core file");
		}
		pos = run;
	}
	return 0;
}

/* Whether F->dir still names the directory F->dirfd is: a directory
 * renamed, removed or replaced during the dump makes the path we would
 * print name no core.  Returns 0, or -ESTALE with ERR set (not ENOENT,
 * which the snapshot mode would answer by trying the stop mode), or
 * another -errno. */
static int check_dir(const struct lg_core_file *f, struct lg_error *err)
{
	struct stat at, now;
	char proc[64], where[PATH_MAX];
	ssize_t n;

	if (fstat(f->dirfd, &at) < 0)
		return lg_fail(err, errno, "cannot stat the output directory %s", f->dir);
	if (stat(f->dir, &now) == 0 && now.st_dev == at.st_dev && now.st_ino == at.st_ino)
		return 0;
	if (at.st_nlink == 0)
		return lg_failx(err, ESTALE, "the output directory %s was removed during the dump", f->dir);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->dirfd);
	n = readlink(proc, where, sizeof(where) - 1);
	where[n > 0 ? n : 0] = 0;
	if (n > 0)
		return lg_failx(err, ESTALE, "the output directory %s was moved to %s during the dump", f->dir,
				where);
	return lg_failx(err, ESTALE, "the output directory %s was moved during the dump", f->dir);
}

int lg_core_file_commit(struct lg_core_file *f, const Elf64_Ehdr *eh, const struct lg_buf *tail,
			uint64_t tail_off, struct lg_error *err)
{
	char proc[64];
	int r, r2;

	/* Not named if the user asked us to stop. */
	if ((r = lg_cancel_check(err)))
		return r;
	if ((r = pwrite_all(f->fd, tail->p, tail->len, tail_off)) ||
	    (r = pwrite_all(f->fd, eh, sizeof(*eh), 0)))
		return lg_fail(err, -r, "cannot write the core file");
	/* Trailing holes need the size set explicitly. */
	if (ftruncate(f->fd, (off_t)(tail_off + tail->len)) < 0)
		return lg_fail(err, errno, "cannot write the core file");

	if (!f->tmpname) {
		/* Name the O_TMPFILE under a hidden name first: linkat
		 * cannot replace, and rename is atomic and replaces a symlink
		 * at the destination instead of following it. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
		for (int tries = 0;; tries++) {
			if ((r = make_tmpname(f)))
				return lg_fail(err, -r, "naming the core file");
			/* Told first: we may die right after the link. */
			keeper_name(f);
			if (!linkat(AT_FDCWD, proc, f->dirfd, f->tmpname, AT_SYMLINK_FOLLOW))
				break;
			if (errno != EEXIST || tries > 100) {
				r = -errno;
				if (!(r2 = check_dir(f, err)))
					lg_fail(err, -r, "cannot name the core file in %s", f->dir);
				else
					r = r2;
				free(f->tmpname);
				f->tmpname = NULL;
				return r;
			}
		}
	}
	if (renameat(f->dirfd, f->tmpname, f->dirfd, f->base) < 0) {
		r = lg_fail(err, errno, "cannot create %s/%s", f->dir, f->base);
		unlinkat(f->dirfd, f->tmpname, 0);
		free(f->tmpname);
		f->tmpname = NULL;
		return r;
	}
	free(f->tmpname);
	f->tmpname = NULL;
	/* After the rename, so that a move just before it is seen too (one
	 * after this check still goes unseen): the core leaves with its
	 * directory, and "Saved corefile PATH" would name nothing.  Such a
	 * dump fails and takes its core back. */
	if ((r = check_dir(f, err))) {
		unlinkat(f->dirfd, f->base, 0);
		return r;
	}
	keeper_say(f, "C", 1);
	close(f->fd);
	f->fd = -1;
	lg_core_file_abort(f);
	return 0;
}

int lg_core_file_finish(struct lg_core_file *f, struct lg_layout *l, const struct lg_maps *maps,
			const struct lg_procinfo *pi, const struct lg_tgroup *g,
			const struct lg_threadinfo *ti, struct lg_error *err)
{
	struct lg_buf notes = { 0 }, tail = { 0 };
	struct lg_move *moves = NULL;
	size_t nmoves = 0;
	Elf64_Ehdr eh;
	uint64_t tail_off;
	size_t i;
	int r;

	if ((r = lg_layout_contiguous_chains(l, &moves, &nmoves)))
		goto nomem;
	for (i = 0; i < nmoves; i++)
		if ((r = lg_core_file_move(f, moves[i].from, moves[i].to, moves[i].len, err)))
			goto out;
	tail_off = l->data_end;
	if ((r = lg_note_core(&notes, pi, g, ti, maps)) ||
	    (r = lg_layout_tail(l, &notes, tail_off, &tail, &eh)))
		goto nomem;
	r = lg_core_file_commit(f, &eh, &tail, tail_off, err);
	goto out;
nomem:
	r = lg_fail(err, -r, "building the notes");
out:
	free(moves);
	lg_buf_free(&notes);
	lg_buf_free(&tail);
	return r;
}

int lg_core_file_punch(struct lg_core_file *f, uint64_t off, uint64_t len, struct lg_error *err)
{
	int r = punch(f->fd, off, len);
	return r ? lg_fail(err, -r, "cannot punch a hole in the core file") : 0;
}

int lg_core_file_move(struct lg_core_file *f, uint64_t from, uint64_t to, uint64_t len,
		      struct lg_error *err)
{
	uint64_t done = 0;
	int r;

	/* In the kernel, without passing the bytes through us. */
	while (done < len) {
		loff_t in = (loff_t)(from + done), out = (loff_t)(to + done);
		ssize_t n = copy_file_range(f->fd, &in, f->fd, &out, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (uint64_t)n;
	}
	while (done < len) {
		uint8_t buf[65536];
		size_t chunk = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t n = pread(f->fd, buf, chunk, (off_t)(from + done));
		if (n <= 0)
			return lg_fail(err, n < 0 ? errno : EIO, "cannot move data in the core file");
		if ((r = pwrite_all(f->fd, buf, (size_t)n, to + done)))
			return lg_fail(err, -r, "cannot move data in the core file");
		done += (uint64_t)n;
	}
	if ((r = punch(f->fd, from, len)))
		return lg_fail(err, -r, "cannot move data in the core file");
	return 0;
}

void lg_core_file_abort(struct lg_core_file *f)
{
	if (f->tmpname && f->dirfd >= 0)
		unlinkat(f->dirfd, f->tmpname, 0);
	if (f->fd >= 0)
		close(f->fd);
	keeper_stop(f);
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f->tmpname);
	free(f->dir);
	free(f->base);
	f->fd = f->dirfd = -1;
	f->tmpname = f->dir = f->base = NULL;
}

void lg_core_file_remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
		unlink(path);
}
