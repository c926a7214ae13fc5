#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "fiber.h"
#include "jv.h"
#include "jx.h"
#include "sig.h"
#include "timeutil.h"
#include "banned.h"

static int addr_is_loopback(const char *ip);

#define HTTP_BUCKETS 4
#define RESP_MAX ((size_t)512 << 20) /* http_opts.max_answer by default */

struct bucket {
	long max;              /* calls per window; 0 = unpaced */
	long window_ms;
	double interval_ms;    /* spacing between calls */
	long long next_ms;     /* monotonic time the next call may start */
	long remaining;        /* calls left in the window as the CRM last said (-1: unknown) */
	long inflight;         /* requests sent and not answered yet */
	long long *log;        /* start times of our last `max` calls (a ring), or NULL */
	size_t head, count;    /* oldest entry, entries in use */
};

#define LOG_MAX 4096          /* windows of more calls are paced by spacing alone */
#define LOG_SLACK_MS 150      /* most slack added to a window (see log_slot) */

/* Requests may come from several threads (push --concurrency): each thread
 * has its own curl handle (and so its own kept-alive connection); pacing,
 * statistics, credentials and the log are shared under one mutex. */
struct http {
	pthread_mutex_t mu;
	pthread_key_t key;          /* this thread's CURL handle */
	CURL **handles;             /* every handle made, freed by http_free */
	long *handle_calls;         /* requests sent on each (http_calls_mine) */
	size_t nhandles;
	unsigned auth_gen;          /* bumped by each refresh */
	struct http_opts o;
	struct http_hooks hooks;
	struct bucket b[HTTP_BUCKETS];
	long long pause_until;
	struct http_stats stats;
	unsigned rnd;
	atomic_int cancel;          /* http_cancel: end waits and requests */
	atomic_int cleanup;         /* an HTTP_CLEANUP request is under way: a stop does not end it */
	CURLM *multi;               /* transfers of requests sent from fibers (lib/fiber) */
	struct msock *socks;        /* the multi handle's sockets and what it waits for */
	size_t nsocks, capsocks;
	long long timer_at;         /* when curl wants CURL_SOCKET_TIMEOUT; -1: never */
	int no_yield;               /* in a hook (auth, refresh): transfers block */
};

void http_resp_init(struct http_resp *r)
{
	r->status = 0;
	buf_init(&r->body, RESP_MAX);
	buf_init(&r->headers, 1 << 20);
	r->retry_after_ms = -1;
	r->too_large = 0;
}

void http_resp_release(struct http_resp *r)
{
	buf_release(&r->body);
	buf_release(&r->headers);
}

const char *http_resp_header(const struct http_resp *r, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	const char *p = r->headers.buf;

	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t vl = len - (size_t)(v - p);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			snprintf(out, n, "%.*s", (int)vl, v);
			return out;
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

int http_open(struct http **out, const struct http_opts *o, struct crm_err *err)
{
	static int inited;
	struct http *h;

	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = 1;
	}
	h = calloc(1, sizeof(*h));
	if (!h || pthread_key_create(&h->key, NULL) != 0) {
		free(h);
		return err_set(err, CRM_EFAIL, "no_memory", "cannot start the HTTP client");
	}
	/* Recursive: a token refresh inside the auth hook sends a request itself. */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&h->mu, &ma);
	pthread_mutexattr_destroy(&ma);
	h->o = *o;
	if (!h->o.timeout_ms)
		h->o.timeout_ms = 120000;
	if (!h->o.connect_timeout_ms)
		h->o.connect_timeout_ms = 15000;
	if (h->o.max_retries < 0)
		h->o.max_retries = 0;
	if (!h->o.retry_base_ms)
		h->o.retry_base_ms = 500;
	if (!h->o.retry_max_ms)
		h->o.retry_max_ms = 60000;
	if (!h->o.max_answer)
		h->o.max_answer = RESP_MAX;
	h->rnd = (unsigned)time_mono_ms() ^ 0x9e3779b9u;
	*out = h;
	return 0;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->multi) {
		fiber_set_poll(NULL, NULL);
		curl_multi_cleanup(h->multi);
	}
	free(h->socks);
	for (size_t i = 0; i < h->nhandles; i++)
		curl_easy_cleanup(h->handles[i]);
	for (int i = 0; i < HTTP_BUCKETS; i++)
		free(h->b[i].log);
	free(h->handles);
	free(h->handle_calls);
	pthread_key_delete(h->key);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* Each thread, and each fiber, has its own handle: requests in flight at
 * once need one each. */
static CURL *thread_curl(struct http *h)
{
	struct fiber *f = fiber_self();
	CURL *c = f ? *fiber_slot(f) : pthread_getspecific(h->key);

	if (c)
		return c;
	if (!(c = curl_easy_init()))
		return NULL;
	pthread_mutex_lock(&h->mu);
	CURL **n = realloc(h->handles, (h->nhandles + 1) * sizeof(*n));
	long *k = n ? realloc(h->handle_calls, (h->nhandles + 1) * sizeof(*k)) : NULL;
	if (n)
		h->handles = n;
	if (!k) {
		pthread_mutex_unlock(&h->mu);
		curl_easy_cleanup(c);
		return NULL;
	}
	h->handle_calls = k;
	h->handle_calls[h->nhandles] = 0;
	h->handles[h->nhandles++] = c;
	pthread_mutex_unlock(&h->mu);
	if (f)
		*fiber_slot(f) = c;
	else
		pthread_setspecific(h->key, c);
	return c;
}

