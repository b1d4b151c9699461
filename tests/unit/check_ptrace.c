/* lib/ptrace: every thread stopped and released as it was; signals kept;
 * a stopped process stays stopped; another tracer is named. */
#include <check.h>
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arch.h"
#include "proc/proc.h"
#include "ptrace/ptrace.h"

static pid_t child;
static int report[2];	/* child -> test */

static void *sleeper(void *a)
{
	for (;;)
		sleep(100);
	return a;
}

static void *reader(void *a)
{
	int p[2];
	char c;
	if (pipe(p) == 0)
		while (read(p[0], &c, 1) < 0)
			;
	return a;
}

static void on_usr1(int sig)
{
	if (write(report[1], "U", 1) != 1)
		_exit(3);
}

static void start_child(void)
{
	char c;

	ck_assert_int_eq(pipe(report), 0);
	child = fork();
	if (child == 0) {
		pthread_t t1, t2;
		signal(SIGUSR1, on_usr1);
		pthread_create(&t1, NULL, sleeper, NULL);
		pthread_create(&t2, NULL, reader, NULL);
		usleep(50000);
		if (write(report[1], "R", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	ck_assert_int_eq(read(report[0], &c, 1), 1);
	ck_assert_int_eq(c, 'R');
}

static void stop_child(void)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(report[0]);
	close(report[1]);
}

static char state_of(pid_t tid)
{
	struct lg_threadinfo ti;
	ck_assert_int_eq(lg_threadinfo_read(child, tid, false, &ti, NULL), 0);
	return ti.state;
}

static pid_t tracer_of(pid_t pid)
{
	struct lg_procinfo pi;
	pid_t t;
	ck_assert_int_eq(lg_procinfo_read(pid, &pi, NULL), 0);
	t = pi.tracer;
	lg_procinfo_free(&pi);
	return t;
}

START_TEST(stop_and_release_running)
{
	struct lg_tgroup g;
	struct lg_error e = { 0 };
	size_t i;

	ck_assert_msg(lg_ptrace_stop_all(child, 0, &g, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(g.n, 3);
	ck_assert_int_eq(g.t[0].tid, child);
	for (i = 0; i < g.n; i++) {
		ck_assert_int_eq(state_of(g.t[i].tid), 't');
		ck_assert(!g.t[i].group_stop);
		ck_assert_int_eq(lg_ptrace_get_regs(&g.t[i], &e), 0);
		ck_assert_uint_eq(g.t[i].gregs.len, lg_arch_gregs_size);
		ck_assert_uint_eq(g.t[i].regsets[0].len, 512);
		ck_assert_uint_ge(g.t[i].regsets[1].len, 576);	/* legacy + header at least */
		ck_assert_uint_ne(lg_arch_reg_sp(g.t[i].gregs.p), 0);
	}
	ck_assert_int_eq(tracer_of(child), getpid());
	ck_assert_int_eq(lg_ptrace_release_all(&g, &e), 0);
	usleep(20000);
	ck_assert_int_eq(tracer_of(child), 0);
	for (i = 0; i < g.n; i++)
		ck_assert_int_eq(state_of(g.t[i].tid), 'S');
	lg_tgroup_free(&g);
}
END_TEST

START_TEST(xsave_layout_matches_xstate)
{
	/* The layout note must describe exactly the XSTATE the core gets
	 * from what the kernel hands us: its last component ends where that
	 * note ends, and each component holds the kernel's bytes of it (found
	 * at its CPUID offset). */
	struct lg_tgroup g;
	struct lg_error e = { 0 };
	struct lg_buf notes = { 0 }, xs = { 0 };
	struct lg_arch_core ac = { 0 };
	uint32_t h[3], rec[4], end = 576;
	unsigned int a, b, c, d;
	size_t off, i;

	ck_assert_int_eq(lg_ptrace_stop_all(child, 0, &g, &e), 0);
	ck_assert_int_eq(lg_ptrace_get_regs(&g.t[0], &e), 0);
	for (i = 0; i < lg_arch_nregsets; i++)
		lg_arch_core_scan(&ac, i, g.t[0].regsets[i].p, g.t[0].regsets[i].len);
	ck_assert_int_eq(lg_arch_process_notes(&ac, &notes), 0);
	ck_assert_int_eq(lg_arch_regset_note(&ac, 1, g.t[0].regsets[1].p, g.t[0].regsets[1].len, &xs), 0);
	if (notes.len) {
		memcpy(h, notes.p, sizeof(h));
		ck_assert_uint_eq(h[2], 0x205);
		ck_assert_str_eq((char *)notes.p + 12, "LINUX");
		ck_assert_uint_eq(h[1] % 16, 0);
		for (i = 0, off = 12 + 8; i < h[1] / 16; i++, off += 16) {
			memcpy(rec, notes.p + off, sizeof(rec));
			ck_assert_uint_ge(rec[0], 2);
			ck_assert_uint_ge(rec[2], 576);
			if (rec[2] + rec[1] > end)
				end = rec[2] + rec[1];
			__cpuid_count(0xd, rec[0], a, b, c, d);
			ck_assert_uint_eq(a, rec[1]);
			ck_assert_uint_le(b + a, g.t[0].regsets[1].len);
			ck_assert_mem_eq(xs.p + rec[2], g.t[0].regsets[1].p + b, a);
		}
		ck_assert_uint_eq(end, xs.len);
	}
	lg_buf_free(&notes);
	lg_buf_free(&xs);
	ck_assert_int_eq(lg_ptrace_release_all(&g, &e), 0);
	lg_tgroup_free(&g);
}
END_TEST

START_TEST(stopped_stays_stopped)
{
	struct lg_tgroup g;
	struct lg_error e = { 0 };
	size_t i;

	kill(child, SIGSTOP);
	usleep(20000);
	ck_assert_int_eq(lg_ptrace_stop_all(child, 0, &g, &e), 0);
	for (i = 0; i < g.n; i++)
		ck_assert(g.t[i].group_stop);
	ck_assert_int_eq(lg_ptrace_release_all(&g, &e), 0);
	usleep(20000);
	for (i = 0; i < g.n; i++)
		ck_assert_int_eq(state_of(g.t[i].tid), 'T');
	ck_assert_int_eq(tracer_of(child), 0);
	lg_tgroup_free(&g);
	kill(child, SIGCONT);
}
END_TEST

START_TEST(signal_during_stop_is_delivered)
{
	struct lg_tgroup g;
	struct lg_error e = { 0 };
	char c;

	ck_assert_int_eq(lg_ptrace_stop_all(child, 0, &g, &e), 0);
	kill(child, SIGUSR1);
	usleep(20000);
	ck_assert_int_eq(lg_ptrace_release_all(&g, &e), 0);
	ck_assert_int_eq(read(report[0], &c, 1), 1);
	ck_assert_int_eq(c, 'U');
	lg_tgroup_free(&g);
}
END_TEST

START_TEST(other_tracer_is_named)
{
	struct lg_tgroup g;
	struct lg_error e = { 0 };
	int st;
	pid_t helper;

	ck_assert_int_eq(lg_ptrace_stop_all(child, 0, &g, &e), 0);
	helper = fork();
	if (helper == 0) {
		struct lg_tgroup g2;
		struct lg_error e2 = { 0 };
		char want[64];
		int r = lg_ptrace_stop_all(child, 0, &g2, &e2);
		snprintf(want, sizeof(want), "already traced by another debugger (pid %d)", (int)getppid());
		_exit(r == -EPERM && !strcmp(e2.msg, want) ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(helper, &st, 0), helper);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(lg_ptrace_release_all(&g, &e), 0);
	lg_tgroup_free(&g);
}
END_TEST

START_TEST(no_such_process)
{
	struct lg_tgroup g;
	struct lg_error e = { 0 };

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ck_assert_int_eq(lg_ptrace_stop_all(child, 0, &g, &e), -ESRCH);
	ck_assert_str_eq(e.msg, "no such process");
}
END_TEST

Suite *unit_suite(void);

Suite *unit_suite(void)
{
	Suite *s = suite_create("ptrace");
	TCase *tc = tcase_create("child");
	tcase_add_checked_fixture(tc, start_child, stop_child);
	tcase_add_test(tc, stop_and_release_running);
	tcase_add_test(tc, xsave_layout_matches_xstate);
	tcase_add_test(tc, stopped_stays_stopped);
	tcase_add_test(tc, signal_during_stop_is_delivered);
	tcase_add_test(tc, other_tracer_is_named);
	tcase_add_test(tc, no_such_process);
	suite_add_tcase(s, tc);
	return s;
}
