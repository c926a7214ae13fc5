#include "state.h"

#include <dirent.h>
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

/* The Singer state held in root, borrowed, or NULL when root is a crmsync
 * state file.  A Singer state is what a target echoes back and Meltano
 * stores and hands to the tap: {"bookmarks": {...}} with maybe other keys
 * ("currently_syncing"), or {} before any bookmark; also accepted inside
 * the wrappers some tools write: {"value": ...} (the STATE message itself)
 * and {"singer_state": ...} (`meltano state get`). */
static json_t *singer_of(json_t *root)
{
	static const char *const wrappers[] = { "value", "singer_state", NULL };

	if (!json_is_object(root) || json_object_get(root, "entries"))
		return NULL;
	if (json_is_object(json_object_get(root, "bookmarks")) || !json_object_size(root))
		return root;
	for (int i = 0; wrappers[i]; i++) {
		json_t *v = json_object_get(root, wrappers[i]);
		if (json_is_object(v) && (json_is_object(json_object_get(v, "bookmarks")) || !json_object_size(v)))
			return v;
	}
	return NULL;
}

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
		/* Not the data's fault, and a file that cannot be read cannot be
		 * rewritten with the other jobs' entries: the state is unusable. */
		return err_set(err, CRM_EOUTPUT, "state_error", "cannot read state file %s: %s", path, strerror(errno));
	}
	root = json_loadf(f, 0, &je);
	fclose(f);
	if (!root)
		return err_set(err, CRM_EDATA, "state_error",
			       "state file %s is not valid JSON (line %d: %s); fix or remove it", path, je.line, je.text);
	entries = json_object_get(root, "entries");
	if (!(json_is_object(root) && json_is_integer(json_object_get(root, "version")) && json_is_object(entries)) &&
	    !singer_of(root)) {
		json_decref(root);
		return err_set(err, CRM_EDATA, "state_error",
			       "%s is neither a crmsync state file (\"version\" and \"entries\") nor a Singer state "
			       "(\"bookmarks\"); refusing to use it", path);
	}
	*out = root;
	return 0;
}

/* Copies the entry for key (in a Singer state, the bookmark of stream)
 * out of a loaded state. */
static int entry_get(json_t *root, const char *path, const char *key, const char *stream,
		     struct state_cursor *cur, struct crm_err *err)
{
	json_t *singer = singer_of(root);
	json_t *e = singer ? json_object_get(json_object_get(singer, "bookmarks"), stream)
			   : json_object_get(json_object_get(root, "entries"), key);
	const char *t, *id;
	long long ms;

	memset(cur, 0, sizeof(*cur));
	if (!e)
		return 0;
	t = jx_str(e, singer ? "remote_updated_at" : "cursor");
	id = jx_str(e, singer ? "remote_id" : "last_id");
	/* The Meltano SDK's spelling of the same bookmark. */
	if (singer && !t && jx_str(e, "replication_key") && !strcmp(jx_str(e, "replication_key"), "remote_updated_at"))
		t = jx_str(e, "replication_key_value");
	if (singer && (!json_is_object(e) || (t && time_parse(t, &ms) < 0)))
		return err_set(err, CRM_EDATA, "state_error",
			       "state file %s: the bookmark of stream %s has no valid \"remote_updated_at\" time; "
			       "fix or delete it", path, stream);
	if (!json_is_object(e) || (t && time_parse(t, &ms) < 0))
		return err_set(err, CRM_EDATA, "state_error",
			       "state file %s: entry %s has no valid \"cursor\" time; fix or delete the entry", path, key);
	if (t)
		snprintf(cur->time, sizeof(cur->time), "%s", t);
	if (id)
		snprintf(cur->last_id, sizeof(cur->last_id), "%s", id);
	return 0;
}

json_t *state_bookmark(const struct state_cursor *cur)
{
	if (!cur->time[0])
		return NULL;
	return json_pack("{s:s,s:s?}", "remote_updated_at", cur->time, "remote_id",
			 cur->last_id[0] ? cur->last_id : NULL);
}

int state_read(const char *path, const char *key, const char *stream, struct state_cursor *cur,
	       struct crm_err *err)
{
	json_t *root;
	int rc;

