#include "csvio.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "err.h"
#include "jx.h"
#include "ndjson.h"
#include "banned.h"

/* ---- columns ---- */

static const char *const addr_parts[] = { "street_1", "street_2", "city", "state", "postal_code", "country", NULL };
/* Metadata every pull writes, and those a --columns list may add. */
static const char *const meta_default[] = { "remote_id", "provider", "remote_namespace", "remote_created_at",
					    "remote_updated_at", NULL };
static const char *const meta_deleted[] = { "remote_deleted", "remote_deleted_at", NULL };
static const char *const meta_more[] = { "object", "synced_at", "sync_run_id", "sync_profile", NULL };

#define REMOTE_PREFIX "remote_fields."

void csv_cols_release(struct csv_cols *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static int add_col(struct csv_cols *c, const char *name, enum csv_kind kind, const char *key, enum utype type)
{
	struct csv_col *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	c->v = v;
	v[c->n] = (struct csv_col){ strdup(name), kind, NULL, type };
	if (!v[c->n].name)
		return -1;
	/* key points into the name, or at a static string */
	v[c->n].key = kind == CK_REMOTE ? v[c->n].name + strlen(REMOTE_PREFIX) : key ? key : v[c->n].name;
	c->n++;
	return 0;
}

/* Every column of o that is not a remote field: the default ones (all),
 * or also those only a --columns list names (all = 1). */
static int known_cols(enum obj o, const json_t *user_map, int deleted, int all, struct csv_cols *c)
{
	const char *k;
	json_t *v;
	int rc = 0;

	for (const struct ukey *u = record_keys(o); u->name && !rc; u++) {
		switch (u->type) {
		case UT_EMAILS:
			rc = add_col(c, "email", CK_EMAIL, NULL, UT_STRING) | add_col(c, "email_type", CK_EMAIL_TYPE, NULL, UT_STRING);
			break;
		case UT_PHONES:
			rc = add_col(c, "phone", CK_PHONE, NULL, UT_STRING) | add_col(c, "phone_type", CK_PHONE_TYPE, NULL, UT_STRING);
			break;
		case UT_ADDRESSES:
			for (int i = 0; addr_parts[i] && !rc; i++)
				rc = add_col(c, addr_parts[i], CK_ADDR, addr_parts[i], UT_STRING);
			rc |= add_col(c, "address_type", CK_ADDR_TYPE, NULL, UT_STRING);
			break;
		default:
			rc = add_col(c, u->name, CK_KEY, u->name, u->type);
		}
	}
	json_object_foreach((json_t *)user_map, k, v)
		rc |= add_col(c, k, CK_KEY, NULL, UT_STRING);
	for (int i = 0; meta_default[i]; i++)
		rc |= add_col(c, meta_default[i], CK_KEY, meta_default[i], UT_STRING);
	for (int i = 0; (deleted || all) && meta_deleted[i]; i++)
		rc |= add_col(c, meta_deleted[i], CK_KEY, meta_deleted[i], i == 0 ? UT_BOOL : UT_STRING);
	for (int i = 0; all && meta_more[i]; i++)
		rc |= add_col(c, meta_more[i], CK_KEY, meta_more[i], UT_STRING);
	return rc;
}

static const struct csv_col *find_col(const struct csv_cols *c, const char *name, size_t n)
{
	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->v[i].name) == n && !memcmp(c->v[i].name, name, n))
			return &c->v[i];
	return NULL;
}

static void list_names(struct buf *b, const struct csv_cols *c)
{
	for (size_t i = 0; i < c->n; i++)
		buf_addf(b, "%s%s", i ? ", " : "", c->v[i].name);
}

static int unknown(struct crm_err *err, enum obj o, const char *name, size_t n, const struct csv_cols *known,
		   const char *remote_note)
{
	struct buf b = BUF_INIT;
	list_names(&b, known);
	err_set(err, CRM_EUSAGE, "unknown_column", "--columns: %s have no column '%.*s'; known: %s, %s",
		obj_plural(o), (int)n, name, b.buf, remote_note);
	buf_release(&b);
	return CRM_EUSAGE;
}

/* Calls f on each name of a comma-separated list (spaces around a name
 * ignored); stops at the first that returns < 0. */
