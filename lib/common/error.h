/* Errors as library code reports them: a negative errno for the caller's
 * control flow plus one line of context for the tool to print.  Library code
 * never prints; src/ decides what the user sees. */
#ifndef LG_COMMON_ERROR_H
#define LG_COMMON_ERROR_H

#include <stddef.h>

struct lg_error {
	int code;		/* positive errno, 0 when no error was set */
	char msg[512];		/* one line, no trailing newline */
};

/* Set the message to "FMT: strerror(code)" and return -code. */
int lg_fail(struct lg_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Set the message to FMT alone (the reason is already in it); return -code. */
int lg_failx(struct lg_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix an existing message with more context ("FMT: old message"). */
void lg_error_prefix(struct lg_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lg_error_clear(struct lg_error *e);

#endif
