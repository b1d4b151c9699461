#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

static int vset(struct lg_error *e, int code, int with_reason, const char *fmt, va_list ap)
{
	if (code <= 0)
		code = EIO;
	if (e) {
		int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		if (with_reason && n >= 0 && (size_t)n < sizeof(e->msg))
			snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(code));
		e->code = code;
	}
	return -code;
}

int lg_fail(struct lg_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vset(e, code, 1, fmt, ap);
	va_end(ap);
	return r;
}

int lg_failx(struct lg_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vset(e, code, 0, fmt, ap);
	va_end(ap);
	return r;
}

void lg_error_prefix(struct lg_error *e, const char *fmt, ...)
{
	char old[sizeof(e->msg)], pre[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	snprintf(e->msg, sizeof(e->msg), "%s: %s", pre, old);
}

void lg_error_clear(struct lg_error *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}
