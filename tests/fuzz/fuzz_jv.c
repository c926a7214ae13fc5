/* Fuzz target: lib/jv's in-situ parser and writer against lib/jx (itself
 * fuzzed against jansson).  Both accept the same texts; for an accepted
 * one, jv_dump writes byte for byte what jx_dump writes (but the digits
 * of an integer wider than 64 bits, where jansson has a double), jv_from_json of
 * jx's value writes the same again, and jv_to_json gives back an equal
 * value.  jv_peek_str finds what the parse finds, when it can tell.
 * jv_parse_want accepts and refuses what jv_parse does, with the same
 * message, and keeps what the filter names and nothing else. */
#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jv.h"
#include "jx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* jv_peek_str against the parsed value a (a text without repeated keys). */
static void check_peek(const uint8_t *data, size_t size, const json_t *a, const char *const *path)
{
	char out[64];
	const json_t *x = a;
	int absent = 0;
	for (const char *const *k = path; *k; k++) {
		if (!json_is_object(x))
			break;
		x = json_object_get(x, *k);
		if (!x || json_is_null(x)) {
			absent = 1;
			break;
		}
	}
	int r = jv_peek_str((const char *)data, size, path, out, sizeof(out));
	if (r == 1)
		assert(!absent && json_is_string(x) && !strcmp(json_string_value(x), out));
	if (r == 0)
		assert(absent);
}

/* A filter (the shape of hubspot.c's batch_answer) and what it keeps of a
 * jansson value. */
static const struct jv_want want_b[] = { JV_WANT("b", NULL), JV_WANT_END };
static const struct jv_want want_a[] = { JV_WANT("a", NULL), JV_WANT("p", want_b), JV_WANT_END };
static const struct jv_want want_top[] = { JV_WANT("r", want_a), JV_WANT("e", NULL), JV_WANT_END };

static json_t *project(json_t *v, const struct jv_want *w)
{
	if (!w || (!json_is_object(v) && !json_is_array(v)))
		return json_incref(v);
	if (json_is_array(v)) {
		json_t *a = json_array(), *x;
		size_t i;
		json_array_foreach(v, i, x)
			json_array_append_new(a, project(x, w));
		return a;
	}
	json_t *o = json_object(), *x;
	const char *k;
	json_object_foreach(v, k, x) {
		for (const struct jv_want *e = w; e->key; e++)
			if (!strcmp(e->key, k))
				json_object_set_new(o, k, project(x, e->sub));
	}
	return o;
}

static void check_want(const uint8_t *data, size_t size, json_t *a, jv_t v, const char *why)
{
	char why3[160];
	char *copy = malloc(size + 1);
	struct jv_doc d;

	memcpy(copy, data, size);
	jv_init(&d);
	jv_t f = jv_parse_want(&d, copy, size, want_top, why3, sizeof(why3));
	assert(!f == !v);
	if (!f) {
		assert(!strcmp(why, why3));
	} else {
		struct buf x = BUF_INIT, y = BUF_INIT;
		json_t *pa = project(a, want_top);
		assert(jx_dump(&x, pa) == 0);
		assert(jv_dump(&y, &d, f) == 0);
		/* An integer wider than 64 bits: jv writes its digits, jansson a double. */
		assert(d.has_num || (x.len == y.len && !memcmp(x.buf, y.buf, x.len)));
		json_decref(pa);
		buf_release(&x);
		buf_release(&y);
	}
	jv_release(&d);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[160], why2[160];
	json_t *a = jx_parse((const char *)data, size, 0, why, sizeof(why));
	char *copy = malloc(size + 1);
	struct jv_doc d;
	jv_t v;

	memcpy(copy, data, size);
	jv_init(&d);
	v = jv_parse(&d, copy, size, why2, sizeof(why2));
	assert(!a == !v);
	check_want(data, size, a, v, why2);
	if (a) {
		struct buf x = BUF_INIT, y = BUF_INIT, z = BUF_INIT;
		assert(jx_dump(&x, a) == 0);
		assert(jv_dump(&y, &d, v) == 0);
		assert(d.has_num || (x.len == y.len && !memcmp(x.buf, y.buf, x.len)));
		jv_t w = jv_from_json(&d, a);
		assert(jv_dump(&z, &d, w) == 0);
		assert(x.len == z.len && !memcmp(x.buf, z.buf, x.len));
		json_t *back = jv_to_json(&d, v);
		assert(json_equal(a, back));
		json_decref(back);
		buf_release(&x);
		buf_release(&y);
		buf_release(&z);
		json_t *nodup = jx_parse((const char *)data, size, JX_NO_DUPLICATES, why, sizeof(why));
		if (nodup) {
			static const char *const p1[] = { "a", NULL }, *const p2[] = { "a", "b", NULL },
					  *const p3[] = { "paging", "next", "after", NULL };
			check_peek(data, size, a, p1);
			check_peek(data, size, a, p2);
			check_peek(data, size, a, p3);
			json_decref(nodup);
		}
	}
	jv_release(&d);
	free(copy);
	json_decref(a);
	return 0;
}