/* The slot of handle c in h->handles (h->mu held), or -1. */
static long handle_index(const struct http *h, const CURL *c)
{
	for (size_t i = 0; c && i < h->nhandles; i++)
		if (h->handles[i] == c)
			return (long)i;
	return -1;
}

long http_calls_mine(struct http *h)
{
	struct fiber *f = fiber_self();
	CURL *c = f ? *fiber_slot(f) : pthread_getspecific(h->key);
	long n = 0;

	pthread_mutex_lock(&h->mu);
	long i = handle_index(h, c);
	if (i >= 0)
		n = h->handle_calls[i];
	pthread_mutex_unlock(&h->mu);
	return n;
}

/* A transfer started from a fiber: done when the multi handle says so. */
struct xfer {
	struct fiber *f;
	int done;
	CURLcode result;
};

/* Wakes the fibers whose transfers ended; returns how many. */
static int multi_done(struct http *h)
{
	CURLMsg *m;
	int q, woke = 0;

	while ((m = curl_multi_info_read(h->multi, &q))) {
		struct xfer *x = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x) {
			x->done = 1;
			x->result = m->data.result;
			fiber_wake(x->f);
			woke++;
		}
	}
	return woke;
}

/* The multi handle is driven through its socket interface: curl says which
 * sockets it waits on (sock_cb) and when it wants a timeout (timer_cb), and
 * multi_poll polls them all in one call and hands curl only the sockets
 * that are ready.  (curl_multi_perform would look at every transfer on
 * each call: one poll(2) per socket, each time.) */
struct msock {
	curl_socket_t fd;
	int what;                   /* CURL_POLL_IN, _OUT or _INOUT */
};

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *ctx, void *sockp)
{
	struct http *h = ctx;
	size_t i;

	(void)e;
	(void)sockp;
	for (i = 0; i < h->nsocks && h->socks[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < h->nsocks)
			h->socks[i] = h->socks[--h->nsocks];
		return 0;
	}
	if (i == h->nsocks) {
		if (h->nsocks == h->capsocks) {
			size_t cap = h->capsocks ? h->capsocks * 2 : 8;
			struct msock *n = realloc(h->socks, cap * sizeof(*n));
			if (!n)
				return -1; /* curl fails the transfer */
			h->socks = n;
			h->capsocks = cap;
		}
		h->socks[h->nsocks++].fd = fd;
	}
	h->socks[i].what = what;
	return 0;
}

static int timer_cb(CURLM *m, long ms, void *ctx)
{
	struct http *h = ctx;

	(void)m;
	h->timer_at = ms < 0 ? -1 : time_mono_ms() + ms;
	return 0;
}

/* Runs curl's timeout work when it is due. */
static void multi_timer(struct http *h)
{
	int running;

	if (h->timer_at >= 0 && h->timer_at <= time_mono_ms()) {
		h->timer_at = -1;
		curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
}

/* The scheduler's poll hook: waits up to ms for any socket of a transfer
 * (and for fd, the caller's own), moves the ready transfers on, and wakes
 * the fibers whose transfers ended.  Returns 1 when fd is ready. */
static int multi_poll(void *ctx, long ms, int fd, short events)
{
	struct http *h = ctx;
	struct pollfd pf[17], *p = pf;
	size_t n = h->nsocks, i;
	int running, ready = 0, wait;

	multi_timer(h);
	if (multi_done(h)) {
		ms = 0; /* a fiber can run: look, do not wait */
		if (fd < 0)
			return 0;
	}
	if (n + 1 > sizeof(pf) / sizeof(pf[0]) && !(p = malloc((n + 1) * sizeof(*p)))) {
		p = pf;
		n = sizeof(pf) / sizeof(pf[0]) - 1;
	}
	for (i = 0; i < n; i++) {
		p[i].fd = h->socks[i].fd;
		p[i].events = (short)((h->socks[i].what & CURL_POLL_IN ? POLLIN : 0) |
				      (h->socks[i].what & CURL_POLL_OUT ? POLLOUT : 0));
		p[i].revents = 0;
	}
	p[n].fd = fd; /* poll(2) skips a negative fd */
	p[n].events = events;
	p[n].revents = 0;
	wait = ms <= 0 ? 0 : ms > 100 ? 100 : (int)ms;
	if (h->timer_at >= 0 && wait > 0) {
		long long left = h->timer_at - time_mono_ms();
		wait = left <= 0 ? 0 : left < wait ? (int)left : wait;
	}
	if ((n || fd >= 0 || wait > 0) && poll(p, (nfds_t)n + 1, wait) > 0) {
		/* (p is a copy: curl may change h->socks meanwhile.) */
		for (i = 0; i < n; i++) {
			int ev = 0;
			if (!p[i].revents)
				continue;
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				ev |= CURL_CSELECT_IN;
			if (p[i].revents & (POLLOUT | POLLERR))
				ev |= CURL_CSELECT_OUT;
			if (p[i].revents & POLLERR)
				ev |= CURL_CSELECT_ERR;
			curl_multi_socket_action(h->multi, p[i].fd, ev, &running);
		}
		ready = fd >= 0 && p[n].revents != 0;
	}
	if (p != pf)
		free(p);
	multi_timer(h);
	multi_done(h);
	return ready;
}

/* curl_easy_perform, except in a fiber: there the transfer joins the run's
 * multi handle and the fiber waits, so the thread serves the others. */
static CURLcode perform(struct http *h, CURL *c)
{
	struct fiber *f = fiber_self();
	struct xfer x = { f, 0, CURLE_OK };

	if (!f || h->no_yield)
		return curl_easy_perform(c);
	if (!h->multi) {
		if (!(h->multi = curl_multi_init()))
			return curl_easy_perform(c);
		h->timer_at = -1;
		curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
		curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
		curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
		curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
		fiber_set_poll(multi_poll, h);
	}
	curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)&x);
	if (curl_multi_add_handle(h->multi, c) != CURLM_OK)
		return curl_easy_perform(c);
	/* The request goes out now (curl asked for a timeout of 0 to start
	 * it); the answer is waited for with the others. */
	multi_timer(h);
	while (!x.done)
		fiber_wait(-1);
	curl_multi_remove_handle(h->multi, c);
	curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)NULL);
	return x.result;
}

