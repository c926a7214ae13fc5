#include "jx.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "banned.h"

const char *jx_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *jx_text(const json_t *v, char *out, size_t outsz)
{
	switch (json_typeof(v ? v : json_null())) {
	case JSON_STRING:
		return json_string_value(v);
	case JSON_INTEGER:
		snprintf(out, outsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return out;
	case JSON_REAL: {
		double d = json_real_value(v);
		if (d == (double)(long long)d && d < 1e15 && d > -1e15)
			snprintf(out, outsz, "%lld", (long long)d);
		else
			snprintf(out, outsz, "%.17g", d);
		return out;
	}
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	default:
		return NULL;
	}
}

void jx_set(json_t *obj, const char *key, json_t *value)
{
	if (value)
		json_object_set_new(obj, key, value);
}

json_t *jx_str_new(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int dump_cb(const char *data, size_t size, void *p)
{
	return buf_add(p, data, size);
}

int jx_dump(struct buf *b, const json_t *v)
{
	return json_dump_callback(v, dump_cb, b, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
}

int jx_text_equal(const json_t *a, const json_t *b)
{
	char ta[64], tb[64];
	const char *sa, *sb;

	if (jx_is_empty(a) && jx_is_empty(b))
		return 1;
	if (json_is_array(a) || json_is_object(a) || json_is_array(b) || json_is_object(b))
		return json_equal((json_t *)a, (json_t *)b);
	sa = jx_text(a, ta, sizeof(ta));
	sb = jx_text(b, tb, sizeof(tb));
	if (!sa || !sb)
		return sa == sb;
	return strcmp(sa, sb) == 0;
}

int jx_is_empty(const json_t *v)
{
	if (!v || json_is_null(v))
		return 1;
	if (json_is_string(v))
		return json_string_length(v) == 0;
	if (json_is_array(v))
		return json_array_size(v) == 0;
	if (json_is_object(v))
		return json_object_size(v) == 0;
	return 0;
}
