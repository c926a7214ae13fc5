/* Pipedrive: API v2 for persons, organizations and deals; v1 for leads,
 * users, lead fields, filters and recents.  Wire facts:
 * ../shared/api/pipedrive.md (section numbers below refer to it).
 *
 * Pipedrive has no batch writes (§2.4), so a write call sends its records
 * one request each; cmd/push keeps several calls in flight.  Custom fields
 * are keyed by 40-hex hashes that differ per company (§5); they travel in
 * remote_fields under the hash, and `fields` shows the human name beside it.
 * Arrays (emails, phones) and nested objects (address) are flattened into
 * slot fields ("emails.primary", "address.locality") so lib/map's flat
 * tables apply; the writer folds them back. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "auth.h"
#include "buf.h"
#include "http.h"
#include "envelope.h"
#include "jx.h"
#include "config.h"
#include "provider.h"
#include "timeutil.h"
#include "pager.h"
#include "banned.h"

#define PD_BASE "https://api.pipedrive.com"
#define PD_OAUTH "https://oauth.pipedrive.com"
#define B_MAIN 0
#define B_SEARCH 1
#define PAGE_LIMIT 500      /* §2.1: v2 and v1 limit <= 500 */
#define IDS_MAX 100         /* §2.1: ids <= 100 per list call */
#define RECENTS_DAYS 30     /* §12.4: /recents reaches back about a month */

/* ---- the tables: unified <-> Pipedrive fields (§3) ---- */

/* Emails and phones are arrays of {value, primary, label}; the envelope
 * puts the primary email and the first other one of each label in slots. */
