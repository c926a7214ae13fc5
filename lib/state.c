#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "jx.h"
#include "timeutil.h"
#include "banned.h"

/* Loads the whole file: *out is a new reference (an empty state when the
 * file does not exist). */
static int load(const char *path, json_t **out, struct crm_err *err)
{
	json_error_t je;
	json_t *root, *entries;
	FILE *f = fopen(path, "r");

	*out = NULL;
	if (!f) {
		if (errno == ENOENT) {
			*out = json_pack("{s:i,s:{}}", "version", 1, "entries");
			return 0;
		}
		return err_set(err, CRM_EDATA, "state_error", "cannot read state file %s: %s", path, strerror(errno));
	}
	root = json_loadf(f, 0, &je);
	fclose(f);
	if (!root)
		return err_set(err, CRM_EDATA, "state_error",
			       "state file %s is not valid JSON (line %d: %s); fix or remove it", path, je.line, je.text);
	entries = json_object_get(root, "entries");
	if (!json_is_object(root) || !json_is_integer(json_object_get(root, "version")) || !json_is_object(entries)) {
		json_decref(root);
		return err_set(err, CRM_EDATA, "state_error",
			       "%s is not a crmsync state file (no \"version\" and \"entries\"); refusing to use it", path);
	}
	*out = root;
	return 0;
}

int state_read(const char *path, const char *key, struct state_cursor *cur, struct crm_err *err)
{
	json_t *root, *e;
	int rc;

	memset(cur, 0, sizeof(*cur));
	if ((rc = load(path, &root, err)) < 0)
		return rc;
	e = json_object_get(json_object_get(root, "entries"), key);
	if (e) {
		const char *t = jx_str(e, "cursor"), *id = jx_str(e, "last_id");
		long long ms;
		if (!json_is_object(e) || (t && time_parse(t, &ms) < 0)) {
			json_decref(root);
			return err_set(err, CRM_EDATA, "state_error",
				       "state file %s: entry %s has no valid \"cursor\" time; fix or delete the entry",
				       path, key);
		}
		if (t)
			snprintf(cur->time, sizeof(cur->time), "%s", t);
		if (id)
			snprintf(cur->last_id, sizeof(cur->last_id), "%s", id);
	}
	json_decref(root);
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int state_write(const char *path, const char *key, const struct state_cursor *cur,
		const char *run_id, struct crm_err *err)
{
	struct buf lockp = BUF_INIT, tmpp = BUF_INIT, out = BUF_INIT;
	json_t *root = NULL, *e;
	char now[TIME_BUFSZ];
	int lfd = -1, fd = -1, rc = 0;

	{
		/* Never rename over a device, a pipe or a directory. */
		struct stat st;
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			rc = err_set(err, CRM_EOUTPUT, "state_error", "state file %s is not a regular file", path);
			goto done;
		}
	}
	buf_addf(&lockp, "%s.lock", path);
	buf_addf(&tmpp, "%s.tmp.%ld", path, (long)getpid());
	lfd = open(lockp.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
		rc = err_set(err, CRM_EOUTPUT, "state_error", "cannot lock state file %s: %s", lockp.buf, strerror(errno));
		goto done;
	}
	if ((rc = load(path, &root, err)) < 0) {
		err->status = rc = CRM_EOUTPUT;
		goto done;
	}
	time_format(time_now_ms(), now);
	e = json_object();
	json_object_set_new(e, "cursor", json_string(cur->time));
	if (cur->last_id[0])
		json_object_set_new(e, "last_id", json_string(cur->last_id));
	json_object_set_new(e, "written_at", json_string(now));
	if (run_id)
		json_object_set_new(e, "sync_run_id", json_string(run_id));
	json_object_set_new(json_object_get(root, "entries"), key, e);
	{
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
		buf_adds(&out, s);
		buf_addc(&out, '\n');
		free(s);
	}
	fd = open(tmpp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, out.buf, out.len) < 0 || fsync(fd) < 0) {
		rc = err_set(err, CRM_EOUTPUT, "state_error", "cannot write state file %s: %s", tmpp.buf, strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = err_set(err, CRM_EOUTPUT, "state_error", "cannot write state file %s: %s", tmpp.buf, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmpp.buf, path) < 0) {
		rc = err_set(err, CRM_EOUTPUT, "state_error", "cannot replace state file %s: %s", path, strerror(errno));
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmpp.buf);
	if (lfd >= 0)
		close(lfd);
	json_decref(root);
	buf_release(&lockp);
	buf_release(&tmpp);
	buf_release(&out);
	return rc;
}