void http_set_hooks(struct http *h, const struct http_hooks *hooks)
{
	h->hooks = *hooks;
}

static void bucket_set(struct http *h, int idx, long max, long window_ms)
{
	struct bucket *b = &h->b[idx];

	free(b->log);
	b->log = max > 0 && max <= LOG_MAX ? calloc((size_t)max, sizeof(*b->log)) : NULL;
	b->head = b->count = 0;

	b->max = max;
	b->window_ms = window_ms;
	b->remaining = -1;
	/* 3% under the documented ceiling leaves room for clock skew between
	 * our spacing and the CRM's rolling window. */
	b->interval_ms = max > 0 ? (double)window_ms / (double)max * 1.03 : 0;
}

void http_bucket(struct http *h, int idx, long max, long window_ms)
{
	pthread_mutex_lock(&h->mu);
	bucket_set(h, idx, max, window_ms);
	pthread_mutex_unlock(&h->mu);
}

/* Called from the learn hook, with h->mu held. */
void http_bucket_learn(struct http *h, int idx, long remaining, long max, long window_ms)
{
	struct bucket *b = &h->b[idx];

	if (max > 0 && window_ms > 0 && (max != b->max || window_ms != b->window_ms))
		bucket_set(h, idx, max, window_ms);
	if (remaining >= 0)
		b->remaining = remaining;
	/* Nearly spent: someone else shares the budget; wait a slice of the window. */
	if (remaining >= 0 && b->max > 0 && remaining < b->max / 20 + 1) {
		long long t = time_mono_ms() + (long long)b->interval_ms * 4;
		if (t > b->next_ms)
			b->next_ms = t;
	}
}

static void log_add(struct bucket *b, long long t);

/* Called from the learn hook, with h->mu held. */
void http_bucket_used(struct http *h, int idx, long used)
{
	struct bucket *b = &h->b[idx];
	long long now = time_mono_ms(), win = b->window_ms;
	long ours = 0;

	if (!b->log || used <= 0)
		return;
	for (size_t i = 0; i < b->count; i++)
		if (b->log[(b->head + i) % (size_t)b->max] > now - win)
			ours++;
	/* Calls the CRM counts that are not ours (an earlier run, another
	 * client): count them as made now, so the log leaves room for them
	 * until they have surely left the CRM's window. */
	for (long k = ours; k < used && k < b->max; k++)
		log_add(b, now);
}

static void pause_locked(struct http *h, long long ms)
{
	long long t = time_mono_ms() + ms;
	if (t > h->pause_until)
		h->pause_until = t;
}

void http_pause(struct http *h, long long ms)
{
	pthread_mutex_lock(&h->mu);
	pause_locked(h, ms);
	pthread_mutex_unlock(&h->mu);
}

const struct http_stats *http_stats(const struct http *h)
{
	return &h->stats;
}

static int stopped_(struct http *h)
{
	return (sig_stop || atomic_load(&h->cancel)) && !atomic_load(&h->cleanup);
}

void http_cancel(struct http *h)
{
	atomic_store(&h->cancel, 1);
}

/* Sleeps in slices so a signal (or http_cancel) ends the wait promptly. */
static int wait_ms(struct http *h, long long ms)
{
	long long end = time_mono_ms() + ms;
	while (!stopped_(h)) {
		long long left = end - time_mono_ms();
		if (left <= 0)
			return 0;
		if (fiber_self() && !h->no_yield)
			fiber_wait(time_mono_ms() + (left > 100 ? 100 : left));
		else
			time_sleep_ms(left > 100 ? 100 : left);
	}
	return -1;
}

/* Reserves this request's start time under the lock, then waits for it. */
/* When may a call start so that no window holds more than `limit` of our
 * calls?  The log holds the start times of our last calls, oldest first. */
static long long log_slot(struct bucket *b, long long start, long limit)
{
	/* Slack for the CRM seeing our calls later than we sent them (network
	 * and server jitter): a twentieth of the window, 50 to LOG_SLACK_MS ms. */
	long long slack = b->window_ms / 20 < 50 ? 50 : b->window_ms / 20 > LOG_SLACK_MS ? LOG_SLACK_MS : b->window_ms / 20;
	long long win = b->window_ms + slack;

	while (b->count && b->log[b->head] <= start - win) {
		b->head = (b->head + 1) % (size_t)b->max;
		b->count--;
	}
	if (limit < 1)
		limit = 1;
	if ((long)b->count >= limit) {
		/* Wait until the call `limit` places back leaves the window. */
		size_t k = (b->head + b->count - (size_t)limit) % (size_t)b->max;
		if (b->log[k] + win > start)
			start = b->log[k] + win;
	}
	return start;
}

