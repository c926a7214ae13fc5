#include "map.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jx.h"
#include "timeutil.h"
#include "banned.h"

const struct map_entry *map_find_remote(const struct map_entry *m, const char *remote)
{
	for (; m && m->key; m++)
		if (!strcmp(m->remote, remote))
			return m;
	return NULL;
}

/* A provider value as a non-empty string, or NULL. */
static const char *text_of(const json_t *v, char *tmp, size_t n)
{
	const char *s = jx_text(v, tmp, n);
	return s && *s ? s : NULL;
}

static json_t *scalar_pull(enum map_kind k, const json_t *v)
{
	char tmp[64], out[TIME_BUFSZ];
	const char *s = text_of(v, tmp, sizeof(tmp));
	long long ms;
	char *end;

	if (!s)
		return json_null();
	switch (k) {
	case MK_INT: {
		if (json_is_integer(v))
			return json_integer(json_integer_value(v));
		double d = strtod(s, &end);
		/* Only finite values an integer can hold (a CRM may send "1e400"). */
		return *end || !(d > -9.2e18 && d < 9.2e18) ? json_null() : json_integer((json_int_t)d);
	}
	case MK_NUM: {
		if (json_is_number(v))
			return json_real(json_number_value(v));
		double d = strtod(s, &end);
		if (*end || !isfinite(d))
			return json_null(); /* also NaN and infinities */
		if (d > -9.2e18 && d < 9.2e18 && d == (double)(json_int_t)d && strchr(s, '.') == NULL)
			return json_integer((json_int_t)d);
		return json_real(d);
	}
	case MK_BOOL:
	case MK_NBOOL: {
		int b = json_is_true(v) || !strcmp(s, "true") || !strcmp(s, "1");
		return json_boolean(k == MK_NBOOL ? !b : b);
	}
	case MK_TIME:
		if (time_parse(s, &ms) < 0)
			return json_string(s);
		time_format(ms, out);
		return json_string(out);
	case MK_DATE:
		if (time_parse(s, &ms) < 0)
			return json_string(s);
		time_format_date(ms, out);
		return json_string(out);
	default:
		return json_string(s);
	}
}

static json_t *email_new(const char *addr, const char *type, int primary)
{
	json_t *o = json_object();
	json_object_set_new_nocheck(o, "email_address", json_string(addr));
	json_object_set_new_nocheck(o, "email_address_type", jx_str_new(type));
	json_object_set_new_nocheck(o, "primary", json_boolean(primary));
	return o;
}

static json_t *addr_slot(json_t *addrs, const char *type)
{
	size_t i;
	json_t *a;

	json_array_foreach(addrs, i, a) {
		const char *t = jx_str(a, "address_type");
		if ((!t && !type) || (t && type && !strcmp(t, type)))
			return a;
	}
	static const char *const parts[] = { "street_1", "street_2", "city", "state", "postal_code", "country" };
	a = json_object();
	for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
		json_object_set_new_nocheck(a, parts[k], json_null());
	json_object_set_new_nocheck(a, "address_type", jx_str_new(type));
	json_array_append_new(addrs, a);
	return a;
}

static int addr_empty(const json_t *a)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)a, k, v)
		if (strcmp(k, "address_type") && !json_is_null(v))
			return 0;
	return 1;
}

/* Is a provider field taken by the table or by --map? (A scan: tables are
 * short, and it spares a hash table per record.) */
static int used_field(const struct map_entry *m, const json_t *user_map, const char *k)
{
	const char *uk;
	json_t *v;

	for (; m && m->key; m++)
		if (m->remote[0] == k[0] && !strcmp(m->remote, k))
			return 1;
	json_object_foreach((json_t *)user_map, uk, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), k))
			return 1;
	return 0;
}