static int each_name(const char *list, int (*f)(void *, const char *, size_t), void *ctx)
{
	const char *s = list;
	for (;;) {
		const char *e = strchr(s, ','), *end = e ? e : s + strlen(s);
		while (s < end && *s == ' ')
			s++;
		size_t n = (size_t)(end - s);
		while (n && s[n - 1] == ' ')
			n--;
		int rc = f(ctx, s, n);
		if (rc < 0)
			return rc;
		if (!e)
			return 0;
		s = e + 1;
	}
}

struct pick {
	enum obj o;
	const struct csv_cols *known;
	const json_t *fields;      /* NULL: remote fields not checked yet */
	const struct map_entry *m;
	const json_t *user_map;
	struct csv_cols *out;
	struct crm_err *err;
};

/* Does a record's remote_fields hold field fn: no table entry maps it, nor --map? */
static int in_remote_fields(const char *fn, const struct map_entry *m, const json_t *user_map)
{
	const char *k;
	json_t *v;

	size_t n = strlen(fn);

	if (map_find_remote(m, fn))
		return 0;
	/* A field whose parts the table maps ("emails" of "emails.work"): the
	 * record has its parts, not it. */
	for (const struct map_entry *e = m; e && e->key; e++)
		if (!strncmp(e->remote, fn, n) && e->remote[n] == '.')
			return 0;
	json_object_foreach((json_t *)user_map, k, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), fn))
			return 0;
	return 1;
}

static int is_remote_field(const struct pick *pk, const char *name, size_t n)
{
	json_t *f;
	size_t i;
	json_array_foreach(pk->fields, i, f) {
		const char *fn = jx_str(f, "name");
		if (fn && strlen(fn) == n && !memcmp(fn, name, n) && in_remote_fields(fn, pk->m, pk->user_map))
			return 1;
	}
	return 0;
}

static int pick_one(void *ctx, const char *name, size_t n)
{
	struct pick *pk = ctx;
	const size_t pl = strlen(REMOTE_PREFIX);
	const struct csv_col *c;
	char *tmp;
	int rc;

	if (n > pl && !memcmp(name, REMOTE_PREFIX, pl)) {
		if (!pk->fields)
			return 0;
		if (!is_remote_field(pk, name + pl, n - pl))
			return err_set(pk->err, CRM_EUSAGE, "unknown_column",
				       "--columns: '%.*s' is not a field of %s kept in remote_fields (see: crmsync fields %s)",
				       (int)n, name, obj_plural(pk->o), obj_plural(pk->o));
		if (!pk->out)
			return 0;
		if (!(tmp = strndup(name, n)))
			return err_set(pk->err, CRM_EFAIL, "out_of_memory", "out of memory");
		rc = add_col(pk->out, tmp, CK_REMOTE, NULL, UT_STRING);
		free(tmp);
		return rc < 0 ? err_set(pk->err, CRM_EFAIL, "out_of_memory", "out of memory") : 0;
	}
	if (!(c = find_col(pk->known, name, n)))
		return unknown(pk->err, pk->o, name, n, pk->known, "remote_fields.NAME");
	if (pk->out && add_col(pk->out, c->name, c->kind, c->kind == CK_ADDR ? c->key : NULL, c->type) < 0)
		return err_set(pk->err, CRM_EFAIL, "out_of_memory", "out of memory");
	return 0;
}

int csvio_check_columns(enum obj o, const char *list, const json_t *user_map, int deleted, struct crm_err *err)
{
	struct csv_cols known = { NULL, 0 };
	struct pick pk = { o, &known, NULL, NULL, user_map, NULL, err };
	int rc;

	if (!list)
		return 0;
	if (known_cols(o, user_map, deleted, 1, &known) < 0)
		rc = err_set(err, CRM_EFAIL, "out_of_memory", "out of memory");
	else
		rc = each_name(list, pick_one, &pk);
	csv_cols_release(&known);
	return rc;
}