static const struct map_entry person_map[] = {
	{ "first_name", "first_name", MK_STR, NULL, NULL, 0 },
	{ "last_name", "last_name", MK_STR, NULL, NULL, 0 },
	{ "title", "job_title", MK_STR, NULL, NULL, 0 },
	{ "email_addresses", "emails.primary", MK_EMAIL, NULL, NULL, MF_PRIMARY },
	{ "email_addresses", "emails.work", MK_EMAIL, "WORK", NULL, 0 },
	{ "email_addresses", "emails.home", MK_EMAIL, "PERSONAL", NULL, 0 },
	{ "email_addresses", "emails.other", MK_EMAIL, "OTHER", NULL, 0 },
	{ "phone_numbers", "phones.work", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "phones.mobile", MK_PHONE, "MOBILE", NULL, 0 },
	{ "phone_numbers", "phones.home", MK_PHONE, "HOME", NULL, 0 },
	{ "phone_numbers", "phones.other", MK_PHONE, "OTHER", NULL, 0 },
	{ "addresses", "postal_address.value", MK_ADDR, NULL, "street_1", 0 },
	{ "addresses", "postal_address.locality", MK_ADDR, NULL, "city", 0 },
	{ "addresses", "postal_address.admin_area_level_1", MK_ADDR, NULL, "state", 0 },
	{ "addresses", "postal_address.postal_code", MK_ADDR, NULL, "postal_code", 0 },
	{ "addresses", "postal_address.country", MK_ADDR, NULL, "country", 0 },
	{ "account", "org_id", MK_REL, NULL, NULL, 0 },
	{ "owner", "owner_id", MK_REL, NULL, NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* No standard description, domain or phone on organizations (§3): domain
 * is derived from the website on pull and never written. */
static const struct map_entry org_map[] = {
	{ "name", "name", MK_STR, NULL, NULL, 0 },
	{ "industry", "industry", MK_STR, NULL, NULL, MF_OPTION },
	{ "website", "website", MK_STR, NULL, NULL, 0 },
	{ "number_of_employees", "employee_count", MK_INT, NULL, NULL, 0 },
	{ "addresses", "address.value", MK_ADDR, NULL, "street_1", 0 },
	{ "addresses", "address.locality", MK_ADDR, NULL, "city", 0 },
	{ "addresses", "address.admin_area_level_1", MK_ADDR, NULL, "state", 0 },
	{ "addresses", "address.postal_code", MK_ADDR, NULL, "postal_code", 0 },
	{ "addresses", "address.country", MK_ADDR, NULL, "country", 0 },
	{ "owner", "owner_id", MK_REL, NULL, NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* Options (lib/options, §15): stage_id is a stage of /api/v2/stages and
 * pipeline_id a pipeline of /api/v2/pipelines (ids; labels their names);
 * status open/won/lost is an option labelled OPEN/WON/LOST: Pipedrive
 * keeps a deal's outcome apart from its stage (a won deal keeps its last
 * stage), so status comes from this field, never from the stage. */
static const struct map_entry deal_map[] = {
	{ "name", "title", MK_STR, NULL, NULL, 0 },
	{ "amount", "value", MK_NUM, NULL, NULL, 0 },
	{ "currency", "currency", MK_STR, NULL, NULL, 0 },
	{ "stage", "stage_id", MK_STR, NULL, NULL, MF_STAGE },
	{ "pipeline", "pipeline_id", MK_STR, NULL, NULL, MF_PIPELINE },
	{ "status", "status", MK_STR, NULL, NULL, MF_OPTION },
	{ "probability", "probability", MK_NUM, NULL, NULL, 0 },
	{ "close_date", "expected_close_date", MK_DATE, NULL, NULL, 0 },
	{ "account", "org_id", MK_REL, NULL, NULL, 0 },
	{ "owner", "owner_id", MK_REL, NULL, NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* A lead is a title linked to a person and/or an organization (§3): the
 * lead's first_name ... company come from them (links below), and
 * person_id / organization_id stay in remote_fields.  They are the lead's
 * own person, not a conversion: Pipedrive converts a lead into a deal
 * (the deal's source_lead_id), never into a person or an organization, so
 * converted_contact / converted_account have no field here.  Leads have no
 * status field: their labels (/v1/leadLabels) are the nearest thing (§15),
 * so status is the first label, an option: label_id, a pseudo-field the
 * envelope reads from label_ids and the writer puts back at its head. */
static const struct map_entry lead_map[] = {
	{ "status", "label_id", MK_STR, NULL, NULL, MF_OPTION },
	{ "source", "source_name", MK_STR, NULL, NULL, MF_RO },
	{ "owner", "owner_id", MK_REL, NULL, NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const char *const lead_person_keys[] = { "first_name", "last_name", "title", "email_addresses", "phone_numbers", NULL };
static const char *const lead_company_keys[] = { "company=name", NULL };
/* The organization first: a person made for a lead joins it. */
static const struct prov_link lead_links[] = {
	{ "organization_id", OBJ_ACCOUNT, lead_company_keys },
	{ "person_id", OBJ_CONTACT, lead_person_keys },
	{ NULL, 0, NULL }
};

/* Required on create (pipedrive.md §17): a lead's title, which is the
 * lead's name (its company's, else its person's: the same meaning), and a
 * person or an organization; an organization's name, a deal's title (a
 * person's name the writer makes from first and last name or email). */
static const struct prov_required lead_required[] = {
	{ "title", "company", "company,first_name+last_name" },
	{ "person_id|organization_id", "company", NULL },
	{ NULL, NULL, NULL }
};
static const struct prov_required org_required[] = {
	{ "name", "name", NULL },
	{ NULL, NULL, NULL }
};
static const struct prov_required deal_required[] = {
	{ "title", "name", NULL },
	{ NULL, NULL, NULL }
};

/* Users (§4): read-only; is_active = active_flag. */
static const struct map_entry user_map[] = {
	{ "name", "name", MK_STR, NULL, NULL, MF_RO },
	{ "email", "email", MK_STR, NULL, NULL, MF_RO },
	{ "is_active", "active_flag", MK_BOOL, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct prov_object o_account = { "organizations", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, org_map, "domain", .match_fallback = "name",
					       .required = org_required };
static const struct prov_object o_contact = { "persons", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, person_map, "email" };
static const struct prov_object o_user = { "users", OC_PULL | OC_DELETED, user_map, "email" };
static const struct prov_object o_lead = { "leads", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, lead_map, NULL, ID_UUID,
					    .links = lead_links, .required = lead_required };
static const struct prov_object o_deal = { "deals", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, deal_map, NULL,
					    .required = deal_required };

static const char *v2_name(enum obj o)
{
	return o == OBJ_ACCOUNT ? "organizations" : o == OBJ_CONTACT ? "persons" : "deals";
}

static int is_v2(enum obj o)
{
	return o == OBJ_ACCOUNT || o == OBJ_CONTACT || o == OBJ_DEAL;
}

/* Fields no write may carry (§2.4 read-only on PATCH; §5 flags none). */
static int always_ro(enum obj o, const char *name)
{
	static const char *const ro[] = {
		"id", "add_time", "update_time", "is_deleted", "creator_user_id", "creator_id", "stage_change_time",
		"close_time", "won_time", "lost_time", "picture_id", "next_activity_id", "last_activity_id",
		"cc_email", "source_name", "origin", "origin_id", "active_flag", "source_lead_id", NULL
	};
	for (int i = 0; ro[i]; i++)
		if (!strcmp(ro[i], name))
			return 1;
	/* A person's name follows first and last name (§2.2). */
	return o == OBJ_CONTACT && !strcmp(name, "name");
}

static int is_hash(const char *k)
{
	return strlen(k) == 40 && strspn(k, "0123456789abcdef") == 40;
}

/* ---- connection ---- */

struct conn {
	struct http *http;
	char *base;                 /* API host, no trailing slash */
	char *oauth_base;           /* token endpoint host */
	char *api_token;
	struct auth auth;           /* OAuth: the token and the refresh credentials */
	char company[32];
	pthread_mutex_t mu;         /* lazy caches; may be held across requests */
	json_t *fields[OBJ_COUNT];  /* [{name,label,type,required,read_only,custom,options}] */
	json_t *ftype[OBJ_COUNT];   /* name -> field_type */
	json_t *fopts[OBJ_COUNT];   /* name -> options */
	json_t *human[OBJ_COUNT];   /* custom field label -> hash */
	pthread_mutex_t bmu;        /* leaf lock: the budget figures */
	long daily_limit, daily_left;
	long burst_max, burst_left;
	struct keyidx {             /* find()'s match keys from one listing (see key_index) */
		int state;          /* KI_* */
		char field[16];     /* the envelope field it keys ("emails", "name", "title") */
		char *cursor;       /* where the listing goes on */
		long budget;        /* pages it may still read */
		json_t *map;        /* lowercased value -> [ids] */
	} kidx[OBJ_COUNT];
};
enum { KI_NONE, KI_LISTING, KI_BUILT, KI_OFF };

static int pd_refresh(void *ctx, struct crm_err *err);

/* §1: the API token goes in the x-api-token header, never in the URL (so it
 * cannot reach a log); OAuth uses a bearer token, refreshed a minute early. */
static int pd_auth(void *ctx, struct curl_slist **h, struct crm_err *err)
{
	struct conn *c = ctx;
	int rc;

	if (c->api_token)
		return auth_header(h, "x-api-token", NULL, c->api_token, err);
	if (auth_due(&c->auth) && (rc = pd_refresh(c, err)) < 0)
		return rc;
	return auth_header(h, "Authorization", "Bearer ", c->auth.token, err);
}

static json_t *parse_body(const struct http_resp *r)
{
	char why[160];
	return r->body.len ? jx_parse(r->body.buf, r->body.len, 0, why, sizeof(why)) : NULL;
}

/* §10: {"success":false,"error":"...","error_info":...}; v2 validation errors
 * may name the field (field_code) or say "Validation failed: FIELD: ...". */
static void fill_error(const json_t *body, struct crm_err *e)
{
	const char *msg = jx_str(body, "error"), *fc = jx_str(body, "field_code"), *code = jx_str(body, "code");

	if (code)
		snprintf(e->code, sizeof(e->code), "%s", code);
	if (msg) {
		snprintf(e->message, sizeof(e->message), "Pipedrive: %s", msg);
		const char *v = strstr(msg, "Validation failed: ");
		if (!fc && v) {
			v += strlen("Validation failed: ");
			size_t n = strcspn(v, ": ");
			if (v[n] == ':' && n < sizeof(e->field))
				snprintf(e->field, sizeof(e->field), "%.*s", (int)n, v);
		}
	}
	if (fc)
		snprintf(e->field, sizeof(e->field), "%s", fc);
}

static long header_long(const struct http_resp *r, const char *name, long dflt)
{
	char v[32];
	return http_resp_header(r, name, v, sizeof(v)) ? strtol(v, NULL, 10) : dflt;
}

static void pd_classify(void *ctx, const struct http_req *req, const struct http_resp *resp,
			struct http_verdict *v, struct crm_err *err)
{
	struct conn *c = ctx;
	json_t *body;

	if (resp->status < 300) {
		/* §10: some errors come as HTTP 200 with success:false. */
		char head[65];
		snprintf(head, sizeof(head), "%.*s", (int)(resp->body.len < 64 ? resp->body.len : 64), resp->body.buf);
		if (resp->status >= 200 && strstr(head, "\"success\":false")) {
			body = parse_body(resp);
			v->action = HA_FAIL;
			err_set(err, CRM_EUNAVAIL, "unsuccessful", "Pipedrive answered success:false");
			fill_error(body, err);
			json_decref(body);
		}
		return;
	}
	if (resp->status < 400)
		return;
	body = parse_body(resp);
	switch (resp->status) {
	case 401:
		if (!c->api_token && auth_can_refresh(&c->auth, 0) && !c->auth.busy) {
			/* §1: an expired OAuth token gets the same 401: refresh once. */
			v->action = HA_REFRESH;
		} else {
			v->action = HA_FAIL;
			err_set(err, CRM_EAUTH, "unauthorized", c->api_token
				? "Pipedrive refused the API token (HTTP 401); check PIPEDRIVE_API_TOKEN"
				: "Pipedrive refused the access token (HTTP 401); check PIPEDRIVE_ACCESS_TOKEN or set "
				  "PIPEDRIVE_CLIENT_ID, PIPEDRIVE_CLIENT_SECRET and PIPEDRIVE_REFRESH_TOKEN");
		}
		break;
	case 402:
		v->action = HA_FAIL;
		err_set(err, CRM_EAUTH, "payment_required", "Pipedrive says the company account is not open (HTTP 402)");
		break;
	case 403:
		v->action = HA_FAIL;
		if (!body) {
			/* §9: retries after 429s earn Cloudflare's HTML 403. */
			err_set(err, CRM_ETEMP, "blocked",
				"Pipedrive's edge blocked the requests (HTTP 403 page); wait before running again");
		} else {
			err_set(err, CRM_EAUTH, "forbidden", "Pipedrive refused access (HTTP 403)");
			fill_error(body, err);
		}
		break;
	case 429: {
		long left = header_long(resp, "x-daily-ratelimit-token-remaining", -1);
		v->rate_limited = 1;
		if (left == 0) {
			/* §9: the daily budget is spent until midnight; retrying digs a 403. */
			v->action = HA_FAIL;
			err_set(err, CRM_ETEMP, "daily_limit",
				"Pipedrive's daily API token budget is spent; it resets at midnight server time");
		} else {
			long reset = header_long(resp, "x-ratelimit-reset", -1);
			v->action = HA_RETRY;
			/* §9: no Retry-After documented; wait out the 2 s window. */
			v->wait_ms = resp->retry_after_ms > 0 ? resp->retry_after_ms
				   : reset > 0 && reset <= 300 ? reset * 1000 : 2000;
			err_set(err, CRM_ETEMP, "rate_limited", "Pipedrive kept answering 429 (request over limit)");
		}
		break;
	}
	case 404:
		v->action = HA_FAIL;
		err_set(err, CRM_ENOTFOUND, "not_found", "Pipedrive has no such resource (%.*s)",
			(int)strcspn(req->url + strlen(c->base), "?"), req->url + strlen(c->base));
		fill_error(body, err);
		break;
	default:
		if (resp->status < 500) {
			v->action = HA_FAIL;
			err_set(err, CRM_ERECORD, "http_error", "Pipedrive answered HTTP %ld", resp->status);
			fill_error(body, err);
		}
	}
	json_decref(body);
}

/* §9: the burst window (x-ratelimit-*) paces the main bucket; the daily
 * token budget is kept to stop cleanly before it runs out. */
static void pd_learn(void *ctx, struct http *h, const struct http_req *req, const struct http_resp *resp)
{
	struct conn *c = ctx;
	long lim = header_long(resp, "x-ratelimit-limit", -1), rem = header_long(resp, "x-ratelimit-remaining", -1);
	long dl = header_long(resp, "x-daily-ratelimit-token-limit", -1);
	long dr = header_long(resp, "x-daily-ratelimit-token-remaining", -1);

	/* The limit less one call: lib/http keeps our own calls under it in
	 * any window (stretched by its slack for jitter), which is what the
	 * CRM counts.  The window is rolling and only 2 s long: bursting into
	 * the room the header reports overshoots with four workers in flight,
	 * so that room is passed on only when it is nearly gone (which makes
	 * lib/http wait for it), never as room to burst into. */
	if (req->bucket == B_MAIN && rem >= 0) {
		http_bucket_learn(h, B_MAIN, lim > 0 && rem <= lim / 10 ? rem : -1,
				  lim > 1 ? lim - 1 : lim > 0 ? 1 : -1, lim > 0 ? 2000 : -1);
		/* What the window already holds that is not ours (a run just
		 * before this one) is waited out, not burst into. */
		if (lim > 0)
			http_bucket_used(h, B_MAIN, lim - rem);
	}
	pthread_mutex_lock(&c->bmu);
	if (lim > 0) {
		c->burst_max = lim;
		c->burst_left = rem;
	}
	if (dl > 0)
		c->daily_limit = dl;
	if (dr >= 0)
		c->daily_left = dr;
	pthread_mutex_unlock(&c->bmu);
}

/* DESIGN hard part 3: a daily budget close to empty ends the run (exit 75)
 * before the company is locked out for every other user of it. */
static int budget_check(struct conn *c, struct crm_err *err)
{
	long lim, left;

	pthread_mutex_lock(&c->bmu);
	lim = c->daily_limit;
	left = c->daily_left;
	pthread_mutex_unlock(&c->bmu);
	if (lim > 0 && left >= 0 && left < (lim / 100 > 100 ? lim / 100 : 100))
		return err_set(err, CRM_ETEMP, "daily_limit",
			       "Pipedrive's daily API token budget is nearly spent (%ld of %ld left); stopping "
			       "so other users of the company keep some; it resets at midnight server time", left, lim);
	return 0;
}

/* One call: method, path (appended to base), optional JSON body.
 * *out: parsed JSON answer (new). */
static int call(struct conn *c, const char *method, const char *path, const json_t *body,
		int bucket, unsigned flags, json_t **out, struct crm_err *err)
{
	struct buf url = BUF_INIT;
	struct http_req q = { method, NULL, NULL, 0, NULL, bucket, flags };
	int rc;

	buf_addf(&url, "%s%s", c->base, path);
	q.url = url.buf;
	rc = http_json(c->http, &q, body, out, NULL, "Pipedrive", err);
	buf_release(&url);
	return rc;
}

/* §1: POST {oauth}/oauth/token, Basic client credentials, form body. */
static int pd_refresh(void *ctx, struct crm_err *err)
{
	struct conn *c = ctx;
	struct buf url = BUF_INIT;
	struct auth_oauth o = {
		.bucket = B_MAIN, .basic = 1, .crm = "Pipedrive", .who = "Pipedrive", .what = "the access token",
		.check = "the client id, secret and refresh token",
		.missing_status = CRM_EAUTH,
		.missing = "the Pipedrive access token expired and no refresh credentials are set "
			   "(PIPEDRIVE_CLIENT_ID, PIPEDRIVE_CLIENT_SECRET, PIPEDRIVE_REFRESH_TOKEN)",
	};
	int rc;

	buf_addf(&url, "%s/oauth/token", c->oauth_base);
	o.url = url.buf;
	rc = auth_refresh(&c->auth, c->http, &o, err);
	buf_release(&url);
	return rc;
}

static void pd_close(struct conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < OBJ_COUNT; i++) {
		json_decref(c->fields[i]);
		json_decref(c->ftype[i]);
		json_decref(c->fopts[i]);
		json_decref(c->human[i]);
		json_decref(c->kidx[i].map);
		free(c->kidx[i].cursor);
	}
	config_secret_free(c->api_token);
	auth_release(&c->auth);
	free(c->base);
	free(c->oauth_base);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->bmu);
	free(c);
}

static char *trim_base(const char *s)
{
	char *b = strdup(s);
	static const char *const tails[] = { "/api/v2", "/api/v1", "/v1", NULL };
	size_t n;

	while ((n = strlen(b)) && b[n - 1] == '/')
		b[n - 1] = '\0';
	/* An SDK-style base ending in a version prefix names the same host. */
	for (int i = 0; tails[i]; i++) {
		size_t t = strlen(tails[i]);
		if ((n = strlen(b)) > t && !strcmp(b + n - t, tails[i]))
			b[n - t] = '\0';
	}
	return b;
}

static int pd_open(struct conn **out, const struct session *s, struct crm_err *err)
{
	struct conn *c = calloc(1, sizeof(*c));
	char *domain = NULL;
	int rc;

	*out = NULL;
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->bmu, NULL);
	c->daily_limit = c->daily_left = c->burst_max = c->burst_left = -1;
	c->http = s->http;
	if ((rc = config_credential(s->cfg, s->profile, "PIPEDRIVE_API_TOKEN", "api_token", 1, &c->api_token, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "PIPEDRIVE_ACCESS_TOKEN", "access_token", 0, &c->auth.token, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "PIPEDRIVE_CLIENT_ID", "client_id", 0, &c->auth.client_id, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "PIPEDRIVE_CLIENT_SECRET", "client_secret", 0, &c->auth.client_secret, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "PIPEDRIVE_REFRESH_TOKEN", "refresh_token", 0, &c->auth.refresh_token, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "PIPEDRIVE_COMPANY_DOMAIN", "company_domain", 0, &domain, err)) < 0)
		goto fail;
	if (!c->api_token && !c->auth.token && !auth_can_refresh(&c->auth, 0)) {
		rc = err_set(err, CRM_ECONFIG, "no_credentials",
			     "no Pipedrive credentials: set PIPEDRIVE_API_TOKEN, or PIPEDRIVE_ACCESS_TOKEN and/or "
			     "PIPEDRIVE_CLIENT_ID, PIPEDRIVE_CLIENT_SECRET and PIPEDRIVE_REFRESH_TOKEN");
		goto fail;
	}
	if (s->base_url) {
		c->base = trim_base(s->base_url);
		/* A test or proxy host serves the token endpoint too (§14). */
		c->oauth_base = strdup(c->base);
	} else {
		/* §1: the company host routes to the right data centre. */
		struct buf b = BUF_INIT;
		if (domain && *domain && !strstr(domain, "://"))
			buf_addf(&b, "https://%.*s.pipedrive.com", (int)strcspn(domain, "."), domain);
		else
			buf_adds(&b, domain && *domain ? domain : PD_BASE);
		c->base = trim_base(b.buf);
		buf_release(&b);
		c->oauth_base = strdup(PD_OAUTH);
	}
	if ((rc = http_check_secure(c->base, "Pipedrive", err)) < 0 ||
	    (rc = http_check_secure(c->oauth_base, "Pipedrive", err)) < 0)
		goto fail;
	free(domain);
	{
		struct http_hooks hk = { c, pd_auth, pd_refresh, pd_classify, pd_learn };
		http_set_hooks(c->http, &hk);
	}
	/* §9: burst per rolling 2 s: API token 20 (Lite) to 120, OAuth 80 to
	 * 480; start at the lowest plan and learn the real limit from the first
	 * answer's x-ratelimit-limit.  Search: 10 per 2 s, its own bucket. */
	http_bucket(c->http, B_MAIN, c->api_token ? 18 : 72, 2000);
	http_bucket(c->http, B_SEARCH, 10, 2000);
	*out = c;
	return 0;
fail:
	free(domain);
	pd_close(c);
	return rc;
}

static const char *pd_namespace(struct conn *c, struct crm_err *err)
{
	json_t *ans;
	char tmp[32];

	if (c->company[0])
		return c->company;
	if (call(c, "GET", "/api/v1/users/me", NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err) < 0)
		return NULL;
	const char *id = jx_text(json_object_get(json_object_get(ans, "data"), "company_id"), tmp, sizeof(tmp));
	snprintf(c->company, sizeof(c->company), "%s", id ? id : "");
	json_decref(ans);
	return c->company;
}

/* ---- field metadata (§5) ---- */

static const char *const required_fields[OBJ_COUNT][2] = {
	[OBJ_ACCOUNT] = { "name", NULL },
	[OBJ_CONTACT] = { "name", NULL },
	[OBJ_DEAL] = { "title", NULL },
	[OBJ_LEAD] = { "title", NULL },
};

static void add_field(json_t *arr, const char *name, const char *label, const char *type, int req, int ro,
		      int custom, json_t *opts)
{
	json_array_append_new(arr, json_pack("{s:s,s:s,s:s?,s:b,s:b,s:b,s:o}", "name", name, "label", label,
					     "type", type, "required", req, "read_only", ro, "custom", custom,
					     "options", opts ? opts : json_array()));
}

/* Normalizes one field (v2: field_code/field_name/is_custom_field; v1:
 * key/name/edit_flag) and its slot pseudo-fields. */
static void norm_field(enum obj o, const json_t *f, json_t *arr)
{
	const char *code = jx_str(f, "field_code") ? jx_str(f, "field_code") : jx_str(f, "key");
	const char *label = jx_str(f, "field_name") ? jx_str(f, "field_name") : jx_str(f, "name");
	const char *type = jx_str(f, "field_type");
	int custom = json_object_get(f, "is_custom_field") ? json_is_true(json_object_get(f, "is_custom_field"))
			: json_is_true(json_object_get(f, "edit_flag"));
	json_t *opts = json_array(), *op, *sub;
	size_t i;
	int req = json_is_true(json_object_get(f, "mandatory_flag"));
	char lb[256];

	if (!code)
		return;
	if (!label)
		label = code;
	/* v2 record keys differ from a few field codes (§7: labels). */
	if (!strcmp(code, "label") && is_v2(o))
		code = "label_ids";
	if (o == OBJ_CONTACT && (!strcmp(code, "email") || !strcmp(code, "phone")))
		code = !strcmp(code, "email") ? "emails" : "phones";
	for (int k = 0; k < 2 && required_fields[o][k]; k++)
		req |= !strcmp(required_fields[o][k], code);
	json_array_foreach(json_object_get(f, "options"), i, op)
		json_array_append_new(opts, json_pack("{s:O?,s:O?}", "label", json_object_get(op, "label"),
						      "value", json_object_get(op, "id")));
	add_field(arr, code, label, type, req, always_ro(o, code), custom, opts);
	/* Slots the envelope flattens (see the tables). */
	if (o == OBJ_CONTACT && (!strcmp(code, "emails") || !strcmp(code, "phones"))) {
		static const char *const es[] = { "primary", "work", "home", "other", NULL };
		static const char *const ps[] = { "work", "mobile", "home", "other", NULL };
		const char *const *sl = !strcmp(code, "emails") ? es : ps;
		for (int k = 0; sl[k]; k++) {
			char nm[64];
			snprintf(nm, sizeof(nm), "%s.%s", code, sl[k]);
			snprintf(lb, sizeof(lb), "%s (%s%s)", label, sl[k], strcmp(sl[k], "primary") ? " label" : "");
			add_field(arr, nm, lb, "varchar", 0, 0, 0, NULL);
		}
	}
	json_array_foreach(json_object_get(f, "subfields"), i, sub) {
		const char *sc = jx_str(sub, "field_code"), *sn = jx_str(sub, "field_name");
		char nm[128];
		if (!sc)
			continue;
		snprintf(nm, sizeof(nm), "%s.%s", code, sc);
		snprintf(lb, sizeof(lb), "%s: %s", label, sn ? sn : sc);
		add_field(arr, nm, lb, jx_str(sub, "field_type"), 0, 0, custom, NULL);
	}
	if (o == OBJ_LEAD && !strcmp(code, "value")) {
		add_field(arr, "value.amount", "Value: amount", "double", 0, 0, 0, NULL);
		add_field(arr, "value.currency", "Value: currency", "varchar", 0, 0, 0, NULL);
	}
}

static json_t *user_fields(void)
{
	static const char *const f[][3] = {
		{ "id", "ID", "int" }, { "name", "Name", "varchar" }, { "email", "Email", "varchar" },
		{ "phone", "Phone", "phone" }, { "active_flag", "Active", "boolean" },
		{ "activated", "Activated", "boolean" }, { "is_admin", "Admin", "int" }, { "role_id", "Role", "int" },
		{ "timezone_name", "Time zone", "varchar" }, { "default_currency", "Default currency", "varchar" },
		{ "locale", "Locale", "varchar" }, { "is_you", "Is the token's user", "boolean" },
		{ "is_deleted", "Deleted", "boolean" }, { "last_login", "Last login", "date" },
		{ "access", "App access", "json" },
	};
	json_t *arr = json_array();
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		add_field(arr, f[i][0], f[i][1], f[i][2], 0, 1, 0, NULL);
	return arr;
}

/* Every row of a v2 cursor list (stages, pipelines: a few pages at most). */
static int v2_all(struct conn *c, const char *what, json_t **out, struct crm_err *err)
{
	json_t *all = json_array(), *r;
	char *cur = NULL;
	size_t i;
	int rc = 0;

	do {
		struct buf path = BUF_INIT;
		json_t *ans = NULL;
		buf_addf(&path, "/api/v2/%s?limit=%d", what, PAGE_LIMIT);
		if (cur) {
			buf_adds(&path, "&cursor=");
			buf_add_urlenc(&path, cur);
		}
		free(cur);
		cur = NULL;
		rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		buf_release(&path);
		if (rc < 0)
			break;
		json_array_foreach(json_object_get(ans, "data"), i, r)
			json_array_append(all, r);
		const char *n = jx_str(json_object_get(ans, "additional_data"), "next_cursor");
		cur = n && *n ? strdup(n) : NULL;
		json_decref(ans);
	} while (cur);
	if (rc < 0) {
		json_decref(all);
		return rc;
	}
	*out = all;
	return 0;
}

/* Sorts rows by order_nr, deleted ones last (insertion sort: a handful). */
static void by_order(json_t *rows)
{
	size_t n = json_array_size(rows);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			json_t *a = json_array_get(rows, j - 1), *b = json_array_get(rows, j);
			long long ka = json_integer_value(json_object_get(a, "order_nr")) +
				       (json_is_true(json_object_get(a, "is_deleted")) ? 1LL << 40 : 0);
			long long kb = json_integer_value(json_object_get(b, "order_nr")) +
				       (json_is_true(json_object_get(b, "is_deleted")) ? 1LL << 40 : 0);
			if (ka <= kb)
				break;
			json_incref(a);
			json_array_set(rows, j - 1, b);
			json_array_set_new(rows, j, a);
		}
}

/* The options field `name` of arr (added when the CRM lists no such field). */
static void set_options(json_t *arr, const char *name, const char *label, const char *type, json_t *opts)
{
	json_t *f;
	size_t i;

	json_array_foreach(arr, i, f)
		if (jx_str(f, "name") && !strcmp(jx_str(f, "name"), name)) {
			json_object_set_new(f, "options", opts);
			return;
		}
	add_field(arr, name, label, type, 0, 0, 0, opts);
}

/* A deal's option fields as lib/options reads them (§15): pipeline_id's
 * options are the pipelines (default = lowest order_nr, first), stage_id's
 * the stages, each with its pipeline and, where the pipeline uses deal
 * probability, its deal_probability (already a percentage).  Stages carry
 * no won/lost fact: Pipedrive has no won or lost stages, the outcome is
 * the deal's status, whose options open/won/lost are labelled OPEN, WON,
 * LOST as the unified model spells them ("deleted" is not a value one
 * can write: a deleted deal is reported as remote_deleted). */
static int deal_options(struct conn *c, json_t *arr, struct crm_err *err)
{
	json_t *pls = NULL, *sts = NULL, *popts = json_array(), *sopts = json_array(), *pl, *st;
	size_t i, j;
	int rc;

	if ((rc = v2_all(c, "pipelines", &pls, err)) < 0 || (rc = v2_all(c, "stages", &sts, err)) < 0) {
		json_decref(pls);
		json_decref(popts);
		json_decref(sopts);
		return rc;
	}
	by_order(pls);
	by_order(sts);
	json_array_foreach(pls, i, pl) {
		char pid[32];
		int prob = !json_is_false(json_object_get(pl, "is_deal_probability_enabled"));
		if (!jx_text(json_object_get(pl, "id"), pid, sizeof(pid)))
			continue;
		json_array_append_new(popts, json_pack("{s:O,s:O?}", "value", json_object_get(pl, "id"), "label",
						       json_object_get(pl, "name")));
		json_array_foreach(sts, j, st) {
			char sp[32];
			json_t *dp = json_object_get(st, "deal_probability");
			if (!jx_text(json_object_get(st, "pipeline_id"), sp, sizeof(sp)) || strcmp(sp, pid) ||
			    !json_object_get(st, "id"))
				continue;
			json_t *op = json_pack("{s:O,s:O?,s:s}", "value", json_object_get(st, "id"), "label",
					       json_object_get(st, "name"), "pipeline", pid);
			if (prob && json_is_number(dp))
				json_object_set(op, "probability", dp);
			json_array_append_new(sopts, op);
		}
	}
	json_decref(pls);
	json_decref(sts);
	set_options(arr, "pipeline_id", "Pipeline", "int", popts);
	set_options(arr, "stage_id", "Stage", "stage", sopts);
	set_options(arr, "status", "Status", "status",
		    json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "value", "open", "label", "OPEN", "value", "won",
			      "label", "WON", "value", "lost", "label", "LOST"));
	return 0;
}

/* A lead's label_id options: the lead labels (§15, one v1 page: a company
 * has a handful). */
static int lead_label_options(struct conn *c, json_t *arr, struct crm_err *err)
{
	json_t *ans = NULL, *l, *opts = json_array();
	size_t i;
	int rc = call(c, "GET", "/api/v1/leadLabels", NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);

	if (rc < 0) {
		json_decref(opts);
		return rc;
	}
	json_array_foreach(json_object_get(ans, "data"), i, l)
		if (jx_str(l, "id"))
			json_array_append_new(opts, json_pack("{s:O,s:O?}", "value", json_object_get(l, "id"), "label",
							      json_object_get(l, "name")));
	json_decref(ans);
	set_options(arr, "label_id", "Label (the first of label_ids)", "varchar", opts);
	return 0;
}

/* Loads an object's fields once (v2 cursor, v1 start/limit for leads). */
static int load_fields(struct conn *c, enum obj o, struct crm_err *err)
{
	json_t *arr, *f;
	char *cur = NULL;
	long start = 0;
	int rc = 0;
	size_t i;

	pthread_mutex_lock(&c->mu);
	if (c->fields[o])
		goto out;
	arr = o == OBJ_USER ? user_fields() : json_array();
	while (o != OBJ_USER) {
		struct buf path = BUF_INIT;
		json_t *ans = NULL;
		if (o == OBJ_LEAD)
			buf_addf(&path, "/api/v1/leadFields?start=%ld&limit=%d", start, PAGE_LIMIT);
		else
			buf_addf(&path, "/api/v2/%sFields?limit=%d", o == OBJ_ACCOUNT ? "organization"
				 : o == OBJ_CONTACT ? "person" : "deal", PAGE_LIMIT);
		if (cur) {
			buf_adds(&path, "&cursor=");
			buf_add_urlenc(&path, cur);
		}
		rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		buf_release(&path);
		if (rc < 0)
			break;
		json_t *data = json_object_get(ans, "data"), *ad = json_object_get(ans, "additional_data");
		json_array_foreach(data, i, f)
			norm_field(o, f, arr);
		free(cur);
		cur = NULL;
		if (o == OBJ_LEAD) {
			json_t *pg = json_object_get(ad, "pagination") ? json_object_get(ad, "pagination") : ad;
			int more = json_is_true(json_object_get(pg, "more_items_in_collection"));
			start += (long)json_array_size(data);
			json_decref(ans);
			if (!more || !json_array_size(data))
				break;
		} else {
			const char *n = jx_str(ad, "next_cursor");
			cur = n && *n ? strdup(n) : NULL;
			json_decref(ans);
			if (!cur)
				break;
		}
	}
	free(cur);
	if (rc >= 0 && o == OBJ_DEAL)
		rc = deal_options(c, arr, err);
	if (rc >= 0 && o == OBJ_LEAD)
		rc = lead_label_options(c, arr, err);
	if (rc < 0) {
		json_decref(arr);
		goto out;
	}
	c->ftype[o] = json_object();
	c->fopts[o] = json_object();
	c->human[o] = json_object();
	json_array_foreach(arr, i, f) {
		const char *name = jx_str(f, "name"), *label = jx_str(f, "label");
		json_object_set(c->ftype[o], name, json_object_get(f, "type") ? json_object_get(f, "type") : json_null());
		if (json_array_size(json_object_get(f, "options")))
			json_object_set(c->fopts[o], name, json_object_get(f, "options"));
		if (json_is_true(json_object_get(f, "custom")) && is_hash(name) && label)
			json_object_set_new(c->human[o], label, json_string(name));
	}
	c->fields[o] = arr;
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static int pd_fields(struct conn *c, enum obj o, json_t **out, struct crm_err *err)
{
	int rc = load_fields(c, o, err);
	if (rc < 0)
		return rc;
	*out = json_deep_copy(c->fields[o]);
	return 0;
}

static const char *ftype(struct conn *c, enum obj o, const char *name)
{
	return jx_str(c->ftype[o], name);
}

/* The deal_probability of stage `id` (lib/options' "probability" fact), or NULL. */
static json_t *stage_probability(struct conn *c, const json_t *id)
{
	json_t *op;
	size_t i;
	char a[32], b[32];
	const char *s = jx_text(id, a, sizeof(a));

	json_array_foreach(json_object_get(c->fopts[OBJ_DEAL], "stage_id"), i, op) {
		const char *t = jx_text(json_object_get(op, "value"), b, sizeof(b));
		if (s && t && !strcmp(s, t))
			return json_object_get(op, "probability");
	}
	return NULL;
}

/* The id of the option whose label is `label` (case-insensitive), or NULL. */
static json_t *opt_id(struct conn *c, enum obj o, const char *field, const char *label)
{
	json_t *op;
	size_t i;

	json_array_foreach(json_object_get(c->fopts[o], field), i, op) {
		const char *l = jx_str(op, "label");
		if (l && !strcasecmp(l, label))
			return json_object_get(op, "value");
	}
	return NULL;
}

/* ---- records: Pipedrive objects to envelopes (§2.2) ---- */

/* v1 times are "YYYY-MM-DD HH:MM:SS" UTC (§2.2): make them RFC 3339. */
static json_t *time_new(const json_t *v)
{
	const char *s = json_string_value(v);
	long long ms;
	char out[TIME_BUFSZ];

	if (!s || time_parse(s, &ms) < 0)
		return json_null();
	time_format(ms, out);
	return json_string(out);
}

static const char *email_slot(const char *label)
{
	return !label || !strcmp(label, "work") ? "work" : !strcmp(label, "home") ? "home" : "other";
}

static const char *phone_slot(const char *label)
{
	return !label || !strcmp(label, "work") ? "work" : !strcmp(label, "mobile") ? "mobile"
	     : !strcmp(label, "home") ? "home" : "other";
}

/* A v1 record (recents) in v2 shape (§2.2 "v1->v2"). New reference. */
static json_t *v1_to_v2(const json_t *d)
{
	json_t *r = json_object(), *v, *cf = json_object();
	const char *k;

	json_object_foreach((json_t *)d, k, v) {
		if (is_hash(k)) {
			json_object_set(cf, k, v);
		} else if (!strcmp(k, "email") || !strcmp(k, "phone")) {
			json_object_set(r, !strcmp(k, "email") ? "emails" : "phones", v);
		} else if (!strcmp(k, "active_flag")) {
			json_object_set_new(r, "is_deleted", json_boolean(!json_is_true(v)));
		} else if (!strcmp(k, "user_id") || !strcmp(k, "owner_id") || !strcmp(k, "org_id") || !strcmp(k, "person_id")) {
			json_t *id = json_is_object(v) ? json_object_get(v, "value") : v;
			if (json_is_object(v) && !id)
				id = json_object_get(v, "id");
			json_object_set(r, !strcmp(k, "user_id") ? "owner_id" : k, id ? id : json_null());
		} else if (!strcmp(k, "add_time") || !strcmp(k, "update_time")) {
			json_object_set_new(r, k, time_new(v));
		} else if (!json_object_get(r, k)) {
			json_object_set(r, k, v);
		}
	}
	if (!strcmp(jx_str(d, "status") ? jx_str(d, "status") : "", "deleted"))
		json_object_set_new(r, "is_deleted", json_true());
	json_object_set_new(r, "custom_fields", cf);
	return r;
}

/* Flattens a nested object into "key.sub" fields (non-null scalars). */
static void flatten(json_t *fields, const char *key, const json_t *obj)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v) {
		if (json_is_null(v) || json_is_object(v) || json_is_array(v))
			continue;
		struct buf n = BUF_INIT;
		buf_addf(&n, "%s.%s", key, k);
		json_object_set(fields, n.buf, v);
		buf_release(&n);
	}
}

static json_t *envelope(struct conn *c, enum obj o, json_t *raw, const json_t *alias)
{
	json_t *env = json_object(), *fields = json_object(), *v;
	const char *k, *id;
	char tmp[64];
	int deleted;

	id = jx_text(json_object_get(raw, "id"), tmp, sizeof(tmp));
	json_object_set_new(env, "id", jx_str_new(id));
	json_object_set_new(env, "created_at", time_new(json_object_get(raw, o == OBJ_USER ? "created" : "add_time")));
	json_object_set_new(env, "updated_at", time_new(json_object_get(raw, o == OBJ_USER ? "modified" : "update_time")));
	deleted = json_is_true(json_object_get(raw, "is_deleted")) ||
		  (o == OBJ_DEAL && jx_str(raw, "status") && !strcmp(jx_str(raw, "status"), "deleted")) ||
		  json_is_true(json_object_get(raw, "is_archived"));
	json_object_set_new(env, "deleted", json_boolean(deleted));
	/* Pipedrive keeps no deletion time: the update it made is the best we know. */
	if (deleted)
		json_object_set(env, "deleted_at", jx_str(raw, "archive_time") ? json_object_get(raw, "archive_time")
				: json_object_get(env, "updated_at"));
	else
		json_object_set_new(env, "deleted_at", json_null());

	json_object_foreach(raw, k, v) {
		if (!strcmp(k, "id") || !strcmp(k, "add_time") || !strcmp(k, "update_time") || !strcmp(k, "is_deleted") ||
		    (o == OBJ_USER && (!strcmp(k, "created") || !strcmp(k, "modified"))))
			continue;
		if (!strcmp(k, "custom_fields")) {
			const char *ck;
			json_t *cv;
			json_object_foreach(v, ck, cv)
				if (!json_is_null(cv))
					json_object_set(fields, ck, cv);
		} else if (o == OBJ_CONTACT && (!strcmp(k, "emails") || !strcmp(k, "phones"))) {
			json_t *e;
			size_t i;
			int em = !strcmp(k, "emails");
			json_object_set(env, k, v);  /* for pull_fixup: every entry, with its label */
			json_array_foreach(v, i, e) {
				const char *val = jx_str(e, "value"), *lbl = jx_str(e, "label");
				char slot[32];
				if (!val || !*val)
					continue;
				if (em && json_is_true(json_object_get(e, "primary")))
					snprintf(slot, sizeof(slot), "emails.primary");
				else
					snprintf(slot, sizeof(slot), "%s.%s", k, em ? email_slot(lbl) : phone_slot(lbl));
				if (!json_object_get(fields, slot))
					json_object_set_new(fields, slot, json_string(val));
			}
		} else if (json_is_object(v) && o != OBJ_USER) {
			flatten(fields, k, v);
		} else if (o == OBJ_DEAL && !strcmp(k, "status") && jx_str(raw, k) && !strcmp(jx_str(raw, k), "deleted")) {
			/* Not an outcome: the deal is reported deleted. */
			continue;
		} else if (!json_is_null(v)) {
			json_object_set(fields, k, v);
		}
	}
	/* A lead's status: its first label (see lead_map). */
	if (o == OBJ_LEAD && json_is_string(json_array_get(json_object_get(raw, "label_ids"), 0)))
		json_object_set(fields, "label_id", json_array_get(json_object_get(raw, "label_ids"), 0));
	/* A deal without a probability of its own has its stage's (§15). */
	if (o == OBJ_DEAL && !json_object_get(fields, "probability")) {
		json_t *p = stage_probability(c, json_object_get(raw, "stage_id"));
		if (p)
			json_object_set(fields, "probability", p);
	}
	/* --map may name a custom field by its human name: alias -> hash. */
	json_object_foreach((json_t *)alias, k, v) {
		json_t *val = json_object_get(fields, json_string_value(v));
		if (val) {
			json_object_set(fields, k, val);
			json_object_del(fields, json_string_value(v));
		}
	}
	json_object_set_new(env, "fields", fields);
	json_object_set(env, "raw", raw);
	return env;
}

static void pd_fixup(struct conn *c, enum obj o, struct jv_doc *d, jv_t env, jv_t rec)
{
	(void)c;
	if (o == OBJ_CONTACT) {
		/* Every email and phone, with Pipedrive's labels, in its order
		 * (the slots hold only the first of each label). */
		jv_t emails = jv_arr(d), phones = jv_arr(d), e;
		for (int pass = 0; pass < 2; pass++)
			for (uint32_t m = jv_items(d, jv_get(d, env, "emails")); m; m = jv_next(d, m)) {
				e = jv_val(d, m);
				const char *val = jv_str(d, e, "value"), *l = jv_str(d, e, "label");
				int prim = jv_is_true(d, jv_get(d, e, "primary"));
				if (!val || !*val || prim != (pass == 0))
					continue;
				jv_append(d, emails, map_email(d, jv_get(d, e, "value"), !l || !strcmp(l, "work") ? "WORK"
					: !strcmp(l, "home") ? "PERSONAL" : "OTHER", prim));
			}
		for (uint32_t m = jv_items(d, jv_get(d, env, "phones")); m; m = jv_next(d, m)) {
			e = jv_val(d, m);
			const char *val = jv_str(d, e, "value"), *l = phone_slot(jv_str(d, e, "label"));
			if (!val || !*val)
				continue;
			jv_append(d, phones, map_phone(d, jv_get(d, e, "value"), !strcmp(l, "work") ? "WORK"
				: !strcmp(l, "mobile") ? "MOBILE" : !strcmp(l, "home") ? "HOME" : "OTHER"));
		}
		jv_set(d, rec, "email_addresses", emails);
		jv_set(d, rec, "phone_numbers", phones);
	} else if (o == OBJ_DEAL) {
		/* lib/options gave the stage's probability; the deal's own, when it
		 * has one, wins (§15), and the envelope holds whichever applies. */
		jv_t p = jv_get(d, jv_get(d, env, "fields"), "probability");
		jv_set(d, rec, "probability", p ? p : JV_NULL);
	} else if (o == OBJ_ACCOUNT) {
		/* §3: no domain field; the website's host is the domain. */
		char dom[256];
		jv_set(d, rec, "domain", record_domain_of(jv_str(d, jv_get(d, env, "fields"), "website"), dom, sizeof(dom))
			   ? jv_string(d, dom) : JV_NULL);
	} else if (o == OBJ_USER) {
		/* One name field (§4): split at the first space, as Pipedrive's UI does. */
		const char *n = jv_str(d, jv_get(d, env, "fields"), "name");
		const char *sp = n ? strchr(n, ' ') : NULL;
		if (n) {
			jv_set(d, rec, "first_name", jv_stringn(d, n, sp ? (size_t)(sp - n) : strlen(n)));
			jv_set(d, rec, "last_name", sp && sp[1] ? jv_string_ref(d, sp + 1) : JV_NULL);
		}
	}
}

/* ---- pull ---- */

struct pull {
	struct conn *c;
	struct pull_opts o;
	int phase;                  /* 0 live, 1 deleted/archived, 2 done */
	char *cursor;               /* v2 next_cursor */
	long start;                 /* v1 offset */
	long long t;                /* leads keyset: lowest update time still to read */
	json_t *seen;               /* ids emitted at t (leads) / deleted ids (recents) */
	int same_time;              /* leads: the last page was all at t */
	json_t *alias;              /* --map: custom field label -> hash */
	json_t *label;              /* list members: the label id (integer), or NULL */
	char filter[32];            /* list members: saved filter id; --where: the run's own */
	int own_filter;             /* filter was made for this run (--where): deleted at the end */
	struct pager_guard guard;   /* of the current listing (lib/pager) */
	long long total;            /* records expected (pull_total), -1 unknown */
};

static int pd_lists_resolve(struct conn *c, const char *list, json_t **label, char *filter, size_t fn,
			    struct crm_err *err);

static void count_deals(struct pull *p);
static void pd_pull_close(struct pull *p);

/* ---- pull --where: a saved filter made for the run (§16 Filters API) ----
 *
 * Pipedrive filters lists only through a saved filter (filter_id), so a
 * filtered pull makes one, lists with it and deletes it at the end, also
 * after a failure or an interrupt (pull_close, HTTP_CLEANUP).  A filter
 * is a view users see: its name says what it is. */

static int pd_where_can(enum obj o, const struct where *w, const char **can)
{
	/* Leads lists take filter_id too, but which `object` their conditions
	 * name is undocumented (unverified): not offered. */
	*can = "contacts, accounts and deals, on any field with = != < <= > >= ~ ?";
	return o == OBJ_CONTACT || o == OBJ_ACCOUNT || o == OBJ_DEAL;
}

/* The v1 fields of o (their numeric ids name them in conditions), by key. */
static int v1_fields(struct conn *c, enum obj o, json_t **out, struct crm_err *err)
{
	const char *what = o == OBJ_ACCOUNT ? "organization" : o == OBJ_CONTACT ? "person" : "deal";
	json_t *res = json_object(), *f;
	long start = 0;
	size_t i;
	int rc = 0;

	for (;;) {
		char path[96];
		json_t *ans = NULL, *data, *ad;
		snprintf(path, sizeof(path), "/api/v1/%sFields?start=%ld&limit=%d", what, start, PAGE_LIMIT);
		if ((rc = call(c, "GET", path, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err)) < 0)
			break;
		data = json_object_get(ans, "data");
		json_array_foreach(data, i, f)
			if (jx_str(f, "key"))
				json_object_set(res, jx_str(f, "key"), f);
		ad = json_object_get(ans, "additional_data");
		ad = json_object_get(ad, "pagination") ? json_object_get(ad, "pagination") : ad;
		start += (long)json_array_size(data);
		int more = json_is_true(json_object_get(ad, "more_items_in_collection")) && json_array_size(data);
		json_decref(ans);
		if (!more)
			break;
	}
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* One condition C of the filter: field_id the v1 id of the field (an
 * address part is the address field with extra_value), dates YYYY-MM-DD. */
static json_t *where_condition(enum obj o, const json_t *fields, const struct where *w, struct crm_err *err)
{
	static const char *const ops[W_OP_COUNT] = { "=", "!=", "<", "<=", ">", ">=", "LIKE '%$%'", "IS NOT NULL" };
	char key[128], tmp[16];
	const char *dot = strchr(w->field, '.'), *extra = NULL, *v = w->value, *ft;
	const json_t *f;
	char id[32];

	snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - w->field) : (int)strlen(w->field), w->field);
	if (!strcmp(key, "emails"))
		snprintf(key, sizeof(key), "email");
	else if (!strcmp(key, "phones"))
		snprintf(key, sizeof(key), "phone");
	else if (dot)
		extra = dot + 1;
	f = json_object_get(fields, key);
	if (!f || json_is_false(json_object_get(f, "filtering_allowed")) ||
	    !jx_text(json_object_get(f, "id"), id, sizeof(id)))
		return err_set(err, CRM_EUSAGE, "usage", "--where: Pipedrive cannot filter on %s", w->given), NULL;
	ft = jx_str(f, "field_type");
	if (v && ft && !strcmp(ft, "date") && strlen(v) > 10 && v[10] == 'T') {
		snprintf(tmp, sizeof(tmp), "%.10s", v);
		v = tmp;
	}
	return json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "object",
			 o == OBJ_ACCOUNT ? "organization" : o == OBJ_CONTACT ? "person" : "deal", "field_id", id,
			 "operator", ops[w->op], "value", v, "extra_value", extra);
}

static int where_filter(struct pull *p, struct crm_err *err)
{
	enum obj o = p->o.obj;
	json_t *fields = NULL, *and = json_array(), *body, *ans = NULL;
	char tmp[32];
	int rc;

	if ((rc = v1_fields(p->c, o, &fields, err)) < 0) {
		json_decref(and);
		return rc;
	}
	for (size_t i = 0; i < p->o.nwhere && rc == 0; i++) {
		json_t *cond = where_condition(o, fields, &p->o.where[i], err);
		if (!cond)
			rc = err->status;
		else
			json_array_append_new(and, cond);
	}
	if (rc == 0 && p->o.since_ms >= 0) {
		/* filter_id overrides updated_since (§2): the time goes in the filter,
		 * to the day (dates YYYY-MM-DD); v2_page drops what is older. */
		struct where t = { NULL, (char *)"update_time", NULL, W_GE, NULL };
		char day[TIME_BUFSZ];
		time_format(p->o.since_ms, day);
		t.value = day;
		t.given = t.field;
		json_t *cond = where_condition(o, fields, &t, err);
		if (!cond)
			rc = err->status;
		else
			json_array_append_new(and, cond);
	}
	json_decref(fields);
	if (rc < 0) {
		json_decref(and);
		return rc;
	}
	body = json_pack("{s:s,s:s,s:{s:s,s:[{s:s,s:o},{s:s,s:[]}]}}", "name", "crmsync pull --where (temporary)",
			 "type", o == OBJ_ACCOUNT ? "org" : o == OBJ_CONTACT ? "people" : "deals", "conditions",
			 "glue", "and", "conditions", "glue", "and", "conditions", and, "glue", "or", "conditions");
	rc = call(p->c, "POST", "/api/v1/filters", body, B_MAIN, 0, &ans, err);
	json_decref(body);
	if (rc < 0)
		return rc;
	if (!jx_text(json_object_get(json_object_get(ans, "data"), "id"), tmp, sizeof(tmp))) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "Pipedrive's answer to a new filter has no id");
	}
	snprintf(p->filter, sizeof(p->filter), "%s", tmp);
	p->own_filter = 1;
	json_decref(ans);
	return 0;
}

