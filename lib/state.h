/* state.h: the incremental-sync state file.
 *
 * JSON a person can read and edit with jq:
 *   {"version": 1, "entries": {"hubspot/default/contacts":
 *     {"cursor": "2026-11-22T10:04:05.512Z", "last_id": "151",
 *      "written_at": "...", "sync_run_id": "..."}}}
 * Writers lock PATH.lock (flock), re-read the file, change their entry,
 * write a temp file and rename it into place, so jobs sharing one file
 * never lose each other's entries and no reader sees half a file.
 * FILE is the final target of a symbolic link (the link stays a link), and
 * a rewritten file keeps its mode (a new one is 0600).
 *
 * FILE may instead hold a Singer state, as a target echoes it back and
 * Meltano stores it: {"bookmarks": {"contacts": {"remote_updated_at": "...",
 * "remote_id": "151"}}, ...}, also bare {} or inside {"value": ...} or
 * {"singer_state": ...}.  The cursor is then the bookmark of the stream
 * (the object's plural), and a write changes that bookmark only, so the
 * file stays a Singer state that a target and crmsync can share. */
#ifndef CRM_STATE_H
#define CRM_STATE_H

#include <jansson.h>

struct crm_err;

struct state_cursor {
	char time[48];   /* RFC 3339 UTC, "" = no entry (full pull) */
	char last_id[128];
};

/* Reads the entry for key (in a Singer state, the bookmark of stream).
 * A missing file or entry leaves cur empty.  A file that is neither a
 * crmsync nor a Singer state is CRM_EDATA naming the file; one that cannot
 * be read, CRM_EOUTPUT. */
int state_read(const char *path, const char *key, const char *stream, struct state_cursor *cur,
	       struct crm_err *err);
/* Before the first request: creates the missing folders of path (0700),
 * locks it, removes the temp files a killed write left, checks that it
 * parses and that a temp file can be made beside it, and reads the entry
 * for key as state_read does.  CRM_EOUTPUT when the state could not be
 * read, locked or written, CRM_EDATA when the file is not a state file.
 * With singer non-NULL, *singer is a copy of the Singer state the file
 * holds (new reference), or NULL when it holds a crmsync state. */
int state_prepare(const char *path, const char *key, const char *stream, struct state_cursor *cur,
		  json_t **singer, struct crm_err *err);
/* Writes the entry for key, or the bookmark of stream in a Singer state
 * (locked, temp file + rename).  CRM_EOUTPUT on failure. */
int state_write(const char *path, const char *key, const char *stream, const struct state_cursor *cur,
		const char *run_id, struct crm_err *err);
/* The Singer bookmark of a cursor: {"remote_updated_at", "remote_id"}
 * (new reference), NULL when cur is empty. */
json_t *state_bookmark(const struct state_cursor *cur);

#endif
