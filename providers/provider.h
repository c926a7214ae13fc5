/* provider.h: the one interface every CRM implements.
 *
 * A provider is a table of its API's facts (objects, field maps, limits)
 * plus functions that turn crmsync's requests into its API calls through
 * lib/http (which alone paces, retries and refreshes).  It never prints,
 * sleeps, exits or parses options.  Capabilities are data, so cmd/ can
 * refuse what a CRM cannot do (exit 64) before any network call.
 *
 * Records cross this interface as "envelopes", jansson objects (the hot
 * paths use lib/jv values of the same shape):
 *   {"id": "151", "created_at": "...", "updated_at": "...",
 *    "deleted": false, "deleted_at": null,
 *    "fields": {flat provider fields}, "raw": {the provider's payload}}
 * lib/map turns "fields" into the unified body with the object's table.
 * Ownership: functions returning json_t ** hand out new references. */
#ifndef CRM_PROVIDER_H
#define CRM_PROVIDER_H

#include <jansson.h>
#include <stddef.h>
#include <string.h>

#include "err.h"
#include "id.h"
#include "jv.h"
#include "map.h"
#include "record.h"
#include "where.h"

struct buf;
struct http;
struct config;
struct conn;
struct pull;

/* Per-object capability bits. */
#define OC_PULL    1u
#define OC_PUSH    2u   /* create / update */
#define OC_DELETE  4u   /* push --mode delete */
#define OC_DELETED 8u   /* pull --deleted can see deletions */
#define OC_UPSERT  16u  /* write(WR_CREATE) upserts on the default match key:
			   idempotent, so push may skip the lookup */

/* A part of an object that the CRM keeps on a linked record (HubSpot and
 * Pipedrive leads point at a contact and a company): pull fills the
 * object's unified keys from the linked record (one read per page, not per
 * record); push finds the linked record by its object's usual match key, or
 * creates it, and writes its id to `remote` (cmd/linked.c). */
struct prov_link {
	const char *remote;            /* the object's field holding the linked id ("@contact") */
	enum obj obj;                  /* the linked record's object */
	const char *const *keys;       /* unified keys carried, "key" or "key=linked_key"
					  ("company=name"); NULL-terminated */
};

/* A field the CRM requires when a record is created: a create that lacks
 * it after mapping fails before any request with code required_field,
 * naming `key` (cmd/linked.c). */
struct prov_required {
	const char *remote;            /* the provider field; "a|b": any one of them */
	const char *key;               /* the unified key named in the failure */
	const char *from;              /* or NULL: unified keys of the same meaning that fill
					  it when absent, choices in order split by ',', keys
					  joined with a space by '+' ("company,first_name+last_name") */
};

struct prov_object {
	const char *remote;            /* the CRM's name for it ("companies") */
	unsigned caps;                 /* OC_* */
	const struct map_entry *map;   /* unified <-> provider fields */
	const char *match_key;         /* default --match: "email" or "domain"; NULL: none
					  (deals, users: a record without remote_id is created) */
	enum id_syntax id_syntax;      /* its ids, where not the provider's (ID_DEFAULT) */
	const char *match_fallback;    /* default key for records with no value for match_key
					  (accounts: "name"), looked up apart; cmd/push does it */
	const struct prov_link *links; /* or NULL; ends with remote NULL */
	const struct prov_required *required; /* or NULL; ends with remote NULL */
};

/* What a provider gets when it opens a connection. */
struct session {
	struct http *http;
	const char *base_url;          /* --base-url, or NULL for the CRM's own */
	const struct config *cfg;
	const char *profile;           /* NULL = none */
	int bulk;                      /* --bulk: use the CRM's bulk API whatever the size
					  (providers without one ignore it) */
};

struct pull_opts {
	enum obj obj;
	long long since_ms;            /* only records updated at or after; -1 = all */
	const char *since_id;          /* with since_ms: the last id seen at that time */
	int deleted;                   /* also records the CRM reports deleted */
	int ordered;                   /* need ascending (updated_at, id): a cursor is kept */
	const char *list;              /* members of this list instead of all records */
	const json_t *extra_fields;    /* provider fields asked for by --map (array) */
	int want_total;                /* a progress line is shown: the provider may spend one
					  call (a count) to learn the total, where the pages
					  themselves do not carry it (see pull_total) */
	/* pull --where: conditions that must all hold, each already accepted
	 * by the provider's where_can, fields resolved to the provider's own
	 * names and option labels to codes.  Sent as the CRM's own filter. */
	const struct where *where;
	size_t nwhere;
};

/* WR_CREATE makes a new record (a duplicate is that record's failure);
 * WR_UPSERT may instead update the record that has the same match key,
 * where the CRM can do so in the same call (then `created` tells which). */
enum write_op { WR_CREATE, WR_UPSERT, WR_UPDATE, WR_DELETE };

