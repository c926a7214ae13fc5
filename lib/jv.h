/* jv.h: JSON values in one arena per document, for the pull hot path.
 *
 * jansson spends most of a pull in malloc, free and hashing: one allocation
 * per value and per key, a hash table per object, and the same again to
 * free it.  A jv_doc holds every value of a page (or a record being built)
 * in two flat arrays and one string arena, so parsing a page allocates
 * nothing once the arrays have grown, and forgetting it is one store.
 *
 * Values are 32-bit handles into their document (jv_t); JV_NONE (0) is
 * "absent" and every getter accepts it.  A value may sit in several
 * containers at once (members are separate cells), so building a record
 * from a page shares the page's strings instead of copying them.
 *
 * The parser works in situ: jv_parse decodes strings inside the caller's
 * buffer, which must outlive the document's use.  It accepts exactly what
 * jx_parse accepts (UTF-8 checked, \u0000 in values only, no trailing garbage, depth
 * 2048; integers wider than 64 bits kept as digits, JVT_NUM), and a repeated key keeps its first
 * place with the last value, as jansson does.  jv_dump writes exactly what
 * jx_dump writes for the same value. */
#ifndef CRM_JV_H
#define CRM_JV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf;

typedef uint32_t jv_t;

#define JV_NONE  ((jv_t)0)
#define JV_NULL  ((jv_t)1)
#define JV_TRUE  ((jv_t)2)
#define JV_FALSE ((jv_t)3)

/* JVT_NUM: an integer wider than 64 bits, kept as its digits (u.s, len):
 * written back as it came; jansson (jv_to_json) gets the nearest double. */
enum jv_type { JVT_NONE, JVT_NULL, JVT_TRUE, JVT_FALSE, JVT_INT, JVT_REAL, JVT_STR, JVT_ARR, JVT_OBJ,
	       JVT_NUM };

struct jv_val {
	uint8_t type;
	uint8_t plain;         /* a string known to need no escaping */
	uint32_t len;          /* string bytes, or members of a container */
	uint32_t first, last;  /* containers: member cells */
	union {
		const char *s;
		long long i;
		double d;
	} u;
};

struct jv_mem {
	const char *key;       /* NULL in arrays */
	uint32_t klen;
	char k0;               /* the key's first byte: most lookups stop here */
	uint8_t plain;         /* the key needs no escaping */
	uint8_t mark;          /* for lib/map: the field was taken */
	jv_t val;
	uint32_t next;         /* next cell, 0 at the end */
};

struct jv_chunk;

struct jv_doc {
	struct jv_val *v;
	size_t nv, capv;
	struct jv_mem *m;
	size_t nm, capm;
	struct jv_chunk *chunks; /* string storage; pointers into it stay valid */
	int failed;              /* memory ran out: values built since are JV_NONE */
	char **owned;            /* texts parsed in place, freed with the values */
	size_t nowned, capowned;
	int has_num;             /* a JVT_NUM was made: jansson's copy is not exact */
	int plain_text;          /* the last parse's text is what jv_dump writes of its
				    value, whitespace aside (no escape, no real, no -0) */
};

struct jv_mark {
	size_t nv, nm;
	struct jv_chunk *chunk;
	size_t used;
};

void jv_init(struct jv_doc *d);
/* Forgets every value (keeps the memory for the next page). */
void jv_reset(struct jv_doc *d);
void jv_release(struct jv_doc *d);
/* A point to come back to: values made after it are forgotten by jv_rewind
 * (a record built from a page, once it is written). */
struct jv_mark jv_mark(const struct jv_doc *d);
void jv_rewind(struct jv_doc *d, const struct jv_mark *m);

/* Parses s[0..n) in place (s is changed and must stay alive).  Returns the
 * value, or JV_NONE with a message in errbuf. */
jv_t jv_parse(struct jv_doc *d, char *s, size_t n, char *errbuf, size_t errsz);
/* The same with flags: JV_NO_DUPLICATES makes a repeated key an error. */
#define JV_NO_DUPLICATES 1u
jv_t jv_parse_flags(struct jv_doc *d, char *s, size_t n, unsigned flags, char *errbuf, size_t errsz);
/* The same for a CRM's answer of which the caller reads a few members:
 * filter w lists the members of the top object to keep (a list ended by
 * a NULL key); each entry's sub filters its value the same way (for an
 * array: each of its items), NULL keeping all of it.  Members left out
 * are checked as JSON all the same (same errors), but not kept. */
