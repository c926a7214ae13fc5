/* Zoho CRM: v8 records, fields metadata, org, users, Campaigns' related
 * lists, and the accounts server of the user's data centre for OAuth.
 * Wire facts: ../shared/api/zoho.md (section numbers below refer to it). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

#define ZO_ACCOUNTS "https://accounts.zoho.com"
#define ZO_API "https://www.zohoapis.com"
#define ZO_V "/crm/v8"
#define B_MAIN 0
#define PER_PAGE 200        /* §3: per_page <= 200 */
#define DISCRETE_LIMIT 2000 /* §3: `page` reaches the first 2,000 records only */
#define FIELDS_MAX 50       /* §3: <= 50 field names per list call */
#define IDS_MAX 100         /* §3 ids filter, §6 writes: <= 100 */
#define CRITERIA_MAX 10     /* §4: <= 10 criteria per search */
#define COQL_LIMIT 2000     /* §4: a COQL call returns <= 2,000 rows */
#define COQL_CRITERIA 25    /* §4: <= 25 WHERE criteria per COQL query */
#define COQL_IN_MAX 50      /* §16: `in` takes <= 50 values */
#define COQL_OFFSET_MAX 100000 /* §4: a query's rows reach offset 100,000 */

/* ---- the tables: unified <-> Zoho API names (§2) ---- */

