/* The stream writer: a core in the kernel's order, for a pipe. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "elfcore/stream.h"

int lg_stream_layout(struct lg_layout *l, const struct lg_buf *notes, struct lg_buf *head)
{
	struct lg_buf tail = { 0 };
	Elf64_Ehdr eh;
	size_t i;
	int r;

	/* The file writer's headers and notes (lg_layout_tail), placed right
	 * after the ELF header instead of after the data.  Their size does
	 * not depend on the offsets: once for the size, once for real. */
	if ((r = lg_layout_tail(l, notes, sizeof(Elf64_Ehdr), &tail, &eh)))
		goto out;
	lg_layout_place_from(l, sizeof(Elf64_Ehdr) + tail.len);
	l->dataless_placed = true;
	for (i = 0; i < l->n; i++)
		lg_layout_place(l, i);
	if ((r = lg_layout_tail(l, notes, sizeof(Elf64_Ehdr), &tail, &eh)))
		goto out;
	head->len = 0;
	if ((r = lg_buf_append(head, &eh, sizeof(eh))) || (r = lg_buf_append(head, tail.p, tail.len)))
		goto out;
	r = lg_buf_append_zeros(head, (size_t)(((head->len + LG_PAGE_SIZE - 1) & LG_PAGE_MASK) - head->len));
out:
	lg_buf_free(&tail);
	return r;
}

int lg_stream_offset(const struct lg_layout *l, long seg, uint64_t addr, uint64_t len, uint64_t *off)
{
	const struct lg_segment *s;

	if (seg < 0) {
		size_t lo = 0, hi = l->n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (addr < l->seg[mid].vaddr)
				hi = mid;
			else if (addr >= l->seg[mid].vaddr + l->seg[mid].memsz)
				lo = mid + 1;
			else {
				seg = (long)mid;
				break;
			}
		}
		if (seg < 0)
			return -ENOENT;
	}
	if ((size_t)seg >= l->n)
		return -ENOENT;
	s = &l->seg[seg];
	if (addr < s->vaddr || addr + len > s->vaddr + s->filesz || addr + len < addr)
		return -ENOENT;
	*off = s->offset + (addr - s->vaddr);
	return 0;
}

void lg_stream_init(struct lg_stream *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
}

static int write_all(struct lg_stream *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* A non-blocking descriptor: wait until the
				 * reader makes room. */
				struct pollfd pf = { s->fd, POLLOUT, 0 };
				if (poll(&pf, 1, -1) < 0 && errno != EINTR)
					return -errno;
				continue;
			}
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		s->off += (uint64_t)n;
	}
	return 0;
}

static int write_zeros(struct lg_stream *s, uint64_t len)
{
	static const uint8_t zeros[65536];

	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		int r = write_all(s, zeros, n);
		if (r)
			return r;
		s->zeros += n;
		len -= n;
	}
	return 0;
}

static int fail(struct lg_error *err, int r)
{
	if (r == -EPIPE)
		return lg_failx(err, EPIPE, "the reader of the core went away");
	return lg_fail(err, -r, "cannot write the core");
}

int lg_stream_put(struct lg_stream *s, uint64_t off, const void *buf, size_t len,
		  struct lg_error *err)
{
	int r;

	if (off < s->off)
		return lg_failx(err, EINVAL, "stream: offset %#llx is behind %#llx",
				(unsigned long long)off, (unsigned long long)s->off);
	if ((r = write_zeros(s, off - s->off)) || (r = write_all(s, buf, len)))
		return fail(err, r);
	return 0;
}

int lg_stream_pad(struct lg_stream *s, uint64_t end, struct lg_error *err)
{
	int r;

	if (end < s->off)
		return lg_failx(err, EINVAL, "stream: end %#llx is behind %#llx",
				(unsigned long long)end, (unsigned long long)s->off);
	if ((r = write_zeros(s, end - s->off)))
		return fail(err, r);
	return 0;
}