struct write_item {
	long line;                     /* input line number (for messages) */
	const char *remote_id;         /* update, delete, list writes */
	/* create/update: the provider fields to write, a value of doc.  Every
	 * item of one write() shares doc, which only that call uses while it
	 * runs: the provider may build its request and read its answer there
	 * (the values it makes are forgotten when the call returns).  Providers without write_jv get
	 * the fields as a jansson object in `fields` (borrowed). */
	struct jv_doc *doc;
	jv_t vfields;
	json_t *fields;
	/* Filled by the provider: */
	int created;                   /* 1 if a create made a new record, 0 if it matched one */
	char id_out[128];              /* the record's id after the write */
	struct crm_err err;            /* status != 0: this record failed; CRM_EAMBIG: its
					  answer was lost (cmd/push looks it up again) */
	json_t *warnings;              /* new reference or NULL: [{"code","field"}] for the
					  result line (a value the CRM could not take, ...) */
};

/* Sets an item's id_out (NULL: ""), cut to fit: the one copy every
 * provider's write makes per record (no printf on the hot path). */
static inline void item_set_id(struct write_item *it, const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n >= sizeof(it->id_out))
		n = sizeof(it->id_out) - 1;
	if (n)
		memcpy(it->id_out, id, n);
	it->id_out[n] = '\0';
}

struct provider {
	const char *name;              /* as given to --provider */
	int listed;                    /* its place in the lists of providers (--help, messages):
					  lower first; 0 = after those that say (providers/registry.c) */
	const char *const *env_vars;   /* credential variables it reads, for messages */
	int lookback_s;                /* look-back for incremental pulls (indexing lag) */
	size_t batch_max;              /* records per write call */
	int concurrency;               /* most batches in flight for push (fewer while the rate
					  limit cannot use them: cmd/push pool_adapt) */
	const struct prov_object *obj[OBJ_COUNT]; /* NULL: the CRM has no such object */
	const char *deleted_note;      /* what pull --deleted can and cannot see */
	int has_lists;
	enum id_syntax id_syntax;      /* record ids (cmd/ refuses others: invalid_id) */
	enum id_syntax list_id_syntax; /* LIST of lists members/add/remove */
	int write_jv;                  /* write() reads items[i].vfields (no jansson copy is made) */
	int find_one_batch;            /* find() makes a call per value under a tight limit: one
					  batch at a time looks up, so that the limit's calls go to
					  one batch after another (which then writes while the next
					  looks up), not to every batch in turn */

	int (*open)(struct conn **out, const struct session *s, struct crm_err *err);
	void (*close)(struct conn *c);  /* NULL-safe */
	/* The portal / org the connection is in (remote_namespace), or NULL. */
	const char *(*namespace)(struct conn *c, struct crm_err *err);

	/* status: fills keys "namespace", "rate_limit", "message" of out. */
	int (*status)(struct conn *c, json_t *out, struct crm_err *err);
	/* fields: array of {name,label,type,required,read_only,custom,options}. */
	int (*fields)(struct conn *c, enum obj o, json_t **out, struct crm_err *err);

	/* pull --where, asked before any call: can the CRM's own filter
	 * express condition w on object o (1) or not (0)?  *can then says
	 * what it can filter on, for the refusal.  NULL: no filtering.  The
	 * field may still be unknown to the CRM (cmd/pull checks it against
	 * fields() before the pull). */
	int (*where_can)(enum obj o, const struct where *w, const char **can);
	size_t where_max;              /* conditions at most, next to the CRM's own cursor
					  filters (HubSpot: 6 per filter group, 2 taken) */

	int (*pull_open)(struct conn *c, const struct pull_opts *o, struct pull **out,
			 struct crm_err *err);
	/* *page: array of envelopes (new), or NULL at the end. */
	int (*pull_next)(struct pull *p, json_t **page, struct crm_err *err);
	/* Optional fast path, asked before pull_next: the next page as an array
	 * of envelopes in *page, values of d (which the caller resets before
	 * each call); *page = JV_NONE at the end.  Returns 1, on its first call
	 * only, when this pull cannot take it: pull_next then serves it all. */
	int (*pull_next_jv)(struct pull *p, struct jv_doc *d, jv_t *page, struct crm_err *err);
	/* Optional, with pull_next_jv: the same pages in two steps, so that the
	 * next page is asked for while this one is read.  pull_fetch puts the
	 * next page's answer, as text, in *body (left empty at the end) with a
	 * *tag for pull_read, and moves the cursor on without reading the
	 * records; it returns 1, on its first call only, when this pull cannot
	 * be served so.  pull_read reads such a text (handed to d, parsed in
	 * place) into *page as pull_next_jv does; an empty array when every
	 * record was left out.  pull_fetch runs on one thread and pull_read on
	 * another: pull_read reads only what pull_open set, and its tag. */
	int (*pull_fetch)(struct pull *p, struct buf *body, int *tag, struct crm_err *err);
	int (*pull_read)(struct pull *p, struct jv_doc *d, char *text, size_t n, int tag, jv_t *page,
			 struct crm_err *err);
	void (*pull_close)(struct pull *p);
	/* Optional: reading in parallel (§16 of each CRM's notes).  Asked
	 * once, after the pull's first page when that page was not the end
	 * and no --limit cuts the run short: into how many parts, at most
	 * `want`, what is left of this pull splits (0 or 1: it does not; then
	 * the pull goes on alone).  *striped = 1: part i of n reads pages i,
	 * i+n, i+2n... of one random-access listing, so the first part to
	 * end ends the listing; 0: the parts are disjoint key ranges, each
	 * read to its own end.  Each part is then opened with pull_part and
	 * read through the same hooks (pull_next_jv, pull_fetch...) on a
	 * thread of its own, all on the one rate limiter; this pull is not
	 * read again.  A part reads the connection only as pull_open left
	 * it, and this pull's state only while pull_part copies it. */
	unsigned (*pull_parts)(struct pull *p, unsigned want, int *striped);
	int (*pull_part)(struct pull *p, unsigned i, unsigned n, struct pull **out, struct crm_err *err);
	/* Optional: the records this pull is expected to hand out, as far as
	 * the CRM told (a count, a query's total), or -1 when unknown.  For the
	 * progress line only: an estimate, never checked against the records.
	 * Called on the thread that fetches, after each page (pull_next,
	 * pull_next_jv or pull_fetch), so it reads what those set. */
	long long (*pull_total)(struct pull *p);
	/* Derived unified values a table cannot express (deal status); may be
	 * NULL.  env and rec are values of d (lib/jv); called from the thread
	 * that writes records while pull_next may run on another: it reads
	 * only what pull_open loaded. */
	void (*pull_fixup)(struct conn *c, enum obj o, struct jv_doc *d, jv_t env, jv_t rec);

