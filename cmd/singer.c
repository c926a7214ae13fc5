/* crmsync as a Singer tap: see singer.h. */
#include "singer.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "jx.h"
#include "state.h"
#include "timeutil.h"
#include "banned.h"

/* The provider's field types (every CRM spells them its own way), by
 * the JSON type their values take.  Anything else (compound addresses,
 * multi-select sets, Zoho's lookups, JSON) is declared without a type:
 * any value. */
static const struct {
	const char *type;
	const char *const *names;
} classes[] = {
	{ "integer", (const char *const[]){ "int", "integer", "bigint", "long", NULL } },
	{ "number", (const char *const[]){ "number", "double", "currency", "monetary", "decimal", "percent",
					   "percentage", "float", "numeric", NULL } },
	{ "boolean", (const char *const[]){ "bool", "boolean", "checkbox", NULL } },
	{ "date-time", (const char *const[]){ "datetime", "date-time", "timestamp", "datetimecombo", NULL } },
	{ "date", (const char *const[]){ "date", NULL } },
	{ "string", (const char *const[]){ "string", "varchar", "char", "text", "textarea", "email", "phone", "url",
					   "website", "picklist", "enumeration", "enum", "dropdown", "radio", "name",
					   "fullname", "user_name", "id", "reference", "relate", "association",
					   "status", "encrypted", "combobox", NULL } },
};

static const char *class_of(const char *type)
{
	for (size_t i = 0; type && i < sizeof(classes) / sizeof(classes[0]); i++)
		for (const char *const *n = classes[i].names; *n; n++)
			if (!strcasecmp(*n, type))
				return classes[i].type;
	return "any";
}

json_t *singer_map_types(enum obj o, const json_t *user_map, const json_t *fields)
{
	json_t *types = json_object(), *v, *f;
	const char *k;
	size_t i;

	(void)o;
	json_object_foreach((json_t *)user_map, k, v) {
		const char *type = NULL;
		if (record_is_meta(k))
			continue;
		json_array_foreach(fields, i, f)
			if (jx_str(f, "name") && json_string_value(v) && !strcmp(jx_str(f, "name"), json_string_value(v)))
				type = jx_str(f, "type");
		json_object_set_new(types, k, json_string(class_of(type)));
	}
	return types;
}

/* {"type": [t, "null"]} (or just t when never null), with a format. */
static json_t *prop(const char *t, int nullable, const char *format)
{
	json_t *p = json_object();

	json_object_set_new(p, "type", nullable ? json_pack("[s,s]", t, "null") : json_string(t));
	if (format)
		json_object_set_new(p, "format", json_string(format));
	return p;
}

/* The items of email_addresses, phone_numbers and addresses. */
static json_t *items(enum utype t)
{
	static const char *const emails[] = { "email_address", "email_address_type", NULL };
	static const char *const phones[] = { "phone_number", "phone_number_type", NULL };
	static const char *const addrs[] = { "street_1", "street_2", "city", "state", "postal_code", "country",
					     "address_type", NULL };
	const char *const *keys = t == UT_EMAILS ? emails : t == UT_PHONES ? phones : addrs;
	json_t *props = json_object();

	for (int i = 0; keys[i]; i++)
		json_object_set_new(props, keys[i], prop("string", 1, NULL));
	if (t == UT_EMAILS)
		json_object_set_new(props, "primary", prop("boolean", 1, NULL));
	return json_pack("{s:s,s:o}", "type", "object", "properties", props);
}

static json_t *key_prop(const struct ukey *k)
{
	json_t *p;

	switch (k->type) {
	case UT_INT: return prop("integer", 1, NULL);
	case UT_NUMBER: return prop("number", 1, NULL);
	case UT_BOOL: return prop("boolean", 1, NULL);
	case UT_TIME: return prop("string", 1, "date-time");
	case UT_DATE: return prop("string", 1, "date");
	case UT_EMAILS:
	case UT_PHONES:
	case UT_ADDRESSES:
		p = prop("array", 1, NULL);
		json_object_set_new(p, "items", items(k->type));
		return p;
	case UT_ENUM:
		p = prop("string", 1, NULL);
		json_object_set_new(p, "enum", json_array());
		for (int i = 0; k->values[i]; i++)
			json_array_append_new(json_object_get(p, "enum"), json_string(k->values[i]));
		json_array_append_new(json_object_get(p, "enum"), json_null());
		return p;
	default: return prop("string", 1, NULL);
	}
}

json_t *singer_schema(enum obj o, int raw, const json_t *types)
{
	json_t *props = json_object(), *v;
	const char *k;

	/* In the order of a record. */
	json_object_set_new(props, "object", prop("string", 0, NULL));
	json_object_set_new(props, "provider", prop("string", 0, NULL));
	json_object_set_new(props, "remote_id", prop("string", 0, NULL));
	json_object_set_new(props, "remote_namespace", prop("string", 1, NULL));
	for (const struct ukey *u = record_keys(o); u->name; u++)
		json_object_set_new(props, u->name, key_prop(u));
	json_object_foreach((json_t *)types, k, v) {
		const char *t = json_string_value(v);
		json_object_set_new(props, k, !strcmp(t, "any") ? json_object()
				    : !strcmp(t, "date-time") || !strcmp(t, "date") ? prop("string", 1, t)
				    : prop(t, 1, NULL));
	}
	json_object_set_new(props, "remote_created_at", prop("string", 1, "date-time"));
	json_object_set_new(props, "remote_updated_at", prop("string", 1, "date-time"));
	json_object_set_new(props, "remote_deleted", prop("boolean", 0, NULL));
	json_object_set_new(props, "remote_deleted_at", prop("string", 1, "date-time"));
	json_object_set_new(props, "remote_fields", prop("object", 1, NULL));
	if (raw)
		json_object_set_new(props, "remote_raw", prop("object", 1, NULL));
	json_object_set_new(props, "synced_at", prop("string", 0, "date-time"));
	json_object_set_new(props, "sync_run_id", prop("string", 0, NULL));
	json_object_set_new(props, "sync_profile", prop("string", 1, NULL));
	return json_pack("{s:s,s:o,s:[s]}", "type", "object", "properties", props, "required", "remote_id");
}

