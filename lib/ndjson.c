#include "ndjson.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "jx.h"
#include "banned.h"

void ndjson_reader_init(struct ndjson_reader *r, FILE *f)
{
	r->f = f;
	buf_init(&r->line, NDJSON_LINE_MAX);
	r->lineno = 0;
	r->too_long = 0;
	r->inpos = r->inlen = 0;
	r->eof = 0;
	r->wait = NULL;
	r->wait_ctx = NULL;
}

void ndjson_reader_release(struct ndjson_reader *r)
{
	buf_release(&r->line);
}

/* Reads more input into r->in; returns bytes read, 0 at end, -1 on error.
 * What is there now, not a full buffer: a slow writer upstream gets its
 * lines handled as they come.  (Only this reader reads its file.) */
static ssize_t refill(struct ndjson_reader *r)
{
	int fd = fileno(r->f);
	ssize_t n;

	if (r->eof)
		return 0;
	if (r->wait)
		r->wait(r->wait_ctx, fd, POLLIN);
	n = read(fd, r->in, sizeof(r->in));
	r->inpos = 0;
	r->inlen = n > 0 ? (size_t)n : 0;
	if (n == 0)
		r->eof = 1;
	return n;
}

int ndjson_read_line(struct ndjson_reader *r, struct crm_err *err)
{
	for (;;) {
		int got = 0;

		buf_reset(&r->line);
		r->too_long = 0;
		for (;;) {
			if (r->inpos == r->inlen) {
				ssize_t n = refill(r);
				if (n < 0)
					return err_set(err, CRM_EDATA, "read_error", "cannot read input: %s",
						       strerror(errno));
				if (n == 0)
					break;
			}
			char *start = r->in + r->inpos;
			size_t avail = r->inlen - r->inpos;
			char *nl = memchr(start, '\n', avail);
			size_t take = nl ? (size_t)(nl - start) : avail;
			got = 1;
			if (!r->too_long && buf_add(&r->line, start, take) < 0) {
				r->too_long = 1;
				buf_reset(&r->line);
			}
			r->inpos += take + (nl ? 1 : 0);
			if (nl)
				break;
		}
		if (!got)
			return 0;
		r->lineno++;
		if (r->line.len && r->line.buf[r->line.len - 1] == '\r')
			r->line.buf[--r->line.len] = '\0';
		if (r->too_long)
			return 1;
		/* Blank lines carry no record: skip them (they keep their number). */
		if (strspn(r->line.buf, " \t") == r->line.len)
			continue;
		return 1;
	}
}

int utf8_valid(const char *s, size_t len)
{
	return utf8_valid_bytes(s, len);
}

/* What both parsers check before parsing: length, NUL bytes, UTF-8. */
static int text_ok(const char *s, size_t n, long lineno, struct crm_err *err)
{
	if (memchr(s, '\0', n))
		return err_set(err, CRM_ERECORD, "invalid_json", "line %ld holds a NUL byte", lineno);
	if (!utf8_valid(s, n))
		return err_set(err, CRM_ERECORD, "invalid_utf8", "line %ld is not valid UTF-8", lineno);
	return 0;
}

json_t *ndjson_parse_line(struct ndjson_reader *r, struct crm_err *err)
{
	char why[160];
	json_t *v;

	if (r->too_long) {
		err_set(err, CRM_ERECORD, "line_too_long", "line %ld is longer than %zu bytes",
			r->lineno, (size_t)NDJSON_LINE_MAX);
		return NULL;
	}
	if (text_ok(r->line.buf, r->line.len, r->lineno, err) < 0)
		return NULL;
	v = jx_parse(r->line.buf, r->line.len, JX_NO_DUPLICATES, why, sizeof(why));
	if (!v) {
		err_set(err, CRM_ERECORD, "invalid_json", "line %ld is not JSON: %s", r->lineno, why);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		err_set(err, CRM_ERECORD, "not_an_object", "line %ld is JSON but not an object", r->lineno);
		return NULL;
	}
	return v;
}

