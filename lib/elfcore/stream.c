/* The stream writer: a core in the kernel's order, for a pipe. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "elfcore/stream.h"

int lg_stream_layout(struct lg_layout *l, const struct lg_buf *notes, struct lg_buf *head)
{
	uint64_t phnum = l->n + 1, off, notes_off, data_start, sh_off = 0;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	size_t i;
	int r;

	head->len = 0;
	off = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
	if (phnum >= PN_XNUM) {
		/* The count goes to sh_info of section header 0 (ELF gABI
		 * extended numbering).  The kernel writes that header after
		 * the data; before the notes it is known as early and keeps
		 * the stream's tail free. */
		sh_off = off;
		off += sizeof(Elf64_Shdr);
	}
	notes_off = off;
	off = data_start = (notes_off + notes->len + LG_PAGE_SIZE - 1) & LG_PAGE_MASK;
	for (i = 0; i < l->n; i++) {
		struct lg_segment *s = &l->seg[i];
		s->offset = off;
		off += (s->filesz + LG_PAGE_SIZE - 1) & LG_PAGE_MASK;
	}
	l->data_end = off;

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh.e_type = ET_CORE;
	eh.e_machine = lg_arch_elf_machine;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(Elf64_Ehdr);
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = phnum >= PN_XNUM ? PN_XNUM : (uint16_t)phnum;
	if (sh_off) {
		eh.e_shoff = sh_off;
		eh.e_shentsize = sizeof(Elf64_Shdr);
		eh.e_shnum = 1;
	}
	if ((r = lg_buf_append(head, &eh, sizeof(eh))))
		return r;

	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_NOTE;
	ph.p_offset = notes_off;
	ph.p_filesz = notes->len;
	ph.p_align = 4;
	if ((r = lg_buf_append(head, &ph, sizeof(ph))))
		return r;
	for (i = 0; i < l->n; i++) {
		const struct lg_segment *s = &l->seg[i];
		memset(&ph, 0, sizeof(ph));
		ph.p_type = PT_LOAD;
		ph.p_flags = s->flags;
		ph.p_offset = s->offset;
		ph.p_vaddr = s->vaddr;
		ph.p_filesz = s->filesz;
		ph.p_memsz = s->memsz;
		ph.p_align = LG_PAGE_SIZE;
		if ((r = lg_buf_append(head, &ph, sizeof(ph))))
			return r;
	}
	if (sh_off) {
		Elf64_Shdr sh;
		memset(&sh, 0, sizeof(sh));
		sh.sh_type = SHT_NULL;
		sh.sh_size = 1;		/* e_shnum, as the kernel fills it */
		sh.sh_info = (uint32_t)phnum;
		if ((r = lg_buf_append(head, &sh, sizeof(sh))))
			return r;
	}
	if ((r = lg_buf_append(head, notes->p, notes->len)))
		return r;
	return lg_buf_append_zeros(head, (size_t)(data_start - head->len));
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
