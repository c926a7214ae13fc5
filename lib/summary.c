#include "summary.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "timeutil.h"
#include "banned.h"

static const char *const names[SUM_NCOUNTS] = { "created", "updated", "unchanged", "skipped", "failed", "deleted" };

void summary_make_run_id(char out[64])
{
	char t[TIME_BUFSZ], compact[32];
	size_t j = 0;
	unsigned r = (unsigned)getpid() * 2654435761u ^ (unsigned)time_mono_ms();

	time_format(time_now_ms() / 1000 * 1000, t);
	for (size_t i = 0; t[i] && j < sizeof(compact) - 1; i++)
		if (t[i] != '-' && t[i] != ':')
			compact[j++] = t[i];
	compact[j] = '\0';
	snprintf(out, 64, "r-%s-%04x", compact, r & 0xffff);
}

void summary_init(struct summary *s, const char *command, const char *object, int push)
{
	memset(s, 0, sizeof(*s));
	s->command = command;
	s->object = object;
	s->push = push;
	s->total = -1;
	s->started_ms = time_now_ms();
	s->started_mono = time_mono_ms();
	summary_make_run_id(s->run_id);
}

static double elapsed(const struct summary *s)
{
	return (double)(time_mono_ms() - s->started_mono) / 1000.0;
}

/* Seconds from milliseconds, for --summary: with JSON_REAL_PRECISION(15) at
 * the dump, a whole number of milliseconds prints with at most 3 decimals
 * (0.144, not the 0.14399999999999999 of jansson's default 17 digits). */
static json_t *seconds(long long ms)
{
	return json_real((double)ms / 1000.0);
}

void summary_line(const struct summary *s, struct buf *b)
{
	double t = elapsed(s);

	buf_addf(b, "%s %s: %ld records", s->command, s->object, s->records);
	if (s->push) {
		buf_adds(b, ":");
		for (int i = 0; i < SUM_NCOUNTS; i++) {
			if (i == SUM_DELETED && !s->counts[i])
				continue;
			buf_addf(b, "%s %ld %s", i ? "," : "", s->counts[i], names[i]);
		}
	}
	buf_addf(b, " in %.1fs (%.0f/s)", t, t > 0 ? (double)s->records / t : 0.0);
}

int summary_write_json(const struct summary *s, const struct http_stats *hs, const char *path,
		       struct crm_err *err)
{
	char a[TIME_BUFSZ], b[TIME_BUFSZ];
	json_t *o = json_object(), *c = json_object();
	struct buf tmp = BUF_INIT;
	int rc = 0;
	FILE *f;

	time_format(s->started_ms, a);
	time_format(time_now_ms(), b);
	json_object_set_new(o, "command", json_string(s->command));
	json_object_set_new(o, "object", json_string(s->object));
	json_object_set_new(o, "records", json_integer(s->records));
	for (int i = 0; i < SUM_NCOUNTS; i++)
		json_object_set_new(c, names[i], json_integer(s->counts[i]));
	json_object_set_new(o, "counts", c);
	json_object_set_new(o, "started_at", json_string(a));
	json_object_set_new(o, "finished_at", json_string(b));
	json_object_set_new(o, "duration_s", seconds(time_mono_ms() - s->started_mono));
	json_object_set_new(o, "sync_run_id", json_string(s->run_id));
	json_object_set_new(o, "requests", json_integer(hs ? hs->requests : 0));
	json_object_set_new(o, "retries", json_integer(hs ? hs->retries : 0));
	json_object_set_new(o, "rate_limited_s", seconds(hs ? hs->rate_limited_ms : 0));
	/* Written in place (not renamed): the path may be a device or a pipe. */
	errno = 0;
	f = fopen(path, "w");
	if (!f || json_dumpf(o, f, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) < 0 || fputc('\n', f) == EOF || fflush(f) ||
	    ferror(f)) {
		rc = err_set(err, CRM_EOUTPUT, "output_error", "cannot write summary file %s: %s", path,
			     strerror(errno ? errno : EIO));
	}
	if (f && fclose(f) && !rc)
		rc = err_set(err, CRM_EOUTPUT, "output_error", "cannot write summary file %s: %s", path, strerror(errno));
	buf_release(&tmp);
	json_decref(o);
	return rc;
}

void summary_progress(struct summary *s, FILE *f, int force)
{
	long long now = time_mono_ms();
	double t, rate;

	if (!force && now - s->last_progress < 200)
		return;
	s->last_progress = now;
	t = elapsed(s);
	rate = t > 0 ? (double)s->records / t : 0.0;
	/* More records than the CRM counted (records changed during the pull,
	 * deletions after live ones): the total says nothing any more. */
	if (s->total < 0 || s->records > s->total) {
		fprintf(f, "\r\033[Kcrmsync: %s %s: %ld records, %.0f/s, %.0fs elapsed", s->command, s->object,
			s->records, rate, t);
	} else {
		char left[32] = "";
		if (rate > 0) {
			long long sec = (long long)((double)(s->total - s->records) / rate + 0.5);
			if (sec >= 3600)
				snprintf(left, sizeof(left), ", %lld:%02lld:%02lld left", sec / 3600, sec / 60 % 60, sec % 60);
			else
				snprintf(left, sizeof(left), ", %lld:%02lld left", sec / 60, sec % 60);
		}
		fprintf(f, "\r\033[Kcrmsync: %s %s: %ld/%lld records, %d%%, %.0f/s%s", s->command, s->object,
			s->records, s->total, s->total ? (int)(s->records * 100 / s->total) : 100, rate, left);
	}
	fflush(f);
}