/* Deletes the run's filter, even after SIGINT (HTTP_CLEANUP).  A failure
 * cannot be told from here (pull_close returns nothing): the filter stays,
 * named as crmsync's, for a person to delete. */
static void where_filter_delete(struct pull *p)
{
	struct crm_err e = CRM_ERR_INIT;
	json_t *ans = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/api/v1/filters/%s", p->filter);
	call(p->c, "DELETE", path, NULL, B_MAIN, HTTP_IDEMPOTENT | HTTP_CLEANUP, &ans, &e);
	json_decref(ans);
	p->own_filter = 0;
}

static int pd_pull_open(struct conn *c, const struct pull_opts *o, struct pull **out, struct crm_err *err)
{
	struct pull *p;
	json_t *v;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = load_fields(c, o->obj, err)) < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	pager_guard_init(&p->guard, "Pipedrive");
	p->c = c;
	p->o = *o;
	p->t = o->since_ms > 0 ? o->since_ms / 1000 * 1000 : 0;
	p->seen = json_object();
	p->alias = json_object();
	p->total = -1;
	json_array_foreach(o->extra_fields, i, v) {
		json_t *h = json_object_get(c->human[o->obj], json_string_value(v) ? json_string_value(v) : "");
		if (h)
			json_object_set(p->alias, json_string_value(v), h);
	}
	if (o->list && (rc = pd_lists_resolve(c, o->list, &p->label, p->filter, sizeof(p->filter), err)) < 0) {
		json_decref(p->seen);
		json_decref(p->alias);
		free(p);
		return rc;
	}
	if (o->nwhere && !o->list && (rc = where_filter(p, err)) < 0) {
		pd_pull_close(p);
		return rc;
	}
	if (o->want_total)
		count_deals(p);
	*out = p;
	return 0;
}

