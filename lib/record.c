#include "record.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "timeutil.h"
#include "banned.h"

static const char *const names[OBJ_COUNT] = { "account", "contact", "user", "lead", "deal" };
static const char *const plurals[OBJ_COUNT] = { "accounts", "contacts", "users", "leads", "deals" };

const char *obj_name(enum obj o) { return names[o]; }
const char *obj_plural(enum obj o) { return plurals[o]; }

int obj_parse(const char *s)
{
	for (int i = 0; i < OBJ_COUNT; i++)
		if (!strcmp(s, names[i]) || !strcmp(s, plurals[i]))
			return i;
	return -1;
}

#define UK(n, t, v) { n, sizeof(n) - 1, t, v }

static const char *const deal_status[] = { "OPEN", "WON", "LOST", NULL };

static const struct ukey account_keys[] = {
	UK("name", UT_STRING, NULL), UK("description", UT_STRING, NULL),
	UK("industry", UT_STRING, NULL), UK("website", UT_STRING, NULL),
	UK("domain", UT_STRING, NULL), UK("number_of_employees", UT_INT, NULL),
	UK("phone_numbers", UT_PHONES, NULL), UK("addresses", UT_ADDRESSES, NULL),
	UK("owner", UT_REL, NULL), UK("last_activity_at", UT_TIME, NULL), { NULL, 0, 0, NULL }
};
static const struct ukey contact_keys[] = {
	UK("first_name", UT_STRING, NULL), UK("last_name", UT_STRING, NULL),
	UK("title", UT_STRING, NULL), UK("email_addresses", UT_EMAILS, NULL),
	UK("phone_numbers", UT_PHONES, NULL), UK("addresses", UT_ADDRESSES, NULL),
	UK("account", UT_REL, NULL), UK("owner", UT_REL, NULL),
	UK("last_activity_at", UT_TIME, NULL), { NULL, 0, 0, NULL }
};
static const struct ukey user_keys[] = {
	UK("name", UT_STRING, NULL), UK("first_name", UT_STRING, NULL),
	UK("last_name", UT_STRING, NULL), UK("email", UT_STRING, NULL),
	UK("is_active", UT_BOOL, NULL), { NULL, 0, 0, NULL }
};
static const struct ukey lead_keys[] = {
	UK("first_name", UT_STRING, NULL), UK("last_name", UT_STRING, NULL),
	UK("title", UT_STRING, NULL), UK("company", UT_STRING, NULL),
	UK("email_addresses", UT_EMAILS, NULL), UK("phone_numbers", UT_PHONES, NULL),
	UK("addresses", UT_ADDRESSES, NULL), UK("status", UT_STRING, NULL),
	UK("source", UT_STRING, NULL), UK("owner", UT_REL, NULL),
	UK("converted_at", UT_TIME, NULL), UK("converted_contact", UT_REL, NULL),
	UK("converted_account", UT_REL, NULL), { NULL, 0, 0, NULL }
};
static const struct ukey deal_keys[] = {
	UK("name", UT_STRING, NULL), UK("description", UT_STRING, NULL),
	UK("amount", UT_NUMBER, NULL), UK("currency", UT_STRING, NULL),
	UK("stage", UT_STRING, NULL), UK("pipeline", UT_STRING, NULL), UK("status", UT_ENUM, deal_status),
	UK("probability", UT_NUMBER, NULL), UK("close_date", UT_DATE, NULL),
	UK("account", UT_REL, NULL), UK("owner", UT_REL, NULL),
	UK("last_activity_at", UT_TIME, NULL), { NULL, 0, 0, NULL }
};
static const struct ukey *const keys[OBJ_COUNT] = {
	account_keys, contact_keys, user_keys, lead_keys, deal_keys
};

const struct ukey *record_keys(enum obj o) { return keys[o]; }

