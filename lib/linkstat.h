/* linkstat.h: sync health read from a links store (crmsync status --links).
 *
 * The store is the SQLite file `push --links` writes (lib/links.c): this
 * side only reads it, opened read-only, so a report never blocks or changes
 * a run that writes.  lib/ knows no CRM: providers are the names stored. */
#ifndef CRM_LINKSTAT_H
#define CRM_LINKSTAT_H

#include <jansson.h>

struct crm_err;

/* The store version this code reads (PRAGMA user_version). */
#define LINKSTAT_VERSION 1

/* Called once per line; a negative return stops the report with that
 * status (err filled by the callee). */
typedef int (*linkstat_fn)(json_t *line, void *arg, struct crm_err *err);

/* Reports the store at path: one line per (source provider and namespace,
 * target provider and namespace, object) that a push went through, in that
 * order:
 *   {"source": {"provider", "namespace"}, "target": {...}, "object",
 *    "linked", "failing", "failures": {code: n}, "last_push_at"}
 * - linked: entities with a live (not deleted) row on both sides and no
 *   failed push in this direction (never pushed this way counts: the link
 *   was made the other way);
 * - failing: entities whose last push in this direction failed, linked or
 *   not (a create that failed has no target row); failures counts them per
 *   failure code;
 * - last_push_at: the latest push in this direction, whatever its outcome.
 * A missing file, a file that is no links store and a store of a newer
 * version are CRM_ECONFIG; a store locked beyond the busy timeout CRM_ETEMP. */
int linkstat_report(const char *path, linkstat_fn fn, void *arg, struct crm_err *err);

#endif
