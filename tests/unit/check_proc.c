/* lib/proc: maps/smaps parsing on saved /proc files, and the live reads. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/proc.h"

static char *fixture(const char *name)
{
	static char path[4096];
	const char *dir = getenv("top_srcdir");
	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/%s", dir ? dir : "..", name);
	return path;
}

static void load(const char *name, struct lg_maps *m)
{
	struct lg_buf b = { 0 };
	struct lg_error e = { 0 };
	ck_assert_int_eq(lg_read_file(fixture(name), &b), 0);
	ck_assert_msg(lg_maps_parse((char *)b.p, m, &e) == 0, "%s", e.msg);
	lg_buf_free(&b);
}

static const struct lg_mapping *find(const struct lg_maps *m, uint64_t start)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].start == start)
			return &m->v[i];
	ck_abort_msg("no mapping at %lx", (unsigned long)start);
	return NULL;
}

START_TEST(features)
{
	struct lg_maps m;
	const struct lg_mapping *x;

	load("smaps-features.txt", &m);
	ck_assert_uint_eq(m.n, 29);

	x = find(&m, 0x7fcf112e7000);
	ck_assert_str_eq(x->name, "/tmp/with space.bin");
	ck_assert(!x->deleted && !x->shared && x->prot == LG_PROT_R);
	ck_assert(lg_mapping_is_file(x));

	x = find(&m, 0x7fcf112e6000);
	ck_assert_str_eq(x->name, "/tmp/gone.bin (deleted)");
	ck_assert(x->deleted && x->shared);
	ck_assert_uint_eq(x->inode, 10952881);
	ck_assert_uint_eq(x->dev_major, 0xfe);

	x = find(&m, 0x7fcf10e00000);		/* MADV_DONTDUMP */
	ck_assert(x->vmflags & LG_VM_DD);
	ck_assert_uint_eq(x->anonymous_kb, 8);
	ck_assert(lg_mapping_is_private_anon(x));

	x = find(&m, 0x7fcf10a00000);		/* THP */
	ck_assert_uint_eq(x->anonymous_kb, 4096);

	x = find(&m, 0x7fcf112eb000);
	ck_assert_str_eq(x->name, "[vvar]");
	ck_assert(lg_mapping_is_special(x) && !lg_mapping_is_file(x));
	ck_assert((x->vmflags & (LG_VM_PF | LG_VM_IO | LG_VM_DD)) == (LG_VM_PF | LG_VM_IO | LG_VM_DD));
	ck_assert(lg_mapping_is_special(find(&m, 0x7fcf112ef000)));	/* [vvar_vclock] */

	x = find(&m, 0xffffffffff600000);
	ck_assert_str_eq(x->name, "[vsyscall]");
	ck_assert_uint_eq(x->end, 0xffffffffff601000);
	ck_assert_uint_eq(x->prot, LG_PROT_X);

	x = find(&m, 0x7fcf11122000);
	ck_assert_uint_eq(x->offset, 0x26000);
	ck_assert_uint_eq(x->prot, LG_PROT_R | LG_PROT_X);

	x = find(&m, 0x7fcf112e4000);		/* PROT_NONE */
	ck_assert_uint_eq(x->prot, 0);
	ck_assert_str_eq(x->name, "");
	lg_maps_free(&m);
}
END_TEST

START_TEST(edge)
{
	struct lg_maps m;
	const struct lg_mapping *x;

	load("smaps-edge.txt", &m);
	ck_assert_uint_eq(m.n, 6);
	ck_assert(m.v[0].vmflags & LG_VM_HT);
	ck_assert(m.v[0].shared && m.v[0].deleted);
	x = &m.v[2];
	ck_assert_str_eq(x->name, "/tmp/line\nbreak.so");
	ck_assert_uint_eq(m.v[3].swap_kb, 4);
	ck_assert(m.v[5].vmflags & LG_VM_IO);
	lg_maps_free(&m);
}
END_TEST