jv_t ndjson_parse_jv(struct jv_doc *d, const char *s, size_t n, long lineno, struct crm_err *err)
{
	char why[160], *text;
	jv_t v;

	/* UTF-8 is checked by the parser (once); a failure is named after. */
	if (memchr(s, '\0', n)) {
		err_set(err, CRM_ERECORD, "invalid_json", "line %ld holds a NUL byte", lineno);
		return JV_NONE;
	}
	if (!(text = jv_alloc(d, n + 1))) {
		err_set(err, CRM_ERECORD, "out_of_memory", "line %ld: out of memory", lineno);
		return JV_NONE;
	}
	memcpy(text, s, n);
	text[n] = '\0';
	v = jv_parse_flags(d, text, n, JV_NO_DUPLICATES, why, sizeof(why));
	if (!v) {
		if (!utf8_valid(s, n))
			err_set(err, CRM_ERECORD, "invalid_utf8", "line %ld is not valid UTF-8", lineno);
		else
			err_set(err, CRM_ERECORD, "invalid_json", "line %ld is not JSON: %s", lineno, why);
		return JV_NONE;
	}
	if (jv_typeof(d, v) != JVT_OBJ) {
		err_set(err, CRM_ERECORD, "not_an_object", "line %ld is JSON but not an object", lineno);
		return JV_NONE;
	}
	return v;
}

void ndjson_writer_init(struct ndjson_writer *w, int fd, const char *what)
{
	w->fd = fd;
	buf_init(&w->out, 0);
	w->flush_at = 1 << 16;
	w->status = 0;
	w->syserr = 0;
	w->wait = NULL;
	w->wait_ctx = NULL;
	snprintf(w->what, sizeof(w->what), "%s", what);
}

static int fail(struct ndjson_writer *w, struct crm_err *err)
{
	if (w->status == CRM_EPIPE)
		return err_set(err, CRM_EPIPE, "broken_pipe", "%s was closed by its reader", w->what);
	return err_set(err, CRM_EOUTPUT, "output_error", "cannot write %s: %s", w->what, strerror(w->syserr));
}

int ndjson_flush(struct ndjson_writer *w, struct crm_err *err)
{
	size_t off = 0;

	if (w->status)
		return fail(w, err);
	while (off < w->out.len) {
		if (w->wait)
			w->wait(w->wait_ctx, w->fd, POLLOUT);
		ssize_t n = write(w->fd, w->out.buf + off, w->out.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			w->syserr = errno;
			w->status = errno == EPIPE ? CRM_EPIPE : CRM_EOUTPUT;
			buf_reset(&w->out);
			return fail(w, err);
		}
		off += (size_t)n;
	}
	buf_reset(&w->out);
	return 0;
}

/* After a line was appended (rc < 0: it could not be): a newline, and a
 * write when the buffer is full. */
static int line_done(struct ndjson_writer *w, int rc, struct crm_err *err)
{
	if (rc < 0 || buf_addc(&w->out, '\n') < 0) {
		w->syserr = ENOMEM;
		w->status = CRM_EOUTPUT;
		return fail(w, err);
	}
	return w->out.len >= w->flush_at ? ndjson_flush(w, err) : 0;
}

int ndjson_write(struct ndjson_writer *w, const json_t *v, struct crm_err *err)
{
	return w->status ? fail(w, err) : line_done(w, jx_dump(&w->out, v), err);
}

int ndjson_write_jv(struct ndjson_writer *w, const struct jv_doc *d, jv_t v, struct crm_err *err)
{
	return w->status ? fail(w, err) : line_done(w, jv_dump(&w->out, d, v), err);
}

int ndjson_write_with(struct ndjson_writer *w, const char *text, size_t n, const struct jv_doc *d, jv_t obj,
		      const struct jv_kv *kv, size_t nkv, struct crm_err *err)
{
	if (w->status)
		return fail(w, err);
	int rc = jv_dump_with(&w->out, text, n, d, obj, kv, nkv);
	return rc == 0 ? 1 : line_done(w, rc, err);
}

int ndjson_write_raw(struct ndjson_writer *w, const char *s, size_t len, struct crm_err *err)
{
	return w->status ? fail(w, err) : line_done(w, buf_add(&w->out, s, len), err);
}

void ndjson_writer_release(struct ndjson_writer *w)
{
	buf_release(&w->out);
}
