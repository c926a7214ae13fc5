/* HubSpot: CRM v3 objects, v4 associations, owners, pipelines, lists v3.
 * Wire facts: ../shared/api/hubspot.md (section numbers below refer to it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "auth.h"
#include "buf.h"
#include "http.h"
#include "envelope.h"
#include "pager.h"
#include "jx.h"
#include "config.h"
#include "provider.h"
#include "timeutil.h"
#include "banned.h"

#define HS_BASE "https://api.hubapi.com"
#define B_MAIN 0
#define B_SEARCH 1
#define SEARCH_LIMIT 200  /* §2.4: search limit <= 200 */
#define LIST_LIMIT 100    /* §2.1: list limit <= 100 */
#define PROPS_URL_MAX 12000 /* §12.5: ~16,300 characters gives 414; stay well under */

/* ---- the tables: unified <-> HubSpot properties (§3) ---- */

static const struct map_entry contact_map[] = {
	{ "first_name", "firstname", MK_STR, NULL, NULL, 0 },
	{ "last_name", "lastname", MK_STR, NULL, NULL, 0 },
	{ "title", "jobtitle", MK_STR, NULL, NULL, 0 },
	{ "email_addresses", "email", MK_EMAIL, NULL, NULL, MF_PRIMARY },
	{ "email_addresses", "hs_additional_emails", MK_EMAILS, NULL, NULL, MF_RO },
	{ "phone_numbers", "phone", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "mobilephone", MK_PHONE, "MOBILE", NULL, 0 },
	{ "phone_numbers", "fax", MK_PHONE, "FAX", NULL, 0 },
	{ "addresses", "address", MK_ADDR, NULL, "street_1", 0 },
	{ "addresses", "city", MK_ADDR, NULL, "city", 0 },
	{ "addresses", "state", MK_ADDR, NULL, "state", 0 },
	{ "addresses", "zip", MK_ADDR, NULL, "postal_code", 0 },
	{ "addresses", "country", MK_ADDR, NULL, "country", 0 },
	{ "account", "associatedcompanyid", MK_REL, NULL, NULL, 0 },
	{ "owner", "hubspot_owner_id", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "notes_last_updated", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct map_entry company_map[] = {
	{ "name", "name", MK_STR, NULL, NULL, 0 },
	{ "description", "description", MK_STR, NULL, NULL, 0 },
	{ "industry", "industry", MK_STR, NULL, NULL, MF_OPTION },
	{ "website", "website", MK_STR, NULL, NULL, 0 },
	{ "domain", "domain", MK_STR, NULL, NULL, 0 },
	{ "number_of_employees", "numberofemployees", MK_INT, NULL, NULL, 0 },
	{ "phone_numbers", "phone", MK_PHONE, "WORK", NULL, 0 },
	{ "addresses", "address", MK_ADDR, NULL, "street_1", 0 },
	{ "addresses", "address2", MK_ADDR, NULL, "street_2", 0 },
	{ "addresses", "city", MK_ADDR, NULL, "city", 0 },
	{ "addresses", "state", MK_ADDR, NULL, "state", 0 },
	{ "addresses", "zip", MK_ADDR, NULL, "postal_code", 0 },
	{ "addresses", "country", MK_ADDR, NULL, "country", 0 },
	{ "owner", "hubspot_owner_id", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "notes_last_updated", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* "@company" and "@contact" are associations, not properties: the provider
 * reads them from the association APIs and writes them as associations. */
static const struct map_entry deal_map[] = {
	{ "name", "dealname", MK_STR, NULL, NULL, 0 },
	{ "description", "description", MK_STR, NULL, NULL, 0 },
	{ "amount", "amount", MK_NUM, NULL, NULL, 0 },
	{ "currency", "deal_currency_code", MK_STR, NULL, NULL, 0 },
	{ "stage", "dealstage", MK_STR, NULL, NULL, MF_STAGE },
	{ "pipeline", "pipeline", MK_STR, NULL, NULL, MF_PIPELINE },
	{ "close_date", "closedate", MK_DATE, NULL, NULL, 0 },
	{ "account", "@company", MK_REL, NULL, NULL, 0 },
	{ "owner", "hubspot_owner_id", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "notes_last_updated", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* HubSpot leads hold a name, a stage and an owner; the person and the
 * company live on the associated contact and company ("@contact",
 * "@company", in remote_fields), which carry the lead's first_name ...
 * company (links below).  Those are the lead's own person, not a
 * conversion: HubSpot's API records no lead conversion (a lead is worked
 * through its stages), so converted_* have no field here.  Nor has source:
 * leads have no source property (hubspot.md §3 lists hs_lead_name, _type,
 * _label, hs_pipeline, _stage, owner), so it is reported not_stored rather
 * than sent to a property that does not exist. */
static const struct map_entry lead_map[] = {
	{ "status", "hs_pipeline_stage", MK_STR, NULL, NULL, MF_OPTION },
	{ "owner", "hubspot_owner_id", MK_REL, NULL, NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const char *const lead_person_keys[] = { "first_name", "last_name", "title", "email_addresses", "phone_numbers", NULL };
static const char *const lead_company_keys[] = { "company=name", NULL };
/* The company first: a contact made for a lead joins it. */
static const struct prov_link lead_links[] = {
	{ "@company", OBJ_ACCOUNT, lead_company_keys },
	{ "@contact", OBJ_CONTACT, lead_person_keys },
	{ NULL, 0, NULL }
};

/* Required on create (hubspot.md §5): a lead needs its name and a contact. */
static const struct prov_required lead_required[] = {
	{ "hs_lead_name", "last_name", "first_name+last_name,company" },
	{ "@contact", "email_addresses", NULL },
	{ NULL, NULL, NULL }
};
static const struct prov_required contact_required[] = {
	{ "email|firstname|lastname", "email_addresses", NULL },
	{ NULL, NULL, NULL }
};
static const struct prov_required deal_required[] = {
	{ "dealname", "name", NULL },
	{ NULL, NULL, NULL }
};

/* Owners (§4): read-only; is_active = !archived. */
static const struct map_entry owner_map[] = {
	{ "first_name", "firstName", MK_STR, NULL, NULL, MF_RO },
	{ "last_name", "lastName", MK_STR, NULL, NULL, MF_RO },
	{ "email", "email", MK_STR, NULL, NULL, MF_RO },
	{ "is_active", "archived", MK_NBOOL, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct prov_object o_account = { "companies", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, company_map, "domain", .match_fallback = "name" };
/* OC_UPSERT: HubSpot keeps contact emails unique, so the batch upsert by
 * email can never pick one of several. */
static const struct prov_object o_contact = { "contacts", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED | OC_UPSERT, contact_map, "email",
					       .required = contact_required };
static const struct prov_object o_user = { "owners", OC_PULL | OC_DELETED, owner_map, "email" };
static const struct prov_object o_lead = { "leads", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, lead_map, NULL,
					    .links = lead_links, .required = lead_required };
static const struct prov_object o_deal = { "deals", OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED, deal_map, NULL,
					    .required = deal_required };

/* Property used for incremental search, per object (§2.4, pitfall 2). */
static const char *lastmod_prop(enum obj o)
{
	return o == OBJ_CONTACT ? "lastmodifieddate" : "hs_lastmodifieddate";
}

/* Association type ids for writes (§6; HUBSPOT_DEFINED, primary). */
static int assoc_type(enum obj from, const char *to)
{
	if (from == OBJ_DEAL && !strcmp(to, "companies"))
		return 5;
	if (from == OBJ_LEAD && !strcmp(to, "contacts"))
		return 578;
	if (from == OBJ_LEAD && !strcmp(to, "companies"))
		return 580;
	return 0;
}

/* ---- connection ---- */

struct conn {
	struct http *http;
	char *base;
	struct auth auth;           /* the token and the refresh credentials */
	char portal[32];
	json_t *props[OBJ_COUNT];   /* properties metadata (§5) */
	json_t *stages;             /* deal stage id -> {status, probability} */
};

struct pull {
	struct conn *c;
	struct pull_opts o;
	json_t *names;              /* property names to ask for */
	/* list paging */
	char *after;
	int done, phase;            /* phase 0 = live, 1 = archived */
	/* ordered (search) paging, see search_page() */
	long long t;                /* the lowest updatedAt still to read */
	json_t *seen;               /* ids already emitted at time t */
	int id_mode;                /* paging by id at one timestamp */
	char last_id[64];
	struct pager_guard guard;   /* of the current listing (lib/pager) */
	long long total;            /* records expected (pull_total), -1 unknown */
};

static int hs_refresh(void *ctx, struct crm_err *err);

#define NO_CREDENTIALS "no HubSpot credentials: set HUBSPOT_ACCESS_TOKEN (a private app token) or " \
		       "HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN"

static int hs_auth(void *ctx, struct curl_slist **h, struct crm_err *err)
{
	struct conn *c = ctx;
	int rc;

	if (!c->auth.token && (rc = hs_refresh(c, err)) < 0)
		return rc;
	return auth_header(h, "Authorization", "Bearer ", c->auth.token, err);
}

static json_t *parse_body(const struct http_resp *r)
{
	char why[160];
	return r->body.len ? jx_parse(r->body.buf, r->body.len, 0, why, sizeof(why)) : NULL;
}

/* §10: a 400's detail may be a JSON list inside the message string. */
static void fill_error(const json_t *body, struct crm_err *e)
{
	const char *msg = jx_str(body, "message"), *cat = jx_str(body, "category");
	const char *sub = jx_str(body, "subCategory");

	if (cat)
		snprintf(e->code, sizeof(e->code), "%s", sub ? sub : cat);
	if (msg) {
		const char *lb = strchr(msg, '[');
		json_t *list = lb ? json_loads(lb, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
		json_t *first = json_array_get(list, 0);
		if (first && jx_str(first, "error"))
			snprintf(e->code, sizeof(e->code), "%s", jx_str(first, "error"));
		if (first && jx_str(first, "name"))
			snprintf(e->field, sizeof(e->field), "%s", jx_str(first, "name"));
		if (first && jx_str(first, "message"))
			snprintf(e->message, sizeof(e->message), "HubSpot: %s", jx_str(first, "message"));
		else
			snprintf(e->message, sizeof(e->message), "HubSpot: %s", msg);
		json_decref(list);
	}
}

static void hs_classify(void *ctx, const struct http_req *req, const struct http_resp *resp,
			struct http_verdict *v, struct crm_err *err)
{
	struct conn *c = ctx;
	json_t *body;
	const char *cat, *policy;
	char tmp[32];

	if (resp->status < 400)
		return;
	body = parse_body(resp);
	cat = jx_str(body, "category");
	policy = jx_str(body, "policyName");
	switch (resp->status) {
	case 401:
		if (cat && !strcmp(cat, "EXPIRED_AUTHENTICATION") && c->auth.refresh_token) {
			v->action = HA_REFRESH;
		} else {
			v->action = HA_FAIL;
			err_set(err, CRM_EAUTH, cat ? cat : "unauthorized",
				cat && !strcmp(cat, "EXPIRED_AUTHENTICATION")
				? "HubSpot says the access token expired and no refresh credentials are set (HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET, HUBSPOT_REFRESH_TOKEN)"
				: "HubSpot refused the access token (HTTP 401); check HUBSPOT_ACCESS_TOKEN");
		}
		break;
	case 403:
		v->action = HA_FAIL;
		err_set(err, CRM_EAUTH, cat ? cat : "forbidden", "HubSpot refused access (HTTP 403%s%s)",
			cat ? ", " : "", cat ? cat : "");
		break;
	case 429:
		v->rate_limited = 1;
		if (policy && !strcmp(policy, "DAILY")) {
			v->action = HA_FAIL;
			err_set(err, CRM_ETEMP, "daily_limit",
				"HubSpot's daily API limit is spent; it resets at midnight in the account's time zone");
		} else if (resp->retry_after_ms > 0) {
			v->action = HA_RETRY;
			v->wait_ms = resp->retry_after_ms;
		} else if (policy && !strcmp(policy, "SECONDLY")) {
			v->action = HA_RETRY;
			v->wait_ms = 1000;
		} else {
			/* §9: Retry-After is unreliable; wait out the rolling window. */
			v->action = HA_RETRY;
			v->wait_ms = http_resp_header(resp, "X-HubSpot-RateLimit-Interval-Milliseconds", tmp, sizeof(tmp))
				     ? strtoll(tmp, NULL, 10) : 10000;
		}
		if (v->action == HA_RETRY)
			err_set(err, CRM_ETEMP, "rate_limited", "HubSpot kept answering 429 (%s)",
				policy ? policy : "rate limited");
		break;
	case 404:
		v->action = HA_FAIL;
		err_set(err, CRM_ENOTFOUND, "not_found", "HubSpot has no such resource (%s)", req->url + strlen(c->base));
		fill_error(body, err);
		break;
	case 423: /* §10: record locked, wait at least 2 s */
		v->action = HA_RETRY;
		v->wait_ms = 2000;
		break;
	default:
		if (resp->status >= 400 && resp->status < 500) {
			v->action = HA_FAIL;
			err_set(err, CRM_ERECORD, "http_error", "HubSpot answered HTTP %ld", resp->status);
			fill_error(body, err);
		}
	}
	json_decref(body);
}

static void hs_learn(void *ctx, struct http *h, const struct http_req *req, const struct http_resp *resp)
{
	char rem[32], max[32], win[32];

	if (req->bucket != B_MAIN)
		return;
	if (http_resp_header(resp, "X-HubSpot-RateLimit-Remaining", rem, sizeof(rem)))
		http_bucket_learn(h, B_MAIN, strtol(rem, NULL, 10),
				  http_resp_header(resp, "X-HubSpot-RateLimit-Max", max, sizeof(max)) ? strtol(max, NULL, 10) : -1,
				  http_resp_header(resp, "X-HubSpot-RateLimit-Interval-Milliseconds", win, sizeof(win)) ? strtol(win, NULL, 10) : -1);
}

/* One call: method, path (appended to base), optional JSON body.
 * *out: parsed JSON answer (new; NULL for 204). */
static int call(struct conn *c, const char *method, const char *path, const json_t *body,
		int bucket, unsigned flags, json_t **out, struct crm_err *err)
{
	struct buf url = BUF_INIT;
	struct http_req q = { method, NULL, NULL, 0, NULL, bucket, flags };
	int rc;

	buf_addf(&url, "%s%s", c->base, path);
	q.url = url.buf;
	rc = http_json(c->http, &q, body, out, NULL, "HubSpot", err);
	buf_release(&url);
	return rc;
}

/* call() with the answer parsed into d (lib/jv): for answers that are
 * large and read once (pages, batch results). */
static int call_jv(struct conn *c, const char *method, const char *path, jv_t body,
		   int bucket, unsigned flags, struct jv_doc *d, const struct jv_want *want, jv_t *out,
		   struct crm_err *err)
{
	struct buf url = BUF_INIT;
	struct http_req q = { method, NULL, NULL, 0, NULL, bucket, flags };
	int rc;

	buf_addf(&url, "%s%s", c->base, path);
	q.url = url.buf;
	rc = http_jv(c->http, &q, body, d, want, out, "HubSpot", err);
	buf_release(&url);
	return rc;
}

static int hs_refresh(void *ctx, struct crm_err *err)
{
	struct conn *c = ctx;
	struct buf url = BUF_INIT;
	struct auth_oauth o = {
		.bucket = B_MAIN, .crm = "HubSpot", .who = "HubSpot", .what = "the access token",
		.check = "the client id, secret and refresh token",
		.missing_status = CRM_ECONFIG, .missing = NO_CREDENTIALS,
	};
	int rc;

	buf_addf(&url, "%s/oauth/v1/token", c->base);
	o.url = url.buf;
	rc = auth_refresh(&c->auth, c->http, &o, err);
	buf_release(&url);
	return rc;
}

static int hs_open(struct conn **out, const struct session *s, struct crm_err *err)
{
	struct conn *c = calloc(1, sizeof(*c));
	const char *base = s->base_url ? s->base_url : HS_BASE;
	int rc;

	*out = NULL;
	c->http = s->http;
	c->base = strdup(base);
	http_trim_slashes(c->base);
	if ((rc = config_credential(s->cfg, s->profile, "HUBSPOT_ACCESS_TOKEN", "access_token", 1, &c->auth.token, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "HUBSPOT_CLIENT_ID", "client_id", 0, &c->auth.client_id, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "HUBSPOT_CLIENT_SECRET", "client_secret", 0, &c->auth.client_secret, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "HUBSPOT_REFRESH_TOKEN", "refresh_token", 0, &c->auth.refresh_token, err)) < 0)
		goto fail;
	if (!c->auth.token && !auth_can_refresh(&c->auth, 0)) {
		rc = err_set(err, CRM_ECONFIG, "no_credentials", NO_CREDENTIALS);
		goto fail;
	}
	if ((rc = http_check_secure(c->base, "HubSpot", err)) < 0)
		goto fail;
	{
		struct http_hooks hk = { c, hs_auth, hs_refresh, hs_classify, hs_learn };
		http_set_hooks(c->http, &hk);
	}
	/* §9: private apps on Professional/Enterprise: 190 calls per 10 s;
	 * search: 5 per second, its own bucket.  The headers correct these. */
	http_bucket(c->http, B_MAIN, 190, 10000);
	http_bucket(c->http, B_SEARCH, 5, 1000);
	*out = c;
	return 0;
fail:
	auth_release(&c->auth);
	free(c->base);
	free(c);
	return rc;
}

static void hs_close(struct conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < OBJ_COUNT; i++)
		json_decref(c->props[i]);
	json_decref(c->stages);
	auth_release(&c->auth);
	free(c->base);
	free(c);
}

static const char *hs_namespace(struct conn *c, struct crm_err *err)
{
	json_t *d;

	if (c->portal[0])
		return c->portal;
	if (call(c, "GET", "/account-info/v3/details", NULL, B_MAIN, HTTP_IDEMPOTENT, &d, err) < 0)
		return NULL;
	json_t *p = json_object_get(d, "portalId");
	char tmp[32];
	const char *s = jx_text(p, tmp, sizeof(tmp));
	snprintf(c->portal, sizeof(c->portal), "%s", s ? s : "");
	json_decref(d);
	return c->portal;
}

/* ---- properties (§5) ---- */

static const char *const required_props[OBJ_COUNT][3] = {
	[OBJ_ACCOUNT] = { "name", NULL, NULL },
	[OBJ_CONTACT] = { "email", NULL, NULL },
	[OBJ_DEAL] = { "dealname", "dealstage", NULL },
	[OBJ_LEAD] = { "hs_lead_name", NULL, NULL },
};

static int load_props(struct conn *c, enum obj o, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ans;
	int rc;

	if (c->props[o])
		return 0;
	if (o == OBJ_USER) {
		/* Owners have no properties endpoint: their fields are fixed (§4). */
		c->props[o] = json_pack("{s:[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s}]}",
			"results",
			"name", "id", "label", "Owner ID", "type", "string",
			"name", "email", "label", "Email", "type", "string",
			"name", "firstName", "label", "First name", "type", "string",
			"name", "lastName", "label", "Last name", "type", "string",
			"name", "userId", "label", "User ID", "type", "number",
			"name", "archived", "label", "Deactivated", "type", "bool",
			"name", "teams", "label", "Teams", "type", "object");
		return 0;
	}
	buf_addf(&path, "/crm/v3/properties/%s?archived=false",
		 o == OBJ_ACCOUNT ? "companies" : o == OBJ_CONTACT ? "contacts" : o == OBJ_DEAL ? "deals" : "leads");
	rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	if (!json_is_array(json_object_get(ans, "results"))) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "HubSpot's properties answer has no results");
	}
	c->props[o] = ans;
	return 0;
}

static int prop_read_only(const json_t *p)
{
	json_t *mm = json_object_get(p, "modificationMetadata");
	return json_is_true(json_object_get(mm, "readOnlyValue")) || json_is_true(json_object_get(p, "calculated"));
}

static int load_stages(struct conn *c, struct crm_err *err);

static int hs_fields(struct conn *c, enum obj o, json_t **out, struct crm_err *err)
{
	json_t *arr, *p;
	size_t i;
	int rc;

	if ((rc = load_props(c, o, err)) < 0 || (o == OBJ_DEAL && (rc = load_stages(c, err)) < 0))
		return rc;
	arr = json_array();
	json_array_foreach(json_object_get(c->props[o], "results"), i, p) {
		const char *name = jx_str(p, "name");
		int req = 0;
		json_t *opts = json_array(), *op;
		size_t j;
		if (!name)
			continue;
		for (int k = 0; k < 3 && required_props[o][k]; k++)
			req |= !strcmp(required_props[o][k], name);
		json_array_foreach(json_object_get(p, "options"), j, op) {
			json_t *x = json_pack("{s:O?,s:O?}", "label", json_object_get(op, "label"),
					      "value", json_object_get(op, "value"));
			/* A deal stage's facts (lib/options): its pipeline, whether it
			 * is won, lost or open, and its probability. */
			json_t *st = o == OBJ_DEAL && !strcmp(name, "dealstage") && jx_str(op, "value")
				? json_object_get(c->stages, jx_str(op, "value")) : NULL;
			if (st)
				json_object_update(x, st);
			json_array_append_new(opts, x);
		}
		json_array_append_new(arr, json_pack("{s:s,s:O?,s:O?,s:b,s:b,s:b,s:o}",
			"name", name, "label", json_object_get(p, "label"), "type", json_object_get(p, "type"),
			"required", req, "read_only", o == OBJ_USER || prop_read_only(p),
			"custom", o != OBJ_USER && !json_is_true(json_object_get(p, "hubspotDefined")),
			"options", opts));
	}
	if (o == OBJ_DEAL || o == OBJ_LEAD)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:[]}", "name", "@company",
			"label", "Associated company (association)", "type", "association", "required", 0,
			"read_only", 0, "custom", 0, "options"));
	if (o == OBJ_LEAD)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:[]}", "name", "@contact",
			"label", "Associated contact (association)", "type", "association", "required", 1,
			"read_only", 0, "custom", 0, "options"));
	*out = arr;
	return 0;
}

/* All property names of an object (what pull asks for). New reference. */
static json_t *prop_names(struct conn *c, enum obj o)
{
	json_t *names = json_array(), *p;
	size_t i;

	json_array_foreach(json_object_get(c->props[o], "results"), i, p)
		if (jx_str(p, "name"))
			json_array_append_new(names, json_string(jx_str(p, "name")));
	return names;
}

/* ---- deal stages (§3 Pipelines) ---- */

static int load_stages(struct conn *c, struct crm_err *err)
{
	json_t *ans, *pl, *st;
	size_t i, j;
	int rc;

	if (c->stages)
		return 0;
	if ((rc = call(c, "GET", "/crm/v3/pipelines/deals", NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err)) < 0)
		return rc;
	c->stages = json_object();
	json_array_foreach(json_object_get(ans, "results"), i, pl) {
		json_array_foreach(json_object_get(pl, "stages"), j, st) {
			json_t *md = json_object_get(st, "metadata");
			const char *id = jx_str(st, "id"), *closed = jx_str(md, "isClosed");
			char tmp[32];
			const char *prob = jx_text(json_object_get(md, "probability"), tmp, sizeof(tmp));
			double p = prob ? strtod(prob, NULL) : 0;
			int is_closed = closed && !strcmp(closed, "true");
			if (!id)
				continue;
			/* probability is 0..1 at HubSpot, a percentage in the unified model. */
			json_object_set_new(c->stages, id, json_pack("{s:s,s:f,s:O?}", "status",
				!is_closed ? "OPEN" : p >= 1.0 ? "WON" : "LOST", "probability", p * 100,
				"pipeline", json_object_get(pl, "id")));
		}
	}
	json_decref(ans);
	return 0;
}

static void hs_fixup(struct conn *c, enum obj o, struct jv_doc *d, jv_t env, jv_t rec)
{
	jv_t f = jv_get(d, env, "fields");

	if (o == OBJ_DEAL) {
		/* status and probability follow from the stage (lib/options);
		 * a stage it does not know leaves them null. */
		if (!jv_get(d, rec, "status"))
			jv_set(d, rec, "status", JV_NULL);
		if (!jv_get(d, rec, "probability"))
			jv_set(d, rec, "probability", JV_NULL);
	} else if (o == OBJ_USER) {
		struct buf b = BUF_INIT;
		const char *fn = jv_str(d, f, "firstName"), *ln = jv_str(d, f, "lastName");
		buf_addf(&b, "%s%s%s", fn ? fn : "", fn && ln ? " " : "", ln ? ln : "");
		jv_set(d, rec, "name", b.len ? jv_string(d, b.buf) : JV_NULL);
		buf_release(&b);
	}
}

/* ---- records: HubSpot objects to envelopes (§2.2) ---- */

/* The primary association's id (else the first) from an inline v3 list
 * ({id, type}) or a v4 list ({toObjectId, associationTypes}); the id is
 * copied into out.  Ids may be numbers or strings (§6). */
static const char *pick_assoc(const json_t *results, char *out, size_t n)
{
	json_t *a, *at;
	size_t i, j;
	int have = 0;

	json_array_foreach(results, i, a) {
		json_t *idv = json_object_get(a, "id");
		const char *type = jx_str(a, "type");
		int primary = type && strstr(type, "primary") != NULL;
		char tmp[64];
		const char *id;

		if (!idv)
			idv = json_object_get(a, "toObjectId");
		json_array_foreach(json_object_get(a, "associationTypes"), j, at)
			if (jx_str(at, "label") && !strcasecmp(jx_str(at, "label"), "Primary"))
				primary = 1;
		id = jx_text(idv, tmp, sizeof(tmp));
		if (!id)
			continue;
		if (primary || !have) {
			snprintf(out, n, "%s", id);
			have = 1;
		}
		if (primary)
			break;
	}
	return have ? out : NULL;
}

static json_t *envelope(enum obj o, json_t *raw, int with_raw)
{
	json_t *env = json_object();
	json_t *fields;
	const char *id = jx_str(raw, "id");
	char tmp[32];

	if (!id)
		id = jx_text(json_object_get(raw, "id"), tmp, sizeof(tmp));
	json_object_set_new(env, "id", jx_str_new(id));
	json_object_set(env, "created_at", json_object_get(raw, "createdAt") ? json_object_get(raw, "createdAt") : json_null());
	json_object_set(env, "updated_at", json_object_get(raw, "updatedAt") ? json_object_get(raw, "updatedAt") : json_null());
	json_object_set_new(env, "deleted", json_boolean(json_is_true(json_object_get(raw, "archived"))));
	json_object_set(env, "deleted_at", json_object_get(raw, "archivedAt") ? json_object_get(raw, "archivedAt") : json_null());
	if (o == OBJ_USER) {
		fields = json_deep_copy(raw);
		json_object_del(fields, "createdAt");
		json_object_del(fields, "updatedAt");
		if (json_is_true(json_object_get(raw, "archived")))
			json_object_set_new(env, "deleted", json_false()); /* deactivated, not deleted */
	} else if (o != OBJ_DEAL && o != OBJ_LEAD) {
		/* No pseudo-fields to add: share the properties, no copy. */
		fields = json_object_get(raw, "properties");
		fields = fields ? json_incref(fields) : json_object();
	} else {
		fields = json_copy(json_object_get(raw, "properties"));
		if (!fields)
			fields = json_object();
		json_t *as = json_object_get(raw, "associations");
		char cob[64], ctb[64];
		const char *co = pick_assoc(json_object_get(json_object_get(as, "companies"), "results"), cob, sizeof(cob));
		const char *ct = pick_assoc(json_object_get(json_object_get(as, "contacts"), "results"), ctb, sizeof(ctb));
		if (o == OBJ_DEAL || o == OBJ_LEAD)
			json_object_set_new(fields, "@company", jx_str_new(co));
		if (o == OBJ_LEAD)
			json_object_set_new(fields, "@contact", jx_str_new(ct));
	}
	json_object_set_new(env, "fields", fields);
	if (with_raw)
		json_object_set(env, "raw", raw);
	return env;
}

/* Fills "@company"/"@contact" of envelopes from the v4 batch read (§6),
 * for answers that carry no associations (search, batch read). */
static int add_assocs(struct conn *c, enum obj o, json_t *envs, struct crm_err *err)
{
	static const char *const tos[] = { "companies", "contacts" };
	size_t i;
	json_t *env;

	if (o != OBJ_DEAL && o != OBJ_LEAD)
		return 0;
	for (int t = 0; t < (o == OBJ_LEAD ? 2 : 1); t++) {
		json_t *inputs = json_array(), *ans = NULL, *r, *byid = json_object();
		struct buf path = BUF_INIT;
		int rc;
		json_array_foreach(envs, i, env) {
			json_array_append_new(inputs, json_pack("{s:O}", "id", json_object_get(env, "id")));
			json_object_set_new(json_object_get(env, "fields"), t ? "@contact" : "@company", json_null());
		}
		if (!json_array_size(inputs)) {
			json_decref(inputs);
			json_decref(byid);
			continue;
		}
		buf_addf(&path, "/crm/v4/associations/%s/%s/batch/read", o == OBJ_DEAL ? "deals" : "leads", tos[t]);
		json_t *body = json_pack("{s:o}", "inputs", inputs);
		rc = call(c, "POST", path.buf, body, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		json_decref(body);
		buf_release(&path);
		if (rc < 0) {
			json_decref(byid);
			return rc;
		}
		json_array_foreach(json_object_get(ans, "results"), i, r) {
			char tmp[32];
			const char *from = jx_text(json_object_get(json_object_get(r, "from"), "id"), tmp, sizeof(tmp));
			char tob[64];
			const char *to = pick_assoc(json_object_get(r, "to"), tob, sizeof(tob));
			if (from && to)
				json_object_set_new(byid, from, json_string(to));
		}
		json_array_foreach(envs, i, env) {
			json_t *v = json_object_get(byid, jx_str(env, "id"));
			if (v)
				json_object_set(json_object_get(env, "fields"), t ? "@contact" : "@company", v);
		}
		json_decref(ans);
		json_decref(byid);
	}
	return 0;
}

/* ---- pull ---- */

static const char *plural_path(enum obj o);

/* The list endpoint has no total (§11 Totals): when a progress line wants
 * one, a single search with limit 1 counts the live records.  One call of
 * the search bucket, once per pull; a failure only leaves the total
 * unknown. */
static void count_live(struct pull *p)
{
	struct crm_err e = CRM_ERR_INIT;
	json_t *body, *ans = NULL, *t;
	char path[96];

	body = json_pack("{s:[s],s:i}", "properties", "hs_object_id", "limit", 1);
	snprintf(path, sizeof(path), "/crm/v3/objects/%s/search", plural_path(p->o.obj));
	if (call(p->c, "POST", path, body, B_SEARCH, HTTP_IDEMPOTENT, &ans, &e) == 0 &&
	    json_is_integer(t = json_object_get(ans, "total")))
		p->total = json_integer_value(t);
	json_decref(body);
	json_decref(ans);
}

static int hs_pull_open(struct conn *c, const struct pull_opts *o, struct pull **out, struct crm_err *err)
{
	struct pull *p;
	int rc;

	*out = NULL;
	if ((rc = load_props(c, o->obj, err)) < 0)
		return rc;
	if (o->obj == OBJ_DEAL && (rc = load_stages(c, err)) < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	p->c = c;
	p->o = *o;
	p->names = o->obj == OBJ_USER ? json_array() : prop_names(c, o->obj);
	p->t = o->since_ms >= 0 ? o->since_ms : 0;
	p->seen = json_object();
	pager_guard_init(&p->guard, "HubSpot");
	p->total = -1;
	if (o->want_total && !o->list && !o->ordered && o->obj != OBJ_USER)
		count_live(p);
	*out = p;
	return 0;
}

static long long hs_pull_total(struct pull *p)
{
	return p->total;
}

static void hs_pull_close(struct pull *p)
{
	if (!p)
		return;
	json_decref(p->names);
	json_decref(p->seen);
	free(p->after);
	pager_guard_release(&p->guard);
	free(p);
}

static const char *plural_path(enum obj o)
{
	switch (o) {
	case OBJ_ACCOUNT: return "companies";
	case OBJ_CONTACT: return "contacts";
	case OBJ_DEAL: return "deals";
	case OBJ_LEAD: return "leads";
	default: return "owners";
	}
}

/* The path of one list page, asking for property names from *ni on, as
 * many as fit (§12.5); *ni is moved past them. */
static void list_path(const struct pull *p, struct buf *path, size_t *ni)
{
	enum obj o = p->o.obj;
	size_t nnames = json_array_size(p->names);

	if (o == OBJ_USER)
		buf_addf(path, "/crm/v3/owners?limit=100");
	else
		buf_addf(path, "/crm/v3/objects/%s?limit=%d", plural_path(o), LIST_LIMIT);
	if (p->after) {
		buf_adds(path, "&after=");
		buf_add_urlenc(path, p->after);
	}
	if (p->phase == 1)
		buf_adds(path, "&archived=true");
	if (o == OBJ_DEAL)
		buf_adds(path, "&associations=companies");
	else if (o == OBJ_LEAD)
		buf_adds(path, "&associations=contacts&associations=companies");
	if (*ni < nnames) {
		buf_adds(path, "&properties=");
		for (int first = 1; *ni < nnames && path->len < PROPS_URL_MAX; (*ni)++, first = 0) {
			if (!first)
				buf_adds(path, "%2C");
			buf_add_urlenc(path, json_string_value(json_array_get(p->names, *ni)));
		}
	}
}

/* After a list page of `records` records: the next cursor, or the next
 * phase, or the end; CRM_EUNAVAIL (the pull stops) when the cursor came
 * before in this listing or the empty pages never end (lib/pager). */
static int list_advance(struct pull *p, char *next, size_t records, struct crm_err *err)
{
	char key[1100];
	int rc = 0;

	if (next) {
		snprintf(key, sizeof(key), "after=%s", next);
		if ((rc = pager_guard_next(&p->guard, key, records, err)) < 0) {
			free(next);
			next = NULL;
		}
	}
	free(p->after);
	p->after = next;
	if (rc < 0)
		p->done = 1;
	else if (!p->after) {
		if (p->phase == 0 && (p->o.deleted || p->o.obj == OBJ_USER)) {
			/* Archived owners are deactivated users: always listed.
			 * A new listing, whose cursors may meet the live ones. */
			p->phase = 1;
			pager_guard_reset(&p->guard);
			p->total = -1; /* the count was of live records */
		} else {
			p->done = 1;
		}
	}
	return rc;
}

/* HubSpot has no since-filter for archived records (§11): filter here. */
static int archived_too_old(const struct pull *p, int phase, const char *deleted_at, const char *updated_at)
{
	long long ms;
	const char *at = deleted_at ? deleted_at : updated_at;
	return phase == 1 && p->o.since_ms >= 0 && at && time_parse(at, &ms) == 0 && ms < p->o.since_ms;
}

/* One list page (GET, cursor `after`), live or archived.  Property names
 * are split over several requests when the URL would be too long (§12.5),
 * and the answers merged by id. */
static int list_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	enum obj o = p->o.obj;
	json_t *merged = NULL, *order = json_array();
	size_t ni = 0, nnames = json_array_size(p->names);
	char *next = NULL;
	size_t got = 0;
	int rc = 0;

	do {
		struct buf path = BUF_INIT;
		json_t *ans = NULL, *r;
		size_t i;

		list_path(p, &path, &ni);
		rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		buf_release(&path);
		if (rc < 0)
			break;
		if (!json_is_array(json_object_get(ans, "results"))) {
			json_decref(ans);
			rc = err_set(err, CRM_EUNAVAIL, "bad_response", "HubSpot's page has no results array");
			break;
		}
		if (!merged) {
			merged = json_object();
			const char *a = jx_str(json_object_get(json_object_get(ans, "paging"), "next"), "after");
			next = a && *a ? strdup(a) : NULL;
			got = json_array_size(json_object_get(ans, "results"));
		}
		json_array_foreach(json_object_get(ans, "results"), i, r) {
			const char *id = jx_str(r, "id");
			char tmp[32];
			if (!id)
				id = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
			if (!id)
				continue;
			json_t *have = json_object_get(merged, id);
			if (!have) {
				json_object_set(merged, id, r);
				json_array_append_new(order, json_string(id));
			} else {
				json_object_update(json_object_get(have, "properties"), json_object_get(r, "properties"));
			}
		}
		json_decref(ans);
	} while (ni < nnames);

	if (rc == 0) {
		json_t *envs = json_array(), *id;
		size_t i;
		json_array_foreach(order, i, id) {
			json_t *raw = json_object_get(merged, json_string_value(id));
			json_t *env = envelope(o, raw, 1);
			if (archived_too_old(p, p->phase, jx_str(env, "deleted_at"), jx_str(env, "updated_at"))) {
				json_decref(env);
				continue;
			}
			if (o == OBJ_USER && p->o.since_ms >= 0) {
				long long ms;
				const char *at = jx_str(env, "updated_at");
				if (at && time_parse(at, &ms) == 0 && ms < p->o.since_ms) {
					json_decref(env);
					continue;
				}
			}
			json_array_append_new(envs, env);
		}
		*page = envs;
		rc = list_advance(p, next, got, err);
		next = NULL;
		if (rc < 0) {
			json_decref(envs);
			*page = NULL;
		}
	}
	free(next);
	json_decref(merged);
	json_decref(order);
	return rc;
}

static json_t *filter(const char *prop, const char *op, const char *value)
{
	return json_pack("{s:s,s:s,s:s}", "propertyName", prop, "operator", op, "value", value);
}

/* ---- pull --where: search filters (§16) ---- */

/* Every property filters with every operator of the search API (SPEC
 * `Filter`): = EQ, ~ CONTAINS_TOKEN with wildcards, ? HAS_PROPERTY. */
static int hs_where_can(enum obj o, const struct where *w, const char **can)
{
	if (o == OBJ_USER) {
		/* Owners are not a CRM object: no search endpoint. */
		*can = "nothing of users (owners cannot be searched); of the other objects any property with "
		       "= != < <= > >= ~ ?";
		return 0;
	}
	*can = "any property with = != < <= > >= ~ ?";
	return 1;
}

static const char *prop_type(struct conn *c, enum obj o, const char *name)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(c->props[o], "results"), i, p)
		if (!strcmp(jx_str(p, "name") ? jx_str(p, "name") : "", name))
			return jx_str(p, "type");
	return NULL;
}