/* Lists carry no total (§16 Totals: v2 has only next_cursor, v1 only
 * more_items_in_collection); deals alone have a count,
 * /v1/deals/summary's total_count, which counts what a full pull lists
 * (not deleted, not archived; it takes no time filter).  One call, when a
 * progress line wants it; a failure only leaves the total unknown. */
static void count_deals(struct pull *p)
{
	struct crm_err e = CRM_ERR_INIT;
	json_t *ans = NULL, *n;

	if (p->o.obj != OBJ_DEAL || p->o.list || p->o.ordered || p->o.since_ms >= 0)
		return;
	if (call(p->c, "GET", "/api/v1/deals/summary", NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, &e) == 0 &&
	    json_is_integer(n = json_object_get(json_object_get(ans, "data"), "total_count")))
		p->total = json_integer_value(n);
	json_decref(ans);
}

static long long pd_pull_total(struct pull *p)
{
	return p->total;
}

static void pd_pull_close(struct pull *p)
{
	if (!p)
		return;
	if (p->own_filter)
		where_filter_delete(p);
	json_decref(p->seen);
	json_decref(p->alias);
	json_decref(p->label);
	free(p->cursor);
	pager_guard_release(&p->guard);
	free(p);
}

static void add_since(struct buf *path, long long ms)
{
	char t[TIME_BUFSZ];
	/* §2.3: updated_since is inclusive and second-granular: floor it. */
	time_format(ms / 1000 * 1000, t);
	buf_adds(path, "&updated_since=");
	buf_add_urlenc(path, t);
}

