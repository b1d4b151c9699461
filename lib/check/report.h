/* The outcome of lcorecheck: a list of checks (id, status, detail) plus the
 * consumers' view of each core (modules, backtraces) and the memory
 * differences.  Everything src/ prints or writes as JSON comes from here. */
#ifndef LG_CHECK_REPORT_H
#define LG_CHECK_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lg_check_status {
	LG_CHECK_PASS,
	LG_CHECK_FAIL,
	LG_CHECK_EXPECTED,	/* a legitimate gdb vs kernel-style difference */
	LG_CHECK_SKIP,
};

struct lg_check {
	char *id;		/* stable dotted name, e.g. "note.prstatus.size" */
	enum lg_check_status status;
	char *detail;
};

struct lg_check_list {
	struct lg_check *v;
	size_t n, cap;
	bool strict;		/* expected differences count as failures */
	bool oom;		/* an allocation failed: the list is incomplete */
};

/* Append a check; the detail is printf-formatted.  On allocation failure
 * the list's oom flag is set and the check is lost (callers test it once). */
void lg_check_add(struct lg_check_list *l, enum lg_check_status st, const char *id,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Append a difference that the expected-differences table row ROW explains:
 * status EXPECTED (FAIL under --strict), the row's reason appended. */
void lg_check_expected(struct lg_check_list *l, const char *row, const char *id,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A difference: one the row ROW explains (as lg_check_expected), or with
 * ROW NULL a failure. */
void lg_check_difference(struct lg_check_list *l, const char *row, const char *id,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
size_t lg_check_count(const struct lg_check_list *l, enum lg_check_status st);
/* Whether any check with this id prefix failed. */
bool lg_check_failed(const struct lg_check_list *l, const char *prefix);
void lg_check_list_free(struct lg_check_list *l);
const char *lg_check_status_name(enum lg_check_status st);

/* The table of expected differences (expected.c): one row per legitimate
 * difference between gdb's cores and kernel-style cores. */
struct lg_expected_row {
	const char *row;
	const char *reason;
};
extern const struct lg_expected_row lg_expected_table[];
extern const size_t lg_expected_table_len;
/* The reason for ROW, or NULL when the row does not exist. */
const char *lg_expected_reason(const char *row);

struct lg_frame {
	uint64_t pc;
	bool activation;	/* pc is exact (frame 0, signal frame); else a return address */
	char *name;		/* symbol or NULL */
	char *module;		/* module name or NULL */
};

struct lg_thread_bt {
	int tid;
	struct lg_frame *f;
	size_t n;
	char *error;		/* why unwinding stopped early, or NULL */
	/* Frames after this index were unwound without the unwinder's usual
	 * input (libunwind: a module without PT_GNU_EH_FRAME); -1 if none. */
	long degraded_at;
	char *degraded_why;
};

struct lg_backtrace {
	const char *unwinder;	/* "libdwfl" or "libunwind" */
	struct lg_thread_bt *t;
	size_t n;
	char *error;		/* the unwinder could not run at all */
};

void lg_backtrace_free(struct lg_backtrace *b);
const struct lg_thread_bt *lg_backtrace_thread(const struct lg_backtrace *b, int tid);

struct lg_module {
	char *name;
	uint64_t start, end;
	char build_id[129];	/* hex, "" when the module has none */
};

struct lg_modules {
	struct lg_module *v;
	size_t n;
};

void lg_modules_free(struct lg_modules *m);

/* One range of differing memory, reported by page. */
struct lg_memdiff {
	uint64_t page;		/* page-aligned address */
	uint64_t first;		/* first differing address in the page */
	size_t nbytes;		/* differing bytes in the page */
	uint8_t a, b;		/* the bytes at FIRST */
	bool expected;
	const char *row;	/* the row that explains it when expected */
};

struct lg_memdiffs {
	struct lg_memdiff *v;
	size_t n, cap;
	size_t total;		/* differing pages, also those beyond the stored ones */
};

void lg_memdiffs_free(struct lg_memdiffs *m);

#endif