/* The filters of --where, added to a search group.  Values are strings;
 * dates and datetimes as epoch ms (§16: "dates as epoch ms"); enumerations
 * by option value (lib/options made the label a code). */
static void where_filters(struct pull *p, json_t *filters)
{
	static const char *const ops[W_OP_COUNT] = { "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "CONTAINS_TOKEN",
						     "HAS_PROPERTY" };

	for (size_t i = 0; i < p->o.nwhere; i++) {
		const struct where *w = &p->o.where[i];
		const char *t = prop_type(p->c, p->o.obj, w->field), *v = w->value;
		char ms[32], tmp[512];
		long long x;
		if (w->op == W_HAS) {
			json_array_append_new(filters, json_pack("{s:s,s:s}", "propertyName", w->field, "operator",
								 ops[w->op]));
			continue;
		}
		if (t && (!strcmp(t, "datetime") || !strcmp(t, "date"))) {
			snprintf(tmp, sizeof(tmp), strlen(v) == 10 ? "%sT00:00:00Z" : "%s", v);
			if (time_parse(tmp, &x) == 0) {
				snprintf(ms, sizeof(ms), "%lld", x);
				v = ms;
			}
		}
		if (w->op == W_CONTAINS) {
			/* A token search: the wildcards make it "contains" (legacy search
			 * guide: `*@hubspot.com`). */
			snprintf(tmp, sizeof(tmp), "*%s*", v);
			v = tmp;
		}
		json_array_append_new(filters, filter(w->field, ops[w->op], v));
	}
}

