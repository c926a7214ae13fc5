/* linked.h: objects whose person and company live on linked records
 * (struct prov_link), and the fields a CRM requires on create (struct
 * prov_required), for pull and push.  The provider describes them; this
 * does the reads, the finds and the creates through the provider
 * interface, so lib/ still knows no CRM and providers stay tables. */
#ifndef CRM_LINKED_H
#define CRM_LINKED_H

#include <jansson.h>

#include "err.h"
#include "jv.h"
#include "record.h"

struct ctx;

#define LINKS_MAX 4

/* pull: the linked records of one page, read in one call per link. */
struct linked_page {
	json_t *got[LINKS_MAX]; /* per link: id -> envelope (find() shape), or NULL */
};

/* Reads the linked records of every envelope of page arr (values of d).
 * Does nothing for an object without links. */
int linked_page_read(struct ctx *c, enum obj o, struct jv_doc *d, jv_t arr, struct linked_page *lp,
		     struct crm_err *err);
/* The record rec (built from env) with its linked keys filled where it has
 * no value, placed before its metadata; returns the record to write. */
jv_t linked_apply(struct ctx *c, enum obj o, struct jv_doc *d, jv_t env, jv_t rec, const struct linked_page *lp);
void linked_page_release(struct linked_page *lp);

/* Does a link of object o carry unified key `key` (so the CRM stores it)? */
int linked_key(const struct ctx *c, enum obj o, const char *key);

/* push: a record about to be created. */
struct linked_item {
	struct jv_doc *doc;
	jv_t rec;               /* the unified record */
	jv_t fields;            /* its provider fields: links and derived fields are added */
	struct crm_err err;     /* status != 0: the record failed */
	unsigned made;          /* --dry-run: bit k, link k would be created (set here) */
};

/* For records about to be created: finds each one's linked records by their
 * object's match key, or creates them (not with dry_run: then the link
 * counts as made), and writes their ids; fills a required field that is
 * absent from fields of the same meaning; fails the record (required_field)
 * when one is still missing.  A failure of a whole call is returned (< 0,
 * err set) only when it stops the run; otherwise it fails the records it
 * touched. */
int linked_creates(struct ctx *c, enum obj o, struct linked_item *its, size_t n, int dry_run,
		   struct crm_err *err);

#endif
