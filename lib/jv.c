#include "jv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "jx.h"
#include "banned.h"

struct jv_chunk {
	struct jv_chunk *next;  /* older chunk */
	size_t cap, used;
	char data[];
};

#define CHUNK_MIN 16384

void jv_init(struct jv_doc *d)
{
	memset(d, 0, sizeof(*d));
	jv_reset(d);
}

static int grow_vals(struct jv_doc *d)
{
	size_t cap = d->capv ? d->capv * 2 : 64;
	struct jv_val *v = realloc(d->v, cap * sizeof(*v));
	if (!v)
		return -1;
	d->v = v;
	d->capv = cap;
	return 0;
}

void jv_reset(struct jv_doc *d)
{
	if (!d->capv && grow_vals(d) < 0) {
		/* No memory for even the constants: every value is JV_NONE. */
		d->failed = 1;
		return;
	}
	while (d->nowned)
		free(d->owned[--d->nowned]);
	memset(d->v, 0, 4 * sizeof(*d->v));
	d->v[JV_NONE].type = JVT_NONE;
	d->v[JV_NULL].type = JVT_NULL;
	d->v[JV_TRUE].type = JVT_TRUE;
	d->v[JV_FALSE].type = JVT_FALSE;
	d->nv = 4;
	d->nm = 1; /* cell 0 is "no cell" */
	while (d->chunks && d->chunks->next) {
		struct jv_chunk *c = d->chunks;
		d->chunks = c->next;
		free(c);
	}
	if (d->chunks)
		d->chunks->used = 0;
	d->failed = 0;
	d->has_num = 0;
}

void jv_release(struct jv_doc *d)
{
	while (d->chunks) {
		struct jv_chunk *c = d->chunks;
		d->chunks = c->next;
		free(c);
	}
	while (d->nowned)
		free(d->owned[--d->nowned]);
	free(d->owned);
	free(d->v);
	free(d->m);
	memset(d, 0, sizeof(*d));
}

struct jv_mark jv_mark(const struct jv_doc *d)
{
	struct jv_mark m = { d->nv, d->nm, d->chunks, d->chunks ? d->chunks->used : 0 };
	return m;
}

void jv_rewind(struct jv_doc *d, const struct jv_mark *m)
{
	while (d->chunks && d->chunks != m->chunk) {
		struct jv_chunk *c = d->chunks;
		d->chunks = c->next;
		free(c);
	}
	if (d->chunks)
		d->chunks->used = m->used;
	d->nv = m->nv;
	d->nm = m->nm;
}

/* Room for one more value: 0, or -1 (the document failed). */
static int val_room(struct jv_doc *d)
{
	if (d->failed || (d->nv == d->capv && grow_vals(d) < 0) || d->nv >= UINT32_MAX) {
		d->failed = 1;
		return -1;
	}
	return 0;
}

static inline jv_t new_val(struct jv_doc *d, enum jv_type t)
{
	if (__builtin_expect(d->nv >= d->capv || d->failed, 0) && val_room(d) < 0)
		return JV_NONE;
	d->v[d->nv] = (struct jv_val){ .type = (uint8_t)t };
	return (jv_t)d->nv++;
}

/* A string value over s[0..n) (not copied). */
static inline jv_t new_str(struct jv_doc *d, const char *s, size_t n, int plain)
{
	if (__builtin_expect(d->nv >= d->capv || d->failed, 0) && val_room(d) < 0)
		return JV_NONE;
	d->v[d->nv] = (struct jv_val){ .type = JVT_STR, .plain = (uint8_t)plain, .len = (uint32_t)n, .u.s = s };
	return (jv_t)d->nv++;
}

static int mem_room(struct jv_doc *d)
{
	size_t cap = d->capm ? d->capm * 2 : 64;
	struct jv_mem *m = cap < UINT32_MAX ? realloc(d->m, cap * sizeof(*m)) : NULL;
	if (!m) {
		d->failed = 1;
		return -1;
	}
	d->m = m;
	d->capm = cap;
	return 0;
}

/* A member cell (not linked yet); 0 when out of memory. */
static inline uint32_t new_mem_p(struct jv_doc *d, const char *key, size_t klen, jv_t val, int plain)
{
	if (__builtin_expect(d->nm >= d->capm, 0) && mem_room(d) < 0)
		return 0;
	d->m[d->nm] = (struct jv_mem){ .key = key, .klen = (uint32_t)klen, .k0 = klen ? key[0] : 0,
				       .plain = (uint8_t)plain, .val = val };
	return (uint32_t)d->nm++;
}

static uint32_t new_mem(struct jv_doc *d, const char *key, size_t klen, jv_t val)
{
	return new_mem_p(d, key, klen, val, 0);
}

static void link_mem(struct jv_doc *d, jv_t c, uint32_t m)
{
	struct jv_val *v = &d->v[c];
	if (v->last)
		d->m[v->last].next = m;
	else
		v->first = m;
	v->last = m;
	v->len++;
}

static char *arena(struct jv_doc *d, size_t n)
{
	struct jv_chunk *c = d->chunks;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
		if (!(c = malloc(sizeof(*c) + cap))) {
			d->failed = 1;
			return NULL;
		}
		c->cap = cap;
		c->used = 0;
		c->next = d->chunks;
		d->chunks = c;
	}
	char *p = c->data + c->used;
	c->used += n;
	return p;
}

int jv_adopt(struct jv_doc *d, char *p)
{
	if (d->nowned == d->capowned) {
		size_t cap = d->capowned ? d->capowned * 2 : 4;
		char **o = realloc(d->owned, cap * sizeof(*o));
		if (!o) {
			free(p);
			d->failed = 1;
			return -1;
		}
		d->owned = o;
		d->capowned = cap;
	}
	d->owned[d->nowned++] = p;
	return 0;
}

/* ---- getters ---- */

static uint32_t find(const struct jv_doc *d, jv_t obj, const char *key, size_t klen)
{
	if (d->v[obj].type != JVT_OBJ)
		return 0;
	for (uint32_t m = d->v[obj].first; m; m = d->m[m].next) {
		const struct jv_mem *c = &d->m[m];
		if (c->klen == klen && c->k0 == key[0] && !memcmp(c->key, key, klen))
			return m;
	}
	return 0;
}

