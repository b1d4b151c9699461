/* The kill harness of the fault matrix: runs lgcore on a victim again and
 * again, kills (or stops) lgcore a given number of microseconds after an
 * event of its dump, and checks after every trial that the victim was not
 * harmed.
 *
 *   faultrun [options] PLAN...
 *     --lgcore PATH     the lgcore to test
 *     --victim PATH     tests/faults/victim
 *     --mode MODE       the victim's mode (busy, spin, seccomp, uffd, churn,
 *                       exit, leader-exit)
 *     --dir DIR         scratch directory (output cores, victim status)
 *     --arg ARG         one more argument for lgcore (repeatable)
 *     --out FILE        one line per trial (TSV), appended
 *     --timeout SEC     lgcore must end within SEC seconds (default 30)
 *     --watchdog        after a SIGSTOP of lgcore in one of its stops, the
 *                       victim must be free before the SIGCONT (give
 *                       lgcore a --max-pause well below the STOP's MS)
 *
 *   PLAN is EVENT:FROM:TO:STEP[:SIGNAL[:MS]]: for every delay FROM, FROM +
 *   STEP ... TO (microseconds), one trial that sends SIGNAL (KILL, INT,
 *   TERM, HUP, PIPE, STOP for MS milliseconds, or NONE) to lgcore that long after
 *   EVENT: "start" (lgcore was started), "attachN" (the Nth time the
 *   victim's TracerPid became non-zero), "detachN" (the Nth time it went
 *   back to 0).  Events are seen by polling /proc/VICTIM/status every
 *   20-30 microseconds; the delay after one is kept to a microsecond.  For the exit and
 *   leader-exit victims, a fresh victim each trial exits DELAY after lgcore
 *   started; nothing is sent to lgcore, which must end by itself.
 *
 * After every trial: the victim is alive and runs (no thread in state T or
 * t, every thread's counters move), no thread is traced, no mapping has
 * "uw" in VmFlags, the victim saw no harm itself, and the output directory
 * holds nothing but a complete core when lgcore succeeded, and that core
 * holds the victim's canary pages byte for byte.  A termination signal
 * (INT, TERM, HUP, PIPE) that reached lgcore before its core was named
 * must end it with exit 1 and "interrupted by SIGNAME".  Processes lgcore
 * leaves behind (its keeper) end within 10 s.  Descriptors of
 * anon_inode:[userfaultfd] left in the victim are reported (not failed).
 * The summary groups trials by the phase lgcore was in when the signal
 * went out.  Exit status: 0 no harm, no hang and no wrong core, 1
 * otherwise, 2 usage. */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "victim.h"

#define MAXARGS 16
#define NPHASES 8

static const char *lgcore_path, *victim_path, *mode = "busy", *dir;
static const char *lgargs[MAXARGS];
static int nlgargs;
static FILE *out;
static int timeout_s = 30;
static bool per_trial;		/* exit, leader-exit: a fresh victim each trial */
static bool watchdog;		/* --watchdog: see trial() */

static pid_t victim;
static int victim_out = -1;
static struct lg_victim_status *st;
static int ref_attaches;	/* TracerPid 0 -> non-0 transitions of a whole dump */

static const char *phase_names[NPHASES] = {
	"start-up", "set-up stop", "passes", "final stop", "other stop",
	"teardown/finish", "after lgcore ended", "victim exits"
};
struct phase_stat {
	unsigned trials, harmed, hangs, leaked;
	uint64_t maxgap_ns;
};
static struct phase_stat stats[NPHASES];
static unsigned total_harm, total_hang, total_badcore, total_badexit, total_leftover;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec t = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

