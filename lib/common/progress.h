/* What a dump is doing, for a caller that shows it (lgcore's progress line
 * on a terminal).  The dump code fills the struct and calls UPDATE at
 * each phase and after each batch it copies; it never prints.  UPDATE is
 * called inside stops as well (it must then return at once: see BRIEF).
 * Every function takes a NULL progress: no one is watching. */
#ifndef LG_COMMON_PROGRESS_H
#define LG_COMMON_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

enum lg_progress_phase {
	LG_PHASE_NONE,
	LG_PHASE_SETUP,		/* the set-up stop */
	LG_PHASE_PRECOPY,	/* a pre-copy pass (PASS), the target running */
	LG_PHASE_FINAL,		/* the final stop (pre-copy), or the stop at T0 (snapshot) */
	LG_PHASE_FLUSH,		/* writing what the final stop read, the target running */
	LG_PHASE_TEARDOWN,	/* removing the tracking */
	LG_PHASE_ARM,		/* snapshot: write-protecting the memory, the target running */
	LG_PHASE_WRITE,		/* snapshot: writing the memory of T0 out */
	LG_PHASE_STOPPED,	/* stop mode: copying with the target stopped */
	LG_PHASE_FINISH,	/* notes, headers, the file's name */
};

struct lg_progress {
	/* Called on every change; END at the end of a phase (its last state). */
	void (*update)(struct lg_progress *p, bool end);
	enum lg_progress_phase phase;
	int pass;			/* the pre-copy pass, or -1 */
	/* Bytes of this phase's work done (copied, or found to need no
	 * copy: never-touched pages, holes) and to do; TOTAL 0: unknown. */
	uint64_t done, total;
	uint64_t copied;		/* bytes read from the target by the whole dump */
	uint64_t pause_ns;		/* how long the stops that ended lasted */
	uint64_t stop_since_ns;		/* lg_now_ns() a stop began, 0 while running */
	/* The stop in progress is meant to last milliseconds (every stop but
	 * stop mode's and a slow reader's): showing anything then would make
	 * it longer, so UPDATE should only note the state. */
	bool brief;
};

const char *lg_progress_phase_name(enum lg_progress_phase ph);

/* A new phase PH (PASS, or -1) with TOTAL bytes of work (0: unknown). */
void lg_progress_begin(struct lg_progress *p, enum lg_progress_phase ph, int pass,
		       uint64_t total);
/* The phase is over: its last state. */
void lg_progress_end(struct lg_progress *p);
/* N bytes copied from the target (COPIED) as part of the phase's work. */
void lg_progress_copied(struct lg_progress *p, uint64_t n);
/* The phase's work has reached DONE (without reading the target). */
void lg_progress_done(struct lg_progress *p, uint64_t done);
/* The target stopped at SINCE_NS (lg_now_ns), BRIEF as above; and resumed
 * after being stopped PAUSE_NS. */
void lg_progress_stopped(struct lg_progress *p, uint64_t since_ns, bool brief);
void lg_progress_resumed(struct lg_progress *p, uint64_t pause_ns);

#endif
