#include "map.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jv.h"
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
static const char *text_of(const struct jv_doc *d, jv_t v, char *tmp, size_t n)
{
	const char *s = jv_text(d, v, tmp, n);
	return s && *s ? s : NULL;
}

static jv_t scalar_pull(struct jv_doc *d, enum map_kind k, jv_t v)
{
	char tmp[64], out[TIME_BUFSZ];
	const char *s = text_of(d, v, tmp, sizeof(tmp));
	long long ms;
	char *end;

	if (!s)
		return JV_NULL;
	switch (k) {
	case MK_INT: {
		if (jv_typeof(d, v) == JVT_INT)
			return v;
		double x = strtod(s, &end);
		/* Only finite values an integer can hold (a CRM may send "1e400"). */
		return *end || !(x > -9.2e18 && x < 9.2e18) ? JV_NULL : jv_int(d, (long long)x);
	}
	case MK_NUM: {
		if (jv_typeof(d, v) == JVT_INT)
			return jv_real(d, (double)d->v[v].u.i);
		if (jv_typeof(d, v) == JVT_REAL)
			return v;
		double x = strtod(s, &end);
		if (*end || !isfinite(x))
			return JV_NULL; /* also NaN and infinities */
		if (x > -9.2e18 && x < 9.2e18 && x == (double)(long long)x && strchr(s, '.') == NULL)
			return jv_int(d, (long long)x);
		return jv_real(d, x);
	}
	case MK_BOOL:
	case MK_NBOOL: {
		int b = jv_is_true(d, v) || !strcmp(s, "true") || !strcmp(s, "1");
		return jv_bool(k == MK_NBOOL ? !b : b);
	}
	case MK_TIME:
		if (jv_is_str(d, v) && time_canonical(s, jv_size(d, v)))
			return v; /* already the canonical spelling: shared */
		if (time_parse(s, &ms) < 0)
			return jv_is_str(d, v) ? v : jv_string(d, s);
		time_format(ms, out);
		/* Already in the canonical spelling: share it. */
		return jv_is_str(d, v) && !strcmp(s, out) ? v : jv_string(d, out);
	case MK_DATE:
		if (time_parse(s, &ms) < 0)
			return jv_is_str(d, v) ? v : jv_string(d, s);
		time_format_date(ms, out);
		return jv_is_str(d, v) && !strcmp(s, out) ? v : jv_string(d, out);
	default:
		return jv_is_str(d, v) ? v : jv_string(d, s);
	}
}

jv_t map_phone(struct jv_doc *d, jv_t number, const char *type)
{
	jv_t o = jv_obj(d);
	jv_add_key(d, o, JV_LIT("phone_number"), number);
	jv_add_key(d, o, JV_LIT("phone_number_type"), jv_str_or_null(d, type));
	return o;
}

jv_t map_email(struct jv_doc *d, jv_t addr, const char *type, int primary)
{
	jv_t o = jv_obj(d);
	jv_add_key(d, o, JV_LIT("email_address"), addr);
	jv_add_key(d, o, JV_LIT("email_address_type"), jv_str_or_null(d, type));
	jv_add_key(d, o, JV_LIT("primary"), jv_bool(primary));
	return o;
}

static jv_t addr_slot(struct jv_doc *d, jv_t addrs, const char *type, jv_t *last, const char **last_type)
{
	jv_t a;

	/* The table lists an address's parts together: the last slot is it. */
	if (*last && (*last_type == type || (type && *last_type && !strcmp(type, *last_type))))
		return *last;
	*last_type = type;
	for (uint32_t m = jv_items(d, addrs); m; m = jv_next(d, m)) {
		const char *t = jv_str(d, a = jv_val(d, m), "address_type");
		if ((!t && !type) || (t && type && !strcmp(t, type)))
			return *last = a;
	}
	static const char *const parts[] = { "street_1", "street_2", "city", "state", "postal_code", "country" };
	a = jv_obj(d);
	for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
		jv_add_key(d, a, parts[k], strlen(parts[k]), 1, JV_NULL);
	jv_add_key(d, a, JV_LIT("address_type"), jv_str_or_null(d, type));
	jv_append(d, addrs, a);
	return *last = a;
}