/* Drops what an incremental run already has: with no look-back, records
 * at the cursor's instant up to its id (pull_opts.since_id). */
static int already_had(const struct pull *p, const json_t *env)
{
	const char *u = jx_str(env, "updated_at"), *id = jx_str(env, "id");
	long long ms;

	if (!p->o.since_id || !u || !id || time_parse(u, &ms) < 0)
		return 0;
	return ms == p->o.since_ms && env_id_cmp(id, p->o.since_id) <= 0;
}

/* With the run's own filter, the time went in it to the day: what is
 * older than since_ms is dropped here. */
static int older(const struct pull *p, const json_t *env)
{
	const char *u = jx_str(env, "updated_at");
	long long ms;

	return p->own_filter && p->o.since_ms >= 0 && u && time_parse(u, &ms) == 0 && ms < p->o.since_ms / 1000 * 1000;
}

/* One v2 list page (persons, organizations, deals): live records, or
 * deleted deals (status=deleted), or archived deals. */
static int v2_page(struct pull *p, int what, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	enum obj o = p->o.obj;
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *r, *envs;
	size_t i;
	int rc;

	if (what == 2)
		buf_addf(&path, "/api/v2/deals/archived?limit=%d", PAGE_LIMIT);
	else
		buf_addf(&path, "/api/v2/%s?limit=%d", v2_name(o), PAGE_LIMIT);
	if (p->o.ordered && what == 0)
		buf_adds(&path, "&sort_by=update_time&sort_direction=asc");
	if (what == 1)
		buf_adds(&path, "&status=deleted");
	if (p->filter[0])
		buf_addf(&path, "&filter_id=%s", p->filter);
	if (p->o.since_ms >= 0 && !p->o.list)
		add_since(&path, p->o.since_ms);
	if (p->cursor) {
		buf_adds(&path, "&cursor=");
		buf_add_urlenc(&path, p->cursor);
	}
	rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	json_t *data = json_object_get(ans, "data");
	if (!json_is_array(data)) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "Pipedrive's page has no data array");
	}
	envs = json_array();
	json_array_foreach(data, i, r) {
		if (p->label) {
			json_t *l;
			size_t j;
			int has = 0;
			json_array_foreach(json_object_get(r, "label_ids"), j, l)
				has |= json_integer_value(l) == json_integer_value(p->label);
			if (!has)
				continue;
		}
		json_t *env = envelope(c, o, r, p->alias);
		if (what == 2) {
			/* Archived deals are not in the list (§11): "deleted/archived". */
			json_object_set_new(env, "deleted", json_true());
			if (json_is_null(json_object_get(env, "deleted_at")))
				json_object_set(env, "deleted_at", json_object_get(env, "updated_at"));
		}
		if (what == 0 && (already_had(p, env) || older(p, env))) {
			json_decref(env);
			continue;
		}
		json_array_append_new(envs, env);
	}
	free(p->cursor);
	const char *n = jx_str(json_object_get(ans, "additional_data"), "next_cursor");
	p->cursor = n && *n ? strdup(n) : NULL;
	if (p->cursor) {
		struct buf key = BUF_INIT;
		buf_addf(&key, "cursor=%s", p->cursor);
		rc = pager_guard_next(&p->guard, key.buf, json_array_size(data), err);
		buf_release(&key);
	} else {
		pager_guard_reset(&p->guard); /* the listing is done; the next is a new one */
	}
	json_decref(ans);
	if (rc < 0) {
		json_decref(envs);
		return rc;
	}
	*page = envs;
	return 0;
}

/* Offset paging (start=, counted here from the pages' sizes) past a page
 * `data` that said there is more: the next offset must be new, the page
 * must not be one seen before (a server that ignores start gives the same
 * page for every offset), and empty pages must end (lib/pager). */
static int guard_offset(struct pull *p, const json_t *data, const char *idkey, struct crm_err *err)
{
	size_t n = json_array_size(data);
	char key[48], a[32], b[32];
	const char *first = jx_text(json_object_get(json_array_get(data, 0), idkey), a, sizeof(a));
	const char *last = n ? jx_text(json_object_get(json_array_get(data, n - 1), idkey), b, sizeof(b)) : NULL;
	int rc;

	snprintf(key, sizeof(key), "start=%ld", p->start);
	if ((rc = pager_guard_page(&p->guard, NULL, first, last, n, err)) < 0)
		return rc;
	return pager_guard_next(&p->guard, key, n, err);
}

/* Deleted persons and organizations: the list endpoints leave them out
 * (§11), so read the legacy change feed /v1/recents, which reaches back
 * about a month (§12.4).  The local clock bounds that window only; no
 * cursor ever comes from it. */
static int recents_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	enum obj o = p->o.obj;
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *r, *envs;
	long long from = time_now_ms() - (long long)RECENTS_DAYS * 86400000LL + 3600000;
	char t[TIME_BUFSZ];
	size_t i;
	int rc;

	/* §12.3: since_timestamp is exclusive: one second earlier. */
	if (p->o.since_ms > from)
		from = p->o.since_ms - 1000;
	time_format(from / 1000 * 1000, t);
	t[10] = ' ';
	t[19] = '\0';
	buf_addf(&path, "/api/v1/recents?items=%s&start=%ld&limit=%d&since_timestamp=",
		 o == OBJ_CONTACT ? "person" : "organization", p->start, PAGE_LIMIT);
	buf_add_urlenc(&path, t);
	rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	envs = json_array();
	json_array_foreach(json_object_get(ans, "data"), i, r) {
		json_t *d = json_object_get(r, "data");
		char tmp[32];
		const char *id = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
		/* data:null happens for a cause Pipedrive does not document (§11):
		 * nothing to tell about such an entry, so it is left out. */
		if (!json_is_object(d) || !id || json_is_true(json_object_get(d, "active_flag")) ||
		    json_object_get(p->seen, id))
			continue;
		json_t *v2 = v1_to_v2(d);
		json_object_set_new(v2, "is_deleted", json_true());
		json_array_append_new(envs, envelope(c, o, v2, p->alias));
		json_decref(v2);
		json_object_set_new(p->seen, id, json_true());
	}
	json_t *ad = json_object_get(ans, "additional_data");
	json_t *pg = json_object_get(ad, "pagination") ? json_object_get(ad, "pagination") : ad;
	int more = json_is_true(json_object_get(pg, "more_items_in_collection"));
	json_t *data = json_object_get(ans, "data");
	size_t n = json_array_size(data);
	p->start += (long)n;
	if (!more)
		p->phase = 2;
	else if ((rc = guard_offset(p, data, "id", err)) < 0) {
		json_decref(ans);
		json_decref(envs);
		return rc;
	}
	json_decref(ans);
	*page = envs;
	return 0;
}

/* Leads (v1 offset paging).  Ordered: sorted by update_time and always
 * from offset 0 with a moving updated_since ("keyset" paging), so a lead
 * that changes mid-scan moves forward instead of shifting offsets; a
 * page all at one instant continues by offset within it. */
static int leads_page(struct pull *p, int archived, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *r, *envs;
	long long maxt = -1, mint = -1;
	size_t i, n;
	int rc, ordered = p->o.ordered && !archived;

	buf_addf(&path, "/api/v1/leads%s?limit=%d", archived ? "/archived" : "", PAGE_LIMIT);
	if (ordered) {
		buf_addf(&path, "&sort=%s&start=%ld", "update_time%20ASC%2Cid%20ASC", p->same_time ? p->start : 0L);
		add_since(&path, p->t);
	} else {
		buf_addf(&path, "&start=%ld", p->start);
		if (p->o.since_ms >= 0 && !archived)
			add_since(&path, p->o.since_ms);
	}
	rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	json_t *data = json_object_get(ans, "data");
	n = json_array_size(data);
	envs = json_array();
	json_array_foreach(data, i, r) {
		json_t *env = envelope(c, OBJ_LEAD, r, p->alias);
		const char *id = jx_str(env, "id"), *u = jx_str(env, "updated_at");
		long long ms = -1;
		if (u)
			time_parse(u, &ms);
		if (archived) {
			/* SDK33 sends no updated_since for archived leads (§11): filter here. */
			if (p->o.since_ms >= 0 && ms >= 0 && ms < p->o.since_ms) {
				json_decref(env);
				continue;
			}
			json_object_set_new(env, "deleted", json_true());
			json_object_set(env, "deleted_at", json_object_get(env, "updated_at"));
		}
		if (mint < 0 || ms < mint)
			mint = ms;
		if (ms > maxt)
			maxt = ms;
		if (ordered && id && ms == p->t && json_object_get(p->seen, id)) {
			json_decref(env);
			continue;
		}
		if (!archived && already_had(p, env)) {
			json_decref(env);
			continue;
		}
		json_array_append_new(envs, env);
	}
	if (!ordered) {
		p->start += (long)n;
		if (n < PAGE_LIMIT) {
			p->phase++;
			p->start = 0;
		} else if ((rc = guard_offset(p, data, "id", err)) < 0) {
			json_decref(ans);
			json_decref(envs);
			return rc;
		}
	} else if (n < PAGE_LIMIT) {
		p->phase++;
		p->start = 0;
	} else if (mint == maxt && maxt == p->t) {
		/* A whole page at one instant: continue by offset inside it. */
		p->same_time = 1;
		p->start += (long)n;
	} else {
		if (maxt != p->t) {
			json_object_clear(p->seen);
			p->same_time = 0;
			p->start = 0;
		}
		p->t = maxt;
	}
	json_decref(ans);
	if (ordered && n >= PAGE_LIMIT) {
		/* The keyset's next query: a higher bound, or a higher offset
		 * inside one instant.  Asked again, the CRM's answers do not
		 * move the scan on. */
		char key[96];
		snprintf(key, sizeof(key), "updated_since=%lld start=%ld", p->t, p->same_time ? p->start : 0L);
		if ((rc = pager_guard_next(&p->guard, key, n, err)) < 0) {
			json_decref(envs);
			return rc;
		}
	}
	if (n < PAGE_LIMIT)
		pager_guard_reset(&p->guard); /* the listing is done; the next is a new one */
	if (ordered) {
		json_array_foreach(envs, i, r) {
			long long ms;
			const char *u = jx_str(r, "updated_at");
			if (u && time_parse(u, &ms) == 0 && ms == p->t)
				json_object_set_new(p->seen, jx_str(r, "id"), json_true());
		}
		if (p->phase == 1)
			json_object_clear(p->seen);
	}
	*page = envs;
	return 0;
}

