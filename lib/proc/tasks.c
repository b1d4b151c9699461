#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "proc/proc.h"
#include "common/grow.h"

int lg_tasks_list(pid_t pid, pid_t **tids, size_t *n, struct lg_error *err)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	pid_t *v = NULL;
	size_t len = 0, cap = 0;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return lg_fail(err, errno, "cannot list threads of %d", (int)pid);
	while ((errno = 0, de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		if (*end || tid <= 0)
			continue;
		if (LG_GROW(v, cap, len + 1, 16)) {
			r = lg_fail(err, ENOMEM, "listing threads");
			goto out;
		}
		v[len++] = (pid_t)tid;
	}
	if (errno)
		r = lg_fail(err, errno, "cannot list threads of %d", (int)pid);
	/* Kept in the kernel's order: proc_task_readdir() lists the leader,
	 * then the thread list, where clone appends (creation order).  gdb
	 * attaches in this order and gcore writes its notes so; sorting by
	 * tid would differ from it after a pid wraparound. */
out:
	closedir(d);
	if (r) {
		free(v);
		return r;
	}
	*tids = v;
	*n = len;
	return 0;
}