static int addr_empty(const struct jv_doc *d, jv_t a)
{
	for (uint32_t m = jv_members(d, a); m; m = jv_next(d, m))
		if (strcmp(jv_key(d, m), "address_type") && !jv_is_null(d, jv_val(d, m)))
			return 0;
	return 1;
}

void map_pull(enum obj o, const struct map_entry *m, struct jv_doc *d, jv_t fields,
	      const json_t *user_map, jv_t out)
{
	jv_t emails = JV_NONE, phones = JV_NONE, addrs = JV_NONE, rf;
	const char *k;
	json_t *v;

	/* The object's list keys, told by type (one pass, no string compare). */
	for (const struct ukey *u = record_keys(o); u->name; u++) {
		if (u->type == UT_EMAILS)
			emails = jv_arr(d);
		else if (u->type == UT_PHONES)
			phones = jv_arr(d);
		else if (u->type == UT_ADDRESSES)
			addrs = jv_arr(d);
	}

	/* Lookups in the order of the answer cost a step each (jv_get_hint);
	 * each field found is marked taken, for remote_fields below. */
	uint32_t hint = 0;
	jv_t last_addr = JV_NONE;
	const char *last_type = NULL;
	for (const struct map_entry *e = m; e && e->key; e++) {
		jv_t val = jv_get_hint(d, fields, e->remote, &hint);
		char tmp[64];
		if (val)
			d->m[hint].mark = 1;
		const char *s;

		switch (e->kind) {
		case MK_EMAIL:
			if ((s = text_of(d, val, tmp, sizeof(tmp))) && emails)
				jv_append(d, emails, map_email(d, jv_is_str(d, val) ? val : jv_string(d, s), e->type,
							       (e->flags & MF_PRIMARY) != 0));
			break;
		case MK_EMAILS:
			if ((s = text_of(d, val, tmp, sizeof(tmp))) && emails) {
				for (const char *t = s; *t;) {
					size_t n = strcspn(t, ";");
					if (n)
						jv_append(d, emails, map_email(d, jv_stringn(d, t, n), e->type, 0));
					t += n + (t[n] == ';');
				}
			}
			break;
		case MK_PHONE:
			if ((s = text_of(d, val, tmp, sizeof(tmp))) && phones) {
				jv_append(d, phones, map_phone(d, jv_is_str(d, val) ? val : jv_string(d, s), e->type));
			}
			break;
		case MK_ADDR:
			if ((s = text_of(d, val, tmp, sizeof(tmp))) && addrs)
				jv_set_key(d, addr_slot(d, addrs, e->type, &last_addr, &last_type), e->sub, strlen(e->sub), 1,
					   jv_is_str(d, val) ? val : jv_string(d, s));
			else if (addrs)
				addr_slot(d, addrs, e->type, &last_addr, &last_type);
			break;
		default: {
			/* The first non-null of the fields mapped to one key wins. */
			uint32_t cell = jv_cell(d, out, e->key, strlen(e->key), 1); /* unified keys are identifiers */
			if (cell && jv_is_null(d, d->m[cell].val)) {
				jv_t x = scalar_pull(d, e->kind, val);
				if (x)
					d->m[cell].val = x;
			}
		}
		}
	}
	if (emails)
		jv_set_key(d, out, JV_LIT("email_addresses"), emails);
	if (phones)
		jv_set_key(d, out, JV_LIT("phone_numbers"), phones);
	if (addrs) {
		/* Drop address slots the CRM left empty. */
		for (size_t i = jv_size(d, addrs); i-- > 0;)
			if (addr_empty(d, jv_at(d, addrs, i)))
				jv_remove(d, addrs, i);
		jv_set_key(d, out, JV_LIT("addresses"), addrs);
	}
	json_object_foreach((json_t *)user_map, k, v) {
		if (!json_is_string(v))
			continue;
		jv_t val = jv_get_hint(d, fields, json_string_value(v), &hint);
		if (val)
			d->m[hint].mark = 1;
		jv_set(d, out, k, val ? val : JV_NULL);
	}
	/* The rest, not null, as they are (keys of one object: no repeats). */
	rf = jv_obj(d);
	for (uint32_t c = jv_members(d, fields); c; c = jv_next(d, c)) {
		if (!d->m[c].mark && !jv_is_null(d, jv_val(d, c)))
			jv_add_key(d, rf, jv_key(d, c), d->m[c].klen, d->m[c].plain, jv_val(d, c));
		d->m[c].mark = 0;
	}
	jv_set_key(d, out, JV_LIT("remote_fields"), rf);
}

