/* Salesforce: REST API (SOQL query/queryAll, sObject Collections, describe,
 * limits), OAuth refresh, Bulk API 2.0 query and ingest jobs (CSV).
 * Wire facts: ../shared/api/salesforce.md (section numbers below refer to it). */
#include <csv.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>

#include "auth.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "jx.h"
#include "provider.h"
#include "timeutil.h"
#include "pager.h"
#include "banned.h"

#define SF_LOGIN "https://login.salesforce.com"
#define SF_VERSION "62.0"       /* §: any v6x.0 works; v62.0 = Winter '25 */
#define B_MAIN 0
#define SELECT_MAX 6000         /* characters of one SELECT list (split_select) */
#define B_POLL 1                /* Bulk job status polls: classify makes lib/ wait */
#define COLL_MAX 200            /* §6: sObject Collections take <= 200 records */
#define RETRIEVE_MAX 2000       /* §3: POST /composite/sobjects/{T} takes <= 2,000 ids */
#define BATCH_MAX 2000          /* records per write call: one Bulk job, or 10 collections */
#define QUERY_WINDOW 50000      /* rows per keyset window (a fresh query, see rest_page) */
#define IN_BYTES 6000           /* IN (...) values per query: URL + headers stay < 16 KB (§3) */
#define BULK_THRESHOLD 50000    /* records from which pull and push use Bulk API 2.0 */
#define BULK_PAGE 2000          /* maxRecords per Bulk result page: bounds memory */
#define BULK_WAIT_MS (4LL * 3600 * 1000) /* longest wait for one Bulk job */

/* ---- the tables: unified <-> Salesforce fields (§2) ---- */

/* "@domain" is derived from Website on pull (Salesforce has no domain field)
 * and never written; push matches accounts on it (find). */
