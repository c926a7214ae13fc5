#include "summary.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

void summary_fail(struct summary *s, const char *code)
{
	int i;

	if (!code || !*code)
		code = "error";
	for (i = 0; i < s->nfails; i++)
		if (!strcmp(s->fails[i].code, code))
			break;
	if (i == s->nfails) {
		if (s->nfails == SUM_NFAILS)
			i = SUM_NFAILS - 1, code = "other";
		else
			s->nfails++;
		snprintf(s->fails[i].code, sizeof(s->fails[i].code), "%s", code);
	}
	s->fails[i].n++;
}

/* Opens the history file for appending.  O_NOFOLLOW: a link is refused,
 * not followed (one planted where a cron job writes could point at any
 * file the job may write).  O_NONBLOCK: a FIFO with no reader fails now
 * instead of hanging the run; a device, a FIFO or a folder is refused:
 * a history is a file that grows. */
static int open_append(const char *path, struct crm_err *err)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);

	if (fd < 0 && errno == ELOOP)
		return err_set(err, CRM_EOUTPUT, "output_error",
			       "summary file %s is a symbolic link; refusing it (give the file itself)", path);
	if (fd < 0 && errno != ENXIO && errno != EISDIR)
		return err_set(err, CRM_EOUTPUT, "output_error", "cannot write summary file %s: %s", path,
			       strerror(errno));
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return err_set(err, CRM_EOUTPUT, "output_error",
			       "summary file %s is not a regular file; refusing it (the runs are appended to it)", path);
	}
	return fd;
}

int summary_check(const char *path, struct crm_err *err)
{
	int fd = open_append(path, err);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static json_t *failures(const struct summary *s)
{
	json_t *f = json_object();

	for (int i = 0; i < s->nfails; i++)
		json_object_set_new(f, s->fails[i].code, json_integer(s->fails[i].n));
	return f;
}

int summary_write_json(const struct summary *s, const struct http_stats *hs, const char *path,
		       struct crm_err *err)
{
	char a[TIME_BUFSZ], b[TIME_BUFSZ];
	json_t *o = json_object(), *c = json_object();
	char *text = NULL;
	size_t len;
	ssize_t w;
	int rc = 0, fd;

	time_format(s->started_ms, a);
	time_format(time_now_ms(), b);
	json_object_set_new(o, "command", json_string(s->command));
	json_object_set_new(o, "provider", s->provider ? json_string(s->provider) : json_null());
	json_object_set_new(o, "profile", s->profile ? json_string(s->profile) : json_null());
	json_object_set_new(o, "object", json_string(s->object));
	if (s->list)
		json_object_set_new(o, "list", json_string(s->list));
	json_object_set_new(o, "records", json_integer(s->records));
	for (int i = 0; i < SUM_NCOUNTS; i++)
		json_object_set_new(c, names[i], json_integer(s->counts[i]));
	json_object_set_new(o, "counts", c);
	json_object_set_new(o, "failures", failures(s));
	json_object_set_new(o, "started_at", json_string(a));
	json_object_set_new(o, "finished_at", json_string(b));
	json_object_set_new(o, "duration_s", seconds(time_mono_ms() - s->started_mono));
	json_object_set_new(o, "sync_run_id", json_string(s->run_id));
	json_object_set_new(o, "requests", json_integer(hs ? hs->requests : 0));
	json_object_set_new(o, "retries", json_integer(hs ? hs->retries : 0));
	json_object_set_new(o, "rate_limited_s", seconds(hs ? hs->rate_limited_ms : 0));
	text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15) | JSON_COMPACT);
	json_decref(o);
	if (!text)
		return err_set(err, CRM_EOUTPUT, "output_error", "cannot write summary file %s: out of memory", path);
	if ((fd = open_append(path, err)) < 0) {
		free(text);
		return fd;
	}
	/* The line and its newline in one write(): appends to a regular file
	 * are not interleaved.  A short write (disk full) is reported, never
	 * completed by a second write that another run's line could split. */
	len = strlen(text);
	text[len++] = '\n'; /* over the terminating NUL: the length is known */
	do
		w = write(fd, text, len);
	while (w < 0 && errno == EINTR);
	if (w < 0 || (size_t)w != len)
		rc = err_set(err, CRM_EOUTPUT, "output_error", "cannot write summary file %s: %s", path,
			     strerror(w < 0 ? errno : ENOSPC));
	if (close(fd) < 0 && !rc)
		rc = err_set(err, CRM_EOUTPUT, "output_error", "cannot write summary file %s: %s", path, strerror(errno));
	free(text);
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
