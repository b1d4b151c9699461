/* --verbose text and --stats JSON for pre-copy and snapshot dumps
 * (formatted here, printed by the tool). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dump/precopy.h"
#include "dump/snapshot.h"

static int addf(struct lg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int addf(struct lg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || lg_buf_reserve(b, (size_t)n + 1))
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* What every mode reports last. */
static int dump_text(struct lg_buf *o, const struct lg_dump_result *d)
{
	return addf(o, "total: %.3f ms, target stopped %.3f ms; %llu bytes read, %llu written\n",
		    ms(d->total_ns), ms(d->pause_ns), (unsigned long long)d->bytes_read,
		    (unsigned long long)d->bytes_written);
}

static int dump_json(struct lg_buf *o, const struct lg_dump_result *d)
{
	return addf(o,
		    " \"pause_ms\": %.3f, \"total_ms\": %.3f, \"threads\": %zu, \"segments\": %zu, "
		    "\"bytes_read\": %llu, \"bytes_written\": %llu, \"unreadable\": %llu}\n",
		    ms(d->pause_ns), ms(d->total_ns), d->threads, d->segments,
		    (unsigned long long)d->bytes_read, (unsigned long long)d->bytes_written,
		    (unsigned long long)d->unreadable);
}

/* Free text in a JSON string: quotes and backslashes escaped, control
 * characters as spaces. */
static void escape(const char *in, char *out, size_t outlen)
{
	size_t k = 0;

	for (; *in && k + 2 < outlen; in++) {
		if (*in == '"' || *in == '\\')
			out[k++] = '\\';
		out[k++] = (unsigned char)*in < 0x20 ? ' ' : *in;
	}
	out[k] = 0;
}

const char *lg_precopy_shm_name(enum lg_precopy_shm w)
{
	switch (w) {
	case LG_PRECOPY_SHM_FILE: return "shared file mappings (write(2) by path unseen)";
	case LG_PRECOPY_SHM_OPEN: return "shared memory held open (write(2) unseen)";
	case LG_PRECOPY_SHM_ALIAS: return "shared memory mapped twice";
	case LG_PRECOPY_SHM_TRACKER: return "shared memory (needs the uffd tracker)";
	case LG_PRECOPY_SHM_N: break;
	}
	return "?";
}

/* The target's transparent huge pages, and what the soft-dirty tracker did
 * to them (split while tracking, collapsed again at close). */
static int thp_text(struct lg_buf *o, const struct lg_precopy_result *r)
{
	const struct lg_track_thp *t = &r->td.thp;
	int e = 0;

	if (r->anon_huge_known)
		e |= addf(o, "huge pages: AnonHugePages %llu KiB before the dump, %llu KiB after",
			  (unsigned long long)r->anon_huge_kb_before,
			  (unsigned long long)r->anon_huge_kb_after);
	else
		e |= addf(o, "huge pages: AnonHugePages unknown");
	if (r->kind == LG_TRACK_SOFTDIRTY)
		e |= addf(o,
			  "; soft-dirty: %llu 2 MiB chunks written whole, %llu huge pages split "
			  "(%llu by madvise run in the process, %llu again, %llu refused, %llu put off by "
			  "the time budget) in %.3f ms "
			  "(longest stop %.3f), "
			  "%llu collapsed again (%llu left split, not all present; %llu refused) in %.3f ms%s%s",
			  (unsigned long long)t->whole, (unsigned long long)t->split,
			  (unsigned long long)t->injected, (unsigned long long)t->again,
			  (unsigned long long)t->refused, (unsigned long long)t->deferred,
			  ms(t->split_ns), ms(t->max_split_ns),
			  (unsigned long long)t->collapsed,
			  (unsigned long long)t->collapse_skipped, (unsigned long long)t->collapse_refused,
			  ms(t->collapse_ns), t->why[0] ? "; " : "", t->why);
	return e | addf(o, "\n");
}

static int thp_json(struct lg_buf *o, const struct lg_precopy_result *r)
{
	const struct lg_track_thp *t = &r->td.thp;
	char why[sizeof(t->why) * 2];

	escape(t->why, why, sizeof(why));
	return addf(o,
		    " \"thp\": {\"anon_huge_kb_before\": %lld, \"anon_huge_kb_after\": %lld, "
		    "\"whole_chunks\": %llu, \"split\": %llu, \"split_injected\": %llu, \"split_again\": %llu, "
		    "\"split_refused\": %llu, \"split_deferred\": %llu, \"split_ms\": %.3f, \"max_split_ms\": %.3f, "
		    "\"collapsed\": %llu, \"collapse_skipped\": %llu, \"collapse_refused\": %llu, "
		    "\"collapse_ms\": %.3f, \"why\": \"%s\"},\n",
		    r->anon_huge_known ? (long long)r->anon_huge_kb_before : -1,
		    r->anon_huge_known ? (long long)r->anon_huge_kb_after : -1,
		    (unsigned long long)t->whole, (unsigned long long)t->split,
		    (unsigned long long)t->injected, (unsigned long long)t->again,
		    (unsigned long long)t->refused,
		    (unsigned long long)t->deferred, ms(t->split_ns), ms(t->max_split_ns),
		    (unsigned long long)t->collapsed,
		    (unsigned long long)t->collapse_skipped, (unsigned long long)t->collapse_refused,
		    ms(t->collapse_ns), why);
}