jv_t jv_get_hint(struct jv_doc *d, jv_t obj, const char *key, uint32_t *hint)
{
	size_t klen = strlen(key);
	uint32_t start;

	if (d->v[obj].type != JVT_OBJ)
		return JV_NONE;
	start = *hint && d->m[*hint].next ? d->m[*hint].next : d->v[obj].first;
	for (int lap = 0; lap < 2; lap++) {
		for (uint32_t m = lap ? d->v[obj].first : start; m && (!lap || m != start); m = d->m[m].next) {
			const struct jv_mem *c = &d->m[m];
			if (c->klen == klen && c->k0 == key[0] && !memcmp(c->key, key, klen)) {
				*hint = m;
				return c->val;
			}
		}
	}
	return JV_NONE;
}

jv_t jv_getn(const struct jv_doc *d, jv_t obj, const char *key, size_t klen)
{
	uint32_t m = find(d, obj, key, klen);
	return m ? d->m[m].val : JV_NONE;
}

const char *jv_text(const struct jv_doc *d, jv_t v, char *out, size_t outsz)
{
	const struct jv_val *x = &d->v[v];
	switch (x->type) {
	case JVT_STR:
	case JVT_NUM:
		return x->u.s;
	case JVT_INT:
		snprintf(out, outsz, "%lld", x->u.i);
		return out;
	case JVT_REAL:
		if (x->u.d < 1e15 && x->u.d > -1e15 && x->u.d == (double)(long long)x->u.d)
			snprintf(out, outsz, "%lld", (long long)x->u.d);
		else
			snprintf(out, outsz, "%.17g", x->u.d);
		return out;
	case JVT_TRUE:
		return "true";
	case JVT_FALSE:
		return "false";
	default:
		return NULL;
	}
}

jv_t jv_at(const struct jv_doc *d, jv_t arr, size_t i)
{
	if (d->v[arr].type != JVT_ARR)
		return JV_NONE;
	for (uint32_t m = d->v[arr].first; m; m = d->m[m].next, i--)
		if (!i)
			return d->m[m].val;
	return JV_NONE;
}

/* ---- building ---- */

jv_t jv_obj(struct jv_doc *d) { return new_val(d, JVT_OBJ); }
jv_t jv_arr(struct jv_doc *d) { return new_val(d, JVT_ARR); }

jv_t jv_stringn(struct jv_doc *d, const char *s, size_t n)
{
	char *p = arena(d, n + 1);
	jv_t v;
	if (!p || !(v = new_val(d, JVT_STR)))
		return JV_NONE;
	memcpy(p, s, n);
	p[n] = '\0';
	d->v[v].u.s = p;
	d->v[v].len = (uint32_t)n;
	return v;
}

jv_t jv_string(struct jv_doc *d, const char *s)
{
	return jv_stringn(d, s, strlen(s));
}

static jv_t str_ref(struct jv_doc *d, const char *s, size_t n)
{
	return new_str(d, s, n, 0);
}

jv_t jv_string_lit(struct jv_doc *d, const char *s)
{
	return new_str(d, s, strlen(s), 1);
}

jv_t jv_string_refn(struct jv_doc *d, const char *s, size_t n)
{
	return str_ref(d, s, n);
}

jv_t jv_str_or_null(struct jv_doc *d, const char *s)
{
	return s ? jv_string_ref(d, s) : JV_NULL;
}

jv_t jv_int(struct jv_doc *d, long long i)
{
	jv_t v = new_val(d, JVT_INT);
	if (v)
		d->v[v].u.i = i;
	return v;
}

jv_t jv_real(struct jv_doc *d, double x)
{
	jv_t v = new_val(d, JVT_REAL);
	if (v)
		d->v[v].u.d = x;
	return v;
}

void jv_add_key(struct jv_doc *d, jv_t obj, const char *key, size_t klen, int plain, jv_t val)
{
	uint32_t m;
	if (val && d->v[obj].type == JVT_OBJ && (m = new_mem(d, key, klen, val))) {
		d->m[m].plain = (uint8_t)plain;
		link_mem(d, obj, m);
	}
}

void jv_set_key(struct jv_doc *d, jv_t obj, const char *key, size_t klen, int plain, jv_t val)
{
	uint32_t m;

	if (!val || d->v[obj].type != JVT_OBJ)
		return;
	if ((m = find(d, obj, key, klen)))
		d->m[m].val = val;
	else
		jv_add_key(d, obj, key, klen, plain, val);
}

void jv_set_keys(struct jv_doc *d, jv_t obj, const struct jv_kv *kv, size_t n)
{
	uint32_t done = 0; /* a bit per entry set in place (n <= 32) */

	if (n > 32 || d->v[obj].type != JVT_OBJ) {
		for (size_t i = 0; i < n; i++)
			jv_set_key(d, obj, kv[i].key, kv[i].klen, 1, kv[i].val);
		return;
	}
	for (uint32_t m = d->v[obj].first; m; m = d->m[m].next) {
		struct jv_mem *c = &d->m[m];
		for (size_t i = 0; i < n; i++)
			if (kv[i].val && c->klen == kv[i].klen && c->k0 == kv[i].key[0] &&
			    !memcmp(c->key, kv[i].key, c->klen)) {
				c->val = kv[i].val;
				done |= 1u << i;
				break;
			}
	}
	for (size_t i = 0; i < n; i++)
		if (kv[i].val && !(done & (1u << i)))
			jv_add_key(d, obj, kv[i].key, kv[i].klen, 1, kv[i].val);
}

void jv_add(struct jv_doc *d, jv_t obj, const char *key, jv_t val)
{
	uint32_t m;
	if (val && d->v[obj].type == JVT_OBJ && (m = new_mem(d, key, strlen(key), val)))
		link_mem(d, obj, m);
}

uint32_t jv_cell(struct jv_doc *d, jv_t obj, const char *key, size_t klen, int plain)
{
	uint32_t m;

	if (d->v[obj].type != JVT_OBJ)
		return 0;
	if (!(m = find(d, obj, key, klen)) && (m = new_mem(d, key, klen, JV_NULL))) {
		d->m[m].plain = (uint8_t)plain;
		link_mem(d, obj, m);
	}
	return m;
}

