/* auth.c: the OAuth refresh_token grant, one copy for every provider. */
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "jx.h"
#include "timeutil.h"
#include "banned.h"

int auth_can_refresh(const struct auth *a, int secret_optional)
{
	return a->client_id && a->refresh_token && (secret_optional || a->client_secret);
}

int auth_due(const struct auth *a)
{
	/* Refresh a minute early rather than meet a 401. */
	return !a->token || (a->expires && a->refresh_token && time_mono_ms() > a->expires - 60000);
}

static void wipe(struct buf *b)
{
	if (b->buf)
		memset(b->buf, 0, b->len);
}

int auth_header(struct curl_slist **headers, const char *name, const char *prefix, const char *secret,
		struct crm_err *err)
{
	struct buf b = BUF_INIT;
	struct curl_slist *n;

	buf_addf(&b, "%s: %s%s", name, prefix ? prefix : "", secret ? secret : "");
	n = b.buf ? curl_slist_append(*headers, b.buf) : NULL;
	wipe(&b); /* the copy that held the secret */
	buf_release(&b);
	if (!n)
		return err_set(err, CRM_EFAIL, "no_memory", "out of memory");
	*headers = n;
	return 0;
}

/* Replaces a secret, wiping the old one. */
static void replace(char **dst, const char *s)
{
	config_secret_free(*dst);
	*dst = strdup(s);
}

void auth_release(struct auth *a)
{
	config_secret_free(a->token);
	free(a->client_id);
	config_secret_free(a->client_secret);
	config_secret_free(a->refresh_token);
	memset(a, 0, sizeof(*a));
}

static void b64(struct buf *b, const char *s)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		buf_addc(b, t[(v >> 18) & 63]);
		buf_addc(b, t[(v >> 12) & 63]);
		buf_addc(b, i + 1 < n ? t[(v >> 6) & 63] : '=');
		buf_addc(b, i + 2 < n ? t[v & 63] : '=');
	}
}

/* "Authorization: Basic base64(id:secret)" (RFC 6749 §2.3.1). */
static void basic_header(struct buf *out, const struct auth *a)
{
	struct buf cred = BUF_INIT;

	buf_addf(&cred, "%s:%s", a->client_id, a->client_secret ? a->client_secret : "");
	buf_adds(out, "Authorization: Basic ");
	if (cred.buf)
		b64(out, cred.buf);
	wipe(&cred);
	buf_release(&cred);
}

static void add_field(struct buf *form, const char *name, const char *value)
{
	buf_addf(form, "&%s=", name);
	buf_add_urlenc(form, value);
}

/* A 2xx answer: take the token, or say why not. */
static int take(struct auth *a, const struct auth_oauth *o, const json_t *body, struct crm_err *err)
{
	const char *at = jx_str(body, "access_token"), *rt = jx_str(body, "refresh_token");
	/* Zoho's older answers add expires_in_sec; then expires_in is in ms. */
	json_t *ex = json_object_get(body, "expires_in_sec");
	int rc;

	if (!json_is_integer(ex))
		ex = json_object_get(body, "expires_in");
	if (!at && o->ok_check) {
		const char *e = jx_str(body, "error");
		return err_set(err, CRM_EAUTH, "refresh_failed", "%s refused to refresh %s (%s); check %s", o->who, o->what,
			       e ? e : "no access_token in its answer", o->ok_check);
	}
	if (!at)
		return err_set(err, CRM_EAUTH, "refresh_failed", "%s's token answer has no access_token", o->crm);
	if (o->answer && (rc = o->answer(o->ctx, body, err)) < 0)
		return rc;
	replace(&a->token, at);
	/* expires_in as sent, within a day's worth (no overflow on a hostile value). */
	a->expires = json_is_integer(ex) && json_integer_value(ex) > 0 && json_integer_value(ex) <= 86400
		     ? time_mono_ms() + json_integer_value(ex) * 1000 : 0;
	/* A rotated refresh token kills the old one: keep the new one. */
	if (rt && strcmp(rt, a->refresh_token))
		replace(&a->refresh_token, rt);
	return 0;
}

/* A refusal (invalid_grant, invalid_client, ...): stop, never loop. */
static int refused(const struct auth_oauth *o, const struct http_resp *r, const json_t *body, struct crm_err *err)
{
	const char *e = jx_str(body, "error"), *d = jx_str(body, "error_description");

	if (o->throttled && r->status == 400 && e && !strcmp(e, o->throttled))
		/* The token endpoint's own throttle: wait, do not hammer it. */
		return err_set(err, CRM_ETEMP, "token_throttled",
			       "%s throttles token requests (\"%.200s\"); re-run in a few minutes", o->who, d ? d : e);
	if (o->detail < 1)
		e = NULL;
	if (o->detail < 2)
		d = NULL;
	return err_set(err, CRM_EAUTH, "refresh_failed", "%s refused to refresh %s (HTTP %ld%s%s%s%s); check %s",
		       o->who, o->what, r->status, e ? ", " : "", e ? e : "", d ? ": " : "", d ? d : "", o->check);
}

int auth_refresh(struct auth *a, struct http *h, const struct auth_oauth *o, struct crm_err *err)
{
	struct buf form = BUF_INIT, basic = BUF_INIT;
	const char *hdrs[2] = { NULL, NULL };
	struct http_req q = { "POST", o->url, NULL, 0, "application/x-www-form-urlencoded", o->bucket,
			      HTTP_NO_AUTH | HTTP_IDEMPOTENT, NULL };
	struct http_resp r;
	json_t *body;
	char why[160];
	int rc;

	if (a->failed) {
		*err = a->failed_err;
		return err->status;
	}
	if (!auth_can_refresh(a, o->secret_optional))
		return err_set(err, o->missing_status, o->missing_status == CRM_ECONFIG ? "no_credentials" : "token_expired",
			       "%s", o->missing);
	buf_adds(&form, "grant_type=refresh_token");
	if (o->basic) {
		basic_header(&basic, a);
		hdrs[0] = basic.buf;
		q.headers = hdrs;
	} else {
		add_field(&form, "client_id", a->client_id);
		if (a->client_secret)
			add_field(&form, "client_secret", a->client_secret);
	}
	add_field(&form, "refresh_token", a->refresh_token);
	q.body = form.buf;
	q.body_len = form.len;
	http_resp_init(&r);
	a->busy = 1;
	rc = http_do(h, &q, &r, err);
	a->busy = 0;
	body = r.body.len ? jx_parse(r.body.buf, r.body.len, 0, why, sizeof(why)) : NULL;
	if (rc == 0)
		rc = take(a, o, body, err);
	else if (rc != CRM_EINTR && rc != CRM_EUNAVAIL && rc != CRM_ETEMP)
		rc = refused(o, &r, body, err);
	if (rc == CRM_EAUTH) {
		a->failed = 1;
		a->failed_err = *err;
	}
	/* The answer holds the new tokens, the form and header the old ones. */
	wipe(&r.body);
	wipe(&form);
	wipe(&basic);
	json_decref(body);
	http_resp_release(&r);
	buf_release(&form);
	buf_release(&basic);
	return rc;
}
