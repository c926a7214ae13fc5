/* crmsync push OBJECT: NDJSON records on stdin -> the CRM, one result line
 * per input line, in input order.  Memory holds one batch of lines. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <poll.h>
#include <malloc.h>
#include <unistd.h>

#include "buf.h"
#include "common.h"
#include "csvio.h"
#include "fiber.h"
#include "http.h"
#include "jv.h"
#include "jx.h"
#include "linked.h"
#include "links.h"
#include "map.h"
#include "options.h"
#include "provider.h"
#include "sig.h"
#include "summary.h"
#include "timeutil.h"
#include "banned.h"

static const char push_usage[] =
	"usage: crmsync push OBJECT [--mode upsert|create|update|delete] [--match FIELD]\n"
	"                           [--conflict overwrite|fill|newer] [--map FILE] [--values FILE]\n"
	"                           [--links FILE] [--id-map FILE]... [--propagate-deletes] [--recreate]\n"
	"                           [--clear-nulls] [--dry-run] [--rejects FILE]\n"
	"                           [--batch-size N] [--bulk] [--concurrency N] [--format ndjson|csv]\n"
	"                           [--summary FILE]\n\n"
	"Reads one record per line on stdin and writes one result line per input line, in order,\n"
	"with remote_id, sync_status (created, updated, unchanged, deleted, skipped, failed),\n"
	"sync_error and sync_line.\n\n"
	"  --mode MODE       upsert (default): update by remote_id, else by --match, else create;\n"
	"                    create; update (no remote_id and no match: skipped); delete (by remote_id)\n"
	"  --match FIELD     match key for records without remote_id: a unified key (email, domain,\n"
	"                    name) or a provider field; default: contacts email, accounts domain, else name\n"
	"  --conflict POLICY overwrite (default) every field given; fill only fields empty in the CRM;\n"
	"                    newer only when remote_updated_at is later than the CRM's copy\n"
	"  --map FILE        JSON {\"out_key\": \"provider_field\"}: send top-level out_key to that field\n"
	"  --values FILE     JSON {\"industry\": {\"Energy\": \"Utilities\"}}: translate option values per\n"
	"                    unified key before they are matched to the CRM's options (by label, then\n"
	"                    code); a value with no match is left out with an unknown_option warning\n"
	"  --links FILE      the links store (SQLite) of which record is which across CRMs: a linked\n"
	"                    record updates its link, any other is matched or created, then linked;\n"
	"                    relations translate through it; one FILE serves both directions\n"
	"  --id-map FILE     earlier push results; translate account/owner/converted_* ids of records\n"
	"                    from another CRM (repeatable)\n"
	"  --propagate-deletes  delete the linked record of one deleted in its source (--links);\n"
	"                    without it such records are skipped (deleted_in_source)\n"
	"  --recreate        create again a linked record gone from the CRM (--links); without it\n"
	"                    such records fail (deleted_in_target)\n"
	"  --clear-nulls     a null clears the field in the CRM (where it can be cleared); without it\n"
	"                    a null or absent value is left out of the write and erases nothing\n"
	"  --dry-run         send no write; print the action and the payload per line\n"
	"  --rejects FILE    write the failed input lines, verbatim (csv: the header, then the failed rows)\n"
	"  --format FMT      ndjson (default) or csv: a header row (',' or ';', an Excel byte-order mark\n"
	"                    allowed), then a record per row; the columns are the flat names of\n"
	"                    pull --format csv (email, phone, street_1, city, ..., remote_id),\n"
	"                    remote_fields.NAME, or --map keys; an empty cell gives no value; a row's\n"
	"                    sync_line is the line it starts on, the header being line 1\n"
	"  --batch-size N    records per write call (default and maximum: the CRM's batch limit)\n"
	"  --bulk            use the CRM's bulk API whatever the size (Salesforce; others ignore it)\n"
	"  --concurrency N   batches in flight at once (default: what the CRM's rate limit can use\n"
	"                    at the latency measured, up to the CRM's default); results still\n"
	"                    come out in input order\n"
	"  --summary FILE    append the run summary to FILE as one JSON line (the run history)\n";

enum mode { M_UPSERT, M_CREATE, M_UPDATE, M_DELETE };
enum conflict { C_OVERWRITE, C_FILL, C_NEWER };
/* A_WAIT: a create whose source another line of the batch is creating
 * (--links); it goes again once that one is written. */
enum action { A_NONE, A_CREATE, A_UPDATE, A_FIND, A_DELETE, A_WAIT };

#define PENDING (-1)

/* A line of input and what becomes of it.  Its values live in the
 * document of its batch (struct slot), which one party uses at a time:
 * the main loop while it prepares and writes results, the batch's fiber
 * while it looks up and writes. */
struct pitem {
	long line;
	struct jv_doc *doc;   /* the batch's document */
	const char *raw;      /* the line as read (in doc) */
	size_t rawlen;
	int plain;            /* rec is raw's parse, unchanged, and raw is what a dump of
				 rec writes, whitespace aside: the result line is copied */
	jv_t rec;             /* the parsed input, or JV_NONE */
	jv_t source;          /* where a foreign record came from, or JV_NONE */
	jv_t fields;          /* provider fields mapped from the input */
	jv_t send;            /* provider fields to write (an update's changes) */
	json_t *warnings;     /* [{"code","field"}] (rare), or NULL */
	const char *remote_id; /* the record's id in this CRM, if known (in doc) */
	const char *csvrow;   /* --format csv and --rejects: the row as CSV again (in doc) */
	size_t csvrowlen;
	const char *match;    /* match value, emails lowercased (in doc) */
	int match_fb;         /* match is the value of the fallback key (accounts: name) */
	int upsert;           /* a real run sends it to the CRM's upsert unread (a dry-run
				 only looks it up, to tell created from updated) */
	enum action action;
	char linked;          /* remote_id is the store's link (2: to a record deleted there) */
	char noted;           /* the outcome is in the links store */
	char claim;           /* LINK_* of the claim taken for its create, or 0 */
	long long entity;     /* its source's entity in the store, once known */
	long long claim_ms;   /* a stale claim's: when it was taken */
	char by_values;       /* a stale claim settled by the record's values */
	int pre_index;        /* its index in the batch (the store's lookups) */
	const char *gone_id;  /* the linked record found gone (in doc) */
	const char *mapped[4][2]; /* relations translated by --id-map: [foreign id, id here]
				     (in doc), by rels[] index: written into the store */
	json_t *existing;     /* the CRM's copy (envelope), if read */
	int status;           /* SUM_*, or PENDING */
	struct crm_err err;
};

struct push {
	struct ctx *c;
	enum obj o;
	const struct prov_object *po;
	enum mode mode;
	enum conflict conflict;
	int dry_run;
	int clear_nulls;           /* --clear-nulls */
	size_t batch;
	const char *match_key;     /* as given or the default */
	const char *match_remote;  /* provider field the match uses */
	int match_email;
	const char *fb_key;        /* the default fallback key (accounts: name) for records
				      with no value for match_key, or NULL (--match given) */
	const char *fb_remote;     /* provider field the fallback uses */
	int fast_upsert;           /* one call per batch: the CRM's own upsert on the match key */
	int dry_upsert;            /* --dry-run of a run that would upsert so */
	const char *ns;
	json_t *user_map;
	json_t *values;            /* --values: {"key": {"from": "to"}}, or NULL */
	json_t *idmap;             /* "provider/id" -> id */
	json_t *writable;          /* provider field -> true, from fields metadata */
	json_t *keep;              /* provider field -> true: never cleared (required) */
	struct ndjson_writer rejects;
	int have_rejects;
	struct csv_reader *csv;     /* --format csv: the input */
	int rejects_header;         /* the CSV header is in the --rejects file */
	struct summary sum;
	struct crm_err fatal;       /* the first error that stops the run */
	int find_busy;              /* provider's find_one_batch: a batch is looking up */
	struct links *links;        /* --links, or NULL */
	int propagate;              /* --propagate-deletes */
	int recreate;               /* --recreate */
	/* Entities whose create this run has claimed and not yet written:
	 * the store's claim is the process's, so its batches (fibers) tell
	 * theirs apart here. */
	long long *busy;
	size_t nbusy, capbusy;
	/* The --links lookups of the batch being read: collected while its
	 * lines are prepared (PRE_COLLECT), asked in one query, then answered
	 * from here (PRE_ANSWER) when the lines with a hit are prepared again. */
	int pre_mode;
	struct link_key *pre_keys;
	size_t *pre_item;           /* the batch's item that asked */
	struct link_hit *pre_hits;
	size_t *pre_order;          /* indexes of pre_keys, sorted */
	size_t npre, cappre;
};

enum { PRE_OFF, PRE_COLLECT, PRE_ANSWER };

static void set_fatal(struct push *p, const struct crm_err *e)
{
	if (!p->fatal.status)
		p->fatal = *e;
}

static int has_fatal(struct push *p)
{
	return p->fatal.status;
}

static int is_writable(void *ud, const char *name)
{
	struct push *p = ud;
	return !p->writable || json_is_true(json_object_get(p->writable, name));
}

static void item_fail(struct pitem *it, int status, const struct crm_err *e)
{
	it->status = status;
	if (e)
		it->err = *e;
}

static void item_set(struct pitem *it, int status, const char *code, const char *fmt, const char *arg)
{
	it->status = status;
	err_set(&it->err, status == SUM_FAILED ? CRM_ERECORD : CRM_OK, code, fmt, arg);
}

/* An item for a new line (its error cleared, not zeroed whole: this is
 * done for every line). */
static void item_init(struct pitem *it)
{
	struct crm_err *e = &it->err;
	memset(it, 0, offsetof(struct pitem, err));
	err_clear(e);
}

static void item_release(struct pitem *it)
{
	json_decref(it->warnings);
	json_decref(it->existing);
	it->warnings = it->existing = NULL;
}

/* A copy of s in the item's document (lowercased with `lower`), or NULL
 * when out of memory. */