static jv_t scalar_push(struct jv_doc *d, enum map_kind k, jv_t v)
{
	char out[TIME_BUFSZ];
	const char *s = jv_sval(d, v);
	long long ms;

	if (jv_is_null(d, v))
		return JV_NULL;
	switch (k) {
	case MK_TIME:
		if (s && time_parse(s, &ms) == 0) {
			time_format(ms, out);
			return jv_string(d, out);
		}
		break;
	case MK_DATE:
		if (s && time_parse(s, &ms) == 0) {
			time_format_date(ms, out);
			return jv_string(d, out);
		}
		break;
	case MK_NBOOL:
		if (jv_typeof(d, v) == JVT_TRUE || jv_typeof(d, v) == JVT_FALSE)
			return jv_bool(!jv_is_true(d, v));
		break;
	case MK_REL:
		if (jv_typeof(d, v) == JVT_INT || jv_typeof(d, v) == JVT_NUM) {
			char tmp[32];
			return jv_string(d, jv_text(d, v, tmp, sizeof(tmp)));
		}
		break;
	default:
		break;
	}
	return v; /* values may sit in several containers: shared, not copied */
}

/* Picks, for each map entry of a list kind, the input element it takes:
 * first an element whose type matches the entry's, then any left over.
 * A taken element's cell is marked (cleared again by map_push). */
static jv_t pick(struct jv_doc *d, jv_t list, const char *typekey, const char *type)
{
	for (uint32_t c = jv_items(d, list); c; c = jv_next(d, c)) {
		const char *t = jv_str(d, jv_val(d, c), typekey);
		if (d->m[c].mark)
			continue;
		if ((t && type && !strcmp(t, type)) || (!t && !type)) {
			d->m[c].mark = 1;
			return jv_val(d, c);
		}
	}
	return JV_NONE;
}

static jv_t pick_any(struct jv_doc *d, jv_t list, const struct map_entry *m, enum map_kind kind,
		     const char *typekey)
{
	for (uint32_t c = jv_items(d, list); c; c = jv_next(d, c)) {
		const char *t = jv_str(d, jv_val(d, c), typekey);
		int has_slot = 0;
		if (d->m[c].mark)
			continue;
		/* Leave an element for the entry of its own type, if the table has one. */
		for (const struct map_entry *x = m; t && x->key; x++)
			if (x->kind == kind && !(x->flags & MF_RO) && x->type && !strcmp(x->type, t))
				has_slot = 1;
		if (has_slot)
			continue;
		d->m[c].mark = 1;
		return jv_val(d, c);
	}
	return JV_NONE;
}

static void unmark(struct jv_doc *d, jv_t list)
{
	for (uint32_t c = jv_items(d, list); c; c = jv_next(d, c))
		d->m[c].mark = 0;
}

/* A string member of an element picked from a list; JV_NONE when there is
 * no such element or member (nothing said about it), null when the member
 * is null (or not a string). */
static jv_t member_of(struct jv_doc *d, jv_t elem, const char *key)
{
	jv_t v = elem ? jv_get(d, elem, key) : JV_NONE;
	return !v || jv_is_str(d, v) ? v : JV_NULL;
}

/* Is street, a street_1 of address addr, only the address's other parts
 * joined with commas, in any order ("80331, München, BY, Germany")?  That
 * is a one-line address a CRM composed from them (Pipedrive's value), no
 * street: written as one, another CRM would show the parts twice. */
static int street_is_parts(struct jv_doc *d, jv_t addr, const char *street)
{
	static const char *const parts[] = { "street_2", "city", "state", "postal_code", "country", NULL };
	const char *s = street;
	int n = 0;

	while (s && *s) {
		const char *end = strchr(s, ','), *b = s, *e = end ? end : s + strlen(s);
		int found = 0;
		while (b < e && *b == ' ')
			b++;
		while (e > b && e[-1] == ' ')
			e--;
		for (int i = 0; parts[i] && !found; i++) {
			const char *v = jv_str(d, addr, parts[i]);
			found = v && *v && strlen(v) == (size_t)(e - b) && !memcmp(v, b, (size_t)(e - b));
		}
		if (!found)
			return 0;
		n++;
		s = end ? end + 1 : NULL;
	}
	return n > 0;
}