void map_pull(enum obj o, const struct map_entry *m, const json_t *fields,
	      const json_t *user_map, json_t *out)
{
	json_t *emails = NULL, *phones = NULL, *addrs = NULL, *rf;
	const char *k;
	json_t *v;

	if (record_key(o, "email_addresses"))
		emails = json_array();
	if (record_key(o, "phone_numbers"))
		phones = json_array();
	if (record_key(o, "addresses"))
		addrs = json_array();

	for (const struct map_entry *e = m; e && e->key; e++) {
		json_t *val = json_object_get(fields, e->remote);
		char tmp[64];
		const char *s;

		switch (e->kind) {
		case MK_EMAIL:
			if ((s = text_of(val, tmp, sizeof(tmp))) && emails)
				json_array_append_new(emails, email_new(s, e->type, (e->flags & MF_PRIMARY) != 0));
			break;
		case MK_EMAILS:
			if ((s = text_of(val, tmp, sizeof(tmp))) && emails) {
				char *copy = strdup(s), *save = NULL;
				for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save))
					if (*t)
						json_array_append_new(emails, email_new(t, e->type, 0));
				free(copy);
			}
			break;
		case MK_PHONE:
			if ((s = text_of(val, tmp, sizeof(tmp))) && phones)
			{
				json_t *ph = json_object();
				json_object_set_new_nocheck(ph, "phone_number", json_string(s));
				json_object_set_new_nocheck(ph, "phone_number_type", jx_str_new(e->type));
				json_array_append_new(phones, ph);
			}
			break;
		case MK_ADDR:
			if ((s = text_of(val, tmp, sizeof(tmp))) && addrs)
				json_object_set_new(addr_slot(addrs, e->type), e->sub, json_string(s));
			else if (addrs)
				addr_slot(addrs, e->type);
			break;
		default:
			if (!json_object_get(out, e->key) || json_is_null(json_object_get(out, e->key)))
				json_object_set_new(out, e->key, scalar_pull(e->kind, val));
		}
	}
	if (emails)
		json_object_set_new(out, "email_addresses", emails);
	if (phones)
		json_object_set_new(out, "phone_numbers", phones);
	if (addrs) {
		/* Drop address slots the CRM left empty. */
		for (size_t i = json_array_size(addrs); i-- > 0;)
			if (addr_empty(json_array_get(addrs, i)))
				json_array_remove(addrs, i);
		json_object_set_new(out, "addresses", addrs);
	}
	json_object_foreach((json_t *)user_map, k, v) {
		if (!json_is_string(v))
			continue;
		json_t *val = json_object_get(fields, json_string_value(v));
		json_object_set(out, k, val ? val : json_null());
	}
	rf = json_object();
	json_object_foreach((json_t *)fields, k, v)
		if (!json_is_null(v) && !used_field(m, user_map, k))
			json_object_set(rf, k, v);
	json_object_set_new(out, "remote_fields", rf);
}

static json_t *scalar_push(enum map_kind k, const json_t *v)
{
	char out[TIME_BUFSZ];
	long long ms;

	if (!v || json_is_null(v))
		return json_null();
	switch (k) {
	case MK_TIME:
		if (json_is_string(v) && time_parse(json_string_value(v), &ms) == 0) {
			time_format(ms, out);
			return json_string(out);
		}
		break;
	case MK_DATE:
		if (json_is_string(v) && time_parse(json_string_value(v), &ms) == 0) {
			time_format_date(ms, out);
			return json_string(out);
		}
		break;
	case MK_NBOOL:
		if (json_is_boolean(v))
			return json_boolean(!json_is_true(v));
		break;
	case MK_REL:
		if (json_is_integer(v)) {
			char tmp[32];
			snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			return json_string(tmp);
		}
		break;
	default:
		break;
	}
	return json_deep_copy(v);
}

/* Picks, for each map entry of a list kind, the input element it takes:
 * first an element whose type matches the entry's, then any left over. */
static json_t *pick(json_t *list, const char *typekey, const char *type, json_t *taken)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		const char *t = jx_str(e, typekey);
		if (json_is_true(json_array_get(taken, i)))
			continue;
		if ((t && type && !strcmp(t, type)) || (!t && !type)) {
			json_array_set_new(taken, i, json_true());
			return e;
		}
	}
	return NULL;
}

static json_t *pick_any(json_t *list, json_t *taken, const struct map_entry *m,
			enum map_kind kind, const char *typekey)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		const char *t = jx_str(e, typekey);
		int has_slot = 0;
		if (json_is_true(json_array_get(taken, i)))
			continue;
		/* Leave an element for the entry of its own type, if the table has one. */
		for (const struct map_entry *x = m; t && x->key; x++)
			if (x->kind == kind && !(x->flags & MF_RO) && x->type && !strcmp(x->type, t))
				has_slot = 1;
		if (has_slot)
			continue;
		json_array_set_new(taken, i, json_true());
		return e;
	}
	return NULL;
}

static json_t *falses(size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_false());
	return a;
}