static const char *doc_dup(struct jv_doc *d, const char *s, int lower)
{
	size_t n = strlen(s);
	char *o = jv_alloc(d, n + 1);
	if (!o)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		o[i] = (char)(lower && s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	return o;
}

static void add_warning(struct pitem *it, const char *code, const char *field)
{
	if (!it->warnings)
		it->warnings = json_array();
	json_array_append_new(it->warnings, json_pack("{s:s,s:s}", "code", code, "field", field));
}

/* map_not_stored's callbacks: the run's writable fields, the item's warnings. */
struct item_ctx {
	struct push *p;
	struct pitem *it;
};

static void not_stored_warning(void *ctx, const char *key)
{
	struct item_ctx *ic = ctx;
	if (linked_key(ic->p->c, ic->p->o, key))
		return; /* kept on the linked record (cmd/linked) */
	add_warning(ic->it, "not_stored", key);
}

static int is_writable_item(void *ctx, const char *name)
{
	return is_writable(((struct item_ctx *)ctx)->p, name);
}

/* A value left out of the write (lib/options' unknown_option). */
static void value_warning(void *ctx, const char *code, const char *field, const char *value)
{
	struct pitem *it = ctx;
	if (!it->warnings)
		it->warnings = json_array();
	json_array_append_new(it->warnings, json_pack("{s:s,s:s,s:s}", "code", code, "field", field, "value", value));
}

static enum obj rel_target(const char *key);

/* The relation keys a foreign record's ids are translated in. */
static const char *const rels[] = { "account", "owner", "converted_contact", "converted_account", NULL };

static int key_cmp(const struct link_key *a, const struct link_key *b)
{
	int c = strcmp(a->object, b->object);
	if (!c)
		c = strcmp(a->provider, b->provider);
	if (!c)
		c = strcmp(a->ns, b->ns);
	return c ? c : strcmp(a->id, b->id);
}

static struct push *sort_p; /* qsort's context (one thread sorts) */

static int order_cmp(const void *a, const void *b)
{
	return key_cmp(&sort_p->pre_keys[*(const size_t *)a], &sort_p->pre_keys[*(const size_t *)b]);
}

/* Collects a lookup of the batch being read (its strings copied into the
 * item's document, which lives as long as the batch). */
static void pre_add(struct push *p, struct pitem *it, size_t item, const struct link_key *k)
{
	if (p->npre == p->cappre) {
		size_t cap = p->cappre ? p->cappre * 2 : 256;
		struct link_key *keys = realloc(p->pre_keys, cap * sizeof(*keys));
		if (keys)
			p->pre_keys = keys;
		size_t *items = keys ? realloc(p->pre_item, cap * sizeof(*items)) : NULL;
		if (items)
			p->pre_item = items;
		if (!keys || !items)
			return; /* out of memory: the lookup is not made (no link) */
		p->cappre = cap;
	}
	struct link_key *c = &p->pre_keys[p->npre];
	c->object = k->object;
	c->provider = doc_dup(it->doc, k->provider, 0);
	c->ns = doc_dup(it->doc, k->ns, 0);
	c->id = doc_dup(it->doc, k->id, 0);
	if (!c->provider || !c->ns || !c->id)
		return;
	p->pre_item[p->npre++] = item;
}

/* The id linked in the store to side (o, from) in this CRM, into out: 1
 * found (*deleted: that record was deleted), 0 none, or a failure.  While
 * a batch is read, the lookup is only collected (0); see pre_lookup. */
static int link_lookup(struct push *p, struct pitem *it, enum obj o, const char *prov, const char *ns,
		       const char *id, char *out, size_t n, int *deleted, struct crm_err *e)
{
	struct link_key k = { obj_plural(o), prov, ns ? ns : "", id };

	*deleted = 0;
	if (p->pre_mode == PRE_COLLECT) {
		pre_add(p, it, (size_t)it->pre_index, &k);
		return 0;
	}
	if (p->pre_mode == PRE_ANSWER) {
		size_t lo = 0, hi = p->npre;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2, j = p->pre_order[mid];
			int c = key_cmp(&k, &p->pre_keys[j]);
			if (!c) {
				if (!p->pre_hits[j].found)
					return 0;
				snprintf(out, n, "%s", p->pre_hits[j].id);
				*deleted = p->pre_hits[j].deleted;
				return 1;
			}
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		return 0;
	}
	return links_find(p->links, &k, p->c->prov->name, p->ns ? p->ns : "", out, n, deleted, e);
}

/* Translates a relation of a foreign record through the links store, then
 * --id-map. */
static void map_relation(struct push *p, struct pitem *it, int r, const char *key, const char *src_provider)
{
	struct jv_doc *d = it->doc;
	char tmp[64], linked[128];
	const char *id = jv_text(d, jv_get(d, it->rec, key), tmp, sizeof(tmp));
	struct buf k = BUF_INIT;
	struct crm_err e = CRM_ERR_INIT;
	int gone = 0, rc;

	if (!id || !*id)
		return;
	it->plain = 0; /* the record changes: its line is written from its values */
	if (p->links && (rc = link_lookup(p, it, rel_target(key), src_provider, jv_str(d, it->rec, "remote_namespace"),
					  id, linked, sizeof(linked), &gone, &e)) != 0) {
		if (rc < 0) {
			set_fatal(p, &e);
		} else if (!gone) {
			jv_set(d, it->rec, key, jv_string(d, linked));
			return;
		}
	}
	buf_addf(&k, "%s/%s", src_provider, id);
	json_t *to = json_object_get(p->idmap, k.buf);
	buf_release(&k);
	if (to) {
		if (p->links) {
			/* The store learns it: later runs need no map. */
			it->mapped[r][0] = doc_dup(d, id, 0);
			it->mapped[r][1] = json_string_value(to);
		}
		jv_set(d, it->rec, key, jv_from_json(d, to)); /* the id map lives for the run */
		return;
	}
	/* Never send another CRM's id. */
	jv_del(d, it->rec, key);
	add_warning(it, "unmapped_relation", key);
}

/* The object a relation key points at. */
static enum obj rel_target(const char *key)
{
	return !strcmp(key, "owner") ? OBJ_USER : !strcmp(key, "converted_contact") ? OBJ_CONTACT : OBJ_ACCOUNT;
}

/* --clear-nulls: a field the CRM requires is never sent as null (the CRM
 * would refuse the whole record): it is left out, and the result line says
 * so.  Which fields those are comes from the provider's fields metadata. */
static void keep_required(struct push *p, struct pitem *it)
{
	struct jv_doc *d = it->doc;

	for (uint32_t c = jv_members(d, it->fields), next; c; c = next) {
		next = jv_next(d, c);
		const char *name = jv_key(d, c);
		if (!jv_is_null(d, jv_val(d, c)) || !json_is_true(json_object_get(p->keep, name)))
			continue;
		const struct map_entry *e = map_find_remote(p->po->map, name);
		add_warning(it, "required_field_not_cleared", e ? e->key : name);
		jv_del(d, it->fields, name);
	}
}

/* The ids the record hands the CRM (its remote_id, where this mode uses
 * it, and its relations) have the CRM's id syntax: an id goes into request
 * paths, where "1001/" or "9/../1001" would name another record.  A bad one
 * fails the record (invalid_id, naming the key) before any request. */
static int check_ids(struct push *p, struct pitem *it)
{
	const struct provider *pv = p->c->prov;
	struct jv_doc *d = it->doc;
	char tmp[64];

	if (it->remote_id && p->mode != M_CREATE &&
	    id_check(prov_id_syntax(pv, p->o), it->remote_id, pv->name, p->po->id_syntax ? obj_name(p->o) : NULL,
		     "remote_id", &it->err) < 0)
		goto bad;
	for (const struct ukey *k = record_keys(p->o); k->name; k++) {
		if (k->type != UT_REL)
			continue;
		const char *id = jv_text(d, jv_get(d, it->rec, k->name), tmp, sizeof(tmp));
		enum obj to = rel_target(k->name);
		if (id && *id && id_check(prov_id_syntax(pv, to), id, pv->name,
					  pv->obj[to] && pv->obj[to]->id_syntax ? obj_name(to) : NULL, k->name, &it->err) < 0)
			goto bad;
	}
	return 0;
bad:
	it->status = SUM_FAILED;
	return -1;
}

/* The record's value for match key `key` (provider field `remote`), or NULL. */
static const char *match_value(struct push *p, struct pitem *it, const char *key, const char *remote, int email,
			       char *tmp, size_t n)
{
	struct jv_doc *d = it->doc;
	const char *mv = NULL;

	if (email)
		mv = record_primary_email(d, it->rec);
	else if (record_key(p->o, key))
		mv = jv_text(d, jv_get(d, it->rec, key), tmp, n);
	if (!mv && remote)
		mv = jv_text(d, jv_get(d, it->fields, remote), tmp, n);
	return mv;
}

/* A foreign record's link in this CRM: its remote_id here, whatever its
 * match key says (linked 2: the record was deleted here, per the store). */
static void find_link(struct push *p, struct pitem *it, const char *prov, const char *ns)
{
	struct jv_doc *d = it->doc;
	char tmp[64], linked[128];
	const char *id = jv_text(d, jv_get(d, it->rec, "remote_id"), tmp, sizeof(tmp));
	struct crm_err e = CRM_ERR_INIT;
	int gone = 0, rc;

	if (!id || !*id || (rc = link_lookup(p, it, p->o, prov, ns, id, linked, sizeof(linked), &gone, &e)) == 0)
		return;
	if (rc < 0) {
		set_fatal(p, &e);
		item_fail(it, SUM_FAILED, &e);
		return;
	}
	it->linked = gone ? 2 : 1;
	if (gone)
		it->gone_id = doc_dup(d, linked, 0);
	else
		it->remote_id = doc_dup(d, linked, 0);
}

/* What --links decides before any lookup: a record deleted in its source
 * is skipped, or with --propagate-deletes deletes its linked record; one
 * whose linked record was deleted here fails, or with --recreate is made
 * again. */
static void links_decide(struct push *p, struct pitem *it)
{
	jv_t del = jv_get(it->doc, it->rec, "remote_deleted");

	if (p->mode != M_DELETE && del && jv_is_true(it->doc, del)) {
		if (p->propagate && it->remote_id) {
			it->action = A_DELETE;
			return;
		}
		item_set(it, SUM_SKIPPED, "deleted_in_source",
			 p->propagate ? "%s" : "the record was deleted in %s (--propagate-deletes deletes its link)",
			 p->propagate ? "the record was deleted in its source and is linked to no record here"
				      : jv_str(it->doc, it->source, "provider"));
		return;
	}
	if (it->linked == 2 && p->recreate) {
		it->action = A_CREATE;
	} else if (it->linked == 2) {
		item_set(it, SUM_FAILED, "deleted_in_target",
			 "the linked record %s was deleted in this CRM (--recreate creates it again)", it->gone_id);
		it->remote_id = it->gone_id; /* the result line names the record that was gone */
	}
}

/* A line of input: an NDJSON line, or a CSV row as the JSON record it makes. */
struct line_in {
	const char *text;
	size_t len;
	long lineno;
	int too_long;
	const struct crm_err *bad; /* a CSV row that makes no record: why */
	const char *csv;           /* the CSV row as CSV again (for --rejects) */
	size_t csvlen;
};

/* Parses and maps one line into the batch's document d, and decides what
 * to do with it. */
static void prepare(struct push *p, struct pitem *it, struct jv_doc *d, const struct line_in *in)
{
	const char *text = in->text;
	size_t len = in->len;
	long lineno = in->lineno;
	int too_long = in->too_long;
	struct crm_err e;
	const char *prov, *ns_in;
	char tmp[64];
	int native;
	char *raw;

	err_clear(&e);
	it->status = PENDING;
	it->line = lineno;
	it->doc = d;
	/* The line as read, for --rejects and for the result line. */
	if ((p->have_rejects || !too_long) && (raw = jv_alloc(d, len + 1)))
		memcpy(raw, text, len + 1);
	else
		raw = NULL;
	it->raw = raw ? raw : "";
	it->rawlen = raw ? len : 0;
	if (in->csv && p->have_rejects && (raw = jv_alloc(d, in->csvlen + 1))) {
		memcpy(raw, in->csv, in->csvlen + 1);
		it->csvrow = raw;
		it->csvrowlen = in->csvlen;
	}
	if (too_long)
		err_set(&e, CRM_ERECORD, "line_too_long", "line %ld is longer than %zu bytes", lineno,
			(size_t)NDJSON_LINE_MAX);
	else if (in->bad)
		e = *in->bad;
	else
		it->rec = ndjson_parse_jv(d, text, len, lineno, &e);
	it->plain = it->rec && raw && d->plain_text;
	if (!it->rec) {
		item_fail(it, SUM_FAILED, &e);
		return;
	}
	const char *objname = jv_str(d, it->rec, "object");
	if (objname && obj_parse(objname) != (int)p->o) {
		it->status = SUM_FAILED;
		err_set(&it->err, CRM_ERECORD, "wrong_object", "the record is a %s; this run pushes %s",
			objname, obj_plural(p->o));
		return;
	}
	if (record_validate(p->o, d, it->rec, &e) < 0) {
		item_fail(it, SUM_FAILED, &e);
		return;
	}
	prov = jv_str(d, it->rec, "provider");
	ns_in = jv_str(d, it->rec, "remote_namespace");
	native = (!prov || !strcmp(prov, p->c->prov->name)) && (!ns_in || !p->ns || !*p->ns || !strcmp(ns_in, p->ns));
	if (!native) {
		jv_t rid = jv_get(d, it->rec, "remote_id"), rns = jv_get(d, it->rec, "remote_namespace");
		it->source = jv_obj(d);
		jv_add_key(d, it->source, JV_LIT("provider"), jv_string_ref(d, prov ? prov : p->c->prov->name));
		jv_add_key(d, it->source, JV_LIT("remote_id"), rid ? rid : JV_NULL);
		jv_add_key(d, it->source, JV_LIT("remote_namespace"), rns ? rns : JV_NULL);
		for (int i = 0; rels[i]; i++)
			if (record_key(p->o, rels[i]))
				map_relation(p, it, i, rels[i], prov ? prov : p->c->prov->name);
		if (p->links)
			find_link(p, it, prov ? prov : p->c->prov->name, ns_in);
	} else {
		const char *id = jv_text(d, jv_get(d, it->rec, "remote_id"), tmp, sizeof(tmp));
		if (id && *id)
			it->remote_id = doc_dup(d, id, 0);
	}
	if (check_ids(p, it) < 0)
		return;
	it->fields = map_push(p->o, p->po->map, d, it->rec, p->user_map,
			      (native ? MP_NATIVE : 0) | (p->clear_nulls ? MP_CLEAR_NULLS : 0), is_writable, p);
	if (p->clear_nulls)
		keep_required(p, it);
	options_push(p->c->opts[p->o], p->values, d, it->rec, it->fields, it->remote_id != NULL, value_warning, it);
	/* A record from elsewhere: what this CRM cannot store is said, never
	 * dropped silently (a record of this CRM holds only what it stores). */
	if (!native) {
		struct item_ctx ic = { p, it };
		map_not_stored(p->o, p->po->map, d, it->rec, it->fields, is_writable_item, not_stored_warning, &ic);
	}

	/* The match value: the key's, else the fallback key's (accounts
	 * without a domain match by name). */
	if (p->match_key) {
		const char *mv = match_value(p, it, p->match_key, p->match_remote, p->match_email, tmp, sizeof(tmp));
		if (mv && *mv) {
			it->match = doc_dup(d, mv, p->match_email);
		} else if (p->fb_key) {
			mv = match_value(p, it, p->fb_key, p->fb_remote, 0, tmp, sizeof(tmp));
			if (mv && *mv) {
				it->match = doc_dup(d, mv, 0);
				it->match_fb = 1;
			}
		}
	}
	if (d->failed) {
		item_set(it, SUM_FAILED, "out_of_memory", "%s", "out of memory");
		return;
	}
	switch (p->mode) {
	case M_DELETE:
		if (!it->remote_id)
			item_set(it, SUM_SKIPPED, "no_remote_id", "%s", "delete needs the record's remote_id in this CRM");
		else
			it->action = A_DELETE;
		break;
	case M_CREATE:
		it->action = A_CREATE;
		break;
	case M_UPDATE:
	case M_UPSERT:
		if (it->remote_id)
			it->action = A_UPDATE;
		else if (it->match && !it->match_fb && p->fast_upsert && !prov)
			it->action = A_CREATE; /* the CRM upserts on the key itself */
		else if (it->match && !it->match_fb && p->dry_upsert && !prov) {
			it->action = A_FIND;
			it->upsert = 1;
		} else if (it->match)
			it->action = A_FIND;
		else if (p->mode == M_UPSERT)
			it->action = A_CREATE;
		else if (p->fb_key) {
			it->status = SUM_SKIPPED;
			err_set(&it->err, CRM_OK, "no_match_key", "no remote_id and no value for the match key %s or %s",
				p->match_key, p->fb_key);
		} else
			item_set(it, SUM_SKIPPED, "no_match_key", "no remote_id and no value for the match key %s",
				 p->match_key ? p->match_key : "(none)");
		break;
	}
	if (it->source && it->status == PENDING)
		links_decide(p, it);
}

/* The batch's lookups in the links store (collected while its lines were
 * prepared), in one query; the lines that had a hit are prepared again with
 * the answers.  A line without one stays as prepared: as with no link. */
static void pre_batch(struct push *p, struct pitem *items, size_t n)
{
	struct crm_err e = CRM_ERR_INIT;
	size_t k = p->npre;

	if (p->pre_mode != PRE_COLLECT)
		return;
	p->pre_mode = PRE_OFF;
	p->npre = 0;
	if (!k)
		return;
	struct link_hit *hits = realloc(p->pre_hits, k * sizeof(*hits));
	if (hits)
		p->pre_hits = hits;
	size_t *order = hits ? realloc(p->pre_order, k * sizeof(*order)) : NULL;
	if (order)
		p->pre_order = order;
	if (!hits || !order) {
		err_set(&e, CRM_EFAIL, "out_of_memory", "out of memory");
		set_fatal(p, &e);
		return;
	}
	if (links_find_many(p->links, p->pre_keys, k, p->c->prov->name, p->ns ? p->ns : "", hits, &e) < 0) {
		set_fatal(p, &e);
		return;
	}
	for (size_t j = 0; j < k; j++)
		order[j] = j;
	sort_p = p;
	qsort(order, k, sizeof(*order), order_cmp);
	char *again = calloc(n ? n : 1, 1);
	for (size_t j = 0; j < k && again; j++)
		if (hits[j].found && p->pre_item[j] < n)
			again[p->pre_item[j]] = 1;
	p->npre = k;
	p->pre_mode = PRE_ANSWER;
	for (size_t i = 0; i < n && again; i++) {
		if (!again[i])
			continue;
		struct pitem *it = &items[i];
		/* The line's text and CSV row stay in the batch's document. */
		struct line_in li = { it->raw, it->rawlen, it->line, 0, NULL, it->csvrow, it->csvrowlen };
		struct jv_doc *d = it->doc;
		item_release(it);
		item_init(it);
		it->pre_index = (int)i;
		prepare(p, it, d, &li);
	}
	free(again);
	p->pre_mode = PRE_OFF;
	p->npre = 0;
}

/* A stage change makes the CRM show the new stage's probability where the
 * deal has none of its own (Pipedrive), or reset it to the stage's default
 * (Salesforce, Zoho): the probability the record gives, though the same as
 * the copy's today, goes with the stage, else the write would change it. */
static void stage_brings_probability(struct push *p, struct jv_doc *d, jv_t fields, jv_t out)
{
	const char *stage = NULL, *prob = NULL;

	for (const struct map_entry *e = p->po->map; e->key; e++) {
		if (e->flags & MF_STAGE)
			stage = e->remote;
		else if (!strcmp(e->key, "probability") && !(e->flags & MF_RO))
			prob = e->remote;
	}
	if (!stage || !prob || !is_writable(p, prob) || !jv_get(d, out, stage) || jv_get(d, out, prob) ||
	    jv_is_empty(d, jv_get(d, fields, prob)))
		return;
	jv_set(d, out, prob, jv_get(d, fields, prob));
}

/* A foreign deal's probability that its CRM derives from the stage
 * (MF_DERIVED, or no entry: lib/options gives the stage's) says nothing of
 * the deal: while the stage is not written, the copy's own probability
 * stays (else each cycle of a two-way sync would put the stage's default
 * in place of a Copper or Salesforce deal's own).  With a new stage it
 * goes along (stage_brings_probability); a new deal takes it. */
static void derived_probability_stays(struct push *p, struct pitem *it, jv_t out)
{
	const char *from = it->source ? jv_str(it->doc, it->source, "provider") : NULL;
	const struct provider *src = from ? provider_find(from) : NULL;
	const struct prov_object *so = src ? src->obj[p->o] : NULL;
	const char *stage = NULL, *prob = NULL;
	unsigned derived = MF_DERIVED;

	if (!so || !so->map)
		return;
	for (const struct map_entry *e = so->map; e->key; e++) {
		if (e->flags & MF_STAGE)
			stage = e->remote;
		else if (!strcmp(e->key, "probability"))
			derived = e->flags & MF_DERIVED;
	}
	if (!stage || !derived)
		return;
	stage = prob = NULL;
	for (const struct map_entry *e = p->po->map; e->key; e++) {
		if (e->flags & MF_STAGE)
			stage = e->remote;
		else if (!strcmp(e->key, "probability"))
			prob = e->remote;
	}
	if (prob && !(stage && jv_get(it->doc, out, stage)))
		jv_del(it->doc, out, prob);
}

/* Fields of the item's input that differ from the CRM's copy, after --conflict. */
static jv_t diff(struct push *p, struct pitem *it)
{
	struct jv_doc *d = it->doc;
	/* The copy's strings are borrowed from it->existing, kept until the item is released. */
	jv_t have = jv_from_json(d, json_object_get(it->existing, "fields")), out = jv_obj(d);
	int name_same = map_name_same(p->po->map, d, it->fields, have);

	for (uint32_t c = jv_members(d, it->fields); c; c = jv_next(d, c)) {
		const struct jv_mem m = d->m[c];
		jv_t ev = jv_get(d, have, m.key);
		if (p->conflict == C_FILL && !jv_is_empty(d, ev))
			continue;
		/* A field the CRM's metadata does not have (Salesforce's
		 * CurrencyIsoCode in a single-currency org) is never written:
		 * no difference there makes an update. */
		if (m.key[0] != '@' && !is_writable(p, m.key) && map_find_remote(p->po->map, m.key))
			continue;
		if (name_same && map_find_remote(p->po->map, m.key) &&
		    (map_find_remote(p->po->map, m.key)->flags & MF_NAMEPART))
			continue;
		if (!map_value_equal(p->po->map, m.key, d, m.val, ev) &&
		    !map_value_held(p->po->map, m.key, d, m.val, have))
			jv_add_key(d, out, m.key, m.klen, m.plain, m.val);
	}
	stage_brings_probability(p, d, it->fields, out);
	derived_probability_stays(p, it, out);
	return out;
}

static void decide_update(struct push *p, struct pitem *it)
{
	it->send = diff(p, it);
	if (!jv_size(it->doc, it->send)) {
		/* The same values (whatever their age): nothing to write, no echo. */
		it->status = SUM_UNCHANGED;
		return;
	}
	if (p->conflict == C_NEWER) {
		const char *in = jv_str(it->doc, it->rec, "remote_updated_at"), *ex = jx_str(it->existing, "updated_at");
		long long a, b;
		if (!in || time_parse(in, &a) < 0 || (ex && time_parse(ex, &b) == 0 && a <= b)) {
			item_set(it, SUM_SKIPPED, "conflict_older", "%s",
				 "the CRM's copy is as new or newer than the input (--conflict newer)");
			return;
		}
	}
	it->action = A_UPDATE;
}

static int fatal_status(int s)
{
	return s == CRM_EAUTH || s == CRM_ETEMP || s == CRM_EUNAVAIL || s == CRM_EINTR || s == CRM_ECONFIG ||
	       s == CRM_EUSAGE;
}

static int id_order(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);
	int num = strspn(x, "0123456789") == lx && strspn(y, "0123456789") == ly;
	return num && lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

/* More than one record holds the item's match value (hits, an array of
 * envelopes): the record fails and names them all; push never picks one. */
static void fail_ambiguous(struct push *p, struct pitem *it, const json_t *hits)
{
	size_t n = json_array_size(hits), i;
	const char **ids = calloc(n ? n : 1, sizeof(*ids));
	struct buf b = BUF_INIT;
	json_t *e;

	json_array_foreach(hits, i, e)
		ids[i] = jx_str(e, "id") ? jx_str(e, "id") : "?";
	qsort(ids, n, sizeof(*ids), id_order);
	for (i = 0; i < n; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", ids[i]);
	it->status = SUM_FAILED;
	err_set(&it->err, CRM_ERECORD, "ambiguous_match", "%zu records match %s \"%.200s\": %.250s", n,
		it->match_fb ? p->fb_key : p->match_key, it->match, b.buf ? b.buf : "");
	buf_release(&b);
	free(ids);
}

/* Looks up the values of items' matches: found[0] for the match key's,
 * found[1] for the fallback key's (find() answers, or NULL). */
static int find_matches(struct push *p, struct pitem **its, size_t n, json_t *found[2], struct crm_err *e)
{
	struct ctx *c = p->c;
	json_t *vals[2] = { json_array(), json_array() };
	int rc = 0;

	found[0] = found[1] = NULL;
	for (size_t i = 0; i < n; i++)
		if (its[i]->match)
			json_array_append_new(vals[its[i]->match_fb ? 1 : 0], json_string(its[i]->match));
	for (int k = 0; k < 2 && rc == 0; k++) {
		const char *field = k ? p->fb_remote : p->match_remote;
		if (json_array_size(vals[k]) && field)
			rc = c->prov->find(c->conn, p->o, field, vals[k], &found[k], e);
	}
	json_decref(vals[0]);
	json_decref(vals[1]);
	return rc;
}

/* Reads the CRM's copies (by id) and matches (by match value). */
static int lookups(struct push *p, struct pitem *items, size_t n)
{
	struct ctx *c = p->c;
	json_t *ids = json_array(), *byid = NULL, *found[2] = { NULL, NULL };
	struct pitem **finds = calloc(n ? n : 1, sizeof(*finds));
	struct crm_err e = CRM_ERR_INIT;
	size_t nf = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (items[i].status != PENDING)
			continue;
		if (items[i].action == A_UPDATE && items[i].remote_id)
			json_array_append_new(ids, json_string(items[i].remote_id));
		else if (items[i].action == A_FIND)
			finds[nf++] = &items[i];
	}
	if (json_array_size(ids) && (rc = c->prov->read(c->conn, p->o, ids, &byid, &e)) < 0)
		goto done;
	if (nf && (rc = find_matches(p, finds, nf, found, &e)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct pitem *it = &items[i];
		json_t *env;
		if (it->status != PENDING)
			continue;
		if (it->action == A_UPDATE && it->remote_id) {
			if (!(env = json_object_get(byid, it->remote_id)) && it->linked) {
				/* The store links it to a record that is gone. */
				it->gone_id = it->remote_id;
				it->remote_id = NULL;
				it->linked = 2;
				links_decide(p, it);
				continue;
			}
			if (!env) {
				item_set(it, SUM_FAILED, "not_found", "%s has no such record (or it was deleted)",
					 c->prov->name);
				it->err.http_status = 404;
				continue;
			}
			it->existing = json_incref(env);
			decide_update(p, it);
		} else if (it->action == A_FIND) {
			env = json_object_get(found[it->match_fb ? 1 : 0], it->match);
			if (find_count(env) > 1) {
				fail_ambiguous(p, it, env);
			} else if (env) {
				it->existing = json_incref(env);
				it->remote_id = doc_dup(it->doc, jx_str(env, "id"), 0);
				if (it->upsert) {
					/* The real run's upsert writes it all, unread. */
					it->send = it->fields;
					it->action = A_UPDATE;
				} else
					decide_update(p, it);
			} else if (p->mode == M_UPSERT) {
				it->action = A_CREATE;
			} else {
				item_set(it, SUM_SKIPPED, "not_found", "no record matches %s",
					 it->match_fb ? p->fb_key : p->match_key);
			}
		}
	}
done:
	if (rc < 0)
		set_fatal(p, &e);
	json_decref(ids);
	json_decref(byid);
	json_decref(found[0]);
	json_decref(found[1]);
	free(finds);
	return rc;
}

/* Creates whose answer was lost: look again by match key before anything is
 * reported (DESIGN, hard part 2).  Found: created (it was not there before
 * we wrote).  Not found: it did not happen, so it is safe to send again --
 * those go into again[] (returns how many).  No match key: nothing can
 * tell, so the line fails with outcome_unknown, never "created". */
static size_t confirm_creates(struct push *p, struct pitem **its, size_t n, struct pitem **again)
{
	json_t *found[2];
	struct crm_err e2 = CRM_ERR_INIT;
	size_t k = 0;
	int looked;

	looked = find_matches(p, its, n, found, &e2) == 0;
	for (size_t i = 0; i < n; i++) {
		json_t *env = its[i]->match ? json_object_get(found[its[i]->match_fb ? 1 : 0], its[i]->match) : NULL;
		if (find_count(env) > 1) {
			/* Never one of them: which (if any) is ours cannot be told. */
			fail_ambiguous(p, its[i], env);
		} else if (env) {
			its[i]->status = SUM_CREATED;
			its[i]->remote_id = doc_dup(its[i]->doc, jx_str(env, "id"), 0);
			err_clear(&its[i]->err);
		} else if (looked && its[i]->match) {
			again[k++] = its[i];
		} else {
			struct crm_err e = its[i]->err;
			its[i]->status = SUM_FAILED;
			snprintf(its[i]->err.code, sizeof(its[i]->err.code), "outcome_unknown");
			snprintf(its[i]->err.message, sizeof(its[i]->err.message),
				 "the CRM's answer was lost; the record may or may not have been created (%.300s)", e.message);
		}
	}
	json_decref(found[0]);
	json_decref(found[1]);
	return k;
}

#define CREATE_TRIES 4

static int send_group(struct push *p, enum write_op op, struct pitem **its, size_t n, int attempt);
static void note_links(struct push *p, struct pitem *items, struct pitem **its, size_t n);

/* Sends again the creates confirmed absent, after a short wait; when they
 * keep failing, the run stops as with any server error after retries. */
static int resend(struct push *p, enum write_op op, struct pitem **its, size_t n, int attempt)
{
	struct pitem **again = calloc(n ? n : 1, sizeof(*again));
	size_t k = confirm_creates(p, its, n, again);
	int rc = 0;

	if (k && attempt + 1 < CREATE_TRIES) {
		for (long long w = 200LL << attempt; w > 0 && !sig_stop; w -= 50)
			time_sleep_ms(50);
		rc = send_group(p, op, again, k, attempt + 1);
	} else if (k) {
		struct crm_err e = again[0]->err;
		for (size_t i = 0; i < k; i++)
			item_fail(again[i], SUM_FAILED, &again[i]->err);
		err_set(&e, CRM_EUNAVAIL, "server_error",
			"the CRM kept failing creates (%.300s); nothing was created twice", again[0]->err.message);
		set_fatal(p, &e);
		rc = CRM_EUNAVAIL;
	}
	free(again);
	return rc;
}

static void free_writes(struct write_item *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(w[i].warnings);
		json_decref(w[i].fields);
	}
	free(w);
}

/* Whether an update's failure says the record is not there (any more).
 * Each CRM says it its own way (api/NAME.md): a 404, HubSpot's batch
 * OBJECT_NOT_FOUND, Salesforce's ENTITY_IS_DELETED or NOT_FOUND, the
 * providers' own not_found. */
static int gone_answer(const struct crm_err *e)
{
	static const char *const codes[] = { "not_found", "OBJECT_NOT_FOUND", "NOT_FOUND", "ENTITY_IS_DELETED", NULL };

	if (e->status == CRM_ENOTFOUND || e->http_status == 404)
		return 1;
	for (int i = 0; codes[i]; i++)
		if (!strcmp(e->code, codes[i]))
			return 1;
	return 0;
}

/* Sends one group of writes; splits a batch refused as a whole. */
static int send_group(struct push *p, enum write_op op, struct pitem **its, size_t n, int attempt)
{
	struct ctx *c = p->c;
	struct write_item *w = malloc(n * sizeof(*w));
	struct crm_err e = CRM_ERR_INIT;
	int rc;

	if (!w) {
		err_set(&e, CRM_EFAIL, "out_of_memory", "out of memory");
		set_fatal(p, &e);
		return CRM_EFAIL;
	}
	for (size_t i = 0; i < n; i++) {
		/* Each field set, not the whole zeroed: the error's texts are large. */
		w[i].fields = NULL;
		w[i].created = 0;
		w[i].id_out[0] = '\0';
		err_clear(&w[i].err);
		w[i].warnings = NULL;
		w[i].line = its[i]->line;
		w[i].remote_id = its[i]->remote_id;
		w[i].doc = its[i]->doc;
		w[i].vfields = op == WR_UPDATE ? its[i]->send : its[i]->fields;
		if (!c->prov->write_jv && w[i].vfields)
			w[i].fields = jv_to_json(w[i].doc, w[i].vfields);
	}
	/* What the provider builds in the batch's document (its request, the
	 * CRM's answer) is forgotten when the call returns: the batches in
	 * flight keep half the values, and touch half the pages. */
	struct jv_doc *d = n ? its[0]->doc : NULL;
	struct jv_mark mk = { 0 };
	if (d)
		mk = jv_mark(d);
	rc = c->prov->write(c->conn, p->o, op, w, n, &e);
	if (d)
		jv_rewind(d, &mk);
	if (rc == CRM_ERECORD && n > 1) {
		/* Refused as a whole, naming no record: halve until the bad ones are alone. */
		free_writes(w, n);
		int a = send_group(p, op, its, n / 2, attempt);
		if (a < 0)
			return a;
		return send_group(p, op, its + n / 2, n - n / 2, attempt);
	}
	if (rc == CRM_EAMBIG && (op == WR_CREATE || op == WR_UPSERT)) {
		for (size_t i = 0; i < n; i++)
			its[i]->err = e;
		free_writes(w, n);
		return resend(p, op, its, n, attempt);
	}
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			item_fail(its[i], SUM_FAILED, &e);
		free_writes(w, n);
		if (fatal_status(rc)) {
			set_fatal(p, &e);
			return rc;
		}
		return 0;
	}
	/* Records whose own answer was lost (the provider wrote them one by one). */
	size_t na = 0;
	for (size_t i = 0; i < n; i++)
		if (w[i].err.status == CRM_EAMBIG && op != WR_UPDATE && op != WR_DELETE) {
			its[i]->err = w[i].err;
			na++;
		}
	int arc = 0;
	if (na) {
		struct pitem **amb = calloc(na, sizeof(*amb));
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (w[i].err.status == CRM_EAMBIG && op != WR_UPDATE && op != WR_DELETE)
				amb[k++] = its[i];
		arc = resend(p, op, amb, na, attempt);
		free(amb);
	}
	for (size_t i = 0; i < n; i++) {
		struct pitem *it = its[i];
		if (w[i].err.status == CRM_EAMBIG && op != WR_UPDATE && op != WR_DELETE)
			continue; /* settled by resend() */
		if (w[i].warnings) {
			if (!it->warnings)
				it->warnings = json_array();
			json_array_extend(it->warnings, w[i].warnings);
			json_decref(w[i].warnings);
			w[i].warnings = NULL;
		}
		if (w[i].err.status && op == WR_UPDATE && it->linked == 1 && gone_answer(&w[i].err)) {
			/* Deleted between our read and the update: as if the read
			 * had missed it (writes() sends a --recreate's create). */
			it->gone_id = it->remote_id;
			it->remote_id = NULL;
			it->linked = 2;
			it->action = A_CREATE;
			links_decide(p, it);
			continue;
		}
		if (w[i].err.status) {
			item_fail(it, SUM_FAILED, &w[i].err);
			continue;
		}
		if (w[i].id_out[0])
			it->remote_id = doc_dup(it->doc, w[i].id_out, 0);
		it->status = op == WR_DELETE ? SUM_DELETED : op == WR_UPDATE ? SUM_UPDATED
			   : op == WR_CREATE || w[i].created ? SUM_CREATED : SUM_UPDATED;
	}
	free_writes(w, n);
	note_links(p, NULL, its, n);
	return arc;
}

