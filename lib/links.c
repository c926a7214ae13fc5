/* links.c: the links store (see links.h), on SQLite. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "links.h"
#include "timeutil.h"

/* Version 1.  status --links and the people who read the file with the
 * sqlite3 shell rely on these names: a change is a new version. */
static const char schema[] =
	"CREATE TABLE links ("
	" entity INTEGER NOT NULL, object TEXT NOT NULL, provider TEXT NOT NULL,"
	" namespace TEXT NOT NULL, remote_id TEXT NOT NULL, linked_at TEXT NOT NULL,"
	" run_id TEXT, deleted_at TEXT,"
	" PRIMARY KEY (object, provider, namespace, remote_id));"
	"CREATE INDEX links_entity ON links (entity);"
	"CREATE TABLE pushes ("
	" entity INTEGER NOT NULL, object TEXT NOT NULL,"
	" src_provider TEXT NOT NULL, src_namespace TEXT NOT NULL,"
	" dst_provider TEXT NOT NULL, dst_namespace TEXT NOT NULL,"
	" outcome TEXT NOT NULL, pushed_at TEXT NOT NULL, run_id TEXT,"
	" PRIMARY KEY (entity, src_provider, src_namespace, dst_provider, dst_namespace));"
	"CREATE TABLE claims ("
	" entity INTEGER NOT NULL, object TEXT NOT NULL, dst_provider TEXT NOT NULL,"
	" dst_namespace TEXT NOT NULL, pid INTEGER NOT NULL, run_id TEXT, claimed_at TEXT NOT NULL,"
	" PRIMARY KEY (entity, dst_provider, dst_namespace, object));"
	"PRAGMA user_version = 1;";

enum {
	Q_FIND, Q_ENTITY, Q_NEWENT, Q_INSERT, Q_REENT, Q_UNDELETE, Q_DELETED, Q_PUSHED,
	Q_CLAIM_GET, Q_CLAIM_PUT, Q_CLAIM_DEL, Q_FIND_MANY, Q_COUNT
};

static const char *const sql[Q_COUNT] = {
	[Q_FIND] = "SELECT d.remote_id, d.deleted_at IS NOT NULL FROM links s JOIN links d ON d.entity = s.entity"
		   " WHERE s.object = ?1 AND s.provider = ?2 AND s.namespace = ?3 AND s.remote_id = ?4"
		   " AND d.object = ?1 AND d.provider = ?5 AND d.namespace = ?6"
		   " ORDER BY d.deleted_at IS NOT NULL, d.linked_at DESC LIMIT 1",
	[Q_ENTITY] = "SELECT entity FROM links WHERE object = ?1 AND provider = ?2 AND namespace = ?3"
		     " AND remote_id = ?4",
	[Q_NEWENT] = "SELECT coalesce(max(entity), 0) + 1 FROM links",
	[Q_INSERT] = "INSERT INTO links (entity, object, provider, namespace, remote_id, linked_at, run_id)"
		     " VALUES (?5, ?1, ?2, ?3, ?4, ?6, ?7)",
	[Q_REENT] = "UPDATE links SET entity = ?5, linked_at = ?6, run_id = ?7 WHERE object = ?1 AND provider = ?2"
		    " AND namespace = ?3 AND remote_id = ?4",
	[Q_UNDELETE] = "UPDATE links SET deleted_at = NULL WHERE object = ?1 AND provider = ?2 AND namespace = ?3"
		       " AND remote_id = ?4 AND deleted_at IS NOT NULL",
	[Q_DELETED] = "UPDATE links SET deleted_at = ?5 WHERE object = ?1 AND provider = ?2 AND namespace = ?3"
		      " AND remote_id = ?4",
	[Q_PUSHED] = "INSERT OR REPLACE INTO pushes (entity, object, src_provider, src_namespace, dst_provider,"
		     " dst_namespace, outcome, pushed_at, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[Q_CLAIM_GET] = "SELECT pid, claimed_at FROM claims WHERE entity = ?1 AND object = ?2 AND dst_provider = ?3"
			" AND dst_namespace = ?4",
	[Q_CLAIM_PUT] = "INSERT OR REPLACE INTO claims (entity, object, dst_provider, dst_namespace, pid, run_id,"
			" claimed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	/* ?1: a JSON array of [object, provider, namespace, remote_id]; each is
	 * looked up through the primary key, its rows in Q_FIND's order. */
	[Q_FIND_MANY] = "SELECT j.key, d.remote_id, d.deleted_at IS NOT NULL FROM json_each(?1) j"
			" JOIN links s ON s.object = json_extract(j.value, '$[0]')"
			" AND s.provider = json_extract(j.value, '$[1]') AND s.namespace = json_extract(j.value, '$[2]')"
			" AND s.remote_id = json_extract(j.value, '$[3]')"
			" JOIN links d ON d.entity = s.entity AND d.object = s.object AND d.provider = ?2"
			" AND d.namespace = ?3"
			" ORDER BY j.key, d.deleted_at IS NOT NULL, d.linked_at DESC",
	[Q_CLAIM_DEL] = "DELETE FROM claims WHERE entity = ?1 AND object = ?2 AND dst_provider = ?3"
			" AND dst_namespace = ?4",
};

