/* A growable byte buffer, used for notes, /proc files and the tail of a core. */
#ifndef LG_COMMON_BUF_H
#define LG_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

struct lg_buf {
	uint8_t *p;
	size_t len, cap;
};

/* All return 0 or -ENOMEM. */
int lg_buf_reserve(struct lg_buf *b, size_t extra);
int lg_buf_append(struct lg_buf *b, const void *data, size_t len);
int lg_buf_append_zeros(struct lg_buf *b, size_t len);
/* Pad with zero bytes up to a multiple of ALIGN (a power of two). */
int lg_buf_align(struct lg_buf *b, size_t align);
void lg_buf_free(struct lg_buf *b);

/* Read a whole file (including /proc files whose st_size is 0) into B,
 * replacing its contents; a NUL is kept after the data but not counted.
 * Returns 0 or -errno. */
int lg_read_file(const char *path, struct lg_buf *b);

#endif
