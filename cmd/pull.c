/* crmsync pull OBJECT: stream records from the CRM to stdout, one page in
 * memory at a time; with --state, advance the cursor only after the last
 * record is flushed. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "common.h"
#include "config.h"
#include "csvio.h"
#include "envelope.h"
#include "http.h"
#include "jv.h"
#include "jx.h"
#include "linked.h"
#include "provider.h"
#include "sig.h"
#include "singer.h"
#include "state.h"
#include "summary.h"
#include "timeutil.h"
#include "options.h"
#include "where.h"
#include "banned.h"

static const char pull_usage[] =
	"usage: crmsync pull OBJECT [--since TIME] [--state FILE] [--where EXPR]... [--deleted] [--raw]\n"
	"                           [--map FILE]\n"
	"                           [--limit N] [--bulk] [--format ndjson|csv|singer] [--columns LIST]\n"
	"                           [--summary FILE]\n\n"
	"Streams every record of OBJECT (accounts, contacts, users, leads, deals) as NDJSON.\n\n"
	"  --since TIME     only records updated at or after TIME (RFC 3339)\n"
	"  --state FILE     incremental sync: read the cursor for provider/profile/object from FILE,\n"
	"                   pull what changed since (with a short look-back), and write the new cursor\n"
	"                   only after the last record is flushed; a failed run leaves FILE as it was\n"
	"  --where EXPR     only records where EXPR holds (repeatable: all must hold), sent to the\n"
	"                   CRM as its own filter: FIELD OP VALUE with OP one of = != < <= > >= ~\n"
	"                   (contains), or FIELD? (has a value); FIELD a unified key or a provider\n"
	"                   field.  With --state the cursor is kept per filter\n"
	"  --deleted        also emit records the CRM reports deleted/archived (remote_deleted: true);\n"
	"                   what each CRM can report is said below when -p is given\n"
	"  --raw            add the provider's payload as remote_raw\n"
	"  --map FILE       JSON {\"out_key\": \"provider_field\"}: put provider fields at the top level\n"
	"  --limit N        stop after N records\n"
	"  --bulk           use the CRM's bulk API whatever the size (Salesforce; others ignore it)\n"
	"  --format FMT     ndjson (default), singer (SCHEMA, RECORD and STATE messages) or csv:\n"
	"                   a header row, then a row per record (RFC 4180, UTF-8, CRLF): the unified\n"
	"                   keys with the primary email, first phone and first address flattened\n"
	"                   (email, phone, street_1, city, ...), remote_id and the other metadata,\n"
	"                   then remote_fields.NAME; further emails, numbers and addresses are not\n"
	"                   in CSV\n"
	"  --columns LIST   csv: the columns, comma-separated, in this order\n"
	"  --summary FILE   append the run summary to FILE as one JSON line (the run history)\n";

struct pull_cursor {
	long long ms;
	char id[128];
};

static void track(struct pull_cursor *cur, const struct jv_doc *d, jv_t env)
{
	const char *u = jv_str(d, env, "updated_at"), *id = jv_str(d, env, "id");
	long long ms;

	/* Deleted records come from a separate, unordered scan: they do not move
	 * the cursor (LESSONS 1: the cursor follows records actually written in
	 * order). */
	if (jv_is_true(d, jv_get(d, env, "deleted")) || !u || time_parse(u, &ms) < 0)
		return;
	if (ms > cur->ms || (ms == cur->ms && id && env_id_cmp(id, cur->id) > 0)) {
		cur->ms = ms;
		snprintf(cur->id, sizeof(cur->id), "%s", id ? id : "");
	}
}

/* ---- pages, fetched one ahead ----
 *
 * A second thread asks for the next page while this one maps and writes
 * the current one: a pull costs the longer of the two instead of their
 * sum.  Where the provider can (pull_fetch), that thread only fetches the
 * text and moves the cursor, and this one reads it (pull_read): the next
 * request goes out before the page is parsed.  Pages are taken in order
 * from two slots; stdout and the cursor stay on this thread. */

struct page {
	struct jv_doc d;
	json_t *json;              /* the slow path's page, while its values are borrowed */
	jv_t arr;                  /* envelopes, JV_NONE at the end */
	struct buf text;           /* split: the page as fetched, not read yet */
	int tag;
	int rc;
	struct crm_err err;
	long long total;           /* the provider's pull_total after this page, -1 unknown */
	int full;
};

