/* The files a process holds open: the (device, inode) of every descriptor
 * in /proc/PID/fd.  The pre-copy loop uses it to tell whether the process
 * could change a shared memory object with write(2) or fallocate(2), which
 * no page table shows. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/grow.h"
#include "proc/proc.h"

static int cmp_id(const void *a, const void *b)
{
	const struct lg_fileid *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int lg_proc_open_files(pid_t pid, struct lg_fileids *out, struct lg_error *err)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int r = 0;

	out->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(dir = opendir(path)))
		return lg_fail(err, errno, "cannot read %s", path);
	while ((d = readdir(dir))) {
		struct stat st;
		if (d->d_name[0] == '.')
			continue;
		/* Follows the magic link to the open file itself; a
		 * descriptor closed meanwhile (ENOENT) is no longer open. */
		if (fstatat(dirfd(dir), d->d_name, &st, 0) < 0)
			continue;
		if (LG_GROW(out->v, out->cap, out->n + 1, 64)) {
			r = lg_fail(err, ENOMEM, "open files");
			break;
		}
		out->v[out->n].dev = st.st_dev;
		out->v[out->n].ino = st.st_ino;
		out->n++;
	}
	closedir(dir);
	if (!r && out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_id);
	return r;
}

bool lg_fileids_has(const struct lg_fileids *f, unsigned int major_, unsigned int minor_, uint64_t ino)
{
	struct lg_fileid key = { .dev = makedev(major_, minor_), .ino = ino };

	return f->n && bsearch(&key, f->v, f->n, sizeof(*f->v), cmp_id) != NULL;
}

void lg_fileids_free(struct lg_fileids *f)
{
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}