static const struct map_entry contact_map[] = {
	{ "first_name", "First_Name", MK_STR, NULL, NULL, 0 },
	{ "last_name", "Last_Name", MK_STR, NULL, NULL, 0 },
	{ "title", "Title", MK_STR, NULL, NULL, 0 },
	{ "email_addresses", "Email", MK_EMAIL, NULL, NULL, MF_PRIMARY },
	{ "email_addresses", "Secondary_Email", MK_EMAIL, NULL, NULL, 0 },
	{ "phone_numbers", "Phone", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "Mobile", MK_PHONE, "MOBILE", NULL, 0 },
	{ "phone_numbers", "Home_Phone", MK_PHONE, "HOME", NULL, 0 },
	{ "phone_numbers", "Other_Phone", MK_PHONE, "OTHER", NULL, 0 },
	{ "phone_numbers", "Fax", MK_PHONE, "FAX", NULL, 0 },
	{ "addresses", "Mailing_Street", MK_ADDR, "MAILING", "street_1", 0 },
	{ "addresses", "Mailing_City", MK_ADDR, "MAILING", "city", 0 },
	{ "addresses", "Mailing_State", MK_ADDR, "MAILING", "state", 0 },
	{ "addresses", "Mailing_Zip", MK_ADDR, "MAILING", "postal_code", 0 },
	{ "addresses", "Mailing_Country", MK_ADDR, "MAILING", "country", 0 },
	{ "addresses", "Other_Street", MK_ADDR, "OTHER", "street_1", 0 },
	{ "addresses", "Other_City", MK_ADDR, "OTHER", "city", 0 },
	{ "addresses", "Other_State", MK_ADDR, "OTHER", "state", 0 },
	{ "addresses", "Other_Zip", MK_ADDR, "OTHER", "postal_code", 0 },
	{ "addresses", "Other_Country", MK_ADDR, "OTHER", "country", 0 },
	{ "account", "Account_Name", MK_REL, NULL, NULL, 0 },
	{ "owner", "Owner", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "Last_Activity_Time", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* No domain field: `domain` is derived from Website on pull (zo_fixup). */
static const struct map_entry account_map[] = {
	{ "name", "Account_Name", MK_STR, NULL, NULL, 0 },
	{ "description", "Description", MK_STR, NULL, NULL, 0 },
	{ "industry", "Industry", MK_STR, NULL, NULL, MF_OPTION },
	{ "website", "Website", MK_STR, NULL, NULL, 0 },
	{ "number_of_employees", "Employees", MK_INT, NULL, NULL, 0 },
	{ "phone_numbers", "Phone", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "Fax", MK_PHONE, "FAX", NULL, 0 },
	{ "addresses", "Billing_Street", MK_ADDR, "BILLING", "street_1", 0 },
	{ "addresses", "Billing_City", MK_ADDR, "BILLING", "city", 0 },
	{ "addresses", "Billing_State", MK_ADDR, "BILLING", "state", 0 },
	{ "addresses", "Billing_Code", MK_ADDR, "BILLING", "postal_code", 0 },
	{ "addresses", "Billing_Country", MK_ADDR, "BILLING", "country", 0 },
	{ "addresses", "Shipping_Street", MK_ADDR, "SHIPPING", "street_1", 0 },
	{ "addresses", "Shipping_City", MK_ADDR, "SHIPPING", "city", 0 },
	{ "addresses", "Shipping_State", MK_ADDR, "SHIPPING", "state", 0 },
	{ "addresses", "Shipping_Code", MK_ADDR, "SHIPPING", "postal_code", 0 },
	{ "addresses", "Shipping_Country", MK_ADDR, "SHIPPING", "country", 0 },
	{ "owner", "Owner", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "Last_Activity_Time", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* Conversion fields are read-only: Zoho sets them when a lead is converted (§2). */
static const struct map_entry lead_map[] = {
	{ "first_name", "First_Name", MK_STR, NULL, NULL, 0 },
	{ "last_name", "Last_Name", MK_STR, NULL, NULL, 0 },
	{ "title", "Designation", MK_STR, NULL, NULL, 0 },
	{ "company", "Company", MK_STR, NULL, NULL, 0 },
	{ "email_addresses", "Email", MK_EMAIL, NULL, NULL, MF_PRIMARY },
	{ "email_addresses", "Secondary_Email", MK_EMAIL, NULL, NULL, 0 },
	{ "phone_numbers", "Phone", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "Mobile", MK_PHONE, "MOBILE", NULL, 0 },
	{ "phone_numbers", "Fax", MK_PHONE, "FAX", NULL, 0 },
	{ "addresses", "Street", MK_ADDR, NULL, "street_1", 0 },
	{ "addresses", "City", MK_ADDR, NULL, "city", 0 },
	{ "addresses", "State", MK_ADDR, NULL, "state", 0 },
	{ "addresses", "Zip_Code", MK_ADDR, NULL, "postal_code", 0 },
	{ "addresses", "Country", MK_ADDR, NULL, "country", 0 },
	{ "status", "Lead_Status", MK_STR, NULL, NULL, MF_OPTION },
	{ "source", "Lead_Source", MK_STR, NULL, NULL, MF_OPTION },
	{ "owner", "Owner", MK_REL, NULL, NULL, 0 },
	{ "converted_at", "Converted_Date_Time", MK_TIME, NULL, NULL, MF_RO },
	{ "converted_contact", "Converted_Contact", MK_REL, NULL, NULL, MF_RO },
	{ "converted_account", "Converted_Account", MK_REL, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* Stage and Pipeline are options (lib/options): status follows from the
 * Stage option's forecast_type (zo_fields, §15).  probability is the
 * deal's own Probability, already a percentage (§15). */
static const struct map_entry deal_map[] = {
	{ "name", "Deal_Name", MK_STR, NULL, NULL, 0 },
	{ "description", "Description", MK_STR, NULL, NULL, 0 },
	{ "amount", "Amount", MK_NUM, NULL, NULL, 0 },
	{ "currency", "Currency", MK_STR, NULL, NULL, 0 },
	{ "stage", "Stage", MK_STR, NULL, NULL, MF_STAGE },
	{ "pipeline", "Pipeline", MK_STR, NULL, NULL, MF_PIPELINE },
	{ "probability", "Probability", MK_NUM, NULL, NULL, 0 },
	{ "close_date", "Closing_Date", MK_DATE, NULL, NULL, 0 },
	{ "account", "Account_Name", MK_REL, NULL, NULL, 0 },
	{ "owner", "Owner", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "Last_Activity_Time", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* Users API (§9): read-only; is_active from status (zo_fixup). */
static const struct map_entry user_map[] = {
	{ "name", "full_name", MK_STR, NULL, NULL, MF_RO },
	{ "first_name", "first_name", MK_STR, NULL, NULL, MF_RO },
	{ "last_name", "last_name", MK_STR, NULL, NULL, MF_RO },
	{ "email", "email", MK_STR, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* No OC_UPSERT: Zoho's upsert (duplicate_check_fields) updates one of
 * several records that share the key, where push must fail ambiguous_match;
 * so push looks up first, and only then upserts a create on Email (§6). */
/* Required on create (the modules' system_mandatory fields). */
static const struct prov_required account_required[] = { { "Account_Name", "name", NULL }, { NULL, NULL, NULL } };
static const struct prov_required contact_required[] = { { "Last_Name", "last_name", NULL }, { NULL, NULL, NULL } };
static const struct prov_required lead_required[] = {
	{ "Last_Name", "last_name", NULL }, { "Company", "company", NULL }, { NULL, NULL, NULL }
};
static const struct prov_required deal_required[] = {
	{ "Deal_Name", "name", NULL }, { "Stage", "stage", NULL }, { NULL, NULL, NULL }
};
static const struct prov_object o_account = { "Accounts", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, account_map, "domain", .match_fallback = "name",
					       .required = account_required };
static const struct prov_object o_contact = { "Contacts", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, contact_map, "email", .required = contact_required };
static const struct prov_object o_user = { "users", OC_PULL, user_map, "email" };
static const struct prov_object o_lead = { "Leads", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, lead_map, "email", .required = lead_required };
static const struct prov_object o_deal = { "Deals", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, deal_map, NULL, .required = deal_required };

static const char *const module_of[OBJ_COUNT] = {
	[OBJ_ACCOUNT] = "Accounts", [OBJ_CONTACT] = "Contacts", [OBJ_USER] = "users",
	[OBJ_LEAD] = "Leads", [OBJ_DEAL] = "Deals",
};

static const struct map_entry *const maps[OBJ_COUNT] = {
	[OBJ_ACCOUNT] = account_map, [OBJ_CONTACT] = contact_map, [OBJ_USER] = user_map,
	[OBJ_LEAD] = lead_map, [OBJ_DEAL] = deal_map,
};

/* The duplicate check of upserts: the default match key's field (§6). */
static const char *const dup_field[OBJ_COUNT] = {
	/* Accounts match on domain (else name) and deals on nothing: their
	 * creates are plain inserts, never an upsert on a name. */
	[OBJ_CONTACT] = "Email", [OBJ_LEAD] = "Email",
};

/* Data centres (§1): accounts server <-> API domain. */
static const struct { const char *accounts, *api; } dcs[] = {
	{ "https://accounts.zoho.com", "https://www.zohoapis.com" },
	{ "https://accounts.zoho.eu", "https://www.zohoapis.eu" },
	{ "https://accounts.zoho.in", "https://www.zohoapis.in" },
	{ "https://accounts.zoho.com.au", "https://www.zohoapis.com.au" },
	{ "https://accounts.zoho.jp", "https://www.zohoapis.jp" },
	{ "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn" },
	{ "https://accounts.zohocloud.ca", "https://www.zohoapis.ca" },
	{ "https://accounts.zoho.sa", "https://www.zohoapis.sa" },
};

/* ---- connection ---- */

struct conn {
	struct http *http;
	pthread_mutex_t mu;         /* guards api (a token answer may move it) */
	pthread_mutex_t meta_mu;    /* one metadata load at a time (taken before mu) */
	char api[512];              /* API domain, no trailing slash */
	char accounts[512];         /* accounts server of the data centre */
	int api_fixed;              /* --base-url: token answers do not move it */
	struct auth auth;           /* the token and the refresh credentials */
	char zgid[32];              /* remote_namespace (§9) */
	json_t *meta[OBJ_COUNT];    /* api_name -> field definition (§7) */
	json_t *order[OBJ_COUNT];   /* the definitions in metadata order */
	long credits_left;          /* X-API-CREDITS-REMAINING last seen; -1 = not sent (§10) */
	long credits_reserve;       /* stop when this few are left */
	char member_status[64];     /* Member_Status of campaign members added (§8) */
	/* lists add/remove: the members of campaign members_cid (contacts and
	 * leads, id -> true), read once and kept up to date by the writes,
	 * which cmd/lists makes one batch after another. */
	char members_cid[32];
	json_t *members;
};

struct pull {
	struct conn *c;
	struct pull_opts o;
	json_t *slices;             /* arrays of <= 50 field names; the first one drives paging */
	int phase;                  /* 0 live records, 1 deleted ones, 2 done */
	int instant;                /* keyset: paging by id through one second */
	int page;                   /* next page number */
	char *token;                /* next page_token (past record 2,000) */
	long long t;                /* keyset: the lowest Modified_Time still to read (ms) */
	json_t *seen;               /* ids emitted at time t */
	char campaign[32];          /* members: the campaign's id */
	struct pager_guard guard;   /* of the current listing (lib/pager) */
	long long total;            /* records expected (pull_total), -1 unknown */
};

static int zo_refresh(void *ctx, struct crm_err *err);

static json_t *parse_body(const struct http_resp *r)
{
	char why[160];
	return r->body.len ? jx_parse(r->body.buf, r->body.len, 0, why, sizeof(why)) : NULL;
}

static int is_digits(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Orders Zoho ids (digit strings) numerically. */
static int idcmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

static int zo_auth(void *ctx, struct curl_slist **h, struct crm_err *err)
{
	struct conn *c = ctx;
	int rc;

	/* §10, DESIGN hard part 3: credits are the org's, shared with every
	 * other integration; stop at the reserve (runs under lib/http's lock). */
	if (c->credits_reserve > 0 && c->credits_left >= 0 && c->credits_left <= c->credits_reserve)
		return err_set(err, CRM_ETEMP, "credits_low",
			       "Zoho's API credits are nearly spent (%ld left in the rolling 24 hours); crmsync leaves the "
			       "last %ld to the org's other integrations (ZOHO_CREDITS_RESERVE); re-run later",
			       c->credits_left, c->credits_reserve);
	/* Tokens live 3,600 s (§1): refresh a minute early rather than meet a 401. */
	if (auth_due(&c->auth) && (rc = zo_refresh(c, err)) < 0)
		return rc;
	return auth_header(h, "Authorization", "Zoho-oauthtoken ", c->auth.token, err);
}

/* §11: request errors are bare {code, details, message, status}; some
 * copies wrap them in data[] (parse both). */
static void fill_error(const json_t *body, struct crm_err *e, int with_code)
{
	const json_t *b = json_is_array(json_object_get(body, "data")) ? json_array_get(json_object_get(body, "data"), 0) : body;
	const char *code = jx_str(b, "code"), *msg = jx_str(b, "message");
	const json_t *d = json_object_get(b, "details");
	const char *api = jx_str(d, "api_name"), *param = jx_str(d, "param");

	if (code)
		snprintf(e->code, sizeof(e->code), "%s", code);
	if (api || param)
		snprintf(e->field, sizeof(e->field), "%s", api ? api : param);
	if (msg)
		snprintf(e->message, sizeof(e->message), "Zoho: %s%s%s%s", msg, code && with_code ? " (" : "",
			 code && with_code ? code : "", code && with_code ? ")" : "");
}

static int credits_spent(const struct http_resp *resp, const char *msg)
{
	char v[32];
	/* §10: 429 means credits spent or too many concurrent calls, with one
	 * code for both; the credits header at 0 (or the message) tells which. */
	if (http_resp_header(resp, "X-API-CREDITS-REMAINING", v, sizeof(v)) && strtol(v, NULL, 10) <= 0)
		return 1;
	return msg && (strstr(msg, "credit") || strstr(msg, "Credit"));
}

static void zo_classify(void *ctx, const struct http_req *req, const struct http_resp *resp,
			struct http_verdict *v, struct crm_err *err)
{
	struct conn *c = ctx;
	json_t *body;
	const char *code, *msg;

	(void)req;
	if (resp->status == 304) {   /* §4: nothing modified since; an answer, not an error */
		v->action = HA_OK;
		return;
	}
	if (resp->status < 400)
		return;
	body = parse_body(resp);
	code = jx_str(body, "code");
	msg = jx_str(body, "message");
	if (resp->status == 400 && json_is_array(json_object_get(body, "data"))) {
		/* §6: every record of a write failed; the per-record codes are the answer. */
		v->action = HA_OK;
		json_decref(body);
		return;
	}
	switch (resp->status) {
	case 401:
		if (code && (!strcmp(code, "INVALID_TOKEN") || !strcmp(code, "AUTHENTICATION_FAILURE")) &&
		    auth_can_refresh(&c->auth, 0)) {
			v->action = HA_REFRESH;
		} else {
			v->action = HA_FAIL;
			if (code && !strcmp(code, "OAUTH_SCOPE_MISMATCH"))
				err_set(err, CRM_EAUTH, code, "Zoho refused the call: the token lacks the scope for it "
					"(OAUTH_SCOPE_MISMATCH); grant ZohoCRM.modules.ALL, ZohoCRM.settings.fields.READ, "
					"ZohoCRM.users.READ and ZohoCRM.org.READ");
			else
				err_set(err, CRM_EAUTH, code ? code : "unauthorized", "%s",
					c->auth.client_id && c->auth.refresh_token
					? "Zoho refused the access token (HTTP 401) even after a refresh"
					: "Zoho refused the access token (HTTP 401 INVALID_TOKEN): it is invalid or expired (tokens "
					  "live an hour) and no refresh credentials are set (ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, "
					  "ZOHO_REFRESH_TOKEN)");
		}
		break;
	case 403:
		v->action = HA_FAIL;
		err_set(err, CRM_EAUTH, code ? code : "forbidden", "Zoho refused access (HTTP 403%s%s): the user's profile "
			"lacks the permission for this module or call", code ? ", " : "", code ? code : "");
		break;
	case 404:
		v->action = HA_FAIL;
		err_set(err, CRM_ENOTFOUND, code ? code : "not_found", "Zoho has no such resource (HTTP 404%s%s)",
			code ? ", " : "", code ? code : "");
		break;
	case 429:
		v->rate_limited = 1;
		if (credits_spent(resp, msg)) {
			v->action = HA_FAIL;
			err_set(err, CRM_ETEMP, "credits_exhausted",
				"Zoho's API credits for the org are spent (HTTP 429 TOO_MANY_REQUESTS, no credits left in the "
				"rolling 24 hours); they come back as the day's calls age out: re-run later");
		} else {
			/* Too many concurrent calls in the org (§10): back off and retry;
			 * no Retry-After is sent, so wait 2 s unless told. */
			v->action = HA_RETRY;
			v->wait_ms = resp->retry_after_ms > 0 ? resp->retry_after_ms : 2000;
			err_set(err, CRM_ETEMP, "rate_limited",
				"Zoho kept answering 429 TOO_MANY_REQUESTS: too many concurrent calls in the org");
		}
		break;
	default:
		if (resp->status >= 500)
			break; /* lib/: retry when safe (502/503 may be a gateway's HTML page) */
		v->action = HA_FAIL;
		err_set(err, CRM_ERECORD, "http_error", "Zoho answered HTTP %ld", resp->status);
		fill_error(body, err, 1);
	}
	json_decref(body);
}

/* §10: X-API-CREDITS-REMAINING comes only once half the credits are used. */
static void zo_learn(void *ctx, struct http *h, const struct http_req *req, const struct http_resp *resp)
{
	struct conn *c = ctx;
	char v[32];

	(void)h;
	(void)req;
	if (http_resp_header(resp, "X-API-CREDITS-REMAINING", v, sizeof(v)))
		c->credits_left = strtol(v, NULL, 10);
}

static void url_of(struct conn *c, const char *path, struct buf *url)
{
	pthread_mutex_lock(&c->mu);
	buf_adds(url, c->api);
	pthread_mutex_unlock(&c->mu);
	buf_adds(url, path);
}

/* One API call: method, path under the API domain, optional JSON body and
 * If-Modified-Since.  *out: the parsed answer (new; NULL for 204, 304 and
 * empty bodies, which are never parsed: §12.4); *status: the HTTP status. */
static int call(struct conn *c, const char *method, const char *path, const json_t *body, unsigned flags,
		const char *ims, json_t **out, long *status, struct crm_err *err)
{
	struct buf url = BUF_INIT, hdr = BUF_INIT;
	struct http_req q = { method, NULL, NULL, 0, NULL, B_MAIN, flags };
	const char *headers[2] = { NULL, NULL };
	int rc;

	url_of(c, path, &url);
	q.url = url.buf;
	if (ims) {
		/* §4: incremental reads ask with If-Modified-Since (304: nothing new). */
		buf_addf(&hdr, "If-Modified-Since: %s", ims);
		headers[0] = hdr.buf;
		q.headers = headers;
	}
	rc = http_json(c->http, &q, body, out, status, "Zoho", err);
	if (rc == 0 && out && *out && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = err_set(err, CRM_EUNAVAIL, "bad_response",
			     "Zoho answered %s %.*s with JSON that is not an object", method, (int)strcspn(path, "?"), path);
	}
	buf_release(&url);
	buf_release(&hdr);
	return rc;
}

static int set_url(struct conn *c, char *dst, size_t n, const char *url, struct crm_err *err)
{
	int rc = http_check_secure(url, "Zoho", err);
	if (rc < 0)
		return rc;
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return err_set(err, CRM_ECONFIG, "bad_url", "a Zoho URL must start with https:// (got '%s')", url);
	pthread_mutex_lock(&c->mu);
	snprintf(dst, n, "%s", url);
	size_t len = strlen(dst);
	while (len && dst[len - 1] == '/')
		dst[--len] = '\0';
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* §1: a token answer's api_domain is where this token works. */
static int zo_answer(void *ctx, const json_t *body, struct crm_err *err)
{
	struct conn *c = ctx;
	const char *dom = jx_str(body, "api_domain");

	/* A plain-http api_domain is refused (set_url). */
	return dom && !c->api_fixed ? set_url(c, c->api, sizeof(c->api), dom, err) : 0;
}

/* §1: refresh_token grant at the accounts server of the data centre.
 * Errors may come as HTTP 200 bodies without access_token; a 400
 * "Access Denied" is the endpoint's own throttle.  Called by lib/http at
 * most once per request; a refusal is final for the run (LESSONS 11). */
static int zo_refresh(void *ctx, struct crm_err *err)
{
	struct conn *c = ctx;
	struct buf url = BUF_INIT;
	struct auth_oauth o = {
		.bucket = B_MAIN, .answer = zo_answer, .ctx = c,
		.crm = "Zoho", .who = "Zoho's accounts server", .what = "the access token", .detail = 1,
		.check = "ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN and ZOHO_ACCOUNTS_URL",
		.ok_check = "ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN and that ZOHO_ACCOUNTS_URL is "
			    "your data centre's",
		.throttled = "Access Denied",
		.missing_status = CRM_EAUTH,
		.missing = "the Zoho access token expired and no refresh credentials are set "
			   "(ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN)",
	};
	int rc;

	buf_addf(&url, "%s/oauth/v2/token", c->accounts);
	o.url = url.buf;
	rc = auth_refresh(&c->auth, c->http, &o, err);
	buf_release(&url);
	return rc;
}

/* The other half of a data centre pair (§1): api domain <-> accounts URL.
 * Sandbox and developer hosts share their data centre's accounts server. */
static const char *dc_pair(const char *url, int want_api)
{
	const char *p = url ? strstr(url, want_api ? "accounts." : "zohoapis.") : NULL;
	if (!p)
		return NULL;
	for (size_t i = 0; i < sizeof(dcs) / sizeof(dcs[0]); i++) {
		const char *mine = want_api ? dcs[i].accounts : dcs[i].api;
		const char *q = strstr(mine, want_api ? "accounts." : "zohoapis.");
		size_t n = strlen(q);
		if (!strncmp(p, q, n) && (p[n] == '\0' || p[n] == '/'))
			return want_api ? dcs[i].api : dcs[i].accounts;
	}
	return NULL;
}

static void zo_close(struct conn *c);

static int zo_open(struct conn **out, const struct session *s, struct crm_err *err)
{
	struct conn *c = calloc(1, sizeof(*c));
	char *dom = NULL, *acc = NULL, *ms = NULL;
	int rc;

	*out = NULL;
	if (!c)
		return err_set(err, CRM_EFAIL, "no_memory", "out of memory");
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->meta_mu, NULL);
	c->http = s->http;
	c->credits_left = -1;
	if ((rc = config_credential(s->cfg, s->profile, "ZOHO_ACCESS_TOKEN", "access_token", 1, &c->auth.token, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "ZOHO_CLIENT_ID", "client_id", 0, &c->auth.client_id, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "ZOHO_CLIENT_SECRET", "client_secret", 0, &c->auth.client_secret, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "ZOHO_REFRESH_TOKEN", "refresh_token", 0, &c->auth.refresh_token, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "ZOHO_API_DOMAIN", "api_domain", 0, &dom, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "ZOHO_ACCOUNTS_URL", "accounts_url", 0, &acc, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "ZOHO_CAMPAIGN_MEMBER_STATUS", "campaign_member_status", 0, &ms, err)) < 0 ||
	    (rc = config_number(s->cfg, s->profile, "ZOHO_CREDITS_RESERVE", "credits_reserve", 0, 0, 0, &c->credits_reserve,
				err)) < 0)
		goto fail;
	snprintf(c->member_status, sizeof(c->member_status), "%s", ms && *ms ? ms : "Planned");
	if (s->base_url) {
		/* --base-url is both the API domain and the accounts server (the emulator). */
		c->api_fixed = 1;
		if ((rc = set_url(c, c->api, sizeof(c->api), s->base_url, err)) < 0 ||
		    (rc = set_url(c, c->accounts, sizeof(c->accounts), s->base_url, err)) < 0)
			goto fail;
	} else {
		const char *a = acc && *acc ? acc : dc_pair(dom, 0);
		const char *d = dom && *dom ? dom : dc_pair(acc, 1);
		if ((rc = set_url(c, c->accounts, sizeof(c->accounts), a ? a : ZO_ACCOUNTS, err)) < 0 ||
		    (rc = set_url(c, c->api, sizeof(c->api), d ? d : ZO_API, err)) < 0)
			goto fail;
	}
	if (!c->auth.token && !auth_can_refresh(&c->auth, 0)) {
		rc = err_set(err, CRM_ECONFIG, "no_credentials",
			     "no Zoho credentials: set ZOHO_ACCESS_TOKEN, or ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and "
			     "ZOHO_REFRESH_TOKEN (ZOHO_API_DOMAIN or ZOHO_ACCOUNTS_URL pick the data centre)");
		goto fail;
	}
	{
		struct http_hooks hk = { c, zo_auth, zo_refresh, zo_classify, zo_learn };
		http_set_hooks(c->http, &hk);
	}
	/* §10: no per-second quota to pace to: credits per rolling 24 hours
	 * (watched in zo_auth and zo_classify) and concurrent calls per org
	 * (push keeps provider.concurrency batches in flight).  No bucket. */
	/* Only refresh credentials: the token answer names the API domain. */
	if (!c->auth.token && (rc = zo_refresh(c, err)) < 0)
		goto fail;
	free(dom);
	free(acc);
	free(ms);
	*out = c;
	return 0;
fail:
	free(dom);
	free(acc);
	free(ms);
	zo_close(c);
	return rc;
}

static void zo_close(struct conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < OBJ_COUNT; i++) {
		json_decref(c->meta[i]);
		json_decref(c->order[i]);
	}
	json_decref(c->members);
	auth_release(&c->auth);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->meta_mu);
	free(c);
}

/* §9: remote_namespace = the org's zgid. */
static int load_org(struct conn *c, json_t **org, struct http_resp *r, struct crm_err *err)
{
	struct buf url = BUF_INIT;
	struct http_req q = { "GET", NULL, NULL, 0, NULL, B_MAIN, HTTP_IDEMPOTENT };
	int rc;

	url_of(c, ZO_V "/org", &url);
	q.url = url.buf;
	rc = http_do(c->http, &q, r, err);
	buf_release(&url);
	if (rc < 0)
		return rc;
	json_t *body = parse_body(r);
	json_t *o = json_array_get(json_object_get(body, "org"), 0);
	if (!o) {
		json_decref(body);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "Zoho's /org answer names no org (HTTP %ld)", r->status);
	}
	char tmp[32];
	const char *z = jx_text(json_object_get(o, "zgid"), tmp, sizeof(tmp));
	snprintf(c->zgid, sizeof(c->zgid), "%s", z ? z : "");
	*org = json_incref(o);
	json_decref(body);
	return 0;
}

static const char *zo_namespace(struct conn *c, struct crm_err *err)
{
	struct http_resp r;
	json_t *org = NULL;
	int rc;

	if (c->zgid[0])
		return c->zgid;
	http_resp_init(&r);
	rc = load_org(c, &org, &r, err);
	http_resp_release(&r);
	json_decref(org);
	return rc < 0 ? NULL : c->zgid;
}

/* Whether the org is a sandbox or developer org: the org's `type`
 * (production / sandbox / developer; §11, unverified), else the API
 * domain, which is sandbox.zohoapis.<tld> or developer.zohoapis.<tld> for
 * those orgs (§1).  Null when neither tells. */
static json_t *zo_sandbox(const char *type, const char *api)
{
	if (type && (!strcmp(type, "sandbox") || !strcmp(type, "developer")))
		return json_true();
	if (type && !strcmp(type, "production"))
		return json_false();
	if (strstr(api, "://sandbox.") || strstr(api, "://developer.") || strstr(api, "crmsandbox.zoho."))
		return json_true();
	return json_null();
}

static int zo_status(struct conn *c, json_t *out, struct crm_err *err)
{
	struct http_resp r;
	json_t *org = NULL, *rl = json_object();
	char v[32];
	int rc;

	http_resp_init(&r);
	if ((rc = load_org(c, &org, &r, err)) < 0) {
		http_resp_release(&r);
		json_decref(rl);
		return rc;
	}
	/* The credits figure only when Zoho sends it: from half the credits used (§10). */
	if (http_resp_header(&r, "X-API-CREDITS-REMAINING", v, sizeof(v)))
		json_object_set_new(rl, "credits_remaining", json_integer(strtoll(v, NULL, 10)));
	json_object_set_new(out, "namespace", json_string(c->zgid));
	json_object_set_new(out, "rate_limit", rl);
	json_t *lic = json_object_get(org, "license_details");
	if (jx_str(lic, "paid_type"))
		json_object_set_new(out, "edition", json_string(jx_str(lic, "paid_type")));
	if (jx_str(org, "time_zone"))
		json_object_set_new(out, "time_zone", json_string(jx_str(org, "time_zone")));
	if (jx_str(org, "company_name"))
		json_object_set_new(out, "company_name", json_string(jx_str(org, "company_name")));
	if (jx_str(org, "type"))
		json_object_set_new(out, "org_type", json_string(jx_str(org, "type")));
	pthread_mutex_lock(&c->mu);
	json_object_set_new(out, "api_domain", json_string(c->api));
	json_object_set_new(out, "sandbox", zo_sandbox(jx_str(org, "type"), c->api));
	pthread_mutex_unlock(&c->mu);
	json_decref(org);
	http_resp_release(&r);
	return 0;
}

/* ---- fields metadata (§7) ---- */

/* Users have no fields metadata: the users API's keys (§9). */
static json_t *user_fields(void)
{
	static const char *const f[][3] = {
		{ "id", "User ID", "bigint" }, { "full_name", "Full Name", "text" },
		{ "first_name", "First Name", "text" }, { "last_name", "Last Name", "text" },
		{ "email", "Email", "email" }, { "status", "Status", "picklist" }, { "confirm", "Confirmed", "boolean" },
		{ "role", "Role", "jsonobject" }, { "profile", "Profile", "jsonobject" }, { "zuid", "ZUID", "text" },
		{ "time_zone", "Time Zone", "text" }, { "Created_Time", "Created Time", "datetime" },
		{ "Modified_Time", "Modified Time", "datetime" },
	};
	json_t *arr = json_array();
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:b,s:b,s:b}", "api_name", f[i][0], "field_label", f[i][1],
						     "data_type", f[i][2], "system_mandatory", 0, "read_only", 1, "custom_field", 0));
	return arr;
}

static int load_meta(struct conn *c, enum obj o, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *arr, *f;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&c->meta_mu);
	if (c->meta[o])
		goto done;
	if (o == OBJ_USER) {
		arr = user_fields();
	} else {
		buf_addf(&path, ZO_V "/settings/fields?module=%s", module_of[o]);
		rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, NULL, &ans, NULL, err);
		buf_release(&path);
		if (rc < 0)
			goto done;
		arr = json_incref(json_object_get(ans, "fields"));
		json_decref(ans);
		if (!json_is_array(arr)) {
			/* 204: no accessible metadata (§7, pitfall 8): usually a missing scope. */
			json_decref(arr);
			rc = err_set(err, CRM_EAUTH, "no_metadata",
				     "Zoho shows no fields for %s: the token needs the ZohoCRM.settings.fields.READ scope",
				     module_of[o]);
			goto done;
		}
	}
	json_t *byname = json_object();
	json_array_foreach(arr, i, f)
		if (jx_str(f, "api_name"))
			json_object_set(byname, jx_str(f, "api_name"), f);
	c->order[o] = arr;
	c->meta[o] = byname;
done:
	pthread_mutex_unlock(&c->meta_mu);
	return rc;
}

static const char *dtype(struct conn *c, enum obj o, const char *name)
{
	return jx_str(json_object_get(c->meta[o], name), "data_type");
}

static int is_read_only(const json_t *f)
{
	const char *t = jx_str(f, "data_type");
	return json_is_true(json_object_get(f, "read_only")) || json_is_true(json_object_get(f, "field_read_only")) ||
	       (t && (!strcmp(t, "formula") || !strcmp(t, "autonumber") || !strcmp(t, "rollup_summary")));
}

/* One picklist option as lib/options reads it.  Its value is the
 * display_value: that is what a record holds and what a write takes (§15:
 * Zoho staff say to write display_value, and the Node SDK checks writes
 * against them; actual_value is a reference that may differ, IN_East for
 * East).  A Stage option also says whether it is won, lost or open, from
 * its forecast_type (§2, §15).  No probability: a deal keeps its own
 * Probability, which may differ from the stage's default, and the pull
 * must not replace it. */
static json_t *option_of(const json_t *op, int stage)
{
	json_t *x = json_pack("{s:O?,s:O?}", "label", json_object_get(op, "display_value"),
			      "value", json_object_get(op, "display_value"));
	const char *ft = jx_str(op, "forecast_type");

	if (stage)
		json_object_set_new(x, "status", json_string(ft && !strcasecmp(ft, "Closed Won") ? "WON"
							     : ft && !strcasecmp(ft, "Closed Lost") ? "LOST" : "OPEN"));
	return x;
}

static int zo_fields(struct conn *c, enum obj o, json_t **out, struct crm_err *err)
{
	json_t *arr, *f;
	size_t i;
	int rc;

	if ((rc = load_meta(c, o, err)) < 0)
		return rc;
	arr = json_array();
	json_array_foreach(c->order[o], i, f) {
		json_t *opts = json_array(), *op;
		size_t j;
		if (!jx_str(f, "api_name"))
			continue;
		int stage = o == OBJ_DEAL && !strcmp(jx_str(f, "api_name"), "Stage");
		json_array_foreach(json_object_get(f, "pick_list_values"), j, op)
			json_array_append_new(opts, option_of(op, stage));
		json_array_append_new(arr, json_pack("{s:s,s:O?,s:O?,s:b,s:b,s:b,s:o}",
			"name", jx_str(f, "api_name"),
			"label", json_object_get(f, json_object_get(f, "display_label") ? "display_label" : "field_label"),
			"type", json_object_get(f, "data_type"),
			"required", json_is_true(json_object_get(f, "system_mandatory")),
			"read_only", o == OBJ_USER || is_read_only(f),
			"custom", json_is_true(json_object_get(f, "custom_field")), "options", opts));
	}
	*out = arr;
	return 0;
}

/* ---- field slices (§3) ----
 *
 * A list call names at most 50 fields, so a record with more is read in
 * slices and merged by id.  The first slice holds what crmsync itself needs
 * (the table's fields, Created_Time/Modified_Time for the cursor, --map's
 * fields), then the rest in metadata order: the first slice alone drives
 * paging and the cursor, and the others (custom fields, remote_fields) are
 * read by id for the records of that page, <= 100 ids a call.  Reading them
 * by id rather than with the same page number keeps them aligned whatever
 * changes between calls: a record gone by then keeps its first slice. */
static int listable(const json_t *f)
{
	const char *t = jx_str(f, "data_type");
	/* Subforms and multi-lookups need their own calls (unverified): not listed. */
	return t && strcmp(t, "subform") && strcmp(t, "multiselectlookup") && strcmp(t, "multiuserlookup") &&
	       strcmp(t, "fileupload") && strcmp(t, "imageupload");
}

static json_t *make_slices(struct conn *c, enum obj o, const json_t *extra)
{
	json_t *names = json_array(), *have = json_object(), *slices = json_array(), *f;
	size_t i;

#define ADD_NAME(n)                                                                                  \
	do {                                                                                         \
		const char *n_ = (n);                                                                \
		json_t *def_ = n_ ? json_object_get(c->meta[o], n_) : NULL;                          \
		if (def_ && listable(def_) && !json_object_get(have, n_)) {                          \
			json_object_set_new(have, n_, json_true());                                  \
			json_array_append_new(names, json_string(n_));                               \
		}                                                                                    \
	} while (0)
	for (const struct map_entry *e = maps[o]; e->key; e++)
		ADD_NAME(e->remote);
	ADD_NAME("Modified_Time");
	ADD_NAME("Created_Time");
	json_array_foreach(extra, i, f)
		ADD_NAME(json_string_value(f));
	json_array_foreach(c->order[o], i, f)
		ADD_NAME(jx_str(f, "api_name"));
#undef ADD_NAME
	json_t *cur = NULL;
	json_array_foreach(names, i, f) {
		if (!cur || json_array_size(cur) == FIELDS_MAX) {
			cur = json_array();
			json_array_append_new(slices, cur);
		}
		json_array_append(cur, f);
	}
	if (!cur)
		json_array_append_new(slices, json_pack("[s]", "Modified_Time"));
	json_decref(names);
	json_decref(have);
	return slices;
}

static void add_fields_param(struct buf *b, const json_t *slice)
{
	json_t *n;
	size_t i;

	buf_adds(b, "fields=");
	json_array_foreach(slice, i, n) {
		if (i)
			buf_adds(b, "%2C");
		buf_add_urlenc(b, json_string_value(n));
	}
}

/* ---- records: Zoho JSON to envelopes ---- */

/* Every time crmsync writes is UTC: Zoho answers in the org's or user's
 * zone, "2026-01-05T20:56:49+05:30" (§2, pitfall 9). */
static json_t *utc(const json_t *v)
{
	long long ms;
	char out[TIME_BUFSZ];

	if (!json_is_string(v) || time_parse(json_string_value(v), &ms) < 0)
		return json_incref((json_t *)v);
	time_format(ms, out);
	return json_string(out);
}

static int is_time_key(struct conn *c, enum obj o, const char *k)
{
	const char *t = c->meta[o] ? dtype(c, o, k) : NULL;
	return (t && !strcmp(t, "datetime")) || !strcmp(k, "Created_Time") || !strcmp(k, "Modified_Time") ||
	       !strcmp(k, "deleted_time");
}

static json_t *envelope(struct conn *c, enum obj o, json_t *raw, int with_raw)
{
	json_t *env = json_object(), *fields = json_object(), *v;
	const char *k;
	char tmp[32];

	json_object_set_new(env, "id", jx_str_new(jx_text(json_object_get(raw, "id"), tmp, sizeof(tmp))));
	json_object_set_new(env, "created_at", utc(json_object_get(raw, "Created_Time") ? json_object_get(raw, "Created_Time") : json_null()));
	json_object_set_new(env, "updated_at", utc(json_object_get(raw, "Modified_Time") ? json_object_get(raw, "Modified_Time") : json_null()));
	json_object_set_new(env, "deleted", json_false());
	json_object_set_new(env, "deleted_at", json_null());
	json_object_foreach(raw, k, v) {
		if (!strcmp(k, "id") || k[0] == '$')
			continue; /* $-keys are Zoho's record meta (§2) */
		const struct map_entry *e = map_find_remote(maps[o], k);
		if (e && e->kind == MK_REL && json_is_object(v)) {
			/* Lookups {"name","id"}: the relation is the id (§2). */
			json_object_set_new(fields, k, jx_str_new(jx_text(json_object_get(v, "id"), tmp, sizeof(tmp))));
		} else if (json_is_string(v) && is_time_key(c, o, k)) {
			json_object_set_new(fields, k, utc(v));
		} else {
			json_object_set(fields, k, v);
		}
	}
	json_object_set_new(env, "fields", fields);
	if (with_raw)
		json_object_set(env, "raw", raw);
	return env;
}

/* §5: {id, display_name, type, deleted_by, created_by, deleted_time}. */
static json_t *deleted_envelope(json_t *raw)
{
	json_t *env = json_object(), *fields = json_object(), *v;
	const char *k;
	char tmp[32];

	json_object_set_new(env, "id", jx_str_new(jx_text(json_object_get(raw, "id"), tmp, sizeof(tmp))));
	json_object_set_new(env, "created_at", json_null());
	json_object_set_new(env, "updated_at", utc(json_object_get(raw, "deleted_time") ? json_object_get(raw, "deleted_time") : json_null()));
	json_object_set_new(env, "deleted", json_true());
	json_object_set_new(env, "deleted_at", utc(json_object_get(raw, "deleted_time") ? json_object_get(raw, "deleted_time") : json_null()));
	json_object_foreach(raw, k, v)
		if (strcmp(k, "id") && strcmp(k, "deleted_time"))
			json_object_set(fields, k, v);
	json_object_set_new(env, "fields", fields);
	json_object_set(env, "raw", raw);
	return env;
}

static void zo_fixup(struct conn *c, enum obj o, struct jv_doc *d, jv_t env, jv_t rec)
{
	jv_t f = jv_get(d, env, "fields");

	if (o == OBJ_DEAL) {
		/* status follows from the stage (lib/options); a stage it does
		 * not know leaves it null. */
		if (!jv_get(d, rec, "status"))
			jv_set(d, rec, "status", JV_NULL);
	} else if (o == OBJ_USER) {
		const char *st = jv_str(d, f, "status");
		jv_set(d, rec, "is_active", jv_bool(st && !strcmp(st, "active")));
	} else if (o == OBJ_ACCOUNT) {
		/* No domain field: the website's host, without "www." (§2). */
		char dom[256];
		jv_set(d, rec, "domain", record_domain_of(jv_str(d, f, "Website"), dom, sizeof(dom)) ? jv_string(d, dom) : JV_NULL);
	}
}

/* ---- reading by id, merging slices ---- */

static void module_params(struct buf *b, enum obj o)
{
	/* §2: GET Leads hides converted leads unless asked. */
	if (o == OBJ_LEAD)
		buf_adds(b, "&converted=both");
}

/* Reads slices [from..] of the records `ids` (<= 100) and merges them into
 * byid (id -> record JSON, which must exist unless from == 0). */
static int merge_slices(struct conn *c, enum obj o, const json_t *slices, size_t from, const json_t *ids,
			json_t *byid, struct crm_err *err)
{
	json_t *id;
	size_t i, s;
	int rc = 0;

	if (!json_array_size(ids))
		return 0;
	for (s = from; s < json_array_size(slices) && rc == 0; s++) {
		struct buf path = BUF_INIT;
		json_t *ans = NULL, *r;
		buf_addf(&path, ZO_V "/%s?", module_of[o]);
		add_fields_param(&path, json_array_get(slices, s));
		buf_adds(&path, "&ids=");
		json_array_foreach(ids, i, id) {
			if (i)
				buf_adds(&path, "%2C");
			buf_add_urlenc(&path, json_string_value(id));
		}
		buf_addf(&path, "&per_page=%d", PER_PAGE);
		module_params(&path, o);
		rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, NULL, &ans, NULL, err);
		buf_release(&path);
		if (rc < 0)
			break;
		json_array_foreach(json_object_get(ans, "data"), i, r) {
			char tmp[32];
			const char *rid = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
			json_t *have = rid ? json_object_get(byid, rid) : NULL;
			if (have)
				json_object_update(have, r);
			else if (rid && from == 0)
				json_object_set(byid, rid, r);
		}
		json_decref(ans);
	}
	return rc;
}

/* Records by id: *out maps id -> envelope (missing ids absent). */
static int read_ids(struct conn *c, enum obj o, const json_t *slices, const json_t *ids, int with_raw,
		    json_t **out, struct crm_err *err)
{
	json_t *res = json_object();
	size_t n = json_array_size(ids);
	int rc = 0;

	for (size_t off = 0; off < n && rc == 0; off += IDS_MAX) {
		json_t *chunk = json_array(), *byid = json_object(), *r;
		const char *k;
		for (size_t i = off; i < n && i < off + IDS_MAX; i++) {
			const char *id = json_string_value(json_array_get(ids, i));
			/* Ids are digit strings (§2): anything else cannot exist. */
			if (is_digits(id))
				json_array_append_new(chunk, json_string(id));
		}
		rc = merge_slices(c, o, slices, 0, chunk, byid, err);
		json_object_foreach(byid, k, r)
			json_object_set_new(res, k, envelope(c, o, r, with_raw));
		json_decref(chunk);
		json_decref(byid);
	}
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

static int zo_read(struct conn *c, enum obj o, const json_t *ids, json_t **out, struct crm_err *err)
{
	json_t *slices;
	int rc;

	*out = NULL;
	if (o == OBJ_USER)
		return err_set(err, CRM_EUSAGE, "read_only", "users are read-only in zoho");
	if ((rc = load_meta(c, o, err)) < 0)
		return rc;
	slices = make_slices(c, o, NULL);
	rc = read_ids(c, o, slices, ids, 0, out, err);
	json_decref(slices);
	return rc;
}

/* ---- pull --where: COQL (§4, §16) ----
 *
 * A filtered pull is one COQL query, not a search: COQL says
 * `order by Modified_Time asc, id asc`, which the keyset of a cursor
 * needs (search documents no sort: §16 lists its parameters), it returns
 * 2,000 rows a call for 3 credits where search returns 200 for 1, and it
 * reaches past the 2,000 results a search stops at (§4).  The query is
 *   select <first slice> from <Module> where (Modified_Time >= '<t>' and
 *   (c1 and (c2 ...))) order by Modified_Time asc, id asc limit <off>, 2000
 * its criteria bracketed pairwise, at most 25 (§4), one of them the
 * time.  Relied on, unverified in §16: <, <=, >, >=, like and
 * `is not null` in WHERE; a ' inside a literal escaped as \'; COQL
 * answering every row's id, and leads whether converted or not. */

static int zo_where_can(enum obj o, const struct where *w, const char **can)
{
	(void)w;
	*can = "nothing of users (the users API has no filter); of the other objects any field with = != < <= > >= "
	       "~ ? (< <= > >= on numbers, dates and times; ~ on text)";
	return o != OBJ_USER;
}

enum zkind { ZK_TEXT, ZK_NUMBER, ZK_TIME, ZK_DATE, ZK_BOOL, ZK_OTHER };

static enum zkind kind_of(const char *t)
{
	static const char *const text[] = { "text", "textarea", "email", "phone", "website", "picklist",
					    "autonumber", "mediumtext", NULL };
	static const char *const num[] = { "integer", "bigint", "double", "currency", "percent", "decimal",
					   "long", NULL };

	if (!t)
		return ZK_OTHER;
	for (int i = 0; text[i]; i++)
		if (!strcmp(t, text[i]))
			return ZK_TEXT;
	for (int i = 0; num[i]; i++)
		if (!strcmp(t, num[i]))
			return ZK_NUMBER;
	if (!strcmp(t, "datetime"))
		return ZK_TIME;
	if (!strcmp(t, "date"))
		return ZK_DATE;
	if (!strcmp(t, "boolean"))
		return ZK_BOOL;
	return ZK_OTHER; /* lookups, owners, multi-select picklists */
}

static enum zkind where_kind(struct conn *c, enum obj o, const char *field)
{
	if (!strcmp(field, "id"))
		return ZK_OTHER;
	if (!strcmp(field, "Created_Time") || !strcmp(field, "Modified_Time"))
		return ZK_TIME;
	return kind_of(dtype(c, o, field));
}

/* The operators each type compares with, known once the metadata is: a
 * condition COQL would answer INVALID_QUERY is refused before any row. */
static int where_types(struct conn *c, enum obj o, const struct where *w, size_t n, struct crm_err *err)
{
	if (n + 1 > COQL_CRITERIA)
		return err_set(err, CRM_EUSAGE, "usage", "--where: Zoho filters on at most %d conditions at once, %zu given",
			       COQL_CRITERIA - 1, n);
	for (size_t i = 0; i < n; i++) {
		enum zkind k = where_kind(c, o, w[i].field);
		int order = w[i].op == W_LT || w[i].op == W_LE || w[i].op == W_GT || w[i].op == W_GE;
		if (order && k != ZK_NUMBER && k != ZK_TIME && k != ZK_DATE)
			return err_set(err, CRM_EUSAGE, "usage", "--where: Zoho compares %s with = != ~ ?, not '%s' "
				       "(< <= > >= are for numbers, dates and times)", w[i].given, where_op_text(w[i].op));
		if (w[i].op == W_CONTAINS && k != ZK_TEXT)
			return err_set(err, CRM_EUSAGE, "usage", "--where: Zoho filters %s with = != < <= > >= ?, not '~' "
				       "(~ is for text)", w[i].given);
		if (k == ZK_BOOL && w[i].value && strcmp(w[i].value, "true") && strcmp(w[i].value, "false"))
			return err_set(err, CRM_EUSAGE, "usage", "--where: %s is true or false, not '%s'", w[i].given,
				       w[i].value);
	}
	return 0;
}

/* A quoted COQL literal, ' and \ escaped with \ (unverified, above). */
static void coql_quote(struct buf *b, const char *v, int like)
{
	buf_adds(b, like ? "'%" : "'");
	for (; *v; v++) {
		if (*v == '\'' || *v == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *v);
	}
	buf_adds(b, like ? "%'" : "'");
}

static void coql_time(struct buf *b, long long ms)
{
	char t[TIME_BUFSZ];
	time_format(ms / 1000 * 1000, t);
	buf_addf(b, "'%.19s+00:00'", t);
}

static int plain_number(const char *v)
{
	char *end;
	if (!*v)
		return 0;
	(void)strtod(v, &end);
	return *end == '\0' && strspn(v, "0123456789+-.eE") == strlen(v);
}

/* One condition: numbers bare, datetimes in UTC with an offset (§4),
 * everything else quoted, booleans too (`'false'`, §16). */
static void coql_cond(struct conn *c, enum obj o, const struct where *w, struct buf *q)
{
	static const char *const ops[W_OP_COUNT] = { " = ", " != ", " < ", " <= ", " > ", " >= ", " like ",
						     " is not null" };
	enum zkind k = where_kind(c, o, w->field);
	long long ms;

	buf_adds(q, w->field);
	buf_adds(q, ops[w->op]);
	if (w->op == W_HAS)
		return;
	if (w->op == W_CONTAINS)
		coql_quote(q, w->value, 1);
	else if (k == ZK_NUMBER && plain_number(w->value))
		buf_adds(q, w->value);
	else if (k == ZK_TIME && time_parse(w->value, &ms) == 0)
		coql_time(q, ms);
	else
		coql_quote(q, w->value, 0);
}

/* The query of p's next page: the keyset's time (from t, or the one
 * second t while `instant` walks it by id) and the conditions. */
static void coql_query(struct pull *p, struct buf *q)
{
	json_t *n;
	size_t i;

	buf_adds(q, "select ");
	json_array_foreach(json_array_get(p->slices, 0), i, n)
		buf_addf(q, "%s%s", i ? ", " : "", json_string_value(n));
	buf_addf(q, " from %s where ", module_of[p->o.obj]);
	buf_adds(q, p->instant ? "(Modified_Time = " : "(Modified_Time >= ");
	coql_time(q, p->t);
	for (i = 0; i < p->o.nwhere; i++) {
		buf_adds(q, " and ");
		if (i + 1 < p->o.nwhere)
			buf_addc(q, '(');
		coql_cond(p->c, p->o.obj, &p->o.where[i], q);
	}
	for (i = 0; i < p->o.nwhere; i++)
		buf_addc(q, ')');
	buf_addf(q, " order by %s limit %ld, %d", p->instant ? "id asc" : "Modified_Time asc, id asc",
		 (long)(p->page - 1) * COQL_LIMIT, COQL_LIMIT);
}

static int coql_call(struct pull *p, json_t **ans, struct crm_err *err)
{
	struct buf q = BUF_INIT;
	json_t *body;
	int rc;

	coql_query(p, &q);
	body = json_pack("{s:s}", "select_query", q.buf);
	rc = call(p->c, "POST", ZO_V "/coql", body, HTTP_IDEMPOTENT, NULL, ans, NULL, err);
	json_decref(body);
	buf_release(&q);
	return rc;
}

/* ---- pull ---- */

/* Pages carry no total (info.count is the page's own, §11 Totals): when a
 * progress line wants one, the count API counts a full pull's records, one
 * call.  Not for --since (the count takes no If-Modified-Since), users,
 * members or leads (the count has no `converted`, the pull asks for both);
 * a failure only leaves the total unknown. */
static void count_all(struct pull *p)
{
	struct crm_err e = CRM_ERR_INIT;
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *n;

	if (p->o.list || p->o.ordered || p->o.obj == OBJ_USER || p->o.obj == OBJ_LEAD)
		return;
	buf_addf(&path, ZO_V "/%s/actions/count", module_of[p->o.obj]);
	if (call(p->c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, NULL, &ans, NULL, &e) == 0 &&
	    json_is_integer(n = json_object_get(ans, "count")))
		p->total = json_integer_value(n);
	json_decref(ans);
	buf_release(&path);
}

static int zo_pull_open(struct conn *c, const struct pull_opts *o, struct pull **out, struct crm_err *err)
{
	struct pull *p;
	int rc;

	*out = NULL;
	if ((rc = load_meta(c, o->list ? OBJ_CONTACT : o->obj, err)) < 0)
		return rc;
	if (o->nwhere && !o->list && (rc = where_types(c, o->obj, o->where, o->nwhere, err)) < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	pager_guard_init(&p->guard, "Zoho");
	p->c = c;
	p->o = *o;
	if (o->list)
		p->o.obj = OBJ_CONTACT;
	p->slices = make_slices(c, p->o.obj, o->extra_fields);
	p->page = 1;
	/* IMS has 1 s precision and is inclusive (§4): start at the second. */
	p->t = o->since_ms >= 0 ? o->since_ms / 1000 * 1000 : 0;
	p->seen = json_object();
	p->total = -1;
	if (o->want_total)
		count_all(p);
	*out = p;
	return 0;
}

static long long zo_pull_total(struct pull *p)
{
	return p->total;
}

static void zo_pull_close(struct pull *p)
{
	if (!p)
		return;
	json_decref(p->slices);
	json_decref(p->seen);
	free(p->token);
	pager_guard_release(&p->guard);
	free(p);
}

/* If-Modified-Since takes any offset (§4); the docs' own form, in UTC. */
static void ims_of(long long ms, char out[TIME_BUFSZ])
{
	char t[TIME_BUFSZ];
	time_format(ms / 1000 * 1000, t);
	snprintf(out, TIME_BUFSZ, "%.19s+00:00", t);
}

/* Moves p's paging one page on: `page` while it stays within the first
 * 2,000 records, then the answer's page_token (§3). */
static int next_page(struct pull *p, const json_t *info, struct crm_err *err)
{
	const char *tok = jx_str(info, "next_page_token");

	free(p->token);
	p->token = NULL;
	p->page++;
	if ((long)p->page * PER_PAGE > DISCRETE_LIMIT || tok == NULL || !*tok) {
		if ((long)p->page * PER_PAGE > DISCRETE_LIMIT) {
			if (!tok || !*tok)
				return err_set(err, CRM_EUNAVAIL, "bad_response",
					       "Zoho's page past record 2,000 came without a next_page_token");
			p->token = strdup(tok);
		}
	}
	return 0;
}

/* After a page of `data` that said more_records, in the query `query`
 * (what tells it from the listing's other queries, apart from its page):
 * the next page (p's page number or token) must be new, this page must
 * not be one seen before (a server that ignores `page` gives the same
 * page for every number), and empty pages must end (lib/pager). */
static int guard_page(struct pull *p, const char *query, const json_t *data, const char *idkey,
		      struct crm_err *err)
{
	size_t n = json_array_size(data);
	char a[32], b[32];
	const char *first = jx_text(json_object_get(json_array_get(data, 0), idkey), a, sizeof(a));
	const char *last = n ? jx_text(json_object_get(json_array_get(data, n - 1), idkey), b, sizeof(b)) : NULL;
	struct buf key = BUF_INIT;
	int rc;

	if ((rc = pager_guard_page(&p->guard, query, first, last, n, err)) < 0)
		return rc;
	if (p->token)
		buf_addf(&key, "page_token=%s, %s", p->token, query);
	else
		buf_addf(&key, "page=%d, %s", p->page, query);
	rc = pager_guard_next(&p->guard, key.buf, n, err);
	buf_release(&key);
	return rc;
}

static void reset_paging(struct pull *p)
{
	free(p->token);
	p->token = NULL;
	p->page = 1;
}

static int already_sent(struct pull *p, const char *id, long long ms);

/* Whether keyset_page drops the record raw (a first slice): outside the
 * second being walked, or written already.  The same test keyset_page
 * makes, on the same state (it changes p only after the page). */
static int keyset_drops(struct pull *p, const char *id, const json_t *raw)
{
	long long ms;
	const char *m = jx_str(raw, "Modified_Time");

	if (!m || time_parse(m, &ms) < 0)
		return 0;
	return (p->instant && ms != p->t) || already_sent(p, id, ms);
}

/* One page of the record list (first slice), merged with the other slices:
 * *envs the envelopes in the answer's order, *more whether more follow.
 * With `keyset`, the other slices are read only for the records that
 * keyset_page keeps: its restarts list the last second again, and its
 * walk of one second lists the page that led to it again. */
static int list_page(struct pull *p, const char *sort_by, const char *ims, int keyset, json_t **envs, int *more,
		     struct crm_err *err)
{
	struct conn *c = p->c;
	enum obj o = p->o.obj;
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *r, *ids = json_array(), *byid = json_object(), *order = json_array();
	long status = 0;
	size_t i;
	int rc;

	*envs = NULL;
	*more = 0;
	if (p->o.nwhere) {
		rc = coql_call(p, &ans, err);
	} else {
		buf_addf(&path, ZO_V "/%s?", module_of[o]);
		add_fields_param(&path, json_array_get(p->slices, 0));
		buf_addf(&path, "&per_page=%d&sort_by=%s&sort_order=asc", PER_PAGE, sort_by);
		if (p->token) {
			buf_adds(&path, "&page_token=");
			buf_add_urlenc(&path, p->token);
		} else {
			buf_addf(&path, "&page=%d", p->page);
		}
		module_params(&path, o);
		rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, ims, &ans, &status, err);
		buf_release(&path);
	}
	if (rc == 0 && ans && !json_is_array(json_object_get(ans, "data")))
		rc = err_set(err, CRM_EUNAVAIL, "bad_response", "Zoho's page of %s has no data array", module_of[o]);
	if (rc == 0 && ans) {
		json_array_foreach(json_object_get(ans, "data"), i, r) {
			char tmp[32];
			const char *id = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
			if (!id || json_object_get(byid, id))
				continue;
			json_t *copy = json_copy(r);
			json_object_set_new(byid, id, copy);
			json_array_append_new(order, json_string(id));
		}
		*more = json_is_true(json_object_get(json_object_get(ans, "info"), "more_records"));
		if (*more) {
			/* This page's number (or token) for the guard: it is the
			 * request that must not come again. */
			char q[96];
			snprintf(q, sizeof(q), "sort_by=%s If-Modified-Since=%s", sort_by, ims ? ims : "none");
			rc = guard_page(p, q, json_object_get(ans, "data"), "id", err);
		}
		if (*more && rc == 0 && p->o.nwhere)
			p->page++; /* COQL: the next offset of the same query */
		else if (*more && rc == 0)
			rc = next_page(p, json_object_get(ans, "info"), err);
	}
	/* The other slices, by id, <= 100 at a time. */
	json_t *want = json_array(), *id;
	json_array_foreach(order, i, id)
		if (!keyset || !keyset_drops(p, json_string_value(id), json_object_get(byid, json_string_value(id))))
			json_array_append(want, id);
	for (size_t off = 0; rc == 0 && off < json_array_size(want); off += IDS_MAX) {
		json_array_clear(ids);
		for (i = off; i < json_array_size(want) && i < off + IDS_MAX; i++)
			json_array_append(ids, json_array_get(want, i));
		rc = merge_slices(c, o, p->slices, 1, ids, byid, err);
	}
	json_decref(want);
	if (rc == 0) {
		*envs = json_array();
		json_array_foreach(order, i, id)
			json_array_append_new(*envs, envelope(c, o, json_object_get(byid, json_string_value(id)), 1));
	}
	(void)status;
	json_decref(ans);
	json_decref(ids);
	json_decref(byid);
	json_decref(order);
	return rc;
}

static long long env_ms(const json_t *env)
{
	long long ms;
	const char *u = jx_str(env, "updated_at");
	return u && time_parse(u, &ms) == 0 ? ms : -1;
}

static int already_sent(struct pull *p, const char *id, long long ms)
{
	if (ms != p->t)
		return 0;
	if (json_object_get(p->seen, id))
		return 1;
	/* No look-back: resume strictly after the last (time, id) written. */
	return p->o.since_id && ms == p->o.since_ms && idcmp(id, p->o.since_id) <= 0;
}

/* The incremental scan (§4, DESIGN hard part 1): If-Modified-Since = t
 * sorted by Modified_Time ascending, always from page 1 with a moving lower
 * bound, so a record changed during the scan moves ahead instead of shifting
 * offsets, and the 2,000 wall is never met.  IMS is inclusive at 1 s: the
 * boundary second repeats and `seen` drops what was sent.  When a whole
 * page shares one second, that second is walked sorted by id (ids do not
 * move when records change), keeping only records at t, then the scan goes
 * on strictly after it. */
static int keyset_page(struct pull *p, json_t **page, struct crm_err *err)
{
	char ims[TIME_BUFSZ];
	json_t *envs = NULL, *e, *out = json_array();
	long long mint = -1, maxt = -1;
	size_t i, n;
	int more = 0, rc;

	ims_of(p->t, ims);
	if ((rc = list_page(p, p->instant ? "id" : "Modified_Time", ims, 1, &envs, &more, err)) < 0) {
		json_decref(out);
		return rc;
	}
	n = json_array_size(envs);
	json_array_foreach(envs, i, e) {
		const char *id = jx_str(e, "id");
		long long ms = env_ms(e);
		if (!id || ms < 0)
			continue;
		if (mint < 0 || ms < mint)
			mint = ms;
		if (ms > maxt)
			maxt = ms;
		if (p->instant && ms != p->t)
			continue; /* later records come with the scan after this second */
		if (already_sent(p, id, ms))
			continue;
		if (ms == p->t)
			json_object_set_new(p->seen, id, json_true());
		json_array_append(out, e);
	}
	if (p->instant) {
		if (!more) {
			/* This second is done: on strictly after it. */
			p->instant = 0;
			p->t += 1000;
			json_object_clear(p->seen);
			reset_paging(p);
		}
	} else if (!more) {
		p->phase = 1;
	} else if (n && mint == maxt && maxt == p->t) {
		p->instant = 1;
		reset_paging(p);
	} else if (maxt > p->t) {
		/* Every record before maxt was on this page (ascending order). */
		json_object_clear(p->seen);
		p->t = maxt;
		json_array_foreach(envs, i, e)
			if (env_ms(e) == maxt && jx_str(e, "id"))
				json_object_set_new(p->seen, jx_str(e, "id"), json_true());
		reset_paging(p);
	}
	json_decref(envs);
	*page = out;
	return 0;
}

/* §5: the recycle bin, newest first; with a cursor only deletions since. */
static int deleted_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *r;
	char ims[TIME_BUFSZ];
	size_t i;
	int rc;

	if (p->o.since_ms >= 0)
		ims_of(p->o.since_ms, ims);
	buf_addf(&path, ZO_V "/%s/deleted?type=all&per_page=%d&page=%d", module_of[p->o.obj], PER_PAGE, p->page);
	rc = call(p->c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, p->o.since_ms >= 0 ? ims : NULL, &ans, NULL, err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	*page = json_array();
	json_array_foreach(json_object_get(ans, "data"), i, r)
		json_array_append_new(*page, deleted_envelope(r));
	if (json_is_true(json_object_get(json_object_get(ans, "info"), "more_records"))) {
		p->page++;
		if ((rc = guard_page(p, "deleted", json_object_get(ans, "data"), "id", err)) < 0) {
			json_decref(*page);
			*page = NULL;
		}
	} else
		p->phase = 2;
	json_decref(ans);
	return rc;
}

static int by_updated(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	long long tx = env_ms(x), ty = env_ms(y);
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return idcmp(jx_str(x, "id") ? jx_str(x, "id") : "", jx_str(y, "id") ? jx_str(y, "id") : "");
}

/* §9: the users API pages by number and has no fields parameter.  For a
 * cursor, all users (an org has few) in (Modified_Time, id) order. */
static int users_page(struct pull *p, json_t **page, struct crm_err *err)
{
	json_t *all = json_array();
	int rc = 0;

	do {
		struct buf path = BUF_INIT;
		json_t *ans = NULL, *u;
		size_t i;
		buf_addf(&path, ZO_V "/users?type=AllUsers&per_page=%d&page=%d", PER_PAGE, p->page);
		rc = call(p->c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, NULL, &ans, NULL, err);
		buf_release(&path);
		if (rc < 0)
			break;
		json_array_foreach(json_object_get(ans, "users"), i, u) {
			json_t *env = envelope(p->c, OBJ_USER, u, 1);
			long long ms = env_ms(env);
			if (p->o.since_ms >= 0 && ms >= 0 && ms < p->o.since_ms)
				json_decref(env);
			else
				json_array_append_new(all, env);
		}
		int more = json_is_true(json_object_get(json_object_get(ans, "info"), "more_records"));
		p->page++;
		if (!more)
			p->phase = 2;
		else
			rc = guard_page(p, "users", json_object_get(ans, "users"), "id", err);
		json_decref(ans);
	} while (rc == 0 && p->o.ordered && p->phase != 2);
	if (rc < 0) {
		json_decref(all);
		return rc;
	}
	if (p->o.ordered) {
		size_t n = json_array_size(all);
		json_t **v = calloc(n ? n : 1, sizeof(*v));
		for (size_t i = 0; i < n; i++)
			v[i] = json_array_get(all, i);
		qsort(v, n, sizeof(*v), by_updated);
		*page = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append(*page, v[i]);
		free(v);
		json_decref(all);
	} else {
		*page = all;
	}
	return 0;
}

/* A campaign crmsync can use: its id, or its Campaign_Name (§8). */
static int find_campaign(struct conn *c, const char *list, char *id, size_t n, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ans = NULL;
	int rc;

	if (is_digits(list)) {
		buf_adds(&path, ZO_V "/Campaigns/");
		id_path_add(&path, list);
		rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, NULL, &ans, NULL, err);
		buf_release(&path);
		if (rc < 0 && rc != CRM_ERECORD)
			return rc;
		int found = rc == 0 && json_array_size(json_object_get(ans, "data"));
		json_decref(ans);
		if (found) {
			snprintf(id, n, "%s", list);
			return 0;
		}
	} else {
		/* By name: a search on Campaign_Name, escaped as §4 asks. */
		buf_addf(&path, ZO_V "/Campaigns/search?fields=Campaign_Name&criteria=");
		struct buf crit = BUF_INIT;
		buf_adds(&crit, "(Campaign_Name:equals:");
		for (const char *q = list; *q; q++) {
			if (*q == '(' || *q == ')' || *q == ',' || *q == '\\')
				buf_addc(&crit, '\\');
			buf_addc(&crit, *q);
		}
		buf_addc(&crit, ')');
		buf_add_urlenc(&path, crit.buf);
		buf_release(&crit);
		rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, NULL, &ans, NULL, err);
		buf_release(&path);
		if (rc < 0)
			return rc;
		json_t *r;
		size_t i;
		json_array_foreach(json_object_get(ans, "data"), i, r) {
			const char *nm = jx_str(r, "Campaign_Name");
			char tmp[32];
			const char *rid = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
			if (nm && rid && !strcasecmp(nm, list)) {
				snprintf(id, n, "%s", rid);
				json_decref(ans);
				return 0;
			}
		}
		json_decref(ans);
	}
	return err_set(err, CRM_EUSAGE, "no_such_list", "Zoho has no campaign %s (see: crmsync -p zoho lists)", list);
}

/* Members of a campaign: ids (and Member_Status) from its Contacts related
 * list, records by id with every slice (§8). */
static int members_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *ids = json_array(), *status = json_object(), *byid = NULL, *m;
	size_t i;
	int rc;

	if (!p->campaign[0] && (rc = find_campaign(p->c, p->o.list, p->campaign, sizeof(p->campaign), err)) < 0)
		goto done;
	buf_addf(&path, ZO_V "/Campaigns/%s/Contacts?fields=Last_Name&per_page=%d&page=%d", p->campaign, PER_PAGE, p->page);
	rc = call(p->c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, NULL, &ans, NULL, err);
	buf_release(&path);
	if (rc < 0)
		goto done;
	json_array_foreach(json_object_get(ans, "data"), i, m) {
		char tmp[32];
		const char *id = jx_text(json_object_get(m, "id"), tmp, sizeof(tmp));
		if (!id)
			continue;
		json_array_append_new(ids, json_string(id));
		if (json_object_get(m, "Member_Status"))
			json_object_set(status, id, json_object_get(m, "Member_Status"));
	}
	if (json_is_true(json_object_get(json_object_get(ans, "info"), "more_records"))) {
		p->page++;
		if ((rc = guard_page(p, "members", json_object_get(ans, "data"), "id", err)) < 0)
			goto done;
	} else
		p->phase = 2;
	if ((rc = read_ids(p->c, OBJ_CONTACT, p->slices, ids, 1, &byid, err)) < 0)
		goto done;
	*page = json_array();
	json_array_foreach(ids, i, m) {
		json_t *e = json_object_get(byid, json_string_value(m));
		if (!e)
			continue;
		json_t *st = json_object_get(status, json_string_value(m));
		if (st)
			json_object_set(json_object_get(e, "fields"), "Member_Status", st);
		json_array_append(*page, e);
	}
done:
	json_decref(ans);
	json_decref(ids);
	json_decref(status);
	json_decref(byid);
	return rc;
}