static int busy_has(const struct push *p, long long e)
{
	for (size_t i = 0; i < p->nbusy; i++)
		if (p->busy[i] == e)
			return 1;
	return 0;
}

static void busy_add(struct push *p, long long e)
{
	if (p->nbusy == p->capbusy) {
		size_t cap = p->capbusy ? p->capbusy * 2 : 64;
		long long *b = realloc(p->busy, cap * sizeof(*b));
		if (!b)
			return; /* unrecorded: only this run's own twins could then race */
		p->busy = b;
		p->capbusy = cap;
	}
	p->busy[p->nbusy++] = e;
}

static void busy_del(struct push *p, long long e)
{
	for (size_t i = 0; i < p->nbusy; i++)
		if (p->busy[i] == e) {
			p->busy[i] = p->busy[--p->nbusy];
			return;
		}
}

/* The links store (--links): which record here each foreign record is.
 * Outcomes are written in one transaction per group, as soon as they are
 * known and before any result line: a run killed after a create has
 * either its link or its claim in the store, never neither. */

/* A claim older than this is a stopped run's, whatever its pid says. */
#define CLAIM_STALE_S 600
#define CLAIM_NONE 9 /* a create with no source id: nothing to link or claim */

/* The item's source side in the store; 0 when it names none. */
static int src_key(struct push *p, struct pitem *it, struct link_key *k, char *tmp, size_t n)
{
	struct jv_doc *d = it->doc;
	const char *ns = it->source ? jv_str(d, it->source, "remote_namespace") : NULL;

	k->object = obj_plural(p->o);
	k->provider = it->source ? jv_str(d, it->source, "provider") : NULL;
	k->ns = ns ? ns : "";
	k->id = it->source ? jv_text(d, jv_get(d, it->source, "remote_id"), tmp, n) : NULL;
	return k->provider && k->id && *k->id;
}