/* Users: one unpaginated v1 list (§4); sorted and filtered here. */
static int users_page(struct pull *p, json_t **page, struct crm_err *err)
{
	json_t *ans = NULL, *r, *envs = json_array();
	size_t i;
	int rc;

	if ((rc = call(p->c, "GET", "/api/v1/users", NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err)) < 0) {
		json_decref(envs);
		return rc;
	}
	json_array_foreach(json_object_get(ans, "data"), i, r) {
		json_t *env = envelope(p->c, OBJ_USER, r, p->alias);
		const char *u = jx_str(env, "updated_at");
		long long ms;
		if ((json_is_true(json_object_get(env, "deleted")) && !p->o.deleted) ||
		    (p->o.since_ms >= 0 && u && time_parse(u, &ms) == 0 && ms < p->o.since_ms) || already_had(p, env)) {
			json_decref(env);
			continue;
		}
		json_array_append_new(envs, env);
	}
	json_decref(ans);
	env_sort_by_updated(envs);
	*page = envs;
	p->phase = 2;
	return 0;
}

static int pd_pull_next(struct pull *p, json_t **page, struct crm_err *err)
{
	enum obj o = p->o.obj;

	*page = NULL;
	while (p->phase < 2) {
		int rc;
		if ((rc = budget_check(p->c, err)) < 0)
			return rc;
		if (o == OBJ_USER) {
			rc = users_page(p, page, err);
		} else if (o == OBJ_LEAD) {
			rc = leads_page(p, p->phase == 1, page, err);
			if (rc == 0 && p->phase == 1 && !p->o.deleted)
				p->phase = 2;
		} else if (p->phase == 0) {
			rc = v2_page(p, 0, page, err);
			if (rc == 0 && !p->cursor)
				p->phase = p->o.deleted && !p->o.list ? 1 : 2;
		} else if (o == OBJ_DEAL) {
			/* Deleted deals (status=deleted, 30 days), then archived ones. */
			rc = v2_page(p, p->start ? 2 : 1, page, err);
			if (rc == 0 && !p->cursor) {
				if (p->start)
					p->phase = 2;
				p->start = 1;
			}
		} else {
			rc = recents_page(p, page, err);
		}
		if (rc < 0)
			return rc;
		if (*page && json_array_size(*page))
			return 0;
		json_decref(*page);
		*page = NULL;
	}
	return 0;
}

/* ---- reading and matching for push ---- */

/* Records by id: v2 list with ids= (<= 100 a call), v1 get for leads. */
static int pd_read(struct conn *c, enum obj o, const json_t *ids, json_t **out, struct crm_err *err)
{
	json_t *res = json_object(), *id;
	size_t n = json_array_size(ids), i;
	int rc;

	*out = NULL;
	if ((rc = load_fields(c, o, err)) < 0)
		goto fail;
	if (o == OBJ_LEAD) {
		json_array_foreach(ids, i, id) {
			struct buf path = BUF_INIT;
			json_t *ans = NULL;
			struct crm_err e2 = CRM_ERR_INIT;
			const char *s = json_string_value(id);
			if (!s || strspn(s, "0123456789abcdefABCDEF-") != strlen(s))
				continue;
			buf_adds(&path, "/api/v1/leads/");
			id_path_add(&path, s);
			rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, &e2);
			buf_release(&path);
			if (rc == CRM_ENOTFOUND)
				continue;
			if (rc < 0) {
				*err = e2;
				goto fail;
			}
			json_t *env = envelope(c, o, json_object_get(ans, "data"), NULL);
			json_object_set_new(res, s, env);
			json_decref(ans);
		}
		*out = res;
		return 0;
	}
	for (size_t off = 0; off < n; off += IDS_MAX) {
		struct buf path = BUF_INIT;
		json_t *ans = NULL, *r;
		int any = 0;
		buf_addf(&path, "/api/v2/%s?limit=%d&ids=", v2_name(o), PAGE_LIMIT);
		for (i = off; i < n && i < off + IDS_MAX; i++) {
			const char *s = json_string_value(json_array_get(ids, i));
			if (!s || !*s || strspn(s, "0123456789") != strlen(s))
				continue;
			buf_addf(&path, "%s%s", any ? "%2C" : "", s);
			any = 1;
		}
		if (!any) {
			buf_release(&path);
			continue;
		}
		rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		buf_release(&path);
		if (rc < 0)
			goto fail;
		json_array_foreach(json_object_get(ans, "data"), i, r) {
			json_t *env = envelope(c, o, r, NULL);
			json_object_set_new(res, jx_str(env, "id"), env);
		}
		json_decref(ans);
	}
	*out = res;
	return 0;
fail:
	json_decref(res);
	return rc;
}

/* Does envelope env hold `value` in field `field` (emails: any of them)? */
static int env_has(enum obj o, const json_t *env, const char *field, const char *value)
{
	json_t *e;
	size_t i;
	char tmp[64];

	if (o == OBJ_CONTACT && !strncmp(field, "emails", 6)) {
		json_array_foreach(json_object_get(env, "emails"), i, e)
			if (jx_str(e, "value") && !strcasecmp(jx_str(e, "value"), value))
				return 1;
		return 0;
	}
	const char *s = jx_text(json_object_get(json_object_get(env, "fields"), field), tmp, sizeof(tmp));
	return s && !strcasecmp(s, value);
}

/* ---- match keys from one listing ----
 *
 * Pipedrive's search takes one term: an upsert of n records costs n
 * searches (20 tokens each, and 10 searches per 2 s) before its n writes.
 * A listing of the whole object costs one call (10 tokens) per 500
 * records, so where the CRM holds fewer records than the push looks up,
 * the keys of every record, read once into an index (value -> ids), take
 * the searches' place: hits are then read by id (<= 100 a call), misses
 * cost nothing.  How big the object is, Pipedrive does not say (§9: no
 * totals), so the listing is paid for as it goes: each find() of m values
 * lets it read m more pages (at most the calls, and half the tokens, of
 * m searches) and searches its own values while the listing is unfinished;
 * a listing that never finishes costs at most the searches again.
 * Records this connection writes are added from the write's answer, so
 * a later batch finds a record an earlier one created; a write whose
 * answer was lost turns the index off (cmd/push looks that record up
 * again: a search finds it, the index would not).  Emails, names and
 * titles only (exact, case-insensitive, as the search's exact_match). */
static const char *key_field(enum obj o, const char *field)
{
	if (o == OBJ_CONTACT && (!strncmp(field, "emails", 6) || !strcmp(field, "email")))
		return "emails";
	if (o == OBJ_ACCOUNT && !strcmp(field, "name"))
		return "name";
	if (o == OBJ_DEAL && !strcmp(field, "title"))
		return "title";
	return NULL;
}

static void key_put(json_t *map, const char *value, const char *id)
{
	char *k = jx_lower_dup(value);
	json_t *ids = json_object_get(map, k), *v;
	size_t i;

	if (!ids) {
		ids = json_array();
		json_object_set_new(map, k, ids);
	}
	free(k);
	json_array_foreach(ids, i, v)
		if (!strcmp(json_string_value(v), id))
			return;
	json_array_append_new(ids, json_string(id));
}

/* Adds a record (Pipedrive JSON) to o's index, if one is kept. */
static void key_add(struct conn *c, enum obj o, const json_t *raw)
{
	struct keyidx *x = &c->kidx[o];
	char tmp[64];
	const char *id = jx_text(json_object_get(raw, "id"), tmp, sizeof(tmp));
	json_t *e;
	size_t i;

	if ((x->state != KI_LISTING && x->state != KI_BUILT) || !id)
		return;
	if (!strcmp(x->field, "emails")) {
		json_array_foreach(json_object_get(raw, "emails"), i, e)
			if (jx_str(e, "value") && *jx_str(e, "value"))
				key_put(x->map, jx_str(e, "value"), id);
	} else if (jx_str(raw, x->field) && *jx_str(raw, x->field)) {
		key_put(x->map, jx_str(raw, x->field), id);
	}
}

/* Reads the listing on, within its budget.  0 (built or not yet), < 0. */
static int key_index(struct conn *c, enum obj o, const char *kf, size_t m, struct crm_err *err)
{
	struct keyidx *x = &c->kidx[o];
	int rc = 0;

	if (x->state == KI_NONE) {
		x->state = KI_LISTING;
		snprintf(x->field, sizeof(x->field), "%s", kf);
		x->map = json_object();
	}
	if (x->state != KI_LISTING || strcmp(x->field, kf))
		return 0;
	x->budget += (long)m;
	while (x->budget > 0) {
		struct buf path = BUF_INIT;
		json_t *ans = NULL, *r;
		size_t i;
		buf_addf(&path, "/api/v2/%s?limit=%d", v2_name(o), PAGE_LIMIT);
		if (x->cursor) {
			buf_adds(&path, "&cursor=");
			buf_add_urlenc(&path, x->cursor);
		}
		rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		buf_release(&path);
		if (rc < 0)
			return rc; /* the cursor stays: the next find() asks again */
		if (x->state != KI_LISTING) {
			json_decref(ans); /* turned off while this page was read */
			return 0;
		}
		x->budget--;
		json_array_foreach(json_object_get(ans, "data"), i, r)
			key_add(c, o, r);
		const char *n = jx_str(json_object_get(ans, "additional_data"), "next_cursor");
		free(x->cursor);
		x->cursor = n && *n ? strdup(n) : NULL;
		json_decref(ans);
		if (!x->cursor) {
			x->state = KI_BUILT;
			break;
		}
	}
	return 0;
}

/* find() from the index: the ids of every value's hits, read in full. */
static int key_find(struct conn *c, enum obj o, const char *field, const json_t *values, json_t **out,
		    struct crm_err *err)
{
	json_t *ids = json_array(), *seen = json_object(), *byid = NULL, *res = json_object(), *v, *id;
	int email = o == OBJ_CONTACT, rc;
	size_t i, j;