static void log_add(struct bucket *b, long long t)
{
	if (b->count == (size_t)b->max) {
		b->head = (b->head + 1) % (size_t)b->max;
		b->count--;
	}
	b->log[(b->head + b->count) % (size_t)b->max] = t;
	b->count++;
}

int http_paced(const struct http *h) { return h->o.rate_limits; }

double http_rate_per_ms(struct http *h)
{
	double r = -1;

	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < HTTP_BUCKETS; i++)
		if (h->b[i].max > 0 && h->b[i].window_ms > 0 && (double)h->b[i].max / (double)h->b[i].window_ms > r)
			r = (double)h->b[i].max / (double)h->b[i].window_ms;
	pthread_mutex_unlock(&h->mu);
	return r;
}

/* Reserves this request's start time under the lock, then waits for it.
 * A CRM's limit is "at most max calls in any window": the log of our own
 * calls lets a run burst while the window has room and wait exactly as
 * long as needed when it does not; the CRM's own count of what is left
 * (other clients share it) holds us back further when it is low. */
static int pace(struct http *h, int idx)
{
	struct bucket *b = &h->b[idx];
	long long now, start, until;

	pthread_mutex_lock(&h->mu);
	now = time_mono_ms();
	start = h->pause_until > now ? h->pause_until : now;
	if (h->pause_until > now)
		h->stats.rate_limited_ms += h->pause_until - now;
	if (h->o.rate_limits && b->max > 0) {
		if (b->log) {
			/* A few calls of margin for our clock against the CRM's. */
			start = log_slot(b, start, b->max - b->max / 50);
			if (b->remaining >= 0 && b->remaining - b->inflight <= b->max / 20 + 1 && b->next_ms > start)
				start = b->next_ms; /* others are using the budget too */
			log_add(b, start);
		} else {
			if (b->next_ms > start)
				start = b->next_ms;
		}
		b->next_ms = start + (long long)(b->interval_ms + 0.5);
		if (b->remaining > 0)
			b->remaining--;
	}
	b->inflight++;
	pthread_mutex_unlock(&h->mu);
	if (start > now && wait_ms(h, start - now))
		goto stopped;
	/* A pause that began while we waited (a 429 elsewhere) holds us too. */
	pthread_mutex_lock(&h->mu);
	until = h->pause_until;
	pthread_mutex_unlock(&h->mu);
	now = time_mono_ms();
	if (until > now && wait_ms(h, until - now))
		goto stopped;
	return 0;
stopped:
	pthread_mutex_lock(&h->mu);
	b->inflight--;
	pthread_mutex_unlock(&h->mu);
	return -1;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct http_resp *r = ud;
	if (buf_add(&r->body, p, sz * n) == 0)
		return sz * n;
	r->too_large = r->body.len + sz * n > r->body.max;
	return 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct http_resp *r = ud;
	size_t len = sz * n;

	/* A new status line (after a 100 Continue or a redirect) starts over. */
	if (len > 5 && !strncmp(p, "HTTP/", 5))
		buf_reset(&r->headers);
	/* The body's size, when told: one allocation instead of a doubling
	 * series of copies (a page of a pull is ~100 kB). */
	if (len > 15 && !strncasecmp(p, "content-length:", 15)) {
		long long cl = strtoll(p + 15, NULL, 10);
		if (cl > 0 && (unsigned long long)cl < (unsigned long long)r->body.max && (size_t)cl > r->body.alloc)
			buf_grow(&r->body, (size_t)cl);
	}
	buf_add(&r->headers, p, len);
	return len;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return stopped_(ud) ? 1 : 0;
}

/* The URL for the log: the query's secret-looking values replaced. */
static void redact_url(const char *url, struct buf *out)
{
	static const char *const secret[] = { "token", "key", "secret", "password", "auth", "sig", NULL };
	const char *q = strchr(url, '?');

	if (!q) {
		buf_adds(out, url);
		return;
	}
	buf_add(out, url, (size_t)(q - url) + 1);
	for (const char *p = q + 1; *p;) {
		const char *amp = strchr(p, '&'), *eq;
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		int hide = 0;
		eq = memchr(p, '=', len);
		for (int i = 0; eq && secret[i]; i++) {
			size_t kl = (size_t)(eq - p);
			for (size_t j = 0; j + strlen(secret[i]) <= kl; j++)
				if (!strncasecmp(p + j, secret[i], strlen(secret[i])))
					hide = 1;
		}
		if (hide) {
			buf_add(out, p, (size_t)(eq - p) + 1);
			buf_adds(out, "REDACTED");
		} else {
			buf_add(out, p, len);
		}
		p += len;
		if (*p == '&')
			buf_addc(out, *p++);
	}
}

static void logf_(struct http *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct http *h, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (!h->o.log)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&h->mu);
	h->o.log(h->o.log_ctx, b.buf);
	pthread_mutex_unlock(&h->mu);
	buf_release(&b);
}

static long long backoff(struct http *h, int attempt)
{
	long long base = h->o.retry_base_ms, w = base;

	for (int i = 0; i < attempt && w < h->o.retry_max_ms; i++)
		w *= 2;
	if (w > h->o.retry_max_ms)
		w = h->o.retry_max_ms;
	/* Full jitter on the upper half: spreads retries of parallel jobs. */
	pthread_mutex_lock(&h->mu);
	h->rnd = h->rnd * 1103515245u + 12345u;
	unsigned r = h->rnd >> 8;
	pthread_mutex_unlock(&h->mu);
	return w / 2 + (long long)(r % (unsigned)(w / 2 + 1));
}