int csvio_columns(enum obj o, const json_t *fields, const struct map_entry *m, const json_t *user_map, int deleted,
		  const char *list, struct csv_cols *out, struct crm_err *err)
{
	struct csv_cols known = { NULL, 0 };
	struct pick pk = { o, &known, fields, m, user_map, out, err };
	int rc = 0;

	out->v = NULL;
	out->n = 0;
	if (known_cols(o, user_map, deleted, list != NULL, list ? &known : out) < 0) {
		rc = err_set(err, CRM_EFAIL, "out_of_memory", "out of memory");
	} else if (list) {
		rc = each_name(list, pick_one, &pk);
	} else {
		/* The provider fields no unified key (nor --map) takes, in the
		 * order the CRM lists them: what remote_fields can hold. */
		json_t *f;
		size_t i;
		struct buf name = BUF_INIT;
		json_array_foreach((json_t *)fields, i, f) {
			const char *fn = jx_str(f, "name");
			if (!fn || !in_remote_fields(fn, m, user_map))
				continue;
			buf_reset(&name);
			buf_addf(&name, REMOTE_PREFIX "%s", fn);
			if (!find_col(out, name.buf, name.len) && add_col(out, name.buf, CK_REMOTE, NULL, UT_STRING) < 0)
				rc = err_set(err, CRM_EFAIL, "out_of_memory", "out of memory");
		}
		buf_release(&name);
	}
	csv_cols_release(&known);
	if (rc < 0)
		csv_cols_release(out);
	return rc;
}

/* ---- writing ---- */

/* One cell: as it is, or quoted by libcsv's rules (the whole cell in
 * quotes, quotes doubled) when it holds the separator, a quote, a line
 * end, or spaces at either end (which a reader trims from a bare cell). */
static int put_cell(struct buf *b, const char *s, size_t n, char sep, int first)
{
	if (!first && buf_addc(b, sep) < 0)
		return -1;
	int quote = n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == sep || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote)
		return buf_add(b, s, n);
	if (buf_grow(b, 2 * n + 2) < 0)
		return -1;
	b->len += csv_write2(b->buf + b->len, 2 * n + 2, s, n, '"');
	b->buf[b->len] = '\0';
	return 0;
}

int csvio_header(struct buf *b, const struct csv_cols *cols, char sep)
{
	for (size_t i = 0; i < cols->n; i++)
		if (put_cell(b, cols->v[i].name, strlen(cols->v[i].name), sep, i == 0) < 0)
			return -1;
	return buf_addc(b, '\r');
}

/* The primary email address entry (the first when none says primary). */
static jv_t primary_email(const struct jv_doc *d, jv_t rec)
{
	jv_t list = jv_get(d, rec, "email_addresses");
	for (uint32_t m = jv_items(d, list); m; m = jv_next(d, m))
		if (jv_is_true(d, jv_get(d, jv_val(d, m), "primary")))
			return jv_val(d, m);
	return jv_at(d, list, 0);
}

static int put_value(struct buf *b, const struct jv_doc *d, jv_t v, char sep, int first)
{
	char tmp[64];
	const char *s;
	enum jv_type t = jv_typeof(d, v);

	if (t == JVT_ARR || t == JVT_OBJ) {
		/* A list or object kept as its JSON text. */
		struct buf j = BUF_INIT;
		int rc = jv_dump(&j, d, v) < 0 ? -1 : put_cell(b, j.buf, j.len, sep, first);
		buf_release(&j);
		return rc;
	}
	s = t == JVT_STR ? jv_sval(d, v) : jv_text(d, v, tmp, sizeof(tmp));
	return put_cell(b, s ? s : "", s ? (t == JVT_STR ? jv_size(d, v) : strlen(s)) : 0, sep, first);
}

int csvio_row(struct buf *b, const struct csv_cols *cols, const struct jv_doc *d, jv_t rec, char sep)
{
	jv_t email = primary_email(d, rec), phone = jv_at(d, jv_get(d, rec, "phone_numbers"), 0);
	jv_t addr = jv_at(d, jv_get(d, rec, "addresses"), 0), rf = jv_get(d, rec, "remote_fields");

	for (size_t i = 0; i < cols->n; i++) {
		const struct csv_col *c = &cols->v[i];
		jv_t v = JV_NONE;
		switch (c->kind) {
		case CK_KEY: v = jv_get(d, rec, c->key); break;
		case CK_EMAIL: v = jv_get(d, email, "email_address"); break;
		case CK_EMAIL_TYPE: v = jv_get(d, email, "email_address_type"); break;
		case CK_PHONE: v = jv_get(d, phone, "phone_number"); break;
		case CK_PHONE_TYPE: v = jv_get(d, phone, "phone_number_type"); break;
		case CK_ADDR: v = jv_get(d, addr, c->key); break;
		case CK_ADDR_TYPE: v = jv_get(d, addr, "address_type"); break;
		case CK_REMOTE: v = jv_get(d, rf, c->key); break;
		}
		if (put_value(b, d, v, sep, i == 0) < 0)
			return -1;
	}
	return buf_addc(b, '\r');
}