void jv_set(struct jv_doc *d, jv_t obj, const char *key, jv_t val)
{
	size_t klen = strlen(key);
	uint32_t m;

	if (!val || d->v[obj].type != JVT_OBJ)
		return;
	if ((m = find(d, obj, key, klen)))
		d->m[m].val = val;
	else if ((m = new_mem(d, key, klen, val)))
		link_mem(d, obj, m);
}

/* Unlinks the cell after `prev` (0: the first) from container c. */
static void unlink_after(struct jv_doc *d, jv_t c, uint32_t prev, uint32_t m)
{
	struct jv_val *v = &d->v[c];
	if (prev)
		d->m[prev].next = d->m[m].next;
	else
		v->first = d->m[m].next;
	if (v->last == m)
		v->last = prev;
	v->len--;
}

void jv_del(struct jv_doc *d, jv_t obj, const char *key)
{
	size_t klen = strlen(key);
	uint32_t prev = 0;

	if (d->v[obj].type != JVT_OBJ)
		return;
	for (uint32_t m = d->v[obj].first; m; prev = m, m = d->m[m].next)
		if (d->m[m].klen == klen && !memcmp(d->m[m].key, key, klen)) {
			unlink_after(d, obj, prev, m);
			return;
		}
}

void jv_append(struct jv_doc *d, jv_t arr, jv_t val)
{
	uint32_t m;
	if (val && d->v[arr].type == JVT_ARR && (m = new_mem(d, NULL, 0, val)))
		link_mem(d, arr, m);
}

void jv_remove(struct jv_doc *d, jv_t arr, size_t i)
{
	uint32_t prev = 0;

	if (d->v[arr].type != JVT_ARR)
		return;
	for (uint32_t m = d->v[arr].first; m; prev = m, m = d->m[m].next, i--)
		if (!i) {
			unlink_after(d, arr, prev, m);
			return;
		}
}

jv_t jv_from_json(struct jv_doc *d, const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i, klen;
	jv_t out;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		out = jv_obj(d);
		json_object_keylen_foreach((json_t *)v, k, klen, x) {
			uint32_t m = new_mem(d, k, klen, jv_from_json(d, x));
			if (m && out)
				link_mem(d, out, m);
		}
		return out;
	case JSON_ARRAY:
		out = jv_arr(d);
		json_array_foreach(v, i, x)
			jv_append(d, out, jv_from_json(d, x));
		return out;
	case JSON_STRING:
		return str_ref(d, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return jv_int(d, json_integer_value(v));
	case JSON_REAL:
		return jv_real(d, json_real_value(v));
	case JSON_TRUE:
		return JV_TRUE;
	case JSON_FALSE:
		return JV_FALSE;
	default:
		return JV_NULL;
	}
}

char *jv_alloc(struct jv_doc *d, size_t n)
{
	return arena(d, n ? n : 1);
}

int jv_is_empty(const struct jv_doc *d, jv_t v)
{
	switch (d->v[v].type) {
	case JVT_NONE:
	case JVT_NULL:
		return 1;
	case JVT_STR:
	case JVT_ARR:
	case JVT_OBJ:
		return d->v[v].len == 0;
	default:
		return 0;
	}
}

int jv_equal(const struct jv_doc *d, jv_t a, jv_t b)
{
	const struct jv_val *x = &d->v[a], *y = &d->v[b];

	if (a == b)
		return 1;
	if (x->type != y->type)
		return 0;
	switch (x->type) {
	case JVT_STR:
	case JVT_NUM:
		return x->len == y->len && !memcmp(x->u.s, y->u.s, x->len);
	case JVT_INT:
		return x->u.i == y->u.i;
	case JVT_REAL:
		return x->u.d == y->u.d;
	case JVT_ARR: {
		uint32_t m = x->first, n = y->first;
		if (x->len != y->len)
			return 0;
		for (; m && n; m = d->m[m].next, n = d->m[n].next)
			if (!jv_equal(d, d->m[m].val, d->m[n].val))
				return 0;
		return 1;
	}
	case JVT_OBJ:
		/* As json_equal: the same keys with equal values, in any order. */
		if (x->len != y->len)
			return 0;
		for (uint32_t m = x->first; m; m = d->m[m].next) {
			uint32_t n = find(d, b, d->m[m].key, d->m[m].klen);
			if (!n || !jv_equal(d, d->m[m].val, d->m[n].val))
				return 0;
		}
		return 1;
	default:
		return 1; /* null, true, false */
	}
}

int jv_text_equal(const struct jv_doc *d, jv_t a, jv_t b)
{
	char ta[64], tb[64];
	const char *sa, *sb;
	enum jv_type x = jv_typeof(d, a), y = jv_typeof(d, b);

	if (jv_is_empty(d, a) && jv_is_empty(d, b))
		return 1;
	if (x == JVT_ARR || x == JVT_OBJ || y == JVT_ARR || y == JVT_OBJ)
		return jv_equal(d, a, b);
	sa = jv_text(d, a, ta, sizeof(ta));
	sb = jv_text(d, b, tb, sizeof(tb));
	if (!sa || !sb)
		return sa == sb;
	return strcmp(sa, sb) == 0;
}

json_t *jv_to_json(const struct jv_doc *d, jv_t v)
{
	const struct jv_val *x = &d->v[v];
	json_t *out;

	switch (x->type) {
	case JVT_OBJ:
		out = json_object();
		for (uint32_t m = x->first; m; m = d->m[m].next)
			json_object_setn_new_nocheck(out, d->m[m].key, d->m[m].klen, jv_to_json(d, d->m[m].val));
		return out;
	case JVT_ARR:
		out = json_array();
		for (uint32_t m = x->first; m; m = d->m[m].next)
			json_array_append_new(out, jv_to_json(d, d->m[m].val));
		return out;
	case JVT_STR:
		/* Parsed text was checked as UTF-8 whole; the rest is ours. */
		return json_stringn_nocheck(x->u.s, x->len);
	case JVT_INT:
		return json_integer(x->u.i);
	case JVT_REAL:
		return json_real(x->u.d);
	case JVT_NUM: {
		/* jansson has no wider integers: the nearest double, or (past a
		 * double's range) the digits as a string. */
		double r = strtod(x->u.s, NULL);
		return isfinite(r) ? json_real(r) : json_stringn_nocheck(x->u.s, x->len);
	}
	case JVT_TRUE:
		return json_true();
	case JVT_FALSE:
		return json_false();
	default:
		return json_null();
	}
}

/* ---- dumping ---- */