	json_array_foreach(values, i, v) {
		if (!json_string_value(v))
			continue;
		char *k = jx_lower_dup(json_string_value(v));
		json_array_foreach(json_object_get(c->kidx[o].map, k), j, id)
			if (!json_object_get(seen, json_string_value(id))) {
				json_object_set_new(seen, json_string_value(id), json_true());
				json_array_append(ids, id);
			}
		free(k);
	}
	rc = json_array_size(ids) ? pd_read(c, o, ids, &byid, err) : 0;
	if (rc == 0) {
		json_array_foreach(values, i, v) {
			const char *val = json_string_value(v), *k;
			json_t *env;
			if (!val || !byid)
				continue;
			char *key = email ? jx_lower_dup(val) : strdup(val);
			json_object_foreach(byid, k, env)
				if (env_has(o, env, field, val))
					find_put(res, key, env);
			free(key);
		}
	}
	json_decref(ids);
	json_decref(seen);
	json_decref(byid);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* Matches by search (§2.4): persons by email, organizations by name,
 * deals by title, any object by a custom field's value; one search call a
 * value (Pipedrive search takes one term), then the hits read in full.
 * Persons by first or last name: a contains-search of the name, then
 * exact.  *out maps each value (emails lowercased) to every match (find_put). */
static int pd_find(struct conn *c, enum obj o, const char *field, const json_t *values,
		   json_t **out, struct crm_err *err)
{
	const char *sf;
	json_t *ids = json_array(), *seen = json_object(), *byid = NULL, *res = json_object(), *v;
	size_t i;
	int rc = 0, email = 0, exact = 1;

	*out = NULL;
	if (o == OBJ_CONTACT && (!strncmp(field, "emails", 6) || !strcmp(field, "email")))
		sf = "email", email = 1;
	else if (o == OBJ_CONTACT && (!strcmp(field, "first_name") || !strcmp(field, "last_name")))
		sf = "name", exact = 0;
	else if ((o == OBJ_ACCOUNT && !strcmp(field, "name")) || (o == OBJ_DEAL && !strcmp(field, "title")))
		sf = o == OBJ_DEAL ? "title" : "name";
	else if (is_v2(o) && is_hash(field))
		sf = "custom_fields";
	else {
		rc = err_set(err, CRM_EUSAGE, "unsupported_match",
			     "Pipedrive can match %s only on %s or a custom field (its search has no '%s')",
			     obj_plural(o), o == OBJ_CONTACT ? "email, first_name, last_name" : o == OBJ_DEAL ? "name (title)" : "name",
			     field);
		goto done;
	}
	const char *kf = key_field(o, field);
	if (kf) {
		if ((rc = key_index(c, o, kf, json_array_size(values), err)) < 0)
			goto done;
		if (c->kidx[o].state == KI_BUILT && !strcmp(c->kidx[o].field, kf)) {
			json_decref(ids);
			json_decref(seen);
			json_decref(res);
			return key_find(c, o, field, values, out, err);
		}
	}
	json_array_foreach(values, i, v) {
		const char *term = json_string_value(v);
		for (char *cur = NULL;;) {
			struct buf path = BUF_INIT;
			json_t *ans = NULL, *it;
			size_t j;
			if (!term || !*term)
				break;
			buf_addf(&path, "/api/v2/%s/search?fields=%s&exact_match=%s&limit=100&term=", v2_name(o), sf,
				 exact ? "true" : "false");
			buf_add_urlenc(&path, term);
			if (cur) {
				buf_adds(&path, "&cursor=");
				buf_add_urlenc(&path, cur);
				free(cur);
				cur = NULL;
			}
			rc = call(c, "GET", path.buf, NULL, B_SEARCH, HTTP_IDEMPOTENT, &ans, err);
			buf_release(&path);
			if (rc < 0)
				goto done;
			json_array_foreach(json_object_get(json_object_get(ans, "data"), "items"), j, it) {
				char tmp[32];
				const char *id = jx_text(json_object_get(json_object_get(it, "item"), "id"), tmp, sizeof(tmp));
				if (id && !json_object_get(seen, id)) {
					json_object_set_new(seen, id, json_true());
					json_array_append_new(ids, json_string(id));
				}
			}
			const char *n = jx_str(json_object_get(ans, "additional_data"), "next_cursor");
			cur = n && *n ? strdup(n) : NULL;
			json_decref(ans);
			if (!cur)
				break;
		}
	}
	if ((rc = pd_read(c, o, ids, &byid, err)) < 0)
		goto done;
	json_array_foreach(values, i, v) {
		const char *val = json_string_value(v), *k;
		json_t *env;
		if (!val)
			continue;
		char *key = email ? jx_lower_dup(val) : strdup(val);
		json_object_foreach(byid, k, env)
			if (env_has(o, env, field, val))
				find_put(res, key, env);
		free(key);
	}
done:
	json_decref(ids);
	json_decref(seen);
	json_decref(byid);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* ---- writes (§2.4): one request a record ---- */

static int numeric(const char *s)
{
	char *end;
	if (!s || !*s)
		return 0;
	strtod(s, &end);
	return !*end;
}

static json_t *number_new(const char *s)
{
	char *end;
	long long i = strtoll(s, &end, 10);
	if (!*end)
		return json_integer(i);
	return json_real(strtod(s, NULL));
}

/* A value as Pipedrive takes it: ids and numbers as numbers, option
 * labels resolved to ids, "" as null.  NULL: leave the field out (an option
 * label this company does not have, say a HubSpot industry code). */
static json_t *coerce(struct conn *c, enum obj o, const char *k, json_t *v)
{
	static const char *const ints[] = { "owner_id", "org_id", "person_id", "organization_id", "stage_id",
					    "pipeline_id", "employee_count", NULL };
	const char *t = ftype(c, o, k), *s = json_string_value(v);

	if (!v || json_is_null(v) || (s && !*s))
		return json_null();
	if (o == OBJ_DEAL && !strcmp(k, "status") && s) {
		char *l = jx_lower_dup(s);
		json_t *r = json_string(l);
		free(l);
		return r;
	}
	if (s && (!strcmp(k, "visible_to") ? is_v2(o) : 0) && numeric(s))
		return number_new(s);
	for (int i = 0; ints[i]; i++)
		if (!strcmp(k, ints[i]) && s)
			return numeric(s) ? number_new(s) : opt_id(c, o, k, s) ? json_incref(opt_id(c, o, k, s)) : NULL;
	if (t && (!strcmp(t, "enum") || !strcmp(t, "stage") || !strcmp(t, "status")) && s && !numeric(s)) {
		json_t *id = opt_id(c, o, k, s);
		return id ? json_incref(id) : NULL;
	}
	if (t && s && numeric(s) && (!strcmp(t, "int") || !strcmp(t, "double") || !strcmp(t, "enum") ||
				     !strcmp(t, "org") || !strcmp(t, "user") || !strcmp(t, "people") ||
				     !strcmp(t, "stage") || (!strcmp(t, "monetary") && o == OBJ_DEAL)))
		return number_new(s);
	if (t && !strcmp(t, "set") && s) {
		json_t *a = json_array();
		char *copy = strdup(s), *save = NULL;
		for (char *x = strtok_r(copy, ",", &save); x; x = strtok_r(NULL, ",", &save))
			json_array_append_new(a, numeric(x) ? number_new(x) : json_string(x));
		free(copy);
		return a;
	}
	return json_deep_copy(v);
}

/* Puts value into obj's `sub`, creating obj from the current record's. */
static void set_nested(json_t *body, const json_t *current, const char *key, const char *sub, json_t *value)
{
	json_t *obj = json_object_get(body, key);
	if (!obj) {
		const char *k;
		json_t *v;
		obj = json_object();
		json_object_foreach(json_object_get(current, key), k, v)
			if (!json_is_null(v) && !json_is_object(v) && !json_is_array(v) && strcmp(k, "formatted_address"))
				json_object_set(obj, k, v);
		json_object_set_new(body, key, obj);
	}
	json_object_set_new(obj, sub, value);
}

/* Folds the email or phone slots back into Pipedrive's array, keeping the
 * entries no slot names (a second work email, say). */
static json_t *merge_slots(const json_t *fields, const json_t *current, int em)
{
	const char *pre = em ? "emails." : "phones.";
	json_t *arr = json_deep_copy(json_object_get(current, em ? "emails" : "phones"));
	static const char *const es[] = { "work", "home", "other", NULL };
	static const char *const ps[] = { "work", "mobile", "home", "other", NULL };
	const char *const *slots = em ? es : ps;
	json_t *e, *pv;
	size_t i;

	if (!json_is_array(arr)) {
		json_decref(arr);
		arr = json_array();
	}
	if (em && (pv = json_object_get(fields, "emails.primary"))) {
		const char *val = json_string_value(pv);
		size_t at = (size_t)-1;
		json_array_foreach(arr, i, e)
			if (json_is_true(json_object_get(e, "primary")))
				at = i;
		if (val && *val) {
			/* The new primary may be one of the others already: drop that twin. */
			for (i = json_array_size(arr); i-- > 0;)
				if (i != at && jx_str(json_array_get(arr, i), "value") &&
				    !strcasecmp(jx_str(json_array_get(arr, i), "value"), val)) {
					json_array_remove(arr, i);
					if (at != (size_t)-1 && i < at)
						at--;
				}
			if (at != (size_t)-1)
				json_object_set_new(json_array_get(arr, at), "value", json_string(val));
			else
				json_array_insert_new(arr, 0, json_pack("{s:s,s:b,s:s}", "value", val, "primary", 1, "label", "work"));
		} else if (at != (size_t)-1) {
			json_array_remove(arr, at);
		}
	}
	for (int k = 0; slots[k]; k++) {
		char name[32];
		snprintf(name, sizeof(name), "%s%s", pre, slots[k]);
		json_t *sv = json_object_get(fields, name);
		if (!sv)
			continue;
		const char *val = json_string_value(sv);
		size_t at = (size_t)-1;
		json_array_foreach(arr, i, e) {
			const char *l = jx_str(e, "label");
			if (em && json_is_true(json_object_get(e, "primary")))
				continue;
			if (!strcmp(em ? email_slot(l) : phone_slot(l), slots[k])) {
				at = i;
				break;
			}
		}
		if (val && *val) {
			int dup = 0;
			json_array_foreach(arr, i, e)
				dup |= i != at && jx_str(e, "value") && !strcasecmp(jx_str(e, "value"), val);
			if (dup)
				continue;
			if (at != (size_t)-1)
				json_object_set_new(json_array_get(arr, at), "value", json_string(val));
			else
				json_array_append_new(arr, json_pack("{s:s,s:b,s:s}", "value", val, "primary", 0, "label", slots[k]));
		} else if (at != (size_t)-1) {
			json_array_remove(arr, at);
		}
	}
	/* Phones: the first stays primary when none is (§2.4 only value is required). */
	int any = 0;
	json_array_foreach(arr, i, e)
		any |= json_is_true(json_object_get(e, "primary"));
	if (!any && json_array_size(arr))
		json_object_set_new(json_array_get(arr, 0), "primary", json_true());
	return arr;
}

/* The request body for a create (current NULL) or an update. */
/* A lead's status label goes first in label_ids; its other labels stay
 * (label_ids is replaced whole).  null (--clear-nulls): no labels. */
static void lead_labels_put(json_t *body, const json_t *current, const json_t *id)
{
	const json_t *base = json_object_get(body, "label_ids") ? json_object_get(body, "label_ids")
			   : json_object_get(current, "label_ids");
	json_t *ids = json_array(), *x;
	size_t i;

	if (json_is_string(id))
		json_array_append(ids, (json_t *)id);
	json_array_foreach(base, i, x)
		if (json_is_string(x) && json_is_string(id) && !json_equal(x, id))
			json_array_append(ids, x);
	json_object_set_new(body, "label_ids", ids);
}

static json_t *build_body(struct conn *c, enum obj o, const json_t *fields, const json_t *current)
{
	json_t *body = json_object(), *custom = json_object(), *v;
	const char *k;
	int em = 0, ph = 0;

	json_object_foreach((json_t *)fields, k, v) {
		const char *dot = strchr(k, '.');
		const char *hash = is_hash(k) ? k : jx_str(c->human[o], k);
		if (o == OBJ_LEAD && !strcmp(k, "label_id")) {
			continue;  /* below, once label_ids is known */
		} else if (o == OBJ_CONTACT && !strncmp(k, "emails.", 7)) {
			em = 1;
		} else if (o == OBJ_CONTACT && !strncmp(k, "phones.", 7)) {
			ph = 1;
		} else if (hash) {
			/* v2 wants custom fields under custom_fields; v1 leads at the top. */
			json_t *x = coerce(c, o, hash, v);
			if (x)
				json_object_set_new(is_v2(o) ? custom : body, hash, x);
		} else if (dot) {
			char *key = strndup(k, (size_t)(dot - k));
			json_t *x = coerce(c, o, k, v);
			if (x)
				set_nested(body, current, key, dot + 1, x);
			free(key);
		} else {
			json_t *x = coerce(c, o, k, v);
			if (x)
				json_object_set_new(body, k, x);
		}
	}
	if (o == OBJ_LEAD && json_object_get(fields, "label_id"))
		lead_labels_put(body, current, json_object_get(fields, "label_id"));
	if (em)
		json_object_set_new(body, "emails", merge_slots(fields, current, 1));
	if (ph)
		json_object_set_new(body, "phones", merge_slots(fields, current, 0));
	if (json_object_size(custom))
		json_object_set(body, "custom_fields", custom);
	json_decref(custom);
	/* An address needs its one-line value (§2.2): compose it from the parts. */
	static const char *const addr[] = { "address", "postal_address", NULL };
	for (int i = 0; addr[i]; i++) {
		json_t *a = json_object_get(body, addr[i]);
		if (!json_is_object(a) || jx_str(a, "value"))
			continue;
		struct buf b = BUF_INIT;
		static const char *const parts[] = { "route", "postal_code", "locality", "admin_area_level_1", "country", NULL };
		for (int j = 0; parts[j]; j++) {
			const char *s = jx_str(a, parts[j]);
			if (s && *s)
				buf_addf(&b, "%s%s", b.len ? ", " : "", s);
		}
		json_object_set_new(a, "value", b.len ? json_string(b.buf) : json_null());
		buf_release(&b);
	}
	if (o == OBJ_CONTACT && !current && !jx_str(body, "name")) {
		/* §2.4: name is required; first + last, else the email. */
		const char *f = jx_str(body, "first_name"), *l = jx_str(body, "last_name");
		struct buf b = BUF_INIT;
		buf_addf(&b, "%s%s%s", f ? f : "", f && l ? " " : "", l ? l : "");
		if (!b.len && jx_str(fields, "emails.primary"))
			buf_adds(&b, jx_str(fields, "emails.primary"));
		if (b.len)
			json_object_set_new(body, "name", json_string(b.buf));
		buf_release(&b);
	}
	return body;
}

static const char *write_path(enum obj o, const char *id, struct buf *path)
{
	if (o == OBJ_LEAD)
		buf_adds(path, "/api/v1/leads");
	else
		buf_addf(path, "/api/v2/%s", v2_name(o));
	if (id) {
		buf_addc(path, '/');
		id_path_add(path, id);
	}
	return path->buf;
}

/* Does the update need the current record (arrays and objects are
 * replaced whole, so their other parts must be sent again)? */
static int needs_current(const json_t *fields)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)fields, k, v)
		if (strchr(k, '.') || !strcmp(k, "label_id"))
			return 1;
	return 0;
}