int lg_precopy_report_text(const struct lg_precopy_result *r, struct lg_buf *o)
{
	size_t i;
	int e = 0;

	e |= addf(o, "tracker: %s%s%s%s\n", lg_track_kind_name(r->kind),
		  r->kind == LG_TRACK_NONE ? " (stop-and-copy)" : "",
		  r->fallback[0] ? "; " : "", r->fallback);
	if (r->kind == LG_TRACK_NONE) {
		e |= addf(o, "stop: %.3f ms, total %.3f ms\n", ms(r->dump.pause_ns), ms(r->dump.total_ns));
		return e ? -ENOMEM : 0;
	}
	e |= addf(o, "mappings: %zu tracked, %zu copied in the final stop", r->tracked_maps,
		  r->untracked_maps);
	for (i = 0; i <= LG_TRACK_REG_NONE; i++)
		if (i != LG_TRACK_REG_OK && r->untracked_by_reason[i])
			e |= addf(o, "; %zu %s", r->untracked_by_reason[i],
				  lg_track_reg_name((enum lg_track_reg)i));
	for (i = 0; i < LG_PRECOPY_SHM_N; i++)
		if (r->shm_untracked[i])
			e |= addf(o, "; %zu %s", r->shm_untracked[i],
				  lg_precopy_shm_name((enum lg_precopy_shm)i));
	e |= addf(o, "; %zu not writable by the process copied early (%llu KiB in %.3f ms)",
		  r->early_maps, (unsigned long long)(r->early_bytes / 1024), ms(r->early_ns));
	e |= addf(o, "; %zu shared memory tracked", r->shm_tracked_maps);
	e |= addf(o, "\nset-up stop: %.3f ms\n", ms(r->setup_ns));
	if (r->shm_tracked_maps)
		e |= addf(o, "shared memory: %llu absent pages read again in the passes\n",
			  (unsigned long long)r->pass_absent_pages);
	for (i = 0; i < r->npasses; i++)
		e |= addf(o, "pass %zu: %llu pages in %.3f ms\n", i,
			  (unsigned long long)r->pass[i].pages, ms(r->pass[i].ns));
	if (r->late_passes)
		e |= addf(o, "%zu passes more: a look before the final stop found more dirty\n",
			  r->late_passes);
	e |= addf(o,
		  "final stop: %.3f ms (registers %.3f, maps %.3f, %llu dirty pages %.3f, "
		  "%llu KiB new/untracked %.3f, %llu absent shared pages %.3f, holes %.3f, "
		  "open files %.3f); %zu new or changed mappings, %zu recreated, "
		  "%zu copied early changed since, %zu shared no longer trackable, "
		  "%zu planned without smaps\n",
		  ms(r->final_ns), ms(r->final_regs_ns), ms(r->final_maps_ns),
		  (unsigned long long)r->final_dirty_pages, ms(r->final_dirty_ns),
		  (unsigned long long)(r->final_full_bytes / 1024), ms(r->final_full_ns),
		  (unsigned long long)r->final_absent_pages, ms(r->final_absent_ns),
		  ms(r->final_holes_ns), ms(r->final_files_ns), r->final_new_maps,
		  r->final_recreated_maps, r->final_early_changed, r->final_shm_lost,
		  r->final_no_smaps);
	e |= addf(o, "after the stop: %llu KiB staged in the final stop written in %.3f ms\n",
		  (unsigned long long)(r->final_staged_bytes / 1024), ms(r->flush_ns));
	e |= addf(o,
		  "teardown: %.3f ms (unprotect %.3f in %llu chunks, longest %.3f; unregister %.3f, "
		  "longest %.3f; close %.3f)\n",
		  ms(r->teardown_ns), ms(r->td.unprotect_ns), (unsigned long long)r->td.chunks,
		  ms(r->td.max_chunk_ns), ms(r->td.unregister_ns), ms(r->td.max_unregister_ns),
		  ms(r->td.close_ns));
	e |= thp_text(o, r);
	e |= dump_text(o, &r->dump);
	return e ? -ENOMEM : 0;
}