static int zo_pull_next(struct pull *p, json_t **page, struct crm_err *err)
{
	*page = NULL;
	for (;;) {
		int rc, more = 0;
		if (p->phase == 2)
			return 0;
		if (p->o.list) {
			rc = members_page(p, page, err);
		} else if (p->o.obj == OBJ_USER) {
			rc = users_page(p, page, err);
		} else if (p->phase == 1) {
			if (!p->o.deleted) {
				p->phase = 2;
				return 0;
			}
			rc = deleted_page(p, page, err);
		} else if (p->o.ordered) {
			rc = keyset_page(p, page, err);
			if (rc == 0 && p->phase == 1) {
				reset_paging(p);
				pager_guard_reset(&p->guard);
			}
		} else {
			rc = list_page(p, "id", NULL, 0, page, &more, err);
			if (rc == 0 && !more) {
				p->phase = 1;
				reset_paging(p);
				pager_guard_reset(&p->guard);
			}
		}
		if (rc < 0)
			return rc;
		if (*page && json_array_size(*page))
			return 0;
		json_decref(*page);
		*page = NULL;
	}
}

/* ---- matching for push (§4 search) ---- */

static void criteria_value(struct buf *b, const char *v)
{
	/* Parentheses, commas and backslashes in values are escaped (unverified). */
	for (; *v; v++) {
		if (*v == '(' || *v == ')' || *v == ',' || *v == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *v);
	}
}


