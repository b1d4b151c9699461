#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "elfcore/elfcore.h"
#include "common/grow.h"

void lg_layout_init(struct lg_layout *l)
{
	memset(l, 0, sizeof(*l));
	l->data_end = LG_LAYOUT_DATA_START;
}

void lg_layout_free(struct lg_layout *l)
{
	free(l->seg);
	memset(l, 0, sizeof(*l));
}

uint32_t lg_layout_pflags(unsigned int prot)
{
	return ((prot & LG_PROT_R) ? PF_R : 0) | ((prot & LG_PROT_W) ? PF_W : 0) |
	       ((prot & LG_PROT_X) ? PF_X : 0);
}

long lg_layout_add(struct lg_layout *l, uint64_t vaddr, uint64_t memsz, uint64_t filesz,
		   uint32_t flags)
{
	struct lg_segment *s;

	if (LG_GROW(l->seg, l->cap, l->n + 1, 64))
		return -ENOMEM;
	s = &l->seg[l->n];
	s->vaddr = vaddr;
	s->memsz = memsz;
	s->filesz = filesz;
	s->flags = flags;
	s->offset = 0;
	if (filesz)
		lg_layout_place(l, l->n);
	return (long)l->n++;
}

/* Page-aligned data, as the kernel lays it out: readers may mmap it. */
static uint64_t page_align(uint64_t off)
{
	return (off + LG_PAGE_SIZE - 1) & LG_PAGE_MASK;
}

void lg_layout_place_from(struct lg_layout *l, uint64_t off)
{
	l->data_end = page_align(off);
}

uint64_t lg_layout_place(struct lg_layout *l, size_t i)
{
	struct lg_segment *s = &l->seg[i];

	s->offset = l->data_end;
	l->data_end += page_align(s->filesz);
	return s->offset;
}

static bool linked(const struct lg_segment *a, const struct lg_segment *b)
{
	return a->filesz && a->filesz == a->memsz && b->filesz && b->vaddr == a->vaddr + a->memsz;
}

int lg_layout_contiguous_chains(struct lg_layout *l, struct lg_move **moves, size_t *nmoves)
{
	struct lg_move *mv = NULL;
	size_t n = 0, cap = 0, i = 0, j, k;

	while (i < l->n) {
		bool contiguous = true;
		for (j = i; j + 1 < l->n && linked(&l->seg[j], &l->seg[j + 1]); j++)
			contiguous &= l->seg[j + 1].offset == l->seg[j].offset + l->seg[j].filesz;
		if (!contiguous) {
			for (k = i; k <= j; k++) {
				struct lg_segment *s = &l->seg[k];
				if (LG_GROW(mv, cap, n + 1, 16)) {
					free(mv);
					return -ENOMEM;
				}
				mv[n].from = s->offset;
				mv[n].to = lg_layout_place(l, k);
				mv[n].len = s->filesz;
				n++;
			}
		}
		i = j + 1;
	}
	*moves = mv;
	*nmoves = n;
	return 0;
}

int lg_layout_tail(const struct lg_layout *l, const struct lg_buf *notes, uint64_t tail_off,
		   struct lg_buf *tail, Elf64_Ehdr *eh)
{
	uint64_t phnum = l->n + 1, notes_off, sh_off = 0;
	Elf64_Phdr ph;
	size_t i;
	int r;

	if (tail_off % _Alignof(Elf64_Phdr))
		return -EINVAL;
	tail->len = 0;
	notes_off = tail_off + phnum * sizeof(Elf64_Phdr);

	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_NOTE;
	ph.p_offset = notes_off;
	ph.p_filesz = notes->len;
	ph.p_align = LG_NOTE_ALIGN;
	if ((r = lg_buf_append(tail, &ph, sizeof(ph))))
		return r;
	for (i = 0; i < l->n; i++) {
		const struct lg_segment *s = &l->seg[i];
		memset(&ph, 0, sizeof(ph));
		ph.p_type = PT_LOAD;
		ph.p_flags = s->flags;
		/* An undumped segment points at the tail: inside the file,
		 * with nothing to read. */
		ph.p_offset = s->filesz || l->dataless_placed ? s->offset : tail_off;
		ph.p_vaddr = s->vaddr;
		ph.p_filesz = s->filesz;
		ph.p_memsz = s->memsz;
		ph.p_align = LG_PAGE_SIZE;
		if ((r = lg_buf_append(tail, &ph, sizeof(ph))))
			return r;
	}
	if ((r = lg_buf_append(tail, notes->p, notes->len)))
		return r;

	memset(eh, 0, sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh->e_type = ET_CORE;
	eh->e_machine = lg_arch_elf_machine;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = tail_off;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);

	if (phnum >= PN_XNUM) {
		/* More segments than e_phnum can say: the count moves to
		 * sh_info of section header 0 (ELF gABI extended numbering). */
		Elf64_Shdr sh;
		if ((r = lg_buf_align(tail, 8)))
			return r;
		sh_off = tail_off + tail->len;
		memset(&sh, 0, sizeof(sh));
		sh.sh_type = SHT_NULL;
		sh.sh_size = 1;		/* e_shnum, as the kernel fills it */
		sh.sh_info = (uint32_t)phnum;
		if ((r = lg_buf_append(tail, &sh, sizeof(sh))))
			return r;
		eh->e_phnum = PN_XNUM;
		eh->e_shoff = sh_off;
		eh->e_shentsize = sizeof(Elf64_Shdr);
		eh->e_shnum = 1;
	} else {
		eh->e_phnum = (uint16_t)phnum;
	}
	return 0;
}