static const struct map_entry account_map[] = {
	{ "name", "Name", MK_STR, NULL, NULL, 0 },
	{ "description", "Description", MK_STR, NULL, NULL, 0 },
	{ "industry", "Industry", MK_STR, NULL, NULL, MF_OPTION },
	{ "website", "Website", MK_STR, NULL, NULL, 0 },
	{ "domain", "@domain", MK_STR, NULL, NULL, MF_RO },
	{ "number_of_employees", "NumberOfEmployees", MK_INT, NULL, NULL, 0 },
	{ "phone_numbers", "Phone", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "Fax", MK_PHONE, "FAX", NULL, 0 },
	{ "addresses", "BillingStreet", MK_ADDR, "BILLING", "street_1", 0 },
	{ "addresses", "BillingCity", MK_ADDR, "BILLING", "city", 0 },
	{ "addresses", "BillingState", MK_ADDR, "BILLING", "state", 0 },
	{ "addresses", "BillingPostalCode", MK_ADDR, "BILLING", "postal_code", 0 },
	{ "addresses", "BillingCountry", MK_ADDR, "BILLING", "country", 0 },
	{ "addresses", "ShippingStreet", MK_ADDR, "SHIPPING", "street_1", 0 },
	{ "addresses", "ShippingCity", MK_ADDR, "SHIPPING", "city", 0 },
	{ "addresses", "ShippingState", MK_ADDR, "SHIPPING", "state", 0 },
	{ "addresses", "ShippingPostalCode", MK_ADDR, "SHIPPING", "postal_code", 0 },
	{ "addresses", "ShippingCountry", MK_ADDR, "SHIPPING", "country", 0 },
	{ "owner", "OwnerId", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "LastActivityDate", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct map_entry contact_map[] = {
	{ "first_name", "FirstName", MK_STR, NULL, NULL, 0 },
	{ "last_name", "LastName", MK_STR, NULL, NULL, 0 },
	{ "title", "Title", MK_STR, NULL, NULL, 0 },
	{ "email_addresses", "Email", MK_EMAIL, NULL, NULL, MF_PRIMARY },
	{ "phone_numbers", "Phone", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "MobilePhone", MK_PHONE, "MOBILE", NULL, 0 },
	{ "phone_numbers", "HomePhone", MK_PHONE, "HOME", NULL, 0 },
	{ "phone_numbers", "OtherPhone", MK_PHONE, "OTHER", NULL, 0 },
	{ "phone_numbers", "Fax", MK_PHONE, "FAX", NULL, 0 },
	{ "addresses", "MailingStreet", MK_ADDR, "MAILING", "street_1", 0 },
	{ "addresses", "MailingCity", MK_ADDR, "MAILING", "city", 0 },
	{ "addresses", "MailingState", MK_ADDR, "MAILING", "state", 0 },
	{ "addresses", "MailingPostalCode", MK_ADDR, "MAILING", "postal_code", 0 },
	{ "addresses", "MailingCountry", MK_ADDR, "MAILING", "country", 0 },
	{ "addresses", "OtherStreet", MK_ADDR, "OTHER", "street_1", 0 },
	{ "addresses", "OtherCity", MK_ADDR, "OTHER", "city", 0 },
	{ "addresses", "OtherState", MK_ADDR, "OTHER", "state", 0 },
	{ "addresses", "OtherPostalCode", MK_ADDR, "OTHER", "postal_code", 0 },
	{ "addresses", "OtherCountry", MK_ADDR, "OTHER", "country", 0 },
	{ "account", "AccountId", MK_REL, NULL, NULL, 0 },
	{ "owner", "OwnerId", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "LastActivityDate", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct map_entry user_map[] = {
	{ "name", "Name", MK_STR, NULL, NULL, MF_RO },
	{ "first_name", "FirstName", MK_STR, NULL, NULL, MF_RO },
	{ "last_name", "LastName", MK_STR, NULL, NULL, MF_RO },
	{ "email", "Email", MK_STR, NULL, NULL, MF_RO },
	{ "is_active", "IsActive", MK_BOOL, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* Conversion fields are read-only: set by Salesforce's lead conversion (§2). */
static const struct map_entry lead_map[] = {
	{ "first_name", "FirstName", MK_STR, NULL, NULL, 0 },
	{ "last_name", "LastName", MK_STR, NULL, NULL, 0 },
	{ "title", "Title", MK_STR, NULL, NULL, 0 },
	{ "company", "Company", MK_STR, NULL, NULL, 0 },
	{ "email_addresses", "Email", MK_EMAIL, NULL, NULL, MF_PRIMARY },
	{ "phone_numbers", "Phone", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "MobilePhone", MK_PHONE, "MOBILE", NULL, 0 },
	{ "phone_numbers", "Fax", MK_PHONE, "FAX", NULL, 0 },
	{ "addresses", "Street", MK_ADDR, NULL, "street_1", 0 },
	{ "addresses", "City", MK_ADDR, NULL, "city", 0 },
	{ "addresses", "State", MK_ADDR, NULL, "state", 0 },
	{ "addresses", "PostalCode", MK_ADDR, NULL, "postal_code", 0 },
	{ "addresses", "Country", MK_ADDR, NULL, "country", 0 },
	{ "status", "Status", MK_STR, NULL, NULL, MF_OPTION },
	{ "source", "LeadSource", MK_STR, NULL, NULL, MF_OPTION },
	{ "owner", "OwnerId", MK_REL, NULL, NULL, 0 },
	{ "converted_at", "ConvertedDate", MK_TIME, NULL, NULL, MF_RO },
	{ "converted_contact", "ConvertedContactId", MK_REL, NULL, NULL, MF_RO },
	{ "converted_account", "ConvertedAccountId", MK_REL, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* Option fields (picklists, §15) travel as labels through lib/options.
 * StageName is the deal stage: Salesforce has one stage list (sales
 * processes aside), so no pipeline; a stage's status comes from its
 * OpportunityStage record (sf_fields).  probability is the deal's own
 * Probability, already 0..100: the stage's DefaultProbability is only where
 * it starts, so it is not a stage fact (it would hide a changed value and
 * make a pulled deal pushed back look changed).  CurrencyIsoCode exists
 * only in multi-currency orgs and is dropped from writes elsewhere (§2). */
static const struct map_entry deal_map[] = {
	{ "name", "Name", MK_STR, NULL, NULL, 0 },
	{ "description", "Description", MK_STR, NULL, NULL, 0 },
	{ "amount", "Amount", MK_NUM, NULL, NULL, 0 },
	{ "currency", "CurrencyIsoCode", MK_STR, NULL, NULL, 0 },
	{ "stage", "StageName", MK_STR, NULL, NULL, MF_STAGE },
	{ "probability", "Probability", MK_NUM, NULL, NULL, 0 },
	{ "close_date", "CloseDate", MK_DATE, NULL, NULL, 0 },
	{ "account", "AccountId", MK_REL, NULL, NULL, 0 },
	{ "owner", "OwnerId", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "LastActivityDate", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* No OC_UPSERT: the default match keys (Email, domain, Name) are not
 * external ids, so a create cannot upsert on them (§6). */
/* Required on create (the emulator's and Salesforce's nillable = false). */
static const struct prov_required account_required[] = { { "Name", "name", NULL }, { NULL, NULL, NULL } };
static const struct prov_required contact_required[] = { { "LastName", "last_name", NULL }, { NULL, NULL, NULL } };
static const struct prov_required lead_required[] = {
	{ "LastName", "last_name", NULL }, { "Company", "company", NULL }, { NULL, NULL, NULL }
};
static const struct prov_required deal_required[] = {
	{ "Name", "name", NULL }, { "StageName", "stage", NULL }, { "CloseDate", "close_date", NULL }, { NULL, NULL, NULL }
};
static const struct prov_object o_account = { "Account", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, account_map, "domain", .match_fallback = "name",
					       .required = account_required };
static const struct prov_object o_contact = { "Contact", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, contact_map, "email", .required = contact_required };
static const struct prov_object o_user = { "User", OC_PULL | OC_DELETED, user_map, "email" };
static const struct prov_object o_lead = { "Lead", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, lead_map, "email", .required = lead_required };
static const struct prov_object o_deal = { "Opportunity", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, deal_map, NULL, .required = deal_required };

static const struct map_entry *const maps[OBJ_COUNT] = {
	[OBJ_ACCOUNT] = account_map, [OBJ_CONTACT] = contact_map, [OBJ_USER] = user_map,
	[OBJ_LEAD] = lead_map, [OBJ_DEAL] = deal_map,
};

static const char *const sobject[OBJ_COUNT] = {
	[OBJ_ACCOUNT] = "Account", [OBJ_CONTACT] = "Contact", [OBJ_USER] = "User",
	[OBJ_LEAD] = "Lead", [OBJ_DEAL] = "Opportunity",
};

/* ---- connection ---- */

struct conn {
	struct http *http;
	pthread_mutex_t mu;         /* guards base and desc (a refresh may move the instance) */
	char base[512];             /* instance URL */
	char login[512];            /* login host for the token endpoint */
	char api[32];               /* "/services/data/v62.0" */
	struct auth auth;           /* the token and the refresh credentials */
	char org[32];               /* 18-character org id (remote_namespace) */
	json_t *desc[OBJ_COUNT];    /* describe fields, by name */
	json_t *order[OBJ_COUNT];   /* describe field names in describe order */
	json_t *stages;             /* OpportunityStage ApiName -> "OPEN"|"WON"|"LOST" (guarded by mu) */
	long bulk_threshold;
	long reserve;               /* daily calls left to others; -1 = 5 % of the max */
	long window;
	long select_max;        /* characters of one SELECT list (split_select) */
	long api_used, api_max;     /* from Sforce-Limit-Info; -1 = not seen yet */
};

static int sf_refresh(void *ctx, struct crm_err *err);

#define NO_CREDENTIALS "no Salesforce credentials: set SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL, or " \
		       "SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and SALESFORCE_REFRESH_TOKEN"

/* ---- ids (§2): 15 case-sensitive characters + a 3-character checksum ---- */

static int is_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n != 15 && n != 18)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return 1;
}

/* The 18-character form of an id (what Salesforce returns), so ids given in
 * either form compare equal; "" for what is no id, never its first 18
 * characters (Salesforce would take "<id>/" for <id>).  out must hold 19
 * bytes. */
static const char *id18(const char *in, char *out)
{
	static const char ck[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

	if (!is_id(in)) {
		out[0] = '\0';
		return out;
	}
	memcpy(out, in, 15);
	for (int i = 0; i < 3; i++) {
		int bits = 0;
		for (int j = 0; j < 5; j++)
			if (in[i * 5 + j] >= 'A' && in[i * 5 + j] <= 'Z')
				bits |= 1 << j;
		out[15 + i] = ck[bits];
	}
	out[18] = '\0';
	return out;
}

/* ---- HTTP ---- */

static void url_of(struct conn *c, const char *path, struct buf *url)
{
	if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8)) {
		buf_adds(url, path);
		return;
	}
	pthread_mutex_lock(&c->mu);
	buf_adds(url, c->base);
	pthread_mutex_unlock(&c->mu);
	buf_adds(url, path);
}

static json_t *parse_body(const struct http_resp *r)
{
	char why[160];
	return r->body.len ? jx_parse(r->body.buf, r->body.len, 0, why, sizeof(why)) : NULL;
}

/* §11: errors are a JSON array of {message, errorCode, fields}; OAuth
 * endpoints answer {error, error_description}. */
static void fill_error(const json_t *body, struct crm_err *e)
{
	const json_t *first = json_is_array(body) ? json_array_get(body, 0) : body;
	const char *code = jx_str(first, "errorCode"), *msg = jx_str(first, "message");

	if (!code)
		code = jx_str(first, "statusCode");
	if (!code && jx_str(first, "error")) {
		code = jx_str(first, "error");
		msg = jx_str(first, "error_description");
	}
	if (code)
		snprintf(e->code, sizeof(e->code), "%s", code);
	if (msg) {
		/* SOQL errors start with the query echoed over several lines: keep the last. */
		const char *nl = strrchr(msg, '\n');
		snprintf(e->message, sizeof(e->message), "Salesforce: %s", nl && nl[1] ? nl + 1 : msg);
	}
	json_t *f = json_array_get(json_object_get(first, "fields"), 0);
	if (json_is_string(f))
		snprintf(e->field, sizeof(e->field), "%s", json_string_value(f));
}

static int budget_low(const struct conn *c, long *keep)
{
	long k = c->reserve >= 0 ? c->reserve : c->api_max / 20;
	*keep = k;
	return c->api_max > 0 && c->api_used >= 0 && c->api_max - c->api_used <= k;
}

static int sf_auth(void *ctx, struct curl_slist **h, struct crm_err *err)
{
	struct conn *c = ctx;
	long keep;
	int rc;

	/* §10, DESIGN hard part 3: stop before the org's daily budget is gone
	 * for everyone else who uses it (runs under lib/http's lock). */
	if (budget_low(c, &keep) && c->api_used >= c->api_max)
		return err_set(err, CRM_ETEMP, "daily_limit",
			       "Salesforce's daily API budget is spent: %ld of %ld calls used in the rolling 24 hours",
			       c->api_used, c->api_max);
	if (budget_low(c, &keep))
		return err_set(err, CRM_ETEMP, "daily_limit",
			       "Salesforce's daily API budget is nearly spent: %ld of %ld calls left in the rolling 24 hours; "
			       "crmsync leaves the last %ld to the org's other users (SALESFORCE_API_RESERVE)",
			       c->api_max - c->api_used, c->api_max, keep);
	if (!c->auth.token && (rc = sf_refresh(c, err)) < 0)
		return rc;
	return auth_header(h, "Authorization", "Bearer ", c->auth.token, err);
}

static void sf_classify(void *ctx, const struct http_req *req, const struct http_resp *resp,
			struct http_verdict *v, struct crm_err *err)
{
	struct conn *c = ctx;
	json_t *body;
	const char *code, *msg;

	if (resp->status >= 200 && resp->status < 300) {
		if (req->bucket != B_POLL)
			return;
		/* A Bulk job still running: lib/ waits and asks again (the provider never sleeps). */
		body = parse_body(resp);
		const char *state = jx_str(body, "state");
		if (state && (!strcmp(state, "UploadComplete") || !strcmp(state, "InProgress"))) {
			v->action = HA_POLL; /* not a retry: the job is fine, just not done */
			v->wait_ms = 2000;
		}
		json_decref(body);
		return;
	}
	if (resp->status < 400 && resp->status != 300)
		return;
	body = parse_body(resp);
	{
		const json_t *first = json_is_array(body) ? json_array_get(body, 0) : body;
		code = jx_str(first, "errorCode");
		msg = jx_str(first, "message");
	}
	switch (resp->status) {
	case 401:
		if (code && !strcmp(code, "INVALID_SESSION_ID") && auth_can_refresh(&c->auth, 1)) {
			v->action = HA_REFRESH;
		} else {
			v->action = HA_FAIL;
			err_set(err, CRM_EAUTH, code ? code : "unauthorized", "%s",
				auth_can_refresh(&c->auth, 1)
				? "Salesforce refused the session (HTTP 401)"
				: "Salesforce refused the session (HTTP 401): the access token is invalid or expired and no refresh "
				  "credentials are set (SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, SALESFORCE_REFRESH_TOKEN)");
		}
		break;
	case 403:
		v->action = HA_FAIL;
		if (code && !strcmp(code, "REQUEST_LIMIT_EXCEEDED")) {
			/* §10: too many long-running calls is a wait; the daily cap is a stop.
			 * Neither is a permission problem, and neither needs a new token. */
			if (msg && strstr(msg, "Concurrent")) {
				v->action = HA_RETRY;
				v->rate_limited = 1;
				v->wait_ms = 5000;
				err_set(err, CRM_ETEMP, "concurrent_limit",
					"Salesforce kept refusing: too many long-running requests in the org at once");
			} else {
				err_set(err, CRM_ETEMP, "daily_limit",
					"Salesforce's daily API request limit is spent (REQUEST_LIMIT_EXCEEDED); it recovers over a rolling 24 hours");
			}
		} else {
			err_set(err, CRM_EAUTH, code ? code : "forbidden", "Salesforce refused access (HTTP 403%s%s)",
				code ? ", " : "", code ? code : "");
			if (msg)
				snprintf(err->message + strlen(err->message), sizeof(err->message) - strlen(err->message),
					 ": %.300s", msg);
		}
		break;
	case 404:
		v->action = HA_FAIL;
		err_set(err, CRM_ENOTFOUND, "NOT_FOUND", "Salesforce has no such resource");
		fill_error(body, err);
		break;
	case 420: /* §10: an edge proxy's "setting things up" page: the call was not run */
	case 429:
		v->action = HA_RETRY;
		v->rate_limited = 1;
		v->wait_ms = resp->retry_after_ms > 0 ? resp->retry_after_ms : 0;
		err_set(err, CRM_ETEMP, "rate_limited", "Salesforce kept answering HTTP %ld", resp->status);
		break;
	default:
		if (resp->status >= 500)
			break; /* lib/: retry when safe */
		if (code && !strcmp(code, "UNABLE_TO_LOCK_ROW")) {
			v->action = HA_RETRY; /* §11: nothing was written; try again */
			err_set(err, CRM_ETEMP, code, "Salesforce kept answering UNABLE_TO_LOCK_ROW");
			break;
		}
		v->action = HA_FAIL;
		err_set(err, CRM_ERECORD, "http_error", "Salesforce answered HTTP %ld", resp->status);
		fill_error(body, err);
	}
	json_decref(body);
}

/* §10: Sforce-Limit-Info: api-usage=used/max on every REST answer. */
static void sf_learn(void *ctx, struct http *h, const struct http_req *req, const struct http_resp *resp)
{
	struct conn *c = ctx;
	char v[128];
	const char *p;
	long used, max;

	(void)h;
	(void)req;
	if (!http_resp_header(resp, "Sforce-Limit-Info", v, sizeof(v)) || !(p = strstr(v, "api-usage=")))
		return;
	if (sscanf(p + 10, "%ld/%ld", &used, &max) == 2 && max > 0) {
		c->api_used = used;
		c->api_max = max;
	}
}

/* One request; path is an instance path ("/services/...") or a URL.
 * resp is filled (the caller releases it). */
static int send_req(struct conn *c, const char *method, const char *path, const char *body, size_t len,
		    const char *ctype, int bucket, unsigned flags, struct http_resp *r, struct crm_err *err)
{
	struct buf url = BUF_INIT;
	struct http_req q = { method, NULL, body, len, ctype, bucket, flags };
	int rc;

	url_of(c, path, &url);
	q.url = url.buf;
	rc = http_do(c->http, &q, r, err);
	buf_release(&url);
	return rc;
}

/* A JSON call.  *out: the parsed answer (new; NULL for 204 / empty). */
static int api(struct conn *c, const char *method, const char *path, const json_t *body, int bucket,
	       unsigned flags, json_t **out, struct crm_err *err)
{
	struct buf url = BUF_INIT;
	struct http_req q = { method, NULL, NULL, 0, NULL, bucket, flags };
	int rc;

	url_of(c, path, &url);
	q.url = url.buf;
	rc = http_json(c->http, &q, body, out, NULL, "Salesforce", err);
	buf_release(&url);
	return rc;
}

/* Adopts an instance URL from a token answer (§1 "use the newest instance_url"). */
static int set_instance(struct conn *c, const char *url, struct crm_err *err)
{
	int rc = http_check_secure(url, "Salesforce", err);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&c->mu);
	snprintf(c->base, sizeof(c->base), "%s", url);
	http_trim_slashes(c->base);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* §1: a token answer's instance_url (the newest is the one to use) and
 * its id URL, which ends /<org id>/<user id>. */
static int sf_answer(void *ctx, const json_t *body, struct crm_err *err)
{
	struct conn *c = ctx;
	const char *inst = jx_str(body, "instance_url"), *id = jx_str(body, "id");
	const char *slash = id ? strrchr(id, '/') : NULL;
	int rc;

	if (inst && (rc = set_instance(c, inst, err)) < 0)
		return rc;
	if (slash && slash > id) {
		const char *o = slash - 1;
		while (o > id && *o != '/')
			o--;
		if (*o == '/' && slash - o - 1 < (long)sizeof(c->org))
			snprintf(c->org, sizeof(c->org), "%.*s", (int)(slash - o - 1), o + 1);
	}
	return 0;
}

/* §1: refresh_token grant at the login host.  Called by lib/http at most
 * once per request (one refresh per expiry, LESSONS 11). */
static int sf_refresh(void *ctx, struct crm_err *err)
{
	struct conn *c = ctx;
	struct buf url = BUF_INIT;
	struct auth_oauth o = {
		.bucket = B_MAIN, .secret_optional = 1, .answer = sf_answer, .ctx = c,
		.crm = "Salesforce", .who = "Salesforce", .what = "the session", .detail = 2,
		.check = "SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, SALESFORCE_REFRESH_TOKEN and SALESFORCE_LOGIN_URL",
		.missing_status = CRM_ECONFIG, .missing = NO_CREDENTIALS,
	};
	int rc;

	buf_addf(&url, "%s/services/oauth2/token", c->login);
	o.url = url.buf;
	rc = auth_refresh(&c->auth, c->http, &o, err);
	buf_release(&url);
	return rc;
}

/* A number knob (lib/config): env, then config; def when unset, "off" for none. */
static int knob(const struct session *s, const char *env, const char *key, long min, long def, long *out,
		struct crm_err *err)
{
	return config_number(s->cfg, s->profile, env, key, min, def, 1, out, err);
}

static void sf_close(struct conn *c);

static int sf_open(struct conn **out, const struct session *s, struct crm_err *err)
{
	struct conn *c = calloc(1, sizeof(*c));
	char *inst = NULL, *login = NULL, *ver = NULL;
	int rc;

	*out = NULL;
	if (!c)
		return err_set(err, CRM_EFAIL, "no_memory", "out of memory");
	pthread_mutex_init(&c->mu, NULL);
	c->http = s->http;
	c->api_used = c->api_max = -1;
	if ((rc = config_credential(s->cfg, s->profile, "SALESFORCE_ACCESS_TOKEN", "access_token", 1, &c->auth.token, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SALESFORCE_CLIENT_ID", "client_id", 0, &c->auth.client_id, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SALESFORCE_CLIENT_SECRET", "client_secret", 0, &c->auth.client_secret, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SALESFORCE_REFRESH_TOKEN", "refresh_token", 0, &c->auth.refresh_token, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SALESFORCE_INSTANCE_URL", "instance_url", 0, &inst, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SALESFORCE_LOGIN_URL", "login_url", 0, &login, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SALESFORCE_API_VERSION", "api_version", 0, &ver, err)) < 0 ||
	    (rc = knob(s, "SALESFORCE_BULK_THRESHOLD", "bulk_threshold", 0, BULK_THRESHOLD, &c->bulk_threshold, err)) < 0 ||
	    (rc = knob(s, "SALESFORCE_API_RESERVE", "api_reserve", 0, -1, &c->reserve, err)) < 0 ||
	    (rc = knob(s, "SALESFORCE_QUERY_WINDOW", "query_window", 1, QUERY_WINDOW, &c->window, err)) < 0 ||
	    (rc = knob(s, "SALESFORCE_SELECT_MAX", "select_max", 100, SELECT_MAX, &c->select_max, err)) < 0)
		goto fail;
	if (s->bulk)
		c->bulk_threshold = 1; /* --bulk: every pull and every push batch */
	snprintf(c->api, sizeof(c->api), "/services/data/v%s", ver && *ver ? ver + (ver[0] == 'v') : SF_VERSION);
	/* --base-url is both the instance and the login host (the emulator). */
	if (s->base_url) {
		if ((rc = set_instance(c, s->base_url, err)) < 0)
			goto fail;
		snprintf(c->login, sizeof(c->login), "%s", c->base);
	} else {
		if (inst && *inst && (rc = set_instance(c, inst, err)) < 0)
			goto fail;
		snprintf(c->login, sizeof(c->login), "%s", login && *login ? login : SF_LOGIN);
		size_t n = strlen(c->login);
		while (n && c->login[n - 1] == '/')
			c->login[--n] = '\0';
	}
	if (!c->auth.token && !auth_can_refresh(&c->auth, 1)) {
		rc = err_set(err, CRM_ECONFIG, "no_credentials", NO_CREDENTIALS);
		goto fail;
	}
	if (c->auth.token && !c->base[0] && !auth_can_refresh(&c->auth, 1)) {
		rc = err_set(err, CRM_ECONFIG, "no_instance_url",
			     "SALESFORCE_ACCESS_TOKEN needs SALESFORCE_INSTANCE_URL (the org's https://NAME.my.salesforce.com)");
		goto fail;
	}
	if ((rc = http_check_secure(c->base, "Salesforce", err)) < 0 ||
	    (rc = http_check_secure(c->login, "Salesforce", err)) < 0)
		goto fail;
	{
		struct http_hooks hk = { c, sf_auth, sf_refresh, sf_classify, sf_learn };
		http_set_hooks(c->http, &hk);
	}
	/* §10: no per-second quota (the daily budget is watched in sf_auth);
	 * stay polite, and poll Bulk jobs gently. */
	http_bucket(c->http, B_MAIN, 100, 1000);
	http_bucket(c->http, B_POLL, 2, 1000);
	/* Only refresh credentials: the instance URL comes from the token answer. */
	if (!c->base[0] && (rc = sf_refresh(c, err)) < 0)
		goto fail;
	free(inst);
	free(login);
	free(ver);
	*out = c;
	return 0;
fail:
	free(inst);
	free(login);
	free(ver);
	sf_close(c);
	return rc;
}

static void sf_close(struct conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < OBJ_COUNT; i++) {
		json_decref(c->desc[i]);
		json_decref(c->order[i]);
	}
	json_decref(c->stages);
	auth_release(&c->auth);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* §9: the org id from userinfo (or the token answer's id URL). */
static const char *sf_namespace(struct conn *c, struct crm_err *err)
{
	json_t *d;

	if (c->org[0])
		return c->org;
	if (api(c, "GET", "/services/oauth2/userinfo", NULL, B_MAIN, HTTP_IDEMPOTENT, &d, err) < 0)
		return NULL;
	const char *o = jx_str(d, "organization_id");
	if (!o) {
		json_decref(d);
		err_set(err, CRM_EUNAVAIL, "bad_response", "Salesforce's userinfo answer has no organization_id");
		return NULL;
	}
	snprintf(c->org, sizeof(c->org), "%s", o);
	json_decref(d);
	return c->org;
}

/* ---- describe (§7) ---- */

static int load_desc(struct conn *c, enum obj o, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *f, *byname, *order;
	size_t i;
	int rc;

	pthread_mutex_lock(&c->mu);
	int have = c->desc[o] != NULL;
	pthread_mutex_unlock(&c->mu);
	if (have)
		return 0;
	buf_addf(&path, "%s/sobjects/%s/describe", c->api, sobject[o]);
	rc = api(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	if (!json_is_array(json_object_get(ans, "fields"))) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "Salesforce's describe of %s has no fields", sobject[o]);
	}
	byname = json_object();
	order = json_array();
	json_array_foreach(json_object_get(ans, "fields"), i, f) {
		const char *n = jx_str(f, "name");
		if (!n)
			continue;
		json_object_set(byname, n, f);
		json_array_append_new(order, json_string(n));
	}
	json_decref(ans);
	pthread_mutex_lock(&c->mu);
	if (!c->desc[o]) {
		c->desc[o] = byname;
		c->order[o] = order;
		byname = order = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	json_decref(byname);
	json_decref(order);
	return 0;
}

static const char *ftype(struct conn *c, enum obj o, const char *name)
{
	return jx_str(json_object_get(c->desc[o], name), "type");
}

/* Compound fields (address, location) are read-only copies of their parts
 * and Bulk query refuses them (§2, §3); base64 bodies are not record data. */
static int selectable(const json_t *f)
{
	const char *t = jx_str(f, "type");
	return t && strcmp(t, "address") && strcmp(t, "location") && strcmp(t, "base64");
}

/* "Id,Name,..." every field describe says is readable. */
static char *select_list(struct conn *c, enum obj o)
{
	struct buf b = BUF_INIT;
	json_t *n;
	size_t i;

	json_array_foreach(c->order[o], i, n) {
		if (!selectable(json_object_get(c->desc[o], json_string_value(n))))
			continue;
		if (b.len)
			buf_addc(&b, ',');
		buf_adds(&b, json_string_value(n));
	}
	return buf_detach(&b, NULL);
}

/* A query travels in the URL of a GET, and Salesforce refuses a URI past
 * about 16,000 characters with 414 (§3).  A wide object's SELECT list is
 * therefore cut: the first part (Id and SystemModstamp first, so paging and
 * the cursor work) is queried as usual; each further part is read by
 * "WHERE Id IN (...)" for the page's rows and merged into them by Id. */
static void soql_str(struct buf *b, const char *s);
static void query_path(struct conn *c, int all, const char *soql, struct buf *path);
#define MERGE_IDS 200     /* ids per IN (...) of a merge query */

/* *first: the first SELECT list (malloc'd); *rest: the other lists (new
 * reference, an array of strings, empty for most objects). */
static void split_select(struct conn *c, enum obj o, char **first, json_t **rest)
{
	struct buf b = BUF_INIT, g = BUF_INIT;
	json_t *n;
	size_t i;

	*rest = json_array();
	json_array_foreach(c->order[o], i, n) {
		const char *name = json_string_value(n);
		int key = !strcmp(name, "Id") || !strcmp(name, "SystemModstamp");
		if (!selectable(json_object_get(c->desc[o], name)))
			continue;
		/* Fields keep describe's order; Id and SystemModstamp always go first. */
		if (key || (b.len + strlen(name) + 1 <= (size_t)c->select_max && !g.len)) {
			buf_addf(&b, "%s%s", b.len ? "," : "", name);
			continue;
		}
		if (g.len && g.len + strlen(name) + 1 > (size_t)c->select_max) {
			json_array_append_new(*rest, json_string(g.buf));
			buf_reset(&g);
		}
		buf_addf(&g, "%s%s", g.len ? "," : "", name);
	}
	if (g.len)
		json_array_append_new(*rest, json_string(g.buf));
	buf_release(&g);
	*first = buf_detach(&b, NULL);
}

/* The answer's nextRecordsUrl in *next (malloc'd; NULL at the end),
 * checked by the paging run's guard (lib/pager): CRM_EUNAVAIL when
 * Salesforce gave it before in this run, or empty pages never end. */
static int next_url(struct pager_guard *g, const json_t *ans, char **next, struct crm_err *err)
{
	const char *u = jx_str(ans, "nextRecordsUrl");
	struct buf key = BUF_INIT;
	int rc;

	*next = NULL;
	if (!u)
		return 0;
	buf_addf(&key, "nextRecordsUrl=%s", u);
	rc = pager_guard_next(g, key.buf, json_array_size(json_object_get(ans, "records")), err);
	buf_release(&key);
	if (rc == 0)
		*next = strdup(u);
	return rc;
}

/* Reads the other SELECT lists for rows (raw query records with Id) and
 * merges their fields into each row.  all: through queryAll (deleted rows). */
static int merge_rest(struct conn *c, enum obj o, const json_t *rest, json_t *rows, int all, struct crm_err *err)
{
	json_t *byid, *r, *part;
	size_t i, p;
	int rc = 0;

	if (!json_array_size(rest) || !json_array_size(rows))
		return 0;
	byid = json_object();
	json_array_foreach(rows, i, r)
		if (jx_str(r, "Id"))
			json_object_set(byid, jx_str(r, "Id"), r);
	json_array_foreach(rest, p, part) {
		for (size_t off = 0; off < json_array_size(rows) && rc == 0; off += MERGE_IDS) {
			struct buf q = BUF_INIT, path = BUF_INIT;
			char *next;
			buf_addf(&q, "SELECT Id,%s FROM %s WHERE Id IN (", json_string_value(part), sobject[o]);
			for (size_t k = off; k < json_array_size(rows) && k < off + MERGE_IDS; k++) {
				const char *id = jx_str(json_array_get(rows, k), "Id");
				if (k > off)
					buf_addc(&q, ',');
				soql_str(&q, id ? id : "");
			}
			buf_addc(&q, ')');
			query_path(c, all, q.buf, &path);
			next = strdup(path.buf);
			buf_release(&q);
			buf_release(&path);
			struct pager_guard g;
			pager_guard_init(&g, "Salesforce");
			while (next && rc == 0) {
				json_t *ans = NULL, *x;
				size_t j;
				rc = api(c, "GET", next, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
				free(next);
				next = NULL;
				if (rc < 0)
					break;
				json_array_foreach(json_object_get(ans, "records"), j, x) {
					json_t *row = jx_str(x, "Id") ? json_object_get(byid, jx_str(x, "Id")) : NULL;
					const char *k;
					json_t *v;
					json_object_foreach(x, k, v)
						if (row && strcmp(k, "attributes") && strcmp(k, "Id"))
							json_object_set(row, k, v);
				}
				rc = next_url(&g, ans, &next, err);
				json_decref(ans);
			}
			pager_guard_release(&g);
			free(next);
		}
	}
	json_decref(byid);
	return rc;
}

static int query_all_pages(struct conn *c, const char *soql, json_t *acc, struct crm_err *err);

/* Whether each stage is won, lost or open, from the OpportunityStage
 * records (§15: WON = IsWon; LOST = IsClosed and not IsWon); describe's
 * picklistValues tell only value and label.  ApiName is the StageName
 * value (v36+). */
static int load_stages(struct conn *c, struct crm_err *err)
{
	json_t *rows = json_array(), *r, *st;
	size_t i;
	int rc;

	pthread_mutex_lock(&c->mu);
	int have = c->stages != NULL;
	pthread_mutex_unlock(&c->mu);
	if (have) {
		json_decref(rows);
		return 0;
	}
	rc = query_all_pages(c, "SELECT ApiName, IsClosed, IsWon FROM OpportunityStage", rows, err);
	if (rc == CRM_ERECORD || rc == CRM_ENOTFOUND || (rc == CRM_EAUTH && err->http_status == 403)) {
		/* The org refuses this query (a profile without access, an old
		 * API version): stages carry no status, and sf_fixup reads the
		 * deal's IsWon/IsClosed instead.  Limits and outages still end
		 * the run. */
		err_clear(err);
		rc = 0;
	}
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	st = json_object();
	json_array_foreach(rows, i, r) {
		const char *api = jx_str(r, "ApiName");
		if (api)
			json_object_set_new(st, api, json_string(json_is_true(json_object_get(r, "IsWon")) ? "WON"
				: json_is_true(json_object_get(r, "IsClosed")) ? "LOST" : "OPEN"));
	}
	json_decref(rows);
	pthread_mutex_lock(&c->mu);
	if (!c->stages) {
		c->stages = st;
		st = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	json_decref(st);
	return 0;
}

static int sf_fields(struct conn *c, enum obj o, json_t **out, struct crm_err *err)
{
	json_t *arr, *n;
	size_t i;
	int rc;

	if ((rc = load_desc(c, o, err)) < 0 || (o == OBJ_DEAL && (rc = load_stages(c, err)) < 0))
		return rc;
	arr = json_array();
	json_array_foreach(c->order[o], i, n) {
		json_t *f = json_object_get(c->desc[o], json_string_value(n)), *opts = json_array(), *pv;
		size_t j;
		int createable = json_is_true(json_object_get(f, "createable"));
		int updateable = json_is_true(json_object_get(f, "updateable"));
		int stage = o == OBJ_DEAL && !strcmp(json_string_value(n), "StageName");
		json_array_foreach(json_object_get(f, "picklistValues"), j, pv) {
			if (json_is_false(json_object_get(pv, "active")))
				continue;
			json_t *x = json_pack("{s:O?,s:O?}", "label", json_object_get(pv, "label"),
					      "value", json_object_get(pv, "value"));
			/* A stage's fact for lib/options: won, lost or open. */
			json_t *st = stage && jx_str(pv, "value") ? json_object_get(c->stages, jx_str(pv, "value")) : NULL;
			if (st)
				json_object_set(x, "status", st);
			json_array_append_new(opts, x);
		}
		json_array_append_new(arr, json_pack("{s:s,s:O?,s:O?,s:b,s:b,s:b,s:o,s:b}",
			"name", json_string_value(n), "label", json_object_get(f, "label"), "type", json_object_get(f, "type"),
			/* §7: required = not nillable, createable and no default on create. */
			"required", o != OBJ_USER && !json_is_true(json_object_get(f, "nillable")) && createable &&
				    !json_is_true(json_object_get(f, "defaultedOnCreate")),
			"read_only", o == OBJ_USER || !updateable,
			"custom", json_is_true(json_object_get(f, "custom")), "options", opts,
			/* push --clear-nulls never sends null to a field that is not
			 * nillable (OwnerId defaults on create, yet cannot be emptied);
			 * a boolean's null is false, which Salesforce takes. */
			"clearable", json_is_true(json_object_get(f, "nillable")) ||
				     !strcmp(jx_str(f, "type") ? jx_str(f, "type") : "", "boolean")));
	}
	if (o == OBJ_ACCOUNT)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:[]}", "name", "@domain",
			"label", "Website domain (derived from Website)", "type", "string", "required", 0,
			"read_only", 1, "custom", 0, "options"));
	*out = arr;
	return 0;
}

/* ---- SOQL building ---- */

static void soql_str(struct buf *b, const char *s)
{
	buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			buf_addc(b, '\\');
		if (*s == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *s);
	}
	buf_addc(b, '\'');
}

/* A datetime literal: unquoted ISO 8601 in UTC (§4; 'Z' needs no %2B). */
static void soql_time(struct buf *b, long long ms)
{
	char t[TIME_BUFSZ];
	time_format(ms, t);
	buf_adds(b, t);
}

static void soql_value(struct conn *c, enum obj o, const char *field, const char *v, struct buf *b)
{
	const char *t = ftype(c, o, field);
	char id[19];

	if (t && (!strcmp(t, "int") || !strcmp(t, "double") || !strcmp(t, "currency") || !strcmp(t, "percent") ||
		  !strcmp(t, "boolean")) && strspn(v, "0123456789.-+eEtruefalsTRUEFALS") == strlen(v) && *v)
		buf_adds(b, v);
	else if (t && (!strcmp(t, "id") || !strcmp(t, "reference")))
		soql_str(b, id18(v, id));
	else
		soql_str(b, v);
}

/* GET <api>/query (or queryAll) for soql. */
static void query_path(struct conn *c, int all, const char *soql, struct buf *path)
{
	buf_addf(path, "%s/%s?q=", c->api, all ? "queryAll" : "query");
	buf_add_urlenc(path, soql);
}

/* Salesforce datetimes as Salesforce's REST API writes them
 * ("2026-11-20T08:00:00.000+0000"), so REST and Bulk records are alike. */
static void sf_time(long long ms, char out[TIME_BUFSZ])
{
	time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	snprintf(out, TIME_BUFSZ, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - (long long)s * 1000));
}

/* ---- records to envelopes ---- */

/* "https://www.Acme.com/x" -> "acme.com". */
static json_t *domain_of(const char *url)
{
	char d[256];
	size_t n;

	if (!url || !*url)
		return json_null();
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	if (!strncasecmp(p, "www.", 4))
		p += 4;
	n = strcspn(p, "/:?#");
	if (!n || n >= sizeof(d))
		return json_null();
	for (size_t i = 0; i < n; i++)
		d[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
	d[n] = '\0';
	return json_string(d);
}

static json_t *envelope(enum obj o, json_t *row, int with_raw)
{
	json_t *env = json_object(), *fields = json_object(), *v;
	const char *k;
	int deleted = json_is_true(json_object_get(row, "IsDeleted")) && o != OBJ_USER;

	json_object_foreach(row, k, v)
		if (strcmp(k, "attributes") && strcmp(k, "Id"))
			json_object_set(fields, k, v);
	if (o == OBJ_ACCOUNT)
		json_object_set_new(fields, "@domain", domain_of(jx_str(row, "Website")));
	json_object_set_new(env, "id", jx_str_new(jx_str(row, "Id")));
	json_object_set_new(env, "created_at", jx_str_new(jx_str(row, "CreatedDate")));
	/* SystemModstamp: what incremental pulls filter and sort on (§4). */
	json_object_set_new(env, "updated_at", jx_str_new(jx_str(row, "SystemModstamp")));
	json_object_set_new(env, "deleted", json_boolean(deleted));
	/* Salesforce reports no deletion time; a deleted row's SystemModstamp is
	 * the deletion (unverified, §5), the best there is. */
	json_object_set_new(env, "deleted_at", deleted ? jx_str_new(jx_str(row, "SystemModstamp")) : json_null());
	json_object_set_new(env, "fields", fields);
	if (with_raw)
		json_object_set(env, "raw", row);
	return env;
}

/* A deal's status comes from its stage's facts (lib/options); a stage
 * without them (inactive, or OpportunityStage unreadable) falls back on
 * the deal's IsWon/IsClosed, which follow the stage (§15): the same
 * answer. */
static void sf_fixup(struct conn *c, enum obj o, struct jv_doc *d, jv_t env, jv_t rec)
{
	jv_t f = jv_get(d, env, "fields");

	(void)c;
	if (o == OBJ_DEAL && !jv_get(d, rec, "status") && jv_get(d, f, "IsClosed"))
		jv_set(d, rec, "status", jv_string_ref(d, jv_is_true(d, jv_get(d, f, "IsWon")) ? "WON"
			: jv_is_true(d, jv_get(d, f, "IsClosed")) ? "LOST" : "OPEN"));
}

/* ---- pull ---- */

struct pull {
	struct conn *c;
	struct pull_opts o;
	char *select;           /* the first SELECT list (see split_select) */
	char *select_full;      /* every field: Bulk queries travel in a body */
	json_t *rest;           /* the other SELECT lists, merged by Id */
	int phase;                  /* 0 live records, 1 deleted ones (queryAll), 2 done */
	char *next;                 /* nextRecordsUrl of the open window */
	int keyed;                  /* t/last_id hold the last row seen */
	long long t;
	char last_id[32];
	long wrows;                 /* rows of the current window so far */
	/* Bulk */
	int bulk;                   /* phase 0 goes through a Bulk query job */
	char job[64];
	char *locator;              /* NULL before the first page */
	long long bulk_expect, bulk_got; /* the job's record count, rows read */
	/* list members */
	char campaign[32];
	struct pager_guard guard;   /* of the current phase (lib/pager) */
	/* progress (pull_total) */
	long long total;            /* records expected, -1 unknown */
	long long rows;             /* records handed out before the current window */
};

/* ---- pull --where: SOQL conditions (§16) ---- */

static int sf_where_can(enum obj o, const struct where *w, const char **can)
{
	*can = "any field with = != < <= > >= ~ ?";
	return 1;
}

/* A LIKE pattern: the value between % wildcards, its own % and _ escaped
 * as \% and \_ (allowed inside LIKE only, §16), ' and \ as always. */
static void soql_like(struct buf *b, const char *v)
{
	buf_adds(b, "'%");
	for (; *v; v++) {
		if (*v == '\'' || *v == '\\' || *v == '%' || *v == '_')
			buf_addc(b, '\\');
		if (*v == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *v);
	}
	buf_adds(b, "%'");
}

/* One --where condition: = != < <= > >= as themselves, ~ LIKE '%v%', ?
 * != null.  Dates and datetimes are unquoted literals (§16 Date literals);
 * numbers and booleans bare, strings quoted (soql_value). */
static void where_cond(struct conn *c, enum obj o, const struct where *w, struct buf *q)
{
	static const char *const ops[W_OP_COUNT] = { " = ", " != ", " < ", " <= ", " > ", " >= ", " LIKE ", " != " };
	const char *t = ftype(c, o, w->field);
	long long ms;

	buf_adds(q, w->field);
	buf_adds(q, ops[w->op]);
	if (w->op == W_HAS)
		buf_adds(q, "null");
	else if (w->op == W_CONTAINS)
		soql_like(q, w->value);
	else if (t && !strcmp(t, "datetime") && time_parse(w->value, &ms) == 0)
		soql_time(q, ms);
	else if (t && !strcmp(t, "date") && strlen(w->value) == 10 &&
		 strspn(w->value, "0123456789-") == 10)
		buf_adds(q, w->value);
	else
		soql_value(c, o, w->field, w->value, q);
}

/* WHERE clause of the current window: keyset on (SystemModstamp, Id). */
static void window_where(struct pull *p, struct buf *q)
{
	int any = 0;

	if (p->phase == 1) {
		buf_adds(q, " WHERE IsDeleted = true");
		any = 1;
	}
	if (p->keyed || (p->o.since_ms >= 0 && p->o.since_id && *p->o.since_id)) {
		long long t = p->keyed ? p->t : p->o.since_ms;
		char idb[19];
		const char *id = p->keyed ? p->last_id : id18(p->o.since_id, idb);
		buf_adds(q, any ? " AND (SystemModstamp > " : " WHERE (SystemModstamp > ");
		soql_time(q, t);
		buf_adds(q, " OR (SystemModstamp = ");
		soql_time(q, t);
		buf_adds(q, " AND Id > ");
		soql_str(q, id);
		buf_adds(q, "))");
		any = 1;
	} else if (p->o.since_ms >= 0) {
		buf_adds(q, any ? " AND SystemModstamp >= " : " WHERE SystemModstamp >= ");
		soql_time(q, p->o.since_ms);
		any = 1;
	}
	for (size_t i = 0; i < p->o.nwhere; i++) {
		buf_adds(q, any ? " AND " : " WHERE ");
		where_cond(p->c, p->o.obj, &p->o.where[i], q);
		any = 1;
	}
}

/* totalSize counts the rows of the whole query, on every page (§11
 * Totals), here a window: when the window holds the rest of its phase (it
 * is not full), the rows before it plus its size are the total so far.
 * A full window leaves the total as it was (the count made for the Bulk
 * decision, or unknown). */
static void window_total(struct pull *p, const json_t *ans)
{
	json_t *ts = json_object_get(ans, "totalSize");

	if (json_is_integer(ts) && json_integer_value(ts) < p->c->window)
		p->total = p->rows + json_integer_value(ts);
}

static long long sf_pull_total(struct pull *p)
{
	return p->total;
}

static int sf_pull_open(struct conn *c, const struct pull_opts *o, struct pull **out, struct crm_err *err);
static int bulk_page(struct pull *p, json_t **page, struct crm_err *err);
static int members_page(struct pull *p, json_t **page, struct crm_err *err);

/* One page of the REST scan.  Each window is one query ordered by
 * (SystemModstamp, Id) and capped at `window` rows, followed through
 * nextRecordsUrl; the next window starts strictly after the last row seen.
 * So equal timestamps page by id, a huge table is never one cursor, and a
 * row changed during the scan moves forward instead of being skipped. */
static int rest_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	enum obj o = p->o.obj;
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *recs, *r, *envs;
	size_t i;
	int rc;

	if (p->next) {
		buf_adds(&path, p->next);
	} else {
		struct buf q = BUF_INIT;
		buf_addf(&q, "SELECT %s FROM %s", p->select, sobject[o]);
		window_where(p, &q);
		buf_addf(&q, " ORDER BY SystemModstamp, Id LIMIT %ld", c->window);
		query_path(c, p->phase == 1, q.buf, &path);
		buf_release(&q);
		p->wrows = 0;
	}
	rc = api(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	recs = json_object_get(ans, "records");
	if (!json_is_array(recs)) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "Salesforce's query answer has no records array");
	}
	if ((rc = merge_rest(c, o, p->rest, recs, p->phase == 1, err)) < 0) {
		json_decref(ans);
		return rc;
	}
	window_total(p, ans);
	envs = json_array();
	json_array_foreach(recs, i, r) {
		const char *id = jx_str(r, "Id"), *u = jx_str(r, "SystemModstamp");
		long long ms;
		if (id && u && time_parse(u, &ms) == 0) {
			p->t = ms;
			snprintf(p->last_id, sizeof(p->last_id), "%s", id);
			p->keyed = 1;
		}
		json_array_append_new(envs, envelope(o, r, 1));
	}
	p->wrows += (long)json_array_size(recs);
	if (!jx_str(ans, "nextRecordsUrl"))
		p->rows += p->wrows; /* the window is over */
	free(p->next);
	if ((rc = next_url(&p->guard, ans, &p->next, err)) < 0) {
		json_decref(ans);
		json_decref(envs);
		return rc;
	}
	if (!p->next && p->wrows < c->window) {
		/* The window ended short of its cap: this phase is complete,
		 * and the next one a new run for the guard. */
		p->keyed = 0;
		p->phase = p->phase == 0 && p->o.deleted && o != OBJ_USER ? 1 : 2;
		pager_guard_reset(&p->guard);
	} else if (!p->next) {
		/* A full window: the next one starts after its last row.  A
		 * window that does not move that bound would come again. */
		char key[128];
		snprintf(key, sizeof(key), "(SystemModstamp, Id) > (%lld, %s)", p->t, p->last_id);
		if ((rc = pager_guard_next(&p->guard, key, json_array_size(recs), err)) < 0) {
			json_decref(ans);
			json_decref(envs);
			return rc;
		}
	}
	json_decref(ans);
	*page = envs;
	return 0;
}

static int sf_pull_next(struct pull *p, json_t **page, struct crm_err *err)
{
	*page = NULL;
	for (;;) {
		int rc;
		if (p->phase == 2)
			return 0;
		if (p->o.list)
			rc = members_page(p, page, err);
		else if (p->phase == 0 && p->bulk)
			rc = bulk_page(p, page, err);
		else
			rc = rest_page(p, page, err);
		if (rc < 0)
			return rc;
		if (*page && json_array_size(*page))
			return 0;
		json_decref(*page);
		*page = NULL;
	}
}

static void sf_pull_close(struct pull *p)
{
	if (!p)
		return;
	free(p->select);
	free(p->select_full);
	json_decref(p->rest);
	free(p->next);
	free(p->locator);
	pager_guard_release(&p->guard);
	free(p);
}

/* ---- Bulk API 2.0 (§3, §6) ---- */

/* CSV cells into rows of strings (NULL = empty cell) with libcsv. */
struct csvrows {
	json_t *rows;               /* array of arrays */
	json_t *cur;
};

static void csv_cell(void *s, size_t len, void *ud)
{
	struct csvrows *cr = ud;
	if (!cr->cur)
		cr->cur = json_array();
	json_t *v = len ? json_stringn(s, len) : NULL;
	json_array_append_new(cr->cur, v ? v : json_null());
}

static void csv_row(int ch, void *ud)
{
	struct csvrows *cr = ud;
	(void)ch;
	if (!cr->cur)
		cr->cur = json_array();
	json_array_append_new(cr->rows, cr->cur);
	cr->cur = NULL;
}

/* Parses a CSV body (NUL bytes dropped, §12.6).  *out: array of rows. */
static int parse_csv(char *data, size_t len, json_t **out, struct crm_err *err)
{
	struct csv_parser cp;
	struct csvrows cr = { json_array(), NULL };
	size_t w = 0;

	for (size_t i = 0; i < len; i++)
		if (data[i])
			data[w++] = data[i];
	if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		json_decref(cr.rows);
		return err_set(err, CRM_EFAIL, "no_memory", "cannot start the CSV parser");
	}
	if (csv_parse(&cp, data, w, csv_cell, csv_row, &cr) != w || csv_fini(&cp, csv_cell, csv_row, &cr) != 0) {
		int e = csv_error(&cp);
		csv_free(&cp);
		json_decref(cr.cur);
		json_decref(cr.rows);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "Salesforce's CSV answer does not parse: %s", csv_strerror(e));
	}
	csv_free(&cp);
	json_decref(cr.cur);
	*out = cr.rows;
	return 0;
}

/* A Bulk CSV cell as the JSON value the REST API gives for the field. */
static json_t *typed(const char *type, json_t *cell)
{
	const char *s = json_string_value(cell);
	char *end;
	long long ms;
	char t[TIME_BUFSZ];

	if (!s)
		return json_null();
	if (!type)
		return json_incref(cell);
	if (!strcmp(type, "boolean"))
		return json_boolean(!strcasecmp(s, "true"));
	if (!strcmp(type, "int")) {
		long long n = strtoll(s, &end, 10);
		return *end ? json_incref(cell) : json_integer(n);
	}
	if (!strcmp(type, "double") || !strcmp(type, "currency") || !strcmp(type, "percent")) {
		double d = strtod(s, &end);
		return *end ? json_incref(cell) : json_real(d);
	}
	if (!strcmp(type, "datetime") && time_parse(s, &ms) == 0) {
		sf_time(ms, t);
		return json_string(t);
	}
	return json_incref(cell);
}

/* Waits for a Bulk job (lib/http does the waiting, see sf_classify).
 * *job: its final JSON (new). */
static int bulk_wait(struct conn *c, const char *kind, const char *id, json_t **job, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	long long start = time_mono_ms();
	int rc;

	buf_addf(&path, "%s/jobs/%s/%s", c->api, kind, id);
	for (;;) {
		*job = NULL;
		rc = api(c, "GET", path.buf, NULL, B_POLL, HTTP_IDEMPOTENT, job, err);
		if (rc == CRM_ETEMP && !strcmp(err->code, "job_running") && time_mono_ms() - start < BULK_WAIT_MS)
			continue;
		break;
	}
	buf_release(&path);
	if (rc < 0)
		return rc;
	const char *state = jx_str(*job, "state");
	if (!state || strcmp(state, "JobComplete")) {
		const char *why = jx_str(*job, "errorMessage");
		rc = err_set(err, CRM_EUNAVAIL, "bulk_job_failed", "Salesforce's Bulk job %s ended %s%s%s", id,
			     state ? state : "in an unknown state", why ? ": " : "", why ? why : "");
		json_decref(*job);
		*job = NULL;
	}
	return rc;
}

static int bulk_start_query(struct pull *p, struct crm_err *err)
{
	struct conn *c = p->c;
	struct buf q = BUF_INIT, path = BUF_INIT;
	json_t *body, *ans = NULL, *job = NULL;
	int rc;

	buf_addf(&q, "SELECT %s FROM %s", p->select_full, sobject[p->o.obj]);
	window_where(p, &q);
	/* Results come unordered; the cursor is the largest (SystemModstamp, Id)
	 * written, so order does not matter for --state. */
	body = json_pack("{s:s,s:s,s:s,s:s,s:s}", "operation", "query", "query", q.buf, "contentType", "CSV",
			 "columnDelimiter", "COMMA", "lineEnding", "LF");
	buf_addf(&path, "%s/jobs/query", c->api);
	/* A lost answer leaves at most an unused job behind: safe to send again. */
	rc = api(c, "POST", path.buf, body, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	json_decref(body);
	buf_release(&q);
	buf_release(&path);
	if (rc < 0)
		return rc;
	if (!jx_str(ans, "id")) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "Salesforce's Bulk query job answer has no id");
	}
	snprintf(p->job, sizeof(p->job), "%s", jx_str(ans, "id"));
	json_decref(ans);
	if ((rc = bulk_wait(c, "query", p->job, &job, err)) < 0)
		return rc;
	json_t *np = json_object_get(job, "numberRecordsProcessed");
	p->bulk_expect = json_is_integer(np) ? json_integer_value(np) : -1;
	if (p->bulk_expect >= 0)
		p->total = p->bulk_expect;
	json_decref(job);
	return 0;
}

/* One page of Bulk query results (CSV), maxRecords rows at a time. */
static int bulk_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	struct buf path = BUF_INIT;
	struct http_resp r;
	json_t *rows = NULL, *hdr, *row;
	char loc[256];
	size_t i;
	int rc;

	if (!p->job[0] && (rc = bulk_start_query(p, err)) < 0)
		return rc;
	buf_addf(&path, "%s/jobs/query/%s/results?maxRecords=%d", c->api, p->job, BULK_PAGE);
	if (p->locator) {
		buf_adds(&path, "&locator=");
		buf_add_urlenc(&path, p->locator);
	}
	http_resp_init(&r);
	rc = send_req(c, "GET", path.buf, NULL, 0, NULL, B_MAIN, HTTP_IDEMPOTENT, &r, err);
	buf_release(&path);
	if (rc == 0)
		rc = parse_csv(r.body.buf, r.body.len, &rows, err);
	/* §3: the last page says Sforce-Locator: null; a missing header is an error,
	 * never a silent end (LESSONS 9). */
	const char *l = rc == 0 ? http_resp_header(&r, "Sforce-Locator", loc, sizeof(loc)) : NULL;
	http_resp_release(&r);
	if (rc < 0)
		return rc;
	if (!l) {
		json_decref(rows);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "Salesforce's Bulk results page has no Sforce-Locator header");
	}
	free(p->locator);
	p->locator = strcmp(l, "null") && *l ? strdup(l) : NULL;
	if (p->locator) {
		char key[300];
		snprintf(key, sizeof(key), "Sforce-Locator=%s", p->locator);
		if ((rc = pager_guard_next(&p->guard, key, json_array_size(rows) ? json_array_size(rows) - 1 : 0, err)) < 0) {
			json_decref(rows);
			return rc;
		}
	}
	*page = json_array();
	hdr = json_array_get(rows, 0);
	json_array_foreach(rows, i, row) {
		json_t *rec, *cell;
		size_t j;
		if (!i)
			continue;
		rec = json_object();
		json_array_foreach(row, j, cell) {
			const char *name = json_string_value(json_array_get(hdr, j));
			if (name)
				json_object_set_new(rec, name, typed(ftype(c, p->o.obj, name), cell));
		}
		json_array_append_new(*page, envelope(p->o.obj, rec, 1));
		json_decref(rec);
		p->bulk_got++;
	}
	json_decref(rows);
	if (!p->locator && p->bulk_expect >= 0 && p->bulk_got != p->bulk_expect) {
		/* LESSONS 9: never a green run with missing data. */
		json_decref(*page);
		*page = NULL;
		return err_set(err, CRM_EUNAVAIL, "bulk_incomplete",
			       "Salesforce's Bulk query job %s processed %lld records but its results held %lld",
			       p->job, p->bulk_expect, p->bulk_got);
	}
	if (!p->locator) {
		p->rows = p->bulk_got;
		/* Then deleted records through REST queryAll (the Recycle Bin is small). */
		p->phase = p->o.deleted && p->o.obj != OBJ_USER ? 1 : 2;
		p->keyed = 0;
		pager_guard_reset(&p->guard);
	}
	return 0;
}

