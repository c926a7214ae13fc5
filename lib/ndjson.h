/* ndjson.h: streaming NDJSON in and out, one line in memory at a time.
 *
 * The reader hands out each line with its number.  A line that is not valid
 * UTF-8, not JSON, or not an object becomes a per-line error (the run goes
 * on); only an I/O error on the stream ends it.  The writer buffers records
 * and writes them with write(2), so an EPIPE is seen as CRM_EPIPE. */
#ifndef CRM_NDJSON_H
#define CRM_NDJSON_H

#include <jansson.h>

#include "jv.h"
#include <stdio.h>
#include <sys/types.h>

#include "buf.h"

struct crm_err;

#define NDJSON_LINE_MAX ((size_t)256 << 20) /* a line may be up to 256 MiB */

struct ndjson_reader {
	FILE *f;
	struct buf line;    /* the current line, without its line end */
	long lineno;        /* 1-based number of the current line */
	int too_long;       /* the current line passed NDJSON_LINE_MAX */
	char in[65536];     /* read-ahead from f */
	size_t inpos, inlen;
	int eof;
	/* Called before a read that may block (NULL: none): lets the caller
	 * serve other work until fd has `events` (push: its transfers). */
	void (*wait)(void *ctx, int fd, short events);
	void *wait_ctx;
};

void ndjson_reader_init(struct ndjson_reader *r, FILE *f);
void ndjson_reader_release(struct ndjson_reader *r);
/* Reads the next non-blank line.  Returns 1 with r->line set, 0 at end of
 * input, or CRM_EDATA on a read error (err filled). */
int ndjson_read_line(struct ndjson_reader *r, struct crm_err *err);
/* Parses r->line as one JSON object.  Returns a new reference, or NULL with
 * err set to invalid_utf8, invalid_json, not_an_object or line_too_long. */
json_t *ndjson_parse_line(struct ndjson_reader *r, struct crm_err *err);
/* The same checks and errors for line number `lineno`, text s[0..n),
 * into document d (the text is copied into d and parsed there): the
 * object, or JV_NONE with err set. */
jv_t ndjson_parse_jv(struct jv_doc *d, const char *s, size_t n, long lineno, struct crm_err *err);
/* Is s[0..len) valid UTF-8 (no overlongs, no surrogates)? */
int utf8_valid(const char *s, size_t len);

struct ndjson_writer {
	int fd;
	struct buf out;
	size_t flush_at;
	int status;         /* first write failure (CRM_EPIPE or CRM_EOUTPUT), sticky */
	char what[64];      /* "stdout", "--rejects file", ... for messages */
	int syserr;         /* errno of the failure */
	void (*wait)(void *ctx, int fd, short events); /* before a write that may block, as the reader's */
	void *wait_ctx;
};

void ndjson_writer_init(struct ndjson_writer *w, int fd, const char *what);
/* Appends one record and a newline; writes when the buffer is full. */
int ndjson_write(struct ndjson_writer *w, const json_t *v, struct crm_err *err);
/* The same for a value of a jv document (the pull hot path). */
int ndjson_write_jv(struct ndjson_writer *w, const struct jv_doc *d, jv_t v, struct crm_err *err);
/* jv_dump_with as a line (the push's result line, from its input line):
 * 0 when written; 1 when obj has one of kv's keys (nothing written);
 * < 0 as ndjson_write_jv. */
struct jv_kv;
int ndjson_write_with(struct ndjson_writer *w, const char *text, size_t n, const struct jv_doc *d, jv_t obj,
		      const struct jv_kv *kv, size_t nkv, struct crm_err *err);
/* Appends raw bytes (a verbatim line) and a newline. */
int ndjson_write_raw(struct ndjson_writer *w, const char *s, size_t len, struct crm_err *err);
/* Writes out what is buffered.  0 or the sticky failure status. */
int ndjson_flush(struct ndjson_writer *w, struct crm_err *err);
void ndjson_writer_release(struct ndjson_writer *w);

#endif
