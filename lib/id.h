/* id.h: record ids as they may go into a URL.
 *
 * An id read from input (remote_id, a relation, a list) ends up in a
 * request path.  Each provider says, as data, which syntax its ids have;
 * cmd/ refuses an id outside it before any request (code invalid_id), and
 * providers append ids to paths with id_path_add, one percent-encoded
 * segment, so that no id can name another path ("1/../2", "1?x=1"). */
#ifndef CRM_ID_H
#define CRM_ID_H

#include <stddef.h>

struct buf;
struct crm_err;

enum id_syntax {
	ID_DEFAULT = 0,  /* in a prov_object: the provider's; elsewhere ID_TEXT */
	ID_DIGITS,       /* 1 to 20 digits (64-bit integer ids) */
	ID_SFDC,         /* 15 or 18 letters and digits (Salesforce) */
	ID_UUID,         /* 8-4-4-4-12 hex digits */
	ID_GUIDISH,      /* 1 to 36 letters, digits, '-' or '_' (SugarCRM: GUIDs, or ids given on create) */
	ID_TEXT,         /* any text without '/', '?', '#', '%', whitespace or control bytes,
			    not "." or "..", at most 255 bytes (ids of an unknown shape) */
	ID_NAME,         /* a name, never put in a path (Copper tags, Pipedrive labels): any text
			    without control bytes, at most 255 bytes */
};

/* Is id of syntax s? */
int id_valid(enum id_syntax s, const char *id);
/* What ids of syntax s are, for messages: "digits", ... */
const char *id_syntax_text(enum id_syntax s);
/* Checks id; when it is not of syntax s, sets err (CRM_ERECORD, code
 * invalid_id, field `what`) to "WHAT "ID" is not a CRM KIND id: CRM KIND ids are ..."
 * (kind, e.g. "lead", may be NULL) and returns CRM_ERECORD. */
int id_check(enum id_syntax s, const char *id, const char *crm, const char *kind, const char *what,
	     struct crm_err *err);
/* Appends id to a URL path as one segment: every byte but letters, digits,
 * '-' and '_' percent-encoded (dots too, so ".." is no dot-segment). */
int id_path_add(struct buf *path, const char *id);

#endif