/* SELECT COUNT() for the Bulk decision. */
static int count_rows(struct pull *p, long long *n, struct crm_err *err)
{
	struct buf q = BUF_INIT, path = BUF_INIT;
	json_t *ans = NULL;
	int rc;

	buf_addf(&q, "SELECT COUNT() FROM %s", sobject[p->o.obj]);
	window_where(p, &q);
	query_path(p->c, 0, q.buf, &path);
	rc = api(p->c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&q);
	buf_release(&path);
	if (rc == 0)
		*n = json_integer_value(json_object_get(ans, "totalSize"));
	json_decref(ans);
	return rc;
}

static int check_campaign(struct conn *c, const char *list, char *id_out, struct crm_err *err);

static int sf_pull_open(struct conn *c, const struct pull_opts *o, struct pull **out, struct crm_err *err)
{
	struct pull *p;
	int rc;

	*out = NULL;
	if ((rc = load_desc(c, o->obj, err)) < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	p->c = c;
	p->o = *o;
	pager_guard_init(&p->guard, "Salesforce");
	p->total = -1;
	split_select(c, o->obj, &p->select, &p->rest);
	p->select_full = select_list(c, o->obj);
	if (o->list) {
		if ((rc = check_campaign(c, o->list, p->campaign, err)) < 0) {
			sf_pull_close(p);
			return rc;
		}
	} else if (c->bulk_threshold < LONG_MAX) {
		long long n = 0;
		if ((rc = count_rows(p, &n, err)) < 0) {
			sf_pull_close(p);
			return rc;
		}
		p->bulk = n > 0 && n >= c->bulk_threshold;
		p->total = n;
	}
	*out = p;
	return 0;
}

/* ---- reading and matching for push ---- */

/* Records by id through sObject Collections retrieve (§3: POST, <= 2,000 ids).
 * *out: id -> envelope. */
static int sf_read(struct conn *c, enum obj o, const json_t *ids, json_t **out, struct crm_err *err)
{
	json_t *res = json_object(), *fields = json_array(), *n;
	struct buf path = BUF_INIT;
	size_t i, total = json_array_size(ids);
	int rc;

	*out = NULL;
	if ((rc = load_desc(c, o, err)) < 0) {
		json_decref(res);
		json_decref(fields);
		return rc;
	}
	json_array_foreach(c->order[o], i, n)
		if (selectable(json_object_get(c->desc[o], json_string_value(n))))
			json_array_append_new(fields, json_string(json_string_value(n))); /* no shared refcounts across threads */
	buf_addf(&path, "%s/composite/sobjects/%s", c->api, sobject[o]);
	for (size_t off = 0; off < total && rc == 0; off += RETRIEVE_MAX) {
		json_t *list = json_array(), *ans = NULL, *r;
		for (i = off; i < total && i < off + RETRIEVE_MAX; i++) {
			char id[19];
			const char *s = json_string_value(json_array_get(ids, i));
			if (s && is_id(s))
				json_array_append_new(list, json_string(id18(s, id)));
		}
		if (!json_array_size(list)) {
			json_decref(list);
			continue;
		}
		json_t *body = json_pack("{s:o,s:O}", "ids", list, "fields", fields);
		rc = api(c, "POST", path.buf, body, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		json_decref(body);
		json_array_foreach(ans, i, r) {
			if (!json_is_object(r) || !jx_str(r, "Id"))
				continue;
			json_t *env = envelope(o, r, 0);
			json_object_set_new(res, jx_str(r, "Id"), env);
		}
		json_decref(ans);
	}
	/* The caller asks with the ids it was given: answer under those too. */
	for (i = 0; i < total && rc == 0; i++) {
		const char *s = json_string_value(json_array_get(ids, i));
		char id[19];
		json_t *e = s ? json_object_get(res, id18(s, id)) : NULL;
		if (e && strcmp(s, id))
			json_object_set(res, s, e);
	}
	buf_release(&path);
	json_decref(fields);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* Records whose `field` is one of values, by SOQL IN (...) in batches (§3;
 * Email is not an external id, §6).  Accounts match on "@domain" through
 * Website LIKE.  String comparisons in SOQL ignore case, so each record is
 * keyed under the input values it equals ignoring case; every such record
 * is kept (find_put): push never picks one. */
static int sf_find(struct conn *c, enum obj o, const char *field, const json_t *values,
		   json_t **out, struct crm_err *err)
{
	json_t *res = json_object();
	size_t n = json_array_size(values), i = 0;
	int rc, domain = !strcmp(field, "@domain");

	*out = NULL;
	if ((rc = load_desc(c, o, err)) < 0) {
		json_decref(res);
		return rc;
	}
	if (!domain && !json_object_get(c->desc[o], field)) {
		json_decref(res);
		return err_set(err, CRM_EUSAGE, "unknown_field", "Salesforce %s has no field %s to match on", sobject[o], field);
	}
	char *sel;
	json_t *rest;
	split_select(c, o, &sel, &rest);
	while (i < n && rc == 0) {
		struct buf q = BUF_INIT, path = BUF_INIT;
		json_t *chunk = json_array();
		buf_addf(&q, "SELECT %s FROM %s WHERE ", sel, sobject[o]);
		if (!domain)
			buf_addf(&q, "%s IN (", field);
		for (size_t k = 0; i < n && q.len < strlen(sel) + IN_BYTES; i++) {
			char tmp[64];
			const char *v = jx_text(json_array_get(values, i), tmp, sizeof(tmp));
			if (!v || !*v)
				continue;
			json_array_append_new(chunk, json_string(v));
			if (k++)
				buf_adds(&q, domain ? " OR " : ",");
			if (domain) {
				struct buf like = BUF_INIT;
				buf_addf(&like, "%%%s%%", v);
				buf_adds(&q, "Website LIKE ");
				soql_str(&q, like.buf);
				buf_release(&like);
			} else {
				soql_value(c, o, field, v, &q);
			}
		}
		if (!domain)
			buf_addc(&q, ')');
		buf_adds(&q, " ORDER BY Id");
		query_path(c, 0, q.buf, &path);
		buf_release(&q);
		char *next = json_array_size(chunk) ? strdup(path.buf) : NULL;
		struct pager_guard g;
		buf_release(&path);
		pager_guard_init(&g, "Salesforce");
		while (next && rc == 0) {
			json_t *ans = NULL, *r;
			size_t j;
			rc = api(c, "GET", next, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
			free(next);
			next = NULL;
			if (rc < 0)
				break;
			if ((rc = merge_rest(c, o, rest, json_object_get(ans, "records"), 0, err)) < 0) {
				json_decref(ans);
				break;
			}
			json_array_foreach(json_object_get(ans, "records"), j, r) {
				json_t *env = envelope(o, r, 0);
				const char *got = domain ? jx_str(json_object_get(env, "fields"), "@domain") : NULL;
				char tmp[64];
				if (!domain)
					got = jx_text(json_object_get(r, field), tmp, sizeof(tmp));
				size_t x;
				json_t *want;
				json_array_foreach(chunk, x, want) {
					const char *w = json_string_value(want);
					int hit = got && (!strcasecmp(got, w) || ((!strcmp(ftype(c, o, field) ? ftype(c, o, field) : "", "reference") ||
						   !strcmp(field, "Id")) && !strncmp(got, w, 15)));
					if (!hit)
						continue;
					char *key = !strcmp(field, "Email") ? jx_lower_dup(w) : strdup(w);
					find_put(res, key, env);
					free(key);
				}
				json_decref(env);
			}
			rc = next_url(&g, ans, &next, err);
			json_decref(ans);
		}
		pager_guard_release(&g);
		free(next);
		json_decref(chunk);
	}
	free(sel);
	json_decref(rest);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* ---- writes (§6) ---- */

/* The record as Salesforce takes it: pseudo-fields dropped, "" sent as null
 * (how Salesforce clears a field), fields of the table the org does not have
 * (CurrencyIsoCode without multi-currency) dropped. */
static json_t *sf_body(struct conn *c, enum obj o, const json_t *fields)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)fields, k, v) {
		if (k[0] == '@')
			continue;
		if (!json_object_get(c->desc[o], k) && map_find_remote(maps[o], k))
			continue;
		json_object_set_new(out, k, json_is_string(v) && !*json_string_value(v) ? json_null() : json_incref(v));
	}
	return out;
}

static void item_error(struct write_item *w, const json_t *errors, long http)
{
	const json_t *e = json_array_get(errors, 0);

	err_set(&w->err, CRM_ERECORD, "rejected", "Salesforce refused the record");
	if (e)
		fill_error(e, &w->err);
	w->err.http_status = http;
}

/* The external-id field a record carries, if any (WR_UPSERT, §6). */
static const char *ext_field(struct conn *c, enum obj o, const json_t *fields)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)fields, k, v) {
		json_t *f = json_object_get(c->desc[o], k);
		if (json_is_true(json_object_get(f, "externalId")) && !jx_is_empty(v))
			return k;
	}
	return NULL;
}

