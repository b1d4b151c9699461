/* lgcore: gcore's command line, a dump that stops the process briefly.
 * main() parses and dispatches; the work is in lib/. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/clock.h"
#include "common/parse.h"
#include "common/progress.h"
#include "dump/dump.h"
#include "dump/precopy.h"
#include "dump/probe.h"
#include "dump/snapshot.h"
#include "elfcore/elfcore.h"
#include "proc/proc.h"

enum { EXIT_DUMP_FAILED = 1, EXIT_USAGE = 2 };
/* 1000 s: a larger pause target or bound can only be a typing error. */
enum { LG_PAUSE_TARGET_MAX_MS = 1000000 };
/* The final stop of a pre-copy dump is milliseconds when the pre-copy
 * converged, and a few hundred when it copies GiB-sized shared mappings;
 * five seconds means something went wrong (a stopped or starved lgcore,
 * a storm of writes): the process goes on rather than wait. */
enum { LG_MAX_PAUSE_DEFAULT_MS = 5000 };

/* The progress line: redrawn in place at most this often (4 a second),
 * and once more with the last state of each phase. */
#define PROGRESS_INTERVAL_NS 250000000ull

/* The progress line of the dump in progress, on stderr.  Drawn from the
 * dump's progress callbacks (lib/common/progress.h), never while the
 * target is in a brief stop (that would lengthen it), and only when
 * stderr can take it without blocking: a terminal held with ^S must not
 * hold lgcore, and with it a target in stop mode. */
struct progress_line {
	struct lg_progress p;	/* first: the callback gets it */
	pid_t pid;
	size_t width;		/* of the line on the terminal now */
	uint64_t last_ns;	/* drawn then */
	uint64_t phase_ns, phase_copied;	/* the phase shown began then, having copied */
	enum lg_progress_phase phase;
	int pass;
};

/* Bytes as a person reads them: B, KiB, MiB, GiB, TiB with one decimal. */
static void human(char *b, size_t len, double v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u)
		snprintf(b, len, "%.1f %s", v, unit[u]);
	else
		snprintf(b, len, "%.0f B", v);
}

static void progress_put(struct progress_line *l, const char *text, size_t n)
{
	struct pollfd pfd = { .fd = STDERR_FILENO, .events = POLLOUT };
	char pad[256];
	size_t w = l->width > n ? l->width - n : 0;

	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT))
		return;		/* skipped, not waited for */
	if (w > sizeof(pad))
		w = sizeof(pad);
	memset(pad, ' ', w);
	/* One write: \r, the text, spaces over the rest of the last one. */
	if (n + w + 1 <= sizeof(pad) * 2) {
		char line[sizeof(pad) * 2 + 1];
		line[0] = '\r';
		memcpy(line + 1, text, n);
		memcpy(line + 1 + n, pad, w);
		if (write(STDERR_FILENO, line, 1 + n + w) > 0)
			l->width = n;
	}
}

