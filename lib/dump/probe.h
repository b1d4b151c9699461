/* lgcore --probe: what this kernel offers a dump and, for a process, which
 * mode and tracker a dump of it would use and why not the others.  Made of
 * the probes the dumps themselves run (lg_track_probe(), lg_snap_probe(),
 * lg_snapshot_possible()), so that it says what a dump would do. */
#ifndef LG_DUMP_PROBE_H
#define LG_DUMP_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/error.h"

/* One fact: KEY (a fixed name: "kernel", "tracker.uffd", "dump.file" ...),
 * its VALUE ("yes", "no", a tracker name, a version), and WHY (may be
 * empty). */
struct lg_probe_fact {
	char key[32];
	char value[64];
	char why[256];
};

#define LG_PROBE_MAX 24

struct lg_probe {
	struct lg_probe_fact f[LG_PROBE_MAX];
	size_t n;
};

/* The kernel's facts, and PID's (PID 0: none).  -ESRCH when PID is not
 * there; nothing else fails (an unreadable fact says so). */
int lg_dump_probe(pid_t pid, struct lg_probe *p, struct lg_error *err);

/* The value of KEY in P, or NULL. */
const char *lg_probe_value(const struct lg_probe *p, const char *key);

/* "KEY: VALUE (WHY)" lines, or one JSON object of {"KEY": {"value": ..,
 * "why": ..}}. */
int lg_probe_text(const struct lg_probe *p, struct lg_buf *out);
int lg_probe_json(const struct lg_probe *p, struct lg_buf *out);

#endif
