/* http.h: HTTP on libcurl for every provider.
 *
 * One place for connection reuse, timeouts, pacing (a bucket per API
 * limit, corrected by response headers), retries with exponential backoff
 * and jitter (429, 5xx, network errors; Retry-After honoured), one
 * refresh-and-retry on an expired token, and the -v request log with
 * credentials redacted.  A provider plugs its auth and its reading of
 * answers in through struct http_hooks; it never sleeps or retries itself. */
#ifndef CRM_HTTP_H
#define CRM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct crm_err;
struct curl_slist;
struct http;
struct json_t;

#define HTTP_IDEMPOTENT 1u  /* safe to send again even if the CRM may have acted on it */
#define HTTP_NO_AUTH    2u  /* do not add credentials (token endpoints) */
#define HTTP_NO_RETRY   4u  /* one attempt only */
#define HTTP_CLEANUP    8u  /* undoes what the run made (a temporary filter): sent even after
			       SIGINT or http_cancel, which end every other request */

struct http_req {
	const char *method;       /* "GET", "POST", ... */
	const char *url;          /* absolute */
	const char *body;         /* NULL: none */
	size_t body_len;
	const char *content_type; /* default application/json when body is set */
	int bucket;               /* rate-limit bucket (0 = the provider's main one) */
	unsigned flags;           /* HTTP_* */
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
};

struct http_resp {
	long status;              /* 0 when no answer came */
	struct buf body;
	struct buf headers;       /* raw "Name: value\r\n" lines of the final answer */
	long long retry_after_ms; /* from Retry-After, or -1 */
	int too_large;            /* the body passed the size cap (http_opts.max_answer) */
};

void http_resp_init(struct http_resp *r);
void http_resp_release(struct http_resp *r);
/* Copies header `name` (case-insensitive) into out; NULL when absent. */
const char *http_resp_header(const struct http_resp *r, const char *name, char *out, size_t n);

enum http_action {
	HA_DEFAULT,  /* let lib/ decide from the status */
	HA_OK,
	HA_RETRY,    /* wait wait_ms (or backoff if 0) and send again */
	HA_REFRESH,  /* the token expired: refresh once and send again */
	HA_FAIL,     /* give up; err says why */
	HA_POLL,     /* not ready yet (a job still running): ask again after wait_ms;
		        not a retry, not an error */
};

struct http_verdict {
	enum http_action action;
	long long wait_ms;        /* HA_RETRY: how long, 0 = backoff */
	int rate_limited;         /* the wait is a rate limit: pause the whole run */
};

struct http_hooks {
	void *ctx;
	/* Appends auth headers for a request (never logged). */
	int (*auth)(void *ctx, struct curl_slist **headers, struct crm_err *err);
	/* Gets a new access token; called at most once per request. */
	int (*refresh)(void *ctx, struct crm_err *err);
	/* Reads an answer: sets v->action (or leaves HA_DEFAULT) and, on HA_FAIL, err. */
	void (*classify)(void *ctx, const struct http_req *req, const struct http_resp *resp,
			 struct http_verdict *v, struct crm_err *err);
	/* Learns rate-limit state from the answer's headers (http_bucket_learn). */
	void (*learn)(void *ctx, struct http *h, const struct http_req *req,
		      const struct http_resp *resp);
};

struct http_opts {
	long timeout_ms;          /* whole request; default 120000 */
	long connect_timeout_ms;  /* default 15000 */
	int max_retries;          /* default 6 */
	long retry_base_ms;       /* first backoff; default 500 */
	long retry_max_ms;        /* longest single wait; default 60000 */
	int rate_limits;          /* 0: do not pace (tests); default 1 */
	size_t max_answer;        /* largest answer body read, bytes; default 512 MB: past it
				     a call fails as the CRM's fault */
	const char *cacert;       /* CA bundle to trust (a TLS-inspecting proxy); verification is never off */
	void (*log)(void *ctx, const char *line); /* -v request log, or NULL */
	void *log_ctx;
};

struct http_stats {
	long requests;
	long retries;
	long long rate_limited_ms;
};

int http_open(struct http **out, const struct http_opts *o, struct crm_err *err);
void http_free(struct http *h);
void http_set_hooks(struct http *h, const struct http_hooks *hooks);
/* Configures bucket idx: at most max calls per window_ms. */
void http_bucket(struct http *h, int idx, long max, long window_ms);
/* Corrects bucket idx from the CRM's figures (-1 = unknown). */
void http_bucket_learn(struct http *h, int idx, long remaining, long max, long window_ms);
/* The CRM counts `used` calls in bucket idx's current window (its limit
 * less what it says is left): calls beyond those in our own log were
 * made by others, and are waited out.  From the learn hook. */
void http_bucket_used(struct http *h, int idx, long used);
/* Holds every request of the run for ms milliseconds. */
void http_pause(struct http *h, long long ms);
const struct http_stats *http_stats(const struct http *h);
/* The most calls per millisecond a bucket with a known limit allows (the
 * CRM's own figures once learnt, whether or not pacing is on), or -1 when
 * no bucket has one. */
double http_rate_per_ms(struct http *h);
/* 1 when requests are paced to the rate limits (not turned off). */
int http_paced(const struct http *h);
/* Requests sent so far from this fiber (or thread): what one batch's work
 * made, as a difference, while others run too. */
long http_calls_mine(struct http *h);
/* Ends every wait and transfer of the run, now and later, as if stopped
 * by a signal (CRM_EINTR): a reader that is gone stops the prefetch. */
void http_cancel(struct http *h);

/* Sends req (pacing, retries, refresh) and fills resp with the final
 * answer.  Returns 0 on a 2xx, else a CRM_E* status with err filled:
 * CRM_EUNAVAIL (unreachable, 5xx after retries), CRM_ETEMP (rate limited
 * after retries), CRM_EAUTH (401/403), CRM_ENOTFOUND (404), CRM_ERECORD
 * (other 4xx), CRM_EAMBIG (a non-idempotent write whose answer was lost),
 * CRM_EINTR (stopped by a signal). */
int http_do(struct http *h, const struct http_req *req, struct http_resp *resp,
	    struct crm_err *err);

/* One JSON call, the shape every provider needs: sends req (its body is
 * `body` serialised, when given), and on success parses the answer into
 * *out (a new reference; NULL for 204, 304 or an empty body).  An answer
 * that is not JSON is CRM_EUNAVAIL, naming `crm` and the path.  *status
 * (optional) gets the final HTTP status.  Same errors as http_do. */
int http_json(struct http *h, const struct http_req *req, const struct json_t *body,
	      struct json_t **out, long *status, const char *crm, struct crm_err *err);

/* The same in document d (lib/jv), for the hot paths: body is a value of
 * d (or JV_NONE: none); *out is the answer's value, JV_NONE for 204, 304
 * or an empty body.  The answer's text is handed to d.  want (NULL: all)
 * names the members of a 2xx answer the caller reads (jv_parse_want). */
struct jv_doc;
struct jv_want;
int http_jv(struct http *h, const struct http_req *req, uint32_t body, struct jv_doc *d,
	    const struct jv_want *want, uint32_t *out, const char *crm, struct crm_err *err);

/* Is the URL's host a loopback address (plain http allowed for tokens)? */
int http_url_is_loopback(const char *url);
/* Credentials go over https, or plain http to a loopback address (an
 * emulator); anything else is CRM_ECONFIG naming `crm` and the URL. */
int http_check_secure(const char *url, const char *crm, struct crm_err *err);
/* Drops the trailing slashes of a base URL, in place. */
void http_trim_slashes(char *url);

#endif