/* Links the relations the item's --id-map translated (the map says they
 * are the same record: whatever became of the item). */
static int note_mapped(struct push *p, struct pitem *it, struct crm_err *e)
{
	const char *prov = it->source ? jv_str(it->doc, it->source, "provider") : NULL;
	const char *ns = it->source ? jv_str(it->doc, it->source, "remote_namespace") : NULL;

	for (int i = 0; rels[i] && prov; i++) {
		if (!it->mapped[i][0] || !it->mapped[i][1])
			continue;
		const char *obj = obj_plural(rel_target(rels[i]));
		struct link_key a = { obj, prov, ns ? ns : "", it->mapped[i][0] };
		struct link_key b = { obj, p->c->prov->name, p->ns ? p->ns : "", it->mapped[i][1] };
		if (links_link(p->links, &a, &b, p->sum.run_id, e) < 0)
			return e->status;
	}
	return 0;
}

static int note_one(struct push *p, struct pitem *it, struct crm_err *e)
{
	struct link_key s, dk = { obj_plural(p->o), p->c->prov->name, p->ns ? p->ns : "", NULL };
	const char *run = p->sum.run_id, *outcome = "ok";
	char tmp[64];
	long long ent = 0;
	jv_t del;

	it->noted = 1;
	if (note_mapped(p, it, e) < 0)
		return e->status;
	if (!src_key(p, it, &s, tmp, sizeof(tmp)))
		return 0;
	if (it->gone_id) {
		dk.id = it->gone_id;
		if (links_mark_deleted(p->links, &dk, e) < 0)
			return e->status;
	}
	switch (it->status) {
	case SUM_CREATED:
	case SUM_UPDATED:
	case SUM_UNCHANGED:
		dk.id = it->remote_id;
		ent = dk.id ? links_link(p->links, &s, &dk, run, e) : links_entity(p->links, &s, 1, run, e);
		break;
	case SUM_DELETED:
		dk.id = it->remote_id;
		del = jv_get(it->doc, it->rec, "remote_deleted");
		if ((dk.id && links_mark_deleted(p->links, &dk, e) < 0) ||
		    (del && jv_is_true(it->doc, del) && links_mark_deleted(p->links, &s, e) < 0))
			return e->status;
		ent = links_entity(p->links, &s, 1, run, e);
		break;
	case SUM_FAILED:
		outcome = it->err.code[0] ? it->err.code : "failed";
		ent = links_entity(p->links, &s, 1, run, e);
		break;
	default:
		/* Skipped: nothing was pushed; a source found deleted is marked so. */
		if (!strcmp(it->err.code, "deleted_in_source") && links_mark_deleted(p->links, &s, e) < 0)
			return e->status;
		return 0;
	}
	if (ent < 0 || links_pushed(p->links, ent, &s, dk.provider, dk.ns, outcome, run, e) < 0)
		return e->status;
	/* Our claim is done with; so is a stopped run's whose record this
	 * turned out to be (matched, or found through the link). */
	if (it->claim == LINK_CLAIMED || it->claim == LINK_STALE)
		busy_del(p, it->entity);
	if ((it->claim || it->status != SUM_FAILED) &&
	    links_unclaim(p->links, it->claim && it->claim != CLAIM_NONE ? it->entity : ent, dk.object, dk.provider,
			  dk.ns, CLAIM_STALE_S, e) < 0)
		return e->status;
	return 0;
}

/* Writes the outcomes of items (or *its) not yet in the store. */
static void note_links(struct push *p, struct pitem *items, struct pitem **its, size_t n)
{
	struct crm_err e = CRM_ERR_INIT;
	size_t todo = 0, i;

	if (!p->links || p->dry_run)
		return;
	for (i = 0; i < n; i++) {
		struct pitem *it = its ? its[i] : &items[i];
		todo += it->source && !it->noted && it->status != PENDING;
	}
	if (!todo || links_begin(p->links, &e) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct pitem *it = its ? its[i] : &items[i];
		if (it->source && !it->noted && it->status != PENDING && note_one(p, it, &e) < 0)
			break;
	}
	if (i < n)
		links_rollback(p->links);
	else
		links_commit(p->links, &e);
out:
	if (e.status)
		set_fatal(p, &e);
}

/* Reads the CRM's copies of items that turned out linked (another run
 * created them while this one waited on its claim). */
static void reread(struct push *p, struct pitem **its, size_t k)
{
	struct ctx *c = p->c;
	json_t *ids = json_array(), *byid = NULL, *env;
	struct crm_err e = CRM_ERR_INIT;

	for (size_t i = 0; i < k; i++)
		json_array_append_new(ids, json_string(its[i]->remote_id));
	if (k && c->prov->read(c->conn, p->o, ids, &byid, &e) < 0)
		set_fatal(p, &e);
	for (size_t i = 0; i < k && !e.status; i++) {
		if ((env = json_object_get(byid, its[i]->remote_id))) {
			its[i]->existing = json_incref(env);
			decide_update(p, its[i]);
		} else {
			its[i]->gone_id = its[i]->remote_id;
			its[i]->remote_id = NULL;
			its[i]->linked = 2;
			links_decide(p, its[i]);
		}
	}
	json_decref(ids);
	json_decref(byid);
}

