/* The progress of a dump, filled by lib/dump for whoever shows it. */
#include <stddef.h>

#include "common/progress.h"

const char *lg_progress_phase_name(enum lg_progress_phase ph)
{
	switch (ph) {
	case LG_PHASE_SETUP:
		return "set-up stop";
	case LG_PHASE_PRECOPY:
		return "pre-copy";
	case LG_PHASE_FINAL:
		return "final stop";
	case LG_PHASE_FLUSH:
		return "writing the final copy";
	case LG_PHASE_TEARDOWN:
		return "teardown";
	case LG_PHASE_ARM:
		return "protecting";
	case LG_PHASE_WRITE:
		return "writing";
	case LG_PHASE_STOPPED:
		return "copying stopped";
	case LG_PHASE_FINISH:
		return "finishing";
	case LG_PHASE_NONE:
		break;
	}
	return "starting";
}

static void tell(struct lg_progress *p, bool end)
{
	if (p->update)
		p->update(p, end);
}

void lg_progress_begin(struct lg_progress *p, enum lg_progress_phase ph, int pass,
		       uint64_t total)
{
	if (!p)
		return;
	p->phase = ph;
	p->pass = pass;
	p->done = 0;
	p->total = total;
	tell(p, false);
}

void lg_progress_end(struct lg_progress *p)
{
	if (p)
		tell(p, true);
}

void lg_progress_copied(struct lg_progress *p, uint64_t n)
{
	if (!p)
		return;
	p->done += n;
	p->copied += n;
	tell(p, false);
}

void lg_progress_done(struct lg_progress *p, uint64_t done)
{
	if (!p)
		return;
	p->done = done;
	tell(p, false);
}

void lg_progress_stopped(struct lg_progress *p, uint64_t since_ns, bool brief)
{
	if (!p)
		return;
	p->stop_since_ns = since_ns;
	p->brief = brief;
	tell(p, false);
}

void lg_progress_resumed(struct lg_progress *p, uint64_t pause_ns)
{
	if (!p || !p->stop_since_ns)
		return;
	p->stop_since_ns = 0;
	p->brief = false;
	p->pause_ns += pause_ns;
	tell(p, false);
}
