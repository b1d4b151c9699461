/* /proc/PID/{stat,status,cmdline,comm,auxv,coredump_filter} into the
 * process and thread facts that NT_PRPSINFO and NT_PRSTATUS carry. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"

int lg_status_field(const char *status, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = status;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			const char *v = p + klen + 1, *e;
			size_t n;
			while (*v == ' ' || *v == '\t')
				v++;
			e = strchr(v, '\n');
			n = e ? (size_t)(e - v) : strlen(v);
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

/* The fields of /proc/PID/stat after "(comm)": comm may hold spaces and
 * parentheses, so split after the last ')'.  F[0] is field 3 (state). */
#define STAT_FIELDS 50
static int split_stat(char *text, char **f, size_t *nf)
{
	char *p = strrchr(text, ')');
	size_t n = 0;

	if (!p)
		return -EINVAL;
	p++;
	while (n < STAT_FIELDS) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		f[n++] = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';
	}
	*nf = n;
	return n >= 15 ? 0 : -EINVAL;
}

/* field number N of stat(5), counting from 1 */
#define STAT(f, n) ((f)[(n) - 3])

int lg_procinfo_read(pid_t pid, struct lg_procinfo *pi, struct lg_error *err)
{
	char path[64], val[64];
	struct lg_buf b = { 0 };
	char *f[STAT_FIELDS];
	size_t nf, i, len;
	ssize_t n;
	int r;

	memset(pi, 0, sizeof(*pi));
	pi->pid = pid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((r = lg_read_file(path, &b)))
		goto fail_path;
	if (split_stat((char *)b.p, f, &nf)) {
		r = lg_failx(err, EINVAL, "cannot parse %s", path);
		goto out;
	}
	pi->state = STAT(f, 3)[0];
	pi->ppid = atoi(STAT(f, 4));
	pi->pgrp = atoi(STAT(f, 5));
	pi->sid = atoi(STAT(f, 6));
	pi->flags = strtoul(STAT(f, 9), NULL, 10);
	pi->nice = nf >= 17 ? strtol(STAT(f, 19), NULL, 10) : 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((r = lg_read_file(path, &b)))
		goto fail_path;
	if (!lg_status_field((char *)b.p, "Uid", val, sizeof(val)))
		pi->uid = strtoul(val, NULL, 10);
	if (!lg_status_field((char *)b.p, "Gid", val, sizeof(val)))
		pi->gid = strtoul(val, NULL, 10);
	if (!lg_status_field((char *)b.p, "TracerPid", val, sizeof(val)))
		pi->tracer = atoi(val);

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if ((r = lg_read_file(path, &b)))
		goto fail_path;
	len = b.len;
	if (len && b.p[len - 1] == '\n')
		len--;
	if (len > sizeof(pi->comm) - 1)
		len = sizeof(pi->comm) - 1;
	memcpy(pi->comm, b.p, len);

	/* As the kernel fills pr_psargs: at most 79 bytes of the argument
	 * area, NULs turned into spaces.  A kernel thread has none. */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((r = lg_read_file(path, &b)))
		goto fail_path;
	len = b.len < sizeof(pi->psargs) - 1 ? b.len : sizeof(pi->psargs) - 1;
	for (i = 0; i < len; i++)
		pi->psargs[i] = b.p[i] ? (char)b.p[i] : ' ';
	pi->psargs[len] = '\0';

	snprintf(path, sizeof(path), "/proc/%d/coredump_filter", (int)pid);
	pi->coredump_filter = 0x33;	/* the kernel's default if the file is missing */
	if (!lg_read_file(path, &b))
		pi->coredump_filter = strtoul((char *)b.p, NULL, 16);

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	if ((r = lg_read_file(path, &pi->auxv)))
		goto fail_path;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (!lg_buf_reserve(&pi->exe, 4096) &&
	    (n = readlink(path, (char *)pi->exe.p, pi->exe.cap - 1)) > 0) {
		pi->exe.len = n;
		pi->exe.p[n] = 0;
	}
	r = 0;
	goto out;
fail_path:
	r = lg_fail(err, -r, "cannot read %s", path);
out:
	lg_buf_free(&b);
	if (r)
		lg_procinfo_free(pi);
	return r;
}

int lg_proc_state(pid_t pid, char *state)
{
	char path[64];
	struct lg_buf b = { 0 };
	char *f[STAT_FIELDS];
	size_t nf;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = lg_read_file(path, &b);
	if (r)
		goto out;
	if (split_stat((char *)b.p, f, &nf)) {
		r = -EINVAL;
		goto out;
	}
	*state = STAT(f, 3)[0];
out:
	lg_buf_free(&b);
	return r;
}

int lg_proc_anon_huge_kb(pid_t pid, uint64_t *kb)
{
	char path[64], *l;
	struct lg_buf b = { 0 };
	int r;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((r = lg_read_file(path, &b)))
		goto out;
	r = -ENODATA;
	for (l = (char *)b.p; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, "AnonHugePages:", 14)) {
			*kb = strtoull(l + 14, NULL, 10);
			r = 0;
			break;
		}
out:
	lg_buf_free(&b);
	return r;
}

void lg_procinfo_free(struct lg_procinfo *pi)
{
	lg_buf_free(&pi->auxv);
	lg_buf_free(&pi->exe);
}

int lg_threadinfo_read(pid_t pid, pid_t tid, bool leader, struct lg_threadinfo *ti,
		       struct lg_error *err)
{
	char path[96], val[64];
	struct lg_buf b = { 0 };
	char *f[STAT_FIELDS];
	size_t nf;
	int r;

	memset(ti, 0, sizeof(*ti));
	ti->tid = tid;
	/* The kernel gives the leader the whole group's cpu time, the other
	 * threads their own: /proc/PID/stat vs /proc/PID/task/TID/stat. */
	if (leader)
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if ((r = lg_read_file(path, &b)))
		goto fail_path;
	if (split_stat((char *)b.p, f, &nf) || nf < 15) {
		r = lg_failx(err, EINVAL, "cannot parse %s", path);
		goto out;
	}
	ti->state = STAT(f, 3)[0];
	ti->utime = strtoull(STAT(f, 14), NULL, 10);
	ti->stime = strtoull(STAT(f, 15), NULL, 10);
	ti->cutime = strtoull(STAT(f, 16), NULL, 10);
	ti->cstime = strtoull(STAT(f, 17), NULL, 10);

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if ((r = lg_read_file(path, &b)))
		goto fail_path;
	if (!lg_status_field((char *)b.p, "SigPnd", val, sizeof(val)))
		ti->sigpend = strtoull(val, NULL, 16);
	if (!lg_status_field((char *)b.p, "SigBlk", val, sizeof(val)))
		ti->sighold = strtoull(val, NULL, 16);
	r = 0;
	goto out;
fail_path:
	r = lg_fail(err, -r, "cannot read %s", path);
out:
	lg_buf_free(&b);
	return r;
}
