/* Copper: Developer API v1 (companies, people, leads, opportunities, users,
 * custom field definitions, tags).  Wire facts: ../shared/api/copper.md
 * (section numbers below refer to it).
 *
 * Copper lists only through POST /<entity>/search answering bare arrays,
 * deletes hard, refuses unknown body keys and allows 180 calls a minute.
 * Arrays (emails, phone_numbers, websites) and the address object are
 * flattened into slot fields ("emails.primary", "address.city") so lib/map's
 * flat tables apply; the writer folds them back.  Custom fields travel as
 * custom_<definition id>; `fields` lists each also under its name, so --map
 * can use either. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "buf.h"
#include "http.h"
#include "jx.h"
#include "config.h"
#include "provider.h"
#include "timeutil.h"
#include "pager.h"
#include "banned.h"

#define CU_BASE "https://api.copper.com/developer_api/v1"
#define B_MAIN 0
#define B_BULK 1
#define PAGE_MAX 200          /* §3: page_size <= 200 */
#define BULK_MAX 10           /* §6: bulk endpoints take at most 10 records */
#define SEARCH_WALL 100000    /* §3: only the first 100,000 matches are reachable */
#define WRITE_MAX 200         /* records per write() call: one lookup search, then bulk calls of 10 */

/* ---- the tables: unified <-> Copper fields (§2.2) ---- */

/* first_name / last_name are `name` split at the first space (see
 * split_name); the writer joins them back into `name`, so they compare
 * as the name they join into (MF_NAMEPART). */
