/* lib/elfcore/stream.c: a synthetic core streamed into a pipe equals the
 * file writer's output for the same layout, byte for byte, and reads back
 * through libelf; EINTR, short writes and a non-blocking pipe change
 * nothing; a reader that goes away gives -EPIPE. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arch.h"
#include "elfcore/elfcore.h"
#include "elfcore/stream.h"

#define PG LG_PAGE_SIZE

struct core {
	struct lg_layout l;
	struct lg_buf notes, head;
	uint8_t **data;		/* per segment, filesz bytes */
};

/* NSEG segments; every 5th without data, every 7th an ELF-header page of a
 * larger mapping; data pages random, some all zero (holes in a file). */
static void make_core(struct core *c, size_t nseg, unsigned seed)
{
	uint64_t va = 0x400000;
	size_t i;

	lg_layout_init(&c->l);
	memset(&c->notes, 0, sizeof(c->notes));
	memset(&c->head, 0, sizeof(c->head));
	c->data = calloc(nseg, sizeof(*c->data));
	ck_assert_ptr_nonnull(c->data);
	{
		char desc[1234];
		for (i = 0; i < sizeof(desc); i++)
			desc[i] = (char)(i * 7 + seed);
		ck_assert_int_eq(lg_note_add(&c->notes, "CORE", 1, desc, sizeof(desc)), 0);
		ck_assert_int_eq(lg_note_add(&c->notes, "LINUX", 0x202, desc, 13), 0);
	}
	for (i = 0; i < nseg; i++) {
		uint64_t pages = 1 + rand_r(&seed) % 4, memsz = pages * PG, filesz = memsz;
		if (i % 5 == 4 || (nseg > 1000 && i % 1000))
			filesz = 0;
		else if (i % 7 == 6) {
			memsz += 3 * PG;
			filesz = PG;
		}
		ck_assert_int_ge(lg_layout_add(&c->l, va, memsz, filesz, PF_R | (i % 2 ? PF_W : 0)), 0);
		if (filesz) {
			uint64_t k;
			c->data[i] = malloc(filesz);
			for (k = 0; k < filesz; k++)
				c->data[i][k] = (uint8_t)rand_r(&seed);
			if (pages > 1 && filesz == memsz)
				memset(c->data[i] + PG, 0, PG);	/* a hole */
		}
		va += memsz + (i % 3 == 0 ? PG : 0);
	}
	ck_assert_int_eq(lg_stream_layout(&c->l, &c->notes, &c->head), 0);
}

static void free_core(struct core *c)
{
	for (size_t i = 0; i < c->l.n; i++)
		free(c->data[i]);
	free(c->data);
	lg_layout_free(&c->l);
	lg_buf_free(&c->notes);
	lg_buf_free(&c->head);
}

/* Stream C to FD: the head, then each segment's data, in pieces of up to
 * PIECE bytes found through lg_stream_offset. */
static int stream_core(const struct core *c, int fd, size_t piece, struct lg_stream *st,
		       struct lg_error *e)
{
	size_t i;
	int r;

	lg_stream_init(st, fd);
	if ((r = lg_stream_put(st, 0, c->head.p, c->head.len, e)))
		return r;
	for (i = 0; i < c->l.n; i++) {
		const struct lg_segment *s = &c->l.seg[i];
		uint64_t done = 0;
		while (done < s->filesz) {
			uint64_t n = s->filesz - done, off;
			if (n > piece)
				n = piece;
			ck_assert_int_eq(lg_stream_offset(&c->l, -1, s->vaddr + done, n, &off), 0);
			if ((r = lg_stream_put(st, off, c->data[i] + done, n, e)))
				return r;
			done += n;
		}
	}
	return lg_stream_pad(st, c->l.data_end, e);
}