const struct ukey *record_key(enum obj o, const char *name)
{
	for (const struct ukey *k = keys[o]; k->name; k++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

static const char *const meta[] = {
	"object", "provider", "remote_id", "remote_namespace", "remote_created_at",
	"remote_updated_at", "remote_deleted", "remote_deleted_at", "remote_fields",
	"remote_raw", "synced_at", "sync_run_id", "sync_profile", "sync_status",
	"sync_error", "sync_line", "sync_warnings", "source", NULL
};

int record_is_meta(const char *name)
{
	for (int i = 0; meta[i]; i++)
		if (!strcmp(meta[i], name))
			return 1;
	return 0;
}

static int bad(struct crm_err *err, const char *field, const char *want)
{
	err_set(err, CRM_ERECORD, "invalid_type", "%s must be %s", field, want);
	snprintf(err->field, sizeof(err->field), "%s", field);
	return CRM_ERECORD;
}

static int check_list(const struct jv_doc *d, jv_t v, const char *field, const char *need,
		      struct crm_err *err)
{
	if (jv_typeof(d, v) != JVT_ARR)
		return bad(err, field, "an array of objects");
	for (uint32_t m = jv_items(d, v); m; m = jv_next(d, m)) {
		jv_t e = jv_val(d, m);
		if (jv_typeof(d, e) != JVT_OBJ)
			return bad(err, field, "an array of objects");
		if (need) {
			enum jv_type t = jv_typeof(d, jv_get(d, e, need));
			if (t != JVT_STR && t != JVT_NULL) /* absent is not allowed either */
				return bad(err, field, "an array of objects with a string value");
		}
	}
	return 0;
}

int record_validate(enum obj o, const struct jv_doc *d, jv_t rec, struct crm_err *err)
{
	jv_t val[32] = { 0 }, rf = JV_NONE; /* 32: more than any object has keys */

	/* One pass over the record's members finds every key's value (a
	 * lookup per key would scan the record once per key). */
	for (uint32_t m = jv_members(d, rec); m; m = jv_next(d, m)) {
		const struct jv_mem *c = &d->m[m];
		size_t i = 0;
		for (const struct ukey *k = keys[o]; k->name; k++, i++)
			if (k->len == c->klen && k->name[0] == c->k0 && !memcmp(k->name, c->key, c->klen)) {
				if (!val[i]) /* the first of a repeated key, as jv_get */
					val[i] = c->val;
				break;
			}
		if (!rf && c->klen == 13 && !memcmp(c->key, "remote_fields", 13))
			rf = c->val;
	}
	size_t ki = 0;
	for (const struct ukey *k = keys[o]; k->name; k++, ki++) {
		jv_t v = val[ki];
		enum jv_type t = jv_typeof(d, v);
		const char *s = jv_sval(d, v);
		long long ms;
		if (t == JVT_NONE || t == JVT_NULL)
			continue;
		switch (k->type) {
		case UT_STRING:
			if (t != JVT_STR)
				return bad(err, k->name, "a string");
			break;
		case UT_REL:
			if (t != JVT_STR && t != JVT_INT && t != JVT_NUM)
				return bad(err, k->name, "a string id");
			break;
		case UT_INT:
			if (t != JVT_INT && t != JVT_NUM)
				return bad(err, k->name, "an integer");
			break;
		case UT_NUMBER:
			if (t != JVT_INT && t != JVT_REAL && t != JVT_NUM)
				return bad(err, k->name, "a number");
			break;
		case UT_BOOL:
			if (t != JVT_TRUE && t != JVT_FALSE)
				return bad(err, k->name, "true or false");
			break;
		case UT_TIME:
			if (!s || time_parse(s, &ms) < 0)
				return bad(err, k->name, "an RFC 3339 time");
			break;
		case UT_DATE:
			if (!s || time_parse(s, &ms) < 0)
				return bad(err, k->name, "a date (YYYY-MM-DD)");
			break;
		case UT_ENUM: {
			int ok = 0;
			for (int i = 0; s && k->values[i]; i++)
				ok |= !strcmp(k->values[i], s);
			if (!ok)
				return bad(err, k->name, "one of OPEN, WON, LOST");
			break;
		}
		case UT_EMAILS:
			if (check_list(d, v, k->name, "email_address", err))
				return CRM_ERECORD;
			break;
		case UT_PHONES:
			if (check_list(d, v, k->name, "phone_number", err))
				return CRM_ERECORD;
			break;
		case UT_ADDRESSES:
			if (check_list(d, v, k->name, NULL, err))
				return CRM_ERECORD;
			break;
		}
	}
	if (!jv_is_null(d, rf) && jv_typeof(d, rf) != JVT_OBJ)
		return bad(err, "remote_fields", "an object");
	return 0;
}

const char *record_primary_email(const struct jv_doc *d, jv_t rec)
{
	const char *first = NULL;

	for (uint32_t m = jv_items(d, jv_get(d, rec, "email_addresses")); m; m = jv_next(d, m)) {
		jv_t e = jv_val(d, m);
		const char *a = jv_str(d, e, "email_address");
		if (!a || !*a)
			continue;
		if (jv_is_true(d, jv_get(d, e, "primary")))
			return a;
		if (!first)
			first = a;
	}
	return first;
}

const char *record_domain_of(const char *w, char *out, size_t n)
{
	if (!w || !*w || !n)
		return NULL;
	const char *h = strstr(w, "://") ? strstr(w, "://") + 3 : w;
	if (!strncasecmp(h, "www.", 4))
		h += 4;
	size_t len = strcspn(h, "/:?#");
	if (!len)
		return NULL;
	if (len >= n)
		len = n - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] - 'A' + 'a' : h[i]);
	out[len] = '\0';
	return out;
}
