/* links.h: the links store of push --links FILE: which record in one CRM
 * (or namespace) is which record in another.
 *
 * One SQLite file (schema in crmsync-push(1), version in PRAGMA
 * user_version), in WAL mode with a busy timeout: several crmsync runs use
 * it at once (overlapping cron jobs, the two pipes of a two-way sync).  It is
 * looked up through indexes (a batch of keys in one query), never loaded:
 * memory does not grow with the number of links.  Every function returns 0 (or a count, a
 * flag) or a negative CRM_E* with err filled; nothing here prints. */
#ifndef CRM_LINKS_H
#define CRM_LINKS_H

#include <stddef.h>

#include "err.h"

#define LINKS_VERSION 1

struct links;

/* One side of a record: the object's unified plural ("contacts"), the
 * provider, its namespace ("" when none) and the record's id there. */
struct link_key {
	const char *object;
	const char *provider;
	const char *ns;
	const char *id;
};

/* Opens FILE, creating it (mode 0600) with the schema when it does not
 * exist or is empty.  readonly: never writes (push --dry-run); a missing
 * file is then an empty store (*out = NULL, 0 returned).  A file that is
 * not a links store, or one of a newer schema, is refused untouched
 * (CRM_ECONFIG). */
int links_open(struct links **out, const char *path, int readonly, struct crm_err *err);
void links_close(struct links *l); /* NULL-safe */

/* The id of the record linked to `from` in (provider, ns) of the same
 * object, into out (n bytes): 1 found, 0 none.  *deleted: the linked side
 * was deleted (through the store, or found gone).  A live side is preferred
 * to a deleted one, the latest linked first. */
int links_find(struct links *l, const struct link_key *from, const char *provider, const char *ns, char *out,
	       size_t n, int *deleted, struct crm_err *err);

/* links_find for a batch, in one query: hits[i] is keys[i]'s answer. */
struct link_hit {
	int found, deleted;
	char id[128];
};
int links_find_many(struct links *l, const struct link_key *keys, size_t n, const char *provider, const char *ns,
		    struct link_hit *hits, struct crm_err *err);
/* How many lookup queries the store has answered (push -v says). */
long links_queries(const struct links *l);

/* Writes go in transactions: links_begin takes the write lock at once
 * (BEGIN IMMEDIATE, waiting up to the busy timeout for other runs). */
int links_begin(struct links *l, struct crm_err *err);
int links_commit(struct links *l, struct crm_err *err);
void links_rollback(struct links *l);

/* The entity of side k, or 0 when it has none; with create, a new entity
 * and k's row are made (run_id may be NULL).  Negative on error. */
long long links_entity(struct links *l, const struct link_key *k, int create, const char *run_id,
		       struct crm_err *err);
/* Links a and b (the same object): b joins a's entity (a's row is made if
 * need be).  When b is already linked elsewhere, a joins b's entity if a
 * was alone; otherwise nothing is merged.  b's deleted_at is cleared.
 * Returns the entity. */
long long links_link(struct links *l, const struct link_key *a, const struct link_key *b, const char *run_id,
		     struct crm_err *err);
/* Sets deleted_at of side k (if it has a row). */
int links_mark_deleted(struct links *l, const struct link_key *k, struct crm_err *err);
/* The last push from src to (dst provider, ns) of entity: outcome "ok" or
 * a failure code. */
int links_pushed(struct links *l, long long entity, const struct link_key *src, const char *dprov,
		 const char *dns, const char *outcome, const char *run_id, struct crm_err *err);

/* Claims: a create in flight for (entity, object) in (dprov, dns), taken in
 * a write transaction before the create is sent.  links_claim returns
 * LINK_CLAIMED (ours now), LINK_HELD (another live run holds it: wait, then
 * look the link up again) or LINK_STALE (a dead run's claim, or one older
 * than stale_s: now ours; the record may have been created without its link,
 * so look it up before creating).  *since_ms: when the stale claim was
 * taken (ms since the epoch; 0 when unknown), what the record's creation
 * can be no older than. */
enum { LINK_CLAIMED = 1, LINK_HELD = 2, LINK_STALE = 3 };
int links_claim(struct links *l, long long entity, const char *object, const char *dprov, const char *dns,
		const char *run_id, long stale_s, long long *since_ms, struct crm_err *err);
/* Drops the claim when it is ours or stale (a live run's stays). */
int links_unclaim(struct links *l, long long entity, const char *object, const char *dprov, const char *dns,
		  long stale_s, struct crm_err *err);

#endif