static long long parse_retry_after(const char *v)
{
	char *end;
	double s = strtod(v, &end);
	long long ms;

	if (end != v && !*end && s >= 0)
		return s < 86400 ? (long long)(s * 1000) : 86400000LL; /* a day at most */
	/* An HTTP date. */
	if (time_parse(v, &ms) == 0) /* rarely RFC 3339; IMF dates fall through */
		return ms - time_now_ms();
	return -1;
}

/* The URL's host (and port) for messages: never its user part. */
static const char *host_of(const char *url, char *out, size_t n)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;

	snprintf(out, n, "the CRM");
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
			snprintf(out, n, "%s:%s", host, port);
		else
			snprintf(out, n, "%s", host);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

/* Plain http carries credentials in clear: it may only reach this
 * machine.  The URL's host said so already (http_check_secure); this
 * checks the address libcurl actually connected to, just before the
 * request goes out (a name such as "localhost" may resolve anywhere). */
struct plain_check {
	int refused;
	char ip[64];
};

static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	struct plain_check *pc = ud;
	(void)local_ip, (void)primary_port, (void)local_port;
	if (primary_ip && addr_is_loopback(primary_ip))
		return CURL_PREREQFUNC_OK;
	pc->refused = 1;
	snprintf(pc->ip, sizeof(pc->ip), "%s", primary_ip ? primary_ip : "?");
	return CURL_PREREQFUNC_ABORT;
}

static void default_verdict(struct http *h, const struct http_req *req,
			    const struct http_resp *resp, struct http_verdict *v, struct crm_err *err)
{
	long s = resp->status;
	int idem = (req->flags & HTTP_IDEMPOTENT) != 0;

	if (s >= 200 && s < 300) {
		v->action = HA_OK;
	} else if (s == 429) {
		v->action = HA_RETRY;
		v->rate_limited = 1;
		v->wait_ms = resp->retry_after_ms > 0 ? resp->retry_after_ms : 0;
		err_set(err, CRM_ETEMP, "rate_limited", "the CRM kept answering 429 (rate limited)");
	} else if (s >= 500 || s == 408 || s == 423) {
		v->action = idem ? HA_RETRY : HA_FAIL;
		v->wait_ms = resp->retry_after_ms > 0 ? resp->retry_after_ms : 0;
		err_set(err, idem ? CRM_EUNAVAIL : CRM_EAMBIG, "server_error",
			"the CRM answered HTTP %ld", s);
	} else if (s == 401) {
		v->action = HA_FAIL;
		err_set(err, CRM_EAUTH, "unauthorized", "the CRM refused the credentials (HTTP 401)");
	} else if (s == 403) {
		v->action = HA_FAIL;
		err_set(err, CRM_EAUTH, "forbidden", "the CRM refused access (HTTP 403)");
	} else if (s == 404) {
		v->action = HA_FAIL;
		err_set(err, CRM_ENOTFOUND, "not_found", "the CRM has no such resource (HTTP 404)");
	} else {
		v->action = HA_FAIL;
		err_set(err, CRM_ERECORD, "http_error", "the CRM answered HTTP %ld", s);
	}
	(void)h;
}

/* Splits url into its origin ("http://host:port", written to base) and
 * its request target ("/path?query", returned), when libcurl would send
 * that target as it stands: no proxy in the way of a plain-http request
 * (which takes the whole URL), no fragment, no dot segment, no byte a
 * request line cannot carry.  Returns NULL otherwise (the whole URL goes to
 * libcurl).  Worth it because libcurl parses and rebuilds a URL a byte at a
 * time, several times a request: a pull's pages name every property in
 * the query (about 500 bytes for HubSpot), about 1.2k instructions per
 * record pulled. */
static const char *split_target(const char *url, char *base, size_t basesz)
{
	const char *p = strstr(url, "://");
	int plain;

	if (!p)
		return NULL;
	plain = (size_t)(p - url) == 4 && !strncasecmp(url, "http", 4);
	if (!plain && !((size_t)(p - url) == 5 && !strncasecmp(url, "https", 5)))
		return NULL;
	if (plain && (getenv("http_proxy") || getenv("all_proxy") || getenv("ALL_PROXY")))
		return NULL;
	const char *t = strchr(p + 3, '/');
	if (!t || (size_t)(t - url) >= basesz || memchr(p + 3, '?', (size_t)(t - p - 3)) ||
	    memchr(p + 3, '#', (size_t)(t - p - 3)))
		return NULL;
	int query = 0;
	for (const char *q = t; *q; q++) {
		unsigned char ch = (unsigned char)*q;
		if (ch <= ' ' || ch >= 0x7f || ch == '#' || ch == '"' || ch == '<' || ch == '>' || ch == '\\' ||
		    ch == '^' || ch == '`' || ch == '{' || ch == '|' || ch == '}')
			return NULL;
		query |= ch == '?';
		/* A dot segment ("/./", "/../"): libcurl would remove it. */
		if (!query && ch == '/' && q[1] == '.' && (q[2] == '/' || q[2] == '.' || q[2] == '?' || !q[2]))
			return NULL;
	}
	memcpy(base, url, (size_t)(t - url));
	base[t - url] = '\0';
	return t;
}

