/* SugarCRM: REST v11 (filter API, bulk, Integrate API, metadata, Target Lists).
 * Wire facts: ../shared/api/sugarcrm.md (section numbers below refer to it).
 *
 * Every instance has its own URL (SUGARCRM_URL or --base-url); the API root
 * is <url>/rest/v11 unless the URL already names one.  Records travel as
 * flat field maps; the `email` array becomes two slots (email1 = primary,
 * email2 = the first other) so lib/map can match and compare them, and is
 * rebuilt, keeping the entries no slot names, when written. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <curl/curl.h>

#include "buf.h"
#include "http.h"
#include "jx.h"
#include "config.h"
#include "provider.h"
#include "timeutil.h"
#include "pager.h"
#include "banned.h"

#define B_MAIN 0
/* §3/§16: max_num defaults to 20 and has no cap on a stock install; an
 * admin's max_list_limit turns a larger value into the cap (never an
 * error), and paging follows next_offset, so asking for SugarCloud's
 * reported cap of 1000 (unverified) costs nothing where the cap is lower.
 * A fifth of the calls of 200 a page; 1000 rows is still a modest reply
 * for PHP's time limits. */
#define PAGE_MAX 1000
#define IN_MAX 100       /* values per $in filter */
#define BULK_MAX 50      /* §6: no cap in code; 50-100 stays under PHP and proxy timeouts */
#define DEFAULT_PLATFORM "crmsync"

/* ---- the tables: unified <-> Sugar fields (§2.2) ----
 * Pseudo-fields (names starting with '@') are derived when the envelope is
 * built and translated back in write(); "email1"/"email2" are slots of the
 * `email` array (Sugar's own names for the primary and other address). */

#define PERSON_PHONES(x) \
	{ "phone_numbers", "phone_work", MK_PHONE, "WORK", NULL, x }, \
	{ "phone_numbers", "phone_mobile", MK_PHONE, "MOBILE", NULL, x }, \
	{ "phone_numbers", "phone_home", MK_PHONE, "HOME", NULL, x }, \
	{ "phone_numbers", "phone_fax", MK_PHONE, "FAX", NULL, x }, \
	{ "phone_numbers", "phone_other", MK_PHONE, "OTHER", NULL, x }
#define ADDR(pre, type) \
	{ "addresses", pre "_street", MK_ADDR, type, "street_1", 0 }, \
	{ "addresses", pre "_street_2", MK_ADDR, type, "street_2", 0 }, \
	{ "addresses", pre "_city", MK_ADDR, type, "city", 0 }, \
	{ "addresses", pre "_state", MK_ADDR, type, "state", 0 }, \
	{ "addresses", pre "_postalcode", MK_ADDR, type, "postal_code", 0 }, \
	{ "addresses", pre "_country", MK_ADDR, type, "country", 0 }
#define EMAILS \
	{ "email_addresses", "email1", MK_EMAIL, NULL, NULL, MF_PRIMARY }, \
	{ "email_addresses", "email2", MK_EMAIL, NULL, NULL, 0 }

