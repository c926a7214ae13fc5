/* linked.c: the person and company of objects that keep them on linked
 * records, and the fields a CRM requires on create (see linked.h). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "common.h"
#include "jx.h"
#include "linked.h"
#include "provider.h"
#include "banned.h"

static const struct prov_link *links_of(const struct ctx *c, enum obj o)
{
	const struct prov_object *po = c->prov ? c->prov->obj[o] : NULL;
	return po ? po->links : NULL;
}

/* "key=linked" -> key (copied into k) and linked; "key" -> both key. */
static const char *split_key(const char *spec, char *k, size_t n)
{
	const char *eq = strchr(spec, '=');
	size_t len = eq ? (size_t)(eq - spec) : strlen(spec);
	if (len >= n)
		len = n - 1;
	memcpy(k, spec, len);
	k[len] = '\0';
	return eq ? eq + 1 : spec;
}

/* A copy of s in d: jv keys are kept by reference. */
static const char *dup_in(struct jv_doc *d, const char *s)
{
	size_t n = strlen(s) + 1;
	char *o = jv_alloc(d, n);
	if (o)
		memcpy(o, s, n);
	return o ? o : "";
}

/* The linked id an envelope's (or a write's) fields hold, as text. */
static const char *link_id(const struct jv_doc *d, jv_t fields, const char *remote, char *tmp, size_t n)
{
	jv_t v = fields ? jv_get(d, fields, remote) : JV_NONE;
	const char *id = v ? jv_text(d, v, tmp, n) : NULL;
	return id && *id ? id : NULL;
}

int linked_key(const struct ctx *c, enum obj o, const char *key)
{
	const struct prov_link *l = links_of(c, o);
	char k[64];

	for (; l && l->remote; l++)
		for (const char *const *s = l->keys; *s; s++)
			if (split_key(*s, k, sizeof(k)), !strcmp(k, key))
				return 1;
	return 0;
}

/* ---- pull ---- */

int linked_page_read(struct ctx *c, enum obj o, struct jv_doc *d, jv_t arr, struct linked_page *lp,
		     struct crm_err *err)
{
	const struct prov_link *l = links_of(c, o);