/* Appends the ids of a search or COQL answer's records to ids; frees the
 * answer.  Returns whether Zoho has more records (info.more_records). */
static int answer_ids(json_t *ans, json_t *ids)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(ans, "data"), i, r) {
		char tmp[32];
		const char *id = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
		if (id)
			json_array_append_new(ids, json_string(id));
	}
	int more = json_is_true(json_object_get(json_object_get(ans, "info"), "more_records"));
	json_decref(ans);
	return more;
}

/* The ids of records whose `field` is one of values[off..off+10), by a
 * search with the equals criteria OR-ed (§16: <= 10 criteria).  The way
 * for fields that COQL cannot filter on (coql_findable). */
static int search_ids(struct conn *c, enum obj o, const char *field, const json_t *values, size_t off, json_t *ids,
		      struct crm_err *err)
{
	struct buf crit = BUF_INIT;
	size_t n = json_array_size(values), k = 0;
	int rc = 0;

	if (n - off > 1)
		buf_addc(&crit, '(');
	for (size_t i = off; i < n && i < off + CRITERIA_MAX; i++) {
		const char *v = json_string_value(json_array_get(values, i));
		if (!v || !*v)
			continue;
		if (k++)
			buf_adds(&crit, "or");
		buf_addf(&crit, "(%s:equals:", field);
		criteria_value(&crit, v);
		buf_addc(&crit, ')');
	}
	if (n - off > 1)
		buf_addc(&crit, ')');
	for (int page = 1; k && rc == 0; page++) {
		struct buf path = BUF_INIT;
		json_t *ans = NULL;
		buf_addf(&path, ZO_V "/%s/search?criteria=", module_of[o]);
		buf_add_urlenc(&path, crit.buf);
		buf_adds(&path, "&fields=");
		buf_add_urlenc(&path, field);
		buf_addf(&path, "&per_page=%d&page=%d", PER_PAGE, page);
		module_params(&path, o);
		rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, NULL, &ans, NULL, err);
		buf_release(&path);
		if (rc < 0)
			break;
		int more = answer_ids(ans, ids);
		/* Search stops at 2,000 results (§4): ten values never match that many. */
		if (!more || (long)page * PER_PAGE >= DISCRETE_LIMIT)
			break;
	}
	buf_release(&crit);
	return rc;
}

