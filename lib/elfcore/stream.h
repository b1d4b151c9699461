/* A core written to a descriptor that cannot seek (a pipe, `-o -`): the
 * kernel's order, ELF header, program headers, notes, then every PT_LOAD's
 * data in address order, back to back from a page boundary
 * (fs/binfmt_elf.c).  Nothing can be skipped, so the only zeros the stream
 * carries besides what the segments hold are the padding of the notes up
 * to the first page of data. */
#ifndef LG_ELFCORE_STREAM_H
#define LG_ELFCORE_STREAM_H

#include <elf.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/error.h"
#include "elfcore/elfcore.h"

/* Lay L out for a stream: give every segment with data its offset, back to
 * back from the page after the headers and the notes, and build HEAD: the
 * ELF header, then what lg_layout_tail() builds (the program headers,
 * PT_NOTE first, the notes, and past 65534 segments the section header
 * that carries the real count), and zeros up to the first segment's data.
 * A segment without data points at the program headers, as in the file
 * layout.  Afterwards l->data_end is the size of the whole core.  0 or
 * -ENOMEM. */
int lg_stream_layout(struct lg_layout *l, const struct lg_buf *notes, struct lg_buf *head);

/* The file offset of [ADDR, ADDR + LEN) in the data of segment SEG of L
 * (found with a binary search when SEG is -1); -ENOENT when the bytes are
 * not in one segment's data. */
int lg_stream_offset(const struct lg_layout *l, long seg, uint64_t addr, uint64_t len, uint64_t *off);

struct lg_stream {
	int fd;
	uint64_t off;		/* bytes written so far */
	uint64_t zeros;		/* of which zeros written to fill gaps */
};

void lg_stream_init(struct lg_stream *s, int fd);

/* Write LEN bytes of BUF at file offset OFF, which may not be below what
 * was written already; the gap is written as zeros.  Retries EINTR and
 * short writes, waits on EAGAIN (a non-blocking descriptor).  -EPIPE when
 * the reader is gone (SIGPIPE, unless ignored or blocked, is delivered
 * first: that is the caller's choice), -EINVAL when OFF is behind. */
int lg_stream_put(struct lg_stream *s, uint64_t off, const void *buf, size_t len,
		  struct lg_error *err);

/* Zeros up to END (the end of the core, l->data_end). */
int lg_stream_pad(struct lg_stream *s, uint64_t end, struct lg_error *err);

#endif
