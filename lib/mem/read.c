#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <signal.h>
#include <unistd.h>

#include "arch/arch.h"
#include "mem/mem.h"

#ifndef IOV_MAX
# define IOV_MAX 1024
#endif

void lg_mem_init(struct lg_mem *m, pid_t pid)
{
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	m->memfd = -1;
}

void lg_mem_close(struct lg_mem *m)
{
	if (m->memfd >= 0)
		close(m->memfd);
	m->memfd = -1;
	free(m->guards);
	m->guards = NULL;
	m->nguards = 0;
	m->guards_known = false;
}

int lg_mem_set_maps(struct lg_mem *m, const struct lg_maps *maps, struct lg_error *err)
{
	size_t i, n = 0;
	struct lg_mem_guard *g;

	for (i = 0; i < maps->n; i++)
		if (maps->v[i].vmflags & (LG_VM_UM | LG_VM_UI))
			n++;
	g = n ? calloc(n, sizeof(*g)) : NULL;
	if (n && !g)
		return lg_fail(err, ENOMEM, "reading memory");
	for (i = 0, n = 0; i < maps->n; i++) {
		const struct lg_mapping *mp = &maps->v[i];
		if (!(mp->vmflags & (LG_VM_UM | LG_VM_UI)))
			continue;
		g[n].start = mp->start;
		g[n].end = mp->end;
		g[n].offset = mp->offset;
		g[n].shared_file = mp->shared && lg_mapping_is_file(mp);
		n++;
	}
	free(m->guards);
	m->guards = g;
	m->nguards = n;
	m->guards_known = true;
	return 0;
}

/* Does PID hold a userfaultfd?  A look at its descriptors, far cheaper
 * than smaps, which walks every page table. */
static bool holds_userfaultfd(pid_t pid)
{
	char path[64], link[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(path)))
		return false;
	while (!found && (de = readdir(d))) {
		char lp[96];
		ssize_t k;
		if (de->d_name[0] == '.')
			continue;
		snprintf(lp, sizeof(lp), "/proc/%d/fd/%s", (int)pid, de->d_name);
		k = readlink(lp, link, sizeof(link) - 1);
		if (k > 0) {
			link[k] = 0;
			found = !strcmp(link, "anon_inode:[userfaultfd]");
		}
	}
	closedir(d);
	return found;
}

static int find_guards(struct lg_mem *m, struct lg_error *err)
{
	struct lg_maps maps = { 0 };
	int r;

	m->guards_known = true;
	if (!holds_userfaultfd(m->pid))
		return 0;
	if ((r = lg_maps_read(m->pid, true, &maps, err)))
		return r == -ENOENT ? lg_failx(err, ESRCH, "the process exited during the dump") : r;
	r = lg_mem_set_maps(m, &maps, err);
	lg_maps_free(&maps);
	return r;
}

static int open_memfd(struct lg_mem *m, struct lg_error *err)
{
	char path[64];

	if (m->memfd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)m->pid);
	m->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->memfd < 0)
		return lg_fail(err, errno == ENOENT ? ESRCH : errno, "cannot open %s", path);
	return 0;
}

/* /proc/PID/mem reads with FOLL_FORCE: it gets PROT_NONE pages and the
 * [vsyscall] page that process_vm_readv refuses.  Whatever still fails is
 * zero, one page at a time. */