/* The three userfaultfd registrations smaps shows: missing (um), write
 * protect (uw), minor (ui). */
START_TEST(smaps_userfaultfd)
{
	struct lg_maps m;

	load("smaps-uffd.txt", &m);
	ck_assert_uint_eq(m.n, 3);
	ck_assert(m.v[0].vmflags & LG_VM_UM);
	ck_assert(!(m.v[0].vmflags & (LG_VM_UW | LG_VM_UI)));
	ck_assert(m.v[0].shared && lg_mapping_is_file(&m.v[0]));
	ck_assert(m.v[1].vmflags & LG_VM_UW);
	ck_assert(!(m.v[1].vmflags & (LG_VM_UM | LG_VM_UI)));
	ck_assert(m.v[2].vmflags & LG_VM_UI);
	ck_assert(!(m.v[2].vmflags & (LG_VM_UM | LG_VM_UW)));
	lg_maps_free(&m);
}
END_TEST

START_TEST(plain_maps_and_errors)
{
	struct lg_maps m;
	struct lg_error e = { 0 };

	ck_assert_int_eq(lg_maps_parse("00400000-00401000 r-xp 00000000 08:01 12 /bin/x\n", &m, &e), 0);
	ck_assert_uint_eq(m.n, 1);
	ck_assert(!m.v[0].has_smaps);
	lg_maps_free(&m);

	ck_assert_int_eq(lg_maps_parse("", &m, &e), 0);
	ck_assert_uint_eq(m.n, 0);

	ck_assert_int_lt(lg_maps_parse("00400000-00401000 r-xp zz\n", &m, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "line 1"));
	ck_assert_int_lt(lg_maps_parse("Rss: 4 kB\n", &m, &e), 0);
	ck_assert_int_lt(lg_maps_parse("00401000-00400000 r-xp 00000000 08:01 12 /x\n", &m, &e), 0);
}
END_TEST

