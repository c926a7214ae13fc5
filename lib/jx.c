#include "jx.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jv.h"
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
		if (d < 1e15 && d > -1e15 && d == (double)(long long)d)
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

/* A compact serialiser for the hot path (every record goes through it):
 * jansson's own dumper spends most of a pull's time in per-character
 * callbacks.  Same output as json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(15)):
 * keys in insertion order, raw UTF-8, control characters escaped. */
/* 1 for the bytes a JSON string cannot hold as they are. */
static const unsigned char needs_escape[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
};

int jx_add_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	/* One pass, straight into the buffer; an escape asks for more room. */
	if ((b->alloc < b->len + n + 3) && buf_grow(b, n + 2) < 0)
		return -1;
	char *o = b->buf + b->len, *lim = b->buf + b->alloc - 2;
	*o++ = '"';
	while (p < end) {
		/* Eight plain bytes at a time (room for them is there). */
		if (end - p >= 8) {
			uint64_t x;
			memcpy(&x, p, 8);
			if (!jx_swar_special(x)) {
				memcpy(o, &x, 8);
				o += 8;
				p += 8;
				continue;
			}
		}
		unsigned char ch = *p;
		if (!needs_escape[ch]) {
			*o++ = (char)ch;
			p++;
			continue;
		}
		b->len = (size_t)(o - b->buf);
		if ((size_t)(lim - o) < (size_t)(end - p) + 6) {
			if (buf_grow(b, (size_t)(end - p) + 8) < 0)
				return -1;
			o = b->buf + b->len;
			lim = b->buf + b->alloc - 2;
		}
		*o++ = '\\';
		switch (ch) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		default:
			*o++ = 'u'; *o++ = '0'; *o++ = '0'; *o++ = hex[ch >> 4]; *o++ = hex[ch & 15];
		}
		p++;
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->buf);
	return 0;
}

int jx_add_int(struct buf *b, long long n)
{
	/* Digits backwards: faster than printf on the hot path. */
	char tmp[24];
	unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
	char *p = tmp + sizeof(tmp);
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (n < 0)
		*--p = '-';
	return buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

int jx_add_real(struct buf *b, double d)
{
	/* The shortest of 15, 16 or 17 digits that reads back the same
	 * double: 0.8 stays 0.8, and no value is rounded. */
	char tmp[40];
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	if (n < 0 || (size_t)n >= sizeof(tmp) - 3)
		return -1;
	if (!strpbrk(tmp, ".eEn"))
		memcpy(tmp + n, ".0", 3), n += 2;
	return buf_add(b, tmp, (size_t)n);
}

int jx_dump(struct buf *b, const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i, klen;
	int first = 1;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (buf_addc(b, '{') < 0)
			return -1;
		json_object_keylen_foreach((json_t *)v, k, klen, x) {
			if ((!first && buf_addc(b, ',') < 0) || jx_add_string(b, k, klen) < 0 ||
			    buf_addc(b, ':') < 0 || jx_dump(b, x) < 0)
				return -1;
			first = 0;
		}
		return buf_addc(b, '}');
	case JSON_ARRAY:
		if (buf_addc(b, '[') < 0)
			return -1;
		json_array_foreach(v, i, x) {
			if ((i && buf_addc(b, ',') < 0) || jx_dump(b, x) < 0)
				return -1;
		}
		return buf_addc(b, ']');
	case JSON_STRING:
		return jx_add_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return jx_add_int(b, json_integer_value(v));
	case JSON_REAL:
		return jx_add_real(b, json_real_value(v));
	case JSON_TRUE:
		return buf_add(b, "true", 4);
	case JSON_FALSE:
		return buf_add(b, "false", 5);
	default:
		return buf_add(b, "null", 4);
	}
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

size_t jx_utf8_char(const char *s, const char *end)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c = *p, cp;
	size_t n;

	if (c >= 0xC2 && c <= 0xDF)
		n = 1, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 2, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 3, cp = c & 0x07;
	else
		return 0;
	if ((size_t)((const unsigned char *)end - p) <= n)
		return 0;
	for (size_t i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n + 1;
}

int utf8_valid_bytes(const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	while (p < end) {
		/* Eight ASCII bytes at a time: most of a CRM's answer. */
		while (end - p >= 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			if (w & 0x8080808080808080ULL)
				break;
			p += 8;
		}
		if (p >= end)
			break;
		if (!((unsigned char)*p & 0x80)) {
			p++;
			continue;
		}
		size_t k = jx_utf8_char(p, end);
		if (!k)
			return 0;
		p += k;
	}
	return 1;
}

/* ---- parsing ----
 *
 * jansson's json_loadb reads through a character stream with a UTF-8 check
 * per character; on a pull it was half of all instructions.  jx_parse is
 * lib/jv's parser (one pass over a copy of the text, UTF-8 checked once)
 * turned into jansson values; it refuses what jansson refuses: trailing
 * garbage, bad escapes, lone surrogates, control characters in strings,
 * nesting deeper than 2048. */

int jx_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

size_t jx_utf8_put(char *u, unsigned cp)
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	u[0] = (char)(0xF0 | (cp >> 18));
	u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	u[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

json_t *jx_parse(const char *s, size_t n, unsigned flags, char *errbuf, size_t errsz)
{
	struct jv_doc d;
	json_t *out = NULL;
	char *copy = malloc(n + 1);
	jv_t v;

	if (!copy) {
		snprintf(errbuf, errsz, "out of memory");
		return NULL;
	}
	memcpy(copy, s, n);
	copy[n] = '\0';
	jv_init(&d);
	v = jv_parse_flags(&d, copy, n, flags & JX_NO_DUPLICATES ? JV_NO_DUPLICATES : 0, errbuf, errsz);
	if (v && !(out = jv_to_json(&d, v)))
		snprintf(errbuf, errsz, "out of memory");
	jv_release(&d);
	free(copy);
	return out;
}

char *jx_lower_dup(const char *s)
{
	char *d = strdup(s);
	for (char *q = d; d && *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	return d;
}