static int redirect_error(const struct http_resp *resp, const char *host, struct crm_err *err)
{
	char loc[1024];
	struct buf u = BUF_INIT;

	if (http_resp_header(resp, "Location", loc, sizeof(loc)))
		redact_url(loc, &u);
	for (size_t i = 0; i < u.len; i++)
		if ((unsigned char)u.buf[i] < ' ' || u.buf[i] == 0x7f)
			u.buf[i] = '?';
	err_set(err, CRM_EUNAVAIL, "unexpected_redirect",
		"%s answered HTTP %ld, a redirect to %.300s, where an API answer was expected "
		"(crmsync does not follow redirects: check the CRM's URL)", host, resp->status,
		u.len ? u.buf : "(no Location)");
	err->http_status = resp->status;
	buf_release(&u);
	return err->status;
}

static int do_(struct http *h, const struct http_req *req, struct http_resp *resp, struct crm_err *err);

/* An HTTP_CLEANUP request goes out even after a stop (only on the thread
 * that cleans up: the pages fetched ahead have been given up by then). */
int http_do(struct http *h, const struct http_req *req, struct http_resp *resp,
	    struct crm_err *err)
{
	int rc;

	if (!(req->flags & HTTP_CLEANUP))
		return do_(h, req, resp, err);
	atomic_store(&h->cleanup, 1);
	rc = do_(h, req, resp, err);
	atomic_store(&h->cleanup, 0);
	return rc;
}