/* The provider field of the object's name (deals: their name), or NULL. */
static const char *name_field(struct push *p)
{
	for (const struct map_entry *m = p->po->map; m->key; m++)
		if (!strcmp(m->key, "name") && m->kind != MK_ADDR && m->kind != MK_PHONE)
			return m->remote;
	return NULL;
}

/* Whether the CRM's record env holds every value the item would write
 * (what an unchanged update finds). */
static int same_values(struct push *p, struct pitem *it, json_t *env)
{
	struct jv_doc *d = it->doc;
	jv_t have = jv_from_json(d, json_object_get(env, "fields"));

	for (uint32_t c = jv_members(d, it->fields); c; c = jv_next(d, c)) {
		const struct jv_mem m = d->m[c];
		if (m.key[0] == '@' || (!is_writable(p, m.key) && map_find_remote(p->po->map, m.key)))
			continue;
		if (!map_value_equal(p->po->map, m.key, d, m.val, jv_get(d, have, m.key)) &&
		    !map_value_held(p->po->map, m.key, d, m.val, have))
			return 0;
	}
	return 1;
}

/* A CRM's clock and ours may disagree this much (both NTP-synced: well
 * under a second; the claim's time is whole seconds, rounded down). */
#define CLOCK_SKEW_MS (5 * 1000LL)

/* The record a stopped run may have created for an item with no match key:
 * those named like it, created since the claim was taken (give or take the
 * clocks' skew), holding all of its values.  Exactly one is taken for it;
 * none, the create goes ahead; more, the line fails (outcome_unknown).  The
 * record's values stand in for a key: a deal made meanwhile by someone else
 * with the very same name, amount, close date... would be taken for it. */
static int settle_by_values(struct push *p, struct pitem **its, size_t k, struct crm_err *e)
{
	struct ctx *c = p->c;
	const char *field = name_field(p);
	json_t *vals = json_array(), *found = NULL;
	char tmp[64];
	int rc = 0;

	for (size_t i = 0; i < k; i++) {
		struct jv_doc *d = its[i]->doc;
		const char *v = its[i]->match || !field ? NULL : jv_text(d, jv_get(d, its[i]->fields, field), tmp, sizeof(tmp));
		if (v && *v)
			json_array_append_new(vals, json_string(v));
	}
	if (!field || !json_array_size(vals) || (rc = c->prov->find(c->conn, p->o, field, vals, &found, e)) < 0)
		goto done;
	for (size_t i = 0; i < k; i++) {
		struct pitem *it = its[i];
		const char *v = it->match ? NULL : jv_text(it->doc, jv_get(it->doc, it->fields, field), tmp, sizeof(tmp));
		json_t *hits = v ? json_object_get(found, v) : NULL, *env, *one = NULL;
		size_t nh = json_is_array(hits) ? json_array_size(hits) : hits ? 1 : 0, same = 0;
		if (!v || !*v)
			continue;
		for (size_t j = 0; j < nh; j++) {
			long long at;
			env = json_is_array(hits) ? json_array_get(hits, j) : hits;
			const char *created = jx_str(env, "created_at");
			if (it->claim_ms && (!created || time_parse(created, &at) < 0 || at < it->claim_ms - CLOCK_SKEW_MS))
				continue;
			if (same_values(p, it, env)) {
				one = env;
				same++;
			}
		}
		if (same == 1) {
			it->existing = json_incref(one);
			it->remote_id = doc_dup(it->doc, jx_str(one, "id"), 0);
			decide_update(p, it);
		} else if (same > 1) {
			item_set(it, SUM_FAILED, "outcome_unknown", "%s",
				 "a stopped run was creating this record and several records created since hold its"
				 " values (no match key): which is it cannot be told");
		}
		it->by_values = 1; /* settled: found, or known absent */
	}
done:
	json_decref(vals);
	json_decref(found);
	return rc;
}

/* A stopped run's claim: its create may have happened, unlinked.  Look the
 * record up by its match key (as for a create whose answer was lost): found,
 * it is this record (and is linked); not found, the create goes ahead.
 * Without a match key, by its values (settle_by_values); when nothing can
 * tell, the line fails and the claim is dropped, so the next run creates
 * it. */
static void settle_stale(struct push *p, struct pitem **its, size_t k)
{
	json_t *found[2] = { NULL, NULL };
	struct crm_err e = CRM_ERR_INIT, e2 = CRM_ERR_INIT;
	int looked = find_matches(p, its, k, found, &e) == 0;
	int valued = settle_by_values(p, its, k, &e2) == 0;

	for (size_t i = 0; i < k; i++) {
		struct pitem *it = its[i];
		json_t *env = it->match ? json_object_get(found[it->match_fb ? 1 : 0], it->match) : NULL;
		if (it->by_values || it->status != PENDING || it->action != A_CREATE)
			continue;
		if (find_count(env) > 1) {
			fail_ambiguous(p, it, env);
		} else if (env) {
			it->existing = json_incref(env);
			it->remote_id = doc_dup(it->doc, jx_str(env, "id"), 0);
			decide_update(p, it);
		} else if (!looked || !it->match) {
			item_set(it, SUM_FAILED, "outcome_unknown", "%s",
				 !looked ? e.message : !valued ? e2.message
				 : "a stopped run was creating this record and nothing can tell whether it"
				   " did (no match key); the next run creates it");
		}
	}
	json_decref(found[0]);
	json_decref(found[1]);
}

/* Whether an item of the batch holds the claim of entity e. */
static int claimed_here(const struct pitem *items, size_t n, long long e)
{
	for (size_t i = 0; i < n; i++)
		if ((items[i].claim == LINK_CLAIMED || items[i].claim == LINK_STALE) && items[i].entity == e &&
		    items[i].status == PENDING)
			return 1;
	return 0;
}

/* Claims the creates of foreign records before they are sent: one run
 * creates a record, another that pushes the same source meanwhile waits
 * for the claim to resolve and then updates (or leaves unchanged) what
 * the first created. */
static void claim_creates(struct push *p, struct pitem *items, size_t n)
{
	struct pitem **stale, **linked;
	struct link_key s, *keys;
	struct link_hit *hits;
	size_t *ki;
	char tmp[64];

	if (!p->links || p->dry_run)
		return;
	stale = calloc(n ? n : 1, sizeof(*stale));
	linked = calloc(n ? n : 1, sizeof(*linked));
	keys = calloc(n ? n : 1, sizeof(*keys));
	hits = calloc(n ? n : 1, sizeof(*hits));
	ki = calloc(n ? n : 1, sizeof(*ki));
	while (stale && linked && keys && hits && ki && !has_fatal(p) && !sig_stop) {
		struct crm_err e = CRM_ERR_INIT;
		size_t ns = 0, nl = 0, waiting = 0, any = 0, nk = 0, i;
		for (i = 0; i < n; i++)
			any += items[i].status == PENDING && items[i].action == A_CREATE && items[i].source &&
			       !items[i].claim;
		if (!any || links_begin(p->links, &e) < 0)
			break;
		/* Linked meanwhile by another run?  One query for the batch, in
		 * the transaction that claims the rest. */
		for (i = 0; i < n; i++) {
			struct pitem *it = &items[i];
			if (it->status != PENDING || it->action != A_CREATE || !it->source || it->claim ||
			    !src_key(p, it, &keys[nk], tmp, sizeof(tmp)))
				continue;
			keys[nk].id = doc_dup(it->doc, keys[nk].id, 0);
			ki[i] = nk++;
		}
		int frc = links_find_many(p->links, keys, nk, p->c->prov->name, p->ns ? p->ns : "", hits, &e);
		for (i = 0; i < n && frc == 0; i++) {
			struct pitem *it = &items[i];
			int r;
			if (it->status != PENDING || it->action != A_CREATE || !it->source || it->claim)
				continue;
			if (!src_key(p, it, &s, tmp, sizeof(tmp))) {
				it->claim = CLAIM_NONE;
				continue;
			}
			/* Linked meanwhile by another run: an update, not a create. */
			if (hits[ki[i]].found && !hits[ki[i]].deleted) {
				it->remote_id = doc_dup(it->doc, hits[ki[i]].id, 0);
				it->linked = 1;
				it->action = A_UPDATE;
				linked[nl++] = it;
				continue;
			}
			if ((it->entity = links_entity(p->links, &s, 1, p->sum.run_id, &e)) < 0)
				break;
			if (busy_has(p, it->entity)) {
				/* This run creates it already: in this batch (the line
				 * goes again after the batch's writes), or in another
				 * (wait for it, as for another run's claim). */
				if (claimed_here(items, n, it->entity))
					it->action = A_WAIT;
				else
					waiting++;
				continue;
			}
			if ((r = links_claim(p->links, it->entity, s.object, p->c->prov->name, p->ns ? p->ns : "",
					     p->sum.run_id, CLAIM_STALE_S, &it->claim_ms, &e)) < 0)
				break;
			if (r == LINK_HELD) {
				waiting++;
				continue;
			}
			it->claim = (char)r;
			busy_add(p, it->entity);
			if (r == LINK_STALE)
				stale[ns++] = it;
		}
		if (frc < 0 || i < n) {
			links_rollback(p->links);
			set_fatal(p, &e);
			break;
		}
		if (links_commit(p->links, &e) < 0) {
			set_fatal(p, &e);
			break;
		}
		if (nl)
			reread(p, linked, nl);
		if (ns)
			settle_stale(p, stale, ns);
		if (!waiting)
			break;
		/* Another run is creating some of these: ask again shortly. */
		fiber_wait(time_mono_ms() + 100);
	}
	free(stale);
	free(linked);
	free(keys);
	free(hits);
	free(ki);
}

static int writes(struct push *p, struct pitem *items, size_t n)
{
	static const enum action acts[] = { A_CREATE, A_UPDATE, A_DELETE };
	enum write_op ops[] = { p->mode == M_UPSERT ? WR_UPSERT : WR_CREATE, WR_UPDATE, WR_DELETE };
	struct pitem **group = calloc(n ? n : 1, sizeof(*group));
	int rc = 0;

	for (int a = 0; a < 3 && rc == 0; a++) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (items[i].status == PENDING && items[i].action == acts[a])
				group[k++] = &items[i];
		if (k)
			rc = send_group(p, ops[a], group, k, 0);
	}
	free(group);
	return rc;
}

static const char *const status_names[] = { "created", "updated", "unchanged", "skipped", "failed", "deleted" };

#ifdef CRM_SELFCHECK
/* Test builds (ASan): a result line copied from its input line is what
 * setting the outcome's keys and dumping the record writes. */
static void selfcheck_line(struct pitem *it, const struct jv_kv *kv, size_t n)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	if (jv_dump_with(&a, it->raw, it->rawlen, it->doc, it->rec, kv, n) != 1)
		abort();
	jv_set_keys(it->doc, it->rec, kv, n);
	if (jv_dump(&b, it->doc, it->rec) < 0 || a.len != b.len || memcmp(a.buf, b.buf, a.len)) {
		fprintf(stderr, "crmsync: selfcheck: line %ld copied as\n%.*s\nbut dumped as\n%.*s\n", it->line,
			(int)a.len, a.buf, (int)b.len, b.buf);
		abort();
	}
	buf_release(&a);
	buf_release(&b);
}
#endif

/* A failed CSV row to --rejects: under the input's header, written once. */
static int reject_row(struct push *p, struct pitem *it, struct crm_err *e)
{
	int rc = 0;

	if (!p->rejects_header) {
		struct buf b = BUF_INIT;
		if (csvr_requote_header(p->csv, &b) < 0)
			rc = err_set(e, CRM_EOUTPUT, "out_of_memory", "out of memory");
		else
			rc = ndjson_write_raw(&p->rejects, b.buf, b.len, e);
		buf_release(&b);
		p->rejects_header = 1;
	}
	if (rc == 0 && it->csvrow)
		rc = ndjson_write_raw(&p->rejects, it->csvrow, it->csvrowlen, e);
	return rc;
}

/* The input, NDJSON or CSV, a line (a row) at a time. */
struct input {
	struct ndjson_reader *r;
	struct csv_reader *csv;
	struct csv_cols cols;
	struct buf json, row;
	struct crm_err bad;
	struct line_in cur;
};

static int input_next(struct input *in, struct crm_err *err)
{
	int rc;

	if (!in->csv) {
		rc = ndjson_read_line(in->r, err);
		in->cur = (struct line_in){ in->r->line.buf, in->r->line.len, in->r->lineno, in->r->too_long,
					    NULL, NULL, 0 };
		return rc;
	}
	if ((rc = csvr_row(in->csv, err)) <= 0)
		return rc;
	err_clear(&in->bad);
	buf_reset(&in->row);
	if (csvr_json(in->csv, &in->cols, &in->json, &in->bad) < 0)
		buf_reset(&in->json);
	if (csvr_requote(in->csv, &in->row) < 0)
		buf_reset(&in->row);
	in->cur = (struct line_in){ in->json.buf, in->json.len, in->csv->row_line, 0,
				    in->bad.status ? &in->bad : NULL, in->row.buf, in->row.len };
	return 1;
}

