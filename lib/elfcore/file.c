/* The output file: unnamed until complete, 0600, sparse, never through a
 * symlink. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "common/cancel.h"
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
 * EOF on a pipe from us (however we die) and then exits, freeing the file
 * after the target runs again.  It also knows the temporary name the core
 * has when O_TMPFILE is not available (or briefly while it is named), and
 * removes it unless we said the core was committed.
 *
 * Messages on the pipe: 'N' NAME '\0' (the temporary name in dirfd), 'C'
 * (committed: remove nothing). */
static void close_others(int keep1, int keep2, int keep3)
{
	unsigned k[3] = { (unsigned)keep1, (unsigned)keep2, (unsigned)keep3 }, lo = 0, t;
	int i, j;

	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			if (k[j] < k[i])
				t = k[i], k[i] = k[j], k[j] = t;
	/* [lo, k[0]), (k[0], k[1]), (k[1], k[2]), (k[2], ~0]. */
	for (i = 0; i <= 3; i++) {
		unsigned hi = i < 3 ? k[i] : ~0u;
		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0) {
			/* Before 5.9: one by one, up to a bound that covers
			 * what a dumper has open. */
			unsigned top = i < 3 ? hi : 4096;
			for (unsigned fd = lo; fd < top; fd++)
				close((int)fd);
		}
		if (i < 3)
			lo = k[i] + 1;
	}
}

/* 120 s, then the keeper is killed and reaped (its exit still frees the
 * file, in the kernel). */
#define KEEPER_WAIT_MS 120000

static void keeper_main(int rfd, int dirfd, int fd, const char *tmpname)
{
	char name[4096] = "", c;
	size_t n = 0;
	bool committed = false, in_name = false;
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	prctl(PR_SET_NAME, "lgcore-keeper");
	close_others(rfd, dirfd, fd);
	if (tmpname)
		snprintf(name, sizeof(name), "%s", tmpname);
	for (;;) {
		ssize_t r = read(rfd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (in_name) {
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
		} else if (c == 'C') {
			committed = true;
		}
	}
	if (!committed && name[0])
		unlinkat(dirfd, name, 0);
	_exit(0);
}

static void keeper_start(struct lg_core_file *f)
{
	int p[2];
	pid_t pid;

	f->keeper = 0;
	f->keeper_fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0)
		keeper_main(p[0], f->dirfd, f->fd, f->tmpname);
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return;
	}
	f->keeper = pid;
	f->keeper_fd = p[1];
}

static void keeper_say(struct lg_core_file *f, const char *msg, size_t len)
{
	while (f->keeper > 0 && len) {
		ssize_t n = write(f->keeper_fd, msg, len);
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
	f->fd = openat(f->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (f->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* No O_TMPFILE on this filesystem (before 3.11, or NFS...): a
		 * hidden name renamed into place at the end. */
		int tries;
		for (tries = 0; tries < 100; tries++) {
			if ((r = make_tmpname(f)))
				goto fail_errno;
			f->fd = openat(f->dirfd, f->tmpname,
				       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (f->fd >= 0 || errno != EEXIST)
				break;
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
	keeper_start(f);
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

int lg_core_file_commit(struct lg_core_file *f, const Elf64_Ehdr *eh, const struct lg_buf *tail,
			uint64_t tail_off, struct lg_error *err)
{
	char proc[64];
	int r;

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
				r = lg_fail(err, errno, "cannot name the core file in %s", f->dir);
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