/* The writer keeps its place in a local pointer and asks the buffer for
 * room once per value, not once per byte: most of a record is short plain
 * strings and punctuation. */
struct dw {
	struct buf *b;
	char *o, *lim;         /* next byte; the last byte that may be written (NUL after) */
};

static int dw_grow(struct dw *w, size_t n)
{
	w->b->len = (size_t)(w->o - w->b->buf);
	if (buf_grow(w->b, n + 256) < 0)
		return -1;
	w->o = w->b->buf + w->b->len;
	w->lim = w->b->buf + w->b->alloc - 1;
	return 0;
}

static inline int dw_room(struct dw *w, size_t n)
{
	return (size_t)(w->lim - w->o) >= n ? 0 : dw_grow(w, n);
}

/* n bytes (k <= n <= 2k) as two overlapping copies of k: for a constant k
 * the compiler makes each a load and a store. */
static inline void copy_2k(char *o, const char *s, size_t n, size_t k)
{
	char a[16], b[16];
	memcpy(a, s, k);
	memcpy(b, s + n - k, k);
	memcpy(o, a, k);
	memcpy(o + n - k, b, k);
}

/* memcpy for the short strings of a record: no call. */
static inline void copy_short(char *o, const char *s, size_t n)
{
	if (n >= 16 && n <= 32)
		copy_2k(o, s, n, 16);
	else if (n >= 8 && n < 16)
		copy_2k(o, s, n, 8);
	else if (n >= 4 && n < 8)
		copy_2k(o, s, n, 4);
	else if (n < 4)
		for (size_t i = 0; i < n; i++)
			o[i] = s[i];
	else
		memcpy(o, s, n);
}

/* A string with two bytes of room after it (':' or ',' and the next). */
static inline int dw_str(struct dw *w, const char *s, size_t n, int plain)
{
	if (!plain && !jx_plain(s, n)) {
		w->b->len = (size_t)(w->o - w->b->buf);
		if (jx_add_string(w->b, s, n) < 0)
			return -1;
		w->o = w->b->buf + w->b->len;
		w->lim = w->b->buf + w->b->alloc - 1;
		return dw_room(w, 4);
	}
	if (dw_room(w, n + 4) < 0)
		return -1;
	*w->o++ = '"';
	copy_short(w->o, s, n);
	w->o += n;
	*w->o++ = '"';
	return 0;
}