struct links {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *q[Q_COUNT];
	long queries;         /* lookups answered */
};

/* Other runs hold the write lock for a few statements at a time; a run
 * that waits this long sees something wrong (a stopped process). */
#define BUSY_MS 30000

static int db_fail(struct links *l, int status, struct crm_err *err, const char *what)
{
	return err_set(err, status, status == CRM_ECONFIG ? "config" : "output_error", "--links %s: %s: %s",
		       l->path, what, sqlite3_errmsg(l->db));
}

static sqlite3_stmt *stmt(struct links *l, int which, struct crm_err *err)
{
	if (!l->q[which] && sqlite3_prepare_v3(l->db, sql[which], -1, SQLITE_PREPARE_PERSISTENT, &l->q[which],
					       NULL) != SQLITE_OK) {
		db_fail(l, CRM_EOUTPUT, err, "cannot read the store");
		return NULL;
	}
	sqlite3_reset(l->q[which]);
	sqlite3_clear_bindings(l->q[which]);
	return l->q[which];
}

static void bind_key(sqlite3_stmt *s, const struct link_key *k)
{
	sqlite3_bind_text(s, 1, k->object, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, k->provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, k->ns ? k->ns : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, k->id, -1, SQLITE_STATIC);
}

static void bind_opt(sqlite3_stmt *s, int i, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/* Runs a statement that returns no row. */
static int step_done(struct links *l, sqlite3_stmt *s, struct crm_err *err)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_fail(l, CRM_EOUTPUT, err, "cannot write the store");
	return 0;
}

static void now_text(char out[TIME_BUFSZ])
{
	time_format(time_now_ms() / 1000 * 1000, out);
}

