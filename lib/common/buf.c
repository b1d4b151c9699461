#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"

int lg_buf_reserve(struct lg_buf *b, size_t extra)
{
	size_t want, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	want = b->len + extra + 1;	/* room for a terminating NUL */
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int lg_buf_append(struct lg_buf *b, const void *data, size_t len)
{
	int r = lg_buf_reserve(b, len);
	if (r)
		return r;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = 0;
	return 0;
}

int lg_buf_append_zeros(struct lg_buf *b, size_t len)
{
	int r = lg_buf_reserve(b, len);
	if (r)
		return r;
	memset(b->p + b->len, 0, len + 1);
	b->len += len;
	return 0;
}

int lg_buf_align(struct lg_buf *b, size_t align)
{
	size_t rem = b->len & (align - 1);
	return rem ? lg_buf_append_zeros(b, align - rem) : 0;
}

void lg_buf_free(struct lg_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int lg_read_file(const char *path, struct lg_buf *b)
{
	int fd, r = 0;

	b->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;
		if ((r = lg_buf_reserve(b, 65536)))
			break;
		n = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		b->len += n;
	}
	if (b->p)
		b->p[b->len] = 0;
	close(fd);
	return r;
}