static const struct map_entry account_map[] = {
	{ "name", "name", MK_STR, NULL, NULL, 0 },
	{ "description", "description", MK_STR, NULL, NULL, 0 },
	{ "industry", "industry", MK_STR, NULL, NULL, MF_OPTION },
	{ "website", "website", MK_STR, NULL, NULL, 0 },
	/* No domain field (§2.2): derived from website. */
	{ "domain", "@domain", MK_STR, NULL, NULL, MF_RO },
	/* `employees` is a varchar that may hold "50-100": only a whole number is
	 * number_of_employees; anything else stays in remote_fields. */
	{ "number_of_employees", "@employees", MK_INT, NULL, NULL, 0 },
	{ "phone_numbers", "phone_office", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "phone_alternate", MK_PHONE, "OTHER", NULL, 0 },
	{ "phone_numbers", "phone_fax", MK_PHONE, "FAX", NULL, 0 },
	ADDR("billing_address", "BILLING"),
	ADDR("shipping_address", "SHIPPING"),
	{ "owner", "assigned_user_id", MK_REL, NULL, NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct map_entry contact_map[] = {
	{ "first_name", "first_name", MK_STR, NULL, NULL, 0 },
	{ "last_name", "last_name", MK_STR, NULL, NULL, 0 },
	{ "title", "title", MK_STR, NULL, NULL, 0 },
	EMAILS,
	PERSON_PHONES(0),
	ADDR("primary_address", "MAILING"),
	ADDR("alt_address", "OTHER"),
	{ "account", "account_id", MK_REL, NULL, NULL, 0 },
	{ "owner", "assigned_user_id", MK_REL, NULL, NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct map_entry user_map[] = {
	{ "name", "full_name", MK_STR, NULL, NULL, MF_RO },
	{ "first_name", "first_name", MK_STR, NULL, NULL, MF_RO },
	{ "last_name", "last_name", MK_STR, NULL, NULL, MF_RO },
	{ "email", "email1", MK_STR, NULL, NULL, MF_RO },
	{ "is_active", "@active", MK_BOOL, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* Conversion (§2.2): `converted` plus the ids it made; no timestamp field,
 * so converted_at is the date_modified of a converted lead (approximate). */
static const struct map_entry lead_map[] = {
	{ "first_name", "first_name", MK_STR, NULL, NULL, 0 },
	{ "last_name", "last_name", MK_STR, NULL, NULL, 0 },
	{ "title", "title", MK_STR, NULL, NULL, 0 },
	{ "company", "account_name", MK_STR, NULL, NULL, 0 },
	EMAILS,
	PERSON_PHONES(0),
	ADDR("primary_address", "MAILING"),
	ADDR("alt_address", "OTHER"),
	{ "status", "status", MK_STR, NULL, NULL, MF_OPTION },
	{ "source", "lead_source", MK_STR, NULL, NULL, MF_OPTION },
	{ "owner", "assigned_user_id", MK_REL, NULL, NULL, 0 },
	{ "converted_at", "@converted_at", MK_TIME, NULL, NULL, MF_RO },
	{ "converted_contact", "contact_id", MK_REL, NULL, NULL, 0 },
	{ "converted_account", "account_id", MK_REL, NULL, NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* account_id of an Opportunity is the first of its `accounts` link (§2.2);
 * it is written through that link. */
static const struct map_entry deal_map[] = {
	{ "name", "name", MK_STR, NULL, NULL, 0 },
	{ "description", "description", MK_STR, NULL, NULL, 0 },
	{ "amount", "amount", MK_NUM, NULL, NULL, 0 },
	{ "stage", "sales_stage", MK_STR, NULL, NULL, MF_STAGE },
	{ "probability", "probability", MK_NUM, NULL, NULL, MF_DERIVED },
	{ "close_date", "date_closed", MK_DATE, NULL, NULL, 0 },
	{ "account", "account_id", MK_REL, NULL, NULL, 0 },
	{ "owner", "assigned_user_id", MK_REL, NULL, NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

#define OC_RW (OC_PULL | OC_PUSH | OC_DELETE | OC_DELETED)
static const struct prov_object o_account = { "Accounts", OC_RW, account_map, "domain", .match_fallback = "name" };
static const struct prov_object o_contact = { "Contacts", OC_RW, contact_map, "email" };
static const struct prov_object o_user = { "Users", OC_PULL | OC_DELETED, user_map, "email" };
static const struct prov_object o_lead = { "Leads", OC_RW, lead_map, "email" };
static const struct prov_object o_deal = { "Opportunities", OC_RW, deal_map, NULL };
static const struct prov_object *const objs[OBJ_COUNT] = {
	[OBJ_ACCOUNT] = &o_account, [OBJ_CONTACT] = &o_contact, [OBJ_USER] = &o_user,
	[OBJ_LEAD] = &o_lead, [OBJ_DEAL] = &o_deal,
};

static int is_person(enum obj o)
{
	return o == OBJ_CONTACT || o == OBJ_LEAD;
}

/* ---- connection ---- */

struct conn {
	struct http *http;
	char *api;                   /* .../rest/v11 */
	char *version;               /* "/v11": bulk sub-request URLs carry it (§6) */
	char *host;                  /* remote_namespace when there is no site_id */
	/* Credentials; token and refresh_token change under lib/http's lock,
	 * the only place auth and refresh run. */
	char *token, *refresh_token, *username, *password, *platform, *client_id, *client_secret;
	pthread_mutex_t mu;          /* guards the caches below while they load */
	int meta_loaded[OBJ_COUNT];
	json_t *meta[OBJ_COUNT];     /* module fields (vardefs, §7) */
	char *fieldlist[OBJ_COUNT];  /* "a,b,c": what pull and read ask for */
	json_t *lang;                /* app_list_strings + mod_strings (§7) */
	int info_loaded;             /* server info and /me */
	char ns[160];
	int rli;                     /* Revenue Line Items mode (§2.4) */
	int is_admin;
	char version_s[64];
	char email_filter[48];       /* which filter key finds emails (§6, unverified) */
};

static const char *module(enum obj o)
{
	return objs[o]->remote;
}

static json_t *parse_body(const struct http_resp *r)
{
	char why[160];
	return r->body.len ? jx_parse(r->body.buf, r->body.len, 0, why, sizeof(why)) : NULL;
}

/* The {"error", "error_message"} envelope (§11) into err. */
static void fill_error(const json_t *body, struct crm_err *e)
{
	const char *code = jx_str(body, "error"), *msg = jx_str(body, "error_message");

	if (code)
		snprintf(e->code, sizeof(e->code), "%s", code);
	if (msg)
		snprintf(e->message, sizeof(e->message), "SugarCRM: %s", msg);
}

static int is_token_url(const struct conn *c, const char *url)
{
	size_t n = strlen(c->api);
	return !strncmp(url, c->api, n) && !strncmp(url + n, "/oauth2/", 8);
}

/* POST /oauth2/token with a password or refresh_token grant (§1).  Stores
 * the new pair: refresh tokens rotate, the old one is dead from now on. */
static int token_call(struct conn *c, int refresh, struct crm_err *err)
{
	struct buf url = BUF_INIT, b = BUF_INIT;
	struct http_resp r;
	struct http_req q = { "POST", NULL, NULL, 0, NULL, B_MAIN, HTTP_NO_AUTH | HTTP_IDEMPOTENT };
	json_t *body = json_object(), *ans = NULL;
	int rc;

	json_object_set_new(body, "grant_type", json_string(refresh ? "refresh_token" : "password"));
	json_object_set_new(body, "client_id", json_string(c->client_id));
	json_object_set_new(body, "client_secret", json_string(c->client_secret ? c->client_secret : ""));
	if (refresh) {
		json_object_set_new(body, "refresh_token", json_string(c->refresh_token));
	} else {
		json_object_set_new(body, "username", json_string(c->username));
		json_object_set_new(body, "password", json_string(c->password));
	}
	json_object_set_new(body, "platform", json_string(c->platform));
	jx_dump(&b, body);
	json_decref(body);
	buf_addf(&url, "%s/oauth2/token", c->api);
	q.url = url.buf;
	q.body = b.buf;
	q.body_len = b.len;
	http_resp_init(&r);
	rc = http_do(c->http, &q, &r, err);
	ans = parse_body(&r);
	if (rc == 0) {
		const char *at = jx_str(ans, "access_token"), *rt = jx_str(ans, "refresh_token");
		if (!at) {
			rc = err_set(err, CRM_EAUTH, "login_failed", "SugarCRM's token answer has no access_token");
		} else {
			config_secret_free(c->token);
			c->token = strdup(at);
			config_secret_free(c->refresh_token);
			c->refresh_token = rt && *rt ? strdup(rt) : NULL;
		}
	} else if (rc != CRM_EINTR && rc != CRM_EUNAVAIL && rc != CRM_ETEMP) {
		const char *code = jx_str(ans, "error");
		const char *msg = jx_str(ans, "error_message");
		if (refresh) {
			rc = err_set(err, CRM_EAUTH, code ? code : "refresh_failed",
				     "SugarCRM refused the refresh token (HTTP %ld%s%s)", r.status, code ? ", " : "",
				     code ? code : "");
		} else if (code && !strcmp(code, "need_login")) {
			rc = err_set(err, CRM_EAUTH, code,
				     "SugarCRM refused the username or password (need_login); check SUGARCRM_USERNAME and SUGARCRM_PASSWORD");
		} else if (msg && strstr(msg, "platform")) {
			rc = err_set(err, CRM_EAUTH, code ? code : "platform_refused",
				     "SugarCRM refused the API platform '%s': an admin registers it under Admin > Configure API Platforms, or set SUGARCRM_PLATFORM (%s)",
				     c->platform, msg);
		} else {
			rc = err_set(err, CRM_EAUTH, code ? code : "login_failed",
				     "SugarCRM refused the login (HTTP %ld%s%.200s)", r.status, msg ? ": " : "", msg ? msg : "");
		}
		err->http_status = r.status;
	}
	memset(b.buf, 0, b.len);
	json_decref(ans);
	http_resp_release(&r);
	buf_release(&url);
	buf_release(&b);
	return rc;
}

static int su_refresh(void *ctx, struct crm_err *err)
{
	struct conn *c = ctx;
	int rc;

	/* §1 client rule: refresh once; if the refresh token is refused (or was
	 * rotated away by a parallel refresh), log in again with the password. */
	if (c->refresh_token) {
		rc = token_call(c, 1, err);
		if (rc == 0 || rc == CRM_EINTR || rc == CRM_EUNAVAIL || rc == CRM_ETEMP || !c->password)
			return rc;
		err_clear(err);
	}
	if (c->username && c->password)
		return token_call(c, 0, err);
	return err_set(err, CRM_EAUTH, "token_expired",
		       "SugarCRM refused the access token and there is no login to get a new one (set SUGARCRM_USERNAME and SUGARCRM_PASSWORD)");
}

static int su_auth(void *ctx, struct curl_slist **h, struct crm_err *err)
{
	struct conn *c = ctx;
	struct buf b = BUF_INIT;
	int rc;

	if (!c->token && (rc = token_call(c, 0, err)) < 0)
		return rc;
	buf_addf(&b, "OAuth-Token: %s", c->token);
	*h = curl_slist_append(*h, b.buf);
	memset(b.buf, 0, b.len);
	buf_release(&b);
	return 0;
}

static void su_classify(void *ctx, const struct http_req *req, const struct http_resp *resp,
			struct http_verdict *v, struct crm_err *err)
{
	struct conn *c = ctx;
	json_t *body;
	const char *code;

	if (resp->status < 300 || resp->status == 429 || resp->status >= 500 || is_token_url(c, req->url))
		return; /* lib/http's defaults: retries, Retry-After, lost answers */
	body = parse_body(resp);
	code = jx_str(body, "error");
	switch (resp->status) {
	case 401:
		if (c->refresh_token || (c->username && c->password)) {
			v->action = HA_REFRESH;
		} else {
			v->action = HA_FAIL;
			err_set(err, CRM_EAUTH, code ? code : "unauthorized",
				"SugarCRM refused the access token (HTTP 401%s%s); set SUGARCRM_USERNAME and SUGARCRM_PASSWORD to log in",
				code ? ", " : "", code ? code : "");
		}
		break;
	case 403:
		v->action = HA_FAIL;
		err_set(err, CRM_EAUTH, code ? code : "forbidden", "SugarCRM refused access (HTTP 403)");
		fill_error(body, err);
		break;
	case 301:
		v->action = HA_FAIL;
		err_set(err, CRM_ECONFIG, code ? code : "incorrect_version",
			"this SugarCRM does not serve the REST API version at %s (HTTP 301)", c->api);
		break;
	case 404:
		v->action = HA_FAIL;
		err_set(err, CRM_ENOTFOUND, code ? code : "not_found", "SugarCRM has no such resource (%.*s)",
			(int)strcspn(req->url + strlen(c->api), "?"), req->url + strlen(c->api));
		fill_error(body, err);
		break;
	default:
		v->action = HA_FAIL;
		err_set(err, CRM_ERECORD, "http_error", "SugarCRM answered HTTP %ld", resp->status);
		fill_error(body, err);
	}
	json_decref(body);
}

/* One call: method, path (after the API root), optional JSON body.
 * *out: parsed JSON answer (new). */
static int call(struct conn *c, const char *method, const char *path, const json_t *body,
		unsigned flags, json_t **out, struct crm_err *err)
{
	struct buf url = BUF_INIT;
	struct http_req q = { method, NULL, NULL, 0, NULL, B_MAIN, flags };
	int rc;

	buf_addf(&url, "%s%s", c->api, path);
	q.url = url.buf;
	rc = http_json(c->http, &q, body, out, NULL, "SugarCRM", err);
	buf_release(&url);
	return rc;
}

static int su_open(struct conn **out, const struct session *s, struct crm_err *err)
{
	struct conn *c = calloc(1, sizeof(*c));
	char *url = NULL;
	const char *base, *rest;
	int rc;

	*out = NULL;
	c->http = s->http;
	pthread_mutex_init(&c->mu, NULL);
	if ((rc = config_credential(s->cfg, s->profile, "SUGARCRM_URL", "url", 0, &url, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SUGARCRM_ACCESS_TOKEN", "access_token", 1, &c->token, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SUGARCRM_REFRESH_TOKEN", "refresh_token", 0, &c->refresh_token, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SUGARCRM_USERNAME", "username", 0, &c->username, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SUGARCRM_PASSWORD", "password", 0, &c->password, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SUGARCRM_PLATFORM", "platform", 0, &c->platform, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SUGARCRM_CLIENT_ID", "client_id", 0, &c->client_id, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "SUGARCRM_CLIENT_SECRET", "client_secret", 0, &c->client_secret, err)) < 0)
		goto fail;
	base = s->base_url ? s->base_url : url;
	if (!base || !*base) {
		rc = err_set(err, CRM_ECONFIG, "no_url",
			     "no SugarCRM instance: set SUGARCRM_URL (for example https://acme.sugarondemand.com) or give --base-url");
		goto fail;
	}
	if (!c->token && !(c->username && c->password)) {
		rc = err_set(err, CRM_ECONFIG, "no_credentials",
			     "no SugarCRM credentials: set SUGARCRM_USERNAME and SUGARCRM_PASSWORD (or SUGARCRM_ACCESS_TOKEN)");
		goto fail;
	}
	if ((rc = http_check_secure(base, "SugarCRM", err)) < 0)
		goto fail;
	{
		struct buf a = BUF_INIT;
		buf_adds(&a, base);
		while (a.len && a.buf[a.len - 1] == '/')
			a.buf[--a.len] = '\0';
		/* A URL that names the API root (".../rest/v11_24") is used as is. */
		if (!(rest = strstr(a.buf, "/rest/v")))
			buf_adds(&a, "/rest/v11");
		c->api = buf_detach(&a, NULL);
		rest = strstr(c->api, "/rest/v");
		c->version = strdup(rest + 5);
		const char *h = strstr(c->api, "://");
		h = h ? h + 3 : c->api;
		c->host = strndup(h, strcspn(h, "/?#"));
	}
	if (!c->platform)
		c->platform = strdup(DEFAULT_PLATFORM);
	if (!c->client_id)
		c->client_id = strdup("sugar");
	snprintf(c->email_filter, sizeof(c->email_filter), "email_addresses.email_address");
	{
		struct http_hooks hk = { c, su_auth, su_refresh, su_classify, NULL };
		http_set_hooks(c->http, &hk);
	}
	/* §10: no published limits, no rate headers: no bucket; a modest default
	 * concurrency and lib/http's backoff on 429/502/503/504 instead. */
	free(url);
	*out = c;
	return 0;
fail:
	free(url);
	config_secret_free(c->token);
	config_secret_free(c->refresh_token);
	free(c->username);
	config_secret_free(c->password);
	free(c->platform);
	free(c->client_id);
	config_secret_free(c->client_secret);
	pthread_mutex_destroy(&c->mu);
	free(c);
	return rc;
}

static void su_close(struct conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < OBJ_COUNT; i++) {
		json_decref(c->meta[i]);
		free(c->fieldlist[i]);
	}
	json_decref(c->lang);
	config_secret_free(c->token);
	config_secret_free(c->refresh_token);
	free(c->username);
	config_secret_free(c->password);
	free(c->platform);
	free(c->client_id);
	config_secret_free(c->client_secret);
	free(c->api);
	free(c->version);
	free(c->host);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* Server info (site_id, RLI mode) and /me (admin or not), once (§9). */
static int load_info(struct conn *c, struct crm_err *err)
{
	json_t *si = NULL, *me = NULL;
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (c->info_loaded)
		goto done;
	if ((rc = call(c, "GET", "/metadata?type_filter=server_info", NULL, HTTP_IDEMPOTENT, &si, err)) < 0 ||
	    (rc = call(c, "GET", "/me", NULL, HTTP_IDEMPOTENT, &me, err)) < 0)
		goto done;
	json_t *info = json_object_get(si, "server_info");
	const char *site = jx_str(info, "site_id");
	snprintf(c->ns, sizeof(c->ns), "%s", site && *site ? site : c->host);
	c->rli = json_is_true(json_object_get(info, "si_rli_enabled"));
	snprintf(c->version_s, sizeof(c->version_s), "%s %s", jx_str(info, "flavor") ? jx_str(info, "flavor") : "",
		 jx_str(info, "version") ? jx_str(info, "version") : "");
	const char *type = jx_str(json_object_get(me, "current_user"), "type");
	c->is_admin = type && !strcmp(type, "admin");
	c->info_loaded = 1;
done:
	pthread_mutex_unlock(&c->mu);
	json_decref(si);
	json_decref(me);
	return rc;
}

static const char *su_namespace(struct conn *c, struct crm_err *err)
{
	return load_info(c, err) < 0 ? NULL : c->ns;
}

/* ---- metadata (§7) ---- */

/* Module fields, once per object: the vardefs and the list pull asks for. */
static int load_meta(struct conn *c, enum obj o, struct crm_err *err)
{
	struct buf path = BUF_INIT, list = BUF_INIT;
	json_t *ans = NULL, *v;
	const char *k;
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (c->meta_loaded[o])
		goto done;
	buf_addf(&path, "/metadata?type_filter=modules&module_filter=%s", module(o));
	if ((rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, &ans, err)) < 0)
		goto done;
	json_t *fields = json_object_get(json_object_get(json_object_get(ans, "modules"), module(o)), "fields");
	if (!json_is_object(fields)) {
		rc = err_set(err, CRM_EUNAVAIL, "bad_response", "SugarCRM's metadata has no fields for %s", module(o));
		goto done;
	}
	json_object_foreach(fields, k, v) {
		const char *t = jx_str(v, "type");
		/* `_hash` is a string among the fields (§12.9); links are not values. */
		if (!json_is_object(v) || (t && !strcmp(t, "link")))
			continue;
		buf_addf(&list, "%s%s", list.len ? "," : "", k);
	}
	c->meta[o] = json_incref(fields);
	c->fieldlist[o] = buf_detach(&list, NULL);
	c->meta_loaded[o] = 1;
done:
	pthread_mutex_unlock(&c->mu);
	json_decref(ans);
	buf_release(&path);
	buf_release(&list);
	return rc;
}

static int load_lang(struct conn *c, struct crm_err *err)
{
	json_t *ans = NULL;
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (!c->lang && (rc = call(c, "GET", "/lang/en_us", NULL, HTTP_IDEMPOTENT, &ans, err)) == 0)
		c->lang = ans;
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* A label key resolved through mod_strings, then app_strings; Sugar's
 * labels end in ':' on forms, not here. */
static json_t *label_of(struct conn *c, enum obj o, const json_t *def, const char *name)
{
	const char *vname = jx_str(def, "vname");
	const char *s = vname ? jx_str(json_object_get(json_object_get(c->lang, "mod_strings"), module(o)), vname) : NULL;
	if (!s && vname)
		s = jx_str(json_object_get(c->lang, "app_strings"), vname);
	if (!s)
		return json_string(name);
	size_t n = strlen(s);
	while (n && (s[n - 1] == ':' || s[n - 1] == ' '))
		n--;
	return json_stringn(s, n);
}

static int field_read_only(struct conn *c, enum obj o, const char *name, const json_t *def)
{
	static const char *const sys[] = { "id", "date_entered", "date_modified", "created_by", "modified_user_id",
					   "deleted", "following", "my_favorite", "locked_fields", "email",
					   "full_name", NULL };
	const char *t = jx_str(def, "type");

	if (o == OBJ_USER || json_is_true(json_object_get(def, "readonly")) ||
	    json_is_true(json_object_get(def, "calculated")))
		return 1;
	for (int i = 0; sys[i]; i++)
		if (!strcmp(sys[i], name))
			return 1;
	/* Relate fields are display-only, except the *_id keys they stand for (§2.1). */
	if (t && (!strcmp(t, "relate") || !strcmp(t, "teamset") || !strcmp(t, "fullname")))
		return strlen(name) < 3 || strcmp(name + strlen(name) - 3, "_id");
	if (is_person(o) && !strcmp(name, "name"))
		return 1; /* the computed full name */
	/* §2.4: in RLI mode these are roll-ups of Revenue Line Items. */
	if (o == OBJ_DEAL && c->rli && (!strcmp(name, "amount") || !strcmp(name, "best_case") ||
					 !strcmp(name, "worst_case") || !strcmp(name, "sales_status")))
		return 1;
	return 0;
}

static void add_pseudo(json_t *arr, const char *name, const char *label, const char *type, int ro)
{
	json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:[]}", "name", name, "label", label,
					     "type", type, "required", 0, "read_only", ro, "custom", 0, "options"));
}

/* The entry of a dropdown of app_list_strings for key: the list is
 * {key: label}, or with ?ordered=true [[key, label], ...] (§15). */
static const json_t *list_get(const json_t *list, const char *key)
{
	const json_t *t;
	size_t i;

	if (json_is_object(list))
		return json_object_get(list, key);
	json_array_foreach(list, i, t)
		if (json_is_string(json_array_get(t, 0)) && !strcmp(json_string_value(json_array_get(t, 0)), key))
			return json_array_get(t, 1);
	return NULL;
}

/* One option: Sugar's key (what records hold and writes send) and the
 * label a person sees.  A sales stage also carries the facts lib/options
 * reads (§15): won and lost are "Closed Won" and "Closed Lost" (the
 * Forecasts defaults of sales_stage_won and sales_stage_lost; every other
 * stage is open), its probability the stage's entry of
 * sales_probability_dom, a percentage already. */
static void add_option(json_t *opts, const json_t *lists, const char *key, const json_t *label, int stage)
{
	json_t *op;
	char tmp[32];
	const char *p;

	if (!*key)
		return; /* the "" entry: no value */
	op = json_pack("{s:s,s:s}", "label", json_is_string(label) && json_string_length(label)
		       ? json_string_value(label) : key, "value", key);
	if (stage) {
		json_object_set_new(op, "status", json_string(!strcmp(key, "Closed Won") ? "WON"
							      : !strcmp(key, "Closed Lost") ? "LOST" : "OPEN"));
		p = jx_text(list_get(json_object_get(lists, "sales_probability_dom"), key), tmp, sizeof(tmp));
		if (p && *p) {
			double pr = strtod(p, NULL);
			json_object_set_new(op, "probability", pr == (double)(json_int_t)pr ? json_integer((json_int_t)pr)
											  : json_real(pr));
		}
	}
	json_array_append_new(opts, op);
}

/* The options of dropdown dom, in Sugar's display order.  A list given as
 * plain strings (no keys) uses each as key and label. */
static json_t *dropdown(const json_t *lists, const char *dom, int stage)
{
	const json_t *list = dom ? json_object_get(lists, dom) : NULL, *v;
	json_t *opts = json_array();
	const char *k;
	size_t i;

	if (json_is_object(list)) {
		json_object_foreach((json_t *)list, k, v)
			add_option(opts, lists, k, v, stage);
	} else {
		json_array_foreach(list, i, v) {
			if (json_is_array(v) && json_is_string(json_array_get(v, 0)))
				add_option(opts, lists, json_string_value(json_array_get(v, 0)), json_array_get(v, 1), stage);
			else if (json_is_string(v))
				add_option(opts, lists, json_string_value(v), v, stage);
		}
	}
	return opts;
}

static int su_fields(struct conn *c, enum obj o, json_t **out, struct crm_err *err)
{
	json_t *arr, *def, *lists;
	const char *name;
	int rc;

	if ((rc = load_info(c, err)) < 0 || (rc = load_meta(c, o, err)) < 0 || (rc = load_lang(c, err)) < 0)
		return rc;
	lists = json_object_get(c->lang, "app_list_strings");
	arr = json_array();
	json_object_foreach(c->meta[o], name, def) {
		const char *t = jx_str(def, "type"), *src = jx_str(def, "source"), *dom = jx_str(def, "options");
		json_t *opts;
		size_t nl = strlen(name);
		if (!json_is_object(def) || (t && !strcmp(t, "link")))
			continue;
		opts = dropdown(lists, dom, o == OBJ_DEAL && !strcmp(name, "sales_stage"));
		json_array_append_new(arr, json_pack("{s:s,s:o,s:s,s:b,s:b,s:b,s:o}", "name", name,
			"label", label_of(c, o, def, name), "type", t ? t : "varchar",
			"required", json_is_true(json_object_get(def, "required")),
			"read_only", field_read_only(c, o, name, def),
			"custom", (src && !strcmp(src, "custom_fields")) || (nl > 2 && !strcmp(name + nl - 2, "_c")),
			"options", opts));
	}
	if (is_person(o) || o == OBJ_USER) {
		/* Slots of the email array; added when the instance's metadata lacks them. */
		if (!json_object_get(c->meta[o], "email1"))
			add_pseudo(arr, "email1", "Email Address", "varchar", o == OBJ_USER);
		if (!json_object_get(c->meta[o], "email2") && o != OBJ_USER)
			add_pseudo(arr, "email2", "Other Email Address", "varchar", 0);
	}
	if (o == OBJ_ACCOUNT) {
		add_pseudo(arr, "@domain", "Domain (from Website)", "varchar", 1);
		add_pseudo(arr, "@employees", "Employees (a whole number)", "int", 0);
	} else if (o == OBJ_USER) {
		add_pseudo(arr, "@active", "Active (Status is Active)", "bool", 1);
	} else if (o == OBJ_LEAD) {
		add_pseudo(arr, "@converted_at", "Converted at (date modified of a converted lead)", "datetime", 1);
	}
	*out = arr;
	return 0;
}

/* ---- records: Sugar rows to envelopes (§2.1) ---- */

static const char *domain_of(const char *url, char *out, size_t n)
{
	const char *p;

	if (!url || !*url)
		return NULL;
	p = strstr(url, "://");
	p = p ? p + 3 : url;
	if (!strncasecmp(p, "www.", 4))
		p += 4;
	size_t len = strcspn(p, "/?#:");
	if (!len)
		return NULL;
	snprintf(out, n, "%.*s", (int)len, p);
	for (char *q = out; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	return out;
}

static int whole_number(const char *s)
{
	if (!s || !*s)
		return 0;
	if (*s == '-')
		s++;
	return *s && strspn(s, "0123456789") == strlen(s);
}

static json_t *envelope(enum obj o, json_t *raw, int with_raw)
{
	static const char *const drop[] = { "id", "date_entered", "date_modified", "deleted", "_acl", "_module",
					    "locked_fields", "email", "email1", "email2", "following", "my_favorite",
					    NULL };
	json_t *env = json_object(), *fields = json_object(), *v, *e;
	const char *k, *primary = NULL, *other = NULL;
	size_t i;
	int deleted = json_is_true(json_object_get(raw, "deleted"));

	json_object_set(env, "id", json_object_get(raw, "id") ? json_object_get(raw, "id") : json_null());
	json_object_set(env, "created_at", json_object_get(raw, "date_entered") ? json_object_get(raw, "date_entered") : json_null());
	json_object_set(env, "updated_at", json_object_get(raw, "date_modified") ? json_object_get(raw, "date_modified") : json_null());
	json_object_set_new(env, "deleted", json_boolean(deleted));
	/* A soft delete bumps date_modified (§5): that is when it happened. */
	json_object_set(env, "deleted_at", deleted && json_object_get(raw, "date_modified")
			? json_object_get(raw, "date_modified") : json_null());
	json_object_foreach(raw, k, v) {
		int skip = 0;
		for (int d = 0; drop[d] && !skip; d++)
			skip = !strcmp(drop[d], k);
		/* "" is Sugar's empty value (§2.1): absent, not a placeholder. */
		skip |= json_is_string(v) && !json_string_length(v);
		if (!skip)
			json_object_set(fields, k, v);
	}
	/* The email array as slots; the whole array stays on the envelope for
	 * pull_fixup (every address) and for merging on update. */
	json_array_foreach(json_object_get(raw, "email"), i, e) {
		const char *a = jx_str(e, "email_address");
		if (!a || !*a)
			continue;
		if (json_is_true(json_object_get(e, "primary_address")) && !primary)
			primary = a;
		else if (!other)
			other = a;
	}
	if (!primary && other && o != OBJ_USER) {
		/* No primary flag: the first is the primary (as Sugar treats it). */
		primary = other;
		other = NULL;
		json_array_foreach(json_object_get(raw, "email"), i, e) {
			const char *a = jx_str(e, "email_address");
			if (a && *a && strcmp(a, primary)) {
				other = a;
				break;
			}
		}
	}
	if (json_object_get(raw, "email") || json_object_get(raw, "email1")) {
		if (!primary && o == OBJ_USER)
			primary = jx_str(raw, "email1");
		json_object_set_new(fields, "email1", jx_str_new(primary));
		if (o != OBJ_USER)
			json_object_set_new(fields, "email2", jx_str_new(other));
		json_object_set_new(env, "emails", json_is_array(json_object_get(raw, "email"))
				    ? json_incref(json_object_get(raw, "email")) : json_array());
	}
	if (o == OBJ_ACCOUNT) {
		char d[256];
		const char *emp = jx_str(raw, "employees");
		json_object_set_new(fields, "@domain", jx_str_new(domain_of(jx_str(raw, "website"), d, sizeof(d))));
		if (whole_number(emp)) {
			json_object_set_new(fields, "@employees", json_string(emp));
			json_object_del(fields, "employees");
		} else {
			json_object_set_new(fields, "@employees", json_null());
		}
	} else if (o == OBJ_USER) {
		const char *st = jx_str(raw, "status");
		json_object_set_new(fields, "@active", json_boolean(st && !strcmp(st, "Active")));
	} else if (o == OBJ_LEAD) {
		json_object_set(fields, "@converted_at", json_is_true(json_object_get(raw, "converted")) &&
				json_object_get(raw, "date_modified") ? json_object_get(raw, "date_modified") : json_null());
	}
	json_object_set_new(env, "fields", fields);
	if (with_raw)
		json_object_set(env, "raw", raw);
	return env;
}

static void su_fixup(struct conn *c, enum obj o, struct jv_doc *d, jv_t env, jv_t rec)
{
	jv_t f = jv_get(d, env, "fields");

	if (o == OBJ_DEAL) {
		/* status and probability follow from the stage's facts (lib/options,
		 * add_option).  A stage key not in sales_stage_dom is neither won
		 * nor lost, so open, as Sugar counts it (§15); no stage, no status.
		 * In RLI mode the sales_status roll-up is the deal's status (§2.4). */
		const char *rs = c->rli ? jv_str(d, f, "sales_status") : NULL, *stage = jv_str(d, f, "sales_stage");
		if (rs && *rs)
			jv_set(d, rec, "status", jv_string_ref(d, !strcmp(rs, "Closed Won") ? "WON"
							       : !strcmp(rs, "Closed Lost") ? "LOST" : "OPEN"));
		else if (!jv_str(d, rec, "status"))
			jv_set(d, rec, "status", stage && *stage ? jv_string_ref(d, "OPEN") : JV_NULL);
	} else if (is_person(o) && jv_typeof(d, jv_get(d, env, "emails")) == JVT_ARR) {
		/* Every address, primary first (the slots hold two). */
		jv_t list = jv_arr(d);
		const char *p = jv_str(d, f, "email1");
		jv_t all = jv_arr(d);
		jv_append(d, all, jv_get(d, f, "email1") ? jv_get(d, f, "email1") : JV_NULL);
		for (uint32_t m = jv_items(d, jv_get(d, env, "emails")); m; m = jv_next(d, m))
			jv_append(d, all, jv_get(d, jv_val(d, m), "email_address"));
		int first = 1;
		for (uint32_t m = jv_items(d, all); m; m = jv_next(d, m), first = 0) {
			jv_t addr = jv_val(d, m);
			const char *a = jv_sval(d, addr);
			if (a && *a && (first || !p || strcmp(a, p))) {
				jv_append(d, list, map_email(d, addr, NULL, first));
			}
		}
		jv_set(d, rec, "email_addresses", list);
	}
}

/* ---- pull (§3, §4, §5) ---- */

struct pull {
	struct conn *c;
	struct pull_opts o;
	long long t;        /* the anchor: date_modified >= t; -1 = none yet */
	long offset;        /* rows of the anchor instant already read */
	json_t *seen;       /* ids emitted at the anchor instant */
	int done;
	char *list;         /* members of this Target List */
	struct pager_guard guard; /* lib/pager */
	long long total;    /* records expected (pull_total), -1 unknown */
	char lo[2], hi[2];  /* a part's ids: >= lo, < hi ("": no bound) */
};

/* "2026-11-22T10:04:05+00:00": an explicit offset, second precision (§4). */
static void filter_time(long long ms, char out[TIME_BUFSZ])
{
	long long s = ms >= 0 ? ms / 1000 * 1000 : 0;
	time_format(s, out);
	size_t n = strlen(out);
	if (n && out[n - 1] == 'Z')
		snprintf(out + n - 1, TIME_BUFSZ - (n - 1), "+00:00");
}

static long long ms_of(const json_t *env)
{
	const char *u = jx_str(env, "updated_at");
	long long ms;
	return u && time_parse(u, &ms) == 0 ? ms : -1;
}

/* ---- pull --where: the filter API's own operators (§16) ---- */

static int su_where_can(enum obj o, const struct where *w, const char **can)
{
	*can = "any field with = != < <= > >= ~ ?";
	return 1;
}

/* The --where conditions, added to a filter array (entries AND together):
 * = $equals, ~ $contains, ? $not_empty (§16; enum fields by key, which
 * lib/options made of a label). */
static void where_add(const struct pull *p, json_t *filter)
{
	static const char *const ops[W_OP_COUNT] = { "$equals", "$not_equals", "$lt", "$lte", "$gt", "$gte",
						     "$contains", "$not_empty" };

	for (size_t i = 0; i < p->o.nwhere; i++) {
		const struct where *w = &p->o.where[i];
		json_t *v = w->value ? json_string(w->value) : json_string("");
		json_array_append_new(filter, json_pack("{s:{s:o}}", w->field, ops[w->op], v));
	}
}

/* List replies carry no total (§11 Totals): when a progress line wants one,
 * /<module>/filter/count counts what the scan will read, with its filter
 * and `deleted`, one call; the members' link has its own count.  Not for
 * users (group and portal users are left out of the pull); a failure only
 * leaves the total unknown. */
static void count_rows(struct pull *p)
{
	struct crm_err e = CRM_ERR_INIT;
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *n;
	enum obj o = p->o.obj;

	if (p->list) {
		buf_adds(&path, "/ProspectLists/");
		buf_add_urlenc(&path, p->list);
		buf_adds(&path, "/link/contacts/count");
	} else if (o != OBJ_USER) {
		buf_addf(&path, "/%s/filter/count", module(o));
		if (p->t >= 0 || p->o.nwhere) {
			char tb[TIME_BUFSZ];
			json_t *f = json_array();
			char *txt;
			if (p->t >= 0) {
				filter_time(p->t, tb);
				json_array_append_new(f, json_pack("{s:{s:s}}", "date_modified", "$gte", tb));
			}
			where_add(p, f);
			txt = json_dumps(f, JSON_COMPACT);
			buf_adds(&path, "?filter=");
			buf_add_urlenc(&path, txt ? txt : "[]");
			free(txt);
			json_decref(f);
		}
		if (p->o.deleted)
			buf_adds(&path, p->t >= 0 || p->o.nwhere ? "&deleted=true" : "?deleted=true");
	} else {
		return;
	}
	if (call(p->c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, &ans, &e) == 0 &&
	    json_is_integer(n = json_object_get(ans, "record_count")))
		p->total = json_integer_value(n);
	json_decref(ans);
	buf_release(&path);
}

static int su_pull_open(struct conn *c, const struct pull_opts *o, struct pull **out, struct crm_err *err)
{
	struct pull *p;
	int rc;

	*out = NULL;
	if ((rc = load_info(c, err)) < 0 || (rc = load_meta(c, o->list ? OBJ_CONTACT : o->obj, err)) < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	p->c = c;
	p->o = *o;
	p->o.since_id = o->since_id ? strdup(o->since_id) : NULL;
	p->list = o->list ? strdup(o->list) : NULL;
	p->o.list = p->list;
	p->o.extra_fields = NULL;
	p->t = o->since_ms >= 0 ? o->since_ms / 1000 * 1000 : -1;
	p->seen = json_object();
	pager_guard_init(&p->guard, "SugarCRM");
	p->total = -1;
	if (o->want_total)
		count_rows(p);
	*out = p;
	return 0;
}

static long long su_pull_total(struct pull *p)
{
	return p->total;
}

static void su_pull_close(struct pull *p)
{
	if (!p)
		return;
	pager_guard_release(&p->guard);
	free((char *)p->o.since_id);
	free(p->list);
	json_decref(p->seen);
	free(p);
}

/* After a page `recs` of the query `query` (what tells it from the run's
 * other queries, apart from its offset), when another page follows at
 * `offset`: that request must be new, this page must not be one seen
 * before (a server that ignores the offset gives the same page for each),
 * and empty pages must end (lib/pager). */
static int guard_page(struct pager_guard *g, const char *query, const json_t *recs, long offset,
		      struct crm_err *err)
{
	size_t n = json_array_size(recs);
	char key[160];
	int rc;

	rc = pager_guard_page(g, query, jx_str(json_array_get(recs, 0), "id"),
			      n ? jx_str(json_array_get(recs, n - 1), "id") : NULL, n, err);
	if (rc < 0)
		return rc;
	snprintf(key, sizeof(key), "offset=%ld, %s", offset, query);
	return pager_guard_next(g, key, n, err);
}

/* Users that are not people (§2.2): group and portal-only accounts. */
static int skip_user(const json_t *raw)
{
	return json_is_true(json_object_get(raw, "is_group")) || json_is_true(json_object_get(raw, "portal_only"));
}

/* One page of the scan, ordered by (date_modified, id) ascending from the
 * anchor with $gte.  Offsets would grow with the data (and shift when rows
 * change, §12.5), so after each page the scan re-anchors on the last
 * date_modified seen: offset 0 again, minus the rows of that very second
 * already read (which come first, by id).  Only a page that is all one
 * second keeps counting its offset: the records sharing a second are paged
 * through, never skipped (LESSONS 2).  Rows at the anchor already emitted
 * are dropped if they come again. */
static int scan_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	enum obj o = p->o.obj;
	json_t *body = json_object(), *filter = json_array(), *ans = NULL, *recs, *r, *envs;
	char path[96], tb[TIME_BUFSZ];
	long long mint = -1, maxt = -1;
	size_t i, n;
	long next;
	int rc;

	if (p->t >= 0) {
		filter_time(p->t, tb);
		json_array_append_new(filter, json_pack("{s:{s:s}}", "date_modified", "$gte", tb));
	}
	where_add(p, filter);
	if (p->lo[0])
		json_array_append_new(filter, json_pack("{s:{s:s}}", "id", "$gte", p->lo));
	if (p->hi[0])
		json_array_append_new(filter, json_pack("{s:{s:s}}", "id", "$lt", p->hi));
	json_object_set_new(body, "filter", filter);
	json_object_set_new(body, "fields", json_string(c->fieldlist[o]));
	json_object_set_new(body, "max_num", json_integer(PAGE_MAX));
	json_object_set_new(body, "offset", json_integer(p->offset));
	json_object_set_new(body, "order_by", json_string("date_modified:ASC,id:ASC"));
	if (p->o.deleted)
		json_object_set_new(body, "deleted", json_true()); /* live and deleted rows together (§5) */
	snprintf(path, sizeof(path), "/%s/filter", module(o));
	rc = call(c, "POST", path, body, HTTP_IDEMPOTENT, &ans, err);
	json_decref(body);
	if (rc < 0)
		return rc;
	recs = json_object_get(ans, "records");
	if (!json_is_array(recs) || !json_is_integer(json_object_get(ans, "next_offset"))) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "SugarCRM's filter answer has no records or next_offset");
	}
	next = (long)json_integer_value(json_object_get(ans, "next_offset"));
	n = json_array_size(recs);
	envs = json_array();
	json_array_foreach(recs, i, r) {
		json_t *env = envelope(o, r, 1);
		const char *id = jx_str(env, "id");
		long long ms = ms_of(env);
		if (mint < 0 || ms < mint)
			mint = ms;
		if (ms > maxt)
			maxt = ms;
		if (!id || (ms == p->t && json_object_get(p->seen, id)) ||
		    (p->o.since_id && ms == p->o.since_ms && strcmp(id, p->o.since_id) <= 0) ||
		    (o == OBJ_USER && skip_user(r))) {
			json_decref(env);
			continue;
		}
		json_array_append_new(envs, env);
	}
	if (next >= 0 && n) {
		/* This page's query: the same anchor and its rows again means
		 * the scan does not move on. */
		char q[64];
		snprintf(q, sizeof(q), "date_modified>=%lld", p->t);
		if ((rc = pager_guard_page(&p->guard, q, jx_str(json_array_get(recs, 0), "id"),
					   jx_str(json_array_get(recs, n - 1), "id"), n, err)) < 0) {
			json_decref(ans);
			json_decref(envs);
			return rc;
		}
	}
	if (next < 0 || !n) {
		p->done = 1;
	} else if (mint == maxt && maxt == p->t) {
		/* A whole page in the anchor's second: page on through it. */
		p->offset += (long)n;
		json_array_foreach(recs, i, r)
			if (jx_str(r, "id"))
				json_object_set_new(p->seen, jx_str(r, "id"), json_true());
	} else {
		/* Re-anchor on the last second seen; its rows come first next time,
		 * from offset 0, and those already read are dropped by id.  Not
		 * skipped by an offset: one of them edited before the next page
		 * leaves that second, and an offset of all of them would then
		 * pass over a row not read yet. */
		if (maxt != p->t)
			json_object_clear(p->seen);
		p->t = maxt;
		json_array_foreach(recs, i, r) {
			json_t *env = envelope(o, r, 0);
			if (ms_of(env) == maxt && jx_str(r, "id"))
				json_object_set_new(p->seen, jx_str(r, "id"), json_true());
			json_decref(env);
		}
		p->offset = 0;
	}
	if (!p->done) {
		char key[96];
		snprintf(key, sizeof(key), "date_modified>=%lld offset=%ld", p->t, p->offset);
		if ((rc = pager_guard_next(&p->guard, key, n, err)) < 0) {
			json_decref(ans);
			json_decref(envs);
			return rc;
		}
	}
	json_decref(ans);
	*page = envs;
	return 0;
}

/* Members of a Target List through its contacts link (§8). */
static int members_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	struct buf path = BUF_INIT;
	json_t *ans = NULL, *r, *envs;
	size_t i;
	int rc;

	if (p->offset == 0) {
		buf_adds(&path, "/ProspectLists/");
		id_path_add(&path, p->list);
		buf_adds(&path, "?fields=id,name");
		rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, &ans, err);
		buf_release(&path);
		json_decref(ans);
		ans = NULL;
		if (rc == CRM_ENOTFOUND)
			return err_set(err, CRM_EUSAGE, "no_such_list", "SugarCRM has no Target List %s", p->list);
		if (rc < 0)
			return rc;
	}
	buf_adds(&path, "/ProspectLists/");
	id_path_add(&path, p->list);
	buf_addf(&path, "/link/contacts?max_num=%d&offset=%ld&order_by=id%%3AASC&fields=", PAGE_MAX, p->offset);
	buf_add_urlenc(&path, c->fieldlist[OBJ_CONTACT]);
	rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, &ans, err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	json_t *recs = json_object_get(ans, "records");
	if (!json_is_array(recs)) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "SugarCRM's link answer has no records");
	}
	envs = json_array();
	json_array_foreach(recs, i, r)
		json_array_append_new(envs, envelope(OBJ_CONTACT, r, 1));
	long next = (long)json_integer_value(json_object_get(ans, "next_offset"));
	if (next <= p->offset || !json_is_integer(json_object_get(ans, "next_offset")))
		p->done = 1;
	else {
		p->offset = next;
		if ((rc = guard_page(&p->guard, "members", recs, next, err)) < 0) {
			json_decref(ans);
			json_decref(envs);
			return rc;
		}
	}
	json_decref(ans);
	*page = envs;
	return 0;
}

static int su_pull_next(struct pull *p, json_t **page, struct crm_err *err)
{
	*page = NULL;
	for (;;) {
		int rc;
		if (p->done)
			return 0;
		rc = p->list ? members_page(p, page, err) : scan_page(p, page, err);
		if (rc < 0)
			return rc;
		if (json_array_size(*page))
			return 0;
		json_decref(*page);
		*page = NULL;
	}
}

/* ---- reading in parallel (§16) ----
 *
 * Offsets are random-access, but a record edited between two pages moves
 * to the end of a date_modified order and shifts every offset after it:
 * striped offsets would skip a record.  So the rest of a scan splits into
 * disjoint id ranges (id >= "4" and id < "8": the order of ids is the
 * server's, whatever it is, so every id, GUID or not, is in exactly one
 * range), each the same re-anchoring scan as scan_page's with its range
 * as one more filter: an edit moves a record within its range, where the
 * scan meets it again later, as the scan alone would. */
static unsigned su_pull_parts(struct pull *p, unsigned want, int *striped)
{
	*striped = 0;
	/* A list's members page by offset through a link; offset and the
	 * anchor's rows out of step (never seen) would not split cleanly. */
	/* Nor in the middle of paging through one second by offset: a split
	 * waits for a page that ends past its anchor (parts start at offset
	 * 0 and drop the anchor's rows read, by id). */
	if (p->list || p->done || p->o.obj == OBJ_USER || p->offset)
		return 0;
	return want > 16 ? 16 : want;
}

static int su_pull_part(struct pull *p, unsigned i, unsigned n, struct pull **out, struct crm_err *err)
{
	static const char hex[] = "0123456789abcdef";
	struct pull *q = calloc(1, sizeof(*q));
	const char *id;
	json_t *v;

	(void)err;
	*q = *p;
	q->o.since_id = p->o.since_id ? strdup(p->o.since_id) : NULL;
	q->list = NULL;
	q->total = -1;
	pager_guard_init(&q->guard, "SugarCRM");
	if (i > 0)
		q->lo[0] = hex[i * 16 / n];
	if (i + 1 < n)
		q->hi[0] = hex[(i + 1) * 16 / n];
	/* The anchor's rows already read, those of this range: dropped when
	 * they come again (the part starts at offset 0, as scan_page does). */
	q->seen = json_object();
	json_object_foreach(p->seen, id, v) {
		if ((q->lo[0] && strcasecmp(id, q->lo) < 0) || (q->hi[0] && strcasecmp(id, q->hi) >= 0))
			continue;
		json_object_set(q->seen, id, v);
	}
	*out = q;
	return 0;
}

/* ---- reading and matching for push ---- */

/* Runs one filter over every page; calls `take` for each envelope. */
static int filter_all(struct conn *c, enum obj o, json_t *filter, void (*take)(void *, json_t *), void *ud,
		      struct crm_err *err)
{
	char path[96];
	long offset = 0;
	int rc = 0;
	struct pager_guard g;

	snprintf(path, sizeof(path), "/%s/filter", module(o));
	pager_guard_init(&g, "SugarCRM");
	for (;;) {
		json_t *ans = NULL, *r;
		size_t i;
		json_t *body = json_pack("{s:O,s:s,s:i,s:I,s:s}", "filter", filter, "fields", c->fieldlist[o],
					 "max_num", PAGE_MAX, "offset", (json_int_t)offset,
					 "order_by", "date_entered:ASC,id:ASC");
		rc = call(c, "POST", path, body, HTTP_IDEMPOTENT, &ans, err);
		json_decref(body);
		if (rc < 0)
			break;
		json_array_foreach(json_object_get(ans, "records"), i, r) {
			json_t *env = envelope(o, r, 0);
			take(ud, env);
			json_decref(env);
		}
		long next = (long)json_integer_value(json_object_get(ans, "next_offset"));
		if (next > offset)
			rc = guard_page(&g, "filter", json_object_get(ans, "records"), next, err);
		json_decref(ans);
		if (next <= offset || rc < 0)
			break;
		offset = next;
	}
	pager_guard_release(&g);
	return rc;
}

static void take_by_id(void *ud, json_t *env)
{
	if (jx_str(env, "id"))
		json_object_set((json_t *)ud, jx_str(env, "id"), env);
}

static int su_read(struct conn *c, enum obj o, const json_t *ids, json_t **out, struct crm_err *err)
{
	json_t *res = json_object();
	size_t n = json_array_size(ids);
	int rc;

	*out = NULL;
	if ((rc = load_meta(c, o, err)) < 0) {
		json_decref(res);
		return rc;
	}
	for (size_t off = 0; off < n && rc == 0; off += IN_MAX) {
		json_t *vals = json_array();
		for (size_t i = off; i < n && i < off + IN_MAX; i++)
			json_array_append(vals, json_array_get(ids, i));
		json_t *filter = json_pack("[{s:{s:o}}]", "id", "$in", vals);
		rc = filter_all(c, o, filter, take_by_id, res, err);
		json_decref(filter);
	}
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return 0;
}

struct find_ctx {
	json_t *res;
	json_t *want;       /* value -> true */
	const char *field;
	int email;
};

static void take_match(void *ud, json_t *env)
{
	struct find_ctx *fc = ud;
	json_t *f = json_object_get(env, "fields"), *e;
	size_t i;

	if (fc->email) {
		/* Any of its addresses (the filter matched one of them). */
		json_array_foreach(json_object_get(env, "emails"), i, e) {
			const char *a = jx_str(e, "email_address");
			char *low = a ? jx_lower_dup(a) : NULL;
			/* Every record that holds it: push never picks one. */
			if (low && json_object_get(fc->want, low))
				find_put(fc->res, low, env);
			free(low);
		}
		return;
	}
	char tmp[64];
	const char *v = jx_text(json_object_get(f, fc->field), tmp, sizeof(tmp));
	if (v && json_object_get(fc->want, v))
		find_put(fc->res, v, env);
}

static int su_find(struct conn *c, enum obj o, const char *field, const json_t *values,
		   json_t **out, struct crm_err *err)
{
	struct find_ctx fc;
	size_t n = json_array_size(values);
	int rc;

	*out = NULL;
	if ((rc = load_info(c, err)) < 0 || (rc = load_meta(c, o, err)) < 0)
		return rc;
	if (!strcmp(field, "sync_key") && !c->is_admin)
		return err_set(err, CRM_EAUTH, "admin_required",
			       "--match sync_key upserts through SugarCRM's Integrate API, which only admin users may call; log in as an admin or match on another field");
	memset(&fc, 0, sizeof(fc));
	fc.res = json_object();
	fc.want = json_object();
	fc.field = field;
	fc.email = !strcmp(field, "email1") || !strcmp(field, "email2");
	for (size_t off = 0; off < n && rc == 0; off += IN_MAX) {
		json_t *vals = json_array(), *filter;
		for (size_t i = off; i < n && i < off + IN_MAX; i++) {
			const char *s = json_string_value(json_array_get(values, i));
			if (!s)
				continue;
			json_array_append_new(vals, json_string(s));
			json_object_set_new(fc.want, s, json_true());
		}
		if (fc.email) {
			/* Which filter key reaches the addresses is unverified on 14.0
			 * (§6): the related field first, then `email`, remembered. */
			char key[48];
			pthread_mutex_lock(&c->mu);
			snprintf(key, sizeof(key), "%s", c->email_filter);
			pthread_mutex_unlock(&c->mu);
			filter = json_pack("[{s:{s:O}}]", key, "$in", vals);
			rc = filter_all(c, o, filter, take_match, &fc, err);
			json_decref(filter);
			if (rc == CRM_ERECORD && err->http_status == 422 && strcmp(key, "email")) {
				err_clear(err);
				pthread_mutex_lock(&c->mu);
				snprintf(c->email_filter, sizeof(c->email_filter), "email");
				pthread_mutex_unlock(&c->mu);
				filter = json_pack("[{s:{s:O}}]", "email", "$in", vals);
				rc = filter_all(c, o, filter, take_match, &fc, err);
				json_decref(filter);
			}
		} else if (field[0] == '@') {
			/* A derived field (the domain): its source, then compared here. */
			json_t *ors = json_array(), *v;
			size_t i;
			json_array_foreach(vals, i, v)
				json_array_append_new(ors, json_pack("{s:{s:O}}", "website", "$contains", v));
			filter = json_pack("[{s:o}]", "$or", ors);
			rc = filter_all(c, o, filter, take_match, &fc, err);
			json_decref(filter);
		} else {
			filter = json_pack("[{s:{s:O}}]", field, "$in", vals);
			rc = filter_all(c, o, filter, take_match, &fc, err);
			json_decref(filter);
		}
		json_decref(vals);
	}
	json_decref(fc.want);
	if (rc < 0) {
		json_decref(fc.res);
		return rc;
	}
	*out = fc.res;
	return 0;
}

/* ---- writes (§6): one /bulk call per group, sub-results by index ---- */

/* A fresh record id (§6: a client-supplied id is allowed).  It makes a
 * create idempotent: sent again after a lost answer, a create that did
 * happen is refused as "already exists" and read back, never doubled. */
static void new_guid(char out[40])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t k = getrandom(b + got, sizeof(b) - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static json_t *email_entry(const json_t *have, const char *addr, int primary)
{
	json_t *e = have ? json_deep_copy(have) : json_object();
	json_object_set_new(e, "email_address", json_string(addr));
	json_object_set_new(e, "primary_address", json_boolean(primary));
	json_object_del(e, "email_address_id");
	return e;
}

static const json_t *email_find(const json_t *list, const char *addr)
{
	json_t *e;
	size_t i;
	json_array_foreach(list, i, e) {
		const char *a = jx_str(e, "email_address");
		if (a && addr && !strcasecmp(a, addr))
			return e;
	}
	return NULL;
}

/* The `email` array to write: the slots email1/email2 over the current
 * set, keeping the addresses no slot names and their flags (opt_out). */
static json_t *merge_emails(const json_t *fields, const json_t *cur_env)
{
	const json_t *cur = json_object_get(cur_env, "emails");
	const json_t *cf = json_object_get(cur_env, "fields");
	const char *op = jx_str(cf, "email1"), *os = jx_str(cf, "email2");
	const char *np = json_object_get(fields, "email1") ? jx_str(fields, "email1") : op;
	const char *ns = json_object_get(fields, "email2") ? jx_str(fields, "email2") : os;
	json_t *out = json_array(), *e;
	size_t i;

	if (np && *np)
		json_array_append_new(out, email_entry(email_find(cur, np), np, 1));
	if (ns && *ns && (!np || strcasecmp(ns, np)))
		json_array_append_new(out, email_entry(email_find(cur, ns), ns, 0));
	json_array_foreach(cur, i, e) {
		const char *a = jx_str(e, "email_address");
		if (!a || !*a || (op && !strcasecmp(a, op)) || (os && !strcasecmp(a, os)) ||
		    email_find(out, a))
			continue;
		json_array_append_new(out, email_entry(e, a, 0));
	}
	return out;
}

/* The body of one record's write: pseudo-fields back to Sugar's own, null
 * as "" (Sugar's empty value, §2.1).  cur: the record as it is (updates of
 * emails or a deal's account), or NULL. */
static json_t *write_body(enum obj o, const json_t *fields, const json_t *cur, const char *id)
{
	json_t *b = json_object(), *v;
	const char *k;
	int emails = 0;

	if (id)
		json_object_set_new(b, "id", json_string(id));
	json_object_foreach((json_t *)fields, k, v) {
		if (!strcmp(k, "email1") || !strcmp(k, "email2")) {
			emails = 1;
			continue;
		}
		if (!strcmp(k, "@employees")) {
			char tmp[64];
			const char *s = jx_text(v, tmp, sizeof(tmp));
			if (s || !json_object_get(fields, "employees"))
				json_object_set_new(b, "employees", json_string(s ? s : ""));
			continue;
		}
		if (k[0] == '@')
			continue;
		if (o == OBJ_DEAL && !strcmp(k, "account_id")) {
			/* Through the accounts link (§6 "Links in the body"). */
			const char *nw = jx_str(fields, k);
			const char *old = cur ? jx_str(json_object_get(cur, "fields"), "account_id") : NULL;
			json_t *l = json_object();
			if (nw && *nw && (!old || strcmp(old, nw)))
				json_object_set_new(l, "add", json_pack("[s]", nw));
			if (old && *old && (!nw || strcmp(old, nw)))
				json_object_set_new(l, "delete", json_pack("[s]", old));
			if (json_object_size(l))
				json_object_set_new(b, "accounts", l);
			else
				json_decref(l);
			continue;
		}
		json_object_set_new(b, k, json_is_null(v) ? json_string("") : json_incref(v));
	}
	if (emails)
		json_object_set_new(b, "email", merge_emails(fields, cur));
	return b;
}

static void sub_error(const json_t *res, struct write_item *w)
{
	const json_t *ct = json_object_get(res, "contents");
	json_int_t st = json_integer_value(json_object_get(res, "status"));

	err_set(&w->err, CRM_ERECORD, "rejected", "SugarCRM refused the record (HTTP %lld)", (long long)st);
	w->err.http_status = (long)st;
	fill_error(ct, &w->err);
	const char *m = jx_str(ct, "error_message");
	/* "Invalid field value: <f> in module: <m>" names the field (§6). */
	if (m && !strncmp(m, "Invalid field value: ", 20))
		snprintf(w->err.field, sizeof(w->err.field), "%.*s", (int)strcspn(m + 20, " "), m + 20);
}

/* Sends requests (each {url, method, data}) in one /bulk call; *out is the
 * array of sub-results in request order. */
static int bulk(struct conn *c, json_t *reqs, json_t **out, struct crm_err *err)
{
	json_t *body = json_pack("{s:O}", "requests", reqs);
	int rc = call(c, "POST", "/bulk", body, HTTP_IDEMPOTENT, out, err);

	json_decref(body);
	if (rc == 0 && (!json_is_array(*out) || json_array_size(*out) != json_array_size(reqs))) {
		json_decref(*out);
		*out = NULL;
		return err_set(err, CRM_EUNAVAIL, "bad_response", "SugarCRM's bulk answer does not hold one result per request");
	}
	return rc;
}

static json_t *sub_request(struct conn *c, const char *method, const char *path, const json_t *data)
{
	struct buf url = BUF_INIT, d = BUF_INIT;
	json_t *r;

	buf_addf(&url, "%s%s", c->version, path);
	if (data)
		jx_dump(&d, data);
	/* `data` is a JSON string, not an object (§6). */
	r = json_pack("{s:s,s:s,s:s}", "url", url.buf, "method", method, "data", data ? d.buf : "");
	buf_release(&url);
	buf_release(&d);
	return r;
}

static int needs_current(enum obj o, const json_t *fields)
{
	return (o != OBJ_DEAL && (json_object_get(fields, "email1") || json_object_get(fields, "email2"))) ||
	       (o == OBJ_DEAL && json_object_get(fields, "account_id"));
}

static int su_write(struct conn *c, enum obj o, enum write_op op, struct write_item *items,
		    size_t n, struct crm_err *err)
{
	json_t *reqs = json_array(), *cur = NULL, *ans = NULL, *ids = json_array();
	size_t *at = calloc(n ? n : 1, sizeof(*at)), nreq = 0, i;
	char (*guid)[40] = calloc(n ? n : 1, sizeof(*guid));
	char path[256];
	int rc = 0;

	if ((rc = load_info(c, err)) < 0)
		goto done;
	/* Deletes and updates report a missing record as that line's failure;
	 * updates of emails or a deal's account need the current values. */
	for (i = 0; i < n; i++)
		if (op == WR_DELETE || (op == WR_UPDATE && needs_current(o, items[i].fields)))
			json_array_append_new(ids, json_string(items[i].remote_id));
	if (json_array_size(ids) && (rc = su_read(c, o, ids, &cur, err)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		struct write_item *w = &items[i];
		const json_t *have = w->remote_id ? json_object_get(cur, w->remote_id) : NULL;
		json_t *data, *rq;
		char *eid = NULL;
		at[i] = (size_t)-1;
		if (op == WR_DELETE || op == WR_UPDATE) {
			if (!w->remote_id || (op == WR_DELETE && !have) ||
			    (op == WR_UPDATE && needs_current(o, w->fields) && !have)) {
				err_set(&w->err, CRM_ERECORD, "not_found", "SugarCRM has no %s %s (or it is deleted)",
					obj_name(o), w->remote_id ? w->remote_id : "(no id)");
				w->err.http_status = 404;
				continue;
			}
			struct buf pb = BUF_INIT;
			buf_addf(&pb, "/%s/", module(o));
			id_path_add(&pb, w->remote_id);
			snprintf(path, sizeof(path), "%s", pb.buf);
			buf_release(&pb);
			if (op == WR_DELETE) {
				rq = sub_request(c, "DELETE", path, NULL);
			} else {
				data = write_body(o, w->fields, have, NULL);
				rq = sub_request(c, "PUT", path, data);
				json_decref(data);
			}
		} else {
			const char *key = jx_str(w->fields, "sync_key");
			if (op == WR_UPSERT && key && *key && c->is_admin) {
				/* Integrate API (§6): idempotent on the unique sync_key. */
				struct buf pb = BUF_INIT;
				buf_addf(&pb, "/%s/sync_key/", module(o));
				id_path_add(&pb, key);
				snprintf(path, sizeof(path), "%s", pb.buf);
				buf_release(&pb);
				data = write_body(o, w->fields, NULL, NULL);
				json_object_del(data, "sync_key");
				rq = sub_request(c, "PATCH", path, data);
				json_decref(data);
			} else {
				new_guid(guid[i]);
				eid = guid[i];
				snprintf(path, sizeof(path), "/%s", module(o));
				data = write_body(o, w->fields, NULL, eid);
				rq = sub_request(c, "POST", path, data);
				json_decref(data);
			}
		}
		at[i] = nreq++;
		json_array_append_new(reqs, rq);
	}
	/* One call for the group; if its answer is lost lib/http sends it again
	 * (every request in it is idempotent, see new_guid). */
	if (nreq && (rc = bulk(c, reqs, &ans, err)) < 0)
		goto done;
	{
		json_t *check = json_array();
		for (i = 0; i < n; i++) {
			struct write_item *w = &items[i];
			if (at[i] == (size_t)-1)
				continue;
			json_t *res = json_array_get(ans, at[i]);
			json_t *st = json_object_get(res, "status");
			long status = json_is_null(st) || !st ? 200 : (long)json_integer_value(st);
			const json_t *ct = json_object_get(res, "contents");
			if (status >= 200 && status < 300) {
				const char *id = jx_str(ct, "id");
				if (!id)
					id = jx_str(ct, "record");
				if (op == WR_DELETE || op == WR_UPDATE)
					id = w->remote_id;
				if (!id && guid[i][0])
					id = guid[i];
				item_set_id(w, id ? id : "");
				w->created = guid[i][0] ? 1 : status == 201;
				continue;
			}
			if (guid[i][0] && status == 422) {
				/* Maybe our own create of a first attempt: read it back. */
				json_array_append_new(check, json_string(guid[i]));
			}
			sub_error(res, w);
		}
		if (json_array_size(check)) {
			json_t *back = NULL;
			struct crm_err e2 = CRM_ERR_INIT;
			if (su_read(c, o, check, &back, &e2) == 0) {
				for (i = 0; i < n; i++) {
					if (guid[i][0] && items[i].err.status && json_object_get(back, guid[i])) {
						err_clear(&items[i].err);
						item_set_id(&items[i], guid[i]);
						items[i].created = 1;
					}
				}
			}
			json_decref(back);
		}
		json_decref(check);
	}
done:
	json_decref(reqs);
	json_decref(cur);
	json_decref(ans);
	json_decref(ids);
	free(at);
	free(guid);
	return rc;
}

/* ---- status (§9) ---- */

static int su_status(struct conn *c, json_t *out, struct crm_err *err)
{
	int rc;

	if ((rc = load_info(c, err)) < 0)
		return rc;
	json_object_set_new(out, "namespace", json_string(c->ns));
	/* §10: SugarCRM publishes no API rate limits and sends no headers. */
	json_object_set_new(out, "rate_limit", json_pack("{s:b,s:n}", "published", 0, "limit"));
	json_object_set_new(out, "server", json_string(c->version_s));
	json_object_set_new(out, "user_type", json_string(c->is_admin ? "admin" : "user"));
	json_object_set_new(out, "platform", json_string(c->platform));
	json_object_set_new(out, "revenue_line_items", json_boolean(c->rli));
	return 0;
}

/* ---- lists: Target Lists (§8) ---- */

static int su_lists(struct conn *c, json_t **out, struct crm_err *err)
{
	json_t *res = json_array();
	long offset = 0;
	int rc = 0;

	for (;;) {
		json_t *ans = NULL, *l;
		size_t i;
		json_t *body = json_pack("{s:[],s:i,s:I,s:s,s:s}", "filter", "max_num", PAGE_MAX, "offset",
					 (json_int_t)offset, "fields", "id,name,list_type,description",
					 "order_by", "date_entered:ASC,id:ASC");
		rc = call(c, "POST", "/ProspectLists/filter", body, HTTP_IDEMPOTENT, &ans, err);
		json_decref(body);
		if (rc < 0)
			break;
		json_array_foreach(json_object_get(ans, "records"), i, l) {
			struct buf path = BUF_INIT;
			json_t *cnt = NULL;
			const char *id = jx_str(l, "id");
			if (!id)
				continue;
			/* entry_count is non-db (§8): count the link. */
			buf_adds(&path, "/ProspectLists/");
			id_path_add(&path, id);
			buf_adds(&path, "/link/contacts/count");
			rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, &cnt, err);
			buf_release(&path);
			if (rc < 0)
				break;
			json_t *rc_v = json_object_get(cnt, "record_count");
			json_array_append_new(res, json_pack("{s:s,s:s,s:O?,s:o,s:b,s:{s:O?}}", "object", "list",
				"remote_id", id, "name", json_object_get(l, "name"),
				"size", json_is_integer(rc_v) ? json_integer(json_integer_value(rc_v)) : json_null(),
				"dynamic", 0, "remote_fields", "list_type", json_object_get(l, "list_type")));
			json_decref(cnt);
		}
		long next = (long)json_integer_value(json_object_get(ans, "next_offset"));
		json_decref(ans);
		if (rc < 0 || next <= offset)
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

static void take_id(void *ud, json_t *env)
{
	if (jx_str(env, "id"))
		json_object_set_new((json_t *)ud, jx_str(env, "id"), json_true());
}

/* Which of ids are members of the list now (the link, filtered by id). */
static int members_of(struct conn *c, const char *list, const json_t *ids, json_t *out, struct crm_err *err)
{
	struct buf path = BUF_INIT, f = BUF_INIT;
	json_t *filter = json_pack("[{s:{s:O}}]", "id", "$in", ids);
	long offset = 0;
	int rc = 0;

	jx_dump(&f, filter);
	json_decref(filter);
	for (;;) {
		json_t *ans = NULL, *r;
		size_t i;
		buf_reset(&path);
		buf_adds(&path, "/ProspectLists/");
		id_path_add(&path, list);
		buf_addf(&path, "/link/contacts/filter?fields=id&max_num=%d&offset=%ld&filter=", PAGE_MAX, offset);
		buf_add_urlenc(&path, f.buf);
		rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, &ans, err);
		if (rc < 0)
			break;
		json_array_foreach(json_object_get(ans, "records"), i, r)
			take_id(out, r);
		long next = (long)json_integer_value(json_object_get(ans, "next_offset"));
		json_decref(ans);
		if (next <= offset)
			break;
		offset = next;
	}
	buf_release(&path);
	buf_release(&f);
	return rc;
}

static int su_list_write(struct conn *c, const char *list, int add, struct write_item *items,
			 size_t n, struct crm_err *err)
{
	struct buf path = BUF_INIT;
	json_t *ids = json_array(), *exist = NULL, *member = json_object(), *ans = NULL, *todo = json_array();
	size_t i;
	int rc;

	if ((rc = load_meta(c, OBJ_CONTACT, err)) < 0)
		goto done;
	buf_adds(&path, "/ProspectLists/");
	id_path_add(&path, list);
	buf_adds(&path, "?fields=id");
	rc = call(c, "GET", path.buf, NULL, HTTP_IDEMPOTENT, &ans, err);
	json_decref(ans);
	ans = NULL;
	if (rc == CRM_ENOTFOUND) {
		rc = err_set(err, CRM_EUSAGE, "no_such_list", "SugarCRM has no Target List %s", list);
		goto done;
	}
	if (rc < 0)
		goto done;
	for (i = 0; i < n; i++)
		json_array_append_new(ids, json_string(items[i].remote_id));
	/* Add-many is not atomic and stops at a missing id (§8); removing a
	 * non-member and a missing contact give the same 404.  So: which
	 * contacts exist and which are members, first, for honest lines. */
	if ((rc = su_read(c, OBJ_CONTACT, ids, &exist, err)) < 0 ||
	    (rc = members_of(c, list, ids, member, err)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		struct write_item *w = &items[i];
		item_set_id(w, w->remote_id);
		if (!json_object_get(exist, w->remote_id)) {
			err_set(&w->err, CRM_ERECORD, "not_found", "SugarCRM has no contact %s (or it is deleted)",
				w->remote_id);
			w->err.http_status = 404;
		} else if (add && !json_object_get(member, w->remote_id)) {
			json_array_append_new(todo, json_string(w->remote_id));
			json_object_set_new(member, w->remote_id, json_true()); /* a repeat line: unchanged */
			w->created = 1; /* changed */
		} else if (!add && json_object_get(member, w->remote_id)) {
			json_object_del(member, w->remote_id);
			w->created = 1;
		}
	}
	buf_reset(&path);
	buf_adds(&path, "/ProspectLists/");
	id_path_add(&path, list);
	if (add && json_array_size(todo)) {
		json_t *body = json_pack("{s:s,s:O,s:b}", "link_name", "contacts", "ids", todo, "avoid_response", 1);
		struct crm_err e2 = CRM_ERR_INIT;
		buf_adds(&path, "/link");
		rc = call(c, "POST", path.buf, body, HTTP_IDEMPOTENT, &ans, &e2);
		json_decref(body);
		json_decref(ans);
		ans = NULL;
		if (rc == CRM_ENOTFOUND || rc == CRM_ERECORD) {
			/* One went missing meanwhile: the others one by one, each line its truth. */
			rc = 0;
			for (i = 0; i < n; i++) {
				struct write_item *w = &items[i];
				struct buf one = BUF_INIT;
				if (!w->created || w->err.status)
					continue;
				buf_adds(&one, "/ProspectLists/");
				id_path_add(&one, list);
				buf_adds(&one, "/link/contacts/");
				id_path_add(&one, w->remote_id);
				int r1 = call(c, "POST", one.buf, NULL, HTTP_IDEMPOTENT, &ans, &w->err);
				json_decref(ans);
				ans = NULL;
				buf_release(&one);
				if (r1 < 0) {
					w->created = 0;
					if (r1 != CRM_ERECORD && r1 != CRM_ENOTFOUND) {
						rc = r1;
						*err = w->err;
						break;
					}
					w->err.status = CRM_ERECORD;
				}
			}
		} else if (rc < 0) {
			*err = e2;
		}
	} else if (!add) {
		/* Remove one by one (§8 has no remove-many). */
		for (i = 0; i < n && rc == 0; i++) {
			struct write_item *w = &items[i];
			struct buf one = BUF_INIT;
			if (!w->created || w->err.status)
				continue;
			buf_adds(&one, "/ProspectLists/");
			id_path_add(&one, list);
			buf_adds(&one, "/link/contacts/");
			id_path_add(&one, w->remote_id);
			struct crm_err e2 = CRM_ERR_INIT;
			int r1 = call(c, "DELETE", one.buf, NULL, HTTP_IDEMPOTENT, &ans, &e2);
			json_decref(ans);
			ans = NULL;
			buf_release(&one);
			if (r1 == CRM_ENOTFOUND) {
				w->created = 0; /* gone meanwhile: not a member any more */
			} else if (r1 == CRM_ERECORD) {
				w->created = 0;
				w->err = e2;
			} else if (r1 < 0) {
				rc = r1;
				*err = e2;
			}
		}
	}
done:
	buf_release(&path);
	json_decref(ids);
	json_decref(exist);
	json_decref(member);
	json_decref(todo);
	return rc;
}

static const char *const su_env[] = {
	"SUGARCRM_URL", "SUGARCRM_USERNAME", "SUGARCRM_PASSWORD", "SUGARCRM_PLATFORM", "SUGARCRM_ACCESS_TOKEN",
	"SUGARCRM_REFRESH_TOKEN", NULL
};

/* The readers for the fuzz targets (provider.h: read_error, read_record). */
static json_t *read_record(enum obj o, json_t *raw)
{
	return envelope(o, raw, 1);
}

const struct provider provider_sugarcrm = {
	.name = "sugarcrm",
	.read_error = fill_error, .read_record = read_record,
	.listed = 5,
	.env_vars = su_env,
	/* A SQL database, no search index to lag (§4); the second precision of
	 * date_modified and clock skew between web nodes are what this covers. */
	.lookback_s = 5,
	.batch_max = BULK_MAX,
	.concurrency = 2, /* §10: no published limit; 1-4 requests per token */
	.obj = { [OBJ_ACCOUNT] = &o_account, [OBJ_CONTACT] = &o_contact, [OBJ_USER] = &o_user,
		 [OBJ_LEAD] = &o_lead, [OBJ_DEAL] = &o_deal },
	.deleted_note = "SugarCRM soft-deletes (deleted=1) and keeps the rows until the \"Prune Database\" "
			"scheduler job removes them (inactive by default); pruned rows and link-only changes are not reported",
	.has_lists = 1,
	/* Ids: GUIDs, or ids given on create (Sugar's admin user is "1"). */
	.id_syntax = ID_GUIDISH,
	.list_id_syntax = ID_GUIDISH,
	.open = su_open,
	.close = su_close,
	.namespace = su_namespace,
	.status = su_status,
	.fields = su_fields,
	.where_can = su_where_can,
	.where_max = 20,
	.pull_open = su_pull_open,
	.pull_next = su_pull_next,
	.pull_parts = su_pull_parts,
	.pull_part = su_pull_part,
	.pull_total = su_pull_total,
	.pull_close = su_pull_close,
	.pull_fixup = su_fixup,
	.find = su_find,
	.read = su_read,
	.write = su_write,
	.lists = su_lists,
	.list_write = su_list_write,
};
