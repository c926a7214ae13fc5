#include "linkstat.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "banned.h"

/* A writer holds the store's lock for one short transaction: a few
 * seconds covers a busy moment, not a hung run. */
#define BUSY_MS 5000

/* One line per direction a push went through (pushes has a row per entity
 * and direction: its last push), in a stable order. */
static const char q_groups[] =
	"SELECT src_provider, src_namespace, dst_provider, dst_namespace, object, max(pushed_at)"
	" FROM pushes GROUP BY src_provider, src_namespace, dst_provider, dst_namespace, object"
	" ORDER BY src_provider, src_namespace, dst_provider, dst_namespace, object";

static const char q_failures[] =
	"SELECT outcome, count(*) FROM pushes"
	" WHERE src_provider = ?1 AND src_namespace = ?2 AND dst_provider = ?3 AND dst_namespace = ?4"
	" AND object = ?5 AND outcome <> 'ok' GROUP BY outcome ORDER BY outcome";

/* Both sides live, and no failed push this way.  The source side is found
 * through the primary key (object, provider, namespace), the target side
 * through links_entity, the failure through the pushes key: no full scan.
 * The unary + keeps SQLite (with no ANALYZE statistics) from searching the
 * target side by the primary key's prefix too, a scan of the whole side
 * per source row: minutes instead of a second at 200,000 links. */
static const char q_linked[] =
	"SELECT count(DISTINCT s.entity) FROM links s"
	" JOIN links t ON t.entity = s.entity AND +t.object = s.object"
	" AND +t.provider = ?3 AND +t.namespace = ?4 AND t.deleted_at IS NULL"
	" WHERE s.object = ?5 AND s.provider = ?1 AND s.namespace = ?2 AND s.deleted_at IS NULL"
	" AND NOT EXISTS (SELECT 1 FROM pushes p WHERE p.entity = s.entity"
	" AND p.src_provider = ?1 AND p.src_namespace = ?2 AND p.dst_provider = ?3"
	" AND p.dst_namespace = ?4 AND p.outcome <> 'ok')";

/* The error of the last call on db, as the contract's statuses: a file
 * that is no database or a damaged one is the user's to fix (78); a lock
 * held too long passes (75). */
static int db_fail(sqlite3 *db, const char *path, struct crm_err *err)
{
	int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_NOMEM;
	const char *m = db ? sqlite3_errmsg(db) : "out of memory";

	switch (code) {
	case SQLITE_NOTADB:
		return err_set(err, CRM_ECONFIG, "config_error",
			       "links store %s is not a crmsync links store (not an SQLite database)", path);
	case SQLITE_CORRUPT:
		return err_set(err, CRM_ECONFIG, "config_error", "links store %s is damaged: %s", path, m);
	case SQLITE_ERROR: /* a table or column missing: another database */
		return err_set(err, CRM_ECONFIG, "config_error", "links store %s is not a crmsync links store (%s)",
			       path, m);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return err_set(err, CRM_ETEMP, "store_busy",
			       "links store %s is locked by another run for over %d s; try again", path, BUSY_MS / 1000);
	default:
		return err_set(err, CRM_EFAIL, "store_error", "cannot read links store %s: %s", path, m);
	}
}

/* user_version: 0 in any SQLite file that is not a store. */
static int check_version(sqlite3 *db, const char *path, struct crm_err *err)
{
	sqlite3_stmt *st = NULL;
	int v, rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = db_fail(db, path, err);
		sqlite3_finalize(st);
		return rc;
	}
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v == 0)
		return err_set(err, CRM_ECONFIG, "config_error", "links store %s is not a crmsync links store (no version)",
			       path);
	if (v > LINKSTAT_VERSION)
		return err_set(err, CRM_ECONFIG, "config_error",
			       "links store %s has version %d; this crmsync reads version %d (upgrade crmsync)", path, v,
			       LINKSTAT_VERSION);
	return 0;
}

static void bind_group(sqlite3_stmt *st, sqlite3_stmt *g)
{
	for (int i = 0; i < 5; i++)
		sqlite3_bind_text(st, i + 1, (const char *)sqlite3_column_text(g, i), -1, SQLITE_TRANSIENT);
}

static json_t *text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return s ? json_string((const char *)s) : json_null();
}

/* The line of the group at the cursor g. */
static int group_line(sqlite3_stmt *g, sqlite3_stmt *qf, sqlite3_stmt *ql, json_t **out)
{
	json_t *failures = json_object();
	long long failing = 0, linked = 0;
	int rc;

	sqlite3_reset(qf);
	bind_group(qf, g);
	while ((rc = sqlite3_step(qf)) == SQLITE_ROW) {
		long long n = sqlite3_column_int64(qf, 1);
		json_object_set_new(failures, (const char *)sqlite3_column_text(qf, 0), json_integer(n));
		failing += n;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_reset(ql);
	bind_group(ql, g);
	if ((rc = sqlite3_step(ql)) != SQLITE_ROW)
		goto fail;
	linked = sqlite3_column_int64(ql, 0);
	*out = json_pack("{s:{s:o,s:o},s:{s:o,s:o},s:o,s:I,s:I,s:o,s:o}",
			 "source", "provider", text(g, 0), "namespace", text(g, 1),
			 "target", "provider", text(g, 2), "namespace", text(g, 3),
			 "object", text(g, 4), "linked", (json_int_t)linked, "failing", (json_int_t)failing,
			 "failures", failures, "last_push_at", text(g, 5));
	return *out ? 0 : -1;
fail:
	json_decref(failures);
	return -1;
}

/* Every line, read in one snapshot; the lines are few (directions times
 * objects, never records), so they are kept and the read transaction ends
 * before a slow reader of stdout could hold writers up. */
static int read_all(sqlite3 *db, const char *path, json_t *lines, struct crm_err *err)
{
	sqlite3_stmt *g = NULL, *qf = NULL, *ql = NULL;
	int rc = 0, s;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, path, err);
	if ((rc = check_version(db, path, err)) < 0)
		goto done;
	if (sqlite3_prepare_v2(db, q_groups, -1, &g, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, q_failures, -1, &qf, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, q_linked, -1, &ql, NULL) != SQLITE_OK) {
		rc = db_fail(db, path, err);
		goto done;
	}
	while ((s = sqlite3_step(g)) == SQLITE_ROW) {
		json_t *line = NULL;
		if (group_line(g, qf, ql, &line) < 0) {
			rc = db_fail(db, path, err);
			goto done;
		}
		json_array_append_new(lines, line);
	}
	if (s != SQLITE_DONE)
		rc = db_fail(db, path, err);
done:
	sqlite3_finalize(g);
	sqlite3_finalize(qf);
	sqlite3_finalize(ql);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

int linkstat_report(const char *path, linkstat_fn fn, void *arg, struct crm_err *err)
{
	sqlite3 *db = NULL;
	json_t *lines, *line;
	struct stat sb;
	size_t i;
	int rc;

	/* Read-only never creates a file, but says only "unable to open":
	 * the reason comes from stat. */
	if (stat(path, &sb) < 0)
		return err_set(err, CRM_ECONFIG, "config_error", "links store %s: %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return err_set(err, CRM_ECONFIG, "config_error", "links store %s is not a regular file", path);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = db_fail(db, path, err);
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, BUSY_MS);
	lines = json_array();
	rc = read_all(db, path, lines, err);
	sqlite3_close(db);
	json_array_foreach(lines, i, line) {
		if (rc < 0)
			break;
		rc = fn(line, arg, err);
	}
	json_decref(lines);
	return rc < 0 ? rc : 0;
}