	/* Records whose provider field `field` has one of `values` (array of
	 * strings): *out maps each value (lowercased for emails) to an envelope,
	 * or, when several records hold it, to an array of their envelopes
	 * (find_put() builds it): cmd/push never picks one (ambiguous_match). */
	int (*find)(struct conn *c, enum obj o, const char *field, const json_t *values,
		    json_t **out, struct crm_err *err);
	/* Records by id: *out maps id to envelope; missing ids are absent. */
	int (*read)(struct conn *c, enum obj o, const json_t *ids, json_t **out,
		    struct crm_err *err);
	/* Writes items (n <= batch_max).  Per-record failures go in items[i].err;
	 * the return is for failures of the whole call (CRM_EAMBIG: the answer
	 * was lost, the writes may have happened). */
	int (*write)(struct conn *c, enum obj o, enum write_op op, struct write_item *items,
		     size_t n, struct crm_err *err);

	/* Optional, for the fuzz targets (tests/fuzz) and nothing else: the
	 * provider's readers on an answer, with no connection (as before the
	 * first call, no field metadata).  read_error reads an error body;
	 * read_record reads a record of object o into an envelope (new
	 * reference, or NULL); read_record_jv, where the provider has a fast
	 * path, the same record into d (JV_NONE: none), which must dump as
	 * read_record's does for accounts and contacts. */
	void (*read_error)(const json_t *body, struct crm_err *err);
	json_t *(*read_record)(enum obj o, json_t *raw);
	jv_t (*read_record_jv)(struct jv_doc *d, jv_t raw);

	/* lists: array of {remote_id,name,size,dynamic}. */
	int (*lists)(struct conn *c, json_t **out, struct crm_err *err);
	/* Adds (add=1) or removes record ids (items[i].remote_id) to a list. */
	int (*list_write)(struct conn *c, const char *list, int add, struct write_item *items,
			  size_t n, struct crm_err *err);
};

/* Adds env (borrowed) to a find() answer under key: the first record is
 * the value itself, a second one (another id) turns it into an array. */
static inline int find_same_id_(json_t *a, json_t *b)
{
	const char *x = json_string_value(json_object_get(a, "id")), *y = json_string_value(json_object_get(b, "id"));
	return x && y && !strcmp(x, y);
}

static inline void find_put(json_t *res, const char *key, json_t *env)
{
	json_t *have = json_object_get(res, key), *e;
	size_t i;

	if (!have) {
		json_object_set(res, key, env);
		return;
	}
	if (!json_is_array(have)) {
		if (find_same_id_(have, env))
			return;
		have = json_pack("[O]", have);
		json_object_set_new(res, key, have);
	}
	json_array_foreach(have, i, e)
		if (find_same_id_(e, env))
			return;
	json_array_append(have, env);
}

/* How many records a find() answer's value holds (0, 1 or more). */
static inline size_t find_count(const json_t *v)
{
	return !v ? 0 : json_is_array(v) ? json_array_size(v) : 1;
}

/* The syntax of the ids of object o (relations to o included). */
static inline enum id_syntax prov_id_syntax(const struct provider *p, enum obj o)
{
	const struct prov_object *po = p->obj[o];
	return po && po->id_syntax ? po->id_syntax : p->id_syntax;
}

/* providers/registry.c: every provider the build found (providers.gen.h). */
const struct provider *provider_find(const char *name);
/* The i-th provider that is built in, in `listed` order, or NULL past the last. */
const struct provider *provider_at(size_t i);

#endif