/* ---- reading ---- */

#define ROW_MAX NDJSON_LINE_MAX

static void on_cell(void *s, size_t n, void *ctx)
{
	struct csv_reader *r = ctx;

	if (r->ncells == r->capcells) {
		size_t cap = r->capcells ? 2 * r->capcells : 32;
		size_t *o = realloc(r->off, cap * sizeof(*o)), *l = o ? realloc(r->len, cap * sizeof(*l)) : NULL;
		if (o)
			r->off = o;
		if (!l) {
			r->lost = 1;
			return;
		}
		r->len = l;
		r->capcells = cap;
	}
	r->off[r->ncells] = r->cells.len;
	r->len[r->ncells] = n;
	if (buf_add(&r->cells, s ? s : "", n) < 0 || buf_addc(&r->cells, '\0') < 0) {
		r->len[r->ncells] = 0;
		r->lost = 1;
	}
	r->ncells++;
}

static void on_row(int c, void *ctx)
{
	struct csv_reader *r = ctx;
	r->row_done = 1;
}

int csvr_init(struct csv_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->sep = ',';
	r->lineno = 1;
	buf_init(&r->cells, ROW_MAX);
	return csv_init(&r->p, 0) ? -1 : 0;
}

void csvr_release(struct csv_reader *r)
{
	csv_free(&r->p);
	buf_release(&r->cells);
	free(r->off);
	free(r->len);
	for (size_t i = 0; i < r->nhead; i++)
		free(r->head[i]);
	free(r->head);
}

/* More input after what is buffered (kept): bytes read, 0 at end, -1. */
static ssize_t refill(struct csv_reader *r)
{
	ssize_t n;

	if (r->eof)
		return 0;
	if (r->inpos) {
		memmove(r->in, r->in + r->inpos, r->inlen - r->inpos);
		r->inlen -= r->inpos;
		r->inpos = 0;
	}
	if (r->inlen == sizeof(r->in))
		return 0;
	if (r->wait)
		r->wait(r->wait_ctx, r->fd, POLLIN);
	do
		n = read(r->fd, r->in + r->inlen, sizeof(r->in) - r->inlen);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		r->inlen += (size_t)n;
	if (n == 0)
		r->eof = 1;
	return n;
}

/* Reads one row (blank lines skipped by libcsv): 1, 0 at the end, < 0. */
static int read_row(struct csv_reader *r, struct crm_err *err)
{
	buf_reset(&r->cells);
	r->ncells = 0;
	r->row_done = 0;
	r->lost = 0;
	r->row_line = r->lineno;
	while (!r->row_done) {
		if (r->at_end)
			return 0;
		if (r->inpos == r->inlen) {
			ssize_t n = refill(r);
			if (n < 0)
				return err_set(err, CRM_EDATA, "read_error", "cannot read input: %s", strerror(errno));
			if (n == 0) {
				r->at_end = 1;
				/* The last row, without a line end; an open quote there is
				 * kept as read (its row still gets its result). */
				csv_fini(&r->p, on_cell, on_row, r);
				return r->row_done || r->ncells ? 1 : 0;
			}
		}
		/* One byte at a time: the row's first line is the line of its
		 * first byte, and the row ends where libcsv says. */
		unsigned char ch = (unsigned char)r->in[r->inpos++];
		if (r->p.pstate == 0 && ch != '\r' && ch != '\n')
			r->row_line = r->lineno;
		if (csv_parse(&r->p, &ch, 1, on_cell, on_row, r) != 1)
			return err_set(err, CRM_EDATA, "read_error", "cannot read the CSV input: %s",
				       csv_strerror(csv_error(&r->p)));
		if (ch == '\n')
			r->lineno++;
	}
	return 1;
}

static const char *cell(const struct csv_reader *r, size_t i)
{
	return r->cells.buf + r->off[i];
}

