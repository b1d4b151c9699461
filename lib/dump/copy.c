/* Target memory into the core file, through one bounded buffer: lgcore's
 * own memory does not grow with the target. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/arch.h"
#include "common/cancel.h"
#include "dump/dump.h"
#include "common/grow.h"

/* Large enough that process_vm_readv and pwrite calls are few, small
 * enough to keep lgcore's footprint far below 64 MiB. */
#define COPY_BUF (4u << 20)
/* Ranges gathered into one read of the buffer (a stack array). */
#define COPY_BATCH 256
/* Staged copies the list holds before it must grow: reserved with the
 * staging area, so that the first ones need no allocation inside the
 * final stop. */
#define STAGED_RESERVE 4096

int lg_copier_init(struct lg_copier *c, pid_t pid, struct lg_core_file *file,
		   struct lg_error *err)
{
	memset(c, 0, sizeof(*c));
	lg_mem_init(&c->mem, pid);
	lg_pagemap_init(&c->pagemap, pid);
	c->file = file;
	c->bufsize = COPY_BUF;
	/* mmap, not malloc: pre-fault once, reused for every batch. */
	c->buf = mmap(NULL, c->bufsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		      -1, 0);
	if (c->buf == MAP_FAILED) {
		c->buf = NULL;
		return lg_fail(err, errno, "cannot allocate the copy buffer");
	}
	return 0;
}

int lg_copier_init_stream(struct lg_copier *c, pid_t pid, struct lg_stream *s,
			  struct lg_error *err)
{
	int r = lg_copier_init(c, pid, NULL, err);

	c->stream = s;
	return r;
}

/* One copy to its place: the file, or the stream, which cannot go back. */
static int put(struct lg_copier *c, uint64_t off, const void *b, size_t len, bool overwrite,
	       struct lg_error *err)
{
	if (c->stream)
		return lg_stream_put(c->stream, off, b, len, err);
	return lg_core_file_write(c->file, off, b, len, overwrite, err);
}

void lg_copier_free(struct lg_copier *c)
{
	if (c->buf)
		munmap(c->buf, c->bufsize);
	c->buf = NULL;
	if (c->stage)
		munmap(c->stage, c->stage_size);
	c->stage = NULL;
	free(c->staged);
	c->staged = NULL;
	lg_mem_close(&c->mem);
	lg_pagemap_close(&c->pagemap);
	lg_ranges_free(&c->scratch);
}

static int reserve_staged(struct lg_copier *c, size_t k)
{
	/* -ENOMEM: the caller writes directly instead. */
	return LG_GROW(c->staged, c->staged_cap, c->nstaged + k, 1024);
}

int lg_copy_stage_init(struct lg_copier *c, size_t size, struct lg_error *err)
{
	c->stage = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
			-1, 0);
	if (c->stage == MAP_FAILED) {
		c->stage = NULL;
		return lg_fail(err, errno, "cannot allocate the staging area");
	}
	c->stage_size = size;
	return reserve_staged(c, STAGED_RESERVE) ? lg_fail(err, ENOMEM, "staging") : 0;
}

int lg_copy_flush(struct lg_copier *c, struct lg_error *err)
{
	uint8_t *b = c->stage;
	size_t i;
	int r = 0;

	if (c->stream)
		return lg_copy_flush_upto(c, UINT64_MAX, err);
	/* Later copies of a page come later in the list: written in order,
	 * the last one wins.  The pages may have held older data (pre-copy),
	 * so zero pages are punched. */
	for (i = 0; i < c->nstaged && !r; i++) {
		r = lg_core_file_write(c->file, c->staged[i].off, b, c->staged[i].len, true, err);
		b += c->staged[i].len;
		if (!r && c->progress)
			lg_progress_done(c->progress, c->progress->done + c->staged[i].len);
	}
	c->nstaged = 0;
	c->stage_used = 0;
	return r;
}

int lg_copy_flush_upto(struct lg_copier *c, uint64_t end, struct lg_error *err)
{
	int r = 0;

	while (c->nflushed < c->nstaged && c->staged[c->nflushed].off < end && !r) {
		const struct lg_staged *st = &c->staged[c->nflushed++];
		r = lg_stream_put(c->stream, st->off, c->stage + c->stage_flushed, st->len, err);
		c->stage_flushed += st->len;
	}
	return r;
}