static int exec(struct links *l, const char *text, int status, const char *what, struct crm_err *err)
{
	if (sqlite3_exec(l->db, text, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(l, status, err, what);
	return 0;
}

/* PRAGMA user_version, or a negative status (not a database at all). */
static int user_version(struct links *l, int *v, struct crm_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return db_fail(l, CRM_ECONFIG, err, "not a links store");
	rc = sqlite3_step(s);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return db_fail(l, CRM_ECONFIG, err, "not a links store");
	return 0;
}

/* Whether the database holds any table (a version 0 file with tables is
 * someone else's database, never ours to add to). */
static int has_tables(struct links *l, int *yes, struct crm_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(l->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL) != SQLITE_OK)
		return db_fail(l, CRM_ECONFIG, err, "not a links store");
	rc = sqlite3_step(s);
	*yes = rc == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : db_fail(l, CRM_ECONFIG, err, "not a links store");
}

static int check_version(struct links *l, int v, struct crm_err *err)
{
	if (v > LINKS_VERSION)
		return err_set(err, CRM_ECONFIG, "config",
			       "--links %s: the store has schema version %d, newer than this crmsync reads (%d);"
			       " use a newer crmsync", l->path, v, LINKS_VERSION);
	return 0;
}

/* Makes the schema, if the file has none yet (under the write lock: two
 * runs may create it at once). */
static int create_schema(struct links *l, struct crm_err *err)
{
	int v, tables;

	if (exec(l, "BEGIN IMMEDIATE", CRM_ECONFIG, "cannot lock the store", err) < 0)
		return err->status;
	if (user_version(l, &v, err) < 0 || check_version(l, v, err) < 0 || has_tables(l, &tables, err) < 0)
		goto fail;
	if (v == 0 && tables) {
		err_set(err, CRM_ECONFIG, "config", "--links %s: not a links store (a database with other tables)",
			l->path);
		goto fail;
	}
	if (v == 0 && exec(l, schema, CRM_EOUTPUT, "cannot create the store", err) < 0)
		goto fail;
	if (exec(l, "COMMIT", CRM_EOUTPUT, "cannot create the store", err) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	return err->status;
}

void links_close(struct links *l)
{
	if (!l)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(l->q[i]);
	sqlite3_close(l->db);
	free(l->path);
	free(l);
}

int links_open(struct links **out, const char *path, int readonly, struct crm_err *err)
{
	struct links *l;
	int v, tables, fd;

	*out = NULL;
	if (readonly && access(path, F_OK) < 0 && errno == ENOENT)
		return 0; /* nothing linked yet, and nothing is written */
	if (!readonly) {
		/* Made here, not by SQLite, so that it is the user's alone (the
		 * journal files take the file's mode). */
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return err_set(err, CRM_ECONFIG, "config", "--links %s: %s", path, strerror(errno));
		close(fd);
	}
	if (!(l = calloc(1, sizeof(*l))) || !(l->path = strdup(path))) {
		free(l);
		return err_set(err, CRM_EFAIL, "out_of_memory", "out of memory");
	}
	if (sqlite3_open_v2(path, &l->db, readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		db_fail(l, CRM_ECONFIG, err, "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(l->db, BUSY_MS);
	/* A small page cache (256 KiB, the default is 2 MiB): push looks up
	 * one batch of keys at a time by primary key, a few pages each, so a
	 * bigger cache buys nothing and only adds to the run's peak RSS. */
	sqlite3_exec(l->db, "PRAGMA cache_size = -256", NULL, NULL, NULL);
	/* Checked before anything is written: a file that is not ours stays
	 * as it was. */
	if (user_version(l, &v, err) < 0 || check_version(l, v, err) < 0 || has_tables(l, &tables, err) < 0)
		goto fail;
	if (v == 0 && tables) {
		err_set(err, CRM_ECONFIG, "config", "--links %s: not a links store (a database with other tables)",
			path);
		goto fail;
	}
	if (readonly) {
		*out = v ? l : NULL; /* an empty file: nothing linked */
		if (!v)
			links_close(l);
		return 0;
	}
	/* WAL: readers never wait for a writer, and a crash mid-write leaves
	 * the last committed state.  NORMAL sync is durable across a crash of
	 * the process (what a SIGKILL is), which is the case this guards. */
	if (exec(l, "PRAGMA journal_mode = WAL", CRM_ECONFIG, "cannot use the store", err) < 0 ||
	    exec(l, "PRAGMA synchronous = NORMAL", CRM_ECONFIG, "cannot use the store", err) < 0 ||
	    (v == 0 && create_schema(l, err) < 0))
		goto fail;
	*out = l;
	return 0;
fail:
	links_close(l);
	return err->status;
}

int links_find(struct links *l, const struct link_key *from, const char *provider, const char *ns, char *out,
	       size_t n, int *deleted, struct crm_err *err)
{
	sqlite3_stmt *s;
	int rc;

	*deleted = 0;
	if (!l || !from->id || !*from->id)
		return 0;
	if (!(s = stmt(l, Q_FIND, err)))
		return err->status;
	l->queries++;
	bind_key(s, from);
	sqlite3_bind_text(s, 5, provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, ns ? ns : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 0));
		*deleted = sqlite3_column_int(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(l, CRM_EOUTPUT, err, "cannot read the store");
	return rc == SQLITE_ROW;
}

int links_find_many(struct links *l, const struct link_key *keys, size_t n, const char *provider, const char *ns,
		    struct link_hit *hits, struct crm_err *err)
{
	json_t *arr = json_array();
	sqlite3_stmt *s;
	char *text = NULL;
	int rc;

	for (size_t i = 0; i < n; i++) {
		hits[i].found = hits[i].deleted = 0;
		hits[i].id[0] = '\0';
		json_array_append_new(arr, json_pack("[s,s,s,s]", keys[i].object, keys[i].provider,
						     keys[i].ns ? keys[i].ns : "", keys[i].id ? keys[i].id : ""));
	}
	if (!l || !n) {
		json_decref(arr);
		return 0;
	}
	if (json_array_size(arr) != n || !(text = json_dumps(arr, JSON_COMPACT))) {
		json_decref(arr);
		return err_set(err, CRM_EFAIL, "out_of_memory", "out of memory");
	}
	json_decref(arr);
	if (!(s = stmt(l, Q_FIND_MANY, err))) {
		free(text);
		return err->status;
	}
	l->queries++;
	sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ns ? ns : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		sqlite3_int64 i = sqlite3_column_int64(s, 0);
		if (i < 0 || (size_t)i >= n || hits[i].found)
			continue; /* the first row of a key is the one preferred */
		hits[i].found = 1;
		hits[i].deleted = sqlite3_column_int(s, 2);
		snprintf(hits[i].id, sizeof(hits[i].id), "%s", (const char *)sqlite3_column_text(s, 1));
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	free(text);
	if (rc != SQLITE_DONE)
		return db_fail(l, CRM_EOUTPUT, err, "cannot read the store");
	return 0;
}

long links_queries(const struct links *l)
{
	return l ? l->queries : 0;
}

int links_begin(struct links *l, struct crm_err *err)
{
	return exec(l, "BEGIN IMMEDIATE", CRM_EOUTPUT, "cannot lock the store", err);
}

int links_commit(struct links *l, struct crm_err *err)
{
	if (exec(l, "COMMIT", CRM_EOUTPUT, "cannot write the store", err) < 0) {
		links_rollback(l);
		return err->status;
	}
	return 0;
}

void links_rollback(struct links *l)
{
	if (!sqlite3_get_autocommit(l->db))
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
}

static long long entity_of(struct links *l, const struct link_key *k, struct crm_err *err)
{
	sqlite3_stmt *s = stmt(l, Q_ENTITY, err);
	long long e = 0;
	int rc;

	if (!s)
		return err->status;
	bind_key(s, k);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		e = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(l, CRM_EOUTPUT, err, "cannot read the store");
	return e;
}

/* Inserts (or with `move`, re-points) k's row into entity e. */
static int put_row(struct links *l, int which, const struct link_key *k, long long e, const char *run_id,
		   struct crm_err *err)
{
	sqlite3_stmt *s = stmt(l, which, err);
	char now[TIME_BUFSZ];

	if (!s)
		return err->status;
	now_text(now);
	bind_key(s, k);
	sqlite3_bind_int64(s, 5, e);
	sqlite3_bind_text(s, 6, now, -1, SQLITE_TRANSIENT);
	bind_opt(s, 7, run_id);
	return step_done(l, s, err);
}

long long links_entity(struct links *l, const struct link_key *k, int create, const char *run_id,
		       struct crm_err *err)
{
	long long e = entity_of(l, k, err);
	sqlite3_stmt *s;

	if (e != 0 || !create)
		return e;
	if (!(s = stmt(l, Q_NEWENT, err)))
		return err->status;
	if (sqlite3_step(s) == SQLITE_ROW)
		e = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (e <= 0)
		return db_fail(l, CRM_EOUTPUT, err, "cannot read the store");
	if (put_row(l, Q_INSERT, k, e, run_id, err) < 0)
		return err->status;
	return e;
}

/* Whether entity e has any row but k's. */
static int others(struct links *l, long long e, const struct link_key *k, struct crm_err *err)
{
	sqlite3_stmt *s;
	int rc, n = 0;

	if (sqlite3_prepare_v2(l->db,
			       "SELECT count(*) FROM links WHERE entity = ?5 AND NOT (object = ?1 AND provider = ?2"
			       " AND namespace = ?3 AND remote_id = ?4)", -1, &s, NULL) != SQLITE_OK)
		return db_fail(l, CRM_EOUTPUT, err, "cannot read the store");
	bind_key(s, k);
	sqlite3_bind_int64(s, 5, e);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? n > 0 : db_fail(l, CRM_EOUTPUT, err, "cannot read the store");
}

long long links_link(struct links *l, const struct link_key *a, const struct link_key *b, const char *run_id,
		     struct crm_err *err)
{
	long long ea = entity_of(l, a, err), eb, r;
	sqlite3_stmt *s;

	if (ea < 0 || (eb = entity_of(l, b, err)) < 0)
		return err->status;
	if (eb == 0) {
		if (!ea && (ea = links_entity(l, a, 1, run_id, err)) < 0)
			return ea;
		if (put_row(l, Q_INSERT, b, ea, run_id, err) < 0)
			return err->status;
		return ea;
	}
	if (!(s = stmt(l, Q_UNDELETE, err)))
		return err->status;
	bind_key(s, b);
	if (step_done(l, s, err) < 0)
		return err->status;
	if (ea == eb)
		return ea;
	if (ea == 0) {
		if (put_row(l, Q_INSERT, a, eb, run_id, err) < 0)
			return err->status;
		return eb;
	}
	/* Both linked already: a (the side being pushed) moves over when it
	 * was alone, so the next run finds b through it. */
	if ((r = others(l, ea, a, err)) < 0)
		return r;
	if (!r && put_row(l, Q_REENT, a, eb, run_id, err) < 0)
		return err->status;
	return r ? ea : eb;
}

int links_mark_deleted(struct links *l, const struct link_key *k, struct crm_err *err)
{
	sqlite3_stmt *s = stmt(l, Q_DELETED, err);
	char now[TIME_BUFSZ];

	if (!s)
		return err->status;
	now_text(now);
	bind_key(s, k);
	sqlite3_bind_text(s, 5, now, -1, SQLITE_TRANSIENT);
	return step_done(l, s, err);
}

int links_pushed(struct links *l, long long entity, const struct link_key *src, const char *dprov,
		 const char *dns, const char *outcome, const char *run_id, struct crm_err *err)
{
	sqlite3_stmt *s = stmt(l, Q_PUSHED, err);
	char now[TIME_BUFSZ];

	if (!s)
		return err->status;
	now_text(now);
	sqlite3_bind_int64(s, 1, entity);
	sqlite3_bind_text(s, 2, src->object, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, src->provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, src->ns ? src->ns : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, dprov, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, dns ? dns : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, now, -1, SQLITE_TRANSIENT);
	bind_opt(s, 9, run_id);
	return step_done(l, s, err);
}

static void bind_claim(sqlite3_stmt *s, long long entity, const char *object, const char *dprov, const char *dns)
{
	sqlite3_bind_int64(s, 1, entity);
	sqlite3_bind_text(s, 2, object, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, dprov, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, dns ? dns : "", -1, SQLITE_STATIC);
}

/* The claim of a Q_CLAIM_GET row: ours (LINK_CLAIMED), a live run's
 * (LINK_HELD) or a stopped one's (LINK_STALE).  A claim is live while its
 * process is (pids are of this host: SQLite's locking does not span hosts
 * anyway) and young. */
static int claim_state(sqlite3_stmt *s, long stale_s)
{
	long pid = (long)sqlite3_column_int64(s, 0);
	const char *at = (const char *)sqlite3_column_text(s, 1);
	long long ms = 0;
	int dead = kill((pid_t)pid, 0) < 0 && errno == ESRCH;
	int old = at && time_parse(at, &ms) == 0 && time_now_ms() - ms > stale_s * 1000LL;

	return pid == (long)getpid() ? LINK_CLAIMED : dead || old ? LINK_STALE : LINK_HELD;
}

int links_claim(struct links *l, long long entity, const char *object, const char *dprov, const char *dns,
		const char *run_id, long stale_s, long long *since_ms, struct crm_err *err)
{
	sqlite3_stmt *s = stmt(l, Q_CLAIM_GET, err);
	char now[TIME_BUFSZ];
	int rc, res = LINK_CLAIMED;

	*since_ms = 0;
	if (!s)
		return err->status;
	bind_claim(s, entity, object, dprov, dns);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *at = (const char *)sqlite3_column_text(s, 1);
		res = claim_state(s, stale_s);
		if (!at || time_parse(at, since_ms) < 0)
			*since_ms = 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(l, CRM_EOUTPUT, err, "cannot read the store");
	if (res == LINK_HELD)
		return res;
	if (!(s = stmt(l, Q_CLAIM_PUT, err)))
		return err->status;
	now_text(now);
	bind_claim(s, entity, object, dprov, dns);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)getpid());
	bind_opt(s, 6, run_id);
	sqlite3_bind_text(s, 7, now, -1, SQLITE_TRANSIENT);
	if (step_done(l, s, err) < 0)
		return err->status;
	return res;
}

int links_unclaim(struct links *l, long long entity, const char *object, const char *dprov, const char *dns,
		  long stale_s, struct crm_err *err)
{
	sqlite3_stmt *s = stmt(l, Q_CLAIM_GET, err);
	int rc, drop = 0;

	if (!s)
		return err->status;
	bind_claim(s, entity, object, dprov, dns);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		drop = claim_state(s, stale_s) != LINK_HELD;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(l, CRM_EOUTPUT, err, "cannot read the store");
	if (!drop || !(s = stmt(l, Q_CLAIM_DEL, err)))
		return drop ? err->status : 0;
	bind_claim(s, entity, object, dprov, dns);
	return step_done(l, s, err);
}
