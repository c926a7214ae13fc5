/* buf.h: a growable byte buffer with a ceiling.
 *
 * `buf` is never NULL after buf_init (it points at a static "" until the
 * first growth) and is always NUL-terminated.  A buffer refuses to grow past
 * `max` bytes (0 = BUF_MAX_DEFAULT), so hostile input fails cleanly.  Text
 * grows only through these functions. */
#ifndef CRM_BUF_H
#define CRM_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#define BUF_MAX_DEFAULT ((size_t)1 << 30)

struct buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t max;
};

extern char buf_empty[];
#define BUF_INIT { buf_empty, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
/* Each returns 0, or -1 when the buffer would pass its ceiling (or memory ran out). */
int buf_grow(struct buf *b, size_t extra);
int buf_add_slow(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);

/* The hot path (every byte of a pull's output) inline: room is there. */
static inline int buf_add(struct buf *b, const void *data, size_t len)
{
	if (len < b->alloc && b->len < b->alloc - len) {
		memcpy(b->buf + b->len, data, len);
		b->len += len;
		b->buf[b->len] = '\0';
		return 0;
	}
	return buf_add_slow(b, data, len);
}

static inline int buf_addc(struct buf *b, char c)
{
	if (b->len + 1 < b->alloc) {
		b->buf[b->len++] = c;
		b->buf[b->len] = '\0';
		return 0;
	}
	return buf_add_slow(b, &c, 1);
}
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Appends s with URL percent-encoding (RFC 3986 unreserved kept). */
int buf_add_urlenc(struct buf *b, const char *s);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
/* Returns the malloc'd string (caller frees) and leaves b empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