/* COQL filters text-like fields (§16: not multi-line ones, nor users). */
static int coql_findable(struct conn *c, enum obj o, const char *field)
{
	const char *t = dtype(c, o, field);
	return o != OBJ_USER && t && kind_of(t) == ZK_TEXT && strcmp(t, "textarea") && strcmp(t, "mediumtext");
}

/* The same for values[off..off+50) in one COQL query,
 *   select <field> from <Module> where <field> in ('a', 'b', ...) limit <o>, 2000
 * five times fewer calls than the search: push looks a batch of 100 up in
 * two.  Relied on, unverified in §16: `in` comparing text without regard
 * to case as search's equals does (each hit is compared again below), a
 * ' inside a literal escaped as \', and COQL answering every row's id and
 * leads whether converted or not (as pull --where does). */
static int coql_ids(struct conn *c, enum obj o, const char *field, const json_t *values, size_t off, json_t *ids,
		    struct crm_err *err)
{
	struct buf in = BUF_INIT;
	size_t n = json_array_size(values), k = 0;
	int rc = 0;

	for (size_t i = off; i < n && i < off + COQL_IN_MAX; i++) {
		const char *v = json_string_value(json_array_get(values, i));
		if (!v || !*v)
			continue;
		if (k++)
			buf_adds(&in, ", ");
		coql_quote(&in, v, 0);
	}
	for (long at = 0; k && rc == 0 && at < COQL_OFFSET_MAX; at += COQL_LIMIT) {
		struct buf q = BUF_INIT;
		json_t *body, *ans = NULL;
		buf_addf(&q, "select %s from %s where %s in (%s) limit %ld, %d", field, module_of[o], field, in.buf, at,
			 COQL_LIMIT);
		body = json_pack("{s:s}", "select_query", q.buf);
		rc = call(c, "POST", ZO_V "/coql", body, HTTP_IDEMPOTENT, NULL, &ans, NULL, err);
		json_decref(body);
		buf_release(&q);
		if (rc < 0)
			break;
		int more = answer_ids(ans, ids);
		if (!more)
			break;
	}
	buf_release(&in);
	return rc;
}