/* Read a small /proc file through FD from offset 0 (no reopen). */
static ssize_t reread(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

static long status_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* --- the victim ------------------------------------------------------------ */

static int victim_start(uint64_t exit_us)
{
	char spath[PATH_MAX], buf[64], env[64];
	int p[2], fd;
	ssize_t n;
	size_t got = 0;

	snprintf(spath, sizeof(spath), "%s/victim-status", dir);
	unlink(spath);
	if (pipe(p))
		return -1;
	victim = fork();
	if (victim < 0)
		return -1;
	if (victim == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		snprintf(env, sizeof(env), "%llu", (unsigned long long)exit_us);
		setenv("VICTIM_EXIT_US", env, 1);
		execl(victim_path, victim_path, mode, spath, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	victim_out = p[0];
	while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
		n = read(victim_out, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	fd = open(spath, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (st)
		munmap(st, sizeof(*st));
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (st == MAP_FAILED || st->magic != LG_VICTIM_MAGIC)
		return -1;
	return 0;
}

static void victim_stop(void)
{
	int s;
	if (victim > 0) {
		kill(victim, SIGKILL);
		waitpid(victim, &s, 0);
	}
	victim = 0;
	if (victim_out >= 0)
		close(victim_out);
	victim_out = -1;
}

/* Every thread released and running: none traced, none in T or t. */
static int threads_free(char *why, size_t len)
{
	char path[PATH_MAX], buf[4096];
	struct dirent *de;
	DIR *d;
	int bad = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)victim);
	if (!(d = opendir(path))) {
		snprintf(why, len, "no /proc entry");
		return -1;
	}
	while (!bad && (de = readdir(d))) {
		int fd;
		const char *s;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)victim, de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;	/* exited meanwhile */
		reread(fd, buf, sizeof(buf));
		close(fd);
		if (status_field(buf, "TracerPid:") > 0) {
			snprintf(why, len, "thread %s still traced", de->d_name);
			bad = 1;
		} else if ((s = strstr(buf, "State:")) && (strstr(s, "\tT") == s + 6 ||
							    strstr(s, "\tt") == s + 6)) {
			snprintf(why, len, "thread %s left stopped", de->d_name);
			bad = 1;
		}
	}
	closedir(d);
	return bad;
}

static int uw_mappings(void)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)victim);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmFlags:", 8) && strstr(line, " uw"))
			n++;
	fclose(f);
	return n;
}

static int uffd_fds(void)
{
	char path[PATH_MAX], link[128];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)victim);
	if (!(d = opendir(path)))
		return -1;
	while ((de = readdir(d))) {
		ssize_t k;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)victim, de->d_name);
		k = readlink(path, link, sizeof(link) - 1);
		if (k > 0) {
			link[k] = 0;
			if (!strcmp(link, "anon_inode:[userfaultfd]"))
				n++;
		}
	}
	closedir(d);
	return n;
}

/* Every counter the victim's threads move moves again. */
static int victim_runs(char *why, size_t len)
{
	uint64_t before[16], beats = st->beats, t0 = now_ns();
	unsigned i, need = 0;

	memcpy(before, (void *)st->progress, sizeof(before));
	for (i = 0; i < 16; i++)
		if (before[i])
			need |= 1u << i;
	while (now_ns() - t0 < 2000000000ull) {
		unsigned moved = 0;
		for (i = 0; i < 16; i++)
			if (st->progress[i] != before[i])
				moved |= 1u << i;
		if ((moved & need) == need && st->beats != beats)
			return 0;
		sleep_ns(2000000);
	}
	for (i = 0; i < 16; i++)
		if ((need & (1u << i)) && st->progress[i] == before[i])
			break;
	snprintf(why, len, "victim does not run (counter %u or heartbeat stuck)", i);
	return -1;
}

/* --- one trial --------------------------------------------------------------- */

struct plan {
	char event[16];
	int event_no;		/* N of attachN/detachN */
	long from, to, step;
	int sig;
	long stop_ms;
};

static pid_t start_lgcore(void)
{
	char opt[PATH_MAX], pid[16];
	const char *argv[MAXARGS + 8];
	int n = 0, i;
	pid_t p;

	snprintf(opt, sizeof(opt), "%s/core", dir);
	snprintf(pid, sizeof(pid), "%d", (int)victim);
	argv[n++] = lgcore_path;
	for (i = 0; i < nlgargs; i++)
		argv[n++] = lgargs[i];
	argv[n++] = "-o";
	argv[n++] = opt;
	argv[n++] = pid;
	argv[n] = NULL;
	p = fork();
	if (p == 0) {
		int fd = open("/dev/null", O_WRONLY);
		char log[PATH_MAX];
		snprintf(log, sizeof(log), "%s/lgcore.err", dir);
		dup2(fd, 1);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execv(lgcore_path, (char **)argv);
		_exit(127);
	}
	return p;
}