static int emit(struct push *p, struct pitem *it)
{
	struct ctx *c = p->c;
	struct crm_err e;
	struct jv_doc *d = it->doc;
	jv_t out;
	int rc;

	err_clear(&e);
	if (it->status == PENDING)
		return 0; /* outcome unknown (interrupted): no line */
	/* The result line is the input record and the outcome: the record's
	 * own object, in its batch's document, with the outcome's keys set. */
	out = it->rec ? it->rec : jv_obj(d);
	jv_t se = JV_NONE, payload = JV_NONE, dry = JV_NONE;
	if (it->status == SUM_FAILED || it->status == SUM_SKIPPED) {
		se = jv_obj(d);
		jv_add_key(d, se, JV_LIT("code"), jv_string_ref(d, it->err.code[0] ? it->err.code : "failed"));
		jv_add_key(d, se, JV_LIT("message"), jv_string_ref(d, it->err.message));
		if (it->err.http_status)
			jv_add_key(d, se, JV_LIT("http_status"), jv_int(d, it->err.http_status));
		if (it->err.field[0])
			jv_add_key(d, se, JV_LIT("field"), jv_string_ref(d, it->err.field));
	}
	if (p->dry_run && it->status != SUM_FAILED && it->status != SUM_SKIPPED) {
		jv_t pl = it->status == SUM_UPDATED && it->send ? it->send
			: it->status == SUM_UNCHANGED || it->status == SUM_DELETED ? JV_NONE : it->fields;
		dry = JV_TRUE;
		payload = pl ? pl : JV_NULL;
	}
	const struct jv_kv outcome[] = {
		JV_KV("provider", jv_string_lit(d, c->prov->name)),
		JV_KV("remote_id", jv_str_or_null(d, it->remote_id)),
		JV_KV("remote_namespace", jv_str_or_null(d, p->ns && *p->ns ? p->ns : NULL)),
		JV_KV("source", it->source),
		JV_KV("sync_status", jv_string_lit(d, status_names[it->status])),
		JV_KV("sync_error", se),
		JV_KV("sync_warnings", it->warnings ? jv_from_json(d, it->warnings) : JV_NONE),
		JV_KV("sync_dry_run", dry),
		JV_KV("sync_payload", payload),
		JV_KV("sync_line", jv_int(d, it->line)),
	};
	const size_t nout = sizeof(outcome) / sizeof(outcome[0]);
	p->sum.counts[it->status]++;
	if (it->status == SUM_FAILED)
		summary_fail(&p->sum, it->err.code);
	rc = 1;
	if (it->plain && it->rec && !d->failed && !c->out.status) {
		/* The input line, whitespace aside, and the outcome's keys. */
		rc = ndjson_write_with(&c->out, it->raw, it->rawlen, d, out, outcome, nout, &e);
#ifdef CRM_SELFCHECK
		if (rc == 0)
			selfcheck_line(it, outcome, nout);
#endif
	}
	if (rc == 1) {
		jv_set_keys(d, out, outcome, nout);
		if (d->failed)
			rc = err_set(&e, CRM_EOUTPUT, "out_of_memory", "out of memory");
		else
			rc = c->out.status ? c->out.status : ndjson_write_jv(&c->out, d, out, &e);
	}
	if (rc < 0 && e.status)
		set_fatal(p, &e);
	if (it->status == SUM_FAILED && p->have_rejects) {
		int r2 = p->csv ? reject_row(p, it, &e) : ndjson_write_raw(&p->rejects, it->raw, it->rawlen, &e);
		if (r2 < 0) {
			set_fatal(p, &e);
			rc = r2;
		}
	}
	return rc;
}

/* The batch's creates: their linked records found or made, the fields
 * the CRM requires checked (cmd/linked). */
static int create_links(struct push *p, struct pitem *items, size_t n)
{
	struct linked_item *li;
	struct crm_err e = CRM_ERR_INIT;
	size_t k = 0;
	int rc;

	if (!p->po->links && !p->po->required)
		return 0;
	li = calloc(n ? n : 1, sizeof(*li));
	for (size_t i = 0; i < n; i++)
		if (items[i].status == PENDING && items[i].action == A_CREATE)
			li[k++] = (struct linked_item){ items[i].doc, items[i].rec, items[i].fields, CRM_ERR_INIT, 0 };
	rc = linked_creates(p->c, p->o, li, k, p->dry_run, &e);
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].status == PENDING && items[i].action == A_CREATE && li[k++].err.status)
			item_fail(&items[i], SUM_FAILED, &li[k - 1].err);
	free(li);
	if (rc < 0)
		set_fatal(p, &e);
	return rc;
}

static size_t pending_creates(const struct pitem *items, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += items[i].status == PENDING && items[i].action == A_CREATE;
	return k;
}

/* The network part of a batch: lookups, then writes (in a fiber). */
static void work(struct push *p, struct pitem *items, size_t n)
{
	int one = p->c->prov->find_one_batch, rc;

	if (has_fatal(p) || sig_stop)
		return;
	if (one) {
		/* The batch before may still be looking up (its fiber waits on
		 * the CRM); this one starts when it is through. */
		while (p->find_busy)
			fiber_wait(time_mono_ms() + 20);
		p->find_busy = 1;
	}
	rc = lookups(p, items, n);
	if (one)
		p->find_busy = 0;
	if (rc < 0 || create_links(p, items, n) < 0)
		return;
	if (p->dry_run) {
		for (size_t i = 0; i < n; i++)
			if (items[i].status == PENDING)
				items[i].status = items[i].action == A_CREATE ? SUM_CREATED
						: items[i].action == A_DELETE ? SUM_DELETED : SUM_UPDATED;
		return;
	}
	claim_creates(p, items, n);
	if (!has_fatal(p) && !sig_stop)
		writes(p, items, n);
	/* Lines still to write: updates of linked records found gone
	 * meanwhile, to make again (--recreate), and creates that waited for
	 * another line of the batch with their source (now linked: updates,
	 * or creates if that one failed).  Each round writes one line of each
	 * source at least. */
	for (size_t round = 0; round < n && !has_fatal(p) && !sig_stop; round++) {
		size_t waits = 0;
		if (pending_creates(items, n) && create_links(p, items, n) < 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (items[i].status == PENDING && items[i].action == A_WAIT) {
				items[i].action = A_CREATE;
				waits++;
			}
		if (!waits && !pending_creates(items, n))
			break;
		claim_creates(p, items, n);
		if (!has_fatal(p) && !sig_stop)
			writes(p, items, n);
	}
	note_links(p, items, NULL, n);
}

/* Writes a finished batch's result lines (main thread), in input order. */
static int finish(struct push *p, struct pitem *items, size_t n)
{
	int rc = 0;

	if (p->fatal.status && p->fatal.status != CRM_EINTR && p->fatal.status != CRM_EPIPE) {
		/* Nothing was written for these: report them failed, with the reason. */
		for (size_t i = 0; i < n; i++)
			if (items[i].status == PENDING)
				item_fail(&items[i], SUM_FAILED, &p->fatal);
	}
	/* Every outcome is counted (and failed lines go to --rejects) even when
	 * stdout is gone, so the summary stays true. */
	for (size_t i = 0; i < n; i++) {
		int r2 = emit(p, &items[i]);
		if (r2 < 0 && !rc)
			rc = r2;
	}
	for (size_t i = 0; i < n; i++)
		item_release(&items[i]);
	struct crm_err e = CRM_ERR_INIT;
	if (!p->c->out.status && ndjson_flush(&p->c->out, &e) < 0) {
		set_fatal(p, &e);
		rc = e.status;
	}
	if (p->have_rejects && ndjson_flush(&p->rejects, &e) < 0) {
		set_fatal(p, &e);
		rc = e.status;
	}
	return rc;
}

/* The match keys of the batches in flight, each with the seq of its
 * batch: an open-addressing table.  A key is the item's own text (in its
 * batch's document); an entry whose batch is written out (seq below the
 * caller's `live`) is dead: its text may be gone, so it is skipped
 * without a look, and dropped when the table is rebuilt. */
struct kent {
	const char *key;      /* NULL: empty */
	uint64_t h;
	long seq;
};

struct keyset {
	struct kent *e;
	size_t cap, used;     /* cap: a power of two; used: entries, dead ones too */
	struct kent *spare;   /* cap entries: where the next rebuild goes (the
				 same pages again, not fresh ones each time) */
};

static uint64_t ks_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The live entry of k, else the empty one where it would go. */
static struct kent *ks_at(struct kent *e, size_t cap, const char *k, uint64_t h, long live)
{
	for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!e[i].key || (e[i].seq >= live && e[i].h == h && !strcmp(e[i].key, k)))
			return &e[i];
}

/* The seq of key k's batch if that batch is still in flight, else -1. */
static long ks_get(const struct keyset *ks, const char *k, long live)
{
	struct kent *e = ks->cap ? ks_at(ks->e, ks->cap, k, ks_hash(k), live) : NULL;
	return e && e->key ? e->seq : -1;
}

/* Records key k (text that lives as long as batch seq) for batch seq. */
static void ks_put(struct keyset *ks, const char *k, long seq, long live)
{
	uint64_t h = ks_hash(k);
	if ((ks->used + 1) * 2 > ks->cap) {
		/* Rebuilt with the live entries only: its size follows what is
		 * in flight, not the length of the input. */
		size_t nlive = 0, cap = 256;
		for (size_t i = 0; i < ks->cap; i++)
			nlive += ks->e[i].key && ks->e[i].seq >= live;
		while (cap < (nlive + 1) * 4)
			cap *= 2;
		if (cap < ks->cap)
			cap = ks->cap; /* never smaller: the two tables swap */
		struct kent *e = cap == ks->cap && ks->spare ? ks->spare : calloc(cap, sizeof(*e));
		if (!e && ks->used + 1 >= ks->cap)
			return; /* out of memory with the table full: the key goes unrecorded */
		if (e) {
			if (e == ks->spare)
				memset(e, 0, cap * sizeof(*e));
			for (size_t i = 0; i < ks->cap; i++)
				if (ks->e[i].key && ks->e[i].seq >= live)
					*ks_at(e, cap, ks->e[i].key, ks->e[i].h, live) = ks->e[i];
			if (cap == ks->cap) {
				ks->spare = ks->e;
			} else {
				free(ks->e);
				free(ks->spare);
				ks->spare = NULL;
			}
			ks->e = e;
			ks->cap = cap;
			ks->used = nlive;
		}
	}
	struct kent *e = ks_at(ks->e, ks->cap, k, h, live);
	if (!e->key)
		ks->used++;
	e->key = k;
	e->h = h;
	e->seq = seq;
}

/* Batches in flight: fibers (lib/fiber) run work(), all on the main
 * thread: where a batch would wait for the CRM, the thread reads input,
 * writes results or serves another batch's transfer (lib/http puts every
 * transfer on one curl multi handle).  Results go out strictly in input
 * order.  Memory: at most `nslots` batches of lines. */
enum slot_state { S_FREE, S_QUEUED, S_RUNNING, S_DONE };

struct slot {
	struct pitem *items;
	size_t n;
	struct jv_doc doc;    /* the values of its items */
	long seq;
	enum slot_state state;
};

struct pool {
	struct push *p;
	struct slot *slots;
	size_t nslots;
	struct fiber **fib;   /* one per batch in flight */
	int *idle;            /* fib[i] waits for a batch */
	long nfib;
	int stop;
	/* Batches in flight at most now (1..nfib), and the slots the reader
	 * may fill (limit + 2).  Without --concurrency the limit follows the
	 * calls the CRM's rate limit can take at the latency measured
	 * (pool_adapt); nfib is the provider's default, the most. */
	long limit, running;
	size_t window;
	int adaptive;
	uint64_t said;        /* limits reported (-v), a bit each */
	double batch_ms;      /* the least time a batch has taken (0: none done yet) */
	long batches, calls;  /* batches done (that called the CRM), and their calls */
};

struct worker_arg {
	struct pool *pl;
	long i;
};

/* A batch was queued (or the limit rose): idle fibers take batches at the
 * next step, as many as the limit lets run. */
static void pool_kick(struct pool *pl)
{
	long room = pl->limit - pl->running;

	for (long i = 0; i < pl->nfib && room > 0; i++)
		if (pl->idle[i] == 1) {
			pl->idle[i] = 2; /* woken, not running yet */
			fiber_wake(pl->fib[i]);
			room--;
		}
}

/* After each batch: as many batches in flight as the rate limit can use
 * (Little's law: its batches per ms -- its calls per ms over the calls a
 * batch makes -- times the time a batch takes), twice over for the
 * latency's swings.  HubSpot on this machine: one in flight; 100 ms away:
 * four or five; a few hundred: the provider's most.  More would only
 * wait, in our pacing or at the CRM, holding their batches' memory (and,
 * with the CRM on this machine, its CPU: 10k records to the emulator cost
 * 2.3 us each with four in flight, 1.7 with one).
 *
 * The time is the least a batch has taken in this run, not the average:
 * against a CRM that serves one call at a time, batches that queue behind
 * our own take longer the more are in flight, and would ask for still
 * more (a lasting rise of the latency within a run is not followed).
 *
 * Until a batch is done: the provider's most when pacing (the CRM's
 * window counts from the first calls, which should not start late: paced
 * 20k at 100 ms, 96.5% of the ceiling against 95.2% starting with two),
 * else two (each batch read ahead is memory first touched: 10k records to
 * the emulator, 13.6 MB and 2.5 us each against 12.6 MB and 2.1). */