int csvr_header(struct csv_reader *r, struct crm_err *err)
{
	int rc;

	/* The first line, to tell the separator (and the mark) from. */
	while (!memchr(r->in, '\n', r->inlen)) {
		ssize_t n = refill(r);
		if (n < 0)
			return err_set(err, CRM_EDATA, "read_error", "cannot read input: %s", strerror(errno));
		if (n == 0)
			break; /* the end, or a first line longer than the buffer */
	}
	if (r->inlen >= 3 && !memcmp(r->in, "\xef\xbb\xbf", 3)) {
		r->bom = 1;
		r->inpos = 3;
	}
	size_t commas = 0, semis = 0;
	int q = 0;
	for (size_t i = r->inpos; i < r->inlen && r->in[i] != '\n'; i++) {
		q ^= r->in[i] == '"';
		commas += !q && r->in[i] == ',';
		semis += !q && r->in[i] == ';';
	}
	r->sep = semis > commas ? ';' : ',';
	csv_set_delim(&r->p, (unsigned char)r->sep);
	if ((rc = read_row(r, err)) <= 0)
		return rc;
	if (!(r->head = calloc(r->ncells ? r->ncells : 1, sizeof(*r->head))))
		return err_set(err, CRM_EDATA, "out_of_memory", "out of memory");
	for (size_t i = 0; i < r->ncells; i++)
		if ((r->head[r->nhead] = strdup(cell(r, i))))
			r->nhead++;
	return 1;
}

int csvr_row(struct csv_reader *r, struct crm_err *err)
{
	for (;;) {
		int rc = read_row(r, err);
		if (rc <= 0)
			return rc;
		for (size_t i = 0; i < r->ncells; i++)
			if (r->len[i])
				return 1;
		/* A row of empty cells (a spreadsheet's trailing ";;;") is no record. */
	}
}

int csvio_push_columns(enum obj o, const struct csv_reader *r, const json_t *user_map, struct csv_cols *out,
		       struct crm_err *err)
{
	struct csv_cols known = { NULL, 0 };
	const size_t pl = strlen(REMOTE_PREFIX);
	int rc = 0;

	out->v = NULL;
	out->n = 0;
	if (known_cols(o, user_map, 1, 1, &known) < 0)
		rc = err_set(err, CRM_EFAIL, "out_of_memory", "out of memory");
	for (size_t i = 0; i < r->nhead && !rc; i++) {
		const char *h = r->head[i];
		const struct csv_col *c = find_col(&known, h, strlen(h));
		if (find_col(out, h, strlen(h))) {
			rc = err_set(err, CRM_EDATA, "invalid_csv", "the CSV header names column '%s' twice", h);
		} else if (strlen(h) > pl && !memcmp(h, REMOTE_PREFIX, pl)) {
			if (add_col(out, h, CK_REMOTE, NULL, UT_STRING) < 0)
				rc = err_set(err, CRM_EFAIL, "out_of_memory", "out of memory");
		} else if (c) {
			if (add_col(out, h, c->kind, c->kind == CK_ADDR ? c->key : NULL, c->type) < 0)
				rc = err_set(err, CRM_EFAIL, "out_of_memory", "out of memory");
		} else {
			struct buf b = BUF_INIT;
			list_names(&b, &known);
			rc = err_set(err, CRM_EDATA, "invalid_csv",
				     "the CSV header's column %zu, '%.100s', is not a column of %s; known: %s, remote_fields.NAME",
				     i + 1, h, obj_plural(o), b.buf);
			buf_release(&b);
		}
	}
	csv_cols_release(&known);
	if (rc < 0)
		csv_cols_release(out);
	return rc;
}

/* A cell as the JSON value of its key's type; a cell that is not of that
 * type stays a string (the record then fails as invalid_type, naming it). */
static json_t *typed(const char *s, size_t n, enum utype t)
{
	char *end;
	if (t == UT_INT || t == UT_NUMBER) {
		errno = 0;
		long long i = strtoll(s, &end, 10);
		if (end != s && !*end && !errno)
			return json_integer(i);
		double x = strtod(s, &end);
		if (t == UT_NUMBER && end != s && !*end && isfinite(x))
			return json_real(x);
	} else if (t == UT_BOOL) {
		if (!strcasecmp(s, "true"))
			return json_true();
		if (!strcasecmp(s, "false"))
			return json_false();
	}
	return json_stringn(s, n);
}

/* A remote field's cell: a list or an object as pull writes it (its JSON
 * text) is that value again; anything else is a string. */
