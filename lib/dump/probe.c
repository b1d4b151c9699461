/* lgcore --probe (probe.h): the dumps' own probes, put in words. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/json.h"
#include "dump/probe.h"
#include "dump/snapshot.h"
#include "proc/proc.h"
#include "ptrace/inject.h"
#include "track/track.h"

#define CAP_SYS_PTRACE_BIT 19
#define CAP_SYS_NICE_BIT 23

static struct lg_probe_fact *fact(struct lg_probe *p, const char *key, const char *value,
				  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static struct lg_probe_fact *fact(struct lg_probe *p, const char *key, const char *value,
				  const char *fmt, ...)
{
	struct lg_probe_fact *f;
	va_list ap;

	if (p->n == LG_PROBE_MAX)
		return &p->f[LG_PROBE_MAX - 1];	/* never: the list below is fixed */
	f = &p->f[p->n++];
	snprintf(f->key, sizeof(f->key), "%s", key);
	snprintf(f->value, sizeof(f->value), "%s", value);
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	return f;
}

const char *lg_probe_value(const struct lg_probe *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->f[i].key, key))
			return p->f[i].value;
	return NULL;
}

/* A capability in our effective set (CapEff of /proc/self/status). */
static bool have_cap(int bit)
{
	struct lg_buf b = { 0 };
	char val[32];
	bool r = false;

	if (!lg_read_file("/proc/self/status", &b) &&
	    !lg_status_field((char *)b.p, "CapEff", val, sizeof(val)))
		r = strtoull(val, NULL, 16) >> bit & 1;
	lg_buf_free(&b);
	return r;
}

/* The first line of a small file, without its newline ("" when unreadable). */
static void first_line(const char *path, char *out, size_t len)
{
	struct lg_buf b = { 0 };

	out[0] = 0;
	if (!lg_read_file(path, &b)) {
		snprintf(out, len, "%s", (char *)b.p);
		out[strcspn(out, "\n")] = 0;
	}
	lg_buf_free(&b);
}

static void kernel_facts(struct lg_probe *p, const struct lg_track_probe *tp, bool *snap_ok,
			 char *snap_why, size_t snap_whylen, char *thp, size_t thplen)
{
	struct utsname u;
	char line[128], *a, *z;

	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	fact(p, "kernel", u.release, "%s", "");

	first_line("/sys/kernel/mm/transparent_hugepage/enabled", line, sizeof(line));
	a = strchr(line, '[');
	z = a ? strchr(a, ']') : NULL;
	if (a && z) {
		*z = 0;
		snprintf(thp, thplen, "%s", a + 1);
	} else {
		snprintf(thp, thplen, "unavailable");
	}
	fact(p, "thp", thp, "%s",
	     !strcmp(thp, "always") ?
		     "a write marks a whole 2 MiB huge page soft-dirty: the soft-dirty tracker splits "
		     "those written whole and collapses them again after the dump" :
		     !strcmp(thp, "madvise") ? "huge pages only where the process asked (MADV_HUGEPAGE)" :
		     "");

	first_line("/proc/sys/vm/unprivileged_userfaultfd", line, sizeof(line));
	fact(p, "vm.unprivileged_userfaultfd", line[0] ? line : "unknown", "%s",
	     have_cap(CAP_SYS_PTRACE_BIT) ? "lgcore has CAP_SYS_PTRACE: full userfaultfds anyway" :
	     !strcmp(line, "0") ?
		     "without CAP_SYS_PTRACE: the uffd tracker uses UFFD_USER_MODE_ONLY, the snapshot "
		     "mode cannot" :
		     "");

	fact(p, "tracker.uffd", tp->uffd ? "yes" : "no", "%s",
	     tp->uffd ? "asynchronous userfaultfd write-protect and PAGEMAP_SCAN (Linux 6.7+)" :
			tp->uffd_why);
	fact(p, "tracker.soft-dirty", tp->soft_dirty ? "yes" : "no", "%s",
	     tp->soft_dirty ? "clear_refs and pagemap bit 55 (CONFIG_MEM_SOFT_DIRTY)" :
			      tp->soft_dirty_why);
	if (tp->soft_dirty)
		fact(p, "thp.split", "yes", "%s",
		     have_cap(CAP_SYS_NICE_BIT) ?
			     "soft-dirty: process_madvise(MADV_COLD) splits huge pages written whole, "
			     "MADV_COLLAPSE (Linux 6.1) collapses them after" :
			     "soft-dirty: no CAP_SYS_NICE for process_madvise: madvise(MADV_COLD) is "
			     "injected into the process to split huge pages written whole; "
			     "khugepaged collapses them after");
	*snap_ok = !lg_snap_probe(snap_why, snap_whylen);
	fact(p, "mode.snapshot", *snap_ok ? "yes" : "no", "%s",
	     *snap_ok ? "synchronous userfaultfd write-protect and PAGEMAP_SCAN" : snap_why);
}