/* Pages fetched ahead at most, plus the one being read.  With two, the
 * fetching thread also waited for pages given back, as well as the reader
 * for pages fetched; with four, only the slower side waits (a pull of
 * 2,072 pages: 7,058 futex calls against 8,441). */
#define PAGER_SLOTS 4

struct pager {
	struct ctx *c;
	struct pull *p;
	int fast;                  /* provider's pull_next_jv serves this pull */
	int split;                 /* ...in two steps: pull_fetch there, pull_read here */
	int asked;
	struct page slot[PAGER_SLOTS];
	int next_fill, next_take;
	int stop, done;            /* stop: the reader is gone; done: the end or an error was fetched */
	int threaded;
	int ended;                 /* a part read to its end (struct reader) */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/* A path that answered 1 ("not this pull"): on the first page the next
 * path takes over (*on = 0); on a later one it is an error. */
static void declined(struct pager *g, struct page *pg, int *on)
{
	if (pg->rc != 1)
		return;
	if (!g->asked)
		*on = 0;
	else
		pg->rc = err_set(&pg->err, CRM_EUNAVAIL, "internal", "%s: the fast path refused a page",
				 g->c->prov->name);
}

/* Read on the fetching thread, right after the page, and handed over with
 * it: the provider's state is never read from the writing thread. */
static void page_total(struct pager *g, struct page *pg)
{
	const struct provider *pv = g->c->prov;

	pg->total = pv->pull_total && pg->rc >= 0 ? pv->pull_total(g->p) : -1;
}

static void fetch(struct pager *g, struct page *pg)
{
	const struct provider *pv = g->c->prov;

	jv_reset(&pg->d);
	json_decref(pg->json);
	pg->json = NULL;
	pg->arr = JV_NONE;
	pg->err = (struct crm_err)CRM_ERR_INIT;
	pg->rc = 1;
	buf_reset(&pg->text);
	if (g->split) {
		pg->rc = pv->pull_fetch(g->p, &pg->text, &pg->tag, &pg->err);
		declined(g, pg, &g->split);
		if (g->split) {
			if (pg->rc == 0 && pg->text.len)
				pg->arr = JV_TRUE; /* a page to read (pager_read) */
			g->asked = 1;
			page_total(g, pg);
			return;
		}
	}
	if (g->fast) {
		pg->rc = pv->pull_next_jv(g->p, &pg->d, &pg->arr, &pg->err);
		declined(g, pg, &g->fast);
	}
	g->asked = 1;
	if (!g->fast) {
		pg->rc = pv->pull_next(g->p, &pg->json, &pg->err);
		if (pg->rc == 0 && pg->json)
			pg->arr = jv_from_json(&pg->d, pg->json);
	}
	if (pg->rc == 0 && pg->d.failed)
		pg->rc = err_set(&pg->err, CRM_EOUTPUT, "out_of_memory", "out of memory");
	page_total(g, pg);
}

/* A fetched text read into envelopes, on the thread that takes it. */
static void pager_read(struct pager *g, struct page *pg)
{
	size_t n;
	char *t;

	if (!g->split || pg->rc < 0 || !pg->arr)
		return;
	pg->arr = JV_NONE;
	if (!(t = buf_detach(&pg->text, &n)) || jv_adopt(&pg->d, t) < 0) {
		pg->rc = err_set(&pg->err, CRM_EOUTPUT, "out_of_memory", "out of memory");
		return;
	}
	pg->rc = g->c->prov->pull_read(g->p, &pg->d, t, n, pg->tag, &pg->arr, &pg->err);
	if (pg->rc == 0 && pg->d.failed)
		pg->rc = err_set(&pg->err, CRM_EOUTPUT, "out_of_memory", "out of memory");
	if (pg->rc == 0 && !pg->arr)
		pg->arr = jv_arr(&pg->d);
}

static void *pager_main(void *arg)
{
	struct pager *g = arg;

	pthread_mutex_lock(&g->mu);
	while (!g->stop && !g->done) {
		struct page *pg = &g->slot[g->next_fill];
		if (pg->full) {
			pthread_cond_wait(&g->cv, &g->mu);
			continue;
		}
		pthread_mutex_unlock(&g->mu);
		fetch(g, pg);
		pthread_mutex_lock(&g->mu);
		pg->full = 1;
		if (pg->rc < 0 || !pg->arr)
			g->done = 1;
		g->next_fill = (g->next_fill + 1) % PAGER_SLOTS;
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

static void pager_init(struct pager *g, struct ctx *c, struct pull *p, int ahead)
{
	memset(g, 0, sizeof(*g));
	g->c = c;
	g->p = p;
	g->fast = c->prov->pull_next_jv != NULL && !getenv("CRMSYNC_SLOW_PULL");
	g->split = g->fast && c->prov->pull_fetch && c->prov->pull_read;
	for (int i = 0; i < PAGER_SLOTS; i++) {
		jv_init(&g->slot[i].d);
		buf_init(&g->slot[i].text, 0);
	}
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->threaded = ahead && pthread_create(&g->th, NULL, pager_main, g) == 0;
}

/* Reads ahead from now on: a pager that served its first page itself
 * (given back) starts its thread. */
static void pager_start(struct pager *g)
{
	g->threaded = pthread_create(&g->th, NULL, pager_main, g) == 0;
}

/* The next page, full; NULL after the end was taken. */
static struct page *pager_take(struct pager *g)
{
	struct page *pg = &g->slot[g->next_take];

	if (!g->threaded) {
		if (g->done)
			return NULL;
		fetch(g, pg);
		g->done = pg->rc < 0 || !pg->arr;
		pager_read(g, pg);
		return pg;
	}
	pthread_mutex_lock(&g->mu);
	while (!pg->full)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	pager_read(g, pg);
	return pg;
}

static void pager_give_back(struct pager *g, struct page *pg)
{
	json_decref(pg->json);
	pg->json = NULL;
	if (!g->threaded)
		return;
	pthread_mutex_lock(&g->mu);
	pg->full = 0;
	g->next_take = (g->next_take + 1) % PAGER_SLOTS;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void pager_end(struct pager *g)
{
	if (g->threaded) {
		pthread_mutex_lock(&g->mu);
		g->stop = 1;
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->th, NULL);
	}
	for (int i = 0; i < PAGER_SLOTS; i++) {
		json_decref(g->slot[i].json);
		jv_release(&g->slot[i].d);
		buf_release(&g->slot[i].text);
	}
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
}

/* ---- parts read side by side ----
 *
 * One pull reads a page per round trip: at 200 ms of latency that is five
 * pages a second, whatever the CRM allows.  Where the provider can split
 * what is left of a pull into parts (pull_parts, asked after the first
 * page, so that a pull of one page costs no more calls than before), each
 * part gets a pager of its own, fetching ahead on its own thread; every
 * request goes through the one lib/http, so pacing and rate limits count
 * them all.  Pages are taken from the parts in turn, a page from each:
 * the order is deterministic (for striped parts it is the order of the
 * listing itself), and memory stays at PAGER_SLOTS pages a part.
 *
 * --state holds with pages of several parts in flight because the cursor
 * is written once, after the last part has reached its end and every
 * record is flushed; a page that fails, in any part, fails the run before
 * that, and the state file is left as it was.  --limit cuts a run at a
 * record that is not the end of an ordered scan, so with a limit there are
 * no parts (and no read-ahead): the cursor is then the last record of one
 * ascending scan, as before. */

/* Parts at most, and by default (CRMSYNC_PULL_PARTS overrides: 1 reads
 * alone).  Four in flight at 200 ms is 20 pages a second, past every
 * CRM's paced rate but Salesforce's and SugarCRM's, which have no
 * per-second limit (§16: SugarCRM's PHP workers are best kept at 2-4
 * requests in flight). */
#define PULL_PARTS_MAX 8
#define PULL_PARTS_DEFAULT 4

struct reader {
	struct ctx *c;
	struct pull *p;            /* the pull as opened: its first page, or all of it */
	int ahead;                 /* read ahead (no --limit) */
	int decided;               /* the first page was taken, the split asked */
	struct pager main;         /* p's pager; alone when there are no parts */
	struct pager *part;        /* n pagers, one per part */
	struct pull **pulls;
	unsigned n, at, live;
	int striped;
	long long total;           /* p's total when the parts were opened */
	struct pager *from;        /* where the page being written came from */
};

static unsigned parts_wanted(void)
{
	const char *e = getenv("CRMSYNC_PULL_PARTS");
	long n = e && *e ? strtol(e, NULL, 10) : PULL_PARTS_DEFAULT;

	return n < 1 ? 1 : n > PULL_PARTS_MAX ? PULL_PARTS_MAX : (unsigned)n;
}

static void reader_init(struct reader *r, struct ctx *c, struct pull *p, int ahead)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->p = p;
	r->ahead = ahead;
	pager_init(&r->main, c, p, 0); /* the first page alone: then the split is asked */
}

/* Opens the parts the provider offers (fewer than two: none).  A failure
 * comes back as a failed page of the main pager. */
static struct page *reader_split(struct reader *r)
{
	const struct provider *pv = r->c->prov;
	unsigned want = parts_wanted(), n;
	struct crm_err e = CRM_ERR_INIT;
	int striped = 0, rc = 0;

	if (!r->ahead || want < 2 || !pv->pull_parts || !pv->pull_part ||
	    (n = pv->pull_parts(r->p, want, &striped)) < 2) {
		if (r->ahead)
			pager_start(&r->main);
		return NULL;
	}
	if (n > want)
		n = want;
	r->pulls = calloc(n, sizeof(*r->pulls));
	r->part = calloc(n, sizeof(*r->part));
	if (!r->pulls || !r->part) {
		rc = err_set(&e, CRM_EOUTPUT, "out_of_memory", "out of memory");
	} else {
		for (r->n = 0; r->n < n; r->n++)
			if ((rc = pv->pull_part(r->p, r->n, n, &r->pulls[r->n], &e)) < 0)
				break;
	}
	if (rc < 0) {
		struct page *pg = &r->main.slot[r->main.next_take];
		pg->rc = rc;
		pg->err = e;
		pg->arr = JV_NONE;
		return pg;
	}
	r->striped = striped;
	r->total = pv->pull_total ? pv->pull_total(r->p) : -1;
	for (unsigned i = 0; i < n; i++)
		pager_init(&r->part[i], r->c, r->pulls[i], 1);
	r->live = n;
	if (r->c->verbose)
		msg(r->c, "the rest is read in %u parts side by side (%s)", n,
		    striped ? "every part a page in turn" : "disjoint key ranges");
	return NULL;
}

/* The next page to write: the first page, then a page from each part in
 * turn; NULL after the end was taken. */
static struct page *reader_take(struct reader *r)
{
	struct page *pg;

	r->from = &r->main;
	if (!r->decided && r->main.asked) {
		r->decided = 1;
		if (!r->main.done && (pg = reader_split(r)))
			return pg;
	}
	if (!r->n)
		return pager_take(&r->main);
	while (r->live) {
		struct pager *g = &r->part[r->at];
		r->at = (r->at + 1) % r->n;
		if (g->ended)
			continue; /* taken no more */
		pg = pager_take(g);
		r->from = g;
		if (pg->rc < 0 || pg->arr || r->striped) {
			if (pg->rc >= 0)
				pg->total = r->total;
			return pg;
		}
		/* This range is read to its end; the others go on. */
		pager_give_back(g, pg);
		g->ended = 1;
		r->live--;
	}
	return NULL;
}

static void reader_give_back(struct reader *r, struct page *pg)
{
	pager_give_back(r->from, pg);
}

static void reader_end(struct reader *r)
{
	pager_end(&r->main);
	for (unsigned i = 0; i < r->n; i++) {
		pager_end(&r->part[i]);
		r->c->prov->pull_close(r->pulls[i]);
	}
	free(r->part);
	free(r->pulls);
}

/* --format csv: the options that go with it, and --columns, checked
 * before any request.  0, 64 (told), or < 0 with err set. */
static int pull_csv_check(struct ctx *c, enum obj o, const char *columns, int raw, int singer,
			  const json_t *user_map, int deleted, struct crm_err *err)
{
	if (raw || singer) {
		msg(c, "--format csv does not take %s", raw ? "--raw (remote_raw is not a column)" : "--format singer");
		return 64;
	}
	return csvio_check_columns(o, columns, user_map, deleted, err);
}

/* The columns, from the provider's field metadata (as `fields` prints
 * it), and the header row. */
static int pull_csv_header(struct ctx *c, enum obj o, const char *columns, const json_t *user_map, int deleted,
			   struct csv_cols *cols, struct crm_err *err)
{
	json_t *fields = NULL;
	struct buf b = BUF_INIT;
	int rc;

	if ((rc = c->prov->fields(c->conn, o, &fields, err)) < 0)
		return rc;
	rc = csvio_columns(o, fields, c->prov->obj[o]->map, user_map, deleted, columns, cols, err);
	json_decref(fields);
	if (rc < 0)
		return rc;
	if (csvio_header(&b, cols, ',') < 0)
		rc = err_set(err, CRM_EOUTPUT, "out_of_memory", "out of memory");
	else
		rc = ndjson_write_raw(&c->out, b.buf, b.len, err); /* with the LF: CRLF */
	buf_release(&b);
	return rc < 0 ? rc : 0;
}

static int pull_csv_row(struct ctx *c, const struct csv_cols *cols, struct buf *row, const struct jv_doc *d,
			jv_t rec, struct crm_err *err)
{
	buf_reset(row);
	if (csvio_row(row, cols, d, rec, ',') < 0)
		return err_set(err, CRM_EOUTPUT, "out_of_memory", "out of memory");
	return ndjson_write_raw(&c->out, row->buf, row->len, err);
}

/* pull's options (also read by main, which takes the global options given
 * after the command out of argv first). */
const struct option pull_options[] = {
	{ "since", required_argument, NULL, 's' }, { "state", required_argument, NULL, 'S' },
	{ "deleted", no_argument, NULL, 'd' }, { "raw", no_argument, NULL, 'r' },
	{ "map", required_argument, NULL, 'm' }, { "limit", required_argument, NULL, 'l' },
	{ "format", required_argument, NULL, 'f' }, { "summary", required_argument, NULL, 'u' },
	{ "bulk", no_argument, NULL, 'B' }, { "columns", required_argument, NULL, 'c' },
	{ "where", required_argument, NULL, 'w' },
	{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
};

#define WHERE_MAX 32

/* --where, before any call: each condition resolved to the provider's
 * field and accepted by its CRM's filter.  0, or 64 (told). */
static int where_check(struct ctx *c, enum obj o, struct where *w, size_t n, int deleted)
{
	const struct provider *pv = c->prov;
	struct crm_err err = CRM_ERR_INIT;

	if (!pv->where_can) {
		msg(c, "--where: %s cannot filter on the server", pv->name);
		return 64;
	}
	if (deleted) {
		/* The CRMs' filters see live records only (HubSpot's search, Copper's,
		 * Pipedrive's saved filters): a filtered --deleted would be half of it. */
		msg(c, "--where does not go with --deleted");
		return 64;
	}
	if (pv->where_max && n > pv->where_max) {
		msg(c, "--where: %s filters on at most %zu conditions at once, %zu given", pv->name, pv->where_max, n);
		return 64;
	}
	for (size_t i = 0; i < n; i++) {
		const char *can = NULL;
		if (where_resolve(&w[i], pv->obj[o]->map, &err) < 0)
			return fail_with(c, &err);
		if (!pv->where_can(o, &w[i], &can)) {
			msg(c, "--where: %s cannot filter %s on %s with '%s'; it can filter %s", pv->name, obj_plural(o),
			    w[i].given, where_op_text(w[i].op), can ? can : "nothing");
			return 64;
		}
	}
	return 0;
}

/* --where, once connected and before the pull: every provider field is
 * one of the CRM's, and an option's label becomes its code (CRMs filter
 * on codes).  0, or < 0 with err set. */
static int where_fields(struct ctx *c, enum obj o, struct where *w, size_t n, struct crm_err *err)
{
	json_t *fields = NULL, *f;
	size_t i, j;
	int rc;

	if (!n)
		return 0;
	if ((rc = c->prov->fields(c->conn, o, &fields, err)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		const char *code;
		int known = w[i].e != NULL;
		json_array_foreach(fields, j, f)
			if (!known && json_is_string(json_object_get(f, "name")) &&
			    !strcmp(json_string_value(json_object_get(f, "name")), w[i].field))
				known = 1;
		if (!known) {
			json_decref(fields);
			return err_set(err, CRM_EUSAGE, "usage", "--where: %s is neither a unified key of %s nor a field "
				       "of %s (see crmsync fields %s)", w[i].given, obj_plural(o), c->prov->name, obj_plural(o));
		}
		if (!w[i].value || !c->opts[o])
			continue;
		if ((code = options_code(c->opts[o], w[i].field, w[i].value))) {
			where_set_value(&w[i], code);
		} else if (w[i].e && (w[i].e->flags & (MF_OPTION | MF_STAGE | MF_PIPELINE)) &&
			   (w[i].op == W_EQ || w[i].op == W_NE)) {
			json_decref(fields);
			return err_set(err, CRM_EUSAGE, "usage", "--where: '%s' is none of the options of %s in %s",
				       w[i].value, w[i].given, c->prov->name);
		}
	}
	json_decref(fields);
	return 0;
}

static int pull_main(struct ctx *c, int argc, char **argv, struct where *wh)
{
	const char *since = NULL, *state = NULL, *mapfile = NULL, *sumfile = NULL;
	int deleted = 0, raw = 0, singer = 0, csv = 0, ch, rc = 0;
	const char *columns = NULL;
	struct csv_cols cols = { NULL, 0 };
	struct buf row = BUF_INIT;
	long limit = -1;
	struct crm_err err = CRM_ERR_INIT;
	struct state_cursor sc;
	struct pull_cursor cur = { -1, "" };
	struct pull_opts po;
	struct pull *p = NULL;
	struct summary sum;
	json_t *user_map = NULL, *extra = NULL, *stypes = NULL, *sprev = NULL;
	struct reader pg;
	int paging = 0;
	enum obj o;
	struct buf key = BUF_INIT;
	const char *ns;
	size_t nwh = 0;

	memset(&sc, 0, sizeof(sc));
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", pull_options, NULL)) != -1) {
		switch (ch) {
		case 's': since = optarg; break;
		case 'S': state = optarg; break;
		case 'd': deleted = 1; break;
		case 'r': raw = 1; break;
		case 'm': mapfile = optarg; break;
		case 'l':
			if (parse_long("--limit", optarg, 0, 1L << 62, &limit, &err) < 0)
				return fail_with(c, &err);
			break;
		case 'f':
			if (!strcmp(optarg, "singer"))
				singer = 1;
			else if (!strcmp(optarg, "csv"))
				csv = 1;
			else if (strcmp(optarg, "ndjson")) {
				msg(c, "--format takes ndjson, csv or singer, not '%s'", optarg);
				return 64;
			}
			break;
		case 'u': sumfile = optarg; break;
		case 'B': c->bulk = 1; break;
		case 'c': columns = optarg; break;
		case 'w':
			if (nwh == WHERE_MAX) {
				msg(c, "--where: at most %d conditions", WHERE_MAX);
				rc = 64;
				goto done;
			}
			if (where_parse(optarg, &wh[nwh], &err) < 0) {
				rc = fail_with(c, &err);
				goto done;
			}
			nwh++;
			break;
		case 'h':
			fputs(pull_usage, stdout);
			if (c->prov && c->prov->deleted_note)
				printf("\n%s and --deleted: %s.\n", c->prov->name, c->prov->deleted_note);
			return 0;
		default: return bad_option(c, argc, argv);
		}
	}
	if (optind + 1 != argc) {
		msg(c, optind >= argc ? "missing OBJECT" : "too many arguments");
		fputs(pull_usage, stderr);
		rc = 64;
		goto done;
	}
	if (ctx_object(c, argv[optind], OC_PULL | (deleted ? OC_DELETED : 0), &o, &err) < 0) {
		rc = fail_with(c, &err);
		goto done;
	}
	if (nwh && ((rc = where_check(c, o, wh, nwh, deleted)) != 0 ||
		    (singer && state && (msg(c, "--where with --state does not go with --format singer: a Singer "
					    "state keeps one bookmark per stream, not one per filter"), rc = 64))))
		goto done;
	memset(&po, 0, sizeof(po));
	po.obj = o;
	po.since_ms = -1;
	po.deleted = deleted;
	po.want_total = c->progress;
	po.where = wh;
	po.nwhere = nwh;
	/* A filtered pull reads in (updated_at, id) order, as --since does:
	 * that is the path where the CRMs take a filter (HubSpot's search). */
	if (nwh)
		po.ordered = 1;
	if (since) {
		if (time_parse(since, &po.since_ms) < 0) {
			msg(c, "--since takes an RFC 3339 time such as 2026-11-22T10:00:00Z, not '%s'", since);
			return 64;
		}
		po.ordered = 1;
	}
	if (mapfile && map_file_load(mapfile, &user_map, &err) < 0)
		return fail_with(c, &err);
	if (columns && !csv) {
		msg(c, "--columns goes with --format csv");
		json_decref(user_map);
		return 64;
	}
	if (csv && (rc = pull_csv_check(c, o, columns, raw, singer, user_map, deleted, &err)) != 0) {
		json_decref(user_map);
		return rc < 0 ? fail_with(c, &err) : rc;
	}
	summary_init(&sum, "pull", obj_plural(o), 0);
	snprintf(sum.run_id, sizeof(sum.run_id), "%s", c->run_id);
	sum.provider = c->prov->name;
	sum.profile = c->profile;
	/* Before any request, like the state below. */
	if (sumfile && (rc = summary_check(sumfile, &err)) < 0)
		goto fail;
	if (state) {
		buf_addf(&key, "%s/%s/%s", c->prov->name, c->profile ? c->profile : "default", obj_plural(o));
		/* One entry per filter: a filtered pull's cursor says nothing of the
		 * records the filter left out. */
		if (nwh) {
			buf_addf(&key, " where ");
			where_key(wh, nwh, &key);
		}
		/* Before any request: a state that cannot be written is refused
		 * now, not after every record has gone to stdout. */
		if ((rc = state_prepare(state, key.buf, obj_plural(o), &sc, singer ? &sprev : NULL, &err)) < 0)
			goto fail;
		po.ordered = 1;
		if (sc.time[0]) {
			long long ms;
			long lookback = c->prov->lookback_s;
			const char *lb = getenv("CRMSYNC_LOOKBACK_S");
			if (!lb || !*lb)
				lb = config_get(c->cfg, c->profile, "lookback_s");
			if (lb && *lb && parse_long("lookback_s", lb, 0, 86400 * 30, &lookback, &err) < 0) {
				rc = err.status = CRM_ECONFIG;
				goto fail;
			}
			time_parse(sc.time, &ms);
			ms -= (long long)lookback * 1000;
			/* No look-back: resume exactly after the last (time, id) written. */
			if (!lookback && sc.last_id[0])
				po.since_id = sc.last_id;
			if (ms > po.since_ms)
				po.since_ms = ms;
		} else if (po.since_ms < 0) {
			po.since_ms = 0;
		}
	}
	if ((rc = ctx_connect(c, &err)) < 0)
		goto fail;
	if (!(ns = c->prov->namespace(c->conn, &err))) {
		rc = err.status;
		goto fail;
	}
	if ((rc = map_file_check(c, o, user_map, &err)) < 0 || (rc = ctx_options(c, o, &err)) < 0 ||
	    (rc = where_fields(c, o, wh, nwh, &err)) < 0)
		goto fail;
	if (user_map) {
		const char *k;
		json_t *v;
		extra = json_array();
		json_object_foreach(user_map, k, v)
			json_array_append(extra, v);
		po.extra_fields = extra;
	}
	if (csv && (rc = pull_csv_header(c, o, columns, user_map, deleted, &cols, &err)) < 0)
		goto fail;
	if ((rc = c->prov->pull_open(c->conn, &po, &p, &err)) < 0)
		goto fail;
	if (singer) {
		json_t *fields = NULL, *s;
		/* The types of the --map keys are their fields' (asked again:
		 * map_file_check has given its list back). */
		if (user_map && json_object_size(user_map) &&
		    (rc = c->prov->fields(c->conn, o, &fields, &err)) < 0)
			goto fail;
		stypes = singer_map_types(o, user_map, fields);
		json_decref(fields);
		s = singer_schema_message(o, singer_schema(o, raw, stypes));
		rc = ndjson_write(&c->out, s, &err);
		json_decref(s);
		if (rc < 0)
			goto fail;
	}
	/* Linked records (lead persons) are read on this thread, after each
	 * page: no page is fetched ahead (nor in parts) while they are. */
	int linked = c->prov->obj[o]->links != NULL;
	reader_init(&pg, c, p, limit < 0 && !linked);
	paging = 1;
	int said_path = 0;
	while (limit < 0 || sum.records < limit) {
		struct page *cur_pg;
		char now[TIME_BUFSZ];

		if (!(cur_pg = reader_take(&pg)))
			break;
		if (cur_pg->rc < 0) {
			err = cur_pg->err;
			rc = cur_pg->rc;
			reader_give_back(&pg, cur_pg);
			goto fail;
		}
		if (!cur_pg->arr) {
			reader_give_back(&pg, cur_pg);
			break;
		}
		if (c->verbose && !said_path) {
			/* g->fast is settled by the first page, taken under the lock. */
			msg(c, "pages are read %s", !pg.main.fast ? "through jansson values"
			    : pg.main.split ? "in place (the fast path), each asked for before the last is read"
			    : "in place (the fast path)");
			said_path = 1;
		}
		time_format(time_now_ms(), now);
		struct jv_doc *d = &cur_pg->d;
		struct linked_page lp;
		if (linked && (rc = linked_page_read(c, o, d, cur_pg->arr, &lp, &err)) < 0) {
			linked_page_release(&lp);
			reader_give_back(&pg, cur_pg);
			goto fail;
		}
		for (uint32_t m = jv_items(d, cur_pg->arr); m; m = jv_next(d, m)) {
			jv_t env = jv_val(d, m);
			struct jv_mark mk = jv_mark(d);
			if (limit >= 0 && sum.records >= limit)
				break;
			jv_t rec = record_build(c, o, d, env, user_map, raw, ns, now);
			if (linked)
				rec = linked_apply(c, o, d, env, rec, &lp);
			if (singer) {
				jv_t w = jv_obj(d);
				singer_fit(stypes, d, rec);
				jv_set(d, w, "type", jv_string_ref(d, "RECORD"));
				jv_set(d, w, "stream", jv_string_ref(d, obj_plural(o)));
				jv_set(d, w, "record", rec);
				jv_set(d, w, "time_extracted", jv_string_ref(d, now));
				rec = w;
			}
			if (d->failed)
				rc = err_set(&err, CRM_EOUTPUT, "out_of_memory", "out of memory");
			else if (csv)
				rc = pull_csv_row(c, &cols, &row, d, rec, &err);
			else
				rc = ndjson_write_jv(&c->out, d, rec, &err);
			jv_rewind(d, &mk);
			if (rc < 0) {
				if (linked)
					linked_page_release(&lp);
				reader_give_back(&pg, cur_pg);
				goto fail;
			}
			track(&cur, d, env);
			sum.records++;
		}
		if (linked)
			linked_page_release(&lp);
		/* The total as known after this page; --limit caps it. */
		sum.total = cur_pg->total;
		if (limit >= 0 && sum.total > limit)
			sum.total = limit;
		reader_give_back(&pg, cur_pg);
		/* A page is complete on stdout before the next one is taken. */
		if ((rc = ndjson_flush(&c->out, &err)) < 0)
			goto fail;
		if (c->progress)
			summary_progress(&sum, stderr, 0);
		if (sig_stop) {
			rc = err_set(&err, CRM_EINTR, "interrupted", "interrupted");
			goto fail;
		}
	}
	reader_end(&pg);
	paging = 0;
	/* The cursor reached: the last record written, never behind the one
	 * the run started from (no record: that one). */
	struct state_cursor nc = sc;
	if (cur.ms >= 0) {
		long long old = -1;
		if (sc.time[0])
			time_parse(sc.time, &old);
		if (cur.ms >= old) {
			memset(&nc, 0, sizeof(nc));
			time_format(cur.ms, nc.time);
			snprintf(nc.last_id, sizeof(nc.last_id), "%s", cur.id);
		}
	}
	if (singer) {
		json_t *m = singer_state_message(o, sprev, &nc);
		rc = ndjson_write(&c->out, m, &err);
		json_decref(m);
		if (rc < 0)
			goto fail;
	}
	if ((rc = ctx_finish_stdout(c, &err)) < 0)
		goto fail;
	/* Only now: every record is on stdout.  No record at all: the old
	 * cursor (or none) stays. */
	if (state && !sig_stop && cur.ms >= 0 &&
	    (rc = state_write(state, key.buf, obj_plural(o), &nc, c->run_id, &err)) < 0)
		goto fail;
	if (c->progress)
		fputs("\r\033[K", stderr);
	if (!c->quiet) {
		summary_print(c, &sum);
	}
	if (sumfile && (rc = summary_write_json(&sum, http_stats(c->http), sumfile, &err)) < 0)
		goto fail;
	rc = 0;
	goto done;
fail:
	if (c->progress)
		fputs("\r\033[K", stderr);
	if (paging) {
		http_cancel(c->http); /* the page being fetched ahead is not wanted */
		reader_end(&pg);
	}
	if (err.status == CRM_EPIPE) {
		rc = 0;
	} else {
		if (err.status != CRM_EINTR && err.status != CRM_EOUTPUT && sum.records)
			msg(c, "stopped after %ld records; the state was not advanced", sum.records);
		rc = fail_with(c, &err);
		if (sumfile && err.status != CRM_EOUTPUT) {
			struct crm_err e2 = CRM_ERR_INIT;
			summary_write_json(&sum, c->http ? http_stats(c->http) : NULL, sumfile, &e2);
		}
	}
done:
	if (p)
		c->prov->pull_close(p);
	json_decref(user_map);
	json_decref(extra);
	json_decref(stypes);
	json_decref(sprev);
	buf_release(&key);
	csv_cols_release(&cols);
	buf_release(&row);
	return rc;
}

int cmd_pull(struct ctx *c, int argc, char **argv)
{
	struct where wh[WHERE_MAX];
	int rc;

	memset(wh, 0, sizeof(wh));
	rc = pull_main(c, argc, argv, wh);
	for (size_t i = 0; i < WHERE_MAX; i++)
		where_free(&wh[i]);
	return rc;
}