	memset(lp, 0, sizeof(*lp));
	for (int k = 0; l && l[k].remote && k < LINKS_MAX; k++) {
		json_t *ids = json_array(), *seen = json_object();
		int rc = 0;
		for (uint32_t m = jv_items(d, arr); m; m = jv_next(d, m)) {
			char tmp[64];
			const char *id = link_id(d, jv_get(d, jv_val(d, m), "fields"), l[k].remote, tmp, sizeof(tmp));
			if (!id || json_object_get(seen, id))
				continue;
			json_object_set_new(seen, id, json_true());
			json_array_append_new(ids, json_string(id));
		}
		/* One read per page and link: the provider batches the ids. */
		if (json_array_size(ids) && c->prov->obj[l[k].obj])
			rc = c->prov->read(c->conn, l[k].obj, ids, &lp->got[k], err);
		json_decref(ids);
		json_decref(seen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void linked_page_release(struct linked_page *lp)
{
	for (int k = 0; k < LINKS_MAX; k++) {
		json_decref(lp->got[k]);
		lp->got[k] = NULL;
	}
}

/* The linked record's unified values (its own object's mapping). */
static jv_t linked_record(struct ctx *c, enum obj lo, struct jv_doc *d, const json_t *lenv)
{
	jv_t le = jv_from_json(d, lenv), lr = jv_obj(d);

	map_pull(lo, c->prov->obj[lo]->map, d, jv_get(d, le, "fields"), NULL, lr);
	if (c->prov->pull_fixup)
		c->prov->pull_fixup(c->conn, lo, d, le, lr);
	return lr;
}

jv_t linked_apply(struct ctx *c, enum obj o, struct jv_doc *d, jv_t env, jv_t rec, const struct linked_page *lp)
{
	const struct prov_link *l = links_of(c, o);
	jv_t add = JV_NONE, fields = jv_get(d, env, "fields");
	char k[64], tmp[64];

	for (int i = 0; l && l[i].remote && i < LINKS_MAX; i++) {
		const char *id = link_id(d, fields, l[i].remote, tmp, sizeof(tmp));
		const json_t *lenv = id && lp->got[i] ? json_object_get(lp->got[i], id) : NULL;
		if (!lenv || !json_is_object(lenv))
			continue;
		jv_t lr = linked_record(c, l[i].obj, d, lenv);
		for (const char *const *s = l[i].keys; *s; s++) {
			const char *lk = split_key(*s, k, sizeof(k));
			jv_t v = jv_get(d, lr, lk), have = jv_get(d, rec, k);
			if (!v || jv_is_empty(d, v) || (have && !jv_is_empty(d, have)) || (add && jv_get(d, add, k)))
				continue;
			if (!add)
				add = jv_obj(d);
			jv_set(d, add, dup_in(d, k), v);
		}
	}
	if (!add)
		return rec;
	/* The body's keys before the metadata (remote_created_at on). */
	jv_t out = jv_obj(d);
	int placed = 0;
	for (uint32_t m = jv_members(d, rec); m; m = jv_next(d, m)) {
		const struct jv_mem mm = d->m[m];
		if (!placed && !strcmp(mm.key, "remote_created_at")) {
			for (uint32_t a = jv_members(d, add); a; a = jv_next(d, a))
				jv_add_key(d, out, d->m[a].key, d->m[a].klen, d->m[a].plain, d->m[a].val);
			placed = 1;
		}
		if (jv_get(d, add, mm.key))
			continue;
		jv_add_key(d, out, mm.key, mm.klen, mm.plain, mm.val);
	}
	if (!placed)
		for (uint32_t a = jv_members(d, add); a; a = jv_next(d, a))
			jv_add_key(d, out, d->m[a].key, d->m[a].klen, d->m[a].plain, d->m[a].val);
	return out;
}

/* ---- push ---- */

/* The provider field of match key `key` in table m (the primary email for
 * "email"), as cmd/push finds it. */
static const char *key_remote(const struct map_entry *m, const char *key, int *email)
{
	const char *remote = NULL;

	*email = !strcmp(key, "email") || !strcmp(key, "email_addresses");
	for (const struct map_entry *e = m; e->key; e++) {
		if (*email ? e->kind == MK_EMAIL && (e->flags & MF_PRIMARY)
			   : !strcmp(e->key, key) && e->kind != MK_ADDR && e->kind != MK_PHONE)
			remote = e->remote;
	}
	return remote;
}

static int stops_run(int s)
{
	return s == CRM_EAUTH || s == CRM_ETEMP || s == CRM_EUNAVAIL || s == CRM_EINTR || s == CRM_ECONFIG;
}

static void fail_item(struct linked_item *it, const struct crm_err *e, const char *what)
{
	if (it->err.status)
		return;
	it->err = *e;
	it->err.status = CRM_ERECORD;
	snprintf(it->err.message, sizeof(it->err.message), "%s: %.400s", what, e->message);
}

/* What one link needs for one batch of records. */
struct want {
	jv_t lrec;          /* the linked record to find or create, or JV_NONE */
	const char *value;  /* its match value (emails lowercased), or NULL */
	int fb;             /* value is the fallback key's */
	const char *id;     /* the linked id found or made */
	int made;           /* dry run: it would be created */
};

/* The lead's unified key that carries the linked key lk (for messages). */
static const char *key_for(const struct prov_link *l, const char *lk, char *k, size_t n)
{
	for (const char *const *s = l->keys; *s; s++) {
		const char *x = split_key(*s, k, n);
		if (!strcmp(x, lk) || (!strcmp(lk, "email") && !strcmp(x, "email_addresses")))
			return k;
	}
	return lk;
}

/* Looks the linked records up by their match values: found[0] by the
 * match key, found[1] by the fallback. */
static int link_find(struct ctx *c, enum obj lo, struct want *w, size_t n, const char *remote[2],
		     json_t *found[2], struct crm_err *e)
{
	int rc = 0;

	for (int k = 0; k < 2 && rc == 0; k++) {
		json_t *vals = json_array(), *seen = json_object();
		for (size_t i = 0; i < n; i++)
			if (w[i].lrec && w[i].value && w[i].fb == k && !json_object_get(seen, w[i].value)) {
				json_object_set_new(seen, w[i].value, json_true());
				json_array_append_new(vals, json_string(w[i].value));
			}
		if (json_array_size(vals) && remote[k])
			rc = c->prov->find(c->conn, lo, remote[k], vals, &found[k], e);
		json_decref(vals);
		json_decref(seen);
	}
	return rc;
}

/* Creates the linked records that were not found, one per match value. */
static int link_create(struct ctx *c, enum obj lo, struct linked_item *its, struct want *w, size_t n,
		       const char *what, struct crm_err *err)
{
	const struct provider *pv = c->prov;
	const struct prov_object *lpo = pv->obj[lo];
	size_t *first = calloc(n ? n : 1, sizeof(*first)), k = 0, bmax = pv->batch_max ? pv->batch_max : 1;
	struct crm_err e = CRM_ERR_INIT;
	int rc = 0;

	/* One create per value: the others of the batch share it. */
	for (size_t i = 0; i < n; i++) {
		if (!w[i].lrec || w[i].id || its[i].err.status)
			continue;
		size_t j;
		for (j = 0; j < k; j++)
			if (w[i].value && w[first[j]].value && w[first[j]].fb == w[i].fb &&
			    !strcmp(w[first[j]].value, w[i].value))
				break;
		if (j == k)
			first[k++] = i;
	}
	for (size_t at = 0; at < k && rc == 0; at += bmax) {
		size_t cnt = k - at < bmax ? k - at : bmax;
		struct write_item *wi = calloc(cnt, sizeof(*wi));
		struct jv_doc *d = its[first[at]].doc;
		for (size_t j = 0; j < cnt; j++) {
			size_t i = first[at + j];
			wi[j].doc = d;
			wi[j].vfields = map_push(lo, lpo->map, d, w[i].lrec, NULL, 0, NULL, NULL);
			if (!pv->write_jv)
				wi[j].fields = jv_to_json(d, wi[j].vfields);
			err_clear(&wi[j].err);
		}
		struct jv_mark mk = jv_mark(d);
		/* An upsert where the CRM has one on the match key (HubSpot
		 * contacts by email): a batch running beside this one that
		 * creates the same person then finds, not doubles, it. */
		rc = pv->write(c->conn, lo, (lpo->caps & OC_UPSERT) ? WR_UPSERT : WR_CREATE, wi, cnt, &e);
		jv_rewind(d, &mk);
		for (size_t j = 0; j < cnt; j++) {
			size_t i = first[at + j];
			const struct crm_err *fe = rc < 0 ? &e : wi[j].err.status ? &wi[j].err : NULL;
			const char *id = fe ? NULL : jv_sval(d, jv_string(d, wi[j].id_out));
			for (size_t x = i; x < n; x++) {
				if (!w[x].lrec || w[x].id || its[x].err.status)
					continue;
				if (x != i && !(w[x].value && w[i].value && w[x].fb == w[i].fb && !strcmp(w[x].value, w[i].value)))
					continue;
				if (fe)
					fail_item(&its[x], fe, what);
				else
					w[x].id = id;
			}
			json_decref(wi[j].fields);
			json_decref(wi[j].warnings);
		}
		free(wi);
		if (rc < 0 && stops_run(rc))
			*err = e;
		else
			rc = 0;
	}
	free(first);
	if (rc < 0)
		return rc;
	return 0;
}

/* Finds or creates the records of link l for the batch; writes their ids. */
static int do_link(struct ctx *c, const struct prov_link *l, unsigned bit, struct linked_item *its, size_t n,
		   int dry_run, const char **acc, struct crm_err *err)
{
	const struct prov_object *lpo = c->prov->obj[l->obj];
	struct want *w;
	const char *remote[2] = { NULL, NULL };
	int email = 0, fbemail = 0, rc = 0;
	json_t *found[2] = { NULL, NULL };
	char k[64], tmp[64], what[96];

	if (!lpo || !(lpo->caps & OC_PUSH))
		return 0;
	if (lpo->match_key)
		remote[0] = key_remote(lpo->map, lpo->match_key, &email);
	if (lpo->match_fallback)
		remote[1] = key_remote(lpo->map, lpo->match_fallback, &fbemail);
	w = calloc(n ? n : 1, sizeof(*w));
	for (size_t i = 0; i < n; i++) {
		struct jv_doc *d = its[i].doc;
		if (its[i].err.status || link_id(d, its[i].fields, l->remote, tmp, sizeof(tmp)))
			continue;
		jv_t r = jv_obj(d);
		for (const char *const *s = l->keys; *s; s++) {
			const char *lk = split_key(*s, k, sizeof(k));
			jv_t v = jv_get(d, its[i].rec, k);
			if (v && !jv_is_empty(d, v))
				jv_set(d, r, lk, v);
		}
		if (!jv_size(d, r))
			continue;
		/* A person made for the record works at its company. */
		if (l->obj == OBJ_CONTACT && acc[i])
			jv_set(d, r, "account", jv_string(d, acc[i]));
		w[i].lrec = r;
		const char *v = NULL;
		if (lpo->match_key)
			v = email ? record_primary_email(d, r) : jv_str(d, r, lpo->match_key);
		if ((!v || !*v) && lpo->match_fallback) {
			v = jv_str(d, r, lpo->match_fallback);
			w[i].fb = 1;
		}
		if (v && *v && email && !w[i].fb) {
			char *low = jv_alloc(d, strlen(v) + 1);
			for (size_t j = 0; low && j <= strlen(v); j++)
				low[j] = (char)(v[j] >= 'A' && v[j] <= 'Z' ? v[j] - 'A' + 'a' : v[j]);
			v = low;
		}
		w[i].value = v && *v ? v : NULL;
	}
	snprintf(what, sizeof(what), "its %s could not be found or created", obj_name(l->obj));
	if ((rc = link_find(c, l->obj, w, n, remote, found, err)) < 0) {
		for (size_t i = 0; i < n; i++)
			if (w[i].lrec)
				fail_item(&its[i], err, what);
		rc = stops_run(rc) ? rc : 0;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (!w[i].lrec || !w[i].value || its[i].err.status)
			continue;
		json_t *hit = json_object_get(found[w[i].fb], w[i].value);
		if (find_count(hit) > 1) {
			struct buf b = BUF_INIT;
			json_t *e;
			size_t j;
			json_array_foreach(hit, j, e)
				buf_addf(&b, "%s%s", j ? ", " : "", jx_str(e, "id") ? jx_str(e, "id") : "?");
			its[i].err.status = CRM_ERECORD;
			snprintf(its[i].err.code, sizeof(its[i].err.code), "ambiguous_match");
			const char *mk = w[i].fb ? lpo->match_fallback : lpo->match_key;
			snprintf(its[i].err.field, sizeof(its[i].err.field), "%s", key_for(l, mk, k, sizeof(k)));
			snprintf(its[i].err.message, sizeof(its[i].err.message),
				 "%zu %s match %s \"%.150s\": %.250s; none is picked", find_count(hit),
				 obj_plural(l->obj), mk, w[i].value, b.buf ? b.buf : "");
			buf_release(&b);
		} else if (hit) {
			w[i].id = jv_sval(its[i].doc, jv_string(its[i].doc, jx_str(hit, "id") ? jx_str(hit, "id") : ""));
		}
	}
	if (dry_run) {
		for (size_t i = 0; i < n; i++)
			if (w[i].lrec && !w[i].id)
				w[i].made = 1;
	} else if ((rc = link_create(c, l->obj, its, w, n, what, err)) < 0) {
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (its[i].err.status || (!w[i].id && !w[i].made))
			continue;
		if (w[i].id && *w[i].id) {
			jv_set(its[i].doc, its[i].fields, l->remote, jv_string(its[i].doc, w[i].id));
			if (l->obj == OBJ_ACCOUNT)
				acc[i] = w[i].id;
		} else if (w[i].made) {
			its[i].made |= bit; /* --dry-run: the link would be made */
		}
	}
done:
	json_decref(found[0]);
	json_decref(found[1]);
	free(w);
	return rc;
}

/* Does fields hold a value for one of remote's names ("a|b")?  Under
 * --dry-run a link that would be made (bit k of made: link k) counts.
 * first: the first name. */
static int has_any(const struct jv_doc *d, jv_t fields, const char *remote, const struct prov_link *l,
		   unsigned made, char *first, size_t n)
{
	const char *p = remote;
	int have = 0;

	first[0] = '\0';
	while (*p) {
		size_t len = strcspn(p, "|");
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		if (!first[0])
			snprintf(first, n, "%s", name);
		jv_t v = jv_get(d, fields, name);
		if (v && !jv_is_empty(d, v))
			have = 1;
		for (int k = 0; l && l[k].remote && k < LINKS_MAX; k++)
			if ((made & (1u << k)) && !strcmp(l[k].remote, name))
				have = 1;
		p += len;
		if (*p == '|')
			p++;
	}
	return have;
}

/* A value of the same meaning for a required field, from the record's
 * unified keys ("company,first_name+last_name"), or JV_NONE. */
static jv_t derive(struct jv_doc *d, jv_t rec, const char *from)
{
	struct buf b = BUF_INIT;
	const char *p = from;
	jv_t out = JV_NONE;

	while (p && *p && !out) {
		size_t len = strcspn(p, ",");
		const char *q = p, *end = p + len;
		buf_reset(&b);
		while (q < end) {
			size_t kl = strcspn(q, "+,");
			char key[64];
			if (q + kl > end)
				kl = (size_t)(end - q);
			snprintf(key, sizeof(key), "%.*s", (int)kl, q);
			const char *v = jv_str(d, rec, key);
			if (v && *v)
				buf_addf(&b, "%s%s", b.len ? " " : "", v);
			q += kl;
			if (q < end && *q == '+')
				q++;
		}
		if (b.len)
			out = jv_string(d, b.buf);
		p = *end == ',' ? end + 1 : end;
	}
	buf_release(&b);
	return out;
}

static void required(struct ctx *c, enum obj o, struct linked_item *it)
{
	const struct prov_object *po = c->prov->obj[o];
	struct jv_doc *d = it->doc;
	char first[128];

	for (const struct prov_required *r = po->required; r && r->remote && !it->err.status; r++) {
		if (has_any(d, it->fields, r->remote, po->links, it->made, first, sizeof(first)))
			continue;
		jv_t v = r->from ? derive(d, it->rec, r->from) : JV_NONE;
		if (v) {
			jv_set(d, it->fields, dup_in(d, first), v);
			continue;
		}
		err_set(&it->err, CRM_ERECORD, "required_field", "%s requires %s (%s) to create a %s; the record has none",
			c->prov->name, r->key, r->remote, obj_name(o));
		snprintf(it->err.field, sizeof(it->err.field), "%s", r->key);
	}
}

/* Has rec a value for one of link l's keys? */
static int has_values(const struct jv_doc *d, jv_t rec, const struct prov_link *l)
{
	char k[64];

	for (const char *const *s = l->keys; *s; s++) {
		split_key(*s, k, sizeof(k));
		jv_t v = jv_get(d, rec, k);
		if (v && !jv_is_empty(d, v))
			return 1;
	}
	return 0;
}

int linked_creates(struct ctx *c, enum obj o, struct linked_item *its, size_t n, int dry_run,
		   struct crm_err *err)
{
	const struct prov_object *po = c->prov->obj[o];
	const struct prov_link *l = po ? po->links : NULL;
	const char **acc;
	int rc = 0;

	if (!po || (!l && !po->required) || !n)
		return 0;
	/* First as if every link with something to find were made: a record
	 * that fails anyway makes no company or person. */
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; l && l[k].remote && k < LINKS_MAX; k++)
			if (has_values(its[i].doc, its[i].rec, &l[k]))
				its[i].made |= 1u << k;
		required(c, o, &its[i]);
		its[i].made = 0;
	}
	acc = calloc(n, sizeof(*acc));
	/* Links in table order: the company before the person, who joins it. */
	for (int k = 0; l && l[k].remote && k < LINKS_MAX && rc == 0; k++)
		rc = do_link(c, &l[k], 1u << k, its, n, dry_run, acc, err);
	free(acc);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (!its[i].err.status)
			required(c, o, &its[i]);
	return 0;
}