/* Records whose `field` is one of values: their ids by COQL (or search),
 * then the records read by id with every slice.  Every record whose value
 * matches, case-insensitively, is kept (find_put): push never picks one. */
static int zo_find(struct conn *c, enum obj o, const char *field, const json_t *values, json_t **out,
		   struct crm_err *err)
{
	json_t *res = json_object(), *slices = NULL, *ids = json_array(), *byid = NULL;
	size_t n = json_array_size(values);
	int rc;

	*out = NULL;
	if ((rc = load_meta(c, o, err)) < 0)
		goto done;
	slices = make_slices(c, o, NULL);
	int coql = coql_findable(c, o, field);
	for (size_t off = 0; off < n && rc == 0; off += coql ? COQL_IN_MAX : CRITERIA_MAX)
		rc = coql ? coql_ids(c, o, field, values, off, ids, err) : search_ids(c, o, field, values, off, ids, err);
	if (rc < 0 || (rc = read_ids(c, o, slices, ids, 0, &byid, err)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_array_get(values, i));
		json_t *e;
		const char *k;
		if (!v)
			continue;
		json_object_foreach(byid, k, e) {
			char tmp[64];
			const char *have = jx_text(json_object_get(json_object_get(e, "fields"), field), tmp, sizeof(tmp));
			if (have && !strcasecmp(have, v))
				find_put(res, v, e);
		}
	}
done:
	json_decref(slices);
	json_decref(ids);
	json_decref(byid);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* ---- writes (§6) ---- */

/* crmsync's flat values -> Zoho's typed JSON (§2: numbers, booleans and
 * null, not strings; lookups as {"id"}; datetimes with an offset, no
 * fraction).  NULL: leave the key out. */
static json_t *zoho_value(struct conn *c, enum obj o, const char *k, json_t *v, int create)
{
	const char *t = dtype(c, o, k);
	const char *s = json_string_value(v);
	char *end;

	if (jx_is_empty(v))
		return create ? NULL : json_null(); /* "" clears: Zoho clears with null */
	if (!t)
		return json_incref(v);
	if (!strcmp(t, "lookup") || !strcmp(t, "ownerlookup") || !strcmp(t, "userlookup")) {
		char tmp[64];
		const char *id = json_is_object(v) ? jx_text(json_object_get(v, "id"), tmp, sizeof(tmp))
			       : jx_text(v, tmp, sizeof(tmp));
		return id ? json_pack("{s:s}", "id", id) : json_incref(v);
	}
	if (s && (!strcmp(t, "integer") || !strcmp(t, "bigint"))) {
		long long n = strtoll(s, &end, 10);
		return *end ? json_incref(v) : json_integer(n);
	}
	if (s && (!strcmp(t, "double") || !strcmp(t, "currency") || !strcmp(t, "percent") || !strcmp(t, "decimal"))) {
		double d = strtod(s, &end);
		return *end ? json_incref(v) : json_real(d);
	}
	if (s && !strcmp(t, "boolean") && (!strcmp(s, "true") || !strcmp(s, "false")))
		return json_boolean(!strcmp(s, "true"));
	if (s && !strcmp(t, "datetime")) {
		long long ms;
		char out[TIME_BUFSZ];
		if (time_parse(s, &ms) == 0) {
			ims_of(ms, out);
			return json_string(out);
		}
	}
	if (s && !strcmp(t, "multiselectpicklist")) {
		/* ';'-separated values (another CRM's multi-select) become the array Zoho takes. */
		json_t *arr = json_array();
		char *copy = strdup(s), *save = NULL;
		for (char *x = strtok_r(copy, ";", &save); x; x = strtok_r(NULL, ";", &save))
			if (*x)
				json_array_append_new(arr, json_string(x));
		free(copy);
		return arr;
	}
	return json_incref(v);
}

static json_t *zoho_record(struct conn *c, enum obj o, const json_t *fields, int create)
{
	json_t *d = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)fields, k, v) {
		json_t *z = zoho_value(c, o, k, v, create);
		if (z)
			json_object_set_new(d, k, z);
	}
	return d;
}