static int read_slow(struct lg_mem *m, uint64_t addr, uint8_t *buf, size_t len,
		     struct lg_error *err)
{
	int r = open_memfd(m, err);
	if (r)
		return r;
	while (len) {
		size_t chunk = LG_PAGE_SIZE - (addr & (LG_PAGE_SIZE - 1));
		ssize_t n;
		if (chunk > len)
			chunk = len;
		n = pread(m->memfd, buf, len, (off_t)addr);
		if (n > 0) {
			addr += n;
			buf += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && kill(m->pid, 0) < 0 && errno == ESRCH)
			return lg_failx(err, ESRCH, "the process exited during the dump");
		memset(buf, 0, chunk);
		m->unreadable += chunk;
		addr += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

/* Step past LEN bytes of the ranges, from position (*I, *DONE). */
static void advance(const struct lg_range *rg, size_t *i, uint64_t *done, uint64_t len)
{
	while (len) {
		uint64_t left = rg[*i].end - rg[*i].start - *done;
		if (len < left) {
			*done += len;
			return;
		}
		len -= left;
		(*i)++;
		*done = 0;
	}
}

static int readv_plain(struct lg_mem *m, const struct lg_range *rg, size_t n, void *vbuf,
		       struct lg_error *err)
{
	uint8_t *buf = vbuf;
	struct iovec liov[IOV_MAX], riov[IOV_MAX];
	size_t i = 0;
	uint64_t done = 0;	/* bytes of rg[i] already handled */
	int r;

	while (i < n) {
		uint64_t addr = rg[i].start + done, want = 0, len;
		size_t k = 0, j;
		ssize_t got = 0;

		if (!m->no_vm_readv) {
			for (j = i; j < n && k < IOV_MAX; j++, k++) {
				uint64_t from = j == i ? addr : rg[j].start;
				liov[k].iov_base = buf + want;
				liov[k].iov_len = rg[j].end - from;
				riov[k].iov_base = (void *)(uintptr_t)from;
				riov[k].iov_len = rg[j].end - from;
				want += rg[j].end - from;
			}
			got = process_vm_readv(m->pid, liov, k, riov, k, 0);
			if (got < 0) {
				if (errno == ESRCH)
					return lg_failx(err, ESRCH, "the process exited during the dump");
				if (errno == EPERM || errno == ENOSYS)
					m->no_vm_readv = true;
				else if (errno != EFAULT && errno != EIO && errno != ENOMEM)
					return lg_fail(err, errno, "cannot read memory of %d",
						       (int)m->pid);
				got = 0;
			}
			advance(rg, &i, &done, (uint64_t)got);
			buf += got;
			if ((uint64_t)got == want)
				continue;
		}
		/* process_vm_readv stops at the first page it cannot read:
		 * that page (or, without it, the rest of the range) goes
		 * through /proc/PID/mem. */
		addr = rg[i].start + done;
		len = m->no_vm_readv ? rg[i].end - addr : LG_PAGE_SIZE - (addr & (LG_PAGE_SIZE - 1));
		if (len > rg[i].end - addr)
			len = rg[i].end - addr;
		if ((r = read_slow(m, addr, buf, len, err)))
			return r;
		advance(rg, &i, &done, len);
		buf += len;
	}
	return 0;
}

static void zero(struct lg_mem *m, uint8_t *buf, size_t len)
{
	memset(buf, 0, len);
	m->unreadable += len;
	m->guarded_zeroed += len;
}

/* [ADDR, ADDR + LEN) lies in guard G: read it without a page fault. */
static int read_guarded(struct lg_mem *m, const struct lg_mem_guard *g, uint64_t addr,
			uint8_t *buf, size_t len, struct lg_error *err)
{
	struct lg_pagemap pm;
	struct lg_ranges pop = { 0 };
	uint64_t a = addr;
	size_t i;
	int r = 0;

	if (g->shared_file) {
		/* The file holds the data (a hole reads as zeros without
		 * asking the target); map_files opens it by its mapping,
		 * which needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE). */
		char path[96];
		int fd;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)m->pid,
			 (unsigned long long)g->start, (unsigned long long)g->end);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			size_t done = 0;
			while (done < len) {
				ssize_t k = pread(fd, buf + done, len - done,
						  (off_t)(g->offset + (addr - g->start) + done));
				if (k < 0 && errno == EINTR)
					continue;
				if (k <= 0)
					break;
				done += (size_t)k;
			}
			close(fd);
			if (done < len)	/* past the end of the file */
				memset(buf + done, 0, len - done);
			return 0;
		}
	}
	/* Only what is resident: a present page does not fault. */
	lg_pagemap_init(&pm, m->pid);
	if (lg_pagemap_populated(&pm, addr & LG_PAGE_MASK,
				 (addr + len + LG_PAGE_SIZE - 1) & LG_PAGE_MASK, &pop, NULL)) {
		zero(m, buf, len);
		goto out;
	}
	for (i = 0; i < pop.n && a < addr + len; i++) {
		uint64_t s = pop.v[i].start < a ? a : pop.v[i].start;
		uint64_t e = pop.v[i].end > addr + len ? addr + len : pop.v[i].end;
		struct lg_range one;
		if (e <= s)
			continue;
		if (s > a)
			zero(m, buf + (a - addr), (size_t)(s - a));
		one.start = s;
		one.end = e;
		if ((r = readv_plain(m, &one, 1, buf + (s - addr), err)))
			goto out;
		a = e;
	}
	if (a < addr + len)
		zero(m, buf + (a - addr), (size_t)(addr + len - a));
out:
	lg_ranges_free(&pop);
	lg_pagemap_close(&pm);
	return r;
}

int lg_mem_readv(struct lg_mem *m, const struct lg_range *rg, size_t n, void *vbuf,
		 struct lg_error *err)
{
	uint8_t *buf = vbuf;
	size_t i, k;
	int r;

	if (!m->guards_known && (r = find_guards(m, err)))
		return r;
	if (!m->nguards)
		return readv_plain(m, rg, n, vbuf, err);
	for (i = 0; i < n; i++) {
		uint64_t a = rg[i].start;
		while (a < rg[i].end) {
			const struct lg_mem_guard *g = NULL;
			uint64_t e = rg[i].end;
			for (k = 0; k < m->nguards; k++) {
				if (m->guards[k].start <= a && a < m->guards[k].end) {
					g = &m->guards[k];
					if (g->end < e)
						e = g->end;
					break;
				}
				if (m->guards[k].start > a && m->guards[k].start < e)
					e = m->guards[k].start;
			}
			if (g) {
				r = read_guarded(m, g, a, buf, (size_t)(e - a), err);
			} else {
				struct lg_range one = { a, e };
				r = readv_plain(m, &one, 1, buf, err);
			}
			if (r)
				return r;
			buf += e - a;
			a = e;
		}
	}
	return 0;
}

int lg_mem_read(struct lg_mem *m, uint64_t addr, void *buf, size_t len, struct lg_error *err)
{
	struct lg_range r = { addr, addr + len };
	return lg_mem_readv(m, &r, 1, buf, err);
}
