/* jx.h: small helpers over jansson.
 *
 * Ownership in jansson's words: getters return borrowed references;
 * functions named *_new return new references; jx_set steals its value. */
#ifndef CRM_JX_H
#define CRM_JX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf;

/* Borrowed string value of key, or NULL when absent, null or not a string. */
const char *jx_str(const json_t *obj, const char *key);
/* A scalar as text into out (strings as-is, numbers and booleans printed);
 * returns NULL for null, absent, arrays and objects. */
const char *jx_text(const json_t *v, char *out, size_t outsz);
/* Sets key to value (steals value); a NULL value is ignored. */
void jx_set(json_t *obj, const char *key, json_t *value);
/* json_string that tolerates NULL (returns json_null()). New reference. */
json_t *jx_str_new(const char *s);
/* Serialises v compactly (keys in insertion order) and appends to b. */
int jx_dump(struct buf *b, const json_t *v);
/* The pieces of jx_dump, for lib/jv: a string (escaped), an integer, a real. */
int jx_add_string(struct buf *b, const char *s, size_t n);
int jx_add_int(struct buf *b, long long n);
int jx_add_real(struct buf *b, double d);
/* The high bit of each of the eight bytes in x that needs care in a JSON
 * string: '"', '\\' or a control character (the usual bit tricks for a
 * zero byte; a byte of 0x80 or more never counts).  Bits above the lowest
 * may be false; the lowest is exact, so the first such byte is at
 * jx_swar_first(mask) (little-endian loads). */
static inline uint64_t jx_swar_mask(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
	return (((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x)) & high;
}
static inline int jx_swar_special(uint64_t x)
{
	return jx_swar_mask(x) ? 1 : 0;
}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JX_SWAR_FIRST 1
static inline size_t jx_swar_first(uint64_t mask)
{
	return (size_t)__builtin_ctzll(mask) >> 3;
}
#endif
/* Is s[0..n) free of bytes that need escaping (so it is written as is)? */
static inline int jx_plain(const char *s, size_t n)
{
	uint64_t x;
	size_t i = 0;

	if (n >= 8) {
		for (; i + 8 <= n; i += 8) {
			memcpy(&x, s + i, 8);
			if (jx_swar_mask(x))
				return 0;
		}
		/* The tail: the last eight bytes again, not a byte loop. */
		memcpy(&x, s + n - 8, 8);
		return !jx_swar_mask(x);
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}
/* Four hex digits at p (no bounds check: the caller has 4 bytes). */
int jx_hex4(const char *p, unsigned *out);
/* Writes code point cp as UTF-8 into u (4 bytes room); returns its length. */
size_t jx_utf8_put(char *u, unsigned cp);
/* True when the scalar values are equal as text ("50" == 50, "true" == true). */
int jx_text_equal(const json_t *a, const json_t *b);
/* Is v empty: absent, null, "" or an empty array/object. */
int jx_is_empty(const json_t *v);
/* Parses one JSON text (any value) from s[0..n).  New reference, or NULL
 * with a message in errbuf.  Faster than json_loadb; same acceptance. */
#define JX_NO_DUPLICATES 1u  /* a repeated object key is an error */
json_t *jx_parse(const char *s, size_t n, unsigned flags, char *errbuf, size_t errsz);
/* A lowercased copy of s (ASCII letters only), malloc'd: keys for
 * case-insensitive matching such as emails. */
char *jx_lower_dup(const char *s);
/* Is s[0..n) valid UTF-8 (no overlongs, no surrogates)? */
int utf8_valid_bytes(const char *s, size_t n);
/* The length of the valid UTF-8 character at s (a byte >= 0x80) before
 * end, or 0: no overlong form, no surrogate, nothing above U+10FFFF. */
size_t jx_utf8_char(const char *s, const char *end);

#endif