/* One sObject Collections call for n <= 200 items.  A call refused as a
 * whole (400 naming no record) is split in halves until the bad record is
 * alone, so the good ones land (DESIGN hard part 2). */
static int coll_call(struct conn *c, enum obj o, enum write_op op, const char *ext, struct write_item *items,
		     size_t n, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *body = NULL, *r;
	const char *method;
	unsigned flags = HTTP_IDEMPOTENT;
	size_t i;
	int rc;

	if (op == WR_DELETE) {
		method = "DELETE";
		buf_addf(&path, "%s/composite/sobjects?allOrNone=false&ids=", c->api);
		for (i = 0; i < n; i++) {
			char id[19];
			buf_addf(&path, "%s%s", i ? "," : "", id18(items[i].remote_id, id));
		}
	} else {
		json_t *recs = json_array();
		for (i = 0; i < n; i++) {
			json_t *rec = sf_body(c, o, items[i].fields);
			json_object_set_new(rec, "attributes", json_pack("{s:s}", "type", sobject[o]));
			if (op == WR_UPDATE) {
				char id[19];
				json_object_set_new(rec, "id", json_string(id18(items[i].remote_id, id)));
			}
			json_array_append_new(recs, rec);
		}
		body = json_pack("{s:b,s:o}", "allOrNone", 0, "records", recs);
		if (ext) {
			method = "PATCH";
			buf_addf(&path, "%s/composite/sobjects/%s/%s", c->api, sobject[o], ext);
		} else if (op == WR_UPDATE) {
			method = "PATCH";
			buf_addf(&path, "%s/composite/sobjects", c->api);
		} else {
			/* A create is the one write that is not safe to repeat. */
			method = "POST";
			flags = 0;
			buf_addf(&path, "%s/composite/sobjects", c->api);
		}
	}
	rc = api(c, method, path.buf, body, B_MAIN, flags, &ans, err);
	json_decref(body);
	buf_release(&path);
	if (rc == CRM_ERECORD && n > 1) {
		json_decref(ans);
		if ((rc = coll_call(c, o, op, ext, items, n / 2, err)) < 0)
			return rc;
		return coll_call(c, o, op, ext, items + n / 2, n - n / 2, err);
	}
	if (rc == CRM_ERECORD) {
		items[0].err = *err;
		err_clear(err);
		json_decref(ans);
		return 0;
	}
	if (rc < 0) {
		json_decref(ans);
		return rc;
	}
	/* §6: results in request order. */
	for (i = 0; i < n; i++) {
		r = json_array_get(ans, i);
		if (!r) {
			err_set(&items[i].err, CRM_ERECORD, "no_result", "Salesforce's answer did not mention this record");
			continue;
		}
		if (!json_is_true(json_object_get(r, "success"))) {
			item_error(&items[i], json_object_get(r, "errors"), 200);
			continue;
		}
		const char *id = jx_str(r, "id");
		item_set_id(&items[i], id ? id : items[i].remote_id ? items[i].remote_id : "");
		items[i].created = ext ? json_is_true(json_object_get(r, "created")) : op == WR_CREATE || op == WR_UPSERT;
	}
	json_decref(ans);
	return 0;
}