/* Processes lgcore left behind when it died (its keeper, see
 * lib/elfcore/file.c) are reparented to us, a child subreaper: they must
 * end by themselves within LEFTOVER_S seconds.  1 if one did not (it is
 * killed), with WHY set. */
#define LEFTOVER_S 10
static int reap_leftovers(char *why, size_t len)
{
	uint64_t t0 = now_ns();
	int bad = 0;

	for (;;) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		pid_t left = 0;

		if (!d)
			return 0;
		while ((de = readdir(d)) && !left) {
			char path[64], buf[512], *p;
			long pid = strtol(de->d_name, &p, 10);
			int fd;
			ssize_t n;

			if (*p || pid <= 0 || pid == victim)
				continue;
			snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = 0;
			p = strrchr(buf, ')');
			if (p && strtol(p + 4, NULL, 10) == (long)getpid())
				left = (pid_t)pid;
		}
		closedir(d);
		if (!left)
			return bad;
		if (waitpid(left, NULL, WNOHANG) == left)
			continue;
		if (now_ns() - t0 > LEFTOVER_S * 1000000000ull) {
			snprintf(why, len, "process %d, left by lgcore, did not end within %d s",
				 (int)left, LEFTOVER_S);
			kill(left, SIGKILL);
			waitpid(left, NULL, 0);
			bad = 1;
			continue;
		}
		sleep_ns(1000000);
	}
}

/* Wait for P with a deadline; 1 if it did not end (then it is killed). */
static int wait_deadline(pid_t p, int *status)
{
	uint64_t t0 = now_ns();
	for (;;) {
		pid_t w = waitpid(p, status, WNOHANG);
		if (w == p)
			return 0;
		if (now_ns() - t0 > (uint64_t)timeout_s * 1000000000ull) {
			kill(p, SIGKILL);
			waitpid(p, status, 0);
			return 1;
		}
		sleep_ns(1000000);
	}
}

struct watch {
	bool sent;		/* the signal went out */
	bool exited;		/* lgcore ended while we watched: status is set */
	bool saved_before;	/* the core had its name right after the signal */
	bool held_after_stop;	/* SIGSTOP: the victim still traced when it ended */
	int status, phase, attaches;
};

/* Trace events as lgcore runs and send the signal DELAY us after the
 * planned event; note the phase lgcore was in at that moment. */
static void watch_and_signal(pid_t lg, const struct plan *pl, long delay, struct watch *w)
{
	char path[64], buf[2048];
	int fd, detaches = 0;
	bool traced = false, fired = false;
	uint64_t t_event = 0, t0 = now_ns();

	memset(w, 0, sizeof(*w));
	w->phase = 6;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)victim);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!strcmp(pl->event, "start"))
		t_event = t0, fired = true;
	while (!w->sent && now_ns() - t0 < (uint64_t)timeout_s * 1000000000ull) {
		if (fd >= 0 && reread(fd, buf, sizeof(buf)) > 0) {
			long tp = status_field(buf, "TracerPid:");
			if (tp > 0 && !traced) {
				traced = true;
				w->attaches++;
				if (!fired && !strcmp(pl->event, "attach") && w->attaches == pl->event_no)
					t_event = now_ns(), fired = true;
			} else if (tp == 0 && traced) {
				traced = false;
				detaches++;
				if (!fired && !strcmp(pl->event, "detach") && detaches == pl->event_no)
					t_event = now_ns(), fired = true;
			}
		}
		if (fired) {
			/* Sleep through most of the delay, spin the rest. */
			uint64_t due = t_event + (uint64_t)delay * 1000, t = now_ns();
			if (due > t + 200000)
				sleep_ns(due - t - 200000);
		} else {
			/* Between polls, let the CPUs to the victim, lgcore and
			 * the tests that run beside this one (timer slack 1 ns:
			 * the sleep is about 20 us, an event is seen within it). */
			sleep_ns(20000);
		}
		if (fired && now_ns() - t_event >= (uint64_t)delay * 1000) {
			if (pl->sig) {
				char core[PATH_MAX];
				kill(lg, pl->sig);
				snprintf(core, sizeof(core), "%s/core.%d", dir, (int)victim);
				w->saved_before = access(core, F_OK) == 0;
				if (pl->sig == SIGSTOP) {
					sleep_ns((uint64_t)pl->stop_ms * 1000000);
					if (fd >= 0 && reread(fd, buf, sizeof(buf)) > 0)
						w->held_after_stop = status_field(buf, "TracerPid:") > 0;
					kill(lg, SIGCONT);
				}
			}
			w->sent = true;
			if (w->attaches == 0)
				w->phase = 0;
			else if (traced && w->attaches == 1)
				w->phase = 1;
			else if (traced && w->attaches == ref_attaches)
				w->phase = 3;
			else if (traced)
				w->phase = 4;
			else if (w->attaches < ref_attaches)
				w->phase = 2;
			else
				w->phase = 5;
		}
		if (!w->sent && waitpid(lg, &w->status, WNOHANG) == lg) {
			w->exited = true;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
}

/* A core the dump completed: an ELF core whose every segment is in the
 * file.  lgcore links it under its name only when it is complete, so one
 * can be there after a kill during the last instants of the dump. */
static bool core_complete(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	struct stat sb;
	bool ok = false, note = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC), i;

	if (fd < 0)
		return false;
	if (fstat(fd, &sb) || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_type != ET_CORE)
		goto out;
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) !=
		    sizeof(ph))
			goto out;
		if (ph.p_offset + ph.p_filesz > (uint64_t)sb.st_size)
			goto out;
		note |= ph.p_type == PT_NOTE;
	}
	ok = note;