/* The highest seccomp mode of PID's threads (0 none, 1 strict, 2 filter). */
static int seccomp_of(pid_t pid, size_t *filtered)
{
	pid_t *tids = NULL;
	size_t n = 0, i;
	int m = 0, s;

	*filtered = 0;
	if (lg_tasks_list(pid, &tids, &n, NULL))
		return lg_seccomp_mode(pid, pid);
	for (i = 0; i < n; i++) {
		s = lg_seccomp_mode(pid, tids[i]);
		if (s > 0)
			(*filtered)++;
		if (s > m)
			m = s;
	}
	free(tids);
	return m;
}

/* userfaultfd descriptors PID holds ("anon_inode:[userfaultfd]"); -1 when
 * its fds cannot be read. */
static int own_uffds(pid_t pid)
{
	char path[64], link[64], target[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;
	ssize_t k;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(dir = opendir(path)))
		return -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%.16s", path, d->d_name);
		k = readlink(link, target, sizeof(target) - 1);
		if (k > 0) {
			target[k] = 0;
			n += !strcmp(target, "anon_inode:[userfaultfd]");
		}
	}
	closedir(dir);
	return n;
}

int lg_dump_probe(pid_t pid, struct lg_probe *p, struct lg_error *err)
{
	struct lg_track_probe tp;
	struct lg_procinfo pi = { 0 };
	struct lg_maps maps = { 0 };
	char snap_why[256], thp[32], state = 0, why[256];
	bool snap_ok;
	size_t i, regs = 0, filtered = 0;
	enum lg_track_kind best;
	int sc = 0, uf = 0, other;
	const char *mode;
	enum lg_track_kind kind;

	memset(p, 0, sizeof(*p));
	if (pid > 0 && lg_proc_state(pid, &state))
		return lg_failx(err, ESRCH, "no such process");
	lg_track_probe(&tp);
	kernel_facts(p, &tp, &snap_ok, snap_why, sizeof(snap_why), thp, sizeof(thp));
	best = lg_track_best(&tp);

	if (pid > 0) {
		if (lg_procinfo_read(pid, &pi, NULL))
			return lg_failx(err, ESRCH, "no such process");
		fact(p, "process", "", "%s, state %c", pi.comm, state);
		snprintf(p->f[p->n - 1].value, sizeof(p->f[p->n - 1].value), "%d", (int)pid);
		lg_procinfo_free(&pi);
		/* The dumps look at the main thread's mode (inject.c's
		 * refuse_seccomp(), lg_snapshot_possible()); a filter on
		 * other threads only keeps the injection off those. */
		sc = lg_seccomp_mode(pid, pid);
		other = seccomp_of(pid, &filtered);
		fact(p, "process.seccomp", sc < 0 ? "unknown" : sc == 0 ? "none" : sc == 1 ? "strict" : "filter",
		     "%s", sc > 0 ? "no system call is injected into it (a filter may kill it for one): "
				    "no uffd tracker, no snapshot mode" :
			   other > 0 ? "the main thread has no filter; system calls are injected "
				       "into an unfiltered thread" : "");
		if (filtered)
			snprintf(p->f[p->n - 1].why + strlen(p->f[p->n - 1].why),
				 sizeof(p->f[p->n - 1].why) - strlen(p->f[p->n - 1].why),
				 "%s%zu thread(s) filtered", p->f[p->n - 1].why[0] ? "; " : "", filtered);
		uf = own_uffds(pid);
		if (!lg_maps_read(pid, true, &maps, NULL))
			for (i = 0; i < maps.n; i++)
				regs += !!(maps.v[i].vmflags & (LG_VM_UW | LG_VM_UM | LG_VM_UI));
		lg_maps_free(&maps);
		snprintf(why, sizeof(why), "%d", uf);
		fact(p, "process.userfaultfd", uf < 0 ? "unknown" : why, "%s",
		     uf > 0 || regs ? "" : uf < 0 ? "its descriptors cannot be read" : "");
		if (uf > 0 || regs)
			snprintf(p->f[p->n - 1].why, sizeof(p->f[p->n - 1].why),
				 "it uses userfaultfd itself: %zu mapping(s) registered; the uffd "
				 "tracker cannot register those (EBUSY) and copies them in the final stop",
				 regs);
	}

	/* What lg_dump_precopy() would choose (precopy.c's precopy() and
	 * set_up()). */
	mode = "precopy";
	if (pid > 0 && state == 'T') {
		mode = "stop";
		kind = LG_TRACK_NONE;
		snprintf(why, sizeof(why), "the process is stopped: stop mode adds no pause");
	} else if (best == LG_TRACK_UFFD && sc > 0) {
		kind = tp.soft_dirty ? LG_TRACK_SOFTDIRTY : LG_TRACK_NONE;
		snprintf(why, sizeof(why), "uffd: the process runs under seccomp%s%s",
			 tp.soft_dirty ? "" : "; soft-dirty: ", tp.soft_dirty ? "" : tp.soft_dirty_why);
	} else if (best == LG_TRACK_UFFD) {
		kind = best;
		snprintf(why, sizeof(why), "the best tracker%s%s", tp.soft_dirty ? "" : "; soft-dirty: ",
			 tp.soft_dirty ? "" : tp.soft_dirty_why);
	} else if (best == LG_TRACK_SOFTDIRTY) {
		kind = best;
		snprintf(why, sizeof(why), "uffd: %s%s", tp.uffd_why,
			 !strcmp(thp, "always") ? "; THP always: huge pages written whole are split" : "");
	} else {
		kind = best;
		snprintf(why, sizeof(why), "uffd: %s; soft-dirty: %s", tp.uffd_why, tp.soft_dirty_why);
	}
	if (kind == LG_TRACK_NONE)
		mode = "stop";
	fact(p, "dump.mode", mode, "%s",
	     pid > 0 && state == 'T' ? "the process is stopped: stop mode adds no pause" :
	     kind == LG_TRACK_NONE ? "no tracker can follow it: stopped throughout the dump" :
				     "memory copied while the process runs, then a short stop");
	fact(p, "dump.tracker", lg_track_kind_name(kind), "%s", why);

	/* -o -: lg_dump_snapshot()'s choice. */
	if (pid > 0)
		snap_ok = lg_snapshot_possible(pid, snap_why, sizeof(snap_why));
	fact(p, "dump.stream-mode", snap_ok ? "snapshot" : "stop", "%s", snap_ok ? "" : snap_why);
	return 0;
}

int lg_probe_text(const struct lg_probe *p, struct lg_buf *out)
{
	char line[512];
	size_t i;
	int n;

	for (i = 0; i < p->n; i++) {
		n = snprintf(line, sizeof(line), "%s: %s%s%s%s\n", p->f[i].key, p->f[i].value,
			     p->f[i].why[0] ? " (" : "", p->f[i].why, p->f[i].why[0] ? ")" : "");
		if (n < 0 || lg_buf_append(out, line, strlen(line)))
			return -ENOMEM;
	}
	return 0;
}

int lg_probe_json(const struct lg_probe *p, struct lg_buf *out)
{
	struct lg_json j;
	size_t i;

	lg_json_init(&j, out);
	lg_json_begin_object(&j, NULL);
	for (i = 0; i < p->n; i++) {
		lg_json_begin_object(&j, p->f[i].key);
		lg_json_string(&j, "value", p->f[i].value);
		lg_json_string(&j, "why", p->f[i].why);
		lg_json_end_object(&j);
	}
	lg_json_end_object(&j);
	return lg_json_finish(&j);
}