static int write_one(struct conn *c, enum obj o, enum write_op op, struct write_item *w, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *body = NULL, *ans = NULL, *cur = NULL;
	int rc = 0;

	if (op == WR_DELETE) {
		rc = call(c, "DELETE", write_path(o, w->remote_id, &path), NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		if (rc == 0)
			item_set_id(w, w->remote_id);
		goto done;
	}
	if (op == WR_UPDATE && needs_current(w->fields)) {
		rc = call(c, "GET", write_path(o, w->remote_id, &path), NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		if (rc < 0)
			goto done;
		cur = json_incref(json_object_get(ans, "data"));
		json_decref(ans);
		ans = NULL;
		buf_reset(&path);
	}
	body = build_body(c, o, w->fields, cur);
	if (op == WR_UPDATE && !json_object_size(body)) {
		item_set_id(w, w->remote_id);
		goto done;
	}
	rc = call(c, op == WR_UPDATE ? "PATCH" : "POST", write_path(o, op == WR_UPDATE ? w->remote_id : NULL, &path),
		  body, B_MAIN, op == WR_UPDATE ? HTTP_IDEMPOTENT : 0, &ans, err);
	if (rc == 0) {
		char tmp[64];
		const char *id = jx_text(json_object_get(json_object_get(ans, "data"), "id"), tmp, sizeof(tmp));
		if (!id) {
			rc = err_set(err, CRM_ERECORD, "no_result", "Pipedrive's answer did not name the record");
			goto done;
		}
		item_set_id(w, id);
		w->created = op != WR_UPDATE;
		key_add(c, o, json_object_get(ans, "data"));
	}
done:
	json_decref(ans);
	json_decref(cur);
	json_decref(body);
	buf_release(&path);
	return rc;
}

static int fatal(int s)
{
	return s == CRM_EAUTH || s == CRM_ETEMP || s == CRM_EUNAVAIL || s == CRM_EINTR || s == CRM_ECONFIG;
}

static int pd_write(struct conn *c, enum obj o, enum write_op op, struct write_item *items,
		    size_t n, struct crm_err *err)
{
	int rc;

	if ((rc = load_fields(c, o, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct crm_err e = CRM_ERR_INIT;
		if ((rc = budget_check(c, &e)) == 0)
			rc = write_one(c, o, op, &items[i], &e);
		if (rc == 0)
			continue;
		if (rc == CRM_EAMBIG) {
			/* The answer was lost: cmd/push looks it up again by its match
			 * key, and sends it again only if it is not there. */
			items[i].err = e;
			items[i].err.status = CRM_EAMBIG;
			c->kidx[o].state = KI_OFF; /* a search finds it, the index would not */
			continue;
		}
		if (fatal(rc)) {
			/* Nothing written yet: the whole call failed.  Else the records
			 * before keep their outcome and the rest fail with the cause. */
			if (i == 0) {
				*err = e;
				return rc;
			}
			for (size_t j = i; j < n; j++)
				items[j].err = e;
			return 0;
		}
		items[i].err = e;
		items[i].err.status = CRM_ERECORD;
		if (rc == CRM_ENOTFOUND)
			snprintf(items[i].err.code, sizeof(items[i].err.code), "not_found");
	}
	return 0;
}

/* ---- status (§8) ---- */

static int pd_status(struct conn *c, json_t *out, struct crm_err *err)
{
	json_t *ans = NULL, *d, *rl = json_object();
	char tmp[32];
	int rc;

	if ((rc = call(c, "GET", "/api/v1/users/me", NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err)) < 0) {
		json_decref(rl);
		return rc;
	}
	d = json_object_get(ans, "data");
	const char *id = jx_text(json_object_get(d, "company_id"), tmp, sizeof(tmp));
	snprintf(c->company, sizeof(c->company), "%s", id ? id : "");
	pthread_mutex_lock(&c->bmu);
	if (c->burst_max > 0) {
		json_object_set_new(rl, "max", json_integer(c->burst_max));
		json_object_set_new(rl, "remaining", json_integer(c->burst_left));
		json_object_set_new(rl, "interval_ms", json_integer(2000));
	}
	if (c->daily_limit > 0) {
		json_object_set_new(rl, "daily_tokens", json_integer(c->daily_limit));
		json_object_set_new(rl, "daily_tokens_remaining", json_integer(c->daily_left));
	}
	pthread_mutex_unlock(&c->bmu);
	json_object_set_new(out, "namespace", json_string(c->company));
	json_object_set_new(out, "rate_limit", rl);
	json_object_set(out, "company_name", json_object_get(d, "company_name") ? json_object_get(d, "company_name") : json_null());
	json_object_set(out, "company_domain", json_object_get(d, "company_domain") ? json_object_get(d, "company_domain") : json_null());
	json_object_set(out, "user_email", json_object_get(d, "email") ? json_object_get(d, "email") : json_null());
	json_object_set_new(out, "auth", json_string(c->api_token ? "api_token" : "oauth"));
	json_decref(ans);
	return 0;
}

/* ---- lists = person labels (§7) ---- */

/* LIST is a label id, a label name, or "filter:ID" (a saved filter). */
static int pd_lists_resolve(struct conn *c, const char *list, json_t **label, char *filter, size_t fn,
			    struct crm_err *err)
{
	json_t *op;
	size_t i;
	int rc;

	*label = NULL;
	filter[0] = '\0';
	if (!strncmp(list, "filter:", 7) && numeric(list + 7) && strspn(list + 7, "0123456789") == strlen(list + 7)) {
		snprintf(filter, fn, "%s", list + 7);
		return 0;
	}
	if ((rc = load_fields(c, OBJ_CONTACT, err)) < 0)
		return rc;
	json_array_foreach(json_object_get(c->fopts[OBJ_CONTACT], "label_ids"), i, op) {
		char tmp[32];
		const char *id = jx_text(json_object_get(op, "value"), tmp, sizeof(tmp)), *name = jx_str(op, "label");
		if ((id && !strcmp(id, list)) || (name && !strcasecmp(name, list))) {
			*label = json_integer(json_integer_value(json_object_get(op, "value")));
			return 0;
		}
	}
	return err_set(err, CRM_EUSAGE, "no_such_list",
		       "Pipedrive has no person label %s (see: crmsync -p pipedrive lists)", list);
}

static int pd_lists(struct conn *c, json_t **out, struct crm_err *err)
{
	json_t *res = json_array(), *op, *ans = NULL, *f;
	size_t i;
	int rc;

	if ((rc = load_fields(c, OBJ_CONTACT, err)) < 0)
		goto fail;
	json_array_foreach(json_object_get(c->fopts[OBJ_CONTACT], "label_ids"), i, op) {
		char tmp[32];
		const char *id = jx_text(json_object_get(op, "value"), tmp, sizeof(tmp));
		/* Counting a label's persons would read every person: size unknown. */
		json_array_append_new(res, json_pack("{s:s,s:s?,s:O?,s:n,s:b,s:{s:s}}", "object", "list",
			"remote_id", id, "name", json_object_get(op, "label"), "size", "dynamic", 0,
			"remote_fields", "kind", "person_label"));
	}
	/* Saved person filters: the dynamic kind (read-only membership). */
	if ((rc = call(c, "GET", "/api/v1/filters?type=people", NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err)) < 0)
		goto fail;
	json_array_foreach(json_object_get(ans, "data"), i, f) {
		char tmp[32];
		struct buf id = BUF_INIT;
		const char *fid = jx_text(json_object_get(f, "id"), tmp, sizeof(tmp));
		if (!fid)
			continue;
		buf_addf(&id, "filter:%s", fid);
		json_array_append_new(res, json_pack("{s:s,s:s,s:O?,s:n,s:b,s:{s:s}}", "object", "list",
			"remote_id", id.buf, "name", json_object_get(f, "name"), "size", "dynamic", 1,
			"remote_fields", "kind", "saved_filter"));
		buf_release(&id);
	}
	json_decref(ans);
	*out = res;
	return 0;
fail:
	json_decref(res);
	return rc;
}

/* Labels have no membership API: each person's label_ids is read, changed
 * and written back whole (§7), so this is not atomic: a label change made
 * by someone else between the read and the write is lost. */
static int pd_list_write(struct conn *c, const char *list, int add, struct write_item *items,
			 size_t n, struct crm_err *err)
{
	json_t *label = NULL;
	char filter[32];
	int rc;

	if ((rc = pd_lists_resolve(c, list, &label, filter, sizeof(filter), err)) < 0)
		return rc;
	if (filter[0])
		return err_set(err, CRM_EUSAGE, "dynamic_list",
			       "%s is a saved filter: its members come from its conditions; only person labels can be changed",
			       list);
	for (size_t i = 0; i < n; i++) {
		struct write_item *w = &items[i];
		struct buf path = BUF_INIT;
		struct crm_err e = CRM_ERR_INIT;
		json_t *ans = NULL, *ids, *l, *body;
		size_t j, at = (size_t)-1;

		item_set_id(w, w->remote_id);
		if (strspn(w->remote_id, "0123456789") != strlen(w->remote_id)) {
			err_set(&w->err, CRM_ERECORD, "not_found", "Pipedrive has no person %s", w->remote_id);
			continue;
		}
		buf_adds(&path, "/api/v2/persons/");
		id_path_add(&path, w->remote_id);
		if ((rc = budget_check(c, &e)) == 0)
			rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, &e);
		if (rc == 0) {
			ids = json_deep_copy(json_object_get(json_object_get(ans, "data"), "label_ids"));
			if (!json_is_array(ids)) {
				json_decref(ids);
				ids = json_array();
			}
			json_array_foreach(ids, j, l)
				if (json_integer_value(l) == json_integer_value(label))
					at = j;
			if ((add && at == (size_t)-1) || (!add && at != (size_t)-1)) {
				if (add)
					json_array_append(ids, label);
				else
					json_array_remove(ids, at);
				body = json_pack("{s:o}", "label_ids", ids);
				rc = call(c, "PATCH", path.buf, body, B_MAIN, HTTP_IDEMPOTENT, NULL, &e);
				json_decref(body);
				w->created = rc == 0; /* changed */
			} else {
				json_decref(ids);
			}
		}
		json_decref(ans);
		buf_release(&path);
		if (rc == CRM_ENOTFOUND) {
			err_set(&w->err, CRM_ERECORD, "not_found", "Pipedrive has no person %s (or it is deleted)", w->remote_id);
			w->err.http_status = 404;
		} else if (rc < 0 && fatal(rc) && i == 0) {
			*err = e;
			json_decref(label);
			return rc;
		} else if (rc < 0) {
			w->err = e;
			w->err.status = CRM_ERECORD;
		}
	}
	json_decref(label);
	return 0;
}

static const char *const pd_env[] = {
	"PIPEDRIVE_API_TOKEN", "PIPEDRIVE_ACCESS_TOKEN", "PIPEDRIVE_CLIENT_ID", "PIPEDRIVE_CLIENT_SECRET",
	"PIPEDRIVE_REFRESH_TOKEN", "PIPEDRIVE_COMPANY_DOMAIN", NULL
};

/* The readers for the fuzz targets (provider.h: read_error, read_record). */
static json_t *read_record(enum obj o, json_t *raw)
{
	struct conn cc;
	memset(&cc, 0, sizeof(cc));
	return envelope(&cc, o, raw, NULL);
}

const struct provider provider_pipedrive = {
	.name = "pipedrive",
	.read_error = fill_error, .read_record = read_record,
	.listed = 3,
	.env_vars = pd_env,
	/* §2.3: updated_since is second-granular and inclusive; a short
	 * look-back covers clock skew between Pipedrive's servers. */
	.lookback_s = 10,
	/* No batch endpoints: a "batch" is this many single calls in one worker.
	 * 25 keeps the lookup reads (100 ids a call) few per record. */
	.batch_max = 25,
	/* The burst limit (20 to 120 calls per 2 s) is the ceiling; 4 workers
	 * hide ~100 ms latency and lib/http paces them together under it. */
	.concurrency = 4,
	.find_one_batch = 1,  /* one search per record, 10 per 2 s (§rate limits) */
	.obj = { [OBJ_ACCOUNT] = &o_account, [OBJ_CONTACT] = &o_contact, [OBJ_USER] = &o_user,
		 [OBJ_LEAD] = &o_lead, [OBJ_DEAL] = &o_deal },
	.deleted_note = "persons and organizations deleted in the last 30 days (from /v1/recents), deals "
			"deleted in the last 30 days and archived deals, archived leads, deleted users; "
			"Pipedrive purges deleted records after 30 days, and deleted leads and merged-away "
			"records are not reported at all",
	.has_lists = 1,
	/* Ids: integers, leads UUIDs (pipedrive.md §1); a list is a label id or name, or filter:ID. */
	.id_syntax = ID_DIGITS,
	.list_id_syntax = ID_NAME,
	.open = pd_open,
	.close = pd_close,
	.namespace = pd_namespace,
	.status = pd_status,
	.fields = pd_fields,
	.where_can = pd_where_can,
	.where_max = 15, /* 16 conditions a filter, one kept for the time (§16) */
	.pull_open = pd_pull_open,
	.pull_next = pd_pull_next,
	.pull_close = pd_pull_close,
	.pull_total = pd_pull_total,
	.pull_fixup = pd_fixup,
	.find = pd_find,
	.read = pd_read,
	.write = pd_write,
	.lists = pd_lists,
	.list_write = pd_list_write,
};