out:
	close(fd);
	return ok;
}

/* Does the core lgcore saved hold the victim's canary, byte for byte?
 * Only the pages' last state can be there: the victim never writes them
 * after it starts. */
static bool core_holds_canary(char *why, size_t len)
{
	uint64_t addr = st->canary_addr, n = st->canary_len, i;
	char path[PATH_MAX];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	Elf64_Shdr sh;
	uint8_t buf[8192];
	unsigned phnum, k;
	bool found = false;
	int fd;

	snprintf(path, sizeof(path), "%s/core.%d", dir, (int)victim);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || n > sizeof(buf)) {
		snprintf(why, len, "cannot read %s", path);
		goto out;
	}
	phnum = eh.e_phnum;
	if (phnum == PN_XNUM) {
		if (pread(fd, &sh, sizeof(sh), (off_t)eh.e_shoff) != sizeof(sh))
			goto bad;
		phnum = sh.sh_info;
	}
	for (k = 0; k < phnum; k++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)k * sizeof(ph))) !=
		    sizeof(ph))
			goto bad;
		if (ph.p_type == PT_LOAD && ph.p_vaddr <= addr && addr + n <= ph.p_vaddr + ph.p_filesz)
			break;
	}
	if (k == phnum) {
		snprintf(why, len, "the core holds no data for the canary at 0x%llx",
			 (unsigned long long)addr);
		goto out;
	}
	if (pread(fd, buf, n, (off_t)(ph.p_offset + addr - ph.p_vaddr)) != (ssize_t)n)
		goto bad;
	for (i = 0; i < n && buf[i] == lg_victim_canary(i); i++)
		;
	if (i < n) {
		snprintf(why, len, "the core holds 0x%02x at 0x%llx, the victim 0x%02x", buf[i],
			 (unsigned long long)(addr + i), lg_victim_canary(i));
		goto out;
	}
	found = true;
	goto out;
bad:
	snprintf(why, len, "%s is truncated", path);
out:
	if (fd >= 0)
		close(fd);
	return found;
}

static int clean_dir(bool core_ok, char *why, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char want[64], path[PATH_MAX];
	int bad = 0;

	snprintf(want, sizeof(want), "core.%d", (int)victim);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		if (!strcmp(de->d_name, "victim-status") || !strcmp(de->d_name, "lgcore.err"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!bad && !((core_ok || core_complete(path)) && !strcmp(de->d_name, want))) {
			snprintf(why, len, "left %s in the output directory%s", de->d_name,
				 strcmp(de->d_name, want) ? "" : " (incomplete)");
			bad = 1;
		}
		unlink(path);
	}
	closedir(d);
	return bad;
}

static bool terminating(int sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGPIPE;
}

/* A termination signal that reached lgcore in its dump must end it with
 * exit status 1 and one line naming the signal; only a dump already
 * complete under its name may still end with 0. */