json_t *singer_schema_message(enum obj o, json_t *schema)
{
	return json_pack("{s:s,s:s,s:o,s:[s],s:[s]}", "type", "SCHEMA", "stream", obj_plural(o), "schema", schema,
			 "key_properties", "remote_id", "bookmark_properties", "remote_updated_at");
}

json_t *singer_catalog(enum obj o, json_t *schema)
{
	json_t *md = json_array(), *v;
	const char *k;

	json_array_append_new(md, json_pack("{s:[],s:{s:s,s:b,s:[s],s:s,s:s,s:[s]}}", "breadcrumb", "metadata",
					    "inclusion", "available", "selected-by-default", 1,
					    "table-key-properties", "remote_id", "forced-replication-method",
					    "INCREMENTAL", "replication-method", "INCREMENTAL",
					    "valid-replication-keys", "remote_updated_at"));
	/* The key and the replication key always come; the rest may be left out. */
	json_object_foreach(json_object_get(schema, "properties"), k, v)
		json_array_append_new(md, json_pack("{s:[s,s],s:{s:s,s:b}}", "breadcrumb", "properties", k, "metadata",
						    "inclusion", !strcmp(k, "remote_id") || !strcmp(k, "remote_updated_at")
						    ? "automatic" : "available", "selected-by-default", 1));
	return json_pack("{s:[{s:s,s:s,s:o,s:[s],s:s,s:s,s:o}]}", "streams", "tap_stream_id", obj_plural(o),
			 "stream", obj_plural(o), "schema", schema, "key_properties", "remote_id",
			 "replication_method", "INCREMENTAL", "replication_key", "remote_updated_at", "metadata", md);
}

json_t *singer_state_message(enum obj o, const json_t *prev, const struct state_cursor *cur)
{
	json_t *value = prev ? json_deep_copy(prev) : json_object(), *bm = json_object_get(value, "bookmarks"), *b;

	if (!json_is_object(bm))
		json_object_set_new(value, "bookmarks", bm = json_object());
	/* No cursor yet (nothing pulled, none given): no bookmark, so the next
	 * run is a full pull, as it should be. */
	if ((b = state_bookmark(cur)))
		json_object_set_new(bm, obj_plural(o), b);
	return json_pack("{s:s,s:o}", "type", "STATE", "value", value);
}

/* s as a whole number or a number, or JV_NONE. */
static jv_t number_of(struct jv_doc *d, const char *s, int integer)
{
	char *end;
	long long i;
	double x;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return JV_NONE;
	errno = 0;
	i = strtoll(s, &end, 10);
	if (!errno && end != s && !*end)
		return jv_int(d, i);
	if (integer)
		return JV_NONE;
	errno = 0;
	x = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(x))
		return JV_NONE;
	return jv_real(d, x);
}

static int is_date(const char *s)
{
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : !isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* v made to fit the class t, or JV_NONE when it fits or cannot be made to. */
static jv_t fit(struct jv_doc *d, const char *t, jv_t v)
{
	enum jv_type vt = jv_typeof(d, v);
	const char *s = jv_sval(d, v);
	char tmp[TIME_BUFSZ];
	long long ms;

	if (vt == JVT_NULL || vt == JVT_NONE)
		return JV_NONE;
	if (!strcmp(t, "integer") || !strcmp(t, "number"))
		return s ? number_of(d, s, t[0] == 'i') : JV_NONE;
	if (!strcmp(t, "boolean"))
		return !s ? JV_NONE : !strcasecmp(s, "true") ? JV_TRUE : !strcasecmp(s, "false") ? JV_FALSE : JV_NONE;
	if (!strcmp(t, "date-time")) {
		if (!s || time_canonical(s, jv_size(d, v)) || time_parse(s, &ms) < 0)
			return JV_NONE;
		time_format(ms, tmp);
		return jv_string(d, tmp);
	}
	if (!strcmp(t, "date"))
		/* "2026-01-30 00:00:00": the day the CRM calls a date. */
		return s && jv_size(d, v) > 10 && is_date(s) ? jv_stringn(d, s, 10) : JV_NONE;
	if (!strcmp(t, "string") && (vt == JVT_INT || vt == JVT_REAL || vt == JVT_TRUE || vt == JVT_FALSE)) {
		const char *x = jv_text(d, v, tmp, sizeof(tmp));
		return x ? jv_string(d, x) : JV_NONE;
	}
	if (!strcmp(t, "string") && (vt == JVT_ARR || vt == JVT_OBJ)) {
		/* A text field holding a list (Zoho's Tag): its JSON text. */
		struct buf b = BUF_INIT;
		jv_t w = jv_dump(&b, d, v) < 0 ? JV_NONE : jv_stringn(d, b.buf, b.len);
		buf_release(&b);
		return w;
	}
	return JV_NONE;
}

void singer_fit(const json_t *types, struct jv_doc *d, jv_t rec)
{
	jv_t v = jv_get(d, rec, "remote_id"), w;
	const char *k;
	json_t *t;

	if ((w = fit(d, "string", v)))
		jv_set(d, rec, "remote_id", w);
	json_object_foreach((json_t *)types, k, t)
		if ((w = fit(d, json_string_value(t), jv_get(d, rec, k))))
			jv_set(d, rec, k, w);
}