/* A per-record answer (§6) into its item. */
static void apply_result(const json_t *r, long http_status, enum write_op op, struct write_item *it)
{
	const char *st = jx_str(r, "status");
	const json_t *d = json_object_get(r, "details");
	char tmp[32];

	if (st && !strcmp(st, "success")) {
		const char *id = jx_text(json_object_get(d, "id"), tmp, sizeof(tmp));
		if (id)
			item_set_id(it, id);
		else if (it->remote_id)
			item_set_id(it, it->remote_id);
		const char *act = jx_str(r, "action");
		it->created = op == WR_CREATE || (op == WR_UPSERT && (!act || !strcmp(act, "insert")));
		return;
	}
	err_set(&it->err, CRM_ERECORD, "rejected", "Zoho refused the record");
	fill_error(r, &it->err, 0);
	it->err.http_status = http_status;
	const char *code = jx_str(r, "code");
	size_t l = strlen(it->err.message);
	if (code && !strcmp(code, "DUPLICATE_DATA")) {
		const char *dup = jx_text(json_object_get(json_object_get(d, "duplicate_record"), "id"), tmp, sizeof(tmp));
		if (dup)
			snprintf(it->err.message + l, sizeof(it->err.message) - l, ": %s matches record %s",
				 jx_str(d, "api_name") ? jx_str(d, "api_name") : "a unique field", dup);
	} else if (jx_str(d, "expected_data_type")) {
		snprintf(it->err.message + l, sizeof(it->err.message) - l, ": %s must be %s",
			 jx_str(d, "api_name") ? jx_str(d, "api_name") : "a field", jx_str(d, "expected_data_type"));
	} else if (json_is_integer(json_object_get(d, "maximum_length"))) {
		snprintf(it->err.message + l, sizeof(it->err.message) - l, ": %s is longer than %lld characters",
			 jx_str(d, "api_name") ? jx_str(d, "api_name") : "a field",
			 (long long)json_integer_value(json_object_get(d, "maximum_length")));
	} else if (jx_str(d, "api_name") && code && !strcmp(code, "MANDATORY_NOT_FOUND")) {
		snprintf(it->err.message + l, sizeof(it->err.message) - l, ": %s", jx_str(d, "api_name"));
	}
}

/* Sends one write call for the items idx[0..k) and applies data[i] to
 * items[idx[i]] (§6: answers come in input order). */
static int send_write(struct conn *c, const char *method, const char *path, json_t *body, unsigned flags,
		      enum write_op op, struct write_item *items, const size_t *idx, size_t k, struct crm_err *err)
{
	json_t *ans = NULL, *r;
	long status = 0;
	size_t i;
	int rc;

	rc = call(c, method, path, body, flags, NULL, &ans, &status, err);
	if (rc < 0)
		return rc;
	json_array_foreach(json_object_get(ans, "data"), i, r)
		if (i < k)
			apply_result(r, status, op, &items[idx[i]]);
	for (i = 0; i < k; i++)
		if (!items[idx[i]].err.status && !items[idx[i]].id_out[0])
			err_set(&items[idx[i]].err, CRM_ERECORD, "no_result", "Zoho's answer did not mention this record");
	json_decref(ans);
	return 0;
}

static int zo_write(struct conn *c, enum obj o, enum write_op op, struct write_item *items, size_t n,
		    struct crm_err *err)
{
	struct buf path = BUF_INIT;
	size_t *idx = calloc(n ? n : 1, sizeof(*idx)), k = 0;
	json_t *data = json_array(), *body = NULL;
	int rc;