int lg_copy_ranges(struct lg_copier *c, const struct lg_plan *p, size_t ei,
		   const struct lg_range *rg, size_t n, bool overwrite, struct lg_error *err)
{
	const struct lg_plan_entry *e = &p->e[ei];
	const struct lg_mapping *m = &p->maps.v[e->map];
	const struct lg_segment *s = &p->layout.seg[e->seg];
	struct lg_range batch[COPY_BATCH];
	uint64_t unreadable_before = c->mem.unreadable;
	size_t i = 0;
	uint64_t at = n ? rg[0].start : 0;	/* next byte to copy within rg[i] */
	int r = 0;

	if (e->never_read)
		return 0;	/* zeros: a hole */
	while (i < n) {
		size_t k = 0, j;
		uint64_t fill = 0;
		uint8_t *b;

		if ((r = lg_cancel_check(err)))
			return r;
		if (c->stop_limit_ns && lg_now_ns() - c->stop_since_ns > c->stop_limit_ns)
			return lg_failx(err, ETIME,
					"the process would have been stopped longer than %g ms",
					c->stop_limit_ns / 1e6);

		/* Fill the buffer with as many (pieces of) ranges as fit. */
		while (i < n && k < sizeof(batch) / sizeof(batch[0]) && fill < c->bufsize) {
			uint64_t end = rg[i].end, len;
			if (at < rg[i].start)
				at = rg[i].start;
			if (end > m->start + e->dump_len)
				end = m->start + e->dump_len;
			if (at >= end) {
				if (++i < n)
					at = rg[i].start;
				continue;
			}
			len = end - at;
			if (len > c->bufsize - fill)
				len = c->bufsize - fill;
			batch[k].start = at;
			batch[k].end = at + len;
			k++;
			fill += len;
			at += len;
			if (at >= end && ++i < n)
				at = rg[i].start;
		}
		if (!k)
			break;
		/* Staged: straight into the staging area, written later. */
		if (c->staging && c->stage_size - c->stage_used >= fill &&
		    (r = reserve_staged(c, k)) == 0) {
			b = c->stage + c->stage_used;
			if ((r = lg_mem_readv(&c->mem, batch, k, b, err)))
				goto out;
			for (j = 0; j < k; j++) {
				struct lg_staged *st = &c->staged[c->nstaged++];
				st->off = s->offset + (batch[j].start - m->start);
				st->len = batch[j].end - batch[j].start;
			}
			c->stage_used += fill;
			c->bytes_staged += fill;
			c->bytes_read += fill;
			lg_progress_copied(c->progress, fill);
			continue;
		}
		if (c->staging && c->stream) {
			r = lg_failx(err, ENOBUFS, "more to copy while stopped than the %zu KiB "
				     "that can wait for a stream", c->stage_size / 1024);
			goto out;
		}
		if ((r = lg_mem_readv(&c->mem, batch, k, c->buf, err)))
			goto out;
		c->bytes_read += fill;
		lg_progress_copied(c->progress, fill);
		for (j = 0, b = c->buf; j < k; j++) {
			uint64_t len = batch[j].end - batch[j].start;
			uint64_t off = s->offset + (batch[j].start - m->start);
			if ((r = put(c, off, b, len, overwrite || c->staging, err)))
				goto out;
			b += len;
		}
	}
out:
	if (c->mem.unreadable != unreadable_before) {
		/* [vsyscall] is execute-only on current kernels: nobody can
		 * read it, and the kernel's core has zeros there too. */
		if (lg_mapping_is_special(m))
			c->mem.unreadable = unreadable_before;
		else
			c->unreadable_maps++;
	}
	return r;
}

int lg_copy_entry(struct lg_copier *c, const struct lg_plan *p, size_t ei, struct lg_error *err)
{
	const struct lg_plan_entry *e = &p->e[ei];
	const struct lg_mapping *m = &p->maps.v[e->map];
	struct lg_range whole = { m->start, m->start + e->dump_len };
	uint64_t base = c->progress ? c->progress->done : 0;
	int r;

	if (!e->dump_len)
		return 0;
	if (!lg_mapping_is_private_anon(m)) {
		r = lg_copy_ranges(c, p, ei, &whole, 1, false, err);
	} else {
		/* Never-touched anonymous pages are holes: reading them
		 * would fault zero pages into the target, for nothing. */
		lg_ranges_clear(&c->scratch);
		if ((r = lg_pagemap_populated(&c->pagemap, whole.start, whole.end, &c->scratch, err)))
			return r;
		r = lg_copy_ranges(c, p, ei, c->scratch.v, c->scratch.n, false, err);
	}
	/* The holes are done too: the entry is, whole. */
	if (!r && c->progress)
		lg_progress_done(c->progress, base + e->dump_len);
	return r;
}
