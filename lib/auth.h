/* auth.h: the OAuth refresh every provider with one would write again.
 *
 * A provider keeps its credentials in a struct auth (loaded with
 * config_credential into its members) and describes its token endpoint in
 * a struct auth_oauth: where it is, how the client authenticates (form
 * fields or HTTP Basic), the words of its messages, and a hook for the
 * answer's extra fields (an instance URL, an API domain).  auth_refresh
 * does the rest: the POST, the form (percent-encoded), the answer's
 * access_token / refresh_token / expires_in, and the verdict on a refusal
 * (invalid_grant and friends: CRM_EAUTH, once for the run, never a loop).
 *
 * auth_refresh is meant for lib/http's refresh hook, and for the auth hook
 * (a token due or missing): both run under lib/http's lock, which is the
 * token lock -- the token is only read and replaced there. */
#ifndef CRM_AUTH_H
#define CRM_AUTH_H

#include <jansson.h>

#include "err.h"

struct curl_slist;
struct http;

struct auth {
	char *token;                 /* the access token, or NULL: none yet */
	char *client_id, *client_secret, *refresh_token;
	long long expires;           /* monotonic ms; 0 = unknown */
	int busy;                    /* the token request is on its way (classify: not a 401 to refresh) */
	int failed;                  /* a refusal is final for the run (LESSONS 11) */
	struct crm_err failed_err;   /* ... and says this again */
};

struct auth_oauth {
	const char *url;             /* the token endpoint, absolute */
	int bucket;                  /* rate-limit bucket of the token request */
	int basic;                   /* client id and secret as HTTP Basic, not form fields */
	int secret_optional;         /* a refresh without client_secret is allowed */
	/* Reads the answer's extra fields before the token is taken; < 0
	 * refuses the answer (err filled), the token is then not stored. */
	int (*answer)(void *ctx, const json_t *body, struct crm_err *err);
	void *ctx;
	/* Words of the messages: "<who> refused to refresh <what> (HTTP 400);
	 * check <check>". */
	const char *crm;             /* "HubSpot": "HubSpot's token answer has no access_token" */
	const char *who;             /* "HubSpot", "Zoho's accounts server" */
	const char *what;            /* "the access token", "the session" */
	const char *check;           /* what the user should check */
	int detail;                  /* a refusal names: 0 the status only, 1 its error too,
				        2 its error and error_description */
	const char *ok_check;        /* or NULL: a 2xx without access_token is a refusal
				        ("<who> refused to refresh <what> (<error>); check <ok_check>") */
	const char *throttled;       /* or NULL: the 400 error that means "too many token
				        requests" (CRM_ETEMP, token_throttled) */
	int missing_status;          /* no refresh credentials: CRM_ECONFIG (no_credentials)
				        or CRM_EAUTH (token_expired) ... */
	const char *missing;         /* ... with this message */
};

/* Are the refresh credentials there (client id, secret unless optional,
 * refresh token)? */
int auth_can_refresh(const struct auth *a, int secret_optional);
/* Is a new token needed before the next request: none yet, or one that
 * expires within a minute (and can be refreshed)? */
int auth_due(const struct auth *a);
/* Gets a new access token from o->url.  0, or a CRM_E* status with err
 * filled: CRM_EAUTH for a refusal, CRM_ETEMP when rate limited or
 * throttled, CRM_EUNAVAIL when unreachable, as http_do. */
int auth_refresh(struct auth *a, struct http *h, const struct auth_oauth *o, struct crm_err *err);
/* Appends the header "<name>: <prefix><secret>" (an API key, "Bearer "
 * and a token), wiping the copy that held it; returns 0 or CRM_EFAIL. */
int auth_header(struct curl_slist **headers, const char *name, const char *prefix, const char *secret,
		struct crm_err *err);
/* Frees the secrets (wiped) and zeroes *a. */
void auth_release(struct auth *a);

#endif