/* One page of the incremental scan: search sorted by last-modified time,
 * always from offset 0 with a moving lower bound ("keyset" paging), so the
 * 10,000-result cap (§2.4) is never reached and a record that changes during
 * the scan moves forward instead of shifting offsets.  When a whole page
 * shares one timestamp, pages through that instant by hs_object_id. */
static int search_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	enum obj o = p->o.obj;
	const char *lm = lastmod_prop(o);
	char tbuf[32], path[96];
	json_t *filters, *body, *ans = NULL, *res, *r, *envs;
	long long maxt = -1, mint = -1;
	size_t i, n;
	int rc;

	snprintf(tbuf, sizeof(tbuf), "%lld", p->t);
	if (p->id_mode) {
		filters = json_pack("[o,o]", filter(lm, "EQ", tbuf), filter("hs_object_id", "GT", p->last_id));
		where_filters(p, filters);
		body = json_pack("{s:[{s:o}],s:[{s:s,s:s}],s:O,s:i,s:s}", "filterGroups", "filters", filters,
				 "sorts", "propertyName", "hs_object_id", "direction", "ASCENDING",
				 "properties", p->names, "limit", SEARCH_LIMIT, "after", "0");
	} else {
		filters = json_pack("[o]", filter(lm, "GTE", tbuf));
		where_filters(p, filters);
		body = json_pack("{s:[{s:o}],s:[{s:s,s:s}],s:O,s:i,s:s}", "filterGroups", "filters", filters,
				 "sorts", "propertyName", lm, "direction", "ASCENDING",
				 "properties", p->names, "limit", SEARCH_LIMIT, "after", "0");
	}
	snprintf(path, sizeof(path), "/crm/v3/objects/%s/search", plural_path(o));
	rc = call(c, "POST", path, body, B_SEARCH, HTTP_IDEMPOTENT, &ans, err);
	json_decref(body);
	if (rc < 0)
		return rc;
	res = json_object_get(ans, "results");
	if (!json_is_array(res)) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "HubSpot's search answer has no results array");
	}
	n = json_array_size(res);
	/* The first answer's total counts every record of the scan; later ones
	 * count only what is left past a moving bound. */
	if (p->total < 0 && json_is_integer(json_object_get(ans, "total")))
		p->total = json_integer_value(json_object_get(ans, "total"));
	envs = json_array();
	json_array_foreach(res, i, r) {
		json_t *env = envelope(o, r, 1);
		const char *id = jx_str(env, "id");
		const char *u = jx_str(json_object_get(r, "properties"), lm);
		long long ms;
		if (!u || time_parse(u, &ms) < 0)
			u = jx_str(env, "updated_at");
		if (!u || time_parse(u, &ms) < 0)
			ms = p->t;
		if (mint < 0 || ms < mint)
			mint = ms;
		if (ms > maxt)
			maxt = ms;
		if (p->id_mode && id)
			snprintf(p->last_id, sizeof(p->last_id), "%s", id);
		if (id && ms == p->t && (json_object_get(p->seen, id) ||
					 (p->o.since_id && ms == p->o.since_ms && env_id_cmp(id, p->o.since_id) <= 0))) {
			json_decref(env);
			continue;
		}
		json_array_append_new(envs, env);
	}
	json_decref(ans);

	if (p->id_mode) {
		if (n < SEARCH_LIMIT) {
			/* This instant is done: continue strictly after it. */
			p->id_mode = 0;
			p->t += 1;
			json_object_clear(p->seen);
		}
	} else if (n < SEARCH_LIMIT) {
		p->done = 1;
	} else if (mint == maxt && maxt == p->t) {
		/* A full page at one instant: page through it by id instead.  This
		 * page's records come again in id order, so none is emitted now;
		 * those emitted before at this instant stay in `seen`. */
		p->id_mode = 1;
		snprintf(p->last_id, sizeof(p->last_id), "0");
		json_array_clear(envs);
	} else {
		if (maxt != p->t)
			json_object_clear(p->seen);
		p->t = maxt;
		json_array_foreach(envs, i, r) {
			const char *u = jx_str(json_object_get(r, "fields"), lm);
			long long ms;
			if (u && time_parse(u, &ms) == 0 && ms == maxt)
				json_object_set_new(p->seen, jx_str(r, "id"), json_true());
		}
	}
	if (!p->done) {
		/* Every query of the scan is new (a higher bound, or a higher id
		 * at one instant): one asked again means the CRM's answers do not
		 * move the scan on, and it would never end. */
		char key[160];
		if (p->id_mode)
			snprintf(key, sizeof(key), "%s=%lld and hs_object_id>%s", lm, p->t, p->last_id);
		else
			snprintf(key, sizeof(key), "%s>=%lld", lm, p->t);
		if ((rc = pager_guard_next(&p->guard, key, n, err)) < 0) {
			json_decref(envs);
			return rc;
		}
	}
	if ((rc = add_assocs(c, o, envs, err)) < 0) {
		json_decref(envs);
		return rc;
	}
	*page = envs;
	return 0;
}

