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

static const char *const deal_status[] = { "OPEN", "WON", "LOST", NULL };

static const struct ukey account_keys[] = {
	{ "name", UT_STRING, NULL }, { "description", UT_STRING, NULL },
	{ "industry", UT_STRING, NULL }, { "website", UT_STRING, NULL },
	{ "domain", UT_STRING, NULL }, { "number_of_employees", UT_INT, NULL },
	{ "phone_numbers", UT_PHONES, NULL }, { "addresses", UT_ADDRESSES, NULL },
	{ "owner", UT_REL, NULL }, { "last_activity_at", UT_TIME, NULL }, { NULL, 0, NULL }
};
static const struct ukey contact_keys[] = {
	{ "first_name", UT_STRING, NULL }, { "last_name", UT_STRING, NULL },
	{ "title", UT_STRING, NULL }, { "email_addresses", UT_EMAILS, NULL },
	{ "phone_numbers", UT_PHONES, NULL }, { "addresses", UT_ADDRESSES, NULL },
	{ "account", UT_REL, NULL }, { "owner", UT_REL, NULL },
	{ "last_activity_at", UT_TIME, NULL }, { NULL, 0, NULL }
};
static const struct ukey user_keys[] = {
	{ "name", UT_STRING, NULL }, { "first_name", UT_STRING, NULL },
	{ "last_name", UT_STRING, NULL }, { "email", UT_STRING, NULL },
	{ "is_active", UT_BOOL, NULL }, { NULL, 0, NULL }
};
static const struct ukey lead_keys[] = {
	{ "first_name", UT_STRING, NULL }, { "last_name", UT_STRING, NULL },
	{ "title", UT_STRING, NULL }, { "company", UT_STRING, NULL },
	{ "email_addresses", UT_EMAILS, NULL }, { "phone_numbers", UT_PHONES, NULL },
	{ "addresses", UT_ADDRESSES, NULL }, { "status", UT_STRING, NULL },
	{ "source", UT_STRING, NULL }, { "owner", UT_REL, NULL },
	{ "converted_at", UT_TIME, NULL }, { "converted_contact", UT_REL, NULL },
	{ "converted_account", UT_REL, NULL }, { NULL, 0, NULL }
};
static const struct ukey deal_keys[] = {
	{ "name", UT_STRING, NULL }, { "description", UT_STRING, NULL },
	{ "amount", UT_NUMBER, NULL }, { "currency", UT_STRING, NULL },
	{ "stage", UT_STRING, NULL }, { "status", UT_ENUM, deal_status },
	{ "probability", UT_NUMBER, NULL }, { "close_date", UT_DATE, NULL },
	{ "account", UT_REL, NULL }, { "owner", UT_REL, NULL },
	{ "last_activity_at", UT_TIME, NULL }, { NULL, 0, NULL }
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

static int check_list(const json_t *v, const char *field, const char *need, struct crm_err *err)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return bad(err, field, "an array of objects");
	json_array_foreach(v, i, e) {
		if (!json_is_object(e))
			return bad(err, field, "an array of objects");
		if (need && !json_is_string(json_object_get(e, need)) &&
		    !json_is_null(json_object_get(e, need)))
			return bad(err, field, "an array of objects with a string value");
	}
	return 0;
}

int record_validate(enum obj o, const json_t *rec, struct crm_err *err)
{
	for (const struct ukey *k = keys[o]; k->name; k++) {
		json_t *v = json_object_get(rec, k->name);
		long long ms;
		if (!v || json_is_null(v))
			continue;
		switch (k->type) {
		case UT_STRING:
			if (!json_is_string(v))
				return bad(err, k->name, "a string");
			break;
		case UT_REL:
			if (!json_is_string(v) && !json_is_integer(v))
				return bad(err, k->name, "a string id");
			break;
		case UT_INT:
			if (!json_is_integer(v))
				return bad(err, k->name, "an integer");
			break;
		case UT_NUMBER:
			if (!json_is_number(v))
				return bad(err, k->name, "a number");
			break;
		case UT_BOOL:
			if (!json_is_boolean(v))
				return bad(err, k->name, "true or false");
			break;
		case UT_TIME:
			if (!json_is_string(v) || time_parse(json_string_value(v), &ms) < 0)
				return bad(err, k->name, "an RFC 3339 time");
			break;
		case UT_DATE:
			if (!json_is_string(v) || time_parse(json_string_value(v), &ms) < 0)
				return bad(err, k->name, "a date (YYYY-MM-DD)");
			break;
		case UT_ENUM: {
			int ok = 0;
			if (json_is_string(v))
				for (int i = 0; k->values[i]; i++)
					ok |= !strcmp(k->values[i], json_string_value(v));
			if (!ok)
				return bad(err, k->name, "one of OPEN, WON, LOST");
			break;
		}
		case UT_EMAILS:
			if (check_list(v, k->name, "email_address", err))
				return CRM_ERECORD;
			break;
		case UT_PHONES:
			if (check_list(v, k->name, "phone_number", err))
				return CRM_ERECORD;
			break;
		case UT_ADDRESSES:
			if (check_list(v, k->name, NULL, err))
				return CRM_ERECORD;
			break;
		}
	}
	json_t *rf = json_object_get(rec, "remote_fields");
	if (rf && !json_is_null(rf) && !json_is_object(rf))
		return bad(err, "remote_fields", "an object");
	return 0;
}

const char *record_primary_email(const json_t *rec)
{
	json_t *list = json_object_get(rec, "email_addresses"), *e;
	const char *first = NULL;
	size_t i;

	json_array_foreach(list, i, e) {
		json_t *a = json_object_get(e, "email_address");
		if (!json_is_string(a) || !json_string_length(a))
			continue;
		if (json_is_true(json_object_get(e, "primary")))
			return json_string_value(a);
		if (!first)
			first = json_string_value(a);
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