int lg_precopy_report_json(const struct lg_precopy_result *r, const char *mode, struct lg_buf *o)
{
	size_t i;
	int e = 0;
	char fb[sizeof(r->fallback) * 2];

	escape(r->fallback, fb, sizeof(fb));
	e |= addf(o, "{\"mode\": \"%s\", \"tracker\": \"%s\", \"fallback\": \"%s\",\n", mode,
		  lg_track_kind_name(r->kind), fb);
	e |= addf(o, " \"tracked_maps\": %zu, \"untracked_maps\": %zu,\n", r->tracked_maps,
		  r->untracked_maps);
	e |= addf(o, " \"early_maps\": %zu, \"early_bytes\": %llu, \"early_ms\": %.3f,\n", r->early_maps,
		  (unsigned long long)r->early_bytes, ms(r->early_ns));
	e |= addf(o, " \"shm_pass_absent_pages\": %llu,\n", (unsigned long long)r->pass_absent_pages);
	e |= addf(o, " \"shm_tracked_maps\": %zu, \"shm_untracked\": {\"file\": %zu, \"open\": %zu, "
		  "\"mapped_twice\": %zu, \"tracker\": %zu},\n", r->shm_tracked_maps,
		  r->shm_untracked[LG_PRECOPY_SHM_FILE], r->shm_untracked[LG_PRECOPY_SHM_OPEN],
		  r->shm_untracked[LG_PRECOPY_SHM_ALIAS], r->shm_untracked[LG_PRECOPY_SHM_TRACKER]);
	e |= addf(o, " \"setup_stop_ms\": %.3f, \"late_passes\": %zu,\n \"passes\": [", ms(r->setup_ns),
		  r->late_passes);
	for (i = 0; i < r->npasses; i++)
		e |= addf(o, "%s{\"pages\": %llu, \"ms\": %.3f}", i ? ", " : "",
			  (unsigned long long)r->pass[i].pages, ms(r->pass[i].ns));
	e |= addf(o,
		  "],\n \"final_stop\": {\"ms\": %.3f, \"registers_ms\": %.3f, \"maps_ms\": %.3f, "
		  "\"dirty_pages\": %llu, \"dirty_ms\": %.3f, \"full_bytes\": %llu, \"full_ms\": %.3f, "
		  "\"holes_ms\": %.3f, \"new_maps\": %zu, \"recreated_maps\": %zu, "
		  "\"early_changed_maps\": %zu, \"absent_pages\": %llu, \"absent_ms\": %.3f, "
		  "\"files_ms\": %.3f, \"shm_lost_maps\": %zu, \"no_smaps_maps\": %zu},\n",
		  ms(r->final_ns), ms(r->final_regs_ns), ms(r->final_maps_ns),
		  (unsigned long long)r->final_dirty_pages, ms(r->final_dirty_ns),
		  (unsigned long long)r->final_full_bytes, ms(r->final_full_ns), ms(r->final_holes_ns),
		  r->final_new_maps, r->final_recreated_maps, r->final_early_changed,
		  (unsigned long long)r->final_absent_pages, ms(r->final_absent_ns),
		  ms(r->final_files_ns), r->final_shm_lost, r->final_no_smaps);
	e |= addf(o, " \"flush\": {\"staged_bytes\": %llu, \"ms\": %.3f},\n",
		  (unsigned long long)r->final_staged_bytes, ms(r->flush_ns));
	e |= addf(o,
		  " \"teardown\": {\"ms\": %.3f, \"unprotect_ms\": %.3f, \"chunks\": %llu, "
		  "\"max_chunk_ms\": %.3f, \"unregister_ms\": %.3f, \"max_unregister_ms\": %.3f, "
		  "\"close_ms\": %.3f},\n",
		  ms(r->teardown_ns), ms(r->td.unprotect_ns), (unsigned long long)r->td.chunks,
		  ms(r->td.max_chunk_ns), ms(r->td.unregister_ns), ms(r->td.max_unregister_ns),
		  ms(r->td.close_ns));
	e |= thp_json(o, r);
	e |= dump_json(o, &r->dump);
	return e ? -ENOMEM : 0;
}