static void pool_adapt(struct pool *pl)
{
	struct http *h = pl->p->c->http;

	if (!pl->adaptive || !h)
		return;
	double rate = http_rate_per_ms(h), n = 0;
	if (pl->batches) {
		double calls = (double)pl->calls / (double)pl->batches;
		n = rate * pl->batch_ms / (calls > 1 ? calls : 1);
	}
	long want = rate < 0 ? pl->nfib : !pl->batches ? (http_paced(h) ? pl->nfib : 2) : (long)(n * 2 + 0.999);
	if (want < 1)
		want = 1;
	if (want > pl->nfib)
		want = pl->nfib;
	/* Each number once (-v): the limit may swing between two. */
	if (want != pl->limit && pl->p->c->verbose && !(pl->said >> (want & 63) & 1)) {
		pl->said |= 1ULL << (want & 63);
		msg(pl->p->c, "%ld batch%s in flight (the rate limit keeps %.2f busy at %.0f ms a batch)",
		    want, want == 1 ? "" : "es", n, pl->batch_ms);
	}
	pl->limit = want;
	pl->window = (size_t)want + 2;
	pool_kick(pl);
}

static void worker(void *ud)
{
	struct worker_arg *wa = ud;
	struct pool *pl = wa->pl;

	for (;;) {
		struct slot *next = NULL;
		for (size_t i = 0; i < pl->nslots && pl->running < pl->limit; i++)
			if (pl->slots[i].state == S_QUEUED && (!next || pl->slots[i].seq < next->seq))
				next = &pl->slots[i];
		if (!next) {
			if (pl->stop)
				break;
			pl->idle[wa->i] = 1;
			fiber_wait(-1);
			pl->idle[wa->i] = 0;
			continue;
		}
		next->state = S_RUNNING;
		pl->running++;
		struct http *h = pl->p->c->http;
		long calls = h ? http_calls_mine(h) : 0;
		long long t0 = time_mono_ms();
		work(pl->p, next->items, next->n);
		double dt = (double)(time_mono_ms() - t0);
		/* A batch that called the CRM (not one whose records were all
		 * refused here). */
		if (h && (calls = http_calls_mine(h) - calls) > 0 && !has_fatal(pl->p) && !sig_stop) {
			if (!pl->batch_ms || dt < pl->batch_ms)
				pl->batch_ms = dt > 0 ? dt : 0.5; /* under the clock's tick */
			pl->batches++;
			pl->calls += calls;
		}
		pl->running--;
		next->state = S_DONE;
		pool_adapt(pl);
	}
}

/* Instead of blocking on stdout (or the rejects file) while batches are in
 * flight, the thread serves their transfers until the file takes more. */
static void output_wait(void *ctx, int fd, short events)
{
	struct pool *pl = ctx;

	for (;;) {
		int busy = 0;
		for (size_t i = 0; i < pl->nslots; i++)
			busy |= pl->slots[i].state == S_QUEUED || pl->slots[i].state == S_RUNNING;
		if (!busy || sig_stop || fiber_step_fd(100, fd, events))
			return;
	}
}

/* Writes every finished batch that is next in order; returns how many
 * slots are busy.  With `all`, waits until none is. */
static int drain(struct pool *pl, long *emit_seq, int all, int *rc)
{
	for (;;) {
		size_t busy = 0;
		struct slot *ready = NULL;
		for (size_t i = 0; i < pl->nslots; i++) {
			if (pl->slots[i].state != S_FREE)
				busy++;
			if (pl->slots[i].state == S_DONE && pl->slots[i].seq == *emit_seq)
				ready = &pl->slots[i];
		}
		if (!ready) {
			if (!busy || (!all && busy < pl->window))
				return (int)busy;
			fiber_step(100);
			continue;
		}
		int r = finish(pl->p, ready->items, ready->n);
		if (r < 0 && !*rc) {
			*rc = r;
			set_fatal(pl->p, &pl->p->fatal);
		}
		if (pl->p->c->progress)
			summary_progress(&pl->p->sum, stderr, 0);
		ready->state = S_FREE;
		ready->n = 0;
		(*emit_seq)++;
	}
}

/* The main loop's state that waiting for input may move on. */
struct feed {
	struct pool *pl;
	long *emit_seq;
	int *loop_rc;
};

/* Before a read of stdin that would block (a slow writer upstream): the
 * batches in flight go on, and their results are written and flushed as
 * they finish, instead of when more input comes. */
static void input_wait(void *ctx, int fd, short events)
{
	struct feed *f = ctx;
	struct pollfd q = { fd, events, 0 };

	if (poll(&q, 1, 0) > 0)
		return; /* input is there */
	for (;;) {
		struct crm_err e = CRM_ERR_INIT;
		int busy = drain(f->pl, f->emit_seq, 0, f->loop_rc);
		ndjson_flush(&f->pl->p->c->out, &e); /* a failure stays in the writer, for the next write */
		if (!busy || sig_stop || fiber_step_fd(100, fd, events))
			return;
	}
}

static int load_idmap(struct push *p, const char *path, struct crm_err *err)
{
	FILE *f = fopen(path, "r");
	struct ndjson_reader r;
	int rc = 0;

	if (!f)
		return err_set(err, CRM_EUSAGE, "usage", "cannot read --id-map file %s", path);
	ndjson_reader_init(&r, f);
	while ((rc = ndjson_read_line(&r, err)) == 1) {
		struct crm_err e = CRM_ERR_INIT;
		json_t *v = ndjson_parse_line(&r, &e), *src;
		char tmp[64], tmp2[64];
		src = json_object_get(v, "source");
		const char *sp = jx_str(src, "provider");
		const char *sid = jx_text(json_object_get(src, "remote_id"), tmp, sizeof(tmp));
		const char *to = jx_text(json_object_get(v, "remote_id"), tmp2, sizeof(tmp2));
		const char *st = jx_str(v, "sync_status");
		if (sp && sid && to && (!st || strcmp(st, "failed"))) {
			struct buf k = BUF_INIT;
			buf_addf(&k, "%s/%s", sp, sid);
			json_object_set_new(p->idmap, k.buf, json_string(to));
			buf_release(&k);
		}
		json_decref(v);
	}
	ndjson_reader_release(&r);
	fclose(f);
	return rc < 0 ? rc : 0;
}

/* push's options (also read by main, which takes the global options given
 * after the command out of argv first). */