static bool signal_answered(const struct plan *pl, const struct watch *w, int lgst, char *why,
			    size_t len)
{
	char path[PATH_MAX], msg[512] = "", want[32];
	ssize_t n;
	int fd;

	if (!terminating(pl->sig) || !w->sent || w->exited)
		return true;
	if (WIFEXITED(lgst) && WEXITSTATUS(lgst) == 0 && w->saved_before)
		return true;
	snprintf(path, sizeof(path), "%s/lgcore.err", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, msg, sizeof(msg) - 1) : -1;
	msg[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	msg[strcspn(msg, "\n")] = 0;
	snprintf(want, sizeof(want), "interrupted by SIG%s", sigabbrev_np(pl->sig));
	if (WIFEXITED(lgst) && WEXITSTATUS(lgst) == 1 && strstr(msg, want))
		return true;
	if (WIFEXITED(lgst))
		snprintf(why, len, "SIG%s in the dump: lgcore exited %d, said '%.200s'",
			 sigabbrev_np(pl->sig), WEXITSTATUS(lgst), msg);
	else
		snprintf(why, len, "SIG%s in the dump: lgcore died by signal %d",
			 sigabbrev_np(pl->sig), WTERMSIG(lgst));
	return false;
}

static void trial(const struct plan *pl, long delay)
{
	char why[256] = "";
	int phase, lgst = 0, rc, leaked = 0, base_uffd = 0, vst;
	bool hung = false, harmed = false, badcore = false, badexit = false, leftover = false;
	struct watch w;
	uint64_t gap = 0;
	pid_t lg;

	if (per_trial) {
		if (victim_start((uint64_t)delay)) {
			fprintf(stderr, "faultrun: cannot start the victim\n");
			exit(2);
		}
		base_uffd = uffd_fds();
		lg = start_lgcore();
		hung = wait_deadline(lg, &lgst);
		phase = 7;
		/* The victim ends by itself; it must be reapable (no tracer
		 * holding its threads as zombies). */
		{
			uint64_t t0 = now_ns();
			while (waitpid(victim, &vst, WNOHANG) != victim) {
				if (now_ns() - t0 > 5000000000ull) {
					harmed = true;
					snprintf(why, sizeof(why), "victim not reapable after its exit");
					break;
				}
				sleep_ns(1000000);
			}
			if (!harmed)
				victim = 0;
		}
		victim_stop();
		if (!hung && !harmed && WIFEXITED(lgst) && WEXITSTATUS(lgst) == 0)
			clean_dir(true, why, sizeof(why));
		else if (!hung && !harmed && clean_dir(false, why, sizeof(why)))
			harmed = true;
		goto record;
	}

	__atomic_store_n(&st->maxgap_ns, 0, __ATOMIC_RELEASE);
	base_uffd = uffd_fds();
	lg = start_lgcore();
	watch_and_signal(lg, pl, delay, &w);
	phase = w.phase;
	if (w.exited)
		lgst = w.status;
	else
		hung = wait_deadline(lg, &lgst);
	/* Before the output directory is looked at: a keeper removes the
	 * temporary name of a core lgcore could not finish. */
	if (!hung && reap_leftovers(why, sizeof(why)))
		leftover = true;
	if (waitpid(victim, &vst, WNOHANG) == victim) {
		harmed = true;
		if (WIFSIGNALED(vst))
			snprintf(why, sizeof(why), "victim killed by signal %d", WTERMSIG(vst));
		else
			snprintf(why, sizeof(why), "victim exited with %d", WEXITSTATUS(vst));
		victim = 0;
	} else {
		uint64_t t0 = now_ns();
		/* Released threads leave t at once; allow the scheduler a moment. */
		while ((rc = threads_free(why, sizeof(why))) > 0 && now_ns() - t0 < 200000000ull)
			sleep_ns(1000000);
		if (rc) {
			harmed = true;
		} else if ((rc = uw_mappings()) != 0) {
			harmed = true;
			snprintf(why, sizeof(why), "%d mappings still uffd-wp registered", rc);
		} else if (st->bad) {
			harmed = true;
			snprintf(why, sizeof(why), "victim: %s", st->badmsg);
		} else if (victim_runs(why, sizeof(why))) {
			harmed = true;
		}
		leaked = uffd_fds() - base_uffd;
		gap = st->maxgap_ns;
	}
	if (!harmed) {
		bool ok = !hung && WIFEXITED(lgst) && WEXITSTATUS(lgst) == 0;
		if (ok && !core_holds_canary(why, sizeof(why)))
			badcore = true;
		if (!hung && !signal_answered(pl, &w, lgst, why, sizeof(why)))
			badexit = true;
		/* --watchdog: lgcore stopped (SIGSTOP) in one of its stops
		 * for longer than its --max-pause and a second must not hold
		 * the victim through it. */
		if (watchdog && pl->sig == SIGSTOP && (w.phase == 1 || w.phase >= 3) &&
		    w.phase <= 4 && w.held_after_stop) {
			snprintf(why, sizeof(why), "victim still held after lgcore was stopped %ld ms",
				 pl->stop_ms);
			badexit = true;
		}
		if (clean_dir(ok, why, sizeof(why)))
			harmed = true;
	} else {
		clean_dir(false, why, sizeof(why));
	}
record:
	if (hung && !why[0])
		snprintf(why, sizeof(why), "lgcore did not end within %d s", timeout_s);
	stats[phase].trials++;
	stats[phase].harmed += harmed;
	stats[phase].hangs += hung;
	stats[phase].leaked += leaked > 0;
	if (gap > stats[phase].maxgap_ns)
		stats[phase].maxgap_ns = gap;
	total_harm += harmed;
	total_hang += hung;
	total_badcore += badcore;
	total_badexit += badexit;
	total_leftover += leftover;
	if (out)
		fprintf(out, "%s\t%s%d\t%ld\t%s\t%s\t%d\t%s\t%d\t%llu\t%s\n", mode, pl->event,
			pl->event_no, delay, strsignal(pl->sig ? pl->sig : 0), phase_names[phase],
			WIFEXITED(lgst) ? WEXITSTATUS(lgst) : 128 + WTERMSIG(lgst),
			harmed ? "HARMED" : hung ? "HUNG" : badcore ? "BADCORE" : badexit ? "BADEXIT" :
			leftover ? "LEFTOVER" : "ok",
			leaked,
			(unsigned long long)(gap / 1000), why);
	if (badcore)
		fprintf(stderr, "faultrun: %s %s%d+%ldus: lgcore succeeded, but %s\n", mode, pl->event,
			pl->event_no, delay, why);
	if (leftover)
		fprintf(stderr, "faultrun: %s %s%d+%ldus: %s\n", mode, pl->event, pl->event_no, delay,
			why);
	if (badexit)
		fprintf(stderr, "faultrun: %s %s%d+%ldus: %s\n", mode, pl->event, pl->event_no, delay,
			why);
	if (harmed || hung) {
		fprintf(stderr, "faultrun: %s %s%d+%ldus: %s\n", mode, pl->event, pl->event_no,
			delay, why);
		if (!per_trial) {
			victim_stop();
			if (victim_start(0)) {
				fprintf(stderr, "faultrun: cannot restart the victim\n");
				exit(2);
			}
		}
	}
	sleep_ns(5000000);
}

static int parse_plan(const char *s, struct plan *pl)
{
	char sig[16] = "KILL";
	int n;

	memset(pl, 0, sizeof(*pl));
	n = sscanf(s, "%15[a-z]%d:%ld:%ld:%ld:%15[A-Z]:%ld", pl->event, &pl->event_no, &pl->from,
		   &pl->to, &pl->step, sig, &pl->stop_ms);
	if (!strncmp(s, "start:", 6)) {
		strcpy(pl->event, "start");
		n = sscanf(s, "start:%ld:%ld:%ld:%15[A-Z]:%ld", &pl->from, &pl->to, &pl->step, sig,
			   &pl->stop_ms);
		if (n < 3)
			return -1;
	} else if ((strcmp(pl->event, "attach") && strcmp(pl->event, "detach")) || n < 5 ||
		   pl->event_no < 1) {
		return -1;
	}
	if (pl->step <= 0 || pl->to < pl->from)
		return -1;
	if (!strcmp(sig, "KILL"))
		pl->sig = SIGKILL;
	else if (!strcmp(sig, "INT"))
		pl->sig = SIGINT;
	else if (!strcmp(sig, "TERM"))
		pl->sig = SIGTERM;
	else if (!strcmp(sig, "HUP"))
		pl->sig = SIGHUP;
	else if (!strcmp(sig, "PIPE"))
		pl->sig = SIGPIPE;
	else if (!strcmp(sig, "STOP"))
		pl->sig = SIGSTOP;
	else if (!strcmp(sig, "NONE"))
		pl->sig = 0;
	else
		return -1;
	return 0;
}

/* One dump without a signal: how many stops a whole dump has. */
static int reference_run(void)
{
	struct plan pl = { .event = "none" };
	struct watch w;
	char why[256];
	pid_t lg = start_lgcore();

	watch_and_signal(lg, &pl, 0, &w);
	if (!w.exited && wait_deadline(lg, &w.status))
		return -1;
	ref_attaches = w.attaches;
	if (!(ref_attaches > 0 && WIFEXITED(w.status) && WEXITSTATUS(w.status) == 0)) {
		clean_dir(false, why, sizeof(why));
		return -1;
	}
	if (!core_holds_canary(why, sizeof(why))) {
		fprintf(stderr, "faultrun: a plain dump of the %s victim: %s\n", mode, why);
		clean_dir(false, why, sizeof(why));
		return -1;
	}
	clean_dir(true, why, sizeof(why));
	return 0;
}

int main(int argc, char **argv)
{
	struct plan plans[32];
	int nplans = 0, i;
	unsigned p;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--lgcore") && v)
			lgcore_path = v, i++;
		else if (!strcmp(a, "--victim") && v)
			victim_path = v, i++;
		else if (!strcmp(a, "--mode") && v)
			mode = v, i++;
		else if (!strcmp(a, "--dir") && v)
			dir = v, i++;
		else if (!strcmp(a, "--arg") && v && nlgargs < MAXARGS)
			lgargs[nlgargs++] = v, i++;
		else if (!strcmp(a, "--out") && v)
			out = fopen(v, "ae"), i++;
		else if (!strcmp(a, "--timeout") && v)
			timeout_s = atoi(v), i++;
		else if (!strcmp(a, "--watchdog"))
			watchdog = true;
		else if (a[0] != '-' && nplans < 32 && !parse_plan(a, &plans[nplans]))
			nplans++;
		else {
			fprintf(stderr, "faultrun: bad argument %s\n", a);
			return 2;
		}
	}
	if (!lgcore_path || !victim_path || !dir || !nplans) {
		fprintf(stderr, "usage: faultrun --lgcore P --victim P --mode M --dir D PLAN...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0, 0, 0);
	per_trial = !strcmp(mode, "exit") || !strcmp(mode, "leader-exit");
	if (!per_trial) {
		if (victim_start(0)) {
			fprintf(stderr, "faultrun: cannot start the victim %s\n", mode);
			return 2;
		}
		sleep_ns(200000000);
		if (reference_run()) {
			fprintf(stderr, "faultrun: a plain dump of the %s victim failed: see %s/lgcore.err\n",
				mode, dir);
			victim_stop();
			return 1;
		}
	}
	for (i = 0; i < nplans; i++) {
		long d;
		for (d = plans[i].from; d <= plans[i].to; d += plans[i].step)
			trial(&plans[i], d);
	}
	victim_stop();
	printf("%-10s %-20s %7s %7s %6s %7s %12s\n", "victim", "phase", "trials", "harmed", "hangs",
	       "uffd-fd", "max gap ms");
	for (p = 0; p < NPHASES; p++)
		if (stats[p].trials)
			printf("%-10s %-20s %7u %7u %6u %7u %12.1f\n", mode, phase_names[p],
			       stats[p].trials, stats[p].harmed, stats[p].hangs, stats[p].leaked,
			       stats[p].maxgap_ns / 1e6);
	if (total_badcore)
		printf("%-10s %u dumps succeeded with a core that does not hold the victim's canary\n",
		       mode, total_badcore);
	if (total_leftover)
		printf("%-10s %u trials left a process behind that did not end\n", mode, total_leftover);
	if (total_badexit)
		printf("%-10s %u termination signals not answered with exit 1 and their name\n", mode,
		       total_badexit);
	if (out)
		fclose(out);
	return total_harm || total_hang || total_badcore || total_badexit || total_leftover ? 1 : 0;
}