static int bulk_ingest(struct conn *c, enum obj o, enum write_op op, const char *ext, struct write_item *items,
		       size_t n, struct crm_err *err);

/* Writes items in calls of <= 200.  A create whose answer was lost is
 * reported back (CRM_EAMBIG: whole when it is the only call, else on each
 * record of that call), so cmd/push looks the records up again. */
static int coll_write(struct conn *c, enum obj o, enum write_op op, const char *ext, struct write_item *items,
		      size_t n, struct crm_err *err)
{
	for (size_t off = 0; off < n; off += COLL_MAX) {
		size_t k = n - off < COLL_MAX ? n - off : COLL_MAX;
		int rc = coll_call(c, o, op, ext, items + off, k, err);
		if (rc == CRM_EAMBIG && n > COLL_MAX) {
			/* This call's answer was lost: cmd/push looks these records up
			 * again and sends again only those that are not there. */
			for (size_t i = off; i < off + k; i++)
				items[i].err = *err;
			err_clear(err);
			continue;
		}
		if (rc < 0 && off) {
			/* Earlier calls landed: keep their results, fail the rest with the reason. */
			for (size_t i = off; i < n; i++)
				items[i].err = *err;
			return 0;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int sf_write(struct conn *c, enum obj o, enum write_op op, struct write_item *items,
		    size_t n, struct crm_err *err)
{
	int rc;
	/* Bulk from the threshold, or from a full batch (Salesforce advises Bulk
	 * from about 2,000 records, §6); "off" never. */
	size_t bulk_at = c->bulk_threshold == LONG_MAX ? SIZE_MAX
			 : c->bulk_threshold < BATCH_MAX ? (size_t)c->bulk_threshold : BATCH_MAX;

	if ((rc = load_desc(c, o, err)) < 0)
		return rc;
	if (op == WR_UPSERT) {
		/* Records that carry an external id upsert on it, in one idempotent call;
		 * the others are plain creates.  Group them so each call has one kind. */
		const char *ext = NULL;
		size_t na = 0;
		for (size_t i = 0; i < n; i++) {
			const char *e = ext_field(c, o, items[i].fields);
			if (e && (!ext || !strcmp(e, ext))) {
				ext = e;
				na++;
			}
		}
		if (!ext)
			op = WR_CREATE;
		else if (na < n) {
			struct write_item *a = calloc(na, sizeof(*a)), *b = calloc(n - na, sizeof(*b));
			size_t ia = 0, ib = 0;
			for (size_t i = 0; i < n; i++) {
				const char *e = ext_field(c, o, items[i].fields);
				if (e && !strcmp(e, ext))
					a[ia++] = items[i];
				else
					b[ib++] = items[i];
			}
			rc = sf_write(c, o, WR_UPSERT, a, na, err);
			if (rc == 0)
				rc = sf_write(c, o, WR_UPSERT, b, n - na, err);
			ia = ib = 0;
			for (size_t i = 0; i < n; i++) {
				const char *e = ext_field(c, o, items[i].fields);
				items[i] = e && !strcmp(e, ext) ? a[ia++] : b[ib++];
			}
			free(a);
			free(b);
			return rc;
		} else {
			if (n >= bulk_at && n > 0)
				return bulk_ingest(c, o, op, ext, items, n, err);
			return coll_write(c, o, op, ext, items, n, err);
		}
	}
	if (n >= bulk_at && n > 0)
		return bulk_ingest(c, o, op, NULL, items, n, err);
	return coll_write(c, o, op, NULL, items, n, err);
}

/* ---- Bulk API 2.0 ingest (§6) ---- */

static void csv_cellw(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_addc(b, '"');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

/* The text of a cell: "" = leave unchanged, "#N/A" = null (BULK). */
static const char *cell_text(const json_t *v, char *tmp, size_t n)
{
	if (!v)
		return "";
	if (json_is_null(v) || (json_is_string(v) && !*json_string_value(v)))
		return "#N/A";
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	const char *s = jx_text(v, tmp, n);
	return s ? s : "";
}

/* One ingest job for the whole batch: create, upload the CSV, close, wait,
 * then map the successful and failed result files back to the items.
 * Result rows come in any order (§12.7): each is matched to its item by the
 * input columns it echoes. */
static int bulk_ingest(struct conn *c, enum obj o, enum write_op op, const char *ext, struct write_item *items,
		       size_t n, struct crm_err *err)
{
	struct buf path = BUF_INIT, csv = BUF_INIT, key = BUF_INIT;
	json_t *cols = json_array(), *seen = json_object(), *keys = json_object(), *ans = NULL, *job = NULL;
	char id[64] = "", tmp[64];
	const char *opname = op == WR_DELETE ? "delete" : op == WR_UPDATE ? "update" : ext ? "upsert" : "insert";
	size_t i, j;
	int rc;

	/* Columns: Id for update/delete, then every field any item writes. */
	if (op == WR_DELETE || op == WR_UPDATE)
		json_array_append_new(cols, json_string("Id"));
	for (i = 0; op != WR_DELETE && i < n; i++) {
		json_t *body = sf_body(c, o, items[i].fields), *v;
		const char *k;
		json_object_foreach(body, k, v)
			if (!json_object_get(seen, k)) {
				json_object_set_new(seen, k, json_true());
				json_array_append_new(cols, json_string(k));
			}
		json_decref(body);
	}
	json_array_foreach(cols, j, ans)
		buf_adds(&csv, j ? "," : ""), csv_cellw(&csv, json_string_value(ans));
	ans = NULL;
	buf_addc(&csv, '\n');
	for (i = 0; i < n; i++) {
		json_t *body = op == WR_DELETE ? json_object() : sf_body(c, o, items[i].fields), *col;
		buf_reset(&key);
		json_array_foreach(cols, j, col) {
			const char *name = json_string_value(col), *cell;
			char idb[19];
			if (!strcmp(name, "Id") && (op == WR_DELETE || op == WR_UPDATE))
				cell = id18(items[i].remote_id, idb);
			else
				cell = cell_text(json_object_get(body, name), tmp, sizeof(tmp));
			if (j)
				buf_addc(&csv, ',');
			csv_cellw(&csv, cell);
			buf_addf(&key, "%s%s", j ? "\x1f" : "", cell);
		}
		buf_addc(&csv, '\n');
		/* key -> the items with exactly these cells, in input order. */
		json_t *list = json_object_get(keys, key.buf);
		if (!list)
			json_object_set_new(keys, key.buf, list = json_array());
		json_array_append_new(list, json_integer((json_int_t)i));
		json_decref(body);
	}
	json_decref(seen);

	json_t *req = json_pack("{s:s,s:s,s:s,s:s}", "object", sobject[o], "operation", opname, "contentType", "CSV",
				"lineEnding", "LF");
	if (ext)
		json_object_set_new(req, "externalIdFieldName", json_string(ext));
	buf_addf(&path, "%s/jobs/ingest", c->api);
	/* An unused open job is harmless: safe to send again. */
	rc = api(c, "POST", path.buf, req, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	json_decref(req);
	if (rc < 0)
		goto done;
	snprintf(id, sizeof(id), "%s", jx_str(ans, "id") ? jx_str(ans, "id") : "");
	json_decref(ans);
	ans = NULL;
	if (!id[0]) {
		rc = err_set(err, CRM_EUNAVAIL, "bad_response", "Salesforce's Bulk ingest job answer has no id");
		goto done;
	}
	{
		struct http_resp r;
		buf_reset(&path);
		buf_addf(&path, "%s/jobs/ingest/%s/batches", c->api, id);
		http_resp_init(&r);
		rc = send_req(c, "PUT", path.buf, csv.buf, csv.len, "text/csv", B_MAIN, 0, &r, err);
		http_resp_release(&r);
	}
	if (rc < 0) {
		/* Nothing runs before UploadComplete: abort, and the outcome is known. */
		struct crm_err e2 = CRM_ERR_INIT;
		json_t *ab = json_pack("{s:s}", "state", "Aborted");
		buf_reset(&path);
		buf_addf(&path, "%s/jobs/ingest/%s", c->api, id);
		api(c, "PATCH", path.buf, ab, B_MAIN, HTTP_IDEMPOTENT, NULL, &e2);
		json_decref(ab);
		if (rc == CRM_EAMBIG)
			rc = err->status = CRM_EUNAVAIL;
		goto done;
	}
	{
		json_t *uc = json_pack("{s:s}", "state", "UploadComplete");
		buf_reset(&path);
		buf_addf(&path, "%s/jobs/ingest/%s", c->api, id);
		rc = api(c, "PATCH", path.buf, uc, B_MAIN, HTTP_IDEMPOTENT, NULL, err);
		json_decref(uc);
	}
	if (rc < 0 && rc != CRM_ERECORD)
		goto done; /* a 400 may mean an earlier try closed it already: look */
	if ((rc = bulk_wait(c, "ingest", id, &job, err)) < 0)
		goto done;
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		struct http_resp r;
		json_t *rows = NULL, *row;
		buf_reset(&path);
		buf_addf(&path, "%s/jobs/ingest/%s/%s", c->api, id, pass ? "failedResults" : "successfulResults");
		http_resp_init(&r);
		rc = send_req(c, "GET", path.buf, NULL, 0, NULL, B_MAIN, HTTP_IDEMPOTENT, &r, err);
		if (rc == 0)
			rc = parse_csv(r.body.buf, r.body.len, &rows, err);
		http_resp_release(&r);
		json_array_foreach(rows, i, row) {
			json_t *cell;
			if (!i)
				continue;
			buf_reset(&key);
			json_array_foreach(row, j, cell)
				if (j >= 2)
					buf_addf(&key, "%s%s", j > 2 ? "\x1f" : "", json_string_value(cell) ? json_string_value(cell) : "");
			json_t *list = json_object_get(keys, key.buf);
			json_t *first = json_array_get(list, 0);
			if (!first)
				continue;
			struct write_item *w = &items[json_integer_value(first)];
			json_array_remove(list, 0);
			const char *a = json_string_value(json_array_get(row, 0)), *b = json_string_value(json_array_get(row, 1));
			if (!pass) {
				item_set_id(w, a ? a : w->remote_id ? w->remote_id : "");
				w->created = op == WR_CREATE || (op == WR_UPSERT && (!ext || (b && !strcmp(b, "true"))));
			} else {
				/* sf__Error: "STATUS_CODE:message:fields --" */
				const char *msg = b ? b : "";
				size_t cl = strcspn(msg, ":");
				err_set(&w->err, CRM_ERECORD, "rejected", "Salesforce: %s", msg[cl] ? msg + cl + 1 : msg);
				snprintf(w->err.code, sizeof(w->err.code), "%.*s", (int)(cl < 63 ? cl : 63), msg);
				char *tail = strrchr(w->err.message, ':');
				if (tail && !strcmp(tail + strcspn(tail, " "), " --")) {
					snprintf(w->err.field, sizeof(w->err.field), "%.*s", (int)strcspn(tail + 1, ", "), tail + 1);
					*tail = '\0';
				}
				w->err.http_status = 200;
			}
		}
		json_decref(rows);
	}
	for (i = 0; i < n && rc == 0; i++)
		if (!items[i].err.status && !items[i].id_out[0])
			err_set(&items[i].err, CRM_ERECORD, "no_result", "Salesforce's Bulk job %s did not report this record", id);
done:
	json_decref(job);
	json_decref(cols);
	json_decref(keys);
	buf_release(&path);
	buf_release(&csv);
	buf_release(&key);
	return rc;
}

/* ---- status (§9, §10) ---- */

/* Organization.IsSandbox (§9): true in a sandbox org.  A Developer
 * Edition org is a production org to this flag.  Null when the query
 * fails (a user without access to Organization): the connection is
 * still healthy, the answer unknown. */
static json_t *sf_sandbox(struct conn *c)
{
	struct crm_err e = CRM_ERR_INIT;
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *v;

	query_path(c, 0, "SELECT IsSandbox FROM Organization", &path);
	int rc = api(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, &e);
	buf_release(&path);
	v = rc < 0 ? NULL : json_object_get(json_array_get(json_object_get(ans, "records"), 0), "IsSandbox");
	v = json_is_boolean(v) ? json_incref(v) : json_null();
	json_decref(ans);
	return v;
}

static int sf_status(struct conn *c, json_t *out, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *lim = NULL, *rl = json_object();
	const char *ns;
	int rc;

	if (!(ns = sf_namespace(c, err))) {
		json_decref(rl);
		return err->status;
	}
	buf_addf(&path, "%s/limits", c->api);
	rc = api(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &lim, err);
	buf_release(&path);
	if (rc == CRM_EAUTH && c->api_max > 0) {
		/* No "View Setup and Configuration": the header of that answer is enough. */
		rc = 0;
		err_clear(err);
	}
	if (rc < 0) {
		json_decref(rl);
		return rc;
	}
	json_t *d = json_object_get(lim, "DailyApiRequests");
	json_t *mx = json_object_get(d, "Max"), *re = json_object_get(d, "Remaining");
	long long max = json_is_integer(mx) ? json_integer_value(mx) : c->api_max;
	long long rem = json_is_integer(re) ? json_integer_value(re) : c->api_max > 0 ? c->api_max - c->api_used : -1;
	if (max > 0) {
		json_object_set_new(rl, "max", json_integer(max));
		json_object_set_new(rl, "remaining", json_integer(rem));
	}
	json_object_set_new(rl, "window", json_string("24h rolling"));
	static const char *const keep[] = { "DailyApiRequests", "DailyBulkApiBatches", "DailyBulkV2QueryJobs", NULL };
	for (int i = 0; keep[i]; i++)
		if (json_object_get(lim, keep[i]))
			json_object_set(rl, keep[i], json_object_get(lim, keep[i]));
	json_object_set_new(out, "namespace", json_string(ns));
	json_object_set_new(out, "rate_limit", rl);
	json_object_set_new(out, "instance_url", json_string(c->base));
	json_object_set_new(out, "api_version", json_string(c->api + strlen("/services/data/")));
	json_object_set_new(out, "sandbox", sf_sandbox(c));
	json_decref(lim);
	return 0;
}

/* ---- lists = Campaigns (§8) ---- */

static int query_all_pages(struct conn *c, const char *soql, json_t *acc, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	char *next;
	int rc = 0;

	struct pager_guard g;

	query_path(c, 0, soql, &path);
	next = buf_detach(&path, NULL);
	pager_guard_init(&g, "Salesforce");
	while (next && rc == 0) {
		json_t *ans = NULL;
		rc = api(c, "GET", next, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		free(next);
		next = NULL;
		if (rc < 0)
			break;
		json_array_extend(acc, json_object_get(ans, "records"));
		rc = next_url(&g, ans, &next, err);
		json_decref(ans);
	}
	pager_guard_release(&g);
	free(next);
	return rc;
}

static int sf_lists(struct conn *c, json_t **out, struct crm_err *err)
{
	json_t *recs = json_array(), *r, *res;
	size_t i;
	int rc;

	rc = query_all_pages(c, "SELECT Id, Name, IsActive, Type, Status, NumberOfContacts, NumberOfLeads "
			     "FROM Campaign ORDER BY Name, Id", recs, err);
	if (rc < 0) {
		json_decref(recs);
		return rc;
	}
	res = json_array();
	json_array_foreach(recs, i, r)
		json_array_append_new(res, json_pack("{s:s,s:O?,s:O?,s:O?,s:b,s:{s:O?,s:O?,s:O?,s:O?}}",
			"object", "list", "remote_id", json_object_get(r, "Id"), "name", json_object_get(r, "Name"),
			/* Members are the campaign's contacts (lists members streams contacts). */
			"size", json_object_get(r, "NumberOfContacts"), "dynamic", 0,
			"remote_fields", "IsActive", json_object_get(r, "IsActive"), "Type", json_object_get(r, "Type"),
			"Status", json_object_get(r, "Status"), "NumberOfLeads", json_object_get(r, "NumberOfLeads")));
	json_decref(recs);
	*out = res;
	return 0;
}

static int check_campaign(struct conn *c, const char *list, char *id_out, struct crm_err *err)
{
	struct buf q = BUF_INIT;
	json_t *recs = json_array();
	int rc;

	if (!is_id(list) || strncmp(list, "701", 3)) {
		json_decref(recs);
		return err_set(err, CRM_EUSAGE, "no_such_list",
			       "'%s' is not a Salesforce campaign id (701...); see: crmsync -p salesforce lists", list);
	}
	id18(list, id_out);
	buf_adds(&q, "SELECT Id FROM Campaign WHERE Id = ");
	soql_str(&q, id_out);
	rc = query_all_pages(c, q.buf, recs, err);
	buf_release(&q);
	if (rc == 0 && !json_array_size(recs))
		rc = err_set(err, CRM_EUSAGE, "no_such_list", "Salesforce has no campaign %s", list);
	json_decref(recs);
	return rc;
}

/* Members: the campaign's contacts, by CampaignMember, read in pages. */
static int members_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *ids = json_array(), *m, *byid = NULL;
	size_t i;
	int rc;

	if (p->next) {
		buf_adds(&path, p->next);
	} else {
		struct buf q = BUF_INIT;
		buf_adds(&q, "SELECT Id, ContactId FROM CampaignMember WHERE CampaignId = ");
		soql_str(&q, p->campaign);
		buf_adds(&q, " AND ContactId != null ORDER BY ContactId");
		query_path(c, 0, q.buf, &path);
		buf_release(&q);
	}
	rc = api(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&path);
	if (rc < 0) {
		json_decref(ids);
		return rc;
	}
	json_array_foreach(json_object_get(ans, "records"), i, m)
		if (jx_str(m, "ContactId"))
			json_array_append_new(ids, json_string(jx_str(m, "ContactId")));
	if (json_is_integer(json_object_get(ans, "totalSize")))
		p->total = json_integer_value(json_object_get(ans, "totalSize"));
	free(p->next);
	if ((rc = next_url(&p->guard, ans, &p->next, err)) < 0) {
		json_decref(ans);
		json_decref(ids);
		return rc;
	}
	if (!p->next)
		p->phase = 2;
	json_decref(ans);
	if ((rc = sf_read(c, OBJ_CONTACT, ids, &byid, err)) < 0) {
		json_decref(ids);
		return rc;
	}
	*page = json_array();
	json_array_foreach(ids, i, m) {
		json_t *e = json_object_get(byid, json_string_value(m));
		if (e)
			json_array_append(*page, e);
	}
	json_decref(ids);
	json_decref(byid);
	return 0;
}

/* Adds (a CampaignMember per contact or lead) or removes (deletes the
 * member rows).  Already a member / not a member: unchanged (created = 0). */
static int sf_list_write(struct conn *c, const char *list, int add, struct write_item *items,
			 size_t n, struct crm_err *err)
{
	char camp[19];
	int rc;

	if ((rc = check_campaign(c, list, camp, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		char id[19];
		id18(items[i].remote_id, id);
		item_set_id(&items[i], items[i].remote_id);
		if (!is_id(items[i].remote_id) || (strncmp(id, "003", 3) && strncmp(id, "00Q", 3))) {
			err_set(&items[i].err, CRM_ERECORD, "not_a_contact",
				"%s is not a Salesforce contact (003...) or lead (00Q...) id", items[i].remote_id);
		}
	}
	if (add) {
		json_t *recs = json_array(), *ans = NULL, *r;
		size_t *pos = calloc(n ? n : 1, sizeof(*pos)), k = 0, i;
		struct buf path = BUF_INIT;
		for (i = 0; i < n; i++) {
			char id[19];
			if (items[i].err.status)
				continue;
			id18(items[i].remote_id, id);
			json_array_append_new(recs, json_pack("{s:{s:s},s:s,s:s}", "attributes", "type", "CampaignMember",
							      "CampaignId", camp, strncmp(id, "003", 3) ? "LeadId" : "ContactId", id));
			pos[k++] = i;
		}
		json_t *body = json_pack("{s:b,s:o}", "allOrNone", 0, "records", recs);
		buf_addf(&path, "%s/composite/sobjects", c->api);
		/* Adding twice is harmless (DUPLICATE_VALUE = already a member). */
		rc = k ? api(c, "POST", path.buf, body, B_MAIN, HTTP_IDEMPOTENT, &ans, err) : 0;
		json_decref(body);
		buf_release(&path);
		for (i = 0; i < k && rc == 0; i++) {
			struct write_item *w = &items[pos[i]];
			r = json_array_get(ans, i);
			if (json_is_true(json_object_get(r, "success"))) {
				w->created = 1;
				continue;
			}
			json_t *e = json_array_get(json_object_get(r, "errors"), 0);
			const char *code = jx_str(e, "statusCode");
			if (code && !strcmp(code, "DUPLICATE_VALUE"))
				continue; /* §8: already a campaign member */
			item_error(w, json_object_get(r, "errors"), 200);
			if (code && !strcmp(code, "INVALID_CROSS_REFERENCE_KEY"))
				snprintf(w->err.code, sizeof(w->err.code), "not_found");
		}
		json_decref(ans);
		free(pos);
		return rc;
	}
	/* remove: find the member rows, then delete them. */
	struct buf q = BUF_INIT;
	json_t *rows = json_array(), *r;
	size_t i, k = 0;
	buf_adds(&q, "SELECT Id, ContactId, LeadId FROM CampaignMember WHERE CampaignId = ");
	soql_str(&q, camp);
	buf_adds(&q, " AND (ContactId IN (");
	for (i = 0; i < n; i++) {
		char id[19];
		if (items[i].err.status)
			continue;
		if (k++)
			buf_addc(&q, ',');
		soql_str(&q, id18(items[i].remote_id, id));
	}
	buf_adds(&q, ") OR LeadId IN (");
	for (i = 0, k = 0; i < n; i++) {
		char id[19];
		if (items[i].err.status)
			continue;
		if (k++)
			buf_addc(&q, ',');
		soql_str(&q, id18(items[i].remote_id, id));
	}
	buf_adds(&q, "))");
	rc = k ? query_all_pages(c, q.buf, rows, err) : 0;
	buf_release(&q);
	if (rc == 0 && json_array_size(rows)) {
		struct buf path = BUF_INIT;
		json_t *ans = NULL;
		buf_addf(&path, "%s/composite/sobjects?allOrNone=false&ids=", c->api);
		json_array_foreach(rows, i, r)
			buf_addf(&path, "%s%s", i ? "," : "", jx_str(r, "Id"));
		rc = api(c, "DELETE", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		buf_release(&path);
		json_array_foreach(rows, i, r) {
			json_t *res = json_array_get(ans, i);
			const char *who = jx_str(r, "ContactId") ? jx_str(r, "ContactId") : jx_str(r, "LeadId");
			for (size_t x = 0; who && x < n && rc == 0; x++) {
				char id[19];
				if (items[x].err.status || strcmp(id18(items[x].remote_id, id), who))
					continue;
				if (json_is_true(json_object_get(res, "success")))
					items[x].created = 1;
				else
					item_error(&items[x], json_object_get(res, "errors"), 200);
			}
		}
		json_decref(ans);
	}
	json_decref(rows);
	return rc;
}

static const char *const sf_env[] = {
	"SALESFORCE_ACCESS_TOKEN", "SALESFORCE_INSTANCE_URL", "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET",
	"SALESFORCE_REFRESH_TOKEN", "SALESFORCE_LOGIN_URL", NULL
};

/* The readers for the fuzz targets (provider.h: read_error, read_record). */
static json_t *read_record(enum obj o, json_t *raw)
{
	return envelope(o, raw, 1);
}

const struct provider provider_salesforce = {
	.name = "salesforce",
	.read_error = fill_error, .read_record = read_record,
	.listed = 2,
	.env_vars = sf_env,
	/* SystemModstamp is set when a transaction starts, so a long one commits
	 * rows stamped in the past (unverified; Airbyte keeps 10 minutes, §4). */
	.lookback_s = 300,
	.batch_max = BATCH_MAX,
	.concurrency = 2, /* no per-second quota; 2 x 2,000 lines bounds memory */
	.obj = { [OBJ_ACCOUNT] = &o_account, [OBJ_CONTACT] = &o_contact, [OBJ_USER] = &o_user,
		 [OBJ_LEAD] = &o_lead, [OBJ_DEAL] = &o_deal },
	.deleted_note = "Salesforce keeps deleted records in the Recycle Bin for 15 days (less when the bin is full "
			"or emptied); records purged or hard-deleted before the pull, and users (deactivated, never "
			"deleted), are not reported",
	.has_lists = 1,
	/* Ids: 15- or 18-character ids, campaigns too. */
	.id_syntax = ID_SFDC,
	.list_id_syntax = ID_SFDC,
	.open = sf_open,
	.close = sf_close,
	.namespace = sf_namespace,
	.status = sf_status,
	.fields = sf_fields,
	.where_can = sf_where_can,
	.where_max = 20,
	.pull_open = sf_pull_open,
	.pull_next = sf_pull_next,
	.pull_close = sf_pull_close,
	.pull_total = sf_pull_total,
	.pull_fixup = sf_fixup,
	.find = sf_find,
	.read = sf_read,
	.write = sf_write,
	.lists = sf_lists,
	.list_write = sf_list_write,
};