	memset(cur, 0, sizeof(*cur));
	if ((rc = load(path, &root, err)) < 0)
		return rc;
	rc = entry_get(root, path, key, stream, cur, err);
	json_decref(root);
	return rc;
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

/* The state file as it is used: its final path, the folder and name of
 * that path, and the lock and temp files beside it. */
struct spath {
	struct buf file, dir, base, lock, tmp;
	int lfd;
};

static void spath_release(struct spath *s)
{
	if (s->lfd >= 0)
		close(s->lfd); /* and so unlocks */
	s->lfd = -1;
	buf_release(&s->file);
	buf_release(&s->dir);
	buf_release(&s->base);
	buf_release(&s->lock);
	buf_release(&s->tmp);
}

/* Follows symbolic links (at most 40, like the kernel): the target is the
 * file updated, so the temp file goes in the target's folder (a rename is
 * atomic only within one) and replaces the target rather than the link, and
 * jobs naming the file through a link or directly share one lock file.  A
 * dangling link names the file to create. */
static int resolve(const char *path, struct buf *out, struct crm_err *err)
{
	char target[4096];
	struct stat st;

	buf_reset(out);
	buf_adds(out, path);
	for (int hops = 0; lstat(out->buf, &st) == 0 && S_ISLNK(st.st_mode); hops++) {
		ssize_t n;
		char *slash;

		if (hops == 40)
			return err_set(err, CRM_EOUTPUT, "state_error", "state file %s: %s", path, strerror(ELOOP));
		n = readlink(out->buf, target, sizeof(target) - 1);
		if (n < 0)
			return err_set(err, CRM_EOUTPUT, "state_error", "cannot read the link %s: %s",
				       out->buf, strerror(errno));
		target[n] = '\0';
		/* A relative target is relative to the link's folder. */
		slash = strrchr(out->buf, '/');
		if (target[0] == '/' || !slash)
			buf_reset(out);
		else
			out->len = (size_t)(slash + 1 - out->buf);
		buf_add(out, target, (size_t)n);
	}
	return 0;
}

/* Creates the missing folders of dir, mode 0700, like mkdir -p: the ones
 * that exist are left as they are.  dir is cut and mended in place. */
static int make_dirs(char *dir, struct buf *bad)
{
	struct stat st;
	char *slash;

	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
		goto fail;
	}
	/* ENOTDIR: a file on the way up; the parents say which one. */
	if (errno != ENOENT && errno != ENOTDIR)
		goto fail;
	slash = strrchr(dir, '/');
	while (slash && slash > dir && slash[-1] == '/')
		slash--;
	if (slash && slash > dir) {
		int rc;
		*slash = '\0';
		rc = make_dirs(dir, bad);
		*slash = '/';
		if (rc < 0)
			return rc;
	}
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
fail:
	if (!bad->len) {
		int e = errno;
		buf_adds(bad, dir);
		errno = e;
	}
	return -1;
}

/* Whether name is base.tmp.<digits>: the temp files of this state file. */
static int is_temp_of(const char *name, const char *base)
{
	size_t n = strlen(base);

	if (strncmp(name, base, n) || strncmp(name + n, ".tmp.", 5))
		return 0;
	name += n + 5;
	if (!*name)
		return 0;
	for (; *name; name++)
		if (*name < '0' || *name > '9')
			return 0;
	return 1;
}

/* Removes the temp files a write killed between its temp file and the rename
 * left behind.  All of them, whatever their PID: a temp file exists only
 * while its writer holds the lock, and we hold it now, so every one is
 * stale; a PID that is alive proves nothing (PIDs are reused, and jobs in
 * other containers or on other hosts sharing the folder have PIDs of their
 * own).  Best effort: one that stays harms nothing but space. */