static int dw_value(struct dw *w, const struct jv_doc *d, jv_t v)
{
	const struct jv_val *x = &d->v[v];
	uint32_t m;

	switch (x->type) {
	case JVT_OBJ:
		if (dw_room(w, 4) < 0)
			return -1;
		*w->o++ = '{';
		for (m = x->first; m; m = d->m[m].next) {
			const struct jv_mem *c = &d->m[m];
			if (m != x->first)
				*w->o++ = ','; /* room: left by the value before */
			if (dw_str(w, c->key, c->klen, c->plain) < 0)
				return -1;
			*w->o++ = ':';
			if (dw_value(w, d, c->val) < 0)
				return -1;
		}
		if (dw_room(w, 2) < 0)
			return -1;
		*w->o++ = '}';
		return 0;
	case JVT_ARR:
		if (dw_room(w, 4) < 0)
			return -1;
		*w->o++ = '[';
		for (m = x->first; m; m = d->m[m].next) {
			if (m != x->first)
				*w->o++ = ',';
			if (dw_value(w, d, d->m[m].val) < 0)
				return -1;
		}
		if (dw_room(w, 2) < 0)
			return -1;
		*w->o++ = ']';
		return 0;
	case JVT_STR:
		return dw_str(w, x->u.s, x->len, x->plain);
	case JVT_INT: {
		/* Digits backwards, as jx_add_int. */
		char tmp[24], *p = tmp + sizeof(tmp);
		long long n = x->u.i;
		unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
		do {
			*--p = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (n < 0)
			*--p = '-';
		size_t len = (size_t)(tmp + sizeof(tmp) - p);
		if (dw_room(w, len + 2) < 0)
			return -1;
		memcpy(w->o, p, len);
		w->o += len;
		return 0;
	}
	case JVT_NUM:
		if (dw_room(w, x->len + 2) < 0)
			return -1;
		memcpy(w->o, x->u.s, x->len);
		w->o += x->len;
		return 0;
	case JVT_REAL:
		w->b->len = (size_t)(w->o - w->b->buf);
		if (jx_add_real(w->b, x->u.d) < 0)
			return -1;
		w->o = w->b->buf + w->b->len;
		w->lim = w->b->buf + w->b->alloc - 1;
		return dw_room(w, 2);
	default: {
		const char *t = x->type == JVT_TRUE ? "true" : x->type == JVT_FALSE ? "false" : "null";
		size_t len = x->type == JVT_FALSE ? 5 : 4;
		if (dw_room(w, len + 2) < 0)
			return -1;
		memcpy(w->o, t, len);
		w->o += len;
		return 0;
	}
	}
}

int jv_dump(struct buf *b, const struct jv_doc *d, jv_t v)
{
	struct dw w = { b, b->buf + b->len, b->alloc ? b->buf + b->alloc - 1 : b->buf };
	int rc = dw_value(&w, d, v);

	/* On failure the text written so far stays (as jx_dump leaves it). */
	if (b->alloc) {
		b->len = (size_t)(w.o - b->buf);
		b->buf[b->len] = '\0';
	}
	return rc;
}

/* jv_set_keys(d, obj, kv, n), then jv_dump(b, d, obj), for an object that
 * has none of kv's keys and whose text a plain parse read (d->plain_text):
 * what the dump writes is that text without its whitespace (outside
 * strings), with kv's members before the closing brace.  So the text is
 * copied, not the values walked.  Returns 1 when written, 0 when obj has
 * one of the keys (nothing written: set and dump instead), -1 when out of
 * memory. */
int jv_dump_with(struct buf *b, const char *text, size_t n, const struct jv_doc *d, jv_t obj,
		 const struct jv_kv *kv, size_t nkv)
{
	uint64_t k0[4] = { 0, 0, 0, 0 };
	const char *s = text, *e = text + n;
	int rc = 0, members;

	for (size_t i = 0; i < nkv; i++)
		k0[(unsigned char)kv[i].key[0] >> 6] |= 1ULL << (kv[i].key[0] & 63);
	for (uint32_t m = d->v[obj].first; m; m = d->m[m].next) {
		const struct jv_mem *c = &d->m[m];
		if (!(k0[(unsigned char)c->k0 >> 6] >> (c->k0 & 63) & 1))
			continue;
		for (size_t i = 0; i < nkv; i++)
			if (c->klen == kv[i].klen && !memcmp(c->key, kv[i].key, c->klen))
				return 0;
	}
	struct dw w = { b, b->buf + b->len, b->alloc ? b->buf + b->alloc - 1 : b->buf };
	if (dw_room(&w, n + 16) < 0)
		return -1;
	char *o = w.o;
	while (s < e) {
		/* Outside strings: whitespace dropped (valid JSON has no other
		 * byte <= ' ' there), the rest copied. */
		unsigned char c = (unsigned char)*s++;
		*o = (char)c;
		o += c > ' ';
		if (c != '"')
			continue;
		/* A string, to its closing quote (it has no escape): sixteen or
		 * eight bytes at a time (the room has 16 to spare). */
		for (;;) {
#ifdef __SSE2__
			if (e - s >= 16) {
				__m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
				unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
				_mm_storeu_si128((__m128i *)(void *)o, x);
				if (m) {
					size_t k16 = (size_t)__builtin_ctz(m) + 1;
					s += k16;
					o += k16;
					break;
				}
				s += 16;
				o += 16;
				continue;
			}
#endif
			uint64_t x, q;
			if (e - s < 8) {
				while ((*o++ = *s++) != '"')
					;
				break;
			}
			memcpy(&x, s, 8);
			memcpy(o, &x, 8);
			q = x ^ 0x2222222222222222ULL; /* a zero byte where a quote is */
			if ((q = (q - 0x0101010101010101ULL) & ~q & 0x8080808080808080ULL)) {
				size_t k8 = (size_t)__builtin_ctzll(q) / 8 + 1;
				s += k8;
				o += k8;
				break;
			}
			s += 8;
			o += 8;
		}
	}
	o--; /* the closing brace */
	members = o[-1] != '{';
	w.o = o;
	for (size_t i = 0; i < nkv && rc == 0; i++) {
		if (!kv[i].val)
			continue;
		if (dw_room(&w, kv[i].klen + 8) < 0) {
			rc = -1;
			break;
		}
		if (members)
			*w.o++ = ',';
		members = 1;
		*w.o++ = '"';
		copy_short(w.o, kv[i].key, kv[i].klen);
		w.o += kv[i].klen;
		*w.o++ = '"';
		*w.o++ = ':';
		/* The outcome's words and ids straight to dw_str, the rest walked. */
		const struct jv_val *x = &d->v[kv[i].val];
		rc = x->type == JVT_STR ? dw_str(&w, x->u.s, x->len, x->plain) : dw_value(&w, d, kv[i].val);
	}
	if (rc == 0 && dw_room(&w, 2) < 0)
		rc = -1;
	if (rc == 0)
		*w.o++ = '}';
	if (b->alloc) {
		b->len = (size_t)(w.o - b->buf);
		b->buf[b->len] = '\0';
	}
	return rc < 0 ? -1 : 1;
}

/* ---- peeking at one member without reading the rest ---- */

static const char *pk_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* p at an opening quote: just after the closing one, or NULL. */
static const char *pk_str(const char *p, const char *end)
{
	for (p++;;) {
		while (end - p >= 8) {
			uint64_t x;
			memcpy(&x, p, 8);
			if (jx_swar_special(x))
				break;
			p += 8;
		}
		if (p >= end || (unsigned char)*p < 0x20)
			return NULL;
		if (*p == '"')
			return p + 1;
		if (*p == '\\') {
			if (end - p < 2)
				return NULL;
			p += 2;
		} else {
			p++;
		}
	}
}

/* p at a value: just after it, or NULL.  Brackets are only counted. */
static const char *pk_value(const char *p, const char *end)
{
	int depth = 0;

	do {
		p = pk_ws(p, end);
		if (p >= end)
			return NULL;
		if (*p == '"') {
			if (!(p = pk_str(p, end)))
				return NULL;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (!depth)
				return NULL;
			depth--;
			p++;
		} else if (depth) {
			p++; /* ',' ':' and scalars inside */
		} else {
			const char *q = p;
			while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
			       *p != '\r' && *p != '\t')
				p++;
			if (p == q)
				return NULL;
		}
	} while (depth);
	return p;
}

/* Backwards: the opening quote of the string whose closing quote is at q
 * (a quote is a string's end unless an odd number of backslashes precede
 * it), or NULL. */
static const char *pk_back_str(const char *s, const char *q)
{
	for (q--; q >= s; q--) {
		if (*q != '"')
			continue;
		size_t k = 0;
		while (q - k > s && q[-1 - (ptrdiff_t)k] == '\\')
			k++;
		if (!(k & 1))
			return q;
	}
	return NULL;
}