jv_t map_push(enum obj o, const struct map_entry *m, struct jv_doc *d, jv_t rec,
	      const json_t *user_map, unsigned flags,
	      int (*writable)(void *ctx, const char *name), void *ctx)
{
	int clear = (flags & MP_CLEAR_NULLS) != 0;
	jv_t out = jv_obj(d);
	jv_t emails = jv_get(d, rec, "email_addresses");
	jv_t phones = jv_get(d, rec, "phone_numbers");
	jv_t addrs = jv_get(d, rec, "addresses");
	int eok = jv_typeof(d, emails) == JVT_ARR, pok = jv_typeof(d, phones) == JVT_ARR;
	int aok = jv_typeof(d, addrs) == JVT_ARR;
	const char *primary = record_primary_email(d, rec);
	const char *k;
	json_t *v;
	uint64_t k0s[4] = { 0, 0, 0, 0 };

	/* The first bytes of the record's keys: a table key whose first byte
	 * is not among them is not looked up (most of a table is absent). */
	for (uint32_t c = jv_members(d, rec); c; c = jv_next(d, c))
		k0s[(unsigned char)d->m[c].k0 >> 6] |= 1ULL << ((unsigned char)d->m[c].k0 & 63);

	(void)o;
	/* Custom and other provider fields first, so mapped keys win.  set:
	 * a bit per (length, first byte) of the names in out, so that a name
	 * out cannot have yet is added without a look for it. */
	uint64_t set = 0;
#define NAME_BIT(n, c) (1ULL << (((n) * 7u + (unsigned char)(c)) & 63))
	if (flags & MP_NATIVE) {
		for (uint32_t c = jv_members(d, jv_get(d, rec, "remote_fields")); c; c = jv_next(d, c)) {
			const struct jv_mem mc = d->m[c];
			if (jv_is_null(d, mc.val) && !clear)
				continue; /* no value given */
			if (!writable || writable(ctx, mc.key)) {
				jv_add_key(d, out, mc.key, mc.klen, mc.plain, mc.val);
				set |= NAME_BIT(mc.klen, mc.k0);
			}
		}
	}
	for (const struct map_entry *e = m; e && e->key; e++) {
		jv_t val = JV_NONE;
		if (e->flags & MF_RO)
			continue;
		switch (e->kind) {
		case MK_EMAIL:
			if (!eok)
				continue;
			if (e->flags & MF_PRIMARY) {
				val = primary ? jv_string_ref(d, primary) : JV_NONE;
				for (uint32_t c = jv_items(d, emails); c; c = jv_next(d, c)) {
					const char *a = jv_str(d, jv_val(d, c), "email_address");
					if (primary && !strcmp(a ? a : "", primary))
						d->m[c].mark = 1;
				}
			} else {
				jv_t x = pick(d, emails, "email_address_type", e->type);
				if (!x)
					x = pick_any(d, emails, m, MK_EMAIL, "email_address_type");
				val = member_of(d, x, "email_address");
			}
			break;
		case MK_PHONE: {
			if (!pok)
				continue;
			jv_t x = pick(d, phones, "phone_number_type", e->type);
			if (!x)
				x = pick_any(d, phones, m, MK_PHONE, "phone_number_type");
			val = member_of(d, x, "phone_number");
			break;
		}
		case MK_ADDR: {
			if (!aok)
				continue;
			jv_t x = JV_NONE, first_addr = jv_at(d, addrs, 0);
			size_t i = 0;
			for (uint32_t c = jv_items(d, addrs); c; c = jv_next(d, c), i++) {
				const char *t = jv_str(d, jv_val(d, c), "address_type");
				if ((t && e->type && !strcmp(t, e->type)) || (!e->type && i == 0)) {
					x = jv_val(d, c);
					break;
				}
			}
			if (!x && first_addr && e->type) {
				/* No address of this type: the first untyped one fills the first slot. */
				const struct map_entry *first = NULL;
				for (const struct map_entry *f = m; f->key; f++)
					if (f->kind == MK_ADDR && !(f->flags & MF_RO)) {
						first = f;
						break;
					}
				if (first && first->type && !strcmp(first->type, e->type) &&
				    !jv_str(d, first_addr, "address_type"))
					x = first_addr;
			}
			val = member_of(d, x, e->sub);
			if (val && !strcmp(e->sub, "street_1") && street_is_parts(d, x, jv_str(d, x, "street_1")))
				val = JV_NONE;
			break;
		}
		case MK_EMAILS:
			continue;
		default: {
			unsigned char k0 = (unsigned char)e->key[0];
			jv_t in = k0s[k0 >> 6] >> (k0 & 63) & 1 ? jv_get(d, rec, e->key) : JV_NONE;
			if (!in)
				continue;
			val = scalar_push(d, e->kind, in);
		}
		}
		/* Absent, or null: no value given, which erases nothing (a
		 * null clears with --clear-nulls). */
		if (!val || (jv_is_null(d, val) && !clear))
			continue;
		/* (table names need no escaping) */
		size_t rl = strlen(e->remote);
		uint64_t bit = NAME_BIT(rl, e->remote[0]);
		if (set & bit)
			jv_set_key(d, out, e->remote, rl, 1, val);
		else
			jv_add_key(d, out, e->remote, rl, 1, val);
		set |= bit;
	}
#undef NAME_BIT
	json_object_foreach((json_t *)user_map, k, v) {
		jv_t in = json_is_string(v) ? jv_get(d, rec, k) : JV_NONE;
		if (in && (clear || !jv_is_null(d, in)))
			jv_set(d, out, json_string_value(v), in);
	}
	if (eok)
		unmark(d, emails);
	if (pok)
		unmark(d, phones);
	return out;
}

