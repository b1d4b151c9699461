/* Notes as the kernel writes them (fs/binfmt_elf.c): sizes are part of the
 * format -- libdwfl and the Go tools reject a PRSTATUS that is not 336
 * bytes or a PRPSINFO that is not 136. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/procfs.h>
#include <unistd.h>

#include "arch/arch.h"
#include "elfcore/elfcore.h"

_Static_assert(sizeof(struct elf_prstatus) == 336, "NT_PRSTATUS is 336 bytes on x86-64");
_Static_assert(sizeof(struct elf_prpsinfo) == 136, "NT_PRPSINFO is 136 bytes on x86-64");
_Static_assert(sizeof(siginfo_t) == 128, "NT_SIGINFO is 128 bytes");

#ifndef NT_SIGINFO
# define NT_SIGINFO 0x53494749
#endif
#ifndef NT_FILE
# define NT_FILE 0x46494c45
#endif

int lg_note_add(struct lg_buf *b, const char *owner, uint32_t type, const void *desc,
		size_t len)
{
	Elf64_Nhdr h;
	size_t olen = strlen(owner) + 1;
	int r;

	if (len > UINT32_MAX)
		return -E2BIG;
	h.n_namesz = (uint32_t)olen;
	h.n_descsz = (uint32_t)len;
	h.n_type = type;
	if ((r = lg_buf_append(b, &h, sizeof(h))) || (r = lg_buf_append(b, owner, olen)) ||
	    (r = lg_buf_align(b, LG_NOTE_ALIGN)) || (r = lg_buf_append(b, desc, len)) ||
	    (r = lg_buf_align(b, LG_NOTE_ALIGN)))
		return r;
	return 0;
}

/* Clock ticks per second of /proc's times if sysconf cannot say: USER_HZ,
 * 100 on x86-64. */
#define USER_HZ_FALLBACK 100

static void ticks_to_timeval(uint64_t ticks, struct timeval *tv)
{
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = USER_HZ_FALLBACK;
	tv->tv_sec = (time_t)(ticks / (uint64_t)hz);
	tv->tv_usec = (suseconds_t)((ticks % (uint64_t)hz) * 1000000 / (uint64_t)hz);
}

int lg_note_prpsinfo(struct lg_buf *b, const struct lg_procinfo *pi)
{
	static const char states[] = "RSDTZW";
	struct elf_prpsinfo p;
	const char *s;

	memset(&p, 0, sizeof(p));
	/* The kernel numbers the state by its bit in task->__state; the
	 * letters of /proc/PID/stat map onto the same "RSDTZW". */
	s = pi->state ? strchr(states, pi->state) : NULL;
	if (pi->state == 't')	/* traced shows as stopped */
		s = strchr(states, 'T');
	/* A state without a letter: numbered past the table and named '.',
	 * as the kernel does for a state bit beyond "RSDTZW". */
	p.pr_state = (char)(s ? s - states : (long)sizeof(states) - 1);
	p.pr_sname = s ? *s : '.';
	p.pr_zomb = p.pr_sname == 'Z';
	p.pr_nice = (char)pi->nice;
	p.pr_flag = pi->flags;
	p.pr_uid = pi->uid;
	p.pr_gid = pi->gid;
	p.pr_pid = pi->pid;
	p.pr_ppid = pi->ppid;
	p.pr_pgrp = pi->pgrp;
	p.pr_sid = pi->sid;
	memcpy(p.pr_fname, pi->comm, sizeof(p.pr_fname) - 1);
	memcpy(p.pr_psargs, pi->psargs, sizeof(p.pr_psargs) - 1);
	return lg_note_add(b, "CORE", NT_PRPSINFO, &p, sizeof(p));
}