static void remove_stale_temps(const struct spath *s)
{
	DIR *d = opendir(s->dir.buf);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (is_temp_of(de->d_name, s->base.buf))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/* Resolves path, creates its missing folders, takes the lock (flock on
 * FILE.lock beside the final file) and removes stale temp files.  Any
 * failure is CRM_EOUTPUT: the state could not be written. */
static int lock_state(const char *path, struct spath *s, struct crm_err *err)
{
	struct stat st;
	const char *slash;
	int rc;

	if ((rc = resolve(path, &s->file, err)) < 0)
		return rc;
	slash = strrchr(s->file.buf, '/');
	if (slash) {
		buf_add(&s->dir, s->file.buf, (size_t)(slash - s->file.buf) + (slash == s->file.buf));
		buf_adds(&s->base, slash + 1);
	} else {
		buf_adds(&s->dir, ".");
		buf_adds(&s->base, s->file.buf);
	}
	if (!s->base.len)
		return err_set(err, CRM_EOUTPUT, "state_error", "state file %s names a folder", path);
	buf_addf(&s->lock, "%s.lock", s->file.buf);
	buf_addf(&s->tmp, "%s.tmp.%ld", s->file.buf, (long)getpid());
	/* Never rename over a device, a pipe or a directory. */
	if (stat(s->file.buf, &st) == 0 && !S_ISREG(st.st_mode))
		return err_set(err, CRM_EOUTPUT, "state_error", "state file %s is not a regular file", s->file.buf);
	{
		struct buf bad = BUF_INIT;
		if (make_dirs(s->dir.buf, &bad) < 0) {
			rc = errno == ENOTDIR
				? err_set(err, CRM_EOUTPUT, "state_error", "state file %s: %s is not a folder",
					  s->file.buf, bad.buf)
				: err_set(err, CRM_EOUTPUT, "state_error", "state file %s: cannot create folder %s: %s",
					  s->file.buf, bad.buf, strerror(errno));
			buf_release(&bad);
			return rc;
		}
		buf_release(&bad);
	}
	s->lfd = open(s->lock.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lfd < 0 || flock(s->lfd, LOCK_EX) < 0)
		return err_set(err, CRM_EOUTPUT, "state_error", "cannot lock state file %s: %s", s->lock.buf,
			       strerror(errno));
	remove_stale_temps(s);
	return 0;
}

int state_prepare(const char *path, const char *key, const char *stream, struct state_cursor *cur,
		  json_t **singer, struct crm_err *err)
{
	struct spath s = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, -1 };
	json_t *root = NULL;
	int rc, fd;

	memset(cur, 0, sizeof(*cur));
	if (singer)
		*singer = NULL;
	if ((rc = lock_state(path, &s, err)) < 0)
		goto done;
	if ((rc = load(s.file.buf, &root, err)) < 0 || (rc = entry_get(root, s.file.buf, key, stream, cur, err)) < 0)
		goto done;
	if (singer && singer_of(root))
		*singer = json_deep_copy(singer_of(root));
	/* The temp file and the rename need the folder writable: try the one;
	 * the other needs no more than it. */
	fd = open(s.tmp.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = err_set(err, CRM_EOUTPUT, "state_error", "cannot write state file %s: cannot create a temp file in %s: %s",
			     s.file.buf, s.dir.buf, strerror(errno));
		goto done;
	}
	close(fd);
	unlink(s.tmp.buf);
done:
	json_decref(root);
	spath_release(&s);
	return rc;
}

int state_write(const char *path, const char *key, const char *stream, const struct state_cursor *cur,
		const char *run_id, struct crm_err *err)
{
	struct spath s = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, -1 };
	struct buf out = BUF_INIT;
	json_t *root = NULL, *e, *singer;
	char now[TIME_BUFSZ];
	struct stat st;
	int fd = -1, rc = 0, made = 0;

	if ((rc = lock_state(path, &s, err)) < 0)
		goto done;
	if ((rc = load(s.file.buf, &root, err)) < 0) {
		err->status = rc = CRM_EOUTPUT;
		goto done;
	}
	time_format(time_now_ms(), now);
	if ((singer = singer_of(root))) {
		/* A Singer state stays one, so a target and crmsync can share it:
		 * this stream's bookmark changes, the rest is kept. */
		json_t *bm = json_object_get(singer, "bookmarks");
		if (!json_is_object(bm))
			json_object_set_new(singer, "bookmarks", bm = json_object());
		json_object_set_new(bm, stream, state_bookmark(cur));
		goto dump;
	}
	e = json_object();
	json_object_set_new(e, "cursor", json_string(cur->time));
	if (cur->last_id[0])
		json_object_set_new(e, "last_id", json_string(cur->last_id));
	json_object_set_new(e, "written_at", json_string(now));
	if (run_id)
		json_object_set_new(e, "sync_run_id", json_string(run_id));
	json_object_set_new(json_object_get(root, "entries"), key, e);
dump:
	{
		char *str = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
		buf_adds(&out, str);
		buf_addc(&out, '\n');
		free(str);
	}
	fd = open(s.tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	made = fd >= 0;
	/* The file keeps its mode (a new one is 0600): the temp file takes it
	 * before it replaces the file. */
	if (fd >= 0 && stat(s.file.buf, &st) == 0 && fchmod(fd, st.st_mode & 07777) < 0) {
		rc = err_set(err, CRM_EOUTPUT, "state_error", "cannot write state file %s: %s", s.tmp.buf, strerror(errno));
		goto done;
	}
	if (fd < 0 || write_all(fd, out.buf, out.len) < 0 || fsync(fd) < 0) {
		rc = err_set(err, CRM_EOUTPUT, "state_error", "cannot write state file %s: %s", s.tmp.buf, strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = err_set(err, CRM_EOUTPUT, "state_error", "cannot write state file %s: %s", s.tmp.buf, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(s.tmp.buf, s.file.buf) < 0) {
		rc = err_set(err, CRM_EOUTPUT, "state_error", "cannot replace state file %s: %s", s.file.buf,
			     strerror(errno));
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && made)
		unlink(s.tmp.buf);
	json_decref(root);
	spath_release(&s);
	buf_release(&out);
	return rc;
}