static const char *pk_back_ws(const char *s, const char *p)
{
	while (p >= s && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p--;
	return p;
}

/* Backwards: the first byte of the value whose last byte is at p, or NULL. */
static const char *pk_back_value(const char *s, const char *p)
{
	int depth = 0;

	do {
		p = pk_back_ws(s, p);
		if (p < s)
			return NULL;
		if (*p == '"') {
			if (!(p = pk_back_str(s, p)))
				return NULL;
			if (!depth)
				return p;
			p--;
		} else if (*p == '}' || *p == ']') {
			depth++;
			p--;
		} else if (*p == '{' || *p == '[') {
			if (!depth)
				return NULL;
			if (!--depth)
				return p;
			p--;
		} else if (depth) {
			p--;
		} else {
			const char *q = p;
			while (p >= s && !strchr(",:[{ \t\r\n", *p))
				p--;
			return p == q ? NULL : p + 1;
		}
	} while (p >= s);
	return NULL;
}

/* Forwards from the value at p (the path's next keys in it). */
static int pk_path(const char *p, const char *end, const char *const *path, char *out, size_t outsz)
{
	for (;;) {
		if (end - p >= 4 && !memcmp(p, "null", 4))
			return 0;
		if (!*path) {
			const char *v = p + 1, *ve = *p == '"' ? pk_str(p, end) : NULL;
			size_t vlen = ve ? (size_t)(ve - 1 - v) : 0;
			if (!ve || memchr(v, '\\', vlen) || vlen >= outsz)
				return -1; /* not a string, or one with escapes: ask the parser */
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 1;
		}
		if (*p != '{')
			return -1;
		/* The members of the object the path goes into, in order. */
		for (p++;;) {
			p = pk_ws(p, end);
			if (p < end && *p == '}')
				return 0;
			if (p >= end || *p != '"')
				return -1;
			const char *k = p + 1, *ke = pk_str(p, end);
			if (!ke)
				return -1;
			size_t klen = (size_t)(ke - 1 - k);
			if (memchr(k, '\\', klen))
				return -1; /* an escaped key might be the one */
			p = pk_ws(ke, end);
			if (p >= end || *p != ':')
				return -1;
			p = pk_ws(p + 1, end);
			if (p >= end)
				return -1;
			if (klen == strlen(*path) && !memcmp(k, *path, klen)) {
				path++;
				break;
			}
			if (!(p = pk_value(p, end)))
				return -1;
			p = pk_ws(p, end);
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			return p < end && *p == '}' ? 0 : -1;
		}
	}
}

int jv_peek_str(const char *s, size_t n, const char *const *path, char *out, size_t outsz)
{
	const char *first = pk_ws(s, s + n), *p;

	if (first >= s + n || *first != '{')
		return -1;
	/* The top object's members from its end: a page's cursor comes after
	 * its records, so those are not looked at; the last of a repeated key
	 * is found, as the parser keeps it. */
	p = pk_back_ws(s, s + n - 1);
	if (p <= first || *p != '}')
		return -1;
	p--;
	for (;;) {
		p = pk_back_ws(s, p);
		if (p == first)
			return 0; /* no (more) members */
		const char *v = pk_back_value(s, p), *ke, *k;
		if (!v || v <= first)
			return -1;
		p = pk_back_ws(s, v - 1);
		if (p <= first || *p != ':')
			return -1;
		p = pk_back_ws(s, p - 1);
		if (p <= first || *p != '"' || !(k = pk_back_str(s, p)) || k <= first)
			return -1;
		ke = p;
		size_t klen = (size_t)(ke - k - 1);
		if (memchr(k + 1, '\\', klen))
			return -1; /* an escaped key might be the one */
		if (klen == strlen(*path) && !memcmp(k + 1, *path, klen))
			return pk_path(v, s + n, path + 1, out, outsz);
		p = pk_back_ws(s, k - 1);
		if (p == first)
			return 0;
		if (*p != ',')
			return -1;
		p--;
	}
}

/* ---- the in-situ parser ---- */

struct jp {
	struct jv_doc *d;
	char *p, *end;
	int depth;
	int no_dups;
	const char *err;
	int odd;        /* jv_dump would not write back the text (whitespace aside) */
	int bad_utf8;   /* a string is not valid UTF-8 */
};

static inline void ws(struct jp *j)
{
	/* Usually no space at all, or one (", " and ": " as Python writes). */
	if (j->p < j->end && (unsigned char)*j->p > ' ')
		return;
	if (j->end - j->p >= 2 && j->p[0] == ' ' && (unsigned char)j->p[1] > ' ') {
		j->p++; /* the one space of ", " and ": " */
		return;
	}
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

/* Whether the next byte after any whitespace is c (j->p then at it): the
 * byte is looked at first, as JSON from a program has no whitespace. */
static inline int next_is(struct jp *j, char c)
{
	if (__builtin_expect(j->p < j->end && *j->p == c, 1))
		return 1;
	ws(j);
	return j->p < j->end && *j->p == c;
}

/* 1 for the bytes that end a run of plain string bytes. */
static const unsigned char str_stop[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x80-0xFF: multibyte characters, checked as UTF-8 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* The first byte at or after q that str_stop marks, or end: sixteen bytes
 * at a time with SSE2 (x86-64 has it), eight with the usual bit tricks for
 * a zero byte, then one by one. */
static inline char *scan_plain(char *q, const char *end)
{
#ifdef __SSE2__
	const __m128i qt = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(' ');
	while (end - q >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
		/* (signed: bytes >= 0x80 are below ' ' too) */
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, qt), _mm_cmpeq_epi8(x, bs)), _mm_cmplt_epi8(x, sp)));
		if (m)
			return q + __builtin_ctz(m);
		q += 16;
	}
#endif
	while (end - q >= 8) {
		uint64_t x, mk;
		memcpy(&x, q, 8);
		if ((mk = jx_swar_mask(x) | (x & 0x8080808080808080ULL))) {
#ifdef JX_SWAR_FIRST
			return q + jx_swar_first(mk);
#else
			break;
#endif
		}
		q += 8;
	}
	while (q < end && !str_stop[(unsigned char)*q])
		q++;
	return q;
}


/* The first '"', '\\' or control byte at or after q, the first byte of a
 * character that is not valid UTF-8, or end: multibyte characters are
 * checked where they are found, and the scan goes on after them. */
static inline char *scan_str(char *q, const char *end)
{
	q = scan_plain(q, end);
	while (__builtin_expect(q < end && (unsigned char)*q >= 0x80, 0)) {
		size_t k = jx_utf8_char(q, end);
		if (!k)
			break;
		q = scan_plain(q + k, end);
	}
	return q;
}

/* A string at j->p (after the opening quote), decoded where it lies and
 * NUL-terminated (the text never grows when decoded).  *plain: it had no
 * escape, so it holds nothing that needs one when written out. */