const struct option push_options[] = {
	{ "mode", required_argument, NULL, 'M' }, { "match", required_argument, NULL, 'm' },
	{ "conflict", required_argument, NULL, 'C' }, { "map", required_argument, NULL, 'a' },
	{ "id-map", required_argument, NULL, 'i' }, { "dry-run", no_argument, NULL, 'n' },
	{ "rejects", required_argument, NULL, 'r' }, { "batch-size", required_argument, NULL, 'b' },
	{ "concurrency", required_argument, NULL, 'j' }, { "summary", required_argument, NULL, 'u' },
	{ "bulk", no_argument, NULL, 'B' }, { "format", required_argument, NULL, 'F' },
	{ "values", required_argument, NULL, 'V' }, { "clear-nulls", no_argument, NULL, 'Z' },
	{ "links", required_argument, NULL, 'L' }, { "propagate-deletes", no_argument, NULL, 'P' },
	{ "recreate", no_argument, NULL, 'R' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
};

/* The provider field that match key `key` (a unified key or a provider
 * field) reads, or NULL; *email: it is the primary email. */
static const char *match_field(struct push *p, const char *key, const json_t *fields, int *email)
{
	const struct map_entry *e;
	const char *remote = NULL;

	*email = 0;
	if (!strcmp(key, "email") || !strcmp(key, "email_addresses")) {
		*email = 1;
		for (e = p->po->map; e->key; e++)
			if (e->kind == MK_EMAIL && (e->flags & MF_PRIMARY))
				remote = e->remote;
		return remote;
	}
	for (e = p->po->map; e->key; e++)
		if (!strcmp(e->key, key) && e->kind != MK_ADDR && e->kind != MK_PHONE)
			remote = e->remote;
	if (!remote && json_object_get(p->writable, key))
		remote = key;
	if (!remote) {
		json_t *f;
		size_t i;
		json_array_foreach(fields, i, f)
			if (jx_str(f, "name") && !strcmp(jx_str(f, "name"), key))
				remote = key;
	}
	return remote;
}

int cmd_push(struct ctx *c, int argc, char **argv)
{
	struct push p;
	struct crm_err err = CRM_ERR_INIT;
	const char *mapfile = NULL, *rejfile = NULL, *sumfile = NULL, *valfile = NULL, *linksfile = NULL;
	const char *idmaps[16];
	int nidmaps = 0, ch, rc = 0;
	long batch = 0, conc = 1;
	int conc_given = 0;
	struct ndjson_reader r;
	struct { char *text; size_t len; long line; char *csv; size_t csvlen; } carry = { NULL, 0, 0, NULL, 0 };
	struct input in;
	int csv = 0;
	int have_carry = 0;
	json_t *fields = NULL;

	memset(&p, 0, sizeof(p));
	memset(&in, 0, sizeof(in));
	in.json = in.row = (struct buf)BUF_INIT;
	p.c = c;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", push_options, NULL)) != -1) {
		switch (ch) {
		case 'M':
			if (!strcmp(optarg, "upsert")) p.mode = M_UPSERT;
			else if (!strcmp(optarg, "create")) p.mode = M_CREATE;
			else if (!strcmp(optarg, "update")) p.mode = M_UPDATE;
			else if (!strcmp(optarg, "delete")) p.mode = M_DELETE;
			else { msg(c, "--mode takes upsert, create, update or delete, not '%s'", optarg); return 64; }
			break;
		case 'm': p.match_key = optarg; break;
		case 'C':
			if (!strcmp(optarg, "overwrite")) p.conflict = C_OVERWRITE;
			else if (!strcmp(optarg, "fill")) p.conflict = C_FILL;
			else if (!strcmp(optarg, "newer")) p.conflict = C_NEWER;
			else { msg(c, "--conflict takes overwrite, fill or newer, not '%s'", optarg); return 64; }
			break;
		case 'a': mapfile = optarg; break;
		case 'i':
			if (nidmaps == 16) { msg(c, "at most 16 --id-map files"); return 64; }
			idmaps[nidmaps++] = optarg;
			break;
		case 'n': p.dry_run = 1; break;
		case 'r': rejfile = optarg; break;
		case 'b': if (parse_long("--batch-size", optarg, 1, 10000, &batch, &err) < 0) return fail_with(c, &err); break;
		case 'j': if (parse_long("--concurrency", optarg, 1, 64, &conc, &err) < 0) return fail_with(c, &err); conc_given = 1; break;
		case 'u': sumfile = optarg; break;
		case 'V': valfile = optarg; break;
		case 'B': c->bulk = 1; break;
		case 'F':
			if (!strcmp(optarg, "csv")) csv = 1;
			else if (strcmp(optarg, "ndjson")) { msg(c, "--format takes ndjson or csv, not '%s'", optarg); return 64; }
			break;
		case 'Z': p.clear_nulls = 1; break;
		case 'L': linksfile = optarg; break;
		case 'P': p.propagate = 1; break;
		case 'R': p.recreate = 1; break;
		case 'h': fputs(push_usage, stdout); return 0;
		default: return bad_option(c, argc, argv);
		}
	}
	if (optind + 1 != argc) {
		msg(c, optind >= argc ? "missing OBJECT" : "too many arguments");
		fputs(push_usage, stderr);
		return 64;
	}
	if (ctx_object(c, argv[optind], p.mode == M_DELETE ? OC_DELETE : OC_PUSH, &p.o, &err) < 0)
		return fail_with(c, &err);
	p.po = c->prov->obj[p.o];
	if ((p.propagate || p.recreate) && !linksfile) {
		msg(c, "%s needs --links FILE", p.propagate ? "--propagate-deletes" : "--recreate");
		return 64;
	}
	if (p.propagate && !(p.po->caps & OC_DELETE)) {
		msg(c, "--propagate-deletes: %s cannot delete %s", c->prov->name, obj_plural(p.o));
		return 64;
	}
	p.batch = batch > 0 && (size_t)batch < c->prov->batch_max ? (size_t)batch : c->prov->batch_max;
	if (!p.match_key) {
		/* The defaults, the same in every CRM (DESIGN): the key, then for
		 * records without a value for it the fallback, looked up apart. */
		p.match_key = p.po->match_key;
		p.fb_key = p.po->match_fallback;
	}
	p.idmap = json_object();
	for (int i = 0; i < nidmaps; i++)
		if (load_idmap(&p, idmaps[i], &err) < 0) {
			rc = fail_with(c, &err);
			goto done;
		}
	if (mapfile && map_file_load(mapfile, &p.user_map, &err) < 0) {
		rc = fail_with(c, &err);
		goto done;
	}
	if (valfile && values_file_load(valfile, &p.values, &err) < 0) {
		rc = fail_with(c, &err);
		goto done;
	}
	/* The CSV header, before any request: its columns are checked first. */
	if (csv && (!(p.csv = in.csv = malloc(sizeof(*in.csv))) || csvr_init(in.csv, fileno(stdin)) < 0 ||
		    csvr_header(in.csv, &err) < 0 || csvio_push_columns(p.o, in.csv, p.user_map, &in.cols, &err) < 0)) {
		if (!err.status)
			err_set(&err, CRM_EFAIL, "out_of_memory", "out of memory");
		rc = fail_with(c, &err);
		goto done;
	}
	/* Before any request: a history that cannot take the run's line is
	 * refused now, not after every record is written. */
	if (sumfile && summary_check(sumfile, &err) < 0) {
		rc = fail_with(c, &err);
		goto done;
	}
	summary_init(&p.sum, "push", obj_plural(p.o), 1);
	snprintf(p.sum.run_id, sizeof(p.sum.run_id), "%s", c->run_id);
	/* The store, before any request (a dry run only reads it). */
	if (linksfile && links_open(&p.links, linksfile, p.dry_run, &err) < 0) {
		rc = fail_with(c, &err);
		goto done;
	}
	p.sum.provider = c->prov->name;
	p.sum.profile = c->profile;
	if ((rc = ctx_connect(c, &err)) < 0 || !(p.ns = c->prov->namespace(c->conn, &err)) ||
	    (rc = map_file_check(c, p.o, p.user_map, &err)) < 0 ||
	    (rc = c->prov->fields(c->conn, p.o, &fields, &err)) < 0) {
		rc = fail_with(c, &err);
		goto done;
	}
	/* Option fields: labels to codes (lib/options), from the same fields. */
	if (!c->opts[p.o])
		c->opts[p.o] = options_new(p.po->map, fields);
	/* Which provider fields can be written, and what --match names. */
	{
		json_t *f;
		size_t i;
		p.writable = json_object();
		p.keep = json_object();
		json_array_foreach(fields, i, f) {
			if (jx_str(f, "name") && !json_is_true(json_object_get(f, "read_only")))
				json_object_set_new(p.writable, jx_str(f, "name"), json_true());
			/* "clearable": false marks what the CRM takes but never empty
			 * (Salesforce's OwnerId is not "required": it defaults on create). */
			if (jx_str(f, "name") && (json_is_true(json_object_get(f, "required")) ||
						  json_is_false(json_object_get(f, "clearable"))))
				json_object_set_new(p.keep, jx_str(f, "name"), json_true());
		}
	}
	if (p.match_key) {
		p.match_remote = match_field(&p, p.match_key, fields, &p.match_email);
		if (!p.match_remote && p.fb_key) {
			/* A CRM with no field for the default key (Pipedrive and Zoho
			 * keep no account domain): every record matches by the fallback. */
			p.match_key = p.fb_key;
			p.fb_key = NULL;
			p.match_remote = match_field(&p, p.match_key, fields, &p.match_email);
		}
		if (!p.match_remote) {
			msg(c, "--match: %s %s have no field '%s' to match on", c->prov->name, obj_plural(p.o), p.match_key);
			rc = 64;
			goto done;
		}
	}
	if (p.fb_key) {
		int email;
		p.fb_remote = match_field(&p, p.fb_key, fields, &email);
		if (!p.fb_remote || email)
			p.fb_key = p.fb_remote = NULL;
	}
	/* Upsert in one call when the CRM can (and nothing needs the CRM's copy
	 * first): such records report created or updated, never unchanged. */
	p.fast_upsert = (p.po->caps & OC_UPSERT) && p.mode == M_UPSERT && p.conflict == C_OVERWRITE &&
			p.match_key && p.po->match_key && !strcmp(p.match_key, p.po->match_key);
	/* A dry-run sends nothing, so it looks the records up to tell
	 * created from updated, and predicts what the upsert reports. */
	p.dry_upsert = p.fast_upsert && p.dry_run;
	p.fast_upsert &= !p.dry_run;
	/* ...but only for plain imports: records pulled from a CRM (they name their
	 * provider) are compared first, so two-way sync pipes do not echo. */
	if (rejfile) {
		int fd = open(rejfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			err_set(&err, CRM_EOUTPUT, "output_error", "cannot open --rejects file %s", rejfile);
			rc = fail_with(c, &err);
			goto done;
		}
		ndjson_writer_init(&p.rejects, fd, "the --rejects file");
		p.have_rejects = 1;
	}
	if (conc_given == 0)
		conc = c->prov->concurrency > 0 ? c->prov->concurrency : 1;

	ndjson_reader_init(&r, stdin);
	in.r = &r;
	{
		struct pool pl;
		struct worker_arg *wa;
		long seq = 0, emit_seq = 0;
		int eof = 0, loop_rc = 0;
		struct keyset inflight = { NULL, 0, 0, NULL }; /* match key -> seq of its batch */

		memset(&pl, 0, sizeof(pl));
		pl.p = &p;
		/* One batch per worker, one being filled, one finished early: out of
		 * order results wait at most that long. */
		pl.nslots = (size_t)conc + 2;
		pl.slots = calloc(pl.nslots, sizeof(*pl.slots));
		for (size_t i = 0; i < pl.nslots; i++) {
			pl.slots[i].items = calloc(p.batch, sizeof(struct pitem));
			jv_init(&pl.slots[i].doc);
		}
		pl.nfib = conc;
		pl.limit = conc;
		pl.window = pl.nslots;
		pl.adaptive = !conc_given;
		pl.fib = calloc((size_t)conc, sizeof(*pl.fib));
		pl.idle = calloc((size_t)conc, sizeof(*pl.idle));
		wa = calloc((size_t)conc, sizeof(*wa));
		/* glibc gives each thread its own malloc arena (curl's resolver
		 * runs in threads); one keeps the heap, and the peak RSS, small. */
		mallopt(M_ARENA_MAX, 1);
		/* Free memory at the heap's top is kept up to 1 MB, not 128 kB:
		 * a batch's buffers come and go, and each page given back is
		 * faulted in again by the next (100k records: 2,450 page faults
		 * against 1,450; peak RSS unchanged).  Setting it stops glibc's
		 * sliding mmap threshold, so that is set too: a block under 1 MB
		 * comes from the heap, not from a fresh mapping each time. */
		mallopt(M_TRIM_THRESHOLD, 1 << 20);
		mallopt(M_MMAP_THRESHOLD, 1 << 20);
		struct feed feed = { &pl, &emit_seq, &loop_rc };
		r.wait = input_wait;
		r.wait_ctx = &feed;
		if (in.csv) {
			in.csv->wait = input_wait;
			in.csv->wait_ctx = &feed;
		}
		c->out.wait = p.rejects.wait = output_wait;
		c->out.wait_ctx = p.rejects.wait_ctx = &pl;
		for (long i = 0; i < conc; i++) {
			wa[i].pl = &pl;
			wa[i].i = i;
			/* A CRM's answer is parsed on this stack: room for the deepest
			 * nesting the parser takes; only the pages touched are resident. */
			pl.fib[i] = fiber_new(worker, &wa[i], 8u << 20);
			if (!pl.fib[i]) {
				err_set(&err, CRM_EFAIL, "no_memory", "cannot start the batches");
				set_fatal(&p, &err);
			}
		}

		pool_adapt(&pl);
		while (!eof || have_carry) {
			struct slot *sl = NULL;
			int must_drain = 0;

			if (has_fatal(&p) || sig_stop || loop_rc)
				break;
			/* A free slot (writing out what is finished meanwhile). */
			while (drain(&pl, &emit_seq, 0, &loop_rc) >= (int)pl.window)
				;
			for (size_t i = 0; i < pl.nslots && !sl; i++)
				if (pl.slots[i].state == S_FREE)
					sl = &pl.slots[i];
			if (!sl)
				continue;
			sl->n = 0;
			jv_reset(&sl->doc);
			if (p.links)
				p.pre_mode = PRE_COLLECT;
			if (have_carry) {
				/* The line that waited is read again into this batch. */
				struct pitem *it = &sl->items[sl->n++];
				item_init(it);
				it->pre_index = (int)sl->n - 1;
				struct line_in li = { carry.text, carry.len, carry.line, 0, NULL, carry.csv, carry.csvlen };
				prepare(&p, it, &sl->doc, &li);
				if (it->match)
					ks_put(&inflight, it->match, seq, emit_seq);
				free(carry.text);
				free(carry.csv);
				carry.text = carry.csv = NULL;
				have_carry = 0;
			}
			while (sl->n < p.batch && !sig_stop && !eof) {
				struct pitem *it = &sl->items[sl->n];
				struct jv_mark mk = jv_mark(&sl->doc);
				size_t npre = p.npre;
				item_init(it);
				it->pre_index = (int)sl->n;
				rc = input_next(&in, &err);
				if (rc <= 0) {
					if (rc < 0)
						set_fatal(&p, &err);
					eof = 1;
					break;
				}
				p.sum.records++;
				prepare(&p, it, &sl->doc, &in.cur);
				/* Two new records with one match key: the second waits until the
				 * first is written, so it finds it instead of creating a twin.
				 * (This batch's keys have its seq, which is >= emit_seq.) */
				if (it->status == PENDING && it->match && (it->action == A_FIND || it->action == A_CREATE)) {
					if (ks_get(&inflight, it->match, emit_seq) >= 0) {
						/* It waits as text: its values go with this batch's. */
						carry.text = malloc(in.cur.len + 1);
						memcpy(carry.text, in.cur.text, in.cur.len + 1);
						carry.len = in.cur.len;
						carry.line = in.cur.lineno;
						carry.csv = in.cur.csv ? strdup(in.cur.csv) : NULL;
						carry.csvlen = carry.csv ? in.cur.csvlen : 0;
						item_release(it);
						jv_rewind(&sl->doc, &mk);
						p.npre = npre; /* its lookups' strings are gone */
						have_carry = 1;
						must_drain = 1;
						break;
					}
					ks_put(&inflight, it->match, seq, emit_seq);
				}
				sl->n++;
			}
			if (sl->n && seq % 1024 == 1023) {
				/* The heap's free holes (batches of varying sizes) are given
				 * back now and then: otherwise its resident size creeps up
				 * with the length of the input.  Rarely: every page given
				 * back is faulted in again, and a fault costs more than the
				 * batch's records (200k records: 0.36 MB more RSS untrimmed;
				 * trimmed every 64 batches, 30% more page faults). */
				malloc_trim(0);
			}
			pre_batch(&p, sl->items, sl->n);
			if (sl->n) {
				sl->seq = seq++;
				sl->state = S_QUEUED;
				pool_kick(&pl);
				/* Its request goes out now, not when the next batch is read. */
				fiber_step(0);
			}
			if (must_drain)
				drain(&pl, &emit_seq, 1, &loop_rc);
		}
		drain(&pl, &emit_seq, 1, &loop_rc);
		pl.stop = 1;
		for (;;) {
			int running = 0;
			for (long i = 0; i < conc; i++)
				if (pl.fib[i] && !fiber_done(pl.fib[i])) {
					fiber_wake(pl.fib[i]);
					running = 1;
				}
			if (!running)
				break;
			fiber_step(100);
		}
		for (long i = 0; i < conc; i++)
			fiber_free(pl.fib[i]);
		r.wait = c->out.wait = p.rejects.wait = NULL; /* pl is gone after this block */
		if (in.csv)
			in.csv->wait = NULL;
		/* Batches never run (stopped early) still own their lines. */
		for (size_t i = 0; i < pl.nslots; i++) {
			for (size_t j = 0; j < pl.slots[i].n; j++)
				item_release(&pl.slots[i].items[j]);
			free(pl.slots[i].items);
			jv_release(&pl.slots[i].doc);
		}
		free(pl.slots);
		free(pl.fib);
		free(pl.idle);
		free(wa);
		free(inflight.e);
		free(inflight.spare);
		rc = 0;
	}
	free(carry.text);
	free(carry.csv);
	ndjson_reader_release(&r);
	if (c->progress)
		fputs("\r\033[K", stderr);
	if (!p.fatal.status && !sig_stop)
		ctx_finish_stdout(c, &p.fatal);
	if (!c->quiet) {
		summary_print(c, &p.sum);
	}
	if (sumfile) {
		struct crm_err e2 = CRM_ERR_INIT;
		if (summary_write_json(&p.sum, http_stats(c->http), sumfile, &e2) < 0 && !p.fatal.status)
			p.fatal = e2;
	}
	if (p.have_rejects) {
		struct crm_err e2 = CRM_ERR_INIT;
		if (ndjson_flush(&p.rejects, &e2) < 0 && !p.fatal.status)
			p.fatal = e2;
		if (close(p.rejects.fd) < 0 && !p.fatal.status)
			err_set(&p.fatal, CRM_EOUTPUT, "output_error", "cannot write the --rejects file %s", rejfile);
	}
	if (sig_stop)
		rc = 128 + sig_stop;
	else if (p.fatal.status)
		rc = fail_with(c, &p.fatal);
	else
		rc = p.sum.counts[SUM_FAILED] ? 1 : 0;
done:
	if (p.have_rejects)
		ndjson_writer_release(&p.rejects);
	if (in.csv) {
		csvr_release(in.csv);
		free(in.csv);
	}
	csv_cols_release(&in.cols);
	buf_release(&in.json);
	buf_release(&in.row);
	json_decref(p.user_map);
	json_decref(p.values);
	json_decref(p.idmap);
	json_decref(p.writable);
	json_decref(p.keep);
	json_decref(fields);
	if (p.links && c->verbose)
		msg(c, "links store: %ld lookup queries", links_queries(p.links));
	links_close(p.links);
	free(p.busy);
	free(p.pre_keys);
	free(p.pre_item);
	free(p.pre_hits);
	free(p.pre_order);
	return rc;
}