	if (op == WR_UPSERT && !dup_field[o])
		op = WR_CREATE; /* no key to upsert on (accounts, deals) */
	if ((rc = load_meta(c, o, err)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		if ((op == WR_UPDATE || op == WR_DELETE) && !is_digits(items[i].remote_id)) {
			/* Ids are digit strings (§2): no such record, and Zoho would refuse the call. */
			err_set(&items[i].err, CRM_ERECORD, "not_found", "Zoho has no %s %s", obj_name(o),
				items[i].remote_id ? items[i].remote_id : "(no id)");
			items[i].err.http_status = 404;
			continue;
		}
		idx[k++] = i;
		if (op == WR_DELETE)
			continue;
		json_t *rec = zoho_record(c, o, items[i].fields, op != WR_UPDATE);
		if (op == WR_UPDATE)
			json_object_set_new(rec, "id", json_string(items[i].remote_id));
		json_array_append_new(data, rec);
	}
	if (!k)
		goto done;
	switch (op) {
	case WR_DELETE:
		buf_addf(&path, ZO_V "/%s?ids=", module_of[o]);
		for (size_t i = 0; i < k; i++) {
			buf_adds(&path, i ? "%2C" : "");
			buf_add_urlenc(&path, items[idx[i]].remote_id);
		}
		rc = send_write(c, "DELETE", path.buf, NULL, HTTP_IDEMPOTENT, op, items, idx, k, err);
		break;
	case WR_UPDATE:
		buf_addf(&path, ZO_V "/%s", module_of[o]);
		body = json_pack("{s:O}", "data", data);
		rc = send_write(c, "PUT", path.buf, body, HTTP_IDEMPOTENT, op, items, idx, k, err);
		break;
	case WR_UPSERT:
		/* Idempotent on Email: a lost answer is sent again (§6, DESIGN hard
		 * part 2).  push looked the emails up first and found none (or the
		 * record would be an update or ambiguous_match); write() is not told
		 * push's --match (interface wish). */
		buf_addf(&path, ZO_V "/%s/upsert", module_of[o]);
		body = json_pack("{s:O,s:[s]}", "data", data, "duplicate_check_fields", dup_field[o]);
		rc = send_write(c, "POST", path.buf, body, HTTP_IDEMPOTENT, op, items, idx, k, err);
		break;
	case WR_CREATE:
		/* A plain insert: Zoho's duplicate check on unique fields fails a
		 * twin with DUPLICATE_DATA; a lost answer is CRM_EAMBIG for push. */
		buf_addf(&path, ZO_V "/%s", module_of[o]);
		body = json_pack("{s:O}", "data", data);
		rc = send_write(c, "POST", path.buf, body, 0, op, items, idx, k, err);
		break;
	}
done:
	json_decref(body);
	json_decref(data);
	buf_release(&path);
	free(idx);
	return rc;
}

/* ---- lists: Campaigns (§8) ---- */

/* Members of one related list, counted page by page (no count call). */
static int count_members(struct conn *c, const char *cid, const char *rel, long *n, json_t *ids,
			 struct crm_err *err)
{
	int rc = 0;

	*n = 0;
	for (int page = 1; rc == 0; page++) {
		struct buf path = BUF_INIT;
		json_t *ans = NULL;
		buf_addf(&path, ZO_V "/Campaigns/%s/%s?fields=Last_Name&per_page=%d&page=%d", cid, rel, PER_PAGE, page);
		rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, NULL, &ans, NULL, err);
		buf_release(&path);
		if (rc < 0)
			break;
		*n += (long)json_array_size(json_object_get(ans, "data"));
		if (ids) {
			json_t *r;
			size_t i;
			json_array_foreach(json_object_get(ans, "data"), i, r) {
				char tmp[32];
				const char *id = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
				if (id)
					json_object_set_new(ids, id, json_true());
			}
		}
		int more = json_is_true(json_object_get(json_object_get(ans, "info"), "more_records"));
		json_decref(ans);
		if (!more)
			break;
	}
	return rc;
}

static int zo_lists(struct conn *c, json_t **out, struct crm_err *err)
{
	json_t *res = json_array();
	int rc = 0;

	for (int page = 1; rc == 0; page++) {
		struct buf path = BUF_INIT;
		json_t *ans = NULL, *r;
		size_t i;
		buf_addf(&path, ZO_V "/Campaigns?fields=Campaign_Name%%2CType%%2CStatus%%2CStart_Date%%2CEnd_Date"
			 "&sort_by=id&sort_order=asc&per_page=%d&page=%d", PER_PAGE, page);
		rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, NULL, &ans, NULL, err);
		buf_release(&path);
		if (rc < 0)
			break;
		json_array_foreach(json_object_get(ans, "data"), i, r) {
			char tmp[32];
			const char *id = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
			long nc = 0, nl = 0;
			if (!id)
				continue;
			/* size = members of /Contacts + /Leads (§8). */
			if ((rc = count_members(c, id, "Contacts", &nc, NULL, err)) < 0 ||
			    (rc = count_members(c, id, "Leads", &nl, NULL, err)) < 0)
				break;
			json_array_append_new(res, json_pack("{s:s,s:s,s:O?,s:I,s:b,s:{s:O?,s:O?,s:O?,s:O?,s:I,s:I}}",
				"object", "list", "remote_id", id, "name", json_object_get(r, "Campaign_Name"),
				"size", (json_int_t)(nc + nl), "dynamic", 0, "remote_fields",
				"Type", json_object_get(r, "Type"), "Status", json_object_get(r, "Status"),
				"Start_Date", json_object_get(r, "Start_Date"), "End_Date", json_object_get(r, "End_Date"),
				"contacts", (json_int_t)nc, "leads", (json_int_t)nl));
		}
		int more = json_is_true(json_object_get(json_object_get(ans, "info"), "more_records"));
		json_decref(ans);
		if (!more || (long)page * PER_PAGE >= DISCRETE_LIMIT)
			break;
	}
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

/* Adds (PUT with Member_Status) or delinks (DELETE ?ids=) the items in one
 * related list; items already answered are skipped. */
static int related_write(struct conn *c, const char *cid, const char *rel, int add, struct write_item *items,
			 size_t n, int only_invalid, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	size_t *idx = calloc(n ? n : 1, sizeof(*idx)), k = 0;
	json_t *data = json_array(), *body = NULL;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (only_invalid) {
			if (strcmp(items[i].err.code, "INVALID_DATA"))
				continue;
			err_clear(&items[i].err);
		} else if (items[i].err.status) {
			continue;
		}
		idx[k++] = i;
		json_array_append_new(data, json_pack("{s:s,s:s}", "id", items[i].remote_id, "Member_Status", c->member_status));
	}
	if (k) {
		buf_addf(&path, ZO_V "/Campaigns/%s/%s", cid, rel);
		if (add) {
			body = json_pack("{s:O}", "data", data);
			rc = send_write(c, "PUT", path.buf, body, HTTP_IDEMPOTENT, WR_UPDATE, items, idx, k, err);
		} else {
			buf_adds(&path, "?ids=");
			for (size_t i = 0; i < k; i++) {
				buf_adds(&path, i ? "%2C" : "");
				buf_add_urlenc(&path, items[idx[i]].remote_id);
			}
			rc = send_write(c, "DELETE", path.buf, NULL, HTTP_IDEMPOTENT, WR_UPDATE, items, idx, k, err);
		}
	}
	json_decref(body);
	json_decref(data);
	buf_release(&path);
	free(idx);
	return rc;
}

/* The campaign's members (contacts and leads), once per campaign a run. */
static int load_members(struct conn *c, const char *cid, struct crm_err *err)
{
	json_t *ids;
	long nc, nl;
	int rc;

	if (c->members && !strcmp(c->members_cid, cid))
		return 0;
	ids = json_object();
	if ((rc = count_members(c, cid, "Contacts", &nc, ids, err)) < 0 ||
	    (rc = count_members(c, cid, "Leads", &nl, ids, err)) < 0) {
		json_decref(ids);
		return rc;
	}
	json_decref(c->members);
	c->members = ids;
	snprintf(c->members_cid, sizeof(c->members_cid), "%s", cid);
	return 0;
}

/* Zoho answers "relation updated" whether or not the record was a member
 * (§8), and a PUT would reset a member's Member_Status: so the members are
 * read first (load_members), and only real changes are sent.  A member
 * added again, or a non-member removed, is unchanged (created = 0). */
static int zo_list_write(struct conn *c, const char *list, int add, struct write_item *items, size_t n,
			 struct crm_err *err)
{
	struct write_item *sub;
	size_t *map, nb = 0;
	char cid[32];
	int rc;

	if ((rc = find_campaign(c, list, cid, sizeof(cid), err)) < 0 || (rc = load_members(c, cid, err)) < 0)
		return rc;
	sub = calloc(n ? n : 1, sizeof(*sub));
	map = calloc(n ? n : 1, sizeof(*map));
	if (!sub || !map) {
		free(sub);
		free(map);
		return err_set(err, CRM_EFAIL, "no_memory", "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_digits(items[i].remote_id)) {
			err_set(&items[i].err, CRM_ERECORD, "not_found", "Zoho has no contact or lead %s", items[i].remote_id);
			items[i].err.http_status = 404;
			continue;
		}
		items[i].created = 0;
		if (!json_object_get(c->members, items[i].remote_id) == !add)
			continue; /* already so */
		map[nb] = i;
		sub[nb++] = items[i];
	}
	/* Contacts first; ids Zoho does not know as contacts may be leads, the
	 * campaign's other related list (§8). */
	if (nb && ((rc = related_write(c, cid, "Contacts", add, sub, nb, 0, err)) < 0 ||
		   (rc = related_write(c, cid, "Leads", add, sub, nb, 1, err)) < 0)) {
		/* The members may have changed: read them again next time. */
		json_decref(c->members);
		c->members = NULL;
	}
	for (size_t j = 0; j < nb; j++) {
		if (!sub[j].err.status) {
			sub[j].created = 1; /* the relation was written */
			if (add && c->members)
				json_object_set_new(c->members, sub[j].remote_id, json_true());
			else if (c->members)
				json_object_del(c->members, sub[j].remote_id);
		}
		items[map[j]] = sub[j];
	}
	free(sub);
	free(map);
	return rc;
}

static const char *const zo_env[] = {
	"ZOHO_ACCESS_TOKEN", "ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN", "ZOHO_API_DOMAIN",
	"ZOHO_ACCOUNTS_URL", NULL
};

/* The readers for the fuzz targets (provider.h: read_error, read_record). */
static void read_error(const json_t *body, struct crm_err *err)
{
	fill_error(body, err, 1);
}

static json_t *read_record(enum obj o, json_t *raw)
{
	struct conn cc;
	memset(&cc, 0, sizeof(cc));
	return envelope(&cc, o, raw, 1);
}

const struct provider provider_zoho = {
	.name = "zoho",
	.read_error = read_error, .read_record = read_record,
	.listed = 4,
	.env_vars = zo_env,
	.lookback_s = 10, /* IMS is inclusive at 1 s (§4); covers clock skew between Zoho's servers */
	.batch_max = 100,
	.concurrency = 4, /* under the 5 concurrent calls per org of the smallest edition (§10) */
	.obj = { [OBJ_ACCOUNT] = &o_account, [OBJ_CONTACT] = &o_contact, [OBJ_USER] = &o_user,
		 [OBJ_LEAD] = &o_lead, [OBJ_DEAL] = &o_deal },
	.deleted_note = "Zoho reports records in its recycle bin (id, name and deletion time only); records purged "
			"from the bin are not reported, and a converted lead is not deleted (Converted__s is true)",
	.has_lists = 1,
	/* Ids: digit strings (zoho.md §1); a list is a campaign id or name (searched). */
	.id_syntax = ID_DIGITS,
	.list_id_syntax = ID_NAME,
	.open = zo_open,
	.close = zo_close,
	.namespace = zo_namespace,
	.status = zo_status,
	.fields = zo_fields,
	.where_can = zo_where_can,
	.where_max = COQL_CRITERIA - 1, /* one criterion is the keyset's time (§4) */
	.pull_open = zo_pull_open,
	.pull_next = zo_pull_next,
	.pull_total = zo_pull_total,
	.pull_close = zo_pull_close,
	.pull_fixup = zo_fixup,
	.find = zo_find,
	.read = zo_read,
	.write = zo_write,
	.lists = zo_lists,
	.list_write = zo_list_write,
};
