/* pager.h: a guard against a CRM's paging that never ends.
 *
 * A pull follows the CRM's "next page" for as long as the CRM gives one.
 * A CRM whose paging is broken (the same cursor again, cursors that cycle
 * A, B, A, empty pages that keep saying "more", the same full page for
 * every page number) would make that an endless run that writes the same
 * records again and again.  A pager asks its guard after every page; the
 * guard says CRM_EUNAVAIL (exit 69) with a message that names the CRM's
 * fault, and the pull ends like any other failed page (the state is not
 * advanced).
 *
 * One guard per paging run.  It remembers each cursor of the run as a
 * 64-bit hash (8 bytes a page, in a growable open-addressing set), so a
 * repeat is found however long the cycle.  What is a "cursor" is the
 * pager's choice, and the rule is: the identity of the next request,
 * everything that makes it differ from the others of the run.
 *   - a server cursor: "after=MTI0", "nextRecordsUrl=/services/...";
 *   - keyset paging that restarts its query from the first page with a
 *     moved lower bound: the bound ("updatedAt>=1700000000000 id>151"), so
 *     a restart on purpose is a new cursor and a server that ignores the
 *     bound is a repeat;
 *   - an offset the CRM returns: "offset=200" (with the query's bound
 *     where it has one).
 * A pager that starts a different listing whose cursors may meet the
 * earlier ones (live records, then archived ones) calls pager_guard_reset.
 *
 * Page numbers counted here (page=1, 2, 3...) cannot repeat, but a server
 * can return the same full page for each of them: pager_guard_page
 * remembers the page's content identity (its first and last record id and
 * its size, within one query) and fails when a page comes again.
 *
 * Not thread-safe: a guard belongs to the one thread that fetches pages. */
#ifndef CRM_PAGER_H
#define CRM_PAGER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Empty pages in a row, each with a next page, before the run is called
 * broken.  A healthy CRM gives at most one empty page (the page after an
 * exactly full last one) or a few (pages whose records were all deleted
 * between two calls); ten in a row has never been seen from a working
 * CRM, and each costs one call, so a broken one is stopped within a
 * second or two of calls. */
#define PAGER_EMPTY_MAX 10

struct pager_guard {
	const char *crm;        /* the CRM's name, for messages ("HubSpot") */
	uint64_t *set;          /* hashes of the run's cursors; 0 = a free slot */
	size_t cap, n;          /* slots (a power of two, or 0), hashes held */
	unsigned empty;         /* empty pages in a row that asked for more */
};

/* An empty guard (no allocation until the first cursor). crm: a static
 * string, kept. */
void pager_guard_init(struct pager_guard *g, const char *crm);
/* A new paging run: every cursor is forgotten, the empty count too. */
void pager_guard_reset(struct pager_guard *g);
/* Frees the set; the guard may be init'ed again. NULL-safe. */
void pager_guard_release(struct pager_guard *g);

/* After a page that held `records` records (as the CRM sent them, before
 * any is left out here): `cursor` is the next request's identity, written
 * for a person ("after=MTI0"), or NULL when the run ends there.  Returns 0,
 * or CRM_EUNAVAIL (code "broken_paging", err filled) when the cursor came
 * before in this run, or after PAGER_EMPTY_MAX empty pages in a row that
 * each gave a next cursor; CRM_EOUTPUT when out of memory. */
int pager_guard_next(struct pager_guard *g, const char *cursor, size_t records, struct crm_err *err);

/* For page numbers counted here: after a page of `records` records whose
 * first and last record ids are first_id and last_id, within the query
 * `query` (what tells this query from the run's others, apart from the
 * page number; NULL = ""): CRM_EUNAVAIL when the same page (same query,
 * same first and last id, same size) came before in this run.  An empty
 * page is never a repeat (pass it to pager_guard_next for the count). */
int pager_guard_page(struct pager_guard *g, const char *query, const char *first_id, const char *last_id,
		     size_t records, struct crm_err *err);

#endif