static int do_(struct http *h, const struct http_req *req, struct http_resp *resp, struct crm_err *err)
{
	int refreshed = 0, attempt = 0, rc;
	long polls = 0;
	char host[256];
	CURL *c = thread_curl(h);

	if (!c)
		return err_set(err, CRM_EFAIL, "no_memory", "cannot start the HTTP client");
	host_of(req->url, host, sizeof(host));
	char origin[512];
	const char *target = split_target(req->url, origin, sizeof(origin));
	/* Anything but https is held to this machine (on_prereq). */
	int plain = strncasecmp(req->url, "https://", 8) != 0;
	for (;;) {
		struct plain_check pc = { 0, "" };
		struct curl_slist *hdrs = NULL;
		struct http_verdict v = { HA_DEFAULT, 0, 0 };
		struct crm_err e2 = CRM_ERR_INIT;
		char errbuf[CURL_ERROR_SIZE] = "";
		CURLcode cc;
		long long t0;

		if (stopped_(h))
			return err_set(err, CRM_EINTR, "interrupted", "interrupted");
		if (pace(h, req->bucket) < 0)
			return err_set(err, CRM_EINTR, "interrupted", "interrupted");

		buf_reset(&resp->body);
		buf_reset(&resp->headers);
		resp->status = 0;
		resp->too_large = 0;
		resp->body.max = h->o.max_answer;
		resp->retry_after_ms = -1;

		unsigned gen;
		pthread_mutex_lock(&h->mu);
		gen = h->auth_gen;
		/* A hook may send a request itself (a token refresh) while it
		 * holds the lock: that one blocks rather than let another fiber in. */
		h->no_yield++;
		rc = !(req->flags & HTTP_NO_AUTH) && h->hooks.auth ? h->hooks.auth(h->hooks.ctx, &hdrs, err) : 0;
		h->no_yield--;
		pthread_mutex_unlock(&h->mu);
		if (rc < 0) {
			curl_slist_free_all(hdrs);
			return rc;
		}
		if (req->body) {
			struct buf ct = BUF_INIT;
			buf_addf(&ct, "Content-Type: %s", req->content_type ? req->content_type : "application/json");
			hdrs = curl_slist_append(hdrs, ct.buf);
			buf_release(&ct);
		}
		int accept = 0;
		for (const char *const *x = req->headers; x && *x; x++) {
			hdrs = curl_slist_append(hdrs, *x);
			accept |= !strncasecmp(*x, "Accept:", 7);
		}
		if (!accept)
			hdrs = curl_slist_append(hdrs, "Accept: application/json");
		hdrs = curl_slist_append(hdrs, "Expect:");

		curl_easy_reset(c);
		if (target) {
			curl_easy_setopt(c, CURLOPT_URL, origin);
			curl_easy_setopt(c, CURLOPT_REQUEST_TARGET, target);
		} else {
			curl_easy_setopt(c, CURLOPT_URL, req->url);
		}
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
		if (!strcmp(req->method, "GET"))
			curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		if (req->body) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "crmsync/0.1");
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
		/* Bigger reads: a pull's pages in fewer system calls. */
		curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 64L * 1024);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		if (h->o.cacert)
			curl_easy_setopt(c, CURLOPT_CAINFO, h->o.cacert);
		/* libcurl silently sends a request again when a kept-alive connection
		 * turns out dead before any answer ("Connection died, retrying a
		 * fresh connect") -- a second create.  A write that is not safe to
		 * repeat always goes on a fresh connection, where that cannot happen. */
		if (!(req->flags & HTTP_IDEMPOTENT))
			curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
		if (plain) {
			curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
			curl_easy_setopt(c, CURLOPT_PREREQDATA, &pc);
		}

		t0 = time_mono_ms();
		pthread_mutex_lock(&h->mu);
		h->stats.requests++;
		long hi = handle_index(h, c);
		if (hi >= 0)
			h->handle_calls[hi]++;
		pthread_mutex_unlock(&h->mu);
		cc = perform(h, c);
		pthread_mutex_lock(&h->mu);
		h->b[req->bucket].inflight--;
		pthread_mutex_unlock(&h->mu);
		curl_slist_free_all(hdrs);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);

		if (h->o.log) {
			struct buf u = BUF_INIT;
			redact_url(req->url, &u);
			if (cc == CURLE_OK)
				logf_(h, "%s %s -> %ld (%lld ms, %zu bytes)", req->method, u.buf,
				      resp->status, time_mono_ms() - t0, resp->body.len);
			else
				logf_(h, "%s %s -> failed: %s", req->method, u.buf,
				      errbuf[0] ? errbuf : curl_easy_strerror(cc));
			buf_release(&u);
		}
		if (pc.refused)
			return err_set(err, CRM_ECONFIG, "insecure_url",
				       "refusing to send a request over plain http to %s: it connected to %s, "
				       "which is not a loopback address; use https", host, pc.ip);
		if (stopped_(h))
			return err_set(err, CRM_EINTR, "interrupted", "interrupted");

		if (cc != CURLE_OK) {
			/* Not connected at all: the CRM never saw the request. */
			int unsent = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
				     cc == CURLE_COULDNT_RESOLVE_PROXY;
			const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
			if (cc == CURLE_WRITE_ERROR && resp->too_large)
				return err_set(err, CRM_EUNAVAIL, "response_too_large",
					       "the answer from %s is too large: it passed crmsync's cap of %zu MB "
					       "for one answer", host, h->o.max_answer >> 20);
			if (!unsent && !(req->flags & HTTP_IDEMPOTENT))
				return err_set(err, CRM_EAMBIG, "connection_lost",
					       "the connection to %s failed before the answer came (%s)", host, why);
			if (attempt >= h->o.max_retries || (req->flags & HTTP_NO_RETRY))
				return err_set(err, CRM_EUNAVAIL, cc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "unreachable",
					       "cannot reach %s: %s", host, why);
			attempt++;
			pthread_mutex_lock(&h->mu);
			h->stats.retries++;
			pthread_mutex_unlock(&h->mu);
			if (wait_ms(h, backoff(h, attempt - 1)))
				return err_set(err, CRM_EINTR, "interrupted", "interrupted");
			continue;
		}

		char ra[64];
		if (http_resp_header(resp, "Retry-After", ra, sizeof(ra)))
			resp->retry_after_ms = parse_retry_after(ra);
		if (h->hooks.learn) {
			pthread_mutex_lock(&h->mu);
			h->hooks.learn(h->hooks.ctx, h, req, resp);
			pthread_mutex_unlock(&h->mu);
		}
		/* Redirects are not followed (credentials would go with them): an
		 * API that answers one is misconfigured or not the CRM. */
		if (resp->status >= 300 && resp->status < 400 && resp->status != 304)
			return redirect_error(resp, host, err);
		if (h->hooks.classify)
			h->hooks.classify(h->hooks.ctx, req, resp, &v, &e2);
		if (v.action == HA_DEFAULT) {
			err_clear(&e2);
			default_verdict(h, req, resp, &v, &e2);
		}
		e2.http_status = resp->status;

		switch (v.action) {
		case HA_OK:
		case HA_DEFAULT:
			return 0;
		case HA_FAIL:
			*err = e2;
			return err->status ? err->status : CRM_EFAIL;
		case HA_REFRESH:
			if (refreshed || !h->hooks.refresh) {
				*err = e2;
				if (!err->status)
					err_set(err, CRM_EAUTH, "token_expired", "the access token expired");
				err->http_status = resp->status;
				return err->status;
			}
			refreshed = 1;
			/* One refresh per expiry, whichever thread sees it first. */
			pthread_mutex_lock(&h->mu);
			rc = 0;
			if (h->auth_gen == gen) {
				h->no_yield++;
				rc = h->hooks.refresh(h->hooks.ctx, err);
				h->no_yield--;
				if (rc == 0)
					h->auth_gen++;
			}
			pthread_mutex_unlock(&h->mu);
			if (rc < 0)
				return rc;
			continue;
		case HA_POLL:
			/* A job still running: wait and ask again, up to a day of polls. */
			if (++polls > 86400) {
				*err = e2;
				return err_set(err, CRM_ETEMP, "poll_timeout", "a job on the CRM did not finish");
			}
			if (wait_ms(h, v.wait_ms > 0 ? v.wait_ms : 1000))
				return err_set(err, CRM_EINTR, "interrupted", "interrupted");
			continue;
		case HA_RETRY:
			if (attempt >= h->o.max_retries || (req->flags & HTTP_NO_RETRY)) {
				*err = e2;
				if (!err->status)
					err_set(err, v.rate_limited ? CRM_ETEMP : CRM_EUNAVAIL, "retries_exhausted",
						"the CRM answered HTTP %ld after %d retries", resp->status, attempt);
				err->http_status = resp->status;
				if (!strstr(err->message, "retr")) {
					size_t l = strlen(err->message);
					snprintf(err->message + l, sizeof(err->message) - l, " (gave up after %d retries)", attempt);
				}
				return err->status;
			}
			attempt++;
			pthread_mutex_lock(&h->mu);
			h->stats.retries++;
			pthread_mutex_unlock(&h->mu);
			long long w = v.wait_ms > 0 ? v.wait_ms : backoff(h, attempt - 1);
			if (w > h->o.retry_max_ms)
				w = h->o.retry_max_ms;
			if (v.rate_limited) {
				/* The whole run backs off, not just this request. */
				http_pause(h, w);
				logf_(h, "rate limited: pausing %lld ms", w);
				continue;
			}
			if (wait_ms(h, w))
				return err_set(err, CRM_EINTR, "interrupted", "interrupted");
			continue;
		}
	}
}

/* Is the address text (as libcurl writes it: "127.0.0.1", "::1",
 * "::ffff:127.0.0.1") in 127.0.0.0/8 or ::1? */