static inline __attribute__((always_inline)) int str(struct jp *j, char **s, size_t *n, int *plain)
{
	char *start = j->p, *w = NULL;

	for (;;) {
		char *q = scan_str(j->p, j->end);
		if (w) {
			memmove(w, j->p, (size_t)(q - j->p));
			w += q - j->p;
		}
		j->p = q;
		if (__builtin_expect(q < j->end && *q == '"', 1)) {
			j->p++;
			if (!w)
				w = q;
			*w = '\0';
			*s = start;
			*n = (size_t)(w - start);
			*plain = w == q;
			return 0;
		}
		if (q < j->end && (unsigned char)*q >= 0x80) {
			j->bad_utf8 = 1;
			j->err = "not valid UTF-8";
			return -1;
		}
		if (q >= j->end || (unsigned char)*q < 0x20) {
			j->err = "unterminated string or control character in string";
			return -1;
		}
		if (!w)
			w = q;
		if (j->end - q < 2) {
			j->err = "bad escape";
			return -1;
		}
		char c = q[1];
		j->p = q + 2;
		switch (c) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/': *w++ = '/'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (j->end - j->p < 4 || jx_hex4(j->p, &cp) < 0) {
				j->err = "bad \\u escape";
				return -1;
			}
			j->p += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || jx_hex4(j->p + 2, &lo) < 0 ||
				    lo < 0xDC00 || lo > 0xDFFF) {
					j->err = "lone surrogate in \\u escape";
					return -1;
				}
				j->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				j->err = "lone surrogate in \\u escape";
				return -1;
			}
			/* 6 or 12 bytes of escape make at most 4 of UTF-8. */
			w += jx_utf8_put(w, cp);
			break;
		}
		default:
			j->err = "bad escape";
			return -1;
		}
	}
}

/* The end of the number at j->p (JSON's grammar), or NULL with j->err
 * set.  *digits: where its digits start; *real: it has a fraction or an
 * exponent. */
static const char *num_end(struct jp *j, const char **digits, int *real)
{
	const char *q = j->p;

	*real = 0;
	if (q < j->end && *q == '-')
		q++;
	*digits = q;
	if (q >= j->end || !(*q >= '0' && *q <= '9'))
		goto bad;
	if (*q == '0')
		q++;
	else
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	if (q < j->end && *q == '.') {
		*real = 1;
		q++;
		if (q >= j->end || !(*q >= '0' && *q <= '9'))
			goto bad;
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < j->end && (*q == 'e' || *q == 'E')) {
		*real = 1;
		q++;
		if (q < j->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= j->end || !(*q >= '0' && *q <= '9'))
			goto bad;
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	return q;
bad:
	j->err = "invalid number";
	return NULL;
}

static jv_t number(struct jp *j)
{
	const char *q, *digits;
	int real, neg = *j->p == '-';
	char num[64];

	if (!(q = num_end(j, &digits, &real)))
		return JV_NONE;
	if (!real && q - digits <= 18) {
		/* Fits: no strtoll. */
		long long v = 0;
		for (const char *c = digits; c < q; c++)
			v = v * 10 + (*c - '0');
		j->p = (char *)q;
		j->odd |= neg && !v; /* -0 is written 0 */
		return jv_int(j->d, neg ? -v : v);
	}
	j->odd = 1; /* reals are written in their own form */
	const char *start = j->p;
	size_t len = (size_t)(q - start);
	if (!real) {
		if (len < sizeof(num)) {
			memcpy(num, start, len);
			num[len] = '\0';
			errno = 0;
			long long v = strtoll(num, NULL, 10);
			if (errno != ERANGE) {
				j->p = (char *)q;
				return jv_int(j->d, v);
			}
		}
		/* Wider than 64 bits: valid JSON all the same, its digits kept. */
		jv_t n = jv_stringn(j->d, start, len);
		if (n) {
			j->d->v[n].type = JVT_NUM;
			j->d->has_num = 1;
		}
		j->p = (char *)q;
		return n;
	}
	if (len >= sizeof(num)) {
		j->err = "number too long";
		return JV_NONE;
	}
	memcpy(num, start, len);
	num[len] = '\0';
	j->p = (char *)q;
	errno = 0;
	double x = strtod(num, NULL);
	if (errno == ERANGE && (x > 1 || x < -1)) {
		j->err = "real number too big";
		return JV_NONE;
	}
	return jv_real(j->d, x);
}

static jv_t value(struct jp *j, const struct jv_want *w);
static int skip(struct jp *j);

/* The entry of filter w for a key, or NULL: the member is skipped. */
static inline const struct jv_want *wanted(const struct jv_want *w, const char *key, size_t klen)
{
	for (; w->key; w++)
		if (w->klen == klen && w->key[0] == key[0] && !memcmp(w->key, key, klen))
			return w;
	return NULL;
}

/* Appends cell m to a member chain being built (object(), array()). */
static inline void chain(struct jv_doc *d, uint32_t *first, uint32_t *last, uint32_t *n, uint32_t m)
{
	if (*last)
		d->m[*last].next = m;
	else
		*first = m;
	*last = m;
	(*n)++;
}

/* A repeated key takes the first place with the last value (jansson).  A
 * 256-bit filter on (length, first and last byte) spares the scan for keys
 * that cannot be there.  The member chain is kept here and stored in the
 * object once, at its end. */
static jv_t object(struct jp *j, const struct jv_want *w)
{
	struct jv_doc *d = j->d;
	jv_t o = jv_obj(d);
	uint64_t seen[4] = { 0, 0, 0, 0 };
	uint32_t first = 0, last = 0, n = 0;

	uint64_t lens = 0; /* a bit per length of the filter's keys */

	if (w)
		for (const struct jv_want *e = w; e->key; e++)
			lens |= 1ULL << (e->klen & 63);
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return o;
	}
	for (;;) {
		char *key;
		size_t klen;
		int plain;
		jv_t v;
		if (!next_is(j, '"')) {
			j->err = "expected a string key";
			return JV_NONE;
		}
		j->p++;
		if (str(j, &key, &klen, &plain) < 0)
			return JV_NONE;
		j->odd |= !plain;
		/* A value may hold \u0000 (JSON allows it; its length says where
		 * it ends), a key may not: jansson looks keys up as C strings. */
		if (!plain && memchr(key, 0, klen)) {
			j->err = "\\u0000 in a key";
			return JV_NONE;
		}
		if (!next_is(j, ':')) {
			j->err = "expected ':'";
			return JV_NONE;
		}
		j->p++;
		if (w) {
			/* A member the caller does not read: checked, not kept. */
			const struct jv_want *e = lens >> (klen & 63) & 1 ? wanted(w, key, klen) : NULL;
			if (!e) {
				if (skip(j) < 0)
					return JV_NONE;
				goto next;
			}
			v = value(j, e->sub);
		} else {
			v = value(j, NULL);
		}
		if (!v)
			return JV_NONE;
		if (!o)
			return JV_NONE; /* out of memory */
		/* (key[klen] is the NUL written after it: an empty key reads that.) */
		unsigned h = ((unsigned)klen * 37u + (unsigned char)key[0] * 11u +
			      (unsigned char)key[klen ? klen - 1 : 0]) & 255;
		uint64_t bit = 1ULL << (h & 63);
		uint32_t m = 0;
		if (seen[h >> 6] & bit) {
			d->v[o].first = first;
			m = find(d, o, key, klen);
		}
		seen[h >> 6] |= bit;
		if (m && j->no_dups) {
			j->err = "duplicate object key";
			return JV_NONE;
		}
		if (m) {
			d->m[m].val = v;
		} else if ((m = new_mem_p(d, key, klen, v, plain))) {
			chain(d, &first, &last, &n, m);
		}
	next:
		if (next_is(j, ',')) {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			if (!o)
				return JV_NONE; /* out of memory */
			struct jv_val *x = &d->v[o];
			x->first = first;
			x->last = last;
			x->len = n;
			return o;
		}
		j->err = "expected ',' or '}'";
		return JV_NONE;
	}
}