static json_t *remote_value(const char *s, size_t n)
{
	json_t *v = NULL;
	if (s[0] == '[' || s[0] == '{')
		v = json_loadb(s, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	return v && (json_is_array(v) || json_is_object(v)) ? v : (json_decref(v), json_stringn(s, n));
}

/* The entry of list `key` in rec, made (and the list) when absent. */
static json_t *entry(json_t *rec, const char *key)
{
	json_t *l = json_object_get(rec, key);
	if (!l) {
		l = json_array();
		json_array_append_new(l, json_object());
		json_object_set_new(rec, key, l);
	}
	return json_array_get(l, 0);
}

int csvr_json(const struct csv_reader *r, const struct csv_cols *cols, struct buf *json, struct crm_err *rowerr)
{
	json_t *rec, *rf = NULL;
	int rc = 0;

	buf_reset(json);
	if (r->lost)
		return err_set(rowerr, CRM_ERECORD, "invalid_csv", "the row at line %ld is longer than %zu bytes",
			       r->row_line, (size_t)ROW_MAX);
	if (r->ncells != cols->n)
		return err_set(rowerr, CRM_ERECORD, "invalid_csv", "the row at line %ld has %zu cells; the header has %zu",
			       r->row_line, r->ncells, cols->n);
	for (size_t i = 0; i < r->ncells; i++) {
		if (memchr(cell(r, i), '\0', r->len[i]))
			return err_set(rowerr, CRM_ERECORD, "invalid_csv", "the row at line %ld holds a NUL byte",
				       r->row_line);
		if (!utf8_valid(cell(r, i), r->len[i]))
			return err_set(rowerr, CRM_ERECORD, "invalid_utf8", "the row at line %ld is not valid UTF-8",
				       r->row_line);
	}
	rec = json_object();
	for (size_t i = 0; i < r->ncells; i++) {
		const struct csv_col *c = &cols->v[i];
		const char *s = cell(r, i);
		size_t n = r->len[i];
		if (!n)
			continue; /* an empty cell gives no value */
		switch (c->kind) {
		case CK_KEY:
			json_object_set_new(rec, c->key, typed(s, n, c->type));
			break;
		case CK_EMAIL:
			json_object_set_new(entry(rec, "email_addresses"), "email_address", json_stringn(s, n));
			break;
		case CK_EMAIL_TYPE:
			json_object_set_new(entry(rec, "email_addresses"), "email_address_type", json_stringn(s, n));
			break;
		case CK_PHONE:
			json_object_set_new(entry(rec, "phone_numbers"), "phone_number", json_stringn(s, n));
			break;
		case CK_PHONE_TYPE:
			json_object_set_new(entry(rec, "phone_numbers"), "phone_number_type", json_stringn(s, n));
			break;
		case CK_ADDR:
			json_object_set_new(entry(rec, "addresses"), c->key, json_stringn(s, n));
			break;
		case CK_ADDR_TYPE:
			json_object_set_new(entry(rec, "addresses"), "address_type", json_stringn(s, n));
			break;
		case CK_REMOTE:
			if (!rf) {
				rf = json_object();
				json_object_set_new(rec, "remote_fields", rf);
			}
			json_object_set_new(rf, c->key, remote_value(s, n));
			break;
		}
	}
	/* A type with no email (or number) is no entry; the email is primary. */
	json_t *e = json_array_get(json_object_get(rec, "email_addresses"), 0);
	if (e && !json_object_get(e, "email_address"))
		json_object_del(rec, "email_addresses");
	else if (e)
		json_object_set_new(e, "primary", json_true());
	json_t *ph = json_array_get(json_object_get(rec, "phone_numbers"), 0);
	if (ph && !json_object_get(ph, "phone_number"))
		json_object_del(rec, "phone_numbers");
	json_t *a = json_array_get(json_object_get(rec, "addresses"), 0);
	if (a && json_object_size(a) == (json_object_get(a, "address_type") ? 1u : 0u))
		json_object_del(rec, "addresses");
	if (jx_dump(json, rec) < 0)
		rc = err_set(rowerr, CRM_ERECORD, "out_of_memory", "out of memory");
	json_decref(rec);
	return rc;
}

int csvr_requote(const struct csv_reader *r, struct buf *b)
{
	for (size_t i = 0; i < r->ncells; i++)
		if (put_cell(b, cell(r, i), r->len[i], r->sep, i == 0) < 0)
			return -1;
	return buf_addc(b, '\r');
}

int csvr_requote_header(const struct csv_reader *r, struct buf *b)
{
	if (r->bom && buf_add(b, "\xef\xbb\xbf", 3) < 0)
		return -1;
	for (size_t i = 0; i < r->nhead; i++)
		if (put_cell(b, r->head[i], strlen(r->head[i]), r->sep, i == 0) < 0)
			return -1;
	return buf_addc(b, '\r');
}