START_TEST(live_self)
{
	struct lg_procinfo pi;
	struct lg_threadinfo ti;
	struct lg_maps m;
	struct lg_error e = { 0 };
	pid_t *tids;
	size_t n, i;
	bool stack = false;

	ck_assert_msg(lg_procinfo_read(getpid(), &pi, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pi.pid, getpid());
	ck_assert_int_eq(pi.ppid, getppid());
	ck_assert_int_eq(pi.pgrp, getpgrp());
	ck_assert_int_eq(pi.uid, getuid());
	ck_assert(pi.auxv.len > 0 && pi.auxv.len % 16 == 0);
	ck_assert_str_eq(pi.comm, "check_proc");
	ck_assert_ptr_nonnull(strstr(pi.psargs, "check_proc"));
	lg_procinfo_free(&pi);

	ck_assert_int_eq(lg_threadinfo_read(getpid(), getpid(), true, &ti, &e), 0);
	ck_assert_int_eq(ti.state, 'R');

	ck_assert_int_eq(lg_tasks_list(getpid(), &tids, &n, &e), 0);
	ck_assert_uint_ge(n, 1);
	ck_assert_int_eq(tids[0], getpid());
	free(tids);

	ck_assert_int_eq(lg_maps_read(getpid(), true, &m, &e), 0);
	for (i = 0; i < m.n; i++)
		stack |= !strcmp(m.v[i].name, "[stack]") && m.v[i].has_smaps;
	ck_assert(stack);
	lg_maps_free(&m);

	ck_assert_int_eq(lg_procinfo_read(0x7ffffff0, &pi, &e), -ENOENT);
}
END_TEST

START_TEST(psargs_truncated_like_the_kernel)
{
	/* argv of 100+ bytes: pr_psargs keeps 79 bytes, NULs become spaces. */
	pid_t child;
	struct lg_procinfo pi;
	struct lg_error e = { 0 };
	char arg[120];
	int tries;

	memset(arg, 'x', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = 0;
	child = fork();
	if (child == 0) {
		execlp("sh", "sh", "-c", "sleep 30; :", "lg", arg, (char *)NULL);
		_exit(127);
	}
	for (tries = 0; tries < 200; tries++) {
		ck_assert_msg(lg_procinfo_read(child, &pi, &e) == 0, "%s", e.msg);
		/* comm changes in the middle of execve: begin_new_exec()
		 * sets it, and only later does the ELF loader set the new
		 * mm's arg_start/arg_end (setup_arg_pages, create_elf_tables;
		 * Linux 5.x-6.x).  In between, cmdline reads empty. */
		if (!strcmp(pi.comm, "sh") && pi.psargs[0])
			break;
		lg_procinfo_free(&pi);
		usleep(10000);
	}
	ck_assert_str_eq(pi.comm, "sh");
	ck_assert_uint_eq(strlen(pi.psargs), 79);
	ck_assert_msg(!strncmp(pi.psargs, "sh -c sleep 30; : lg xxxx", 25), "psargs '%s'", pi.psargs);
	lg_procinfo_free(&pi);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}
END_TEST

/* The state letter alone, for a process running, stopped, and gone. */
START_TEST(state_letter)
{
	pid_t child;
	char st = 0;
	int status;

	ck_assert_int_eq(lg_proc_state(getpid(), &st), 0);
	ck_assert_int_eq(st, 'R');
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	ck_assert_int_eq(kill(child, SIGSTOP), 0);
	ck_assert_int_eq(waitpid(child, &status, WUNTRACED), child);
	ck_assert(WIFSTOPPED(status));
	/* The stop is in /proc by the time waitpid reports it. */
	ck_assert_int_eq(lg_proc_state(child, &st), 0);
	ck_assert_int_eq(st, 'T');
	kill(child, SIGKILL);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	/* Reaped: its /proc directory is gone. */
	ck_assert_int_eq(lg_proc_state(child, &st), -ENOENT);
	ck_assert_int_eq(lg_proc_state(0x7ffffff0, &st), -ENOENT);
}
END_TEST

/* A memfd is listed while open (twice when duplicated) and not once
 * closed; a mapping of it does not count as open. */
START_TEST(open_files_self)
{
	struct lg_fileids f = { 0 };
	struct lg_error e = { 0 };
	struct stat st;
	size_t i, seen;
	void *p;
	int fd = memfd_create("check-proc", MFD_CLOEXEC), fd2;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	fd2 = dup(fd);
	ck_assert_msg(lg_proc_open_files(getpid(), &f, &e) == 0, "%s", e.msg);
	ck_assert(lg_fileids_has(&f, major(st.st_dev), minor(st.st_dev), st.st_ino));
	for (i = 0, seen = 0; i < f.n; i++) {
		if (i)
			ck_assert(f.v[i - 1].dev < f.v[i].dev ||
				  (f.v[i - 1].dev == f.v[i].dev && f.v[i - 1].ino <= f.v[i].ino));
		seen += f.v[i].dev == st.st_dev && f.v[i].ino == st.st_ino;
	}
	ck_assert_uint_eq(seen, 2);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	close(fd);
	close(fd2);
	ck_assert_int_eq(lg_proc_open_files(getpid(), &f, &e), 0);
	ck_assert(!lg_fileids_has(&f, major(st.st_dev), minor(st.st_dev), st.st_ino));
	ck_assert_int_eq(lg_proc_open_files(0x7ffffff0, &f, &e), -ENOENT);
	munmap(p, 4096);
	lg_fileids_free(&f);
}
END_TEST

Suite *unit_suite(void);

Suite *unit_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("maps");
	tcase_add_test(tc, features);
	tcase_add_test(tc, edge);
	tcase_add_test(tc, smaps_userfaultfd);
	tcase_add_test(tc, plain_maps_and_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("live");
	tcase_add_test(tc, live_self);
	tcase_add_test(tc, psargs_truncated_like_the_kernel);
	tcase_add_test(tc, state_letter);
	tcase_add_test(tc, open_files_self);
	suite_add_tcase(s, tc);
	return s;
}
