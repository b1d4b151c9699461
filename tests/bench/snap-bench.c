/* Benchmark (not a test): copy-before-write dumps driven by lib/snap alone,
 * against the same target with no dump.
 *
 * Usage: snap-bench [-s MIB,...] [-r RATE,...] [-n ROUNDS] [-m stoparm|prearm]
 *                   [-o null|slow:MBPS] [-a ASIDE_PAGES] [-p wait|fail]
 *                   [-S SPILL_MIB] [-H] [-W]
 *   -s  target sizes in MiB (default 1024,4096)
 *   -r  random page writes per second (default 0,10000,100000; -1: full speed)
 *   -m  stoparm: register, list populated pages and arm them in the stop
 *       (the pause grows with the size); prearm: arm while the target runs,
 *       re-arm the pages written meanwhile (learned from the faults, no
 *       page-table scan) in rounds, and in the final stop re-arm only the
 *       last round's pages (-W adds the PAGEMAP_SCAN for pages populated and
 *       unprotected that a real dump needs without UFFDIO_REGISTER_MODE_MISSING)
 *   -o  null: stream into /dev/null; slow:N: a reader of N MB/s
 *   -H  the target uses transparent huge pages
 *
 * The target (a forked child) writes random 4 KiB pages of its memory at
 * RATE per second, catching up after a stall (at most 100 ms worth), and
 * measures the longest gap between two of its writes (between two ticks of
 * 200 us when RATE is 0): the pause it observed.  For every round: a
 * baseline window of the same length as the dump, then the dump.  Printed
 * per round, then medians and maxima per size and rate: the pause (stop to
 * release), the largest gap the target saw during the dump and in the
 * baseline, its writes per second during the dump relative to the baseline,
 * the wall time, faults, pages copied aside, the longest fault service,
 * writers' waits for a full store, and this process's peak RSS during the
 * dump (VmHWM, reset before each dump). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lg_uapi.h"
#include "arch/arch.h"
#include "common/clock.h"
#include "mem/mem.h"
#include "ptrace/inject.h"
#include "ptrace/ptrace.h"
#include "snap/snap.h"

#define PG LG_PAGE_SIZE

/* ---- the target ---- */

struct tshm {
	volatile int ready, window;
	volatile int64_t rate;
	volatile uint64_t region, len;
	volatile uint64_t maxgap[4], writes[4];
};
static struct tshm *ts;