/* A list crmsync can use: it exists, holds contacts (objectTypeId 0-1)
 * and, to be changed, is not DYNAMIC (§7). */
static int check_list(struct conn *c, const char *list, int writing, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ans = NULL;
	int rc;

	buf_adds(&path, "/crm/v3/lists/");
	id_path_add(&path, list);
	rc = call(c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&path);
	if (rc < 0) {
		if (rc == CRM_ENOTFOUND)
			rc = err_set(err, CRM_EUSAGE, "no_such_list", "HubSpot has no list %s", list);
		return rc;
	}
	json_t *l = json_object_get(ans, "list");
	const char *pt = jx_str(l, "processingType"), *ot = jx_str(l, "objectTypeId");
	if (ot && strcmp(ot, "0-1"))
		rc = err_set(err, CRM_EUSAGE, "not_a_contact_list",
			     "list %s holds objects of type %s, not contacts; crmsync lists work on contact lists",
			     list, ot);
	else if (writing && pt && !strcmp(pt, "DYNAMIC"))
		rc = err_set(err, CRM_EUSAGE, "dynamic_list",
			     "list %s is DYNAMIC: its members come from its filters; only MANUAL and SNAPSHOT lists can be changed",
			     list);
	json_decref(ans);
	return rc;
}

/* Members of a list (§7): ids from memberships, records by batch read. */
static int hs_read(struct conn *c, enum obj o, const json_t *ids, json_t **out, struct crm_err *err);