int lg_note_thread(struct lg_buf *b, const struct lg_thread_note *tn)
{
	const struct lg_thread *t = tn->t;
	struct lg_buf d = { 0 };
	struct elf_prstatus s;
	siginfo_t si;
	size_t i;
	int r;

	memset(&s, 0, sizeof(s));
	s.pr_info.si_signo = t->resume_sig;
	s.pr_cursig = (short)t->resume_sig;
	s.pr_pid = t->tid;
	s.pr_ppid = tn->pi->ppid;
	s.pr_pgrp = tn->pi->pgrp;
	s.pr_sid = tn->pi->sid;
	if (tn->ti) {
		s.pr_sigpend = tn->ti->sigpend;
		s.pr_sighold = tn->ti->sighold;
		ticks_to_timeval(tn->ti->utime, &s.pr_utime);
		ticks_to_timeval(tn->ti->stime, &s.pr_stime);
		ticks_to_timeval(tn->ti->cutime, &s.pr_cutime);
		ticks_to_timeval(tn->ti->cstime, &s.pr_cstime);
	}
	if (t->gregs.len != sizeof(s.pr_reg))
		return -EINVAL;
	memcpy(&s.pr_reg, t->gregs.p, sizeof(s.pr_reg));
	/* The kernel sets pr_fpvalid when the FPU state follows. */
	s.pr_fpvalid = lg_arch_nregsets > 0 && t->regsets[0].len > 0;
	if ((r = lg_note_add(b, "CORE", NT_PRSTATUS, &s, sizeof(s))))
		goto out;

	for (i = 0; i < lg_arch_nregsets && i < LG_MAX_REGSETS; i++) {
		if (!t->regsets[i].len)
			continue;
		if ((r = lg_arch_regset_note(tn->ac, i, t->regsets[i].p, t->regsets[i].len, &d)) ||
		    (r = lg_note_add(b, lg_arch_regsets[i].owner, lg_arch_regsets[i].note_type,
				     d.p, d.len)))
			goto out;
	}

	memset(&si, 0, sizeof(si));
	if (t->resume_sig)
		memcpy(&si, t->siginfo, sizeof(si));
	r = lg_note_add(b, "CORE", NT_SIGINFO, &si, sizeof(si));
out:
	lg_buf_free(&d);
	return r;
}

int lg_note_auxv(struct lg_buf *b, const struct lg_procinfo *pi)
{
	return lg_note_add(b, "CORE", NT_AUXV, pi->auxv.p, pi->auxv.len);
}

int lg_note_file(struct lg_buf *b, const struct lg_maps *maps)
{
	struct lg_buf d = { 0 };
	uint64_t count = 0, hdr[2];
	size_t i;
	int r;

	for (i = 0; i < maps->n; i++)
		count += lg_mapping_is_file(&maps->v[i]);
	hdr[0] = count;
	hdr[1] = LG_PAGE_SIZE;
	if ((r = lg_buf_append(&d, hdr, sizeof(hdr))))
		goto out;
	for (i = 0; i < maps->n; i++) {
		const struct lg_mapping *m = &maps->v[i];
		uint64_t e[3] = { m->start, m->end, m->offset / LG_PAGE_SIZE };
		if (lg_mapping_is_file(m) && (r = lg_buf_append(&d, e, sizeof(e))))
			goto out;
	}
	for (i = 0; i < maps->n; i++) {
		const struct lg_mapping *m = &maps->v[i];
		if (lg_mapping_is_file(m) && (r = lg_buf_append(&d, m->name, strlen(m->name) + 1)))
			goto out;
	}
	r = lg_note_add(b, "CORE", NT_FILE, d.p, d.len);
out:
	lg_buf_free(&d);
	return r;
}

int lg_note_core(struct lg_buf *b, const struct lg_procinfo *pi, const struct lg_tgroup *g,
		 const struct lg_threadinfo *ti, const struct lg_maps *maps)
{
	struct lg_arch_core ac = { 0 };
	size_t i, k;
	int r;

	/* Every thread's regsets first: the arch's process-wide notes
	 * describe them all, so all of them get one layout. */
	for (i = 0; i < g->n; i++)
		for (k = 0; k < lg_arch_nregsets && k < LG_MAX_REGSETS; k++)
			lg_arch_core_scan(&ac, k, g->t[i].regsets[k].p, g->t[i].regsets[k].len);
	if ((r = lg_note_prpsinfo(b, pi)))
		return r;
	/* gdb, the Go tools and libunwind take the first thread as the
	 * current one: the leader comes first (g keeps it first). */
	for (i = 0; i < g->n; i++) {
		struct lg_thread_note tn = {
			.t = &g->t[i],
			.ti = ti ? &ti[i] : NULL,
			.pi = pi,
			.ac = &ac,
		};
		if ((r = lg_note_thread(b, &tn)))
			return r;
	}
	if ((r = lg_note_auxv(b, pi)) || (r = lg_note_file(b, maps)) ||
	    (r = lg_arch_process_notes(&ac, b)))
		return r;
	return 0;
}