static void target_main(uint64_t len, bool thp)
{
	uint8_t *m = mmap(NULL, len + (2u << 20), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t np = len / PG, i, w = 0, seed = 88172645463325252ull;
	uint64_t last, start, due = 0;
	int64_t rate = -2;

	if (m == MAP_FAILED)
		_exit(2);
	m = (uint8_t *)(((uintptr_t)m + (2u << 20) - 1) & ~((2ull << 20) - 1));
	madvise(m, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (i = 0; i < np; i++)
		m[i * PG] = 1;
	ts->region = (uintptr_t)m;
	ts->len = len;
	ts->ready = 1;
	last = start = lg_now_ns();
	for (;;) {
		int win = ts->window;
		uint64_t t = lg_now_ns();
		if (ts->rate != rate) {
			rate = ts->rate;
			start = t;
			w = 0;
		}
		if (t - last > ts->maxgap[win])
			ts->maxgap[win] = t - last;
		last = t;
		if (rate > 0) {
			due = (t - start) / 1000 * (uint64_t)rate / 1000000;
			if (due > w + (uint64_t)rate / 10)
				w = due - (uint64_t)rate / 10;	/* catch up 100 ms at most */
		}
		if (rate < 0 || (rate > 0 && w < due)) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			m[(seed % np) * PG + 8]++;
			w++;
			ts->writes[win]++;
		} else if (rate == 0) {
			struct timespec tick = { 0, 200000 };
			nanosleep(&tick, NULL);
		} else if (((w + 1) * 1000000 / (uint64_t)rate) * 1000 > t - start + 100000) {
			struct timespec tick = { 0, 50000 };
			nanosleep(&tick, NULL);
		}
	}
}

/* ---- options ---- */

enum { M_STOPARM, M_PREARM };
static struct {
	uint64_t sizes[8];
	int nsizes;
	int64_t rates[8];
	int nrates;
	int rounds, mode, thp, scan, policy;
	double slow_mbps;
	size_t aside, spill_mib;
} opt;

static int parse_list(const char *s, void *out, bool sgn, int max)
{
	int n = 0;
	char *dup = strdup(s), *tok, *save = NULL;

	for (tok = strtok_r(dup, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
		if (sgn)
			((int64_t *)out)[n++] = strtoll(tok, NULL, 0);
		else
			((uint64_t *)out)[n++] = strtoull(tok, NULL, 0);
	}
	free(dup);
	return n;
}

/* ---- helpers ---- */

static void die(const char *what, const struct lg_error *e)
{
	fprintf(stderr, "snap-bench: %s: %s\n", what, e ? e->msg : strerror(errno));
	exit(1);
}

static int take_uffd(struct lg_tgroup *g, pid_t pid)
{
	struct lg_injector inj;
	struct lg_error e = { 0 };
	uint64_t args[6] = { O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0, 0 };
	int64_t tfd = -1, cret = -1;
	int u;

	if (lg_inject_init(g, &inj, &e) || lg_inject_syscall(&inj, SYS_userfaultfd, args, &tfd, &e))
		die("inject", &e);
	if (tfd < 0) {
		errno = (int)-tfd;
		die("userfaultfd in the target", NULL);
	}
	if ((u = lg_fd_fetch(pid, (int)tfd, &e)) < 0)
		die("pidfd_getfd", &e);
	args[0] = (uint64_t)tfd;
	if (lg_inject_syscall(&inj, SYS_close, args, &cret, &e) || cret)
		die("close in the target", &e);
	return u;
}

static uint64_t vm_hwm_kb(void)
{
	char line[256];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = strtoull(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

static void reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	if (fd >= 0) {
		(void)!write(fd, "5", 1);
		close(fd);
	}
}

/* ---- one dump ---- */

struct result {
	double pause_ms, wall_ms, gap_ms, base_gap_ms, wps, base_wps, arm_ms, scan_ms, rearm_ms;
	double maxsvc_us, maxwait_ms, wait_ms, teardown_ms, max_teardown_ms, prearm_s, setup_ms;
	uint64_t faults, copied, waits, rss_kb, last_dirty, rounds, prearm_faults, spilled, aside_peak;
};

static void window(int w)
{
	ts->maxgap[w] = 0;
	ts->writes[w] = 0;
	ts->window = w;
}

static void dump(pid_t pid, struct result *res)
{
	struct lg_tgroup g = { 0 };
	struct lg_error e = { 0 };
	struct lg_range rg = { ts->region, ts->region + ts->len };
	struct lg_ranges pop = { 0 };
	struct lg_snap_opts so;
	struct lg_snap_stats st;
	struct lg_snap *s;
	struct lg_snap_chunk c;
	uint64_t t0, tstop, tx, bytes = 0;
	int u, nul, r, spill = -1;

	memset(&so, 0, sizeof(so));
	so.aside_pages = opt.aside;
	so.spill_fd = -1;
	so.full = opt.policy;
	if (opt.spill_mib) {
		char path[] = "/var/tmp/snap-bench-spill-XXXXXX";
		spill = mkstemp(path);
		unlink(path);
		so.spill_fd = spill;
		so.spill_pages = opt.spill_mib << 20 >> 12;
	}
	nul = open("/dev/null", O_WRONLY);
	reset_hwm();
	t0 = tstop = lg_now_ns();
	if (lg_ptrace_stop_all(pid, PTRACE_O_TRACESYSGOOD, &g, &e))
		die("stop", &e);
	u = take_uffd(&g, pid);
	if (lg_snap_uffd_api(u, &e))
		die("UFFDIO_API", &e);
	if (lg_snap_register(u, rg.start, rg.end))
		die("register", NULL);
	if (opt.mode == M_PREARM) {
		struct lg_snap_prearm *pa;
		struct lg_pagemap pm;
		struct lg_ranges w = { 0 };
		int round;

		/* Set-up stop over; everything else while the target runs. */
		if (lg_snap_prearm_start(u, &pa, &e))
			die("pre-arm", &e);
		if (lg_ptrace_release_all(&g, &e))
			die("release", &e);
		lg_tgroup_free(&g);
		res->setup_ms = (lg_now_ns() - tstop) / 1e6;
		tx = lg_now_ns();
		lg_pagemap_init(&pm, pid);
		if (lg_pagemap_populated(&pm, rg.start, rg.end, &pop, &e) ||
		    lg_snap_arm(u, pop.v, pop.n, 2u << 20, NULL, &e))
			die("arm", &e);
		lg_pagemap_close(&pm);
		res->arm_ms = (lg_now_ns() - tx) / 1e6;
		for (round = 0; round < 16; round++) {
			lg_ranges_clear(&w);
			if (lg_snap_prearm_take(pa, &w, &e) || lg_snap_arm(u, w.v, w.n, 0, NULL, &e))
				die("re-arm", &e);
			res->rounds = (uint64_t)round + 1;
			if (lg_ranges_bytes(&w) / PG < 256)
				break;
		}
		res->prearm_s = (lg_now_ns() - t0) / 1e9;
		/* The final stop. */
		tstop = lg_now_ns();
		if (lg_ptrace_stop_all(pid, PTRACE_O_TRACESYSGOOD, &g, &e))
			die("stop", &e);
		tx = lg_now_ns();
		lg_ranges_clear(&w);
		if (lg_snap_prearm_stop(pa, &w, NULL, &res->prearm_faults, &e) ||
		    lg_snap_arm(u, w.v, w.n, 0, NULL, &e))
			die("re-arm", &e);
		res->last_dirty = lg_ranges_bytes(&w) / PG;
		res->rearm_ms = (lg_now_ns() - tx) / 1e6;
		if (opt.scan) {
			/* Pages populated but not protected (written holes):
			 * what the faults cannot tell.  The target writes no
			 * hole and drops nothing: nothing else to add. */
			char path[64];
			int pmfd;
			lg_ranges_clear(&w);
			tx = lg_now_ns();
			snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
			pmfd = open(path, O_RDONLY | O_CLOEXEC);
			if (pmfd < 0 || lg_snap_unprotected(pmfd, rg.start, rg.end, &w, &e) ||
			    lg_snap_arm(u, w.v, w.n, 0, NULL, &e))
				die("scan", &e);
			close(pmfd);
			res->scan_ms = (lg_now_ns() - tx) / 1e6;
		}
		lg_ranges_free(&w);
	} else {
		struct lg_pagemap pm;
		tx = lg_now_ns();
		lg_pagemap_init(&pm, pid);
		if (lg_pagemap_populated(&pm, rg.start, rg.end, &pop, &e))
			die("populated", &e);
		lg_pagemap_close(&pm);
		if (lg_snap_arm(u, pop.v, pop.n, 0, NULL, &e))
			die("arm", &e);
		res->arm_ms = (lg_now_ns() - tx) / 1e6;
	}
	/* T0: every populated page is protected. */
	if (lg_snap_open(u, pid, &rg, 1, &rg, 1, &so, &s, &e))
		die("open", &e);
	if (lg_ptrace_release_all(&g, &e))
		die("release", &e);
	lg_tgroup_free(&g);
	res->pause_ms = (lg_now_ns() - tstop) / 1e6;
	tx = lg_now_ns();
	while ((r = lg_snap_next(s, &c, &e)) == 1) {
		(void)!write(nul, c.data, c.len);
		bytes += c.len;
		if (opt.slow_mbps > 0) {
			double due_ns = bytes / (opt.slow_mbps * 1e6) * 1e9;
			uint64_t el = lg_now_ns() - tx;
			if (due_ns > el) {
				struct timespec d = { (time_t)((due_ns - el) / 1e9),
						      (long)((uint64_t)(due_ns - el) % 1000000000) };
				nanosleep(&d, NULL);
			}
		}
	}
	if (r < 0)
		fprintf(stderr, "snap-bench: stream: %s\n", e.msg);
	lg_snap_close(s, &st, NULL);
	res->wall_ms = (lg_now_ns() - t0) / 1e6;
	res->rss_kb = vm_hwm_kb();
	res->faults = st.faults;
	res->copied = st.copied;
	res->spilled = st.spilled;
	res->aside_peak = st.aside_peak;
	res->waits = st.waits;
	res->maxsvc_us = st.max_service_ns / 1e3;
	res->maxwait_ms = st.max_wait_ns / 1e6;
	res->wait_ms = st.wait_ns / 1e6;
	res->teardown_ms = (st.unprotect_ns + st.unregister_ns) / 1e6;
	res->max_teardown_ms = st.max_teardown_call_ns / 1e6;
	lg_ranges_free(&pop);
	close(nul);
	if (spill >= 0)
		close(spill);
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	return n ? v[n / 2] : 0;
}

int main(int argc, char **argv)
{
	int ch, si, ri, k;
	char why[200];

	setvbuf(stdout, NULL, _IOLBF, 0);
	opt.sizes[0] = 1024;
	opt.sizes[1] = 4096;
	opt.nsizes = 2;
	opt.rates[0] = 0;
	opt.rates[1] = 10000;
	opt.rates[2] = 100000;
	opt.nrates = 3;
	opt.rounds = 3;
	opt.aside = LG_SNAP_ASIDE_DEFAULT;
	while ((ch = getopt(argc, argv, "s:r:n:m:o:a:p:S:HW")) != -1) {
		switch (ch) {
		case 's': opt.nsizes = parse_list(optarg, opt.sizes, false, 8); break;
		case 'r': opt.nrates = parse_list(optarg, opt.rates, true, 8); break;
		case 'n': opt.rounds = atoi(optarg); break;
		case 'm': opt.mode = !strcmp(optarg, "prearm") ? M_PREARM : M_STOPARM; break;
		case 'o': opt.slow_mbps = !strncmp(optarg, "slow:", 5) ? atof(optarg + 5) : 0; break;
		case 'a': opt.aside = strtoul(optarg, NULL, 0); break;
		case 'p': opt.policy = !strcmp(optarg, "fail") ? LG_SNAP_FULL_FAIL : LG_SNAP_FULL_WAIT; break;
		case 'S': opt.spill_mib = strtoul(optarg, NULL, 0); break;
		case 'H': opt.thp = 1; break;
		case 'W': opt.scan = 1; break;
		default:
			fprintf(stderr, "usage: see the comment at the top of tests/bench/snap-bench.c\n");
			return 2;
		}
	}
	if (lg_snap_probe(why, sizeof(why))) {
		fprintf(stderr, "snap-bench: no synchronous uffd-wp here: %s\n", why);
		return 77;
	}
	printf("# mode %s, %s, aside %zu pages (%zu MiB), policy %s%s%s\n",
	       opt.mode == M_PREARM ? "prearm" : "stoparm", opt.thp ? "THP" : "4 KiB pages", opt.aside,
	       opt.aside * PG >> 20, opt.policy == LG_SNAP_FULL_FAIL ? "fail" : "wait",
	       opt.scan ? ", final-stop scan" : "", opt.slow_mbps > 0 ? ", slow reader" : ", /dev/null");
	if (opt.slow_mbps > 0)
		printf("# reader %.0f MB/s\n", opt.slow_mbps);
	printf("# raw: size_mib rate round pause_ms gap_ms base_gap_ms wps_ratio wall_ms faults copied "
	       "maxsvc_us waits maxwait_ms rss_mib teardown_ms max_teardown_call_ms arm_ms rearm_ms scan_ms "
	       "last_dirty rounds prearm_faults spilled aside_peak setup_ms\n");
	ts = mmap(NULL, sizeof(*ts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (si = 0; si < opt.nsizes; si++) {
		uint64_t len = opt.sizes[si] << 20;
		pid_t pid;
		struct result all[8][16];

		memset((void *)ts, 0, sizeof(*ts));
		ts->rate = 0;
		pid = fork();
		if (pid == 0)
			target_main(len, opt.thp);
		while (!ts->ready)
			usleep(10000);
		for (ri = 0; ri < opt.nrates; ri++) {
			double wall_prev = 1000;
			ts->rate = opt.rates[ri];
			usleep(300000);
			for (k = 0; k < opt.rounds && k < 16; k++) {
				struct result *res = &all[ri][k];
				uint64_t w0;
				memset(res, 0, sizeof(*res));
				/* Baseline as long as the previous dump. */
				window(1);
				usleep((useconds_t)(wall_prev * 1000));
				res->base_gap_ms = ts->maxgap[1] / 1e6;
				res->base_wps = ts->writes[1] / (wall_prev / 1e3);
				window(2);
				w0 = lg_now_ns();
				dump(pid, res);
				res->gap_ms = ts->maxgap[2] / 1e6;
				res->wps = ts->writes[2] / ((lg_now_ns() - w0) / 1e9);
				wall_prev = res->wall_ms;
				window(0);
				printf("%lu %ld %d %.2f %.2f %.2f %.3f %.0f %lu %lu %.0f %lu %.2f %.1f %.1f %.2f "
				       "%.1f %.2f %.2f %lu %lu %lu %lu %lu %.2f\n",
				       (unsigned long)opt.sizes[si], (long)opt.rates[ri], k, res->pause_ms,
				       res->gap_ms, res->base_gap_ms,
				       res->base_wps > 0 ? res->wps / res->base_wps : 1.0, res->wall_ms,
				       (unsigned long)res->faults, (unsigned long)res->copied, res->maxsvc_us,
				       (unsigned long)res->waits, res->maxwait_ms, res->rss_kb / 1024.0,
				       res->teardown_ms, res->max_teardown_ms, res->arm_ms, res->rearm_ms,
				       res->scan_ms, (unsigned long)res->last_dirty, (unsigned long)res->rounds,
				       (unsigned long)res->prearm_faults, (unsigned long)res->spilled,
				       (unsigned long)res->aside_peak, res->setup_ms);
			}
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		printf("\n%-6s %-7s %-18s %-18s %-18s %-10s %-10s %-9s %-9s %-8s\n", "MiB", "rate",
		       "pause ms med/max", "gap ms med/max", "base gap med/max", "wps ratio", "wall ms",
		       "copied", "svc us", "rss MiB");
		for (ri = 0; ri < opt.nrates; ri++) {
			double p[16], g[16], b[16], w[16], wl[16], cp[16], sv[16], rs[16];
			double pm = 0, gm = 0, bm = 0;
			int n = opt.rounds < 16 ? opt.rounds : 16;
			for (k = 0; k < n; k++) {
				struct result *res = &all[ri][k];
				p[k] = res->pause_ms;
				g[k] = res->gap_ms;
				b[k] = res->base_gap_ms;
				w[k] = res->base_wps > 0 ? res->wps / res->base_wps : 1;
				wl[k] = res->wall_ms;
				cp[k] = (double)res->copied;
				sv[k] = res->maxsvc_us;
				rs[k] = res->rss_kb / 1024.0;
				pm = p[k] > pm ? p[k] : pm;
				gm = g[k] > gm ? g[k] : gm;
				bm = b[k] > bm ? b[k] : bm;
			}
			printf("%-6lu %-7ld %7.2f / %-8.2f %7.2f / %-8.2f %7.2f / %-8.2f %-10.3f %-10.0f %-9.0f "
			       "%-9.0f %-8.1f\n",
			       (unsigned long)opt.sizes[si], (long)opt.rates[ri], median(p, n), pm, median(g, n),
			       gm, median(b, n), bm, median(w, n), median(wl, n), median(cp, n), median(sv, n),
			       median(rs, n));
		}
		printf("\n");
	}
	return 0;
}