/* Phone numbers as dialled: the same digits (and the same leading '+'),
 * whatever spaces, dots, dashes and brackets a CRM formats them with
 * ("+1 (264) 555-5101" and "+1 264-555-5101").  Letters or an extension
 * make a number compared as written. */
static int phone_digits(const char *s, char *out, size_t n)
{
	size_t k = 0;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			if (k + 1 >= n)
				return -1;
			out[k++] = *s;
		} else if (*s == '+' && k == 0) {
			out[k++] = '+';
		} else if (!strchr(" .-()/\t", *s)) {
			return -1;
		}
	}
	out[k] = '\0';
	return 0;
}

static int phone_equal(const char *a, const char *b)
{
	char x[64], y[64];

	if (phone_digits(a, x, sizeof(x)) < 0 || phone_digits(b, y, sizeof(y)) < 0)
		return strcmp(a, b) == 0;
	return strcmp(x, y) == 0;
}

int map_value_equal(const struct map_entry *m, const char *remote, const struct jv_doc *d,
		    jv_t a, jv_t b)
{
	const struct map_entry *e = map_find_remote(m, remote);
	char ta[64], tb[64];
	const char *sa = jv_text(d, a, ta, sizeof(ta)), *sb = jv_text(d, b, tb, sizeof(tb));

	if (jv_is_empty(d, a) && jv_is_empty(d, b))
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
		case MK_PHONE:
			return phone_equal(sa, sb);
		default:
			break;
		}
	}
	return jv_text_equal(d, a, b);
}

/* Appends the name part `remote` of fields (else of have) to b, words
 * separated by one space. */
static size_t name_part(const struct jv_doc *d, jv_t fields, jv_t have, const char *remote, char *b, size_t k,
			size_t n)
{
	jv_t v = jv_get(d, fields, remote);
	const char *s = jv_str(d, v ? fields : have, remote);

	for (; s && *s; s++) {
		int sp = *s == ' ' || *s == '\t' || *s == '\n';
		if (sp && (k == 0 || b[k - 1] == ' '))
			continue;
		if (k + 2 >= n)
			return n;
		b[k++] = sp ? ' ' : *s;
	}
	if (k && b[k - 1] != ' ' && k + 2 < n)
		b[k++] = ' ';
	return k;
}