struct jv_want {
	const char *key;
	size_t klen;
	const struct jv_want *sub;
};
#define JV_WANT(key, sub) { key, sizeof(key) - 1, sub }
#define JV_WANT_END { NULL, 0, NULL }
jv_t jv_parse_want(struct jv_doc *d, char *s, size_t n, const struct jv_want *w, char *errbuf, size_t errsz);
/* The string at the keys path[0], path[1], ... (NULL-terminated) of the
 * object that JSON text s[0..n) holds, found without reading the rest (the
 * cursor at the end of a page, before the page is read): copied into out.
 * Returns 1 when found, 0 when the path is not there (or null), -1 when it
 * cannot tell (text that is not an object, a value that is not a plain
 * string: escaped, or longer than outsz - 1); then parse the text. */
int jv_peek_str(const char *s, size_t n, const char *const *path, char *out, size_t outsz);
/* Hands malloc'd text p (parsed in place) to the document, which frees it
 * at jv_reset or jv_release.  Returns -1 (and frees p) when out of memory. */
int jv_adopt(struct jv_doc *d, char *p);
/* A jansson value as jv: strings are borrowed from v, which must outlive
 * the document's use. */
jv_t jv_from_json(struct jv_doc *d, const json_t *v);
/* v as a new jansson value (tests, and callers that need jansson). */
json_t *jv_to_json(const struct jv_doc *d, jv_t v);
/* n bytes that live as long as the document's values (NULL when out of
 * memory): a line to parse in place. */
char *jv_alloc(struct jv_doc *d, size_t n);
/* Is v absent, null, "" or an empty array or object (jx_is_empty)? */
int jv_is_empty(const struct jv_doc *d, jv_t v);
/* Deep equality, objects in any key order (json_equal). */
int jv_equal(const struct jv_doc *d, jv_t a, jv_t b);
/* Scalars equal as text ("50" == 50), containers deeply (jx_text_equal). */
int jv_text_equal(const struct jv_doc *d, jv_t a, jv_t b);
/* Serialises v compactly, as jx_dump does, and appends to b. */
int jv_dump(struct buf *b, const struct jv_doc *d, jv_t v);

static inline enum jv_type jv_typeof(const struct jv_doc *d, jv_t v) { return (enum jv_type)d->v[v].type; }
static inline int jv_is_null(const struct jv_doc *d, jv_t v) { return v == JV_NONE || d->v[v].type == JVT_NULL; }
static inline int jv_is_true(const struct jv_doc *d, jv_t v) { return d->v[v].type == JVT_TRUE; }
static inline int jv_is_str(const struct jv_doc *d, jv_t v) { return d->v[v].type == JVT_STR; }
static inline size_t jv_size(const struct jv_doc *d, jv_t v) { return d->v[v].len; }
/* A string's bytes (NUL-terminated), or NULL when v is not a string. */
static inline const char *jv_sval(const struct jv_doc *d, jv_t v)
{
	return d->v[v].type == JVT_STR ? d->v[v].u.s : NULL;
}

/* Member `key` of an object, or JV_NONE. */
jv_t jv_getn(const struct jv_doc *d, jv_t obj, const char *key, size_t klen);
/* (Inline, so that a literal key's length is known when compiling.) */
static inline jv_t jv_get(const struct jv_doc *d, jv_t obj, const char *key)
{
	return jv_getn(d, obj, key, strlen(key));
}
/* The same, scanning from the member after *hint (a cell from the last
 * call, 0 at first): lookups in the order of the object cost one step.
 * *hint is set to the cell found. */
jv_t jv_get_hint(struct jv_doc *d, jv_t obj, const char *key, uint32_t *hint);
/* String value of key, or NULL when absent, null or not a string (jx_str). */
static inline const char *jv_str(const struct jv_doc *d, jv_t obj, const char *key)
{
	return jv_sval(d, jv_get(d, obj, key));
}
/* A scalar as text (jx_text): strings as-is, numbers and booleans printed,
 * NULL for null, absent, arrays and objects. */
const char *jv_text(const struct jv_doc *d, jv_t v, char *out, size_t outsz);
/* Element i of an array, or JV_NONE. */
jv_t jv_at(const struct jv_doc *d, jv_t arr, size_t i);

