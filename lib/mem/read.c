#include <errno.h>
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

int lg_mem_readv(struct lg_mem *m, const struct lg_range *rg, size_t n, void *vbuf,
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

int lg_mem_read(struct lg_mem *m, uint64_t addr, void *buf, size_t len, struct lg_error *err)
{
	struct lg_range r = { addr, addr + len };
	return lg_mem_readv(m, &r, 1, buf, err);
}