int map_name_same(const struct map_entry *m, const struct jv_doc *d, jv_t fields, jv_t have)
{
	char a[512], b[512];
	size_t ka = 0, kb = 0;

	for (const struct map_entry *e = m; e && e->key; e++)
		if (e->flags & MF_NAMEPART) {
			ka = name_part(d, fields, have, e->remote, a, ka, sizeof(a));
			kb = name_part(d, JV_NONE, have, e->remote, b, kb, sizeof(b));
			if (ka >= sizeof(a) || kb >= sizeof(b))
				return 0;
		}
	return ka == kb && !memcmp(a, b, ka);
}

int map_value_held(const struct map_entry *m, const char *remote, const struct jv_doc *d, jv_t v,
		   jv_t have)
{
	const struct map_entry *e = map_find_remote(m, remote);

	if (!e || (e->kind != MK_EMAIL && e->kind != MK_PHONE) || (e->flags & MF_PRIMARY) ||
	    !jv_is_empty(d, jv_get(d, have, remote)))
		return 0;
	for (const struct map_entry *f = m; f->key; f++)
		if (f != e && f->kind == e->kind && !strcmp(f->key, e->key) &&
		    map_value_equal(m, f->remote, d, v, jv_get(d, have, f->remote)))
			return 1;
	return 0;
}

/* Is every address (number) of list key `key` of rec in a field of out
 * that a table entry of kind `kind` writes?  An element map_push had no
 * slot for (a third email where the CRM has two) is not. */
static int list_stored(const struct map_entry *m, struct jv_doc *d, jv_t rec, jv_t out, const char *key,
		       enum map_kind kind, const char *sub)
{
	jv_t list = jv_get(d, rec, key);

	for (uint32_t c = jv_items(d, list); c; c = jv_next(d, c)) {
		const char *a = jv_str(d, jv_val(d, c), sub);
		int found = 0;
		if (!a || !*a)
			continue;
		for (const struct map_entry *e = m; e->key && !found; e++) {
			const char *w = e->kind == kind && !(e->flags & MF_RO) ? jv_str(d, out, e->remote) : NULL;
			found = w && (kind == MK_EMAIL ? !strcasecmp(w, a) : !strcmp(w, a));
		}
		if (!found)
			return 0;
	}
	return 1;
}

void map_not_stored(enum obj o, const struct map_entry *m, struct jv_doc *d, jv_t rec, jv_t out,
		    int (*writable)(void *ctx, const char *name), void (*warn)(void *ctx, const char *key),
		    void *ctx)
{
	int stage = 0;

	for (const struct map_entry *e = m; e && e->key; e++)
		stage |= (e->flags & MF_STAGE) != 0;
	for (const struct ukey *u = record_keys(o); u->name; u++) {
		int stored = 0;
		/* A conversion (converted_*) is made by the CRM's convert
		 * action, never by a write: a read-only one is not stored. */
		int conv = !strncmp(u->name, "converted_", 10);
		if (stage && !strcmp(u->name, "status"))
			continue;
		if (jv_is_empty(d, jv_get(d, rec, u->name)))
			continue;
		/* A read-only entry: the CRM keeps its own value of a time it
		 * computes (last activity), which no write could set, and a
		 * derived entry ("@domain" from the website) is stored by the
		 * field it comes from; any other read-only value (Pipedrive's
		 * lead source) is lost.  A relation here is this CRM's id
		 * (map_relation dropped the foreign ones it could not
		 * translate): stored where the table writes it. */
		for (const struct map_entry *e = m; e && e->key && !stored; e++) {
			if (strcmp(e->key, u->name))
				continue;
			if (e->flags & MF_RO)
				stored = !conv && u->type != UT_REL && (u->type == UT_TIME || e->remote[0] == '@');
			else
				stored = e->remote[0] == '@' || u->type == UT_REL || !writable || writable(ctx, e->remote);
		}
		if (stored && u->type == UT_EMAILS)
			stored = list_stored(m, d, rec, out, u->name, MK_EMAIL, "email_address");
		else if (stored && u->type == UT_PHONES)
			stored = list_stored(m, d, rec, out, u->name, MK_PHONE, "phone_number");
		if (!stored)
			warn(ctx, u->name);
	}
}