static int members_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *ids = json_array(), *m, *byid = NULL, *envs;
	size_t i;
	int rc;

	if (!p->after && (rc = check_list(p->c, p->o.list, 0, err)) < 0) {
		json_decref(ids);
		return rc;
	}
	buf_adds(&path, "/crm/v3/lists/");
	id_path_add(&path, p->o.list);
	buf_adds(&path, "/memberships?limit=100");
	if (p->after) {
		buf_adds(&path, "&after=");
		buf_add_urlenc(&path, p->after);
	}
	rc = call(p->c, "GET", path.buf, NULL, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&path);
	if (rc < 0) {
		json_decref(ids);
		if (rc == CRM_ENOTFOUND)
			err_set(err, CRM_EUSAGE, "no_such_list", "HubSpot has no list %s", p->o.list);
		return err->status;
	}
	json_array_foreach(json_object_get(ans, "results"), i, m) {
		char tmp[32];
		const char *id = jx_text(json_object_get(m, "recordId"), tmp, sizeof(tmp));
		if (id)
			json_array_append_new(ids, json_string(id));
	}
	free(p->after);
	const char *a = jx_str(json_object_get(json_object_get(ans, "paging"), "next"), "after");
	p->after = a && *a ? strdup(a) : NULL;
	p->done = !p->after;
	if (p->after) {
		struct buf key = BUF_INIT;
		buf_addf(&key, "after=%s", p->after);
		rc = pager_guard_next(&p->guard, key.buf, json_array_size(json_object_get(ans, "results")), err);
		buf_release(&key);
		if (rc < 0) {
			json_decref(ans);
			json_decref(ids);
			p->done = 1;
			return rc;
		}
	}
	if (json_is_integer(json_object_get(ans, "total")))
		p->total = json_integer_value(json_object_get(ans, "total"));
	json_decref(ans);
	if ((rc = hs_read(p->c, OBJ_CONTACT, ids, &byid, err)) < 0) {
		json_decref(ids);
		return rc;
	}
	envs = json_array();
	json_array_foreach(ids, i, m) {
		json_t *e = json_object_get(byid, json_string_value(m));
		if (e)
			json_array_append(envs, e);
	}
	json_decref(ids);
	json_decref(byid);
	*page = envs;
	return 0;
}

/* Owners have no sorted or filtered listing (§4): for a cursor, read them
 * all (a portal has few) and hand them out in (updatedAt, id) order. */
static int owners_sorted(struct pull *p, json_t **page, struct crm_err *err)
{
	json_t *all = json_array(), *pg = NULL;
	int rc;

	while (!p->done) {
		if ((rc = list_page(p, &pg, err)) < 0) {
			json_decref(all);
			return rc;
		}
		json_array_extend(all, pg);
		json_decref(pg);
	}
	env_sort_by_updated(all);
	*page = all;
	return 0;
}

/* envelope() for a contact or company of a list page, made of the page's
 * own values (lib/jv); JV_NONE for a record without an id. */
static jv_t envelope_jv(struct jv_doc *d, jv_t raw)
{
	jv_t id = jv_get(d, raw, "id"), env, f, ca, ua, da;
	char tmp[32];

	if (!jv_is_str(d, id)) {
		const char *t = jv_text(d, id, tmp, sizeof(tmp));
		if (!t)
			return JV_NONE;
		id = jv_string(d, t);
	}
	env = jv_obj(d);
	ca = jv_get(d, raw, "createdAt");
	ua = jv_get(d, raw, "updatedAt");
	da = jv_get(d, raw, "archivedAt");
	f = jv_get(d, raw, "properties");
	jv_add(d, env, "id", id);
	jv_add(d, env, "created_at", ca ? ca : JV_NULL);
	jv_add(d, env, "updated_at", ua ? ua : JV_NULL);
	jv_add(d, env, "deleted", jv_bool(jv_is_true(d, jv_get(d, raw, "archived"))));
	jv_add(d, env, "deleted_at", da ? da : JV_NULL);
	jv_add(d, env, "fields", f ? f : jv_obj(d));
	jv_add(d, env, "raw", raw);
	return env;
}

/* The fast path (lib/jv) for the common pull: every contact or company by
 * list page, all properties in one request.  The envelope is the one
 * envelope() builds, made of the page's own values. */
/* The fast path's pages come in two steps (provider.h): hs_pull_fetch
 * asks for the next page and finds its cursor in the text (jv_peek_str),
 * hs_pull_read reads the records.  The tag is the phase the page was
 * asked in, and whether the text is envelopes already (a page whose
 * property names took several requests, merged by list_page). */
#define TAG_ARCHIVED 1
#define TAG_ENVELOPES 2

/* A GET whose answer is kept as text in *out. */
static int get_text(struct conn *c, const char *path, struct buf *out, struct crm_err *err)
{
	struct buf url = BUF_INIT;
	struct http_req q = { "GET", NULL, NULL, 0, NULL, B_MAIN, HTTP_IDEMPOTENT };
	struct http_resp r;
	int rc;

	buf_addf(&url, "%s%s", c->base, path);
	q.url = url.buf;
	http_resp_init(&r);
	rc = http_do(c->http, &q, &r, err);
	if (rc == 0 && !r.body.len)
		rc = err_set(err, CRM_EUNAVAIL, "bad_response", "HubSpot answered a page with an empty body");
	if (rc == 0) {
		struct buf t = *out;
		*out = r.body;
		r.body = t;
	}
	http_resp_release(&r);
	buf_release(&url);
	return rc;
}

/* Is the page's results array empty?  Enough of a look for the guard's
 * count of empty pages, without parsing the page here (hs_pull_read
 * does): `"results"`, a colon and `[]`, blanks allowed between. */