static int addr_is_loopback(const char *ip)
{
	struct in_addr a4;
	struct in6_addr a6;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (inet_pton(AF_INET, ip, &a4) == 1)
		return ((const unsigned char *)&a4)[0] == 127;
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return 1;
	return !memcmp(a6.s6_addr, mapped, sizeof(mapped)) && a6.s6_addr[12] == 127;
}

/* The URL's scheme and host as libcurl reads them (never by hand: the
 * user part, percent-encoding and odd IPv4 forms are libcurl's to know).
 * Returns 0, or -1 when it is no URL. */
static int url_parts(const char *url, char **scheme, char **host)
{
	CURLU *u = curl_url();
	int rc = -1;

	*scheme = *host = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK)
		rc = 0;
	curl_url_cleanup(u);
	if (rc < 0) {
		curl_free(*scheme);
		curl_free(*host);
		*scheme = *host = NULL;
	}
	return rc;
}

int http_url_is_loopback(const char *url)
{
	char *scheme, *host;
	int yes = 0;

	if (!url || url_parts(url, &scheme, &host) < 0)
		return 0;
	size_t n = strlen(host);
	if (!strcasecmp(host, "localhost"))
		yes = 1;
	else if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		yes = addr_is_loopback(host + 1);
	} else
		yes = addr_is_loopback(host);
	curl_free(scheme);
	curl_free(host);
	return yes;
}

/* http_json and http_jv: send, then parse a 2xx answer with `parse`
 * (which may take the body's buffer). */
typedef int (*body_parser)(void *ctx, struct buf *body, char *why, size_t whysz);

static int call_parse(struct http *h, const struct http_req *req, struct buf *b, long *status,
		      const char *crm, body_parser parse, void *ctx, struct crm_err *err)
{
	struct http_req q = *req;
	struct http_resp r;
	int rc;

	if (b->len) {
		q.body = b->buf;
		q.body_len = b->len;
	}
	http_resp_init(&r);
	rc = http_do(h, &q, &r, err);
	if (status)
		*status = r.status;
	if (rc == 0 && parse && r.status != 204 && r.status != 304 && r.body.len) {
		char why[160];
		if (parse(ctx, &r.body, why, sizeof(why)) < 0) {
			const char *p = strstr(q.url, "://");
			p = p ? strchr(p + 3, '/') : NULL;
			if (!p)
				p = "/";
			rc = err_set(err, CRM_EUNAVAIL, "bad_response",
				     "%s answered %s %.*s with HTTP %ld but the body is not JSON (%.80s)",
				     crm, q.method, (int)strcspn(p, "?"), p, r.status, why);
			err->http_status = r.status;
		}
	}
	http_resp_release(&r);
	return rc;
}

static int parse_json(void *ctx, struct buf *body, char *why, size_t whysz)
{
	json_t **out = ctx;
	return (*out = jx_parse(body->buf, body->len, 0, why, whysz)) ? 0 : -1;
}

int http_json(struct http *h, const struct http_req *req, const json_t *body,
	      json_t **out, long *status, const char *crm, struct crm_err *err)
{
	struct buf b = BUF_INIT;
	int rc;

	if (out)
		*out = NULL;
	if (body && jx_dump(&b, body) < 0) {
		buf_release(&b);
		return err_set(err, CRM_EFAIL, "out_of_memory", "out of memory");
	}
	rc = call_parse(h, req, &b, status, crm, out ? parse_json : NULL, out, err);
	buf_release(&b);
	return rc;
}

struct jv_target {
	struct jv_doc *d;
	jv_t *out;
	const struct jv_want *want;
};

static int parse_jv(void *ctx, struct buf *body, char *why, size_t whysz)
{
	struct jv_target *t = ctx;
	size_t n;
	char *text = buf_detach(body, &n);
	if (!text || jv_adopt(t->d, text) < 0) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	return (*t->out = jv_parse_want(t->d, text, n, t->want, why, whysz)) ? 0 : -1;
}

int http_jv(struct http *h, const struct http_req *req, jv_t body, struct jv_doc *d,
	    const struct jv_want *want, jv_t *out, const char *crm, struct crm_err *err)
{
	struct jv_target t = { d, out, want };
	struct buf b = BUF_INIT;
	int rc;

	*out = JV_NONE;
	/* A batch's body is tens of kB: room for it at once, not by doubling. */
	if (body && (d->failed || buf_grow(&b, 32768) < 0 || jv_dump(&b, d, body) < 0)) {
		buf_release(&b);
		return err_set(err, CRM_EFAIL, "out_of_memory", "out of memory");
	}
	rc = call_parse(h, req, &b, NULL, crm, parse_jv, &t, err);
	buf_release(&b);
	return rc;
}

int http_check_secure(const char *url, const char *crm, struct crm_err *err)
{
	char *scheme, *host;
	int rc = 0;

	if (!url || !*url) /* none set (yet): nothing is sent to it */
		return 0;
	if (url_parts(url, &scheme, &host) < 0)
		return err_set(err, CRM_ECONFIG, "bad_url", "the %s URL is not a valid http(s) URL", crm);
	if (strcasecmp(scheme, "https") && (strcasecmp(scheme, "http") || !http_url_is_loopback(url)))
		rc = err_set(err, CRM_ECONFIG, "insecure_url",
			     "refusing to send %s credentials over plain http to %s; use https", crm, host);
	curl_free(scheme);
	curl_free(host);
	return rc;
}

void http_trim_slashes(char *url)
{
	size_t n = strlen(url);
	while (n && url[n - 1] == '/')
		url[--n] = '\0';
}