static jv_t array(struct jp *j, const struct jv_want *w)
{
	struct jv_doc *d = j->d;
	jv_t a = jv_arr(d);
	uint32_t first = 0, last = 0, n = 0;

	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return a;
	}
	for (;;) {
		jv_t v = value(j, w);
		uint32_t m;
		if (!v || !a)
			return JV_NONE;
		if ((m = new_mem_p(d, NULL, 0, v, 0))) {
			chain(d, &first, &last, &n, m);
		}
		if (next_is(j, ',')) {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			struct jv_val *x = &d->v[a];
			x->first = first;
			x->last = last;
			x->len = n;
			return a;
		}
		j->err = "expected ',' or ']'";
		return JV_NONE;
	}
}

static jv_t value(struct jp *j, const struct jv_want *w)
{
	char *s;
	size_t n;
	int plain;
	jv_t v;

	ws(j);
	if (j->p >= j->end) {
		j->err = "unexpected end of input";
		return JV_NONE;
	}
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > 2048) {
			j->err = "nested too deeply";
			return JV_NONE;
		}
		v = *j->p == '{' ? object(j, w) : array(j, w);
		j->depth--;
		return v;
	case '"':
		j->p++;
		if (str(j, &s, &n, &plain) < 0)
			return JV_NONE;
		j->odd |= !plain;
		return new_str(j->d, s, n, plain);
	case 't':
		if (j->end - j->p >= 4 && !memcmp(j->p, "true", 4)) {
			j->p += 4;
			return JV_TRUE;
		}
		break;
	case 'f':
		if (j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) {
			j->p += 5;
			return JV_FALSE;
		}
		break;
	case 'n':
		if (j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) {
			j->p += 4;
			return JV_NULL;
		}
		break;
	default:
		return number(j);
	}
	j->err = "invalid literal";
	return JV_NONE;
}

/* A string at j->p (its opening quote) that is not kept: found to its end
 * without decoding it; one with an escape (or an error) goes through str(),
 * which checks it as for a kept one.  A key (key = 1) may not hold \u0000,
 * as object() checks. */
static int skip_str(struct jp *j, int key)
{
	char *q = scan_str(j->p + 1, j->end), *s;
	size_t n;
	int plain;

	if (q < j->end && *q == '"') {
		j->p = q + 1;
		return 0;
	}
	j->p++;
	if (str(j, &s, &n, &plain) < 0)
		return -1;
	if (key && !plain && memchr(s, 0, n)) {
		j->err = "\\u0000 in a key";
		return -1;
	}
	return 0;
}

/* A value the caller does not read (a filter left it out): checked as
 * value() checks it, with the same errors, but not kept. */
static int skip(struct jp *j)
{
	char close;

	ws(j);
	if (j->p >= j->end || (*j->p != '{' && *j->p != '[' && *j->p != '"'))
		return value(j, NULL) ? 0 : -1; /* literals, numbers, errors */
	if (*j->p == '"')
		return skip_str(j, 0);
	if (++j->depth > 2048) {
		j->err = "nested too deeply";
		return -1;
	}
	close = *j->p == '{' ? '}' : ']';
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (!next_is(j, '"')) {
				j->err = "expected a string key";
				return -1;
			}
			if (skip_str(j, 1) < 0)
				return -1;
			if (!next_is(j, ':')) {
				j->err = "expected ':'";
				return -1;
			}
			j->p++;
		}
		if (skip(j) < 0)
			return -1;
		if (next_is(j, ',')) {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return 0;
		}
		j->err = close == '}' ? "expected ',' or '}'" : "expected ',' or ']'";
		return -1;
	}
}

jv_t jv_parse(struct jv_doc *d, char *s, size_t n, char *errbuf, size_t errsz)
{
	return jv_parse_flags(d, s, n, 0, errbuf, errsz);
}

static jv_t parse(struct jv_doc *d, char *s, size_t n, unsigned flags, const struct jv_want *w,
		  char *errbuf, size_t errsz)
{
	struct jp j = { d, s, s + n, 0, (flags & JV_NO_DUPLICATES) != 0, NULL, w != NULL, 0 };
	jv_t v;

	d->plain_text = 0;
	/* UTF-8 is checked in strings as they are read (bytes >= 0x80 are
	 * nowhere else in JSON).  A text that is not UTF-8 is named so before
	 * any syntax error: what lies before the error was read (and is
	 * UTF-8), what lies after is checked now. */
	v = value(&j, w);
	if (v) {
		ws(&j);
		if (j.p != j.end) {
			v = JV_NONE;
			j.err = "end of file expected";
		}
	}
	if (!v && !j.err)
		j.err = d->failed ? "out of memory" : "invalid JSON";
	if (!v && (j.bad_utf8 || !utf8_valid_bytes(j.p, (size_t)(j.end - j.p))))
		snprintf(errbuf, errsz, "not valid UTF-8");
	else if (!v)
		snprintf(errbuf, errsz, "%s near byte %zu", j.err, (size_t)(j.p - s));
	d->plain_text = v && !j.odd;
	return v;
}

jv_t jv_parse_flags(struct jv_doc *d, char *s, size_t n, unsigned flags, char *errbuf, size_t errsz)
{
	return parse(d, s, n, flags, NULL, errbuf, errsz);
}

jv_t jv_parse_want(struct jv_doc *d, char *s, size_t n, const struct jv_want *w, char *errbuf, size_t errsz)
{
	return parse(d, s, n, 0, w, errbuf, errsz);
}
