/* Termination requests while a dump runs.  Dying by SIGINT, SIGTERM,
 * SIGHUP or SIGPIPE in the middle of a dump would leave the target to the
 * kernel's clean-up of a dead tracer (released only at the very end of our
 * exit, after our files are closed) and a temporary file behind when the
 * file system has no O_TMPFILE.  So the tools block these signals and the
 * dump looks for them at points where failing is clean: it then fails
 * like any other error, releasing the target on its way out. */
#ifndef LG_COMMON_CANCEL_H
#define LG_COMMON_CANCEL_H

#include "common/error.h"

/* Block the termination signals in the calling thread (threads created
 * afterwards inherit the mask).  0 or -errno. */
int lg_cancel_block(void);

/* The lowest termination signal pending for this thread or process, 0
 * if none. */
int lg_cancel_pending(void);

/* 0 if nothing is pending, or -EINTR with "interrupted by SIGNAME". */
int lg_cancel_check(struct lg_error *err);

#endif