/* Iteration: for (uint32_t m = jv_items(d, arr); m; m = jv_next(d, m))
 * visits an array's elements (none when arr is not an array), jv_members
 * an object's members (none when obj is not an object). */
static inline uint32_t jv_items(const struct jv_doc *d, jv_t arr)
{
	return d->v[arr].type == JVT_ARR ? d->v[arr].first : 0;
}
static inline uint32_t jv_members(const struct jv_doc *d, jv_t obj)
{
	return d->v[obj].type == JVT_OBJ ? d->v[obj].first : 0;
}
static inline uint32_t jv_next(const struct jv_doc *d, uint32_t m) { return d->m[m].next; }
static inline const char *jv_key(const struct jv_doc *d, uint32_t m) { return d->m[m].key; }
static inline jv_t jv_val(const struct jv_doc *d, uint32_t m) { return d->m[m].val; }

/* New values.  jv_string copies s into the document; jv_string_ref keeps
 * the pointer (a literal, or text that outlives the document's use). */
jv_t jv_obj(struct jv_doc *d);
jv_t jv_arr(struct jv_doc *d);
jv_t jv_string(struct jv_doc *d, const char *s);
jv_t jv_stringn(struct jv_doc *d, const char *s, size_t n);
jv_t jv_string_refn(struct jv_doc *d, const char *s, size_t n);
static inline jv_t jv_string_ref(struct jv_doc *d, const char *s)
{
	return jv_string_refn(d, s, strlen(s));
}
/* jv_string_ref of a string that needs no escaping in JSON (a literal
 * word: a status, a provider's name): written out as it is. */
jv_t jv_string_lit(struct jv_doc *d, const char *s);
/* jv_string_ref of s, or JV_NULL when s is NULL (jx_str_new). */
jv_t jv_str_or_null(struct jv_doc *d, const char *s);
jv_t jv_int(struct jv_doc *d, long long i);
jv_t jv_real(struct jv_doc *d, double x);
static inline jv_t jv_bool(int b) { return b ? JV_TRUE : JV_FALSE; }

/* Sets key (kept by pointer, like jv_string_ref) to val: in place when the
 * key is there, else at the end.  JV_NONE as val does nothing. */
void jv_set(struct jv_doc *d, jv_t obj, const char *key, jv_t val);
/* jv_add and jv_set with the key's length and whether it needs no
 * escaping given: JV_LIT("name") for a literal identifier, the hot path's
 * keys (a key that is not plain is still written correctly with plain 0). */
#define JV_LIT(s) (s), sizeof(s) - 1, 1
void jv_add_key(struct jv_doc *d, jv_t obj, const char *key, size_t klen, int plain, jv_t val);
void jv_set_key(struct jv_doc *d, jv_t obj, const char *key, size_t klen, int plain, jv_t val);
/* jv_set_key of several keys that need no escaping, in one pass over obj:
 * each is set in place when obj has it, else added at the end in the order
 * given.  An entry whose val is JV_NONE is left alone. */
struct jv_kv {
	const char *key;
	uint32_t klen;
	jv_t val;
};
#define JV_KV(lit, v) { (lit), sizeof(lit) - 1, (v) }
void jv_set_keys(struct jv_doc *d, jv_t obj, const struct jv_kv *kv, size_t n);
/* What jv_set_keys(d, obj, kv, n) and then jv_dump(b, d, obj) would write,
 * copied from obj's text (text[0..n), read by a parse that set
 * d->plain_text) rather than walked: 1 when written; 0 when obj has one of
 * kv's keys (nothing written); -1 when out of memory. */
int jv_dump_with(struct buf *b, const char *text, size_t n, const struct jv_doc *d, jv_t obj,
		 const struct jv_kv *kv, size_t nkv);
/* Appends key: val without looking for key (the caller knows it is new). */
void jv_add(struct jv_doc *d, jv_t obj, const char *key, jv_t val);
/* The cell holding key's value, made (holding JV_NULL) when absent; 0 when
 * out of memory.  klen and plain as for jv_add_key.  Cells stay put while values are added. */
uint32_t jv_cell(struct jv_doc *d, jv_t obj, const char *key, size_t klen, int plain);
void jv_del(struct jv_doc *d, jv_t obj, const char *key);
void jv_append(struct jv_doc *d, jv_t arr, jv_t val);
void jv_remove(struct jv_doc *d, jv_t arr, size_t i);

#endif