/* The file writer, same layout. */
static uint8_t *file_core(const struct core *c, const char *dir, size_t *len)
{
	struct lg_core_file f;
	struct lg_error e = { 0 };
	struct lg_buf empty = { 0 };
	char path[4096];
	Elf64_Ehdr eh;
	struct stat sb;
	uint8_t *p;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/core", dir);
	ck_assert_msg(lg_core_file_create(&f, path, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(lg_core_file_write(&f, 0, c->head.p, c->head.len, false, &e), 0);
	for (i = 0; i < c->l.n; i++)
		if (c->l.seg[i].filesz)
			ck_assert_int_eq(lg_core_file_write(&f, c->l.seg[i].offset, c->data[i],
							    c->l.seg[i].filesz, false, &e), 0);
	memcpy(&eh, c->head.p, sizeof(eh));
	ck_assert_int_eq(lg_buf_append(&empty, "", 0), 0);
	ck_assert_msg(lg_core_file_commit(&f, &eh, &empty, c->l.data_end, &e) == 0, "%s", e.msg);
	lg_buf_free(&empty);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	*len = (size_t)sb.st_size;
	p = malloc(*len + 1);
	ck_assert_int_eq(pread(fd, p, *len, 0), (ssize_t)*len);
	close(fd);
	unlink(path);
	return p;
}

struct reader {
	int fd;
	uint8_t *buf;
	size_t len, cap, max_read, stop_after;
	unsigned delay_us;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;

	for (;;) {
		size_t want = rd->cap - rd->len;
		ssize_t n;
		if (rd->max_read && want > rd->max_read)
			want = rd->max_read;
		if (rd->stop_after && rd->len >= rd->stop_after)
			break;
		n = read(rd->fd, rd->buf + rd->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		rd->len += (size_t)n;
		if (rd->delay_us)
			usleep(rd->delay_us);
	}
	close(rd->fd);
	return NULL;
}

static volatile int alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* Stream into a pipe read by a thread, compare with the file writer. */
static void pipe_vs_file(size_t nseg, size_t piece, size_t max_read, unsigned delay_us, bool nonblock,
			 bool interrupt)
{
	struct core c;
	struct reader rd = { 0 };
	struct lg_stream st;
	struct lg_error e = { 0 };
	char dir[] = "/tmp/check_stream_XXXXXX";
	pthread_t th;
	uint8_t *f;
	size_t flen;
	int p[2], r;

	make_core(&c, nseg, 42 + (unsigned)nseg);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	f = file_core(&c, dir, &flen);
	ck_assert_uint_eq(flen, c.l.data_end);

	ck_assert_int_eq(pipe(p), 0);
	if (nonblock)
		ck_assert_int_eq(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	rd.fd = p[0];
	rd.cap = flen + 65536;
	rd.buf = malloc(rd.cap);
	rd.max_read = max_read;
	rd.delay_us = delay_us;
	ck_assert_int_eq(pthread_create(&th, NULL, reader_main, &rd), 0);
	if (interrupt) {
		/* SIGALRM without SA_RESTART every 200 us: writes return early
		 * (EINTR or short). */
		struct sigaction sa;
		struct itimerval it = { { 0, 200 }, { 0, 200 } };
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	r = stream_core(&c, p[1], piece, &st, &e);
	if (interrupt) {
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &off, NULL);
		ck_assert_int_gt(alarms, 0);
	}
	ck_assert_msg(r == 0, "%s", e.msg);
	ck_assert_uint_eq(st.off, flen);
	close(p[1]);
	pthread_join(th, NULL);
	ck_assert_uint_eq(rd.len, flen);
	ck_assert_msg(!memcmp(rd.buf, f, flen), "the stream differs from the file");

	/* What a reader sees: the headers, the notes, each segment's data. */
	{
		Elf *elf;
		size_t phnum, i, seen = 0;
		GElf_Phdr ph;
		elf_version(EV_CURRENT);
		elf = elf_memory((char *)rd.buf, rd.len);
		ck_assert_ptr_nonnull(elf);
		ck_assert_int_eq(elf_kind(elf), ELF_K_ELF);
		ck_assert_int_eq(elf_getphdrnum(elf, &phnum), 0);
		ck_assert_uint_eq(phnum, nseg + 1);
		ck_assert_ptr_nonnull(gelf_getphdr(elf, 0, &ph));
		ck_assert_int_eq(ph.p_type, PT_NOTE);
		ck_assert_uint_eq(ph.p_filesz, c.notes.len);
		ck_assert(!memcmp(rd.buf + ph.p_offset, c.notes.p, c.notes.len));
		for (i = 1; i < phnum; i++) {
			const struct lg_segment *s = &c.l.seg[i - 1];
			ck_assert_ptr_nonnull(gelf_getphdr(elf, (int)i, &ph));
			ck_assert_int_eq(ph.p_type, PT_LOAD);
			ck_assert_uint_eq(ph.p_vaddr, s->vaddr);
			ck_assert_uint_eq(ph.p_memsz, s->memsz);
			ck_assert_uint_eq(ph.p_filesz, s->filesz);
			ck_assert_uint_le(ph.p_offset + ph.p_filesz, rd.len);
			if (s->filesz) {
				ck_assert_uint_eq(ph.p_offset % PG, 0);
				/* Back to back: no gap but the page padding. */
				ck_assert_uint_eq(ph.p_offset, seen ? seen : ph.p_offset);
				ck_assert(!memcmp(rd.buf + ph.p_offset, c.data[i - 1], s->filesz));
				seen = ph.p_offset + ((s->filesz + PG - 1) & LG_PAGE_MASK);
			}
		}
		elf_end(elf);
	}
	/* The only zeros not in the segments: the padding before the data. */
	ck_assert_uint_lt(st.zeros, PG);
	free(rd.buf);
	free(f);
	free_core(&c);
	rmdir(dir);
}

START_TEST(stream_equals_file)
{
	pipe_vs_file(40, 1 << 20, 0, 0, false, false);
}
END_TEST

START_TEST(stream_small_pieces_slow_reader)
{
	/* Writes of 5000 bytes, reads of 3000 with pauses: short writes. */
	pipe_vs_file(40, 5000, 3000, 50, false, false);
}
END_TEST

START_TEST(stream_nonblocking)
{
	pipe_vs_file(40, 1 << 20, 4096, 20, true, false);
}
END_TEST

START_TEST(stream_interrupted)
{
	pipe_vs_file(60, 1 << 20, 1000, 30, false, true);
}
END_TEST

START_TEST(stream_more_than_65535)
{
	/* Extended numbering: the count in section header 0. */
	pipe_vs_file(70000, 1 << 20, 0, 0, false, false);
}
END_TEST

START_TEST(stream_epipe)
{
	struct core c;
	struct reader rd = { 0 };
	struct lg_stream st;
	struct lg_error e = { 0 };
	pthread_t th;
	int p[2], r;

	signal(SIGPIPE, SIG_IGN);
	make_core(&c, 200, 7);
	ck_assert_int_eq(pipe(p), 0);
	rd.fd = p[0];
	rd.cap = 1 << 20;
	rd.buf = malloc(rd.cap);
	rd.stop_after = 100000;
	ck_assert_int_eq(pthread_create(&th, NULL, reader_main, &rd), 0);
	r = stream_core(&c, p[1], 8192, &st, &e);
	ck_assert_int_eq(r, -EPIPE);
	ck_assert_msg(strstr(e.msg, "reader") != NULL, "%s", e.msg);
	pthread_join(th, NULL);
	close(p[1]);
	free(rd.buf);
	free_core(&c);
}
END_TEST

START_TEST(stream_behind)
{
	struct lg_stream st;
	struct lg_error e = { 0 };
	int fd = open("/dev/null", O_WRONLY);

	lg_stream_init(&st, fd);
	ck_assert_int_eq(lg_stream_put(&st, 100, "x", 1, &e), 0);
	ck_assert_uint_eq(st.off, 101);
	ck_assert_uint_eq(st.zeros, 100);
	ck_assert_int_eq(lg_stream_put(&st, 50, "y", 1, &e), -EINVAL);
	ck_assert_int_eq(lg_stream_pad(&st, 50, &e), -EINVAL);
	ck_assert_int_eq(lg_stream_pad(&st, 4096, &e), 0);
	ck_assert_uint_eq(st.off, 4096);
	close(fd);
}
END_TEST

START_TEST(stream_offsets)
{
	struct core c;
	uint64_t off;
	const struct lg_segment *s;

	make_core(&c, 10, 3);
	s = &c.l.seg[0];
	ck_assert_int_eq(lg_stream_offset(&c.l, -1, s->vaddr + 8, 16, &off), 0);
	ck_assert_uint_eq(off, s->offset + 8);
	ck_assert_int_eq(lg_stream_offset(&c.l, 0, s->vaddr, s->filesz, &off), 0);
	/* Past the data of a segment, or in no segment. */
	ck_assert_int_eq(lg_stream_offset(&c.l, 0, s->vaddr, s->filesz + 1, &off), -ENOENT);
	ck_assert_int_eq(lg_stream_offset(&c.l, -1, 0x1000, 1, &off), -ENOENT);
	s = &c.l.seg[4];	/* no data */
	ck_assert_int_eq(lg_stream_offset(&c.l, -1, s->vaddr, 1, &off), -ENOENT);
	free_core(&c);
}
END_TEST

Suite *unit_suite(void);
Suite *unit_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, stream_equals_file);
	tcase_add_test(tc, stream_small_pieces_slow_reader);
	tcase_add_test(tc, stream_nonblocking);
	tcase_add_test(tc, stream_interrupted);
	tcase_add_test(tc, stream_more_than_65535);
	tcase_add_test(tc, stream_epipe);
	tcase_add_test(tc, stream_behind);
	tcase_add_test(tc, stream_offsets);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}