static int results_empty(const char *s, size_t n)
{
	static const char key[] = "\"results\"";
	const size_t k = sizeof(key) - 1;
	const char *e = s + n, *q = NULL;

	for (const char *t = s; t + k <= e; t++)
		if (*t == '"' && !memcmp(t, key, k)) {
			q = t + k;
			break;
		}
	if (!q)
		return 0;
	for (int want = 0; want < 3; want++) {
		while (q < e && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
			q++;
		if (q >= e || *q++ != ":[]"[want])
			return 0;
	}
	return 1;
}

static int hs_pull_fetch(struct pull *p, struct buf *body, int *tag, struct crm_err *err)
{
	static const char *const cursor[] = { "paging", "next", "after", NULL };
	struct buf path = BUF_INIT;
	char after[1024];
	size_t ni = 0;
	int rc, got;

	buf_reset(body);
	if (p->o.list || p->o.ordered || (p->o.obj != OBJ_CONTACT && p->o.obj != OBJ_ACCOUNT))
		return 1;
	if (p->done)
		return 0;
	*tag = p->phase ? TAG_ARCHIVED : 0;
	list_path(p, &path, &ni);
	if (ni < json_array_size(p->names)) {
		/* Split over several requests: list_page merges them.  Known at
		 * the first page, the whole pull takes that path; should a later
		 * cursor make the URL too long, that page goes through list_page
		 * and is handed over as text. */
		json_t *pg = NULL;
		buf_release(&path);
		if (!p->after && !p->phase)
			return 1;
		if ((rc = list_page(p, &pg, err)) < 0)
			return rc;
		*tag |= TAG_ENVELOPES;
		rc = jx_dump(body, pg) < 0 ? err_set(err, CRM_EOUTPUT, "out_of_memory", "out of memory") : 0;
		json_decref(pg);
		return rc;
	}
	rc = get_text(p->c, path.buf, body, err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	if ((got = jv_peek_str(body->buf, body->len, cursor, after, sizeof(after))) < 0) {
		/* Not a plain string where a cursor goes: the parser says. */
		struct jv_doc d;
		char why[160], *copy = malloc(body->len + 1);
		const char *a = NULL;
		jv_init(&d);
		if (copy) {
			memcpy(copy, body->buf, body->len + 1);
			jv_t ans = jv_parse(&d, copy, body->len, why, sizeof(why));
			a = jv_str(&d, jv_get(&d, jv_get(&d, ans, "paging"), "next"), "after");
		}
		got = a && *a && strlen(a) < sizeof(after);
		if (got)
			memcpy(after, a, strlen(a) + 1);
		jv_release(&d);
		free(copy);
	}
	rc = list_advance(p, got == 1 && *after ? strdup(after) : NULL, results_empty(body->buf, body->len) ? 0 : 1, err);
	if (rc < 0)
		buf_reset(body);
	return rc;
}

static int hs_pull_read(struct pull *p, struct jv_doc *d, char *text, size_t n, int tag, jv_t *page,
			struct crm_err *err)
{
	char why[160];
	jv_t ans = jv_parse(d, text, n, why, sizeof(why)), res, envs;

	*page = JV_NONE;
	if (!ans)
		return err_set(err, CRM_EUNAVAIL, "bad_response", "HubSpot's page is not JSON (%.80s)", why);
	if (tag & TAG_ENVELOPES) {
		*page = ans;
		return 0;
	}
	res = jv_get(d, ans, "results");
	if (jv_typeof(d, res) != JVT_ARR)
		return err_set(err, CRM_EUNAVAIL, "bad_response", "HubSpot's page has no results array");
	envs = jv_arr(d);
	for (uint32_t m = jv_items(d, res); m; m = jv_next(d, m)) {
		jv_t env = envelope_jv(d, jv_val(d, m));
		if (env && !archived_too_old(p, tag & TAG_ARCHIVED, jv_str(d, env, "deleted_at"), jv_str(d, env, "updated_at")))
			jv_append(d, envs, env);
	}
	*page = envs;
	return 0;
}

/* Both steps on one thread: a page with records, or JV_NONE at the end. */
static int hs_pull_next_jv(struct pull *p, struct jv_doc *d, jv_t *page, struct crm_err *err)
{
	struct buf body = BUF_INIT;
	int tag = 0, rc;

	*page = JV_NONE;
	for (;;) {
		if ((rc = hs_pull_fetch(p, &body, &tag, err)) != 0 || !body.len)
			break;
		size_t n;
		char *t = buf_detach(&body, &n);
		if (!t || jv_adopt(d, t) < 0) {
			rc = err_set(err, CRM_EOUTPUT, "out_of_memory", "out of memory");
			break;
		}
		if ((rc = hs_pull_read(p, d, t, n, tag, page, err)) < 0 || jv_size(d, *page))
			break;
		*page = JV_NONE; /* every record left out: the next page */
	}
	buf_release(&body);
	return rc;
}

static int hs_pull_next(struct pull *p, json_t **page, struct crm_err *err)
{
	*page = NULL;
	if (p->o.obj == OBJ_USER && p->o.ordered && !p->o.list) {
		if (p->done)
			return 0;
		return owners_sorted(p, page, err);
	}
	for (;;) {
		int rc;
		if (p->done)
			return 0;
		if (p->o.list)
			rc = members_page(p, page, err);
		else if (p->o.ordered && p->o.obj != OBJ_USER && p->phase == 0) {
			rc = search_page(p, page, err);
			if (rc == 0 && p->done && p->o.deleted) {
				/* Then the archived records, which search cannot see (§11):
				 * a new listing for the guard. */
				p->done = 0;
				p->phase = 1;
				pager_guard_reset(&p->guard);
				p->total = -1; /* and nothing counts them */
			}
		} else
			rc = list_page(p, page, err);
		if (rc < 0)
			return rc;
		if (*page && json_array_size(*page))
			return 0;
		json_decref(*page);
		*page = NULL;
	}
}

/* ---- reading and matching for push ---- */

/* Batch read by id or by a unique property (§2.3).  *out: key -> envelope. */
static int batch_read(struct conn *c, enum obj o, const json_t *keys, const char *id_prop,
		      json_t **out, struct crm_err *err)
{
	json_t *res = json_object(), *names;
	size_t n = json_array_size(keys);
	int rc = 0;

	*out = NULL;
	if ((rc = load_props(c, o, err)) < 0) {
		json_decref(res);
		return rc;
	}
	names = prop_names(c, o);
	for (size_t off = 0; off < n && rc == 0; off += 100) {
		json_t *inputs = json_array(), *ans = NULL, *r, *envs = json_array();
		char path[96];
		size_t i;
		for (i = off; i < n && i < off + 100; i++)
			json_array_append_new(inputs, json_pack("{s:O}", "id", json_array_get(keys, i)));
		json_t *body = json_pack("{s:o,s:O}", "inputs", inputs, "properties", names);
		if (id_prop)
			json_object_set_new(body, "idProperty", json_string(id_prop));
		snprintf(path, sizeof(path), "/crm/v3/objects/%s/batch/read", plural_path(o));
		rc = call(c, "POST", path, body, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		json_decref(body);
		if (rc < 0) {
			json_decref(envs);
			break;
		}
		json_array_foreach(json_object_get(ans, "results"), i, r)
			json_array_append_new(envs, envelope(o, r, 0));
		json_decref(ans);
		if ((rc = add_assocs(c, o, envs, err)) < 0) {
			json_decref(envs);
			break;
		}
		json_array_foreach(envs, i, r) {
			const char *key = id_prop ? jx_str(json_object_get(r, "fields"), id_prop) : jx_str(r, "id");
			if (key) {
				char *low = jx_lower_dup(key);
				json_object_set(res, id_prop ? low : key, r);
				free(low);
			}
		}
		json_decref(envs);
	}
	json_decref(names);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

static int hs_read(struct conn *c, enum obj o, const json_t *ids, json_t **out, struct crm_err *err)
{
	return batch_read(c, o, ids, NULL, out, err);
}

/* Search for records whose field is one of values (IN filter, §2.4). */
static int search_in(struct conn *c, enum obj o, const char *field, const json_t *values,
		     json_t **out, struct crm_err *err)
{
	json_t *res = json_object(), *names = prop_names(c, o);
	size_t n = json_array_size(values);
	int rc = 0;

	for (size_t off = 0; off < n && rc == 0; off += 100) {
		json_t *vals = json_array();
		struct pager_guard guard;
		for (size_t i = off; i < n && i < off + 100; i++)
			json_array_append(vals, json_array_get(values, i));
		pager_guard_init(&guard, "HubSpot");
		for (long after = 0; rc == 0;) {
			char path[96], ab[32];
			json_t *ans = NULL, *r, *envs = json_array();
			size_t i;
			snprintf(ab, sizeof(ab), "%ld", after);
			json_t *body = json_pack("{s:[{s:[{s:s,s:s,s:O}]}],s:O,s:i,s:s}", "filterGroups", "filters",
						 "propertyName", field, "operator", "IN", "values", vals,
						 "properties", names, "limit", SEARCH_LIMIT, "after", ab);
			snprintf(path, sizeof(path), "/crm/v3/objects/%s/search", plural_path(o));
			rc = call(c, "POST", path, body, B_SEARCH, HTTP_IDEMPOTENT, &ans, err);
			json_decref(body);
			if (rc < 0) {
				json_decref(envs);
				break;
			}
			json_array_foreach(json_object_get(ans, "results"), i, r)
				json_array_append_new(envs, envelope(o, r, 0));
			const char *next = jx_str(json_object_get(json_object_get(ans, "paging"), "next"), "after");
			char cur[96];
			int more = next && *next;
			if (more) {
				snprintf(cur, sizeof(cur), "after=%.80s", next);
				after = strtol(next, NULL, 10);
				rc = pager_guard_next(&guard, cur, json_array_size(envs), err);
			}
			json_decref(ans);
			if (rc < 0 || (rc = add_assocs(c, o, envs, err)) < 0) {
				json_decref(envs);
				break;
			}
			json_array_foreach(envs, i, r) {
				const char *key = jx_str(json_object_get(r, "fields"), field);
				/* Every record that holds the value: push never picks one. */
				if (key)
					find_put(res, key, r);
			}
			json_decref(envs);
			if (!more)
				break;
		}
		pager_guard_release(&guard);
		json_decref(vals);
	}
	json_decref(names);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

static int hs_find(struct conn *c, enum obj o, const char *field, const json_t *values,
		   json_t **out, struct crm_err *err)
{
	int rc;

	if ((rc = load_props(c, o, err)) < 0)
		return rc;
	/* Email is unique on contacts: batch read by idProperty (main bucket). */
	if (o == OBJ_CONTACT && !strcmp(field, "email"))
		return batch_read(c, o, values, "email", out, err);
	return search_in(c, o, field, values, out, err);
}

/* ---- writes (§2, §2.3) ---- */

/* HubSpot takes every property value as a string; "" clears. */
/* The "properties" of one input from the provider fields to write (both
 * values of d): every value as a string, as HubSpot takes them; the
 * "@company" and "@contact" relations become *assocs, an array of
 * associations. */
static jv_t props_of(struct jv_doc *d, jv_t fields, jv_t *assocs, enum obj o)
{
	jv_t props;
	uint32_t c;

	*assocs = jv_arr(d);
	/* Usually every field is a string already and none is a relation:
	 * the fields are the properties, as they are. */
	for (c = jv_members(d, fields); c; c = jv_next(d, c))
		if (d->m[c].key[0] == '@' || jv_typeof(d, d->m[c].val) != JVT_STR)
			break;
	if (!c && jv_typeof(d, fields) == JVT_OBJ)
		return fields;
	props = jv_obj(d);
	for (c = jv_members(d, fields); c; c = jv_next(d, c)) {
		const struct jv_mem m = d->m[c];
		enum jv_type t = jv_typeof(d, m.val);
		char tmp[64];
		jv_t pv;
		if (m.key[0] == '@') {
			const char *id = jv_text(d, m.val, tmp, sizeof(tmp));
			int at = assoc_type(o, !strcmp(m.key, "@company") ? "companies" : "contacts");
			if (id && *id && at) {
				jv_t a = jv_obj(d), to = jv_obj(d), types = jv_arr(d), ty = jv_obj(d);
				jv_add_key(d, to, JV_LIT("id"), jv_string(d, id));
				jv_add_key(d, a, JV_LIT("to"), to);
				jv_add_key(d, ty, JV_LIT("associationCategory"), jv_string_ref(d, "HUBSPOT_DEFINED"));
				jv_add_key(d, ty, JV_LIT("associationTypeId"), jv_int(d, at));
				jv_append(d, types, ty);
				jv_add_key(d, a, JV_LIT("types"), types);
				jv_append(d, *assocs, a);
			}
			continue;
		}
		if (t == JVT_STR) {
			pv = m.val;
		} else if (t == JVT_ARR || t == JVT_OBJ) {
			struct buf b = BUF_INIT;
			jv_dump(&b, d, m.val);
			pv = jv_stringn(d, b.buf ? b.buf : "", b.len);
			buf_release(&b);
		} else {
			const char *v = jv_text(d, m.val, tmp, sizeof(tmp));
			pv = jv_string(d, v ? v : "");
		}
		jv_add_key(d, props, m.key, m.klen, m.plain, pv);
	}
	return props;
}

/* A null association (push --clear-nulls: "account": null on a deal) is not
 * removed (that needs the associated record's id and a v4 DELETE): the
 * result line says so rather than report the field cleared. */
static void assoc_nulls(struct write_item *it, enum obj o)
{
	static const char *const keys[] = { "@company", "@contact" };
	const struct map_entry *map = o == OBJ_DEAL ? deal_map : o == OBJ_LEAD ? lead_map : NULL;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		jv_t v = jv_get(it->doc, it->vfields, keys[k]);
		if (!v || !jv_is_null(it->doc, v))
			continue;
		const struct map_entry *e = map_find_remote(map, keys[k]);
		if (!it->warnings)
			it->warnings = json_array();
		json_array_append_new(it->warnings, json_pack("{s:s,s:s}", "code", "not_cleared", "field",
							      e ? e->key : keys[k]));
	}
}

/* Maps a 207's errors back to items by id, trace id or email. */
static void apply_errors(json_t *errors, struct write_item *items, size_t n, const char *ctxkey)
{
	json_t *e;
	size_t i;

	json_array_foreach(errors, i, e) {
		json_t *ctx = json_object_get(e, "context");
		json_t *keys = json_object_get(ctx, ctxkey);
		json_t *k;
		size_t j;
		if (!keys)
			keys = json_object_get(ctx, "ids");
		json_array_foreach(keys, j, k) {
			const char *key = json_string_value(k);
			for (size_t x = 0; key && x < n; x++) {
				char tr[32];
				const char *mine;
				if (!strcmp(ctxkey, "objectWriteTraceId")) {
					snprintf(tr, sizeof(tr), "%zu", x);
					mine = tr;
				} else if (!strcmp(ctxkey, "email")) {
					mine = jv_str(items[x].doc, items[x].vfields, "email");
				} else {
					mine = items[x].remote_id;
				}
				if (mine && !strcasecmp(mine, key) && !items[x].err.status) {
					items[x].err.status = CRM_ERECORD;
					fill_error(e, &items[x].err);
					if (!items[x].err.message[0])
						snprintf(items[x].err.message, sizeof(items[x].err.message), "HubSpot refused the record");
					if (!items[x].err.code[0])
						snprintf(items[x].err.code, sizeof(items[x].err.code), "%s",
							 jx_str(e, "category") ? jx_str(e, "category") : "rejected");
					items[x].err.http_status = 207;
				}
			}
		}
	}
}

static int write_assoc(struct conn *c, enum obj o, const char *id, const char *to, const char *to_id,
		       struct crm_err *err)
{
	struct buf path = BUF_INIT;
	int rc;

	buf_addf(&path, "/crm/v4/objects/%s/", plural_path(o));
	id_path_add(&path, id);
	buf_addf(&path, "/associations/%s/", to);
	id_path_add(&path, to_id);
	json_t *body = json_pack("[{s:s,s:i}]", "associationCategory", "HUBSPOT_DEFINED",
				 "associationTypeId", assoc_type(o, to));
	rc = call(c, "PUT", path.buf, body, B_MAIN, HTTP_IDEMPOTENT, NULL, err);
	json_decref(body);
	buf_release(&path);
	return rc;
}

static int has_email(const struct write_item *w)
{
	const char *e = jv_str(w->doc, w->vfields, "email");
	return e && *e;
}

/* What hs_write reads of a batch answer (§2): of each result its id, the
 * email (upsert), "new" and the trace id (create); the errors of a 207.
 * The rest (every property echoed back, the timestamps) is checked as
 * JSON but not kept. */
static const struct jv_want batch_email[] = { JV_WANT("email", NULL), JV_WANT_END };
static const struct jv_want batch_result[] = {
	JV_WANT("id", NULL), JV_WANT("new", NULL), JV_WANT("objectWriteTraceId", NULL),
	JV_WANT("properties", batch_email), JV_WANT_END
};
static const struct jv_want batch_answer[] = { JV_WANT("results", batch_result), JV_WANT("errors", NULL), JV_WANT_END };

static int hs_write(struct conn *c, enum obj o, enum write_op op, struct write_item *items,
		    size_t n, struct crm_err *err)
{
	char path[128];
	json_t *r;
	size_t i;
	int rc, upsert = 0;

	if (op == WR_DELETE) {
		/* Archive does not say which ids existed (§2): read them first. */
		json_t *ids = json_array(), *have = NULL, *inputs = json_array(), *body;
		for (i = 0; i < n; i++)
			json_array_append_new(ids, json_string(items[i].remote_id));
		rc = hs_read(c, o, ids, &have, err);
		json_decref(ids);
		if (rc < 0) {
			json_decref(inputs);
			return rc;
		}
		for (i = 0; i < n; i++) {
			if (!json_object_get(have, items[i].remote_id)) {
				err_set(&items[i].err, CRM_ERECORD, "not_found", "HubSpot has no %s %s (or it is archived already)",
					obj_name(o), items[i].remote_id);
				items[i].err.http_status = 404;
				continue;
			}
			json_array_append_new(inputs, json_pack("{s:s}", "id", items[i].remote_id));
			item_set_id(&items[i], items[i].remote_id);
		}
		json_decref(have);
		if (!json_array_size(inputs)) {
			json_decref(inputs);
			return 0;
		}
		body = json_pack("{s:o}", "inputs", inputs);
		snprintf(path, sizeof(path), "/crm/v3/objects/%s/batch/archive", plural_path(o));
		rc = call(c, "POST", path, body, B_MAIN, HTTP_IDEMPOTENT, NULL, err);
		json_decref(body);
		return rc;
	}

	/* Contacts with an email are created through batch upsert by email:
	 * idempotent, so a create whose answer was lost can be sent again (§2.3).
	 * A mixed batch is split: with an email -> upsert, without -> create. */
	if (op == WR_UPSERT && o != OBJ_CONTACT)
		op = WR_CREATE;
	if (op == WR_UPSERT) {
		size_t na = 0, nb = 0;
		for (i = 0; i < n; i++)
			na += has_email(&items[i]);
		nb = n - na;
		if (na && nb) {
			struct write_item *a = calloc(na, sizeof(*a)), *b = calloc(nb, sizeof(*b));
			size_t ia = 0, ib = 0;
			for (i = 0; i < n; i++) {
				if (has_email(&items[i]))
					a[ia++] = items[i];
				else
					b[ib++] = items[i];
			}
			rc = hs_write(c, o, op, a, na, err);
			if (rc == 0)
				rc = hs_write(c, o, op, b, nb, err);
			ia = ib = 0;
			for (i = 0; i < n; i++)
				items[i] = has_email(&items[i]) ? a[ia++] : b[ib++];
			free(a);
			free(b);
			return rc;
		}
		upsert = na > 0;
		op = WR_CREATE;
	}
	/* The request and its answer are values of the batch's document: the
	 * request shares the items' values, the answer is parsed in place. */
	json_t *post_assoc = json_array();
	struct jv_doc *d = items[0].doc;
	jv_t ans, res, body, inputs;
	body = jv_obj(d);
	inputs = jv_arr(d);
	jv_add_key(d, body, JV_LIT("inputs"), inputs);
	for (i = 0; i < n; i++) {
		jv_t assocs, in = jv_obj(d);
		jv_add_key(d, in, JV_LIT("properties"), props_of(d, items[i].vfields, &assocs, o));
		if (op == WR_UPDATE) {
			jv_add_key(d, in, JV_LIT("id"), jv_string_ref(d, items[i].remote_id));
			assoc_nulls(&items[i], o);
			if (jv_size(d, assocs)) {
				json_t *aj = jv_to_json(d, assocs);
				json_array_append_new(post_assoc, json_pack("{s:i,s:o}", "i", (int)i, "a", aj));
			}
		} else if (upsert) {
			jv_add_key(d, in, JV_LIT("id"), jv_get(d, items[i].vfields, "email"));
			jv_add_key(d, in, JV_LIT("idProperty"), jv_string_lit(d, "email"));
		} else {
			char tr[32];
			snprintf(tr, sizeof(tr), "%zu", i);
			jv_add_key(d, in, JV_LIT("objectWriteTraceId"), jv_string(d, tr));
			jv_add_key(d, in, JV_LIT("associations"), assocs);
		}
		jv_append(d, inputs, in);
	}
	snprintf(path, sizeof(path), "/crm/v3/objects/%s/batch/%s", plural_path(o),
		 op == WR_UPDATE ? "update" : upsert ? "upsert" : "create");
	rc = call_jv(c, "POST", path, body, B_MAIN, upsert || op == WR_UPDATE ? HTTP_IDEMPOTENT : 0, d,
		     batch_answer, &ans, err);
	if (rc < 0) {
		json_decref(post_assoc);
		return rc;
	}
	/* Per-record errors of a 207 (few: as jansson values). */
	json_t *errs = jv_to_json(d, jv_get(d, ans, "errors"));
	apply_errors(errs, items, n, op == WR_UPDATE ? "ids" : upsert ? "email" : "objectWriteTraceId");
	json_decref(errs);
	/* Results: matched by id (update), email (upsert) or trace id (create).
	 * They usually come in input order, so the item after the last one
	 * matched is tried first: a batch is matched in one pass. */
	res = jv_get(d, ans, "results");
	size_t next = 0;
	for (uint32_t m = jv_items(d, res); m; m = jv_next(d, m)) {
		jv_t r1 = jv_val(d, m);
		const char *id = jv_str(d, r1, "id");
		const char *key = op == WR_UPDATE ? id
				: upsert ? jv_str(d, jv_get(d, r1, "properties"), "email")
				: jv_str(d, r1, "objectWriteTraceId");
		if (!id || !key)
			continue;
		size_t x = n;
		for (size_t k = 0; k < n && x == n; k++) {
			size_t y = (next + k) % n;
			char tr[32];
			const char *mine;
			if (op == WR_UPDATE) {
				mine = items[y].remote_id;
			} else if (upsert) {
				mine = jv_str(items[y].doc, items[y].vfields, "email");
			} else {
				snprintf(tr, sizeof(tr), "%zu", y);
				mine = tr;
			}
			if (mine && (upsert ? !strcasecmp(mine, key) : !strcmp(mine, key)))
				x = y;
		}
		if (x == n)
			continue;
		next = x + 1;
		if (!items[x].id_out[0]) {
			item_set_id(&items[x], id);
			items[x].created = op == WR_CREATE && (!upsert || jv_is_true(d, jv_get(d, r1, "new")));
		}
	}
	/* Without trace ids in the answer, results come in input order. */
	if (op == WR_CREATE && !upsert) {
		size_t k = 0;
		for (uint32_t m = jv_items(d, res); m; m = jv_next(d, m)) {
			jv_t r1 = jv_val(d, m);
			while (k < n && (items[k].id_out[0] || items[k].err.status))
				k++;
			if (k < n && !jv_str(d, r1, "objectWriteTraceId") && jv_str(d, r1, "id")) {
				item_set_id(&items[k], jv_str(d, r1, "id"));
				items[k].created = 1;
			}
		}
	}
	/* Associations of updated records (§6, PUT labelled). */
	json_array_foreach(post_assoc, i, r) {
		size_t x = (size_t)json_integer_value(json_object_get(r, "i"));
		json_t *a;
		size_t j;
		json_array_foreach(json_object_get(r, "a"), j, a) {
			const char *to = jx_str(json_object_get(a, "to"), "id");
			int t = (int)json_integer_value(json_object_get(json_array_get(json_object_get(a, "types"), 0), "associationTypeId"));
			struct crm_err e2 = CRM_ERR_INIT;
			if (to && write_assoc(c, o, items[x].remote_id, t == 578 ? "contacts" : "companies", to, &e2) < 0 &&
			    !items[x].err.status)
				items[x].err = e2;
		}
	}
	json_decref(post_assoc);
	for (i = 0; i < n; i++)
		if (!items[i].err.status && !items[i].id_out[0])
			err_set(&items[i].err, CRM_ERECORD, "no_result", "HubSpot's answer did not mention this record");
	return 0;
}

/* ---- status (§8) ---- */

/* Whether accountType (§8) names a sandbox or test account: true for
 * SANDBOX and DEVELOPER_TEST, false for STANDARD (a production portal),
 * null for any other (APP_DEVELOPER, a type HubSpot adds later): unknown. */
static json_t *hs_sandbox(const char *type)
{
	if (!type)
		return json_null();
	if (!strcmp(type, "SANDBOX") || !strcmp(type, "DEVELOPER_TEST"))
		return json_true();
	return !strcmp(type, "STANDARD") ? json_false() : json_null();
}

static int hs_status(struct conn *c, json_t *out, struct crm_err *err)
{
	struct buf url = BUF_INIT;
	struct http_resp r;
	struct http_req q = { "GET", NULL, NULL, 0, NULL, B_MAIN, HTTP_IDEMPOTENT };
	json_t *d, *rl = json_object();
	char v[32];
	int rc;

	buf_addf(&url, "%s/account-info/v3/details", c->base);
	q.url = url.buf;
	http_resp_init(&r);
	rc = http_do(c->http, &q, &r, err);
	buf_release(&url);
	if (rc < 0) {
		http_resp_release(&r);
		json_decref(rl);
		return rc;
	}
	d = parse_body(&r);
	{
		char tmp[32];
		const char *p = jx_text(json_object_get(d, "portalId"), tmp, sizeof(tmp));
		snprintf(c->portal, sizeof(c->portal), "%s", p ? p : "");
	}
	static const char *const hdr[][2] = {
		{ "X-HubSpot-RateLimit-Max", "max" }, { "X-HubSpot-RateLimit-Remaining", "remaining" },
		{ "X-HubSpot-RateLimit-Interval-Milliseconds", "interval_ms" },
		{ "X-HubSpot-RateLimit-Daily", "daily" }, { "X-HubSpot-RateLimit-Daily-Remaining", "daily_remaining" },
	};
	for (size_t i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++)
		if (http_resp_header(&r, hdr[i][0], v, sizeof(v)))
			json_object_set_new(rl, hdr[i][1], json_integer(strtoll(v, NULL, 10)));
	json_object_set_new(out, "namespace", json_string(c->portal));
	json_object_set_new(out, "rate_limit", rl);
	if (jx_str(d, "timeZone"))
		json_object_set_new(out, "time_zone", json_string(jx_str(d, "timeZone")));
	if (jx_str(d, "accountType"))
		json_object_set_new(out, "account_type", json_string(jx_str(d, "accountType")));
	json_object_set_new(out, "sandbox", hs_sandbox(jx_str(d, "accountType")));
	json_decref(d);
	http_resp_release(&r);
	return 0;
}

/* ---- lists (§7) ---- */

static int hs_lists(struct conn *c, json_t **out, struct crm_err *err)
{
	json_t *res = json_array();
	long offset = 0;
	int rc = 0;

	for (;;) {
		json_t *ans = NULL, *l;
		size_t i;
		json_t *body = json_pack("{s:s,s:i,s:i}", "query", "", "offset", (int)offset, "count", 500);
		rc = call(c, "POST", "/crm/v3/lists/search", body, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
		json_decref(body);
		if (rc < 0)
			break;
		json_array_foreach(json_object_get(ans, "lists"), i, l) {
			char tmp[32], tmp2[32];
			const char *id = jx_text(json_object_get(l, "listId"), tmp, sizeof(tmp));
			const char *size = jx_text(json_object_get(json_object_get(l, "additionalProperties"), "hs_list_size"), tmp2, sizeof(tmp2));
			json_t *sz = json_object_get(l, "size");
			const char *pt = jx_str(l, "processingType");
			json_array_append_new(res, json_pack("{s:s,s:o,s:O?,s:o,s:b,s:{s:O?,s:O?}}",
				"object", "list", "remote_id", jx_str_new(id), "name", json_object_get(l, "name"),
				"size", json_is_integer(sz) ? json_integer(json_integer_value(sz)) : size ? json_integer(strtoll(size, NULL, 10)) : json_null(),
				"dynamic", pt && !strcmp(pt, "DYNAMIC"),
				"remote_fields", "processingType", json_object_get(l, "processingType"),
				"objectTypeId", json_object_get(l, "objectTypeId")));
		}
		int more = json_is_true(json_object_get(ans, "hasMore"));
		json_t *off = json_object_get(ans, "offset");
		long next = json_is_integer(off) ? (long)json_integer_value(off) : offset + (long)json_array_size(json_object_get(ans, "lists"));
		json_decref(ans);
		if (!more || next <= offset)
			break;
		offset = next;
	}
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

static int hs_list_write(struct conn *c, const char *list, int add, struct write_item *items,
			 size_t n, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *ids = json_array();
	int rc;

	if ((rc = check_list(c, list, 1, err)) < 0)
		goto done;
	buf_adds(&path, "/crm/v3/lists/");
	id_path_add(&path, list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_string(items[i].remote_id));
	buf_adds(&path, add ? "/memberships/add" : "/memberships/remove");
	rc = call(c, "PUT", path.buf, ids, B_MAIN, HTTP_IDEMPOTENT, &ans, err);
	if (rc < 0)
		goto done;
	{
		json_t *changed = json_object_get(ans, add ? "recordsIdsAdded" : "recordIdsRemoved");
		json_t *missing = json_object_get(ans, "recordIdsMissing"), *v;
		size_t j;
		for (size_t i = 0; i < n; i++) {
			item_set_id(&items[i], items[i].remote_id);
			json_array_foreach(changed, j, v) {
				char tmp[32];
				const char *s = jx_text(v, tmp, sizeof(tmp));
				if (s && !strcmp(s, items[i].remote_id))
					items[i].created = 1; /* changed */
			}
			json_array_foreach(missing, j, v) {
				char tmp[32];
				const char *s = jx_text(v, tmp, sizeof(tmp));
				if (s && !strcmp(s, items[i].remote_id))
					err_set(&items[i].err, CRM_ERECORD, "not_found", "HubSpot has no contact %s",
						items[i].remote_id);
			}
		}
	}
done:
	json_decref(ans);
	json_decref(ids);
	buf_release(&path);
	return rc;
}

static const char *const hs_env[] = {
	"HUBSPOT_ACCESS_TOKEN", "HUBSPOT_CLIENT_ID", "HUBSPOT_CLIENT_SECRET", "HUBSPOT_REFRESH_TOKEN", NULL
};

/* The readers for the fuzz targets (provider.h: read_error, read_record). */
static json_t *read_record(enum obj o, json_t *raw)
{
	char b[64];
	pick_assoc(json_object_get(raw, "to"), b, sizeof(b));
	return envelope(o, raw, 1);
}

const struct provider provider_hubspot = {
	.name = "hubspot",
	.read_error = fill_error, .read_record = read_record, .read_record_jv = envelope_jv,
	.listed = 1,
	.env_vars = hs_env,
	.lookback_s = 60, /* search lags writes "a few moments" (§2.4 Gaps) */
	.batch_max = 100,
	/* At most (push uses fewer while the limit cannot use them): 19
	 * calls/s x 300 ms, a batch upsert's usual time, fill the limit with
	 * ~6 in flight; the official Node client's own limiter, when turned
	 * on, also allows 6 at once (hubspot.md §Throttling). */
	.concurrency = 6,
	.obj = { [OBJ_ACCOUNT] = &o_account, [OBJ_CONTACT] = &o_contact, [OBJ_USER] = &o_user,
		 [OBJ_LEAD] = &o_lead, [OBJ_DEAL] = &o_deal },
	.deleted_note = "HubSpot keeps archived records for 90 days; GDPR-deleted and merged-away records are not reported",
	.has_lists = 1,
	/* Ids: object and list ids are integers. */
	.id_syntax = ID_DIGITS,
	.list_id_syntax = ID_DIGITS,
	.write_jv = 1,
	.open = hs_open,
	.close = hs_close,
	.namespace = hs_namespace,
	.status = hs_status,
	.fields = hs_fields,
	/* 6 filters per group, the client's side of the conflicting limits
	 * (§16), less the two of the cursor. */
	.where_can = hs_where_can,
	.where_max = 4,
	.pull_open = hs_pull_open,
	.pull_next = hs_pull_next,
	.pull_next_jv = hs_pull_next_jv,
	.pull_fetch = hs_pull_fetch,
	.pull_read = hs_pull_read,
	.pull_close = hs_pull_close,
	.pull_total = hs_pull_total,
	.pull_fixup = hs_fixup,
	.find = hs_find,
	.read = hs_read,
	.write = hs_write,
	.lists = hs_lists,
	.list_write = hs_list_write,
};