static const struct map_entry person_map[] = {
	{ "first_name", "first_name", MK_STR, NULL, NULL, MF_NAMEPART },
	{ "last_name", "last_name", MK_STR, NULL, NULL, MF_NAMEPART },
	{ "title", "title", MK_STR, NULL, NULL, 0 },
	{ "email_addresses", "emails.primary", MK_EMAIL, NULL, NULL, MF_PRIMARY },
	{ "email_addresses", "emails.work", MK_EMAIL, "WORK", NULL, 0 },
	{ "email_addresses", "emails.personal", MK_EMAIL, "PERSONAL", NULL, 0 },
	{ "email_addresses", "emails.other", MK_EMAIL, "OTHER", NULL, 0 },
	{ "phone_numbers", "phone_numbers.work", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "phone_numbers.mobile", MK_PHONE, "MOBILE", NULL, 0 },
	{ "phone_numbers", "phone_numbers.home", MK_PHONE, "HOME", NULL, 0 },
	{ "phone_numbers", "phone_numbers.other", MK_PHONE, "OTHER", NULL, 0 },
	{ "addresses", "address.street", MK_ADDR, NULL, "street_1", 0 },
	{ "addresses", "address.city", MK_ADDR, NULL, "city", 0 },
	{ "addresses", "address.state", MK_ADDR, NULL, "state", 0 },
	{ "addresses", "address.postal_code", MK_ADDR, NULL, "postal_code", 0 },
	{ "addresses", "address.country", MK_ADDR, NULL, "country", 0 },
	{ "account", "company_id", MK_REL, NULL, NULL, 0 },
	{ "owner", "assignee_id", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "date_last_contacted", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* Companies have no standard industry and no employee count (§2.2, §15):
 * "industry" is the account's custom field whose Field Key
 * (canonical_name) is "industry", a Dropdown of option ids, when it has
 * one (see def_key); the employee count is null, or a custom field through
 * --map.  The domain is email_domain. */
static const struct map_entry company_map[] = {
	{ "name", "name", MK_STR, NULL, NULL, 0 },
	{ "industry", "industry", MK_STR, NULL, NULL, MF_OPTION },
	{ "description", "details", MK_STR, NULL, NULL, 0 },
	{ "website", "websites.primary", MK_STR, NULL, NULL, 0 },
	{ "domain", "email_domain", MK_STR, NULL, NULL, 0 },
	{ "phone_numbers", "phone_numbers.work", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "phone_numbers.mobile", MK_PHONE, "MOBILE", NULL, 0 },
	{ "phone_numbers", "phone_numbers.home", MK_PHONE, "HOME", NULL, 0 },
	{ "phone_numbers", "phone_numbers.other", MK_PHONE, "OTHER", NULL, 0 },
	{ "addresses", "address.street", MK_ADDR, NULL, "street_1", 0 },
	{ "addresses", "address.city", MK_ADDR, NULL, "city", 0 },
	{ "addresses", "address.state", MK_ADDR, NULL, "state", 0 },
	{ "addresses", "address.postal_code", MK_ADDR, NULL, "postal_code", 0 },
	{ "addresses", "address.country", MK_ADDR, NULL, "country", 0 },
	{ "owner", "assignee_id", MK_REL, NULL, NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* The stage and the pipeline are ids of GET /pipelines (§15), options
 * that lib/options turns into names and back.  Won and lost are not facts
 * of a stage but the deal's own status field (§15: "A stage has no
 * won/lost flag"), so "@status" is Copper's status folded to OPEN/WON/LOST
 * (Abandoned -> LOST) and not an option: the original stays in
 * remote_fields.status, so a pulled Abandoned deal pushed back stays
 * Abandoned, and a status alone sets the status, never the stage.  The
 * probability is the deal's own win_probability, a percentage that may
 * differ from its stage's default (§15), so stages give lib/options no
 * probability to put in its place.  No per-record currency (§2.3). */
static const struct map_entry deal_map[] = {
	{ "name", "name", MK_STR, NULL, NULL, 0 },
	{ "description", "details", MK_STR, NULL, NULL, 0 },
	{ "amount", "monetary_value", MK_NUM, NULL, NULL, 0 },
	{ "stage", "pipeline_stage_id", MK_STR, NULL, NULL, MF_STAGE },
	{ "pipeline", "pipeline_id", MK_STR, NULL, NULL, MF_PIPELINE },
	{ "status", "@status", MK_STR, NULL, NULL, 0 },
	{ "probability", "win_probability", MK_NUM, NULL, NULL, 0 },
	{ "close_date", "close_date", MK_DATE, NULL, NULL, 0 },
	{ "account", "company_id", MK_REL, NULL, NULL, 0 },
	{ "owner", "assignee_id", MK_REL, NULL, NULL, 0 },
	{ "last_activity_at", "date_last_contacted", MK_TIME, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* A lead holds one email object (§2.1).  Its status and source are ids
 * (status_id of GET /lead_statuses, customer_source_id of GET
 * /customer_sources; §15: write status as status_id), options that
 * lib/options turns into names and back. */
static const struct map_entry lead_map[] = {
	{ "first_name", "first_name", MK_STR, NULL, NULL, MF_NAMEPART },
	{ "last_name", "last_name", MK_STR, NULL, NULL, MF_NAMEPART },
	{ "title", "title", MK_STR, NULL, NULL, 0 },
	{ "company", "company_name", MK_STR, NULL, NULL, 0 },
	{ "email_addresses", "email.email", MK_EMAIL, NULL, NULL, MF_PRIMARY },
	{ "phone_numbers", "phone_numbers.work", MK_PHONE, "WORK", NULL, 0 },
	{ "phone_numbers", "phone_numbers.mobile", MK_PHONE, "MOBILE", NULL, 0 },
	{ "phone_numbers", "phone_numbers.home", MK_PHONE, "HOME", NULL, 0 },
	{ "phone_numbers", "phone_numbers.other", MK_PHONE, "OTHER", NULL, 0 },
	{ "addresses", "address.street", MK_ADDR, NULL, "street_1", 0 },
	{ "addresses", "address.city", MK_ADDR, NULL, "city", 0 },
	{ "addresses", "address.state", MK_ADDR, NULL, "state", 0 },
	{ "addresses", "address.postal_code", MK_ADDR, NULL, "postal_code", 0 },
	{ "addresses", "address.country", MK_ADDR, NULL, "country", 0 },
	{ "status", "status_id", MK_STR, NULL, NULL, MF_OPTION },
	{ "source", "customer_source_id", MK_STR, NULL, NULL, MF_OPTION },
	{ "owner", "assignee_id", MK_REL, NULL, NULL, 0 },
	{ "converted_at", "converted_at", MK_TIME, NULL, NULL, MF_RO },
	{ "converted_contact", "converted_contact_id", MK_REL, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* Users (§2.5): id, name, email, groups; no active flag, so "@is_active"
 * is true for every user Copper lists (copper.md's assumption). */
static const struct map_entry user_map[] = {
	{ "name", "name", MK_STR, NULL, NULL, MF_RO },
	{ "email", "email", MK_STR, NULL, NULL, MF_RO },
	{ "is_active", "@is_active", MK_BOOL, NULL, NULL, MF_RO },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

/* Deletes are hard (§5): nothing for pull --deleted to see, so no OC_DELETED. */
/* Required on create (§6): a name; a lead's the writer joins from first
 * and last name, else takes the email. */
static const struct prov_required named_required[] = { { "name", "name", NULL }, { NULL, NULL, NULL } };
static const struct prov_required lead_required[] = {
	{ "first_name|last_name|email.email", "last_name", NULL }, { NULL, NULL, NULL }
};
static const struct prov_object o_account = { "companies", OC_PULL | OC_PUSH | OC_DELETE, company_map, "domain", .match_fallback = "name",
					       .required = named_required };
static const struct prov_object o_contact = { "people", OC_PULL | OC_PUSH | OC_DELETE, person_map, "email" };
static const struct prov_object o_user = { "users", OC_PULL, user_map, "email" };
/* No OC_UPSERT: PUT /leads/upsert (§6) would update one of several leads
 * sharing an email; push looks up first (ambiguous_match), then creates
 * through it (idempotent: sent again safely after a lost answer). */
static const struct prov_object o_lead = { "leads", OC_PULL | OC_PUSH | OC_DELETE, lead_map, "email", .required = lead_required };
static const struct prov_object o_deal = { "opportunities", OC_PULL | OC_PUSH | OC_DELETE, deal_map, NULL, .required = named_required };

static const struct map_entry *table(enum obj o)
{
	switch (o) {
	case OBJ_ACCOUNT: return company_map;
	case OBJ_CONTACT: return person_map;
	case OBJ_LEAD: return lead_map;
	case OBJ_DEAL: return deal_map;
	default: return user_map;
	}
}

static const char *entity(enum obj o)
{
	switch (o) {
	case OBJ_ACCOUNT: return "companies";
	case OBJ_CONTACT: return "people";
	case OBJ_LEAD: return "leads";
	case OBJ_DEAL: return "opportunities";
	default: return "users";
	}
}

/* "/people/<id>": the id one percent-encoded segment, whatever it holds. */
static const char *record_path(struct buf *b, enum obj o, const char *id)
{
	buf_addf(b, "/%s/", entity(o));
	id_path_add(b, id);
	return b->buf;
}

/* The singular Copper uses in custom_field_definitions.available_on (§7). */
static const char *singular(enum obj o)
{
	switch (o) {
	case OBJ_ACCOUNT: return "company";
	case OBJ_CONTACT: return "person";
	case OBJ_LEAD: return "lead";
	case OBJ_DEAL: return "opportunity";
	default: return "user";
	}
}

/* ---- standard fields (§7: no describe endpoint; hard-coded from §2.2) ---- */

#define FR 1u  /* required on create */
#define FO 2u  /* read-only */

struct std_field {
	const char *name, *label, *type;
	unsigned flags;
};

static const struct std_field person_std[] = {
	{ "name", "Full name (first and last name joined)", "string", FR | FO },
	{ "first_name", "First name (name up to the first space)", "string", 0 },
	{ "last_name", "Last name (name after the first space)", "string", 0 },
	{ "prefix", "Prefix (Copper's parse of name)", "string", FO },
	{ "middle_name", "Middle name (Copper's parse of name)", "string", FO },
	{ "suffix", "Suffix (Copper's parse of name)", "string", FO },
	{ "title", "Title", "string", 0 },
	{ "details", "Details", "text", 0 },
	{ "emails.primary", "Email (the first)", "email", 0 },
	{ "emails.work", "Email (work)", "email", 0 },
	{ "emails.personal", "Email (personal)", "email", 0 },
	{ "emails.other", "Email (other)", "email", 0 },
	{ "phone_numbers.work", "Phone (work)", "phone", 0 },
	{ "phone_numbers.mobile", "Phone (mobile)", "phone", 0 },
	{ "phone_numbers.home", "Phone (home)", "phone", 0 },
	{ "phone_numbers.other", "Phone (other)", "phone", 0 },
	{ "address.street", "Address: street", "string", 0 },
	{ "address.city", "Address: city", "string", 0 },
	{ "address.state", "Address: state", "string", 0 },
	{ "address.postal_code", "Address: postal code", "string", 0 },
	{ "address.country", "Address: country", "string", 0 },
	{ "company_id", "Company", "company", 0 },
	{ "company_name", "Company name", "string", FO },
	{ "assignee_id", "Owner", "user", 0 },
	{ "contact_type_id", "Contact type", "contact_type", 0 },
	{ "socials", "Social profiles", "array", 0 },
	{ "websites", "Websites", "array", 0 },
	{ "tags", "Tags", "array", 0 },
	{ "date_last_contacted", "Last contacted", "timestamp", FO },
	{ "interaction_count", "Interactions", "integer", FO },
	{ "leads_converted_from", "Converted from leads", "array", FO },
	{ "date_lead_created", "Lead created", "timestamp", FO },
	{ NULL, NULL, NULL, 0 }
};

static const struct std_field company_std[] = {
	{ "name", "Name", "string", FR },
	{ "details", "Details", "text", 0 },
	{ "email_domain", "Email domain", "string", 0 },
	{ "websites.primary", "Website (the first)", "url", 0 },
	{ "phone_numbers.work", "Phone (work)", "phone", 0 },
	{ "phone_numbers.mobile", "Phone (mobile)", "phone", 0 },
	{ "phone_numbers.home", "Phone (home)", "phone", 0 },
	{ "phone_numbers.other", "Phone (other)", "phone", 0 },
	{ "address.street", "Address: street", "string", 0 },
	{ "address.city", "Address: city", "string", 0 },
	{ "address.state", "Address: state", "string", 0 },
	{ "address.postal_code", "Address: postal code", "string", 0 },
	{ "address.country", "Address: country", "string", 0 },
	{ "assignee_id", "Owner", "user", 0 },
	{ "contact_type_id", "Contact type", "contact_type", 0 },
	{ "primary_contact_id", "Primary contact", "person", 0 },
	{ "socials", "Social profiles", "array", 0 },
	{ "tags", "Tags", "array", 0 },
	{ "interaction_count", "Interactions", "integer", FO },
	{ "date_last_contacted", "Last contacted", "timestamp", FO },
	{ NULL, NULL, NULL, 0 }
};

static const struct std_field lead_std[] = {
	{ "name", "Full name (first and last name joined)", "string", FR | FO },
	{ "first_name", "First name (name up to the first space)", "string", 0 },
	{ "last_name", "Last name (name after the first space)", "string", 0 },
	{ "prefix", "Prefix (Copper's parse of name)", "string", FO },
	{ "middle_name", "Middle name (Copper's parse of name)", "string", FO },
	{ "suffix", "Suffix (Copper's parse of name)", "string", FO },
	{ "title", "Title", "string", 0 },
	{ "company_name", "Company name", "string", 0 },
	{ "email.email", "Email", "email", 0 },
	{ "email.category", "Email category (work, personal, other)", "string", 0 },
	{ "phone_numbers.work", "Phone (work)", "phone", 0 },
	{ "phone_numbers.mobile", "Phone (mobile)", "phone", 0 },
	{ "phone_numbers.home", "Phone (home)", "phone", 0 },
	{ "phone_numbers.other", "Phone (other)", "phone", 0 },
	{ "address.street", "Address: street", "string", 0 },
	{ "address.city", "Address: city", "string", 0 },
	{ "address.state", "Address: state", "string", 0 },
	{ "address.postal_code", "Address: postal code", "string", 0 },
	{ "address.country", "Address: country", "string", 0 },
	{ "status", "Status name (set through status_id)", "string", FO },
	{ "status_id", "Status", "lead_status", 0 },
	{ "customer_source_id", "Customer source", "customer_source", 0 },
	{ "assignee_id", "Owner", "user", 0 },
	{ "details", "Details", "text", 0 },
	{ "monetary_value", "Value", "number", 0 },
	{ "monetary_unit", "Value currency", "string", 0 },
	{ "socials", "Social profiles", "array", 0 },
	{ "websites", "Websites", "array", 0 },
	{ "tags", "Tags", "array", 0 },
	{ "converted_at", "Converted at", "timestamp", FO },
	{ "converted_contact_id", "Converted to person", "person", FO },
	{ "converted_opportunity_id", "Converted to opportunity", "opportunity", FO },
	{ "converted_unit", "Converted value currency", "string", FO },
	{ "converted_value", "Converted value", "number", FO },
	{ "interaction_count", "Interactions", "integer", FO },
	{ "date_last_contacted", "Last contacted", "timestamp", FO },
	{ NULL, NULL, NULL, 0 }
};

static const struct std_field opp_std[] = {
	{ "name", "Name", "string", FR },
	{ "details", "Details", "text", 0 },
	{ "monetary_value", "Value (major units)", "number", 0 },
	{ "pipeline_id", "Pipeline", "pipeline", 0 },
	{ "pipeline_stage_id", "Pipeline stage", "pipeline_stage", 0 },
	{ "@status", "Status as OPEN, WON or LOST (Abandoned is LOST)", "string", 0 },
	{ "status", "Status (Open, Won, Lost, Abandoned)", "enumeration", 0 },
	{ "win_probability", "Win probability (0-100)", "integer", 0 },
	{ "close_date", "Close date", "date", 0 },
	{ "company_id", "Company", "company", 0 },
	{ "company_name", "Company name", "string", FO },
	{ "primary_contact_id", "Primary contact", "person", 0 },
	{ "assignee_id", "Owner", "user", 0 },
	{ "customer_source_id", "Customer source", "customer_source", 0 },
	{ "loss_reason_id", "Loss reason", "loss_reason", 0 },
	{ "priority", "Priority (None, Low, Medium, High)", "enumeration", 0 },
	{ "tags", "Tags", "array", 0 },
	{ "date_last_contacted", "Last contacted", "timestamp", FO },
	{ "interaction_count", "Interactions", "integer", FO },
	{ "leads_converted_from", "Converted from leads", "array", FO },
	{ "date_lead_created", "Lead created", "timestamp", FO },
	{ "pipeline_is_revenue", "Revenue pipeline", "boolean", FO },
	{ "monetary_unit", "Value currency", "string", FO },
	{ NULL, NULL, NULL, 0 }
};

static const struct std_field user_std[] = {
	{ "id", "ID", "integer", FO },
	{ "name", "Name", "string", FO },
	{ "email", "Email", "email", FO },
	{ "groups", "Groups", "array", FO },
	{ "@is_active", "Active (Copper lists active users only)", "boolean", FO },
	{ NULL, NULL, NULL, 0 }
};

static const struct std_field *std_fields(enum obj o)
{
	switch (o) {
	case OBJ_ACCOUNT: return company_std;
	case OBJ_CONTACT: return person_std;
	case OBJ_LEAD: return lead_std;
	case OBJ_DEAL: return opp_std;
	default: return user_std;
	}
}

static const struct std_field *std_find(enum obj o, const char *name)
{
	for (const struct std_field *f = std_fields(o); f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

/* ---- connection ---- */

struct conn {
	struct http *http;
	char *base;
	char *key, *email;
	pthread_mutex_t mu;         /* guards the lazy caches below */
	char account[32];
	json_t *defs;               /* custom_field_definitions (§7) */
	json_t *sources;            /* customer_sources */
	json_t *statuses;           /* lead_statuses */
	json_t *pipelines;          /* pipelines, each with its stages */
};

/* §1: four headers on every call.  The fourth, Content-Type, lib/http sets
 * for every request with a body; call() gives GET and DELETE an empty one. */
static int cu_auth(void *ctx, struct curl_slist **h, struct crm_err *err)
{
	struct conn *c = ctx;
	struct buf b = BUF_INIT;

	(void)err;
	buf_addf(&b, "X-PW-AccessToken: %s", c->key);
	*h = curl_slist_append(*h, b.buf);
	memset(b.buf, 0, b.len);
	buf_reset(&b);
	*h = curl_slist_append(*h, "X-PW-Application: developer_api");
	buf_addf(&b, "X-PW-UserEmail: %s", c->email);
	*h = curl_slist_append(*h, b.buf);
	buf_release(&b);
	return 0;
}

static json_t *parse_body(const struct http_resp *r)
{
	char why[160];
	return r->body.len ? jx_parse(r->body.buf, r->body.len, 0, why, sizeof(why)) : NULL;
}

/* §11: {"success":false,"status":N,"message":"..."} or {"error":"..."}.
 * A 422's message is "Invalid input: Validation errors: <Field>: <reason>",
 * one per line: the first field names err->field. */
static void fill_error(const json_t *body, struct crm_err *e)
{
	const char *msg = jx_str(body, "message");
	struct buf b = BUF_INIT;

	if (!msg)
		msg = jx_str(body, "error");
	if (!msg)
		return;
	for (const char *p = msg; *p; p++)
		buf_addc(&b, *p == '\n' ? ';' : *p);
	snprintf(e->message, sizeof(e->message), "Copper: %s", b.buf);
	const char *v = strstr(msg, "Validation errors: ");
	if (v) {
		v += strlen("Validation errors: ");
		size_t n = strcspn(v, ":\n");
		if (v[n] == ':' && n < sizeof(e->field)) {
			for (size_t i = 0; i < n; i++)
				e->field[i] = v[i] == ' ' ? '_' : (v[i] >= 'A' && v[i] <= 'Z') ? (char)(v[i] - 'A' + 'a') : v[i];
			e->field[n] = '\0';
		}
		snprintf(e->code, sizeof(e->code), "invalid_input");
	}
	if (strstr(msg, "Unrecognized attributes"))
		snprintf(e->code, sizeof(e->code), "unrecognized_attributes");
	buf_release(&b);
}

static void cu_classify(void *ctx, const struct http_req *req, const struct http_resp *resp,
			struct http_verdict *v, struct crm_err *err)
{
	struct conn *c = ctx;
	json_t *body;

	if (resp->status < 400 || resp->status >= 500)
		return;
	body = parse_body(resp);
	switch (resp->status) {
	case 401:
		/* §1: API keys do not expire and there is no refresh: a 401 is final. */
		v->action = HA_FAIL;
		err_set(err, CRM_EAUTH, "unauthorized",
			"Copper refused the API key (HTTP 401); check COPPER_API_KEY and COPPER_USER_EMAIL "
			"(the email of the user who owns the key)");
		break;
	case 403:
		v->action = HA_FAIL;
		err_set(err, CRM_EAUTH, "forbidden", "Copper refused access (HTTP 403%s%s)",
			jx_str(body, "message") ? ": " : "", jx_str(body, "message") ? jx_str(body, "message") : "");
		break;
	case 429:
		/* §10: no Retry-After documented; honour one if sent, else back off.
		 * The pause holds the whole run (a rolling minute is shared). */
		v->action = HA_RETRY;
		v->rate_limited = 1;
		v->wait_ms = resp->retry_after_ms > 0 ? resp->retry_after_ms : 0;
		err_set(err, CRM_ETEMP, "rate_limited",
			"Copper kept answering 429 (180 calls a minute, 3 a second on bulk endpoints)");
		break;
	case 404:
		v->action = HA_FAIL;
		err_set(err, CRM_ENOTFOUND, "not_found", "Copper has no such resource (%.*s)",
			(int)strcspn(req->url + strlen(c->base), "?"), req->url + strlen(c->base));
		break;
	default:
		/* 400, 422: the request was read and refused; never retried (§11). */
		v->action = HA_FAIL;
		err_set(err, CRM_ERECORD, "http_error", "Copper answered HTTP %ld", resp->status);
		fill_error(body, err);
	}
	json_decref(body);
}

/* One call: method, path (appended to base), optional JSON body.
 * *out: the parsed answer (new); *total: the X-PW-TOTAL header (§3), or -1. */
static int call_total(struct conn *c, const char *method, const char *path, const json_t *body,
		      unsigned flags, json_t **out, long long *total, struct crm_err *err)
{
	struct buf url = BUF_INIT, b = BUF_INIT;
	struct http_resp r;
	struct http_req q = { method, NULL, "", 0, NULL, strstr(path, "/bulk_") ? B_BULK : B_MAIN, flags };
	int rc;

	if (out)
		*out = NULL;
	buf_addf(&url, "%s%s", c->base, path);
	q.url = url.buf;
	if (body) {
		jx_dump(&b, body);
		q.body = b.buf;
		q.body_len = b.len;
	}
	http_resp_init(&r);
	rc = http_do(c->http, &q, &r, err);
	if (total) {
		char tb[32];
		*total = rc == 0 && http_resp_header(&r, "X-PW-TOTAL", tb, sizeof(tb)) ? strtoll(tb, NULL, 10) : -1;
	}
	if (rc == 0 && out) {
		char why[160];
		*out = jx_parse(r.body.buf, r.body.len, 0, why, sizeof(why));
		if (!*out) {
			err->http_status = r.status;
			rc = err_set(err, CRM_EUNAVAIL, "bad_response",
				     "Copper answered %s %s with HTTP %ld but the body is not JSON (%.80s)",
				     method, path, r.status, why);
		}
	}
	http_resp_release(&r);
	buf_release(&url);
	buf_release(&b);
	return rc;
}

static int call(struct conn *c, const char *method, const char *path, const json_t *body,
		unsigned flags, json_t **out, struct crm_err *err)
{
	return call_total(c, method, path, body, flags, out, NULL, err);
}

static int cu_open(struct conn **out, const struct session *s, struct crm_err *err)
{
	struct conn *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	c->http = s->http;
	c->base = strdup(s->base_url ? s->base_url : CU_BASE);
	http_trim_slashes(c->base);
	if ((rc = config_credential(s->cfg, s->profile, "COPPER_API_KEY", "api_key", 1, &c->key, err)) < 0 ||
	    (rc = config_credential(s->cfg, s->profile, "COPPER_USER_EMAIL", "user_email", 0, &c->email, err)) < 0)
		goto fail;
	if (!c->key || !*c->key || !c->email || !*c->email) {
		rc = err_set(err, CRM_ECONFIG, "no_credentials",
			     "no Copper credentials: set COPPER_API_KEY and COPPER_USER_EMAIL (the email of the user "
			     "who owns the key; Copper acts as that user)");
		goto fail;
	}
	if ((rc = http_check_secure(c->base, "Copper", err)) < 0)
		goto fail;
	pthread_mutex_init(&c->mu, NULL);
	{
		struct http_hooks hk = { c, cu_auth, NULL, cu_classify, NULL };
		http_set_hooks(c->http, &hk);
	}
	/* §10: 180 calls a rolling minute, and 3 a second on bulk endpoints,
	 * at the documented figures (lib/http keeps its own margin).  A request
	 * names one bucket, so bulk calls do not count toward the minute: a
	 * push is bulk calls plus one lookup per 200 records, which stays
	 * under 180 a minute; other writes are per record on the main bucket. */
	http_bucket(c->http, B_MAIN, 180, 60000);
	http_bucket(c->http, B_BULK, 3, 1000);
	*out = c;
	return 0;
fail:
	config_secret_free(c->key);
	free(c->email);
	free(c->base);
	free(c);
	return rc;
}

static void cu_close(struct conn *c)
{
	if (!c)
		return;
	json_decref(c->defs);
	json_decref(c->sources);
	json_decref(c->statuses);
	json_decref(c->pipelines);
	pthread_mutex_destroy(&c->mu);
	config_secret_free(c->key);
	free(c->email);
	free(c->base);
	free(c);
}

static const char *cu_namespace(struct conn *c, struct crm_err *err)
{
	json_t *d = NULL;
	const char *res = NULL;

	pthread_mutex_lock(&c->mu);
	if (c->account[0]) {
		res = c->account;
	} else if (call(c, "GET", "/account", NULL, HTTP_IDEMPOTENT, &d, err) == 0) {
		char tmp[32];
		const char *id = jx_text(json_object_get(d, "id"), tmp, sizeof(tmp));
		snprintf(c->account, sizeof(c->account), "%s", id ? id : "");
		res = c->account;
	}
	pthread_mutex_unlock(&c->mu);
	json_decref(d);
	return res;
}

/* Custom field definitions and the lead lookups, loaded once (§7). */
static int load_lookups(struct conn *c, struct crm_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (!c->defs && (rc = call(c, "GET", "/custom_field_definitions", NULL, HTTP_IDEMPOTENT, &c->defs, err)) == 0 &&
	    !json_is_array(c->defs)) {
		json_decref(c->defs);
		c->defs = NULL;
		rc = err_set(err, CRM_EUNAVAIL, "bad_response", "Copper's custom field definitions are not a list");
	}
	if (rc == 0 && !c->sources && (rc = call(c, "GET", "/customer_sources", NULL, HTTP_IDEMPOTENT, &c->sources, err)) == 0 &&
	    !json_is_array(c->sources)) {
		json_decref(c->sources);
		c->sources = json_array();
	}
	if (rc == 0 && !c->statuses && (rc = call(c, "GET", "/lead_statuses", NULL, HTTP_IDEMPOTENT, &c->statuses, err)) == 0 &&
	    !json_is_array(c->statuses)) {
		json_decref(c->statuses);
		c->statuses = json_array();
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* The pipelines with their stages (§2.3), loaded once: only deals need them. */
static int load_pipelines(struct conn *c, struct crm_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (!c->pipelines && (rc = call(c, "GET", "/pipelines", NULL, HTTP_IDEMPOTENT, &c->pipelines, err)) == 0 &&
	    !json_is_array(c->pipelines)) {
		json_decref(c->pipelines);
		c->pipelines = json_array();
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* The definition with this id (as text), or NULL.  Borrowed. */
static json_t *def_by_id(struct conn *c, const char *id)
{
	json_t *d;
	size_t i;
	char tmp[32];

	json_array_foreach(c->defs, i, d) {
		const char *s = jx_text(json_object_get(d, "id"), tmp, sizeof(tmp));
		if (s && !strcmp(s, id))
			return d;
	}
	return NULL;
}

static int def_on(const json_t *d, enum obj o)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(d, "available_on"), i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), singular(o)))
			return 1;
	return 0;
}

/* "custom_<id>" for a definition named `label` on object o, or NULL. */
static const char *def_key_by_label(struct conn *c, enum obj o, const char *label, char *out, size_t n)
{
	json_t *d;
	size_t i;
	char tmp[32];

	json_array_foreach(c->defs, i, d) {
		const char *name = jx_str(d, "name"), *key = jx_str(d, "canonical_name");
		const char *id = jx_text(json_object_get(d, "id"), tmp, sizeof(tmp));
		if (id && def_on(d, o) && ((name && !strcmp(name, label)) || (key && !strcmp(key, label))) &&
		    !std_find(o, label)) {
			snprintf(out, n, "custom_%s", id);
			return out;
		}
	}
	return NULL;
}

/* The field name of definition d on object o: the unified table's name
 * when the definition's Field Key (canonical_name) is one (an account's
 * "industry": Copper has no standard one, §15), else "custom_<id>". */
static const char *def_key(enum obj o, const json_t *d, char *out, size_t n)
{
	const char *key = jx_str(d, "canonical_name");
	char tmp[32];
	const char *id = jx_text(json_object_get(d, "id"), tmp, sizeof(tmp));
	const struct map_entry *e = key ? map_find_remote(table(o), key) : NULL;

	if (e && !std_find(o, key))
		snprintf(out, n, "%s", key);
	else
		snprintf(out, n, "custom_%s", id ? id : "");
	return out;
}

static json_t *lookup_id(const json_t *arr, const char *name)
{
	json_t *x;
	size_t i;

	json_array_foreach(arr, i, x)
		if (jx_str(x, "name") && !strcasecmp(jx_str(x, "name"), name))
			return json_object_get(x, "id");
	return NULL;
}

/* ---- fields (§7) ---- */

static void add_field(json_t *arr, const char *name, const char *label, const char *type, int req, int ro,
		      int custom, json_t *opts)
{
	json_array_append_new(arr, json_pack("{s:s,s:s,s:s?,s:b,s:b,s:b,s:o}", "name", name, "label", label,
					     "type", type, "required", req, "read_only", ro, "custom", custom,
					     "options", opts ? opts : json_array()));
}

/* A lookup's entries ({"id", "name"}, §15) as options: the id is the code. */
static json_t *id_options(const json_t *arr)
{
	json_t *opts = json_array(), *x;
	size_t i;

	json_array_foreach(arr, i, x)
		json_array_append_new(opts, json_pack("{s:O?,s:O?}", "label", json_object_get(x, "name"),
						      "value", json_object_get(x, "id")));
	return opts;
}

/* Every pipeline's stages, each naming its pipeline (as text, as
 * lib/options compares codes).  No "status": a stage has no won/lost
 * flag (§15; the deal's status field says it), and no "probability":
 * the deal's own win_probability is its probability, so the stage's
 * default is shown as win_probability, for people only. */
static json_t *stage_options(const json_t *pipelines)
{
	json_t *opts = json_array(), *p, *st;
	size_t i, j;
	char tmp[32];

	json_array_foreach(pipelines, i, p) {
		const char *pid = jx_text(json_object_get(p, "id"), tmp, sizeof(tmp));
		json_array_foreach(json_object_get(p, "stages"), j, st)
			json_array_append_new(opts, json_pack("{s:O?,s:O?,s:s?,s:O?}", "label", json_object_get(st, "name"),
							      "value", json_object_get(st, "id"), "pipeline", pid,
							      "win_probability", json_object_get(st, "win_probability")));
	}
	return opts;
}

static int cu_fields(struct conn *c, enum obj o, json_t **out, struct crm_err *err)
{
	json_t *arr = json_array(), *d;
	size_t i;
	int rc;

	*out = NULL;
	if ((o != OBJ_USER && (rc = load_lookups(c, err)) < 0) || (o == OBJ_DEAL && (rc = load_pipelines(c, err)) < 0)) {
		json_decref(arr);
		return rc;
	}
	for (const struct std_field *f = std_fields(o); f->name; f++) {
		json_t *opts = NULL;
		if (o == OBJ_DEAL && !strcmp(f->name, "status"))
			opts = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "label", "Open", "value", "Open",
					 "label", "Won", "value", "Won", "label", "Lost", "value", "Lost",
					 "label", "Abandoned", "value", "Abandoned");
		else if (o == OBJ_DEAL && !strcmp(f->name, "@status"))
			opts = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "label", "Open", "value", "OPEN",
					 "label", "Won", "value", "WON", "label", "Lost or Abandoned", "value", "LOST");
		else if (!strcmp(f->name, "status_id") || !strcmp(f->name, "customer_source_id"))
			opts = id_options(!strcmp(f->name, "status_id") ? c->statuses : c->sources);
		else if (o == OBJ_DEAL && !strcmp(f->name, "pipeline_id"))
			opts = id_options(c->pipelines);
		else if (o == OBJ_DEAL && !strcmp(f->name, "pipeline_stage_id"))
			opts = stage_options(c->pipelines);
		add_field(arr, f->name, f->label, f->type, (f->flags & FR) != 0, (f->flags & FO) != 0, 0, opts);
	}
	if (o == OBJ_USER) {
		*out = arr;
		return 0;
	}
	/* Custom fields: custom_<id>, labelled with their name; --map takes
	 * either (cmd/ resolves a label to its field). */
	json_array_foreach(c->defs, i, d) {
		char key[48], tmp[32];
		const char *id = jx_text(json_object_get(d, "id"), tmp, sizeof(tmp));
		const char *name = jx_str(d, "name");
		json_t *opts, *op;
		size_t j;
		if (!id || !name || !def_on(d, o))
			continue;
		opts = json_array();
		def_key(o, d, key, sizeof(key));
		json_array_foreach(json_object_get(d, "options"), j, op)
			json_array_append_new(opts, json_pack("{s:O?,s:O?}", "label", json_object_get(op, "name"),
							      "value", json_object_get(op, "id")));
		add_field(arr, key, name, jx_str(d, "data_type"), 0, 0, 1, opts);
	}
	*out = arr;
	return 0;
}

/* ---- records: Copper objects to envelopes (§2) ---- */

/* Unix seconds (§2.1) as RFC 3339, or null. New reference. */
static json_t *secs_time(const json_t *v)
{
	char out[TIME_BUFSZ];
	long long ms;

	if ((!json_is_integer(v) && !json_is_real(v)) || time_from_secs(json_number_value(v), &ms) < 0)
		return json_null();
	time_format(ms, out);
	return json_string(out);
}

/* close_date "MM/DD/YYYY" (§2.3; this assumes the US form, not the
 * DD/MM/YYYY some account locales use) or seconds -> "YYYY-MM-DD". */
static json_t *copper_date(const json_t *v)
{
	const char *s = json_string_value(v);
	char out[TIME_BUFSZ];
	int m, d, y;

	long long ms;
	if (json_is_integer(v)) {
		if (time_from_secs((double)json_integer_value(v), &ms) < 0)
			return json_null();
		time_format_date(ms, out);
		return json_string(out);
	}
	if (s && sscanf(s, "%2d/%2d/%4d", &m, &d, &y) == 3) {
		snprintf(out, sizeof(out), "%04d-%02d-%02d", y, m, d);
		return json_string(out);
	}
	return v ? json_incref((json_t *)v) : json_null();
}

/* "Jane van der Berg" -> "Jane", "van der Berg": the first space splits, so
 * multi-word last names survive and first + " " + last gives name back. */
static void split_name(const char *name, char **first, char **last)
{
	*first = *last = NULL;
	if (!name)
		return;
	while (*name == ' ')
		name++;
	if (!*name)
		return;
	const char *sp = strchr(name, ' ');
	*first = strndup(name, sp ? (size_t)(sp - name) : strlen(name));
	if (sp) {
		while (*sp == ' ')
			sp++;
		if (*sp)
			*last = strdup(sp);
	}
}

/* A person's or lead's first and last name: its name split at the first
 * space, unless Copper's own parts say the name is a last name only (one
 * word would otherwise come back as a first name). */
static void name_parts(const json_t *raw, char **first, char **last)
{
	const char *name = jx_str(raw, "name"), *rf = jx_str(raw, "first_name"), *rl = jx_str(raw, "last_name");

	split_name(name, first, last);
	if ((!rf || !*rf) && rl && *first && !*last && !strcmp(rl, name)) {
		*last = *first;
		*first = NULL;
	}
}

static const char *email_slot(const char *cat)
{
	return cat && !strcmp(cat, "personal") ? "personal" : cat && !strcmp(cat, "other") ? "other" : "work";
}

static const char *phone_slot(const char *cat)
{
	return cat && !strcmp(cat, "mobile") ? "mobile" : cat && !strcmp(cat, "home") ? "home"
	     : cat && !strcmp(cat, "other") ? "other" : "work";
}

static const char *status_unified(const char *s)
{
	if (!s)
		return NULL;
	return !strcasecmp(s, "Won") ? "WON" : !strcasecmp(s, "Lost") || !strcasecmp(s, "Abandoned") ? "LOST" : "OPEN";
}

/* Envelope of a Copper record.  alias: --map names of custom fields
 * (label -> "custom_<id>"), put under the label instead. */
static json_t *envelope(struct conn *c, enum obj o, json_t *raw, const json_t *alias)
{
	json_t *env = json_object(), *fields = json_object(), *v;
	const char *k;
	char tmp[64];
	const char *id = jx_text(json_object_get(raw, "id"), tmp, sizeof(tmp));

	json_object_set_new(env, "id", jx_str_new(id));
	json_object_set_new(env, "created_at", secs_time(json_object_get(raw, "date_created")));
	json_object_set_new(env, "updated_at", secs_time(json_object_get(raw, "date_modified")));
	json_object_set_new(env, "deleted", json_false());
	json_object_set_new(env, "deleted_at", json_null());
	json_object_foreach(raw, k, v) {
		if (!strcmp(k, "id") || !strcmp(k, "date_created") || !strcmp(k, "date_modified") || json_is_null(v))
			continue;
		if ((o == OBJ_CONTACT && !strcmp(k, "emails")) || !strcmp(k, "phone_numbers") ||
		    (o == OBJ_ACCOUNT && !strcmp(k, "websites"))) {
			int em = !strcmp(k, "emails"), web = !strcmp(k, "websites");
			json_t *e;
			size_t i;
			json_array_foreach(v, i, e) {
				const char *val = jx_str(e, em ? "email" : web ? "url" : "number");
				char slot[64];
				if (!val || !*val)
					continue;
				if ((em || web) && i == 0)
					snprintf(slot, sizeof(slot), "%s.primary", k);
				else if (web)
					continue;
				else
					snprintf(slot, sizeof(slot), "%s.%s", k,
						 em ? email_slot(jx_str(e, "category")) : phone_slot(jx_str(e, "category")));
				if (!json_object_get(fields, slot))
					json_object_set_new(fields, slot, json_string(val));
			}
		} else if (json_is_object(v) && (!strcmp(k, "address") || !strcmp(k, "email"))) {
			const char *sk;
			json_t *sv;
			json_object_foreach(v, sk, sv) {
				struct buf n = BUF_INIT;
				if (!json_is_string(sv) || !*json_string_value(sv))
					continue;
				buf_addf(&n, "%s.%s", k, sk);
				json_object_set(fields, n.buf, sv);
				buf_release(&n);
			}
		} else if (!strcmp(k, "custom_fields")) {
			json_t *cf;
			size_t i;
			json_array_foreach(v, i, cf) {
				char ib[32];
				const char *did = jx_text(json_object_get(cf, "custom_field_definition_id"), ib, sizeof(ib));
				json_t *val = json_object_get(cf, "value");
				char key[48];
				json_t *def;
				if (!did || !val || json_is_null(val))
					continue;
				if ((def = def_by_id(c, did)))
					def_key(o, def, key, sizeof(key));
				else
					snprintf(key, sizeof(key), "custom_%s", did);
				json_object_set(fields, key, val);
			}
		} else if (!strcmp(k, "date_last_contacted") || !strcmp(k, "date_lead_created") || !strcmp(k, "converted_at")) {
			json_object_set_new(fields, k, secs_time(v));
		} else if (o == OBJ_DEAL && !strcmp(k, "close_date")) {
			json_object_set_new(fields, k, copper_date(v));
		} else if ((o == OBJ_CONTACT || o == OBJ_LEAD) && (!strcmp(k, "first_name") || !strcmp(k, "last_name"))) {
			continue; /* from name, below */
		} else {
			json_object_set(fields, k, v);
		}
	}
	if (o == OBJ_CONTACT || o == OBJ_LEAD) {
		char *f, *l;
		name_parts(raw, &f, &l);
		json_object_set_new(fields, "first_name", jx_str_new(f));
		json_object_set_new(fields, "last_name", jx_str_new(l));
		free(f);
		free(l);
	}
	if (o == OBJ_DEAL)
		json_object_set_new(fields, "@status", jx_str_new(status_unified(jx_str(raw, "status"))));
	if (o == OBJ_USER)
		json_object_set_new(fields, "@is_active", json_true());
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

static void cu_fixup(struct conn *c, enum obj o, struct jv_doc *d, jv_t env, jv_t rec)
{
	jv_t raw = jv_get(d, env, "raw"), e;

	(void)c;
	if (o == OBJ_USER) {
		char *f, *l;
		split_name(jv_str(d, raw, "name"), &f, &l);
		jv_set(d, rec, "first_name", f ? jv_string(d, f) : JV_NULL);
		jv_set(d, rec, "last_name", l ? jv_string(d, l) : JV_NULL);
		free(f);
		free(l);
		return;
	}
	/* Every email and phone, in Copper's order, with its category (the slots
	 * hold only the first of each); the first email is the primary one. */
	if (o == OBJ_CONTACT || o == OBJ_LEAD) {
		jv_t emails = jv_arr(d), list = jv_get(d, raw, o == OBJ_CONTACT ? "emails" : "email");
		if (o == OBJ_LEAD) {
			jv_t one = jv_arr(d);
			jv_append(d, one, list ? list : JV_NULL);
			list = one;
		}
		for (uint32_t m = jv_items(d, list); m; m = jv_next(d, m)) {
			e = jv_val(d, m);
			const char *val = jv_str(d, e, "email"), *cat = jv_str(d, e, "category");
			if (!val || !*val)
				continue;
			jv_append(d, emails, map_email(d, jv_get(d, e, "email"), !cat ? NULL : !strcmp(cat, "work") ? "WORK"
				: !strcmp(cat, "personal") ? "PERSONAL" : "OTHER", jv_size(d, emails) == 0));
		}
		jv_set(d, rec, "email_addresses", emails);
	}
	if (o != OBJ_DEAL) {
		jv_t phones = jv_arr(d);
		for (uint32_t m = jv_items(d, jv_get(d, raw, "phone_numbers")); m; m = jv_next(d, m)) {
			e = jv_val(d, m);
			const char *val = jv_str(d, e, "number"), *s = phone_slot(jv_str(d, e, "category"));
			if (!val || !*val)
				continue;
			jv_append(d, phones, map_phone(d, jv_get(d, e, "number"), !strcmp(s, "mobile") ? "MOBILE"
				: !strcmp(s, "home") ? "HOME" : !strcmp(s, "other") ? "OTHER" : "WORK"));
		}
		jv_set(d, rec, "phone_numbers", phones);
	}
}

/* ---- pull --where: the search's own body fields (§3, §16) ----
 *
 * Copper's search has no operators: each filter is a body key, keys AND
 * together, an array inside one key matches any of its values, and there
 * is no negation (§16).  So a condition is one key, at most one per key;
 * `name` is a partial match (~), phone_number exact (=) or partial (~),
 * ranges have inclusive minimum_/maximum_ keys (>= <=).  String custom
 * fields cannot be searched at all (§16), and the search takes no
 * date_modified condition apart from the cursor's own. */

enum { F_STR, F_STRARR, F_IDS, F_PHONE, F_EMAIL, F_RANGE, F_RANGE_TIME };

#define OB(o) (1u << (o))
#define O_ALL4 (OB(OBJ_ACCOUNT) | OB(OBJ_CONTACT) | OB(OBJ_LEAD) | OB(OBJ_DEAL))
#define O_ADDR (OB(OBJ_ACCOUNT) | OB(OBJ_CONTACT) | OB(OBJ_LEAD))

static const struct cu_filter {
	const char *field;      /* the provider field; "x.*": any field under x. */
	unsigned objs, ops;
	const char *key;        /* the search body key (ranges: after minimum_/maximum_) */
	int how;
} cu_filters[] = {
	{ "name", O_ALL4, W_BIT(W_CONTAINS), "name", F_STR },
	{ "emails.*", OB(OBJ_CONTACT), W_BIT(W_EQ), "emails", F_EMAIL },
	{ "email.email", OB(OBJ_LEAD), W_BIT(W_EQ), "emails", F_EMAIL },
	{ "phone_numbers.*", O_ADDR, W_BIT(W_EQ) | W_BIT(W_CONTAINS), "phone_number", F_PHONE },
	{ "address.city", O_ADDR, W_BIT(W_EQ), "city", F_STR },
	{ "address.state", O_ADDR, W_BIT(W_EQ), "state", F_STR },
	{ "address.postal_code", O_ADDR, W_BIT(W_EQ), "postal_code", F_STR },
	{ "address.country", O_ADDR, W_BIT(W_EQ), "country", F_STR },
	{ "tags", O_ALL4, W_BIT(W_EQ), "tags", F_STRARR },
	{ "assignee_id", O_ALL4, W_BIT(W_EQ), "assignee_ids", F_IDS },
	{ "company_id", OB(OBJ_CONTACT) | OB(OBJ_DEAL), W_BIT(W_EQ), "company_ids", F_IDS },
	{ "contact_type_id", OB(OBJ_CONTACT) | OB(OBJ_ACCOUNT), W_BIT(W_EQ), "contact_type_ids", F_IDS },
	{ "status_id", OB(OBJ_LEAD), W_BIT(W_EQ), "status_ids", F_IDS },
	{ "customer_source_id", OB(OBJ_LEAD) | OB(OBJ_DEAL), W_BIT(W_EQ), "customer_source_ids", F_IDS },
	{ "pipeline_id", OB(OBJ_DEAL), W_BIT(W_EQ), "pipeline_ids", F_IDS },
	{ "pipeline_stage_id", OB(OBJ_DEAL), W_BIT(W_EQ), "pipeline_stage_ids", F_IDS },
	{ "primary_contact_id", OB(OBJ_DEAL), W_BIT(W_EQ), "primary_contact_ids", F_IDS },
	{ "loss_reason_id", OB(OBJ_DEAL), W_BIT(W_EQ), "loss_reason_ids", F_IDS },
	{ "monetary_value", OB(OBJ_DEAL), W_BIT(W_GE) | W_BIT(W_LE), "monetary_value", F_RANGE },
	{ "interaction_count", O_ALL4, W_BIT(W_GE) | W_BIT(W_LE), "interaction_count", F_RANGE },
	{ "date_created", O_ALL4, W_BIT(W_GE) | W_BIT(W_LE), "created_date", F_RANGE_TIME },
	{ NULL, 0, 0, NULL, 0 }
};

static const struct cu_filter *cu_filter_of(enum obj o, const char *field)
{
	for (const struct cu_filter *f = cu_filters; f->field; f++) {
		size_t n = strlen(f->field);
		int hit = f->field[n - 1] == '*' ? !strncmp(field, f->field, n - 1) : !strcmp(field, f->field);
		if (hit && (f->objs & OB(o)))
			return f;
	}
	return NULL;
}

static int cu_where_can(enum obj o, const struct where *w, const char **can)
{
	static const char *const text[OBJ_COUNT] = {
		[OBJ_ACCOUNT] = "name ~, phone = ~, city state postal_code country =, tags =, owner =, "
				"contact_type_id =, interaction_count >= <=, date_created >= <=",
		[OBJ_CONTACT] = "name ~, email =, phone = ~, city state postal_code country =, tags =, owner =, "
				"account =, contact_type_id =, interaction_count >= <=, date_created >= <=",
		[OBJ_LEAD] = "name ~, email =, phone = ~, city state postal_code country =, tags =, owner =, status =, "
			     "source =, interaction_count >= <=, date_created >= <=",
		[OBJ_DEAL] = "name ~, tags =, owner =, account =, stage =, pipeline =, primary_contact_id =, "
			     "customer_source_id =, loss_reason_id =, amount >= <=, interaction_count >= <=, "
			     "date_created >= <=",
		[OBJ_USER] = "nothing of users (their search has no filter)",
	};
	const struct cu_filter *f = cu_filter_of(o, w->field);

	*can = text[o];
	return f && (f->ops & W_BIT(w->op));
}

/* The --where conditions as search body keys, in *out: a key given twice
 * (Copper ANDs keys, ORs the values of one) or an id that is not a number
 * is CRM_EUSAGE. */
static int where_body(const struct pull_opts *o, json_t **out, struct crm_err *err)
{
	json_t *b = json_object();

	for (size_t i = 0; i < o->nwhere; i++) {
		const struct where *w = &o->where[i];
		const struct cu_filter *f = cu_filter_of(o->obj, w->field);
		char key[64];
		json_t *v = NULL;
		long long n;
		char *end;
		if (!f)
			continue; /* where_can refused it already */
		snprintf(key, sizeof(key), "%s%s", f->how == F_RANGE || f->how == F_RANGE_TIME ?
			 (w->op == W_GE ? "minimum_" : "maximum_") : "", f->key);
		if (json_object_get(b, key) || (!strcmp(key, "tags") && o->list)) {
			json_decref(b);
			return err_set(err, CRM_EUSAGE, "usage", "--where: Copper takes one condition on %s (its search "
				       "matches any of several values, never all)", w->given);
		}
		switch (f->how) {
		case F_STR: v = json_string(w->value); break;
		case F_STRARR: v = json_pack("[s]", w->value); break;
		case F_EMAIL: v = o->obj == OBJ_LEAD ? json_string(w->value) : json_pack("[s]", w->value); break;
		case F_PHONE:
			v = w->op == W_CONTAINS ? json_pack("{s:s,s:s}", "value", w->value, "match", "partial")
						: json_string(w->value);
			break;
		case F_IDS:
			n = strtoll(w->value, &end, 10);
			if (*end || end == w->value || n <= 0)
				break;
			v = json_pack("[I]", (json_int_t)n);
			break;
		case F_RANGE: {
			double d = strtod(w->value, &end);
			if (!*end && end != w->value)
				v = json_real(d);
			break;
		}
		case F_RANGE_TIME:
			if (time_parse(w->value, &n) == 0)
				v = json_integer(n / 1000); /* unix seconds (§2.1) */
			break;
		}
		if (!v) {
			json_decref(b);
			return err_set(err, CRM_EUSAGE, "usage", "--where: %s takes %s in Copper, not '%s'", w->given,
				       f->how == F_IDS ? "an id (a number)" : f->how == F_RANGE ? "a number"
				       : "an RFC 3339 time", w->value);
		}
		json_object_set_new(b, key, v);
	}
	*out = b;
	return 0;
}

/* ---- pull (§3, §4) ---- */

struct pull {
	struct conn *c;
	struct pull_opts o;
	json_t *alias;          /* --map label -> custom_<id> */
	long long t;            /* lower bound in seconds; -1: none yet */
	json_t *seen;           /* ids emitted at second t */
	long page;              /* page_number */
	int mode;               /* M_SLICE, M_SECOND or M_VERIFY */
	int found;              /* the verify pass found records */
	long long next_t;       /* after verifying: the slice to resume from (-1: the end) */
	json_t *next_seen;      /* ...and the ids already emitted at next_t */
	long long since_id;     /* skip ids <= this at since (no look-back), or -1 */
	long long since_s;
	int done;
	long pass;              /* verify passes so far: each reads its second anew */
	struct pager_guard guard; /* lib/pager */
	json_t *where;          /* --where as search body keys (where_body) */
	long long hi;           /* a part's window ends before this second; 0: open */
	long long split_top;    /* pull_parts: the latest modified second (cu_pull_parts) */
};

enum { M_SLICE, M_SECOND, M_VERIFY };

/* Tags are free-form (§8): a tag exists while some record carries it, and
 * GET /tags lists exactly those.  One that is not there is an unknown
 * list, refused as the other CRMs refuse theirs (not an empty answer). */
static int check_tag(struct conn *c, const char *tag, struct crm_err *err)
{
	json_t *ans = NULL, *t;
	size_t i;
	int rc, found = 0;

	if ((rc = call(c, "GET", "/tags", NULL, HTTP_IDEMPOTENT, &ans, err)) < 0)
		return rc;
	json_array_foreach(ans, i, t)
		if (jx_str(t, "name") && !strcmp(jx_str(t, "name"), tag))
			found = 1;
	json_decref(ans);
	if (!found)
		return err_set(err, CRM_EUSAGE, "no_such_list", "Copper has no tag %s (no record carries it)", tag);
	return 0;
}

static int cu_pull_open(struct conn *c, const struct pull_opts *o, struct pull **out, struct crm_err *err)
{
	struct pull *p;
	json_t *v;
	size_t i;
	int rc;

	*out = NULL;
	if (o->obj != OBJ_USER && (rc = load_lookups(c, err)) < 0)
		return rc;
	if (o->list && (rc = check_tag(c, o->list, err)) < 0)
		return rc;
	json_t *wb = NULL;
	if (o->nwhere && (rc = where_body(o, &wb, err)) < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	p->where = wb;
	pager_guard_init(&p->guard, "Copper");
	p->c = c;
	p->o = *o;
	p->t = o->since_ms >= 0 ? o->since_ms / 1000 : -1;
	p->since_s = p->t;
	p->since_id = o->since_id && o->since_ms % 1000 == 0 ? strtoll(o->since_id, NULL, 10) : -1;
	p->seen = json_object();
	p->next_seen = json_object();
	p->page = 1;
	p->alias = json_object();
	json_array_foreach(o->extra_fields, i, v) {
		char key[48];
		const char *lb = json_string_value(v);
		if (lb && def_key_by_label(c, o->obj, lb, key, sizeof(key)))
			json_object_set_new(p->alias, lb, json_string(key));
	}
	*out = p;
	return 0;
}

static void cu_pull_close(struct pull *p)
{
	if (!p)
		return;
	json_decref(p->alias);
	json_decref(p->where);
	json_decref(p->seen);
	json_decref(p->next_seen);
	pager_guard_release(&p->guard);
	free(p);
}

/* Copper pages by numbers counted here, so a broken server shows as the
 * same full page again: page `ans` (a JSON array of records) of the query
 * `query` (what tells it from the run's other queries, apart from its
 * page number) must not be one seen before (lib/pager).  Empty pages need
 * no count: a page short of PAGE_MAX ends every Copper listing. */
static int guard_page(struct pull *p, const char *query, const json_t *ans, struct crm_err *err)
{
	size_t n = json_array_size(ans);
	char a[32], b[32];
	const char *first = jx_text(json_object_get(json_array_get(ans, 0), "id"), a, sizeof(a));
	const char *last = n ? jx_text(json_object_get(json_array_get(ans, n - 1), "id"), b, sizeof(b)) : NULL;

	return pager_guard_page(&p->guard, query, first, last, n, err);
}

static long long rec_secs(const json_t *r)
{
	json_t *v = json_object_get(r, "date_modified");
	return json_is_number(v) ? (long long)json_number_value(v) : 0;
}

/* Users have no modified date or filter (§4): plain page_number paging. */
static int users_page(struct pull *p, json_t **page, struct crm_err *err)
{
	json_t *body = json_pack("{s:i,s:i}", "page_number", (int)p->page, "page_size", PAGE_MAX), *ans = NULL, *r;
	size_t i;
	int rc = call(p->c, "POST", "/users/search", body, HTTP_IDEMPOTENT, &ans, err);

	json_decref(body);
	if (rc < 0)
		return rc;
	if (!json_is_array(ans)) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "Copper's users answer is not a list");
	}
	*page = json_array();
	json_array_foreach(ans, i, r)
		json_array_append_new(*page, envelope(p->c, OBJ_USER, r, NULL));
	p->done = json_array_size(ans) < PAGE_MAX;
	p->page++;
	if (!p->done && (rc = guard_page(p, "users", ans, err)) < 0) {
		json_decref(*page);
		*page = NULL;
	}
	json_decref(ans);
	return rc;
}

/* One page of a scan sorted by date_modified (§3, §4).
 *
 * Every page is a fresh slice: page 1 of "modified on or after t", where t
 * is the last modified second seen, so a scan never pages deep and the
 * 100,000-match wall is never met; a record changed during the scan moves
 * to the end of the order instead of shifting later pages.  (The bound is
 * read as inclusive, as copper.md §4 does; its exact inclusivity is
 * unverified.)  Records of second t already emitted are skipped by id.
 *
 * A full page that is all one second cannot move t: the scan then pages
 * through that second by page_number, and afterwards reads it again
 * (minimum = maximum = t) until a pass finds nothing new, since records of
 * that second modified meanwhile shift the pages and could hide one. */
static int scan_page(struct pull *p, json_t **page, struct crm_err *err)
{
	struct conn *c = p->c;
	enum obj o = p->o.obj;
	json_t *body, *ans = NULL, *r, *envs;
	char path[64];
	long long maxt = -1, total = -1;
	size_t i, n;
	int rc, beyond = 0;

	if ((long long)p->page * PAGE_MAX > SEARCH_WALL)
		return err_set(err, CRM_EUNAVAIL, "search_wall",
			       "more than %d Copper %s share one modified second; its search reaches only the first %d",
			       SEARCH_WALL, entity(o), SEARCH_WALL);
	body = json_pack("{s:i,s:i,s:s,s:s}", "page_number", (int)p->page, "page_size", PAGE_MAX,
			 "sort_by", "date_modified", "sort_direction", "asc");
	if (p->t >= 0)
		json_object_set_new(body, "minimum_modified_date", json_integer(p->t));
	if (p->mode == M_VERIFY)
		json_object_set_new(body, "maximum_modified_date", json_integer(p->t));
	else if (p->hi > 0)
		json_object_set_new(body, "maximum_modified_date", json_integer(p->hi - 1));
	if (p->o.list)
		json_object_set_new(body, "tags", json_pack("[s]", p->o.list));
	if (p->where)
		json_object_update(body, p->where);
	snprintf(path, sizeof(path), "/%s/search", entity(o));
	rc = call_total(c, "POST", path, body, HTTP_IDEMPOTENT, &ans, &total, err);
	json_decref(body);
	if (rc < 0)
		return rc;
	if (!json_is_array(ans)) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "bad_response", "Copper's search answer is not a list");
	}
	n = json_array_size(ans);
	/* A short page deep in one second while X-PW-TOTAL says more: the
	 * 100,000 wall cut the search.  Stop loudly rather than lose records. */
	if (p->page > 1 && n < PAGE_MAX && total > (long long)(p->page - 1) * PAGE_MAX + (long long)n) {
		json_decref(ans);
		return err_set(err, CRM_EUNAVAIL, "search_wall",
			       "Copper's search stopped at %lld of %lld matches while paging through %s modified in "
			       "one second (its search reaches only the first %d matches)",
			       (long long)(p->page - 1) * PAGE_MAX + (long long)n, total, entity(o), SEARCH_WALL);
	}
	envs = json_array();
	json_array_foreach(ans, i, r) {
		long long s = rec_secs(r);
		char tmp[32];
		const char *id = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
		if (!id)
			continue;
		if (s > maxt)
			maxt = s;
		if (p->t >= 0 && s > p->t)
			beyond = 1;
		if (p->t >= 0 && s < p->t)
			continue; /* older than the slice: an exclusive-looking answer would not send these */
		if (s == p->t && json_object_get(p->seen, id))
			continue;
		if (s == p->since_s && p->since_id >= 0 && strtoll(id, NULL, 10) <= p->since_id)
			continue;
		if (s == p->t)
			json_object_set_new(p->seen, id, json_true());
		if (p->mode == M_VERIFY)
			p->found = 1;
		json_array_append_new(envs, envelope(c, o, r, p->alias));
	}
	/* This page's query for the guard: a slice and the pages through its
	 * second are one search; each verify pass reads the second anew. */
	char query[80];
	if (p->mode == M_VERIFY)
		snprintf(query, sizeof(query), "modified=%lld, verify pass %ld", p->t, p->pass);
	else
		snprintf(query, sizeof(query), "minimum_modified_date=%lld", p->t);
	/* Ids at the page's last second, for the next slice. */
	switch (p->mode) {
	case M_SLICE:
		if (n < PAGE_MAX) {
			p->done = 1;
		} else if (maxt > p->t) {
			json_object_clear(p->seen);
			json_array_foreach(ans, i, r) {
				char tmp[32];
				const char *id = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
				if (id && rec_secs(r) == maxt)
					json_object_set_new(p->seen, id, json_true());
			}
			p->t = maxt;
		} else {
			p->mode = M_SECOND;
			p->page = 2;
		}
		break;
	case M_SECOND:
		if (n < PAGE_MAX || beyond) {
			/* Past the second (or at the end): read it again before leaving
			 * it; then go on from this page's last second (or stop). */
			p->next_t = n < PAGE_MAX ? -1 : maxt;
			json_object_clear(p->next_seen);
			json_array_foreach(ans, i, r) {
				char tmp[32];
				const char *id = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
				if (id && p->next_t >= 0 && rec_secs(r) == maxt)
					json_object_set_new(p->next_seen, id, json_true());
			}
			p->mode = M_VERIFY;
			p->page = 1;
			p->found = 0;
			p->pass++;
		} else {
			p->page++;
		}
		break;
	case M_VERIFY:
		if (n == PAGE_MAX) {
			p->page++;
		} else if (p->found) {
			p->page = 1;
			p->found = 0;
			p->pass++;
		} else if (p->next_t < 0) {
			p->done = 1;
		} else {
			json_t *tmp = p->seen;
			p->seen = p->next_seen;
			p->next_seen = tmp;
			json_object_clear(p->next_seen);
			p->t = p->next_t;
			p->mode = M_SLICE;
			p->page = 1;
		}
		break;
	}
	if (!p->done && n && (rc = guard_page(p, query, ans, err)) < 0) {
		json_decref(ans);
		json_decref(envs);
		return rc;
	}
	json_decref(ans);
	*page = envs;
	return 0;
}

static int cu_pull_next(struct pull *p, json_t **page, struct crm_err *err)
{
	*page = NULL;
	for (;;) {
		int rc;
		if (p->done)
			return 0;
		rc = p->o.obj == OBJ_USER ? users_page(p, page, err) : scan_page(p, page, err);
		if (rc < 0)
			return rc;
		if (*page && json_array_size(*page))
			return 0;
		json_decref(*page);
		*page = NULL;
	}
}

/* ---- reading in parallel (§16) ----
 *
 * Pages are random-access, but striped page numbers would lose records:
 * an edit moves a record to the end of the date_modified order and shifts
 * every page after it, and X-PW-TOTAL is only an upper bound, so the loss
 * would not show.  So the rest of a scan splits into disjoint windows of
 * modified seconds (§16's recommendation), each the same re-anchoring
 * scan as scan_page's with a maximum_modified_date: a record edited
 * meanwhile moves to the last window, which is open-ended and meets it
 * later, as the scan alone would.  The windows split the seconds from
 * the anchor to the latest record's evenly (one search of page_size 1
 * finds it): records bunched in time make uneven parts, which costs speed,
 * never records.  All parts share Copper's 180 calls a minute (§10): the
 * parts only fill the time each call spends in flight. */
static unsigned cu_pull_parts(struct pull *p, unsigned want, int *striped)
{
	struct crm_err e = CRM_ERR_INIT;
	json_t *body, *ans = NULL;
	char path[64];

	*striped = 0;
	/* Nor in the middle of paging through one second (M_SECOND, M_VERIFY). */
	if (p->o.obj == OBJ_USER || p->done || p->mode != M_SLICE || p->page != 1 || p->t < 0)
		return 0;
	body = json_pack("{s:i,s:i,s:s,s:s,s:I}", "page_number", 1, "page_size", 1, "sort_by", "date_modified",
			 "sort_direction", "desc", "minimum_modified_date", (json_int_t)p->t);
	if (p->o.list)
		json_object_set_new(body, "tags", json_pack("[s]", p->o.list));
	snprintf(path, sizeof(path), "/%s/search", entity(p->o.obj));
	int rc = call(p->c, "POST", path, body, HTTP_IDEMPOTENT, &ans, &e);
	json_decref(body);
	p->split_top = rc == 0 && json_array_size(ans) ? rec_secs(json_array_get(ans, 0)) : -1;
	json_decref(ans);
	if (p->split_top < p->t + (long long)want)
		return 0; /* failed, or too few seconds to split: read alone */
	return want > 8 ? 8 : want;
}

static int cu_pull_part(struct pull *p, unsigned i, unsigned n, struct pull **out, struct crm_err *err)
{
	struct pull *q = calloc(1, sizeof(*q));
	long long span = p->split_top - p->t;

	if (!q)
		return err_set(err, CRM_EOUTPUT, "out_of_memory", "out of memory");
	*q = *p;
	pager_guard_init(&q->guard, "Copper");
	q->alias = json_incref(p->alias);
	q->where = json_incref(p->where);
	q->next_seen = json_object();
	/* The first window starts at the anchor and drops its second's records
	 * already read; the others start at their own second, none read. */
	q->t = p->t + span * i / n;
	q->seen = i == 0 ? json_deep_copy(p->seen) : json_object();
	q->hi = i + 1 < n ? p->t + span * (i + 1) / n : 0;
	q->page = 1;
	*out = q;
	return 0;
}

/* ---- reading and matching for push ---- */

static int numeric(const char *s)
{
	return s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 19;
}

/* Runs a search to its end (short page), calling back with each record. */
static int search_all(struct conn *c, enum obj o, json_t *filter, json_t *res,
		      void (*each)(struct conn *, enum obj, json_t *raw, json_t *res, void *), void *ud,
		      struct crm_err *err)
{
	char path[64];
	int rc = 0;

	snprintf(path, sizeof(path), "/%s/search", entity(o));
	for (long pn = 1; (long long)(pn - 1) * PAGE_MAX < SEARCH_WALL; pn++) {
		json_t *body = json_deep_copy(filter), *ans = NULL, *r;
		size_t i;
		json_object_set_new(body, "page_number", json_integer(pn));
		json_object_set_new(body, "page_size", json_integer(PAGE_MAX));
		json_object_set_new(body, "sort_by", json_string("date_created"));
		rc = call(c, "POST", path, body, HTTP_IDEMPOTENT, &ans, err);
		json_decref(body);
		if (rc < 0)
			return rc;
		json_array_foreach(ans, i, r)
			each(c, o, r, res, ud);
		size_t n = json_array_size(ans);
		json_decref(ans);
		if (n < PAGE_MAX)
			break;
	}
	return rc;
}

static void by_id(struct conn *c, enum obj o, json_t *raw, json_t *res, void *ud)
{
	char tmp[32];
	const char *id = jx_text(json_object_get(raw, "id"), tmp, sizeof(tmp));

	(void)ud;
	if (id)
		json_object_set_new(res, id, envelope(c, o, raw, NULL));
}

/* Records by id: search with ids[] (200 a call). */
static int cu_read(struct conn *c, enum obj o, const json_t *ids, json_t **out, struct crm_err *err)
{
	json_t *res = json_object();
	size_t n = json_array_size(ids);
	int rc = 0;

	*out = NULL;
	if ((rc = load_lookups(c, err)) < 0)
		goto fail;
	for (size_t off = 0; off < n; off += PAGE_MAX) {
		json_t *list = json_array();
		for (size_t i = off; i < n && i < off + PAGE_MAX; i++) {
			const char *s = json_string_value(json_array_get(ids, i));
			if (numeric(s))
				json_array_append_new(list, json_integer(strtoll(s, NULL, 10)));
		}
		if (!json_array_size(list)) {
			json_decref(list);
			continue;
		}
		json_t *filter = json_pack("{s:o}", "ids", list);
		rc = search_all(c, o, filter, res, by_id, NULL, err);
		json_decref(filter);
		if (rc < 0)
			goto fail;
	}
	*out = res;
	return 0;
fail:
	json_decref(res);
	return rc;
}

struct match_ctx {
	const json_t *values;   /* what was asked for */
	const char *field;      /* "email", "email_domain", "name", "first_name", "last_name" */
};

/* Keeps, per asked value, every record holding it (find_put): push never picks one. */
static void keep_match(struct conn *c, enum obj o, json_t *raw, json_t *res, void *ud)
{
	struct match_ctx *m = ud;
	json_t *v, *e;
	size_t i, j;
	char tmp[32];
	const char *id = jx_text(json_object_get(raw, "id"), tmp, sizeof(tmp));

	if (!id)
		return;
	json_array_foreach(m->values, i, v) {
		const char *want = json_string_value(v);
		int hit = 0;
		if (!want)
			continue;
		if (!strcmp(m->field, "email")) {
			if (o == OBJ_CONTACT) {
				json_array_foreach(json_object_get(raw, "emails"), j, e)
					hit |= jx_str(e, "email") && !strcasecmp(jx_str(e, "email"), want);
			} else {
				const char *s = jx_str(json_object_get(raw, "email"), "email");
				hit = s && !strcasecmp(s, want);
			}
		} else {
			const char *s = jx_str(raw, m->field);
			hit = s && !strcasecmp(s, want);
		}
		if (!hit)
			continue;
		char *key = !strcmp(m->field, "email") ? jx_lower_dup(want) : strdup(want);
		json_t *env = envelope(c, o, raw, NULL);
		find_put(res, key, env);
		json_decref(env);
		free(key);
	}
}

/* Matches (§6): people by any of their emails (one search for many), leads
 * by email (their filter takes one string), companies by email_domain,
 * any object by name (a contains-search, then exact), people and leads
 * by first or last name (the same search). */
static int cu_find(struct conn *c, enum obj o, const char *field, const json_t *values,
		   json_t **out, struct crm_err *err)
{
	json_t *res = json_object(), *v;
	struct match_ctx m = { values, NULL };
	size_t i, n = json_array_size(values);
	int rc = 0;

	*out = NULL;
	if ((rc = load_lookups(c, err)) < 0)
		goto fail;
	if ((o == OBJ_CONTACT && (!strncmp(field, "emails", 6) || !strcmp(field, "email"))) ||
	    (o == OBJ_LEAD && (!strcmp(field, "email.email") || !strcmp(field, "email")))) {
		m.field = "email";
		if (o == OBJ_CONTACT) {
			for (size_t off = 0; off < n && rc == 0; off += PAGE_MAX) {
				json_t *list = json_array();
				for (i = off; i < n && i < off + PAGE_MAX; i++)
					json_array_append(list, json_array_get(values, i));
				json_t *filter = json_pack("{s:o}", "emails", list);
				rc = search_all(c, o, filter, res, keep_match, &m, err);
				json_decref(filter);
			}
		} else {
			json_array_foreach(values, i, v) {
				json_t *filter = json_pack("{s:O}", "emails", v);
				rc = search_all(c, o, filter, res, keep_match, &m, err);
				json_decref(filter);
				if (rc < 0)
					break;
			}
		}
	} else if (o == OBJ_ACCOUNT && !strcmp(field, "email_domain")) {
		m.field = "email_domain";
		json_t *filter = json_pack("{s:O}", "email_domains", values);
		rc = search_all(c, o, filter, res, keep_match, &m, err);
		json_decref(filter);
	} else if ((!strcmp(field, "name") && o != OBJ_USER) ||
		   ((o == OBJ_CONTACT || o == OBJ_LEAD) && (!strcmp(field, "first_name") || !strcmp(field, "last_name")))) {
		/* The name search contains-matches the full name: a first or last
		 * name is found through it, then compared exactly. */
		m.field = field;
		json_array_foreach(values, i, v) {
			json_t *filter = json_pack("{s:O}", "name", v);
			rc = search_all(c, o, filter, res, keep_match, &m, err);
			json_decref(filter);
			if (rc < 0)
				break;
		}
	} else {
		rc = err_set(err, CRM_EUSAGE, "unsupported_match",
			     "Copper can match %s only on %s or name (its search has no filter for '%s')", entity(o),
			     o == OBJ_CONTACT || o == OBJ_LEAD ? "email, first_name, last_name" : o == OBJ_ACCOUNT ? "domain (email_domain)" : "name",
			     field);
	}
	if (rc < 0)
		goto fail;
	*out = res;
	return 0;
fail:
	json_decref(res);
	return rc;
}

/* ---- writes (§6) ---- */

static json_t *number_new(const char *s)
{
	char *end;
	long long i = strtoll(s, &end, 10);
	if (!*end)
		return json_integer(i);
	double d = strtod(s, &end);
	return *end ? NULL : json_real(d);
}

/* Id fields: integers (a non-numeric id, say another CRM's stage code,
 * is left out rather than refused). */
static int is_id_field(const char *k)
{
	static const char *const ids[] = { "assignee_id", "company_id", "pipeline_stage_id", "pipeline_id",
					   "customer_source_id", "loss_reason_id", "contact_type_id",
					   "primary_contact_id", "status_id", NULL };
	for (int i = 0; ids[i]; i++)
		if (!strcmp(k, ids[i]))
			return 1;
	return 0;
}

/* A custom field value as its definition wants it (§2.1): option names
 * become option ids, numbers and booleans from text.  NULL: leave out. */
static json_t *custom_value(const json_t *def, const json_t *v)
{
	const char *t = jx_str(def, "data_type"), *s = json_string_value(v);
	json_t *op;
	size_t i;

	if (!v || json_is_null(v) || (s && !*s))
		return json_null();
	if (!t)
		return json_deep_copy(v);
	if (!strcmp(t, "Dropdown") && s) {
		if (numeric(s))
			return json_integer(strtoll(s, NULL, 10));
		json_array_foreach(json_object_get(def, "options"), i, op)
			if (jx_str(op, "name") && !strcasecmp(jx_str(op, "name"), s))
				return json_incref(json_object_get(op, "id"));
		return NULL;
	}
	if ((!strcmp(t, "Float") || !strcmp(t, "Currency") || !strcmp(t, "Percentage")) && s)
		return number_new(s);
	if (!strcmp(t, "Checkbox") && s)
		return json_boolean(!strcmp(s, "true") || !strcmp(s, "1"));
	return json_deep_copy(v);
}

/* Folds a slot ("emails.work" = value) into a Copper array: the slot's
 * entry (the first of its category, or the first entry for "primary")
 * takes the value; "" removes it; a new value is added. */
static void fold_slot(json_t *arr, const char *valkey, const char *slot, const char *(*catslot)(const char *),
		      const json_t *val)
{
	const char *s = json_string_value(val);
	json_t *e;
	size_t i, at = (size_t)-1;
	int primary = !strcmp(slot, "primary");

	json_array_foreach(arr, i, e) {
		if (primary ? i == 0 : (i > 0 || !catslot || strcmp(valkey, "email")) &&
		    !strcmp(catslot ? catslot(jx_str(e, "category")) : "", slot)) {
			at = i;
			break;
		}
	}
	if (s && *s) {
		/* The same value already elsewhere in the list: nothing to add. */
		json_array_foreach(arr, i, e)
			if (i != at && jx_str(e, valkey) && !strcasecmp(jx_str(e, valkey), s))
				return;
		if (at != (size_t)-1) {
			json_object_set_new(json_array_get(arr, at), valkey, json_string(s));
		} else if (primary) {
			json_array_insert_new(arr, 0, json_pack("{s:s,s:s}", valkey, s, "category", "work"));
		} else {
			json_array_append_new(arr, json_pack("{s:s,s:s}", valkey, s, "category", slot));
		}
	} else if (at != (size_t)-1) {
		json_array_remove(arr, at);
	}
}

/* The Copper body for a create (current NULL) or an update, from flat
 * fields.  Arrays and the address are replaced whole by Copper (§6), so
 * an update folds its slots into the current record's values. */
static json_t *build_body(struct conn *c, enum obj o, const json_t *fields, const json_t *current)
{
	json_t *body = json_object(), *custom = json_array(), *v;
	json_t *emails = NULL, *phones = NULL, *webs = NULL, *addr = NULL, *email = NULL;
	const char *k, *first = NULL, *last = NULL;
	int has_first = 0, has_last = 0;
	char key[48];

	json_object_foreach((json_t *)fields, k, v) {
		const char *s = json_string_value(v);
		const char *dot = strchr(k, '.');
		json_t *def = NULL;
		if (!strncmp(k, "custom_", 7) && numeric(k + 7))
			def = def_by_id(c, k + 7);
		else if (def_key_by_label(c, o, k, key, sizeof(key)))
			def = def_by_id(c, key + 7);
		if (def) {
			json_t *x = custom_value(def, v);
			if (x)
				json_array_append_new(custom, json_pack("{s:O,s:o}", "custom_field_definition_id",
									json_object_get(def, "id"), "value", x));
		} else if ((o == OBJ_CONTACT || o == OBJ_LEAD) && !strcmp(k, "first_name")) {
			first = s, has_first = 1;
		} else if ((o == OBJ_CONTACT || o == OBJ_LEAD) && !strcmp(k, "last_name")) {
			last = s, has_last = 1;
		} else if (dot && (!strncmp(k, "emails.", 7) || !strncmp(k, "phone_numbers.", 14) || !strncmp(k, "websites.", 9))) {
			json_t **arr = k[0] == 'e' ? &emails : k[0] == 'p' ? &phones : &webs;
			const char *ak = k[0] == 'e' ? "emails" : k[0] == 'p' ? "phone_numbers" : "websites";
			if (!*arr) {
				*arr = json_deep_copy(json_object_get(current, ak));
				if (!json_is_array(*arr)) {
					json_decref(*arr);
					*arr = json_array();
				}
			}
			fold_slot(*arr, k[0] == 'e' ? "email" : k[0] == 'p' ? "number" : "url", dot + 1,
				  k[0] == 'e' ? email_slot : k[0] == 'p' ? phone_slot : NULL, v);
		} else if (dot && !strncmp(k, "address.", 8)) {
			if (!addr) {
				addr = json_object();
				static const char *const parts[] = { "street", "city", "state", "postal_code", "country", NULL };
				json_t *cur = json_object_get(current, "address");
				for (int i = 0; parts[i]; i++)
					json_object_set(addr, parts[i], json_object_get(cur, parts[i]) ? json_object_get(cur, parts[i]) : json_null());
			}
			json_object_set_new(addr, dot + 1, s && *s ? json_string(s) : json_null());
		} else if (dot && o == OBJ_LEAD && !strncmp(k, "email.", 6)) {
			if (!email) {
				email = json_deep_copy(json_object_get(current, "email"));
				if (!json_is_object(email)) {
					json_decref(email);
					email = json_object();
				}
			}
			json_object_set_new(email, dot + 1, s && *s ? json_string(s) : json_null());
		} else if (o == OBJ_DEAL && !strcmp(k, "@status")) {
			/* Keep Abandoned when the input says LOST and carries it. */
			const char *orig = jx_str(fields, "status");
			if (s && (!orig || strcmp(status_unified(orig), s)))
				json_object_set_new(body, "status", json_string(!strcasecmp(s, "WON") ? "Won"
						    : !strcasecmp(s, "LOST") ? "Lost" : "Open"));
		} else if (o == OBJ_LEAD && !strcmp(k, "status")) {
			/* The status name is Copper's echo of status_id (§15: write
			 * status_id): it goes only where no status_id does. */
			if (!json_object_get(fields, "status_id") && s && lookup_id(c->statuses, s))
				json_object_set_new(body, "status", json_string(s));
		} else if (k[0] == '@') {
			continue;
		} else if (o == OBJ_DEAL && !strcmp(k, "close_date")) {
			int y, m, d;
			char out[16];
			if (s && sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3) {
				snprintf(out, sizeof(out), "%02d/%02d/%04d", m, d, y);
				json_object_set_new(body, k, json_string(out));
			} else if (!s || !*s) {
				json_object_set_new(body, k, json_null());
			}
		} else if (is_id_field(k)) {
			if (json_is_integer(v) || json_is_null(v))
				json_object_set(body, k, v);
			else if (s && numeric(s))
				json_object_set_new(body, k, json_integer(strtoll(s, NULL, 10)));
			else if (s && !*s)
				json_object_set_new(body, k, json_null());
		} else if (!strcmp(k, "monetary_value") || !strcmp(k, "win_probability")) {
			json_t *x = s ? (*s ? number_new(s) : json_null()) : json_incref(v);
			if (x)
				json_object_set_new(body, k, x);
		} else if (!strcmp(k, "name") && (o == OBJ_CONTACT || o == OBJ_LEAD)) {
			if (s && *s)
				json_object_set(body, k, v);
		} else {
			json_object_set_new(body, k, s && !*s ? json_null() : json_incref(v));
		}
	}
	if (emails)
		json_object_set_new(body, "emails", emails);
	if (phones)
		json_object_set_new(body, "phone_numbers", phones);
	if (webs)
		json_object_set_new(body, "websites", webs);
	if (addr) {
		const char *ak;
		json_t *av;
		int any = 0;
		json_object_foreach(addr, ak, av)
			any |= !json_is_null(av);
		json_object_set_new(body, "address", any ? json_incref(addr) : json_null());
		json_decref(addr);
	}
	if (email) {
		const char *e = jx_str(email, "email");
		if (e && *e && !jx_str(email, "category"))
			json_object_set_new(email, "category", json_string("work"));
		json_object_set_new(body, "email", e && *e ? json_incref(email) : json_null());
		json_decref(email);
	}
	if (json_array_size(custom))
		json_object_set(body, "custom_fields", custom);
	json_decref(custom);
	/* §6: name is required; first and last name are joined into it (the
	 * part not given comes from the current name).  A create with neither
	 * takes the email as name, as Copper's own importers do. */
	if ((o == OBJ_CONTACT || o == OBJ_LEAD) && (has_first || has_last || !current)) {
		char *cf = NULL, *cl = NULL;
		struct buf b = BUF_INIT;
		name_parts(current, &cf, &cl);
		const char *f = has_first ? first : cf, *l = has_last ? last : cl;
		if (f && !*f)
			f = NULL;
		if (l && !*l)
			l = NULL;
		buf_addf(&b, "%s%s%s", f ? f : "", f && l ? " " : "", l ? l : "");
		if (!b.len && !current && !jx_str(body, "name")) {
			const char *e = o == OBJ_CONTACT ? jx_str(json_array_get(json_object_get(body, "emails"), 0), "email")
				      : jx_str(json_object_get(body, "email"), "email");
			if (e)
				buf_adds(&b, e);
		}
		if (b.len && !jx_str(body, "name"))
			json_object_set_new(body, "name", json_string(b.buf));
		/* A last name alone would be split back as a first name: the
		 * parts are named, as Copper's own record holds them (§2.2
		 * reads first_name / last_name; that a write may set them is
		 * assumed, copper.md leaves it unverified). */
		if (!f && l && jx_str(body, "name") && !strcmp(jx_str(body, "name"), l)) {
			json_object_set_new(body, "first_name", json_null());
			json_object_set_new(body, "last_name", json_string(l));
		}
		buf_release(&b);
		free(cf);
		free(cl);
	}
	return body;
}

/* Does an update need the current record (slots, or half a name)? */
static int needs_current(enum obj o, const json_t *fields)
{
	const char *k;
	json_t *v;
	int f = 0, l = 0;

	json_object_foreach((json_t *)fields, k, v) {
		if (strchr(k, '.'))
			return 1;
		f |= !strcmp(k, "first_name");
		l |= !strcmp(k, "last_name");
	}
	return (o == OBJ_CONTACT || o == OBJ_LEAD) && f != l;
}

static int fatal(int s)
{
	return s == CRM_EAUTH || s == CRM_ETEMP || s == CRM_EUNAVAIL || s == CRM_EINTR || s == CRM_ECONFIG;
}

/* A bulk reply item (§6): a record, or {"success": false, "message": {field: [{"error": ...}]}}. */
static void bulk_result(const json_t *r, struct write_item *w, int created)
{
	char tmp[32];
	const char *id = jx_text(json_object_get(r, "id"), tmp, sizeof(tmp));
	json_t *m = json_object_get(r, "message");

	if (json_is_false(json_object_get(r, "success")) || !id || !json_is_integer(json_object_get(r, "id"))) {
		const char *fk = NULL;
		const char *why = NULL;
		if (json_is_object(m)) {
			json_t *fv;
			json_object_foreach(m, fk, fv) {
				why = jx_str(json_array_get(fv, 0), "error");
				break;
			}
		} else {
			why = json_string_value(m);
		}
		err_set(&w->err, CRM_ERECORD, "invalid_input", "Copper: %s%s%s", fk ? fk : "", fk ? ": " : "",
			why ? why : "the record was refused");
		if (fk)
			snprintf(w->err.field, sizeof(w->err.field), "%s", fk);
		w->err.http_status = 200;
		return;
	}
	item_set_id(w, id);
	w->created = created;
}

/* Records by id in their raw Copper shape (for updates that fold slots). */
static void raw_by_id(struct conn *c, enum obj o, json_t *raw, json_t *res, void *ud)
{
	char tmp[32];
	const char *id = jx_text(json_object_get(raw, "id"), tmp, sizeof(tmp));

	(void)c, (void)o, (void)ud;
	if (id)
		json_object_set(res, id, raw);
}

static int read_raw(struct conn *c, enum obj o, struct write_item *items, size_t n, json_t *res, struct crm_err *err)
{
	json_t *list = json_array();
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		if (items[i].remote_id && numeric(items[i].remote_id))
			json_array_append_new(list, json_integer(strtoll(items[i].remote_id, NULL, 10)));
	if (json_array_size(list)) {
		json_t *filter = json_pack("{s:O}", "ids", list);
		rc = search_all(c, o, filter, res, raw_by_id, NULL, err);
		json_decref(filter);
	}
	json_decref(list);
	return rc;
}

/* Marks items [from, n) failed with a whole-call error (the first call's
 * failure is returned instead: nothing was written). */
static int fail_rest(struct write_item *items, size_t from, size_t n, const struct crm_err *e, int rc,
		     struct crm_err *err)
{
	int any = 0;

	for (size_t j = 0; j < n; j++)
		any |= items[j].id_out[0] != 0;
	if (from == 0 && !any) {
		*err = *e;
		return rc;
	}
	for (size_t j = from; j < n; j++)
		if (!items[j].id_out[0] && !items[j].err.status)
			items[j].err = *e;
	return 0;
}

/* People and leads: bulk_create / bulk_update, 10 a call, results in
 * request order (§6).  A call refused as a whole is sent again one record
 * a call, so the bad record fails alone. */
static int bulk_write(struct conn *c, enum obj o, enum write_op op, struct write_item *items, size_t n,
		      const json_t *current, struct crm_err *err)
{
	char path[64];
	const char *key = entity(o);

	snprintf(path, sizeof(path), "/%s/%s", key, op == WR_UPDATE ? "bulk_update" : "bulk_create");
	for (size_t off = 0; off < n; off += BULK_MAX) {
		size_t m = n - off < BULK_MAX ? n - off : BULK_MAX;
		for (size_t step = m; step;) {
			/* step == m: one call for the chunk; step == 1: one call per record. */
			for (size_t s = off; s < off + m; s += step) {
				json_t *list = json_array(), *ans = NULL;
				struct crm_err e = CRM_ERR_INIT;
				size_t cnt = s + step <= off + m ? step : off + m - s;
				for (size_t i = s; i < s + cnt; i++) {
					json_t *b = build_body(c, o, items[i].fields,
							       op == WR_UPDATE ? json_object_get(current, items[i].remote_id) : NULL);
					if (op == WR_UPDATE)
						json_object_set_new(b, "id", json_integer(strtoll(items[i].remote_id, NULL, 10)));
					json_array_append_new(list, b);
				}
				json_t *body = json_pack("{s:o}", key, list);
				int rc = call(c, "POST", path, body, op == WR_UPDATE ? HTTP_IDEMPOTENT : 0, &ans, &e);
				json_decref(body);
				if (rc == CRM_EAMBIG) {
					/* The answer was lost: cmd/push looks these records up
					 * again and sends again only those that are not there. */
					for (size_t i = s; i < s + cnt; i++)
						items[i].err = e;
					json_decref(ans);
					continue;
				}
				if (rc == CRM_ERECORD && cnt > 1) {
					json_decref(ans);
					step = 1;
					goto again;
				}
				if (rc < 0) {
					if (fatal(rc)) {
						json_decref(ans);
						return fail_rest(items, s, n, &e, rc, err);
					}
					for (size_t i = s; i < s + cnt; i++)
						items[i].err = e;
					json_decref(ans);
					continue;
				}
				for (size_t i = s; i < s + cnt; i++) {
					json_t *r = json_array_get(ans, i - s);
					if (r)
						bulk_result(r, &items[i], op != WR_UPDATE);
					else
						err_set(&items[i].err, CRM_ERECORD, "no_result",
							"Copper's bulk answer did not mention this record");
				}
				json_decref(ans);
			}
			break;
again:
			;
		}
	}
	return 0;
}

/* One record, one call: companies and opportunities (no bulk, §6), lead
 * upserts by email (PUT /leads/upsert is idempotent: sent again safely). */
static int write_one(struct conn *c, enum obj o, enum write_op op, struct write_item *w, const json_t *current,
		     struct crm_err *err)
{
	char path[96];
	json_t *body = build_body(c, o, w->fields, current), *ans = NULL;
	int rc;

	if (op == WR_UPSERT) {
		const char *e = jx_str(w->fields, "email.email");
		json_t *req = json_pack("{s:O,s:{s:s,s:s}}", "properties", body, "match", "field_name", "email",
					"field_value", e);
		rc = call(c, "PUT", "/leads/upsert", req, HTTP_IDEMPOTENT, &ans, err);
		json_decref(req);
	} else if (op == WR_UPDATE) {
		struct buf pb = BUF_INIT;
		rc = call(c, "PUT", record_path(&pb, o, w->remote_id), body, HTTP_IDEMPOTENT, &ans, err);
		buf_release(&pb);
	} else {
		snprintf(path, sizeof(path), "/%s", entity(o));
		rc = call(c, "POST", path, body, 0, &ans, err);
	}
	if (rc == 0) {
		char tmp[32];
		const char *id = jx_text(json_object_get(ans, "id"), tmp, sizeof(tmp));
		if (!id) {
			rc = err_set(err, CRM_ERECORD, "no_result", "Copper's answer did not name the record");
		} else {
			item_set_id(w, id);
			/* The upsert answer has no created flag (§6): a record whose
			 * creation and modification second are one is new (an update
			 * in its first second reads as created). */
			w->created = op == WR_CREATE || (op == WR_UPSERT && jx_text_equal(json_object_get(ans, "date_created"),
											 json_object_get(ans, "date_modified")));
		}
	}
	json_decref(ans);
	json_decref(body);
	return rc;
}

static int write_items(struct conn *c, enum obj o, enum write_op op, struct write_item *items,
		       size_t n, struct crm_err *err)
{
	json_t *current = NULL;
	int rc;

	if ((rc = load_lookups(c, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((op == WR_UPDATE || op == WR_DELETE) && !numeric(items[i].remote_id)) {
			err_set(&items[i].err, CRM_ERECORD, "not_found", "Copper has no %s %s", singular(o),
				items[i].remote_id ? items[i].remote_id : "(none)");
			items[i].err.http_status = 404;
		}
	if (op == WR_UPSERT && o == OBJ_LEAD) {
		/* With an email: the upsert; without: bulk create. */
		struct write_item *b = calloc(n, sizeof(*b));
		size_t nb = 0, *map = calloc(n, sizeof(*map));
		int stop = 0;
		for (size_t i = 0; i < n && !stop; i++) {
			const char *e = jx_str(items[i].fields, "email.email");
			if (!e || !*e) {
				map[nb] = i;
				b[nb++] = items[i];
				continue;
			}
			struct crm_err e1 = CRM_ERR_INIT;
			int r1 = write_one(c, o, op, &items[i], NULL, &e1);
			if (r1 < 0 && fatal(r1)) {
				rc = fail_rest(items, i, n, &e1, r1, err);
				for (size_t j = 0; j < nb && rc == 0; j++)
					items[map[j]].err = e1;
				stop = 1;
			} else if (r1 < 0) {
				items[i].err = e1;
				items[i].err.status = CRM_ERECORD;
			}
		}
		if (!stop && nb)
			rc = bulk_write(c, o, WR_CREATE, b, nb, NULL, err);
		for (size_t j = 0; j < nb && !stop; j++)
			items[map[j]] = b[j];
		free(b);
		free(map);
		return rc;
	}
	if (op == WR_UPSERT)
		op = WR_CREATE; /* no upsert outside leads (§6): cmd/push matched first */
	if (op == WR_UPDATE) {
		int need = 0;
		for (size_t i = 0; i < n; i++)
			need |= !items[i].err.status && needs_current(o, items[i].fields);
		current = json_object();
		if (need && (rc = read_raw(c, o, items, n, current, err)) < 0) {
			json_decref(current);
			return rc;
		}
	}
	if ((o == OBJ_CONTACT || o == OBJ_LEAD) && op != WR_DELETE) {
		/* Skip items already failed: compact, write, put back. */
		struct write_item *b = calloc(n, sizeof(*b));
		size_t nb = 0, *map = calloc(n, sizeof(*map));
		for (size_t i = 0; i < n; i++)
			if (!items[i].err.status) {
				map[nb] = i;
				b[nb++] = items[i];
			}
		rc = nb ? bulk_write(c, o, op, b, nb, current, err) : 0;
		for (size_t j = 0; j < nb; j++)
			items[map[j]] = b[j];
		free(b);
		free(map);
		json_decref(current);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct write_item *w = &items[i];
		struct crm_err e = CRM_ERR_INIT;
		if (w->err.status)
			continue;
		if (op == WR_DELETE) {
			struct buf pb = BUF_INIT;
			json_t *ans = NULL;
			rc = call(c, "DELETE", record_path(&pb, o, w->remote_id), NULL, HTTP_IDEMPOTENT, &ans, &e);
			buf_release(&pb);
			json_decref(ans);
			if (rc == 0)
				item_set_id(w, w->remote_id);
		} else {
			rc = write_one(c, o, op, w, json_object_get(current, w->remote_id ? w->remote_id : ""), &e);
		}
		if (rc == 0)
			continue;
		if (rc == CRM_EAMBIG) {
			/* Lost answer: cmd/push looks it up again (see bulk_write). */
			w->err = e;
			continue;
		}
		if (rc == 0 || (rc == CRM_ERECORD && w->err.status))
			continue;
		if (rc == CRM_EUNAVAIL && w->err.status) {
			struct crm_err fe = w->err;
			json_decref(current);
			return fail_rest(items, i, n, &fe, rc, err);
		}
		if (fatal(rc)) {
			json_decref(current);
			return fail_rest(items, i, n, &e, rc, err);
		}
		w->err = e;
		w->err.status = CRM_ERECORD;
		if (rc == CRM_ENOTFOUND)
			snprintf(w->err.code, sizeof(w->err.code), "not_found");
	}
	json_decref(current);
	return 0;
}

static int cu_write(struct conn *c, enum obj o, enum write_op op, struct write_item *items,
		    size_t n, struct crm_err *err)
{
	int rc = write_items(c, o, op, items, n, err);

	/* Never let a record pass as written when no answer named it. */
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!items[i].err.status && !items[i].id_out[0])
			err_set(&items[i].err, CRM_ERECORD, "no_result", "Copper's answer did not mention this record");
	return rc;
}

/* ---- status (§9) ---- */

static int cu_status(struct conn *c, json_t *out, struct crm_err *err)
{
	json_t *d = NULL;
	char tmp[32];
	int rc;

	if ((rc = call(c, "GET", "/account", NULL, HTTP_IDEMPOTENT, &d, err)) < 0)
		return rc;
	const char *id = jx_text(json_object_get(d, "id"), tmp, sizeof(tmp));
	pthread_mutex_lock(&c->mu);
	snprintf(c->account, sizeof(c->account), "%s", id ? id : "");
	pthread_mutex_unlock(&c->mu);
	json_object_set_new(out, "namespace", jx_str_new(id));
	/* §10: no rate-limit headers; these are the documented limits. */
	json_object_set_new(out, "rate_limit", json_pack("{s:i,s:i,s:i}", "max", 180, "interval_ms", 60000,
							 "bulk_max_per_second", 3));
	json_object_set(out, "account_name", json_object_get(d, "name") ? json_object_get(d, "name") : json_null());
	json_t *st = json_object_get(json_object_get(d, "settings"), "setting_enable_leads");
	if (json_is_boolean(st))
		json_object_set(out, "leads_enabled", st);
	json_decref(d);
	return 0;
}

/* ---- lists = tags (§8) ---- */

static int cu_lists(struct conn *c, json_t **out, struct crm_err *err)
{
	json_t *ans = NULL, *res, *t;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = call(c, "GET", "/tags", NULL, HTTP_IDEMPOTENT, &ans, err)) < 0)
		return rc;
	res = json_array();
	json_array_foreach(ans, i, t) {
		const char *name = jx_str(t, "name");
		json_t *rf = json_deep_copy(t);
		if (!name) {
			json_decref(rf);
			continue;
		}
		json_object_del(rf, "name");
		/* A tag is static membership: people carry it until changed. */
		json_array_append_new(res, json_pack("{s:s,s:s,s:s,s:O?,s:b,s:o}", "object", "list", "remote_id", name,
						     "name", name, "size", json_object_get(t, "count_people"), "dynamic", 0,
						     "remote_fields", rf));
	}
	json_decref(ans);
	*out = res;
	return 0;
}

/* Copper has no membership API (§8): each person's tags are read, changed
 * and written back whole (bulk_update, 10 a call), so this is not atomic:
 * a tag change made by someone else between the read and the write is lost. */
static int cu_list_write(struct conn *c, const char *list, int add, struct write_item *items,
			 size_t n, struct crm_err *err)
{
	json_t *current = json_object();
	struct write_item *b = calloc(n ? n : 1, sizeof(*b));
	size_t nb = 0, *map = calloc(n ? n : 1, sizeof(*map));
	int rc;

	if ((rc = read_raw(c, OBJ_CONTACT, items, n, current, err)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct write_item *w = &items[i];
		json_t *cur = numeric(w->remote_id) ? json_object_get(current, w->remote_id) : NULL, *tags, *t;
		size_t j, at = (size_t)-1;
		item_set_id(w, w->remote_id);
		if (!cur) {
			err_set(&w->err, CRM_ERECORD, "not_found", "Copper has no person %s", w->remote_id);
			w->err.http_status = 404;
			continue;
		}
		tags = json_deep_copy(json_object_get(cur, "tags"));
		if (!json_is_array(tags)) {
			json_decref(tags);
			tags = json_array();
		}
		json_array_foreach(tags, j, t)
			if (json_is_string(t) && !strcmp(json_string_value(t), list))
				at = j;
		if ((add && at != (size_t)-1) || (!add && at == (size_t)-1)) {
			json_decref(tags);
			continue; /* already so: unchanged */
		}
		if (add)
			json_array_append_new(tags, json_string(list));
		else
			json_array_remove(tags, at);
		map[nb] = i;
		b[nb] = *w;
		b[nb].fields = json_pack("{s:o}", "tags", tags);
		nb++;
	}
	if (nb)
		rc = bulk_write(c, OBJ_CONTACT, WR_UPDATE, b, nb, current, err);
	for (size_t j = 0; j < nb; j++) {
		json_decref(b[j].fields);
		b[j].fields = items[map[j]].fields;
		b[j].created = !b[j].err.status; /* changed */
		items[map[j]] = b[j];
	}
done:
	free(b);
	free(map);
	json_decref(current);
	return rc;
}

static const char *const cu_env[] = { "COPPER_API_KEY", "COPPER_USER_EMAIL", NULL };

/* The readers for the fuzz targets (provider.h: read_error, read_record). */
static json_t *read_record(enum obj o, json_t *raw)
{
	struct conn cc;
	memset(&cc, 0, sizeof(cc));
	return envelope(&cc, o, raw, NULL);
}

const struct provider provider_copper = {
	.name = "copper",
	.read_error = fill_error, .read_record = read_record,
	.listed = 6,
	.env_vars = cu_env,
	/* Timestamps are whole seconds (§4) and no index lag is documented:
	 * half a minute covers clock skew and the second of the cursor. */
	.lookback_s = 30,
	/* One write() call: one search to match up to 200 emails, then bulk
	 * calls of 10 (people, leads) or one call a record (companies,
	 * opportunities); a lookup per 10 records would halve the push rate. */
	.batch_max = WRITE_MAX,
	/* 180 calls a minute is one call every 343 ms: two batches in flight
	 * hide the latency; lib/http paces them together. */
	.concurrency = 2,
	.obj = { [OBJ_ACCOUNT] = &o_account, [OBJ_CONTACT] = &o_contact, [OBJ_USER] = &o_user,
		 [OBJ_LEAD] = &o_lead, [OBJ_DEAL] = &o_deal },
	.deleted_note = "Copper deletes hard: a deleted record leaves every search and no API lists it, so "
			"--deleted cannot be offered.  To find deletions, keep the ids of each run and compare "
			"(crmsync -p copper pull contacts | jq -r .remote_id | sort > ids.new; "
			"comm -23 ids.old ids.new lists the deleted ones); see crmsync-copper(7)",
	.has_lists = 1,
	/* Ids: ids are integers (copper.md §2); a list is a tag name, sent only in bodies. */
	.id_syntax = ID_DIGITS,
	.list_id_syntax = ID_NAME,
	.open = cu_open,
	.close = cu_close,
	.namespace = cu_namespace,
	.status = cu_status,
	.fields = cu_fields,
	.where_can = cu_where_can,
	.where_max = 16, /* one condition per search key (where_body) */
	.pull_open = cu_pull_open,
	.pull_next = cu_pull_next,
	.pull_parts = cu_pull_parts,
	.pull_part = cu_pull_part,
	.pull_close = cu_pull_close,
	.pull_fixup = cu_fixup,
	.find = cu_find,
	.read = cu_read,
	.write = cu_write,
	.lists = cu_lists,
	.list_write = cu_list_write,
};