json_t *map_push(enum obj o, const struct map_entry *m, const json_t *rec,
		 const json_t *user_map, int native,
		 int (*writable)(void *ctx, const char *name), void *ctx)
{
	json_t *out = json_object();
	json_t *emails = json_object_get(rec, "email_addresses");
	json_t *phones = json_object_get(rec, "phone_numbers");
	json_t *addrs = json_object_get(rec, "addresses");
	json_t *etaken = falses(json_array_size(emails));
	json_t *ptaken = falses(json_array_size(phones));
	const char *primary = record_primary_email(rec);
	const char *k;
	json_t *v;

	(void)o;
	/* Custom and other provider fields first, so mapped keys win. */
	if (native) {
		json_object_foreach(json_object_get(rec, "remote_fields"), k, v)
			if (!writable || writable(ctx, k))
				json_object_set(out, k, v);
	}
	for (const struct map_entry *e = m; e && e->key; e++) {
		json_t *val = NULL;
		if (e->flags & MF_RO)
			continue;
		switch (e->kind) {
		case MK_EMAIL:
			if (!json_is_array(emails))
				continue;
			if (e->flags & MF_PRIMARY) {
				val = primary ? json_string(primary) : json_string("");
				size_t i;
				json_t *x;
				json_array_foreach(emails, i, x)
					if (primary && !strcmp(jx_str(x, "email_address") ? jx_str(x, "email_address") : "", primary))
						json_array_set_new(etaken, i, json_true());
			} else {
				json_t *x = pick(emails, "email_address_type", e->type, etaken);
				if (!x)
					x = pick_any(emails, etaken, m, MK_EMAIL, "email_address_type");
				val = json_string(x && jx_str(x, "email_address") ? jx_str(x, "email_address") : "");
			}
			break;
		case MK_PHONE: {
			if (!json_is_array(phones))
				continue;
			json_t *x = pick(phones, "phone_number_type", e->type, ptaken);
			if (!x)
				x = pick_any(phones, ptaken, m, MK_PHONE, "phone_number_type");
			val = json_string(x && jx_str(x, "phone_number") ? jx_str(x, "phone_number") : "");
			break;
		}
		case MK_ADDR: {
			if (!json_is_array(addrs))
				continue;
			json_t *x = NULL, *a;
			size_t i;
			json_array_foreach(addrs, i, a) {
				const char *t = jx_str(a, "address_type");
				if ((t && e->type && !strcmp(t, e->type)) || (!e->type && i == 0)) {
					x = a;
					break;
				}
			}
			if (!x && json_array_size(addrs) && e->type) {
				/* No address of this type: the first untyped one fills the first slot. */
				const struct map_entry *first = NULL;
				for (const struct map_entry *f = m; f->key; f++)
					if (f->kind == MK_ADDR && !(f->flags & MF_RO)) {
						first = f;
						break;
					}
				if (first && first->type && !strcmp(first->type, e->type) &&
				    !jx_str(json_array_get(addrs, 0), "address_type"))
					x = json_array_get(addrs, 0);
			}
			json_t *part = x ? json_object_get(x, e->sub) : NULL;
			val = part && json_is_string(part) ? json_copy(part) : json_string("");
			break;
		}
		case MK_EMAILS:
			continue;
		default:
			if (!json_object_get(rec, e->key))
				continue;
			val = scalar_push(e->kind, json_object_get(rec, e->key));
		}
		json_object_set_new(out, e->remote, val);
	}
	json_object_foreach((json_t *)user_map, k, v)
		if (json_is_string(v) && json_object_get(rec, k))
			json_object_set(out, json_string_value(v), json_object_get(rec, k));
	json_decref(etaken);
	json_decref(ptaken);
	return out;
}

int map_value_equal(const struct map_entry *m, const char *remote,
		    const json_t *a, const json_t *b)
{
	const struct map_entry *e = map_find_remote(m, remote);
	char ta[64], tb[64];
	const char *sa = jx_text(a, ta, sizeof(ta)), *sb = jx_text(b, tb, sizeof(tb));

	if (jx_is_empty(a) && jx_is_empty(b))
		return 1;
	if (e && sa && sb) {
		long long ma, mb;
		char *ea, *eb;
		switch (e->kind) {
		case MK_TIME:
			if (time_parse(sa, &ma) == 0 && time_parse(sb, &mb) == 0)
				return ma == mb;
			break;
		case MK_DATE:
			if (time_parse(sa, &ma) == 0 && time_parse(sb, &mb) == 0)
				return ma / 86400000 == mb / 86400000;
			break;
		case MK_INT:
		case MK_NUM: {
			double da = strtod(sa, &ea), db = strtod(sb, &eb);
			if (!*ea && !*eb)
				return da == db;
			break;
		}
		case MK_EMAIL:
			return strcasecmp(sa, sb) == 0;
		default:
			break;
		}
	}
	return jx_text_equal(a, b);
}
