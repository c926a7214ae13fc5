/* record.h: the unified schema: objects, their keys, metadata keys.
 *
 * Records are objects in the unified shape of CONTRACT.md; this module
 * names the objects and checks the types of unified keys. */
#ifndef CRM_RECORD_H
#define CRM_RECORD_H

#include <jansson.h>
#include <stddef.h>

#include "jv.h"

struct crm_err;

enum obj { OBJ_ACCOUNT, OBJ_CONTACT, OBJ_USER, OBJ_LEAD, OBJ_DEAL, OBJ_COUNT };

/* "account", ... */
const char *obj_name(enum obj o);
/* "accounts", ... */
const char *obj_plural(enum obj o);
/* Accepts singular and plural forms; returns -1 when unknown. */
int obj_parse(const char *s);

/* Value types of unified keys. */
enum utype {
	UT_STRING, UT_INT, UT_NUMBER, UT_BOOL, UT_TIME, UT_DATE, UT_REL,
	UT_EMAILS, UT_PHONES, UT_ADDRESSES, UT_ENUM
};

struct ukey {
	const char *name;
	size_t len;                /* strlen(name) */
	enum utype type;
	const char *const *values; /* UT_ENUM: allowed values, NULL-terminated */
};

/* The body keys of an object, NULL-terminated array. */
const struct ukey *record_keys(enum obj o);
const struct ukey *record_key(enum obj o, const char *name);
/* Is name one of the metadata keys (object, provider, remote_id, ...)? */
int record_is_meta(const char *name);
/* Checks the types of the unified keys of rec.  Returns 0, or CRM_ERECORD
 * with err naming the first bad field (code "invalid_type"). */
int record_validate(enum obj o, const struct jv_doc *d, jv_t rec, struct crm_err *err);
/* The primary (or first) email address of a record, or NULL. Borrowed. */
const char *record_primary_email(const struct jv_doc *d, jv_t rec);

/* The host of a website URL as a domain: no scheme, no "www.", no path or
 * port, lowercased, into out.  Returns out, or NULL when there is none
 * (CRMs without a domain field derive it so). */
const char *record_domain_of(const char *website, char *out, size_t n);

#endif