int lg_snapshot_report_text(const struct lg_snapshot_result *r, struct lg_buf *o)
{
	const struct lg_snap_stats *s = &r->snap;
	int e = 0;

	if (r->stop_mode) {
		e |= addf(o, "mode: stop (%s): stopped %.3f ms, total %.3f ms\n", r->fallback,
			  ms(r->dump.pause_ns), ms(r->dump.total_ns));
		return e ? -ENOMEM : 0;
	}
	e |= addf(o, "mode: snapshot\nset-up stop: %.3f ms; armed while running in %.3f ms, "
		  "%u rounds (%llu faults)\n",
		  ms(r->setup_ns), ms(r->arm_ns), r->rounds, (unsigned long long)r->prearm_faults);
	e |= addf(o,
		  "T0 stop: %.3f ms (registers and maps %.3f, protecting %.3f with %llu pages "
		  "re-armed and %llu KiB scanned, notes and copies %.3f); %zu mappings protected (%llu KiB), "
		  "%zu copied in the stop (%llu KiB), %zu shared read-only after it (%llu KiB)\n",
		  ms(r->final_ns), ms(r->final_plan_ns), ms(r->final_protect_ns),
		  (unsigned long long)r->last_round_pages, (unsigned long long)(r->scanned_bytes / 1024),
		  ms(r->final_copy_ns), r->protected_maps,
		  (unsigned long long)(r->protected_bytes / 1024), r->stop_maps,
		  (unsigned long long)(r->stop_bytes / 1024), r->later_maps,
		  (unsigned long long)(r->later_bytes / 1024));
	e |= addf(o,
		  "after T0: %llu write faults, %llu pages taken (%llu spilled, peak %llu aside), "
		  "longest service %.3f ms; %llu waits for a full store (longest %.3f ms); "
		  "%llu pages dropped by the process\n",
		  (unsigned long long)s->faults, (unsigned long long)s->copied,
		  (unsigned long long)s->spilled,
		  (unsigned long long)s->aside_peak, ms(s->max_service_ns),
		  (unsigned long long)s->waits, ms(s->max_wait_ns), (unsigned long long)s->dropped);
	if (r->late_ns)
		e |= addf(o, "slow reader: %llu faults found the aside store full; stopped from "
			  "byte %llu of the stream to its end: %.3f ms\n",
			  (unsigned long long)s->full, (unsigned long long)r->late_from, ms(r->late_ns));
	e |= addf(o, "teardown: unprotect %.3f ms, unregister %.3f ms, longest call %.3f ms\n",
		  ms(s->unprotect_ns), ms(s->unregister_ns), ms(s->max_teardown_call_ns));
	e |= dump_text(o, &r->dump);
	return e ? -ENOMEM : 0;
}

int lg_snapshot_report_json(const struct lg_snapshot_result *r, struct lg_buf *o)
{
	const struct lg_snap_stats *s = &r->snap;
	char fb[sizeof(r->fallback) * 2];
	int e = 0;

	escape(r->fallback, fb, sizeof(fb));
	e |= addf(o, "{\"mode\": \"%s\", \"fallback\": \"%s\",\n", r->stop_mode ? "stop" : "snapshot",
		  fb);
	e |= addf(o, " \"late_stop\": {\"ms\": %.3f, \"from_byte\": %llu, \"full\": %llu},\n",
		  ms(r->late_ns), (unsigned long long)r->late_from, (unsigned long long)s->full);
	e |= addf(o, " \"setup_stop_ms\": %.3f, \"arm_ms\": %.3f, \"rounds\": %u, "
		  "\"prearm_faults\": %llu,\n",
		  ms(r->setup_ns), ms(r->arm_ns), r->rounds, (unsigned long long)r->prearm_faults);
	e |= addf(o,
		  " \"final_stop\": {\"ms\": %.3f, \"plan_ms\": %.3f, \"protect_ms\": %.3f, "
		  "\"copy_ms\": %.3f, \"rearmed_pages\": %llu, \"scanned_bytes\": %llu, "
		  "\"protected_maps\": %zu, "
		  "\"protected_bytes\": %llu, \"stop_maps\": %zu, \"stop_bytes\": %llu, "
		  "\"later_maps\": %zu, \"later_bytes\": %llu},\n",
		  ms(r->final_ns), ms(r->final_plan_ns), ms(r->final_protect_ns), ms(r->final_copy_ns),
		  (unsigned long long)r->last_round_pages, (unsigned long long)r->scanned_bytes,
		  r->protected_maps,
		  (unsigned long long)r->protected_bytes, r->stop_maps,
		  (unsigned long long)r->stop_bytes, r->later_maps, (unsigned long long)r->later_bytes);
	e |= addf(o,
		  " \"snapshot\": {\"faults\": %llu, \"copied\": %llu, "
		  "\"spilled\": %llu, "
		  "\"aside_peak\": %llu, \"max_service_ms\": %.3f, \"waits\": %llu, "
		  "\"max_wait_ms\": %.3f, \"direct\": %llu, \"zero\": %llu, \"dropped\": %llu, "
		  "\"unprotect_ms\": %.3f, \"unregister_ms\": %.3f},\n",
		  (unsigned long long)s->faults, (unsigned long long)s->copied,
		  (unsigned long long)s->spilled,
		  (unsigned long long)s->aside_peak, ms(s->max_service_ns),
		  (unsigned long long)s->waits, ms(s->max_wait_ns), (unsigned long long)s->direct,
		  (unsigned long long)s->zero,
		  (unsigned long long)s->dropped, ms(s->unprotect_ns), ms(s->unregister_ns));
	e |= dump_json(o, &r->dump);
	return e ? -ENOMEM : 0;
}