static void progress_update(struct lg_progress *p, bool end)
{
	struct progress_line *l = (struct progress_line *)p;
	uint64_t now = lg_now_ns(), pause = p->pause_ns;
	char text[200], done[32], total[32], rate[32];
	double secs;
	int n;

	if (p->phase != l->phase || p->pass != l->pass) {
		l->phase = p->phase;
		l->pass = p->pass;
		l->phase_ns = now;
		l->phase_copied = p->copied;
	}
	if (p->stop_since_ns && p->brief)
		return;
	if (!end && now - l->last_ns < PROGRESS_INTERVAL_NS)
		return;
	l->last_ns = now;
	if (p->stop_since_ns)
		pause += now - p->stop_since_ns;
	n = snprintf(text, sizeof(text), "lgcore: %d: %s", (int)l->pid,
		     lg_progress_phase_name(p->phase));
	if (p->pass >= 0)
		n += snprintf(text + n, sizeof(text) - n, " pass %d", p->pass);
	if (p->total) {
		secs = (now - l->phase_ns) / 1e9;
		human(done, sizeof(done), (double)p->done);
		human(total, sizeof(total), (double)p->total);
		human(rate, sizeof(rate), secs > 0 ? (p->copied - l->phase_copied) / secs : 0);
		n += snprintf(text + n, sizeof(text) - n, ": %s of %s, %s/s", done, total, rate);
	}
	n += snprintf(text + n, sizeof(text) - n, ", paused %.1f ms", pause / 1e6);
	progress_put(l, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

/* Off the terminal before anything else is written there; the target
 * runs by now, so this one may wait. */
static void progress_clear(struct lg_progress *p)
{
	struct progress_line *l = (struct progress_line *)p;
	char line[256 + 2];
	size_t w;

	if (!l || !l->width)
		return;
	w = l->width < 256 ? l->width : 256;
	line[0] = '\r';
	memset(line + 1, ' ', w);
	line[w + 1] = '\r';
	(void)!write(STDERR_FILENO, line, w + 2);
	l->width = 0;
}

static const char synopsis[] =
	"usage: lgcore [-h|--help] [-v|--version] [-a] [-o prefix] [-g gdb] [-d dir] pid1 [pid2...pidN]\n";

static void usage(FILE *out)
{
	fputs(synopsis, out);
	fprintf(out,
		"Write a core file PREFIX.PID (default prefix: core) of each running process.\n"
		"\n"
		"  -a              dump every readable mapping, MADV_DONTDUMP ones included\n"
		"                  (ignores /proc/PID/coredump_filter; never reads I/O mappings)\n"
		"  -o PREFIX       write PREFIX.PID instead of core.PID\n"
		"  -o -            write the core of the one PID given to standard output\n"
		"  -g GDB, -d DIR  accepted for compatibility with gcore; no effect\n"
		"  --mode=MODE     precopy (default for files): copy memory while the process\n"
		"                  runs and stop it only to copy what changed; snapshot\n"
		"                  (default for -o -): the state of one instant, each page\n"
		"                  copied once, before the process overwrites it; stop: stop\n"
		"                  it throughout\n"
		"  --tracker=KIND  uffd, soft-dirty or none (default: the best this kernel has)\n"
		"  --thp=split|keep  soft-dirty tracker: split the transparent huge pages\n"
		"                  written whole during the dump and collapse them again\n"
		"                  after it (split, the default), or keep them whole\n"
		"  --max-passes=N  pre-copy passes after the first full one (default 16)\n"
		"  --pause-target=MS  iterate while the final copy would take longer (default 5)\n"
		"  --max-pause=MS  fail the dump and let the process go rather than stop it\n"
		"                  longer in the final stop (default 5000; 0: no limit)\n"
		"  --progress      show a progress line on stderr (default when it is a terminal)\n"
		"  --quiet         show no progress line\n"
		"  --probe [PID]   print, one line each, the trackers and modes this kernel\n"
		"                  offers, and which mode and tracker a dump of PID would\n"
		"                  use and why not the others; dumps nothing\n"
		"  --json          with --probe: the same as one JSON object\n"
		"  --verbose       print the phases and their timings on stderr\n"
		"  --stats=FILE    write the same as JSON to FILE\n"
		"  -h, --help      show this help and exit\n"
		"  -v, --version   show the version and exit\n"
		"\n"
		"Exit status: 0 all cores written, 1 a dump failed (later pids are not\n"
		"processed), 2 usage error.\n");
}

static int parse_pid(const char *s, pid_t *pid)
{
	uint64_t v;

	if (lg_parse_uint(s, INT_MAX, &v) || v == 0)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* A milliseconds option (2.5: 2.5 ms); says what is wrong with it. */
static int parse_ms_option(const char *name, const char *arg, uint64_t *ns)
{
	if (!lg_parse_ms(arg, LG_PAUSE_TARGET_MAX_MS, ns))
		return 0;
	fprintf(stderr, "lgcore: %s takes milliseconds (0..%d, e.g. 2.5), not '%s'\n", name,
		LG_PAUSE_TARGET_MAX_MS, arg);
	return -1;
}

/* --stats FILE: written whole or reported; never through a symlink (a
 * root lgcore must not be made to truncate another file). */
static int write_stats(const char *path, const struct lg_buf *b)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	size_t done = 0;
	int r = 0;

	if (fd < 0)
		return -errno;
	while (done < b->len && !r) {
		ssize_t n = write(fd, (const char *)b->p + done, b->len - done);
		if (n > 0)
			done += (size_t)n;
		else if (n == 0)
			r = -EIO;
		else if (errno != EINTR)
			r = -errno;
	}
	if (close(fd) && !r && errno != EINTR)
		r = -errno;
	return r;
}

enum mode { MODE_DEFAULT, MODE_PRECOPY, MODE_SNAPSHOT, MODE_STOP };

/* A snapshot dump, into PATH or (PATH NULL) standard output. */
static int dump_snapshot(pid_t pid, const char *path, const struct lg_precopy_opts *popts,
			 bool verbose, struct lg_buf *json, struct lg_dump_result *res,
			 struct lg_error *err)
{
	struct lg_dump_opts so = { .all = popts->all, .progress = popts->progress };
	struct lg_snapshot_result sres;
	struct lg_buf b = { 0 };
	int r;

	r = lg_dump_snapshot(pid, path, STDOUT_FILENO, &so, &sres, err);
	progress_clear(popts->progress);
	*res = sres.dump;
	if (sres.stop_mode && !r)
		fprintf(stderr, "lgcore: %d: dumped in stop mode: %s\n", (int)pid, sres.fallback);
	if (verbose && !lg_snapshot_report_text(&sres, &b))
		fprintf(stderr, "lgcore: %d: %.*s", (int)pid, (int)b.len, (char *)b.p);
	lg_buf_free(&b);
	if (json && lg_snapshot_report_json(&sres, json))
		json->len = 0;
	return r;
}

/* Run one dump; report its phases when asked (--verbose, --stats).  The
 * report's own failure is *STATS_ERR (-errno), apart from the dump's. */
static int dump(pid_t pid, const char *path, enum mode mode, const struct lg_precopy_opts *popts,
		bool verbose, const char *stats, struct lg_dump_result *res, int *stats_err,
		struct lg_error *err)
{
	struct lg_precopy_result pres;
	struct lg_buf b = { 0 };
	bool precopy = mode == MODE_PRECOPY;
	struct lg_target_mm mm;
	int r, claim;

	*stats_err = 0;
	if ((r = lg_target_check(pid, err))) {
		/* As any failed dump: no file, a stale one included, under
		 * the final name. */
		if (path)
			lg_core_file_remove_stale(path);
		return r;
	}
	/* Only a claim held by another dumper stops us: without sockets (a
	 * sandbox) we dump unclaimed, as before claims existed. */
	r = lg_claim(pid, &claim, err);
	if (r == -EBUSY)
		return r;
	lg_target_mm_open(&mm, pid);
	if (mode == MODE_SNAPSHOT) {
		r = dump_snapshot(pid, path, popts, verbose, stats ? &b : NULL, res, err);
		if (stats)
			*stats_err = b.len ? write_stats(stats, &b) : -ENOMEM;
		goto out;
	}
	if (!precopy) {
		struct lg_dump_opts so = { .all = popts->all, .progress = popts->progress };
		r = path ? lg_dump_stop(pid, path, &so, res, err) :
			   lg_dump_stop_stream(pid, STDOUT_FILENO, &so, res, err);
		progress_clear(popts->progress);
		/* The same report, with no tracker, no pass, and the whole
		 * dump as the stop. */
		memset(&pres, 0, sizeof(pres));
		pres.dump = *res;
		pres.kind = LG_TRACK_NONE;
		pres.final_ns = res->pause_ns;
		if (verbose)
			fprintf(stderr, "lgcore: %d: mode stop: stopped %.3f ms, total %.3f ms\n", (int)pid,
				res->pause_ns / 1e6, res->total_ns / 1e6);
	} else {
		r = lg_dump_precopy(pid, path, popts, &pres, err);
		progress_clear(popts->progress);
		*res = pres.dump;
		if (verbose && !lg_precopy_report_text(&pres, &b))
			fprintf(stderr, "lgcore: %d: %.*s", (int)pid, (int)b.len, (char *)b.p);
		b.len = 0;
	}
	if (stats)
		*stats_err = lg_precopy_report_json(&pres, precopy ? "precopy" : "stop", &b) ?
				     -ENOMEM : write_stats(stats, &b);
out:
	/* Whatever failed (a PAGEMAP_SCAN, a uffd ioctl, a read: ESRCH on
	 * the old address space), an execve of the target is the cause. */
	if (lg_target_mm_replaced(&mm)) {
		/* Even a dump that ended: part of it may be of the old image. */
		if (!r && path)
			lg_core_file_remove_stale(path);
		r = lg_failx(err, ESRCH, "the process executed a new program (execve) during the dump");
	}
	lg_target_mm_close(&mm);
	lg_buf_free(&b);
	lg_claim_release(claim);
	return r;
}

/* -o -: the one core to standard output; every message to stderr. */
static int stream_one(pid_t pid, enum mode mode, const struct lg_precopy_opts *popts,
		      bool verbose, const char *stats)
{
	struct lg_dump_result res;
	struct lg_error err = { 0 };
	int stats_err;

	if (dump(pid, NULL, mode, popts, verbose, stats, &res, &stats_err, &err)) {
		fprintf(stderr, "lgcore: failed to dump %d to standard output: %s\n", (int)pid,
			err.msg);
		return EXIT_DUMP_FAILED;
	}
	if (res.unreadable)
		fprintf(stderr,
			"lgcore: warning: %d: %llu KiB in %zu mappings could not be read and are zeros\n",
			(int)pid, (unsigned long long)(res.unreadable / 1024), res.unreadable_maps);
	fprintf(stderr, "Saved corefile of process %d to standard output\n", (int)pid);
	if (stats_err) {
		fprintf(stderr, "lgcore: core saved, but cannot write --stats %s: %s\n", stats,
			strerror(-stats_err));
		return EXIT_DUMP_FAILED;
	}
	return 0;
}

/* --probe [PID]: the facts, as lines or JSON, on standard output. */
static int run_probe(int n, char **pids, bool json)
{
	struct lg_probe p;
	struct lg_error err = { 0 };
	struct lg_buf b = { 0 };
	pid_t pid = 0;
	int r;

	if (n > 1) {
		fprintf(stderr, "lgcore: --probe takes at most one process id\n");
		return EXIT_USAGE;
	}
	if (n == 1 && parse_pid(pids[0], &pid)) {
		fprintf(stderr, "lgcore: '%s' is not a process id\n", pids[0]);
		return EXIT_USAGE;
	}
	if (lg_dump_probe(pid, &p, &err)) {
		fprintf(stderr, "lgcore: cannot probe %d: %s\n", (int)pid, err.msg);
		return EXIT_DUMP_FAILED;
	}
	r = json ? lg_probe_json(&p, &b) : lg_probe_text(&p, &b);
	if (!r && (fwrite(b.p, 1, b.len, stdout) != b.len || (json && putchar('\n') == EOF) ||
		   fflush(stdout)))
		r = -errno;
	lg_buf_free(&b);
	if (r) {
		fprintf(stderr, "lgcore: cannot write the probe: %s\n", strerror(-r));
		return EXIT_DUMP_FAILED;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ "mode", required_argument, NULL, 'M' },
		{ "tracker", required_argument, NULL, 'T' },
		{ "thp", required_argument, NULL, 'H' },
		{ "max-passes", required_argument, NULL, 'P' },
		{ "pause-target", required_argument, NULL, 'S' },
		{ "max-pause", required_argument, NULL, 'X' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "probe", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "stats", required_argument, NULL, 'J' },
		{ "progress", no_argument, NULL, 'G' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ NULL, 0, NULL, 0 },
	};
	struct lg_dump_opts opts = { 0 };
	struct lg_precopy_opts popts = { .max_passes = 16, .pause_target_ns = 5000000,
					 .max_pause_ns = LG_MAX_PAUSE_DEFAULT_MS * 1000000ull };
	enum mode mode = MODE_DEFAULT;
	bool verbose = false, stream, probe = false, json = false;
	int progress = -1;	/* --progress 1, --quiet 0, or whether stderr is a terminal */
	const char *stats = NULL;
	uint64_t v;
	const char *prefix = "core";
	int c, i, r;

	while ((c = getopt_long(argc, argv, "+ahvo:g:d:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			opts.all = true;
			break;
		case 'o':
			prefix = optarg;
			break;
		case 'g':
		case 'd':
			break;
		case 'M':
			if (!strcmp(optarg, "precopy") || !strcmp(optarg, "snapshot") ||
			    !strcmp(optarg, "stop")) {
				mode = optarg[0] == 'p' ? MODE_PRECOPY :
				       optarg[1] == 'n' ? MODE_SNAPSHOT : MODE_STOP;
				break;
			}
			fprintf(stderr, "lgcore: --mode must be precopy, snapshot or stop\n");
			return EXIT_USAGE;
		case 'T':
			if (lg_track_kind_parse(optarg, &popts.kind)) {
				fprintf(stderr, "lgcore: --tracker must be uffd, soft-dirty or none\n");
				return EXIT_USAGE;
			}
			popts.force_kind = true;
			break;
		case 'H':
			if (strcmp(optarg, "split") && strcmp(optarg, "keep")) {
				fprintf(stderr, "lgcore: --thp must be split or keep\n");
				return EXIT_USAGE;
			}
			popts.no_thp_split = optarg[0] == 'k';
			break;
		case 'P':
			if (lg_parse_uint(optarg, LG_PRECOPY_MAX_PASSES, &v)) {
				fprintf(stderr, "lgcore: --max-passes must be 0..%d, not '%s'\n",
					LG_PRECOPY_MAX_PASSES, optarg);
				return EXIT_USAGE;
			}
			popts.max_passes = (int)v;
			break;
		case 'S':
			if (parse_ms_option("--pause-target", optarg, &popts.pause_target_ns))
				return EXIT_USAGE;
			break;
		case 'X':
			if (parse_ms_option("--max-pause", optarg, &popts.max_pause_ns))
				return EXIT_USAGE;
			break;
		case 'V':
			verbose = true;
			break;
		case 'R':
			probe = true;
			break;
		case 'j':
			json = true;
			break;
		case 'J':
			stats = optarg;
			break;
		case 'G':
			progress = 1;
			break;
		case 'Q':
			progress = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("lgcore %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fputs(synopsis, stderr);
			return EXIT_USAGE;
		}
	}
	if (json && !probe) {
		fprintf(stderr, "lgcore: --json goes with --probe\n");
		return EXIT_USAGE;
	}
	if (probe)
		return run_probe(argc - optind, argv + optind, json);
	if (optind >= argc) {
		fprintf(stderr, "lgcore: no process id given\n");
		fputs(synopsis, stderr);
		return EXIT_USAGE;
	}
	for (i = optind; i < argc; i++) {
		pid_t pid;
		if (parse_pid(argv[i], &pid)) {
			fprintf(stderr, "lgcore: '%s' is not a process id\n", argv[i]);
			return EXIT_USAGE;
		}
	}

	stream = !strcmp(prefix, "-");
	if (stream && argc - optind > 1) {
		fprintf(stderr, "lgcore: -o - writes one core: give one process id\n");
		return EXIT_USAGE;
	}
	if (stream && mode == MODE_PRECOPY) {
		/* Pre-copy rewrites pages it copied before: a pipe cannot. */
		fprintf(stderr, "lgcore: --mode=precopy cannot write to -o -: use snapshot or stop\n");
		return EXIT_USAGE;
	}
	if (stream && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "lgcore: not writing a core to a terminal: redirect or pipe standard output\n");
		return EXIT_USAGE;
	}
	if (mode == MODE_DEFAULT)
		mode = stream ? MODE_SNAPSHOT : MODE_PRECOPY;
	if (progress < 0)
		progress = isatty(STDERR_FILENO);
	/* A reader that goes away is a failed dump to report (EPIPE), not
	 * a signal that kills us mid-stream. */
	if (stream)
		signal(SIGPIPE, SIG_IGN);

	/* A write past RLIMIT_FSIZE must fail with EFBIG and be reported, not
	 * kill us with the core half-written. */
	signal(SIGXFSZ, SIG_IGN);
	/* From here a termination signal fails the dump cleanly instead of
	 * killing us in it (lib/common/cancel.h). */
	if (lg_cancel_block()) {
		fprintf(stderr, "lgcore: cannot block signals\n");
		return EXIT_DUMP_FAILED;
	}
	/* Output goes to a pipe in scripts: report each core as it is saved. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (i = optind; i < argc; i++) {
		struct lg_dump_result res;
		struct lg_error err = { 0 };
		struct progress_line line = { .p = { .update = progress_update, .pass = -1 },
					      .pass = -1 };
		char *path;
		pid_t pid;
		int stats_err, sig;

		parse_pid(argv[i], &pid);
		line.pid = pid;
		popts.all = opts.all;
		popts.progress = progress ? &line.p : NULL;
		if (stream) {
			r = stream_one(pid, mode, &popts, verbose, stats);
			if (r || !(sig = lg_cancel_pending()))
				return r;
			fprintf(stderr, "lgcore: interrupted by SIG%s\n", sigabbrev_np(sig));
			return EXIT_DUMP_FAILED;
		}
		if (asprintf(&path, "%s.%d", prefix, (int)pid) < 0) {
			fprintf(stderr, "lgcore: out of memory\n");
			return EXIT_DUMP_FAILED;
		}
		if (dump(pid, path, mode, &popts, verbose, stats, &res, &stats_err, &err)) {
			fprintf(stderr, "lgcore: failed to create %s: %s%s\n", path, err.msg,
				err.code == ETIME && mode == MODE_PRECOPY ?
					" (--max-pause; --mode=stop dumps it in one stop)" : "");
			free(path);
			return EXIT_DUMP_FAILED;
		}
		if (res.unreadable)
			fprintf(stderr,
				"lgcore: warning: %s: %llu KiB in %zu mappings could not be read and are zeros\n",
				path, (unsigned long long)(res.unreadable / 1024), res.unreadable_maps);
		/* The core is complete under its name whatever fails now. */
		if (printf("Saved corefile %s\n", path) < 0 || fflush(stdout)) {
			fprintf(stderr, "lgcore: %s saved, but cannot say so on standard output: %s\n",
				path, strerror(errno));
			free(path);
			return EXIT_DUMP_FAILED;
		}
		if (stats_err) {
			fprintf(stderr, "lgcore: %s saved, but cannot write --stats %s: %s\n", path,
				stats, strerror(-stats_err));
			free(path);
			return EXIT_DUMP_FAILED;
		}
		free(path);
		if ((sig = lg_cancel_pending())) {
			fprintf(stderr, "lgcore: interrupted by SIG%s%s\n", sigabbrev_np(sig),
				i + 1 < argc ? ": the other processes were not dumped" : "");
			return EXIT_DUMP_FAILED;
		}
	}
	return 0;
}
