/* map.h: declarative field mapping between the unified model and a CRM.
 *
 * A provider describes each object as a table of struct map_entry; pull and
 * push both read the same table, so a pulled record pushed back unchanged
 * writes nothing.  Providers hand lib/ a flat object of their own field
 * names ("fields") and take one back on push; lib/ does the rest. */
#ifndef CRM_MAP_H
#define CRM_MAP_H

#include <jansson.h>

#include "jv.h"
#include "record.h"

struct crm_err;

enum map_kind {
	MK_STR,    /* string */
	MK_INT,    /* integer (CRMs that send "50" are read as 50) */
	MK_NUM,    /* number */
	MK_BOOL,   /* true/false ("true", 1 accepted on pull) */
	MK_NBOOL,  /* boolean, negated (archived -> is_active) */
	MK_TIME,   /* RFC 3339 UTC time */
	MK_DATE,   /* YYYY-MM-DD */
	MK_REL,    /* id of a related record, always a string */
	MK_EMAIL,  /* one entry of email_addresses[] */
	MK_EMAILS, /* several entries of email_addresses[] in one ';'-separated field */
	MK_PHONE,  /* one entry of phone_numbers[] */
	MK_ADDR,   /* one part (sub) of one entry of addresses[] */
};

#define MF_RO      1u  /* read on pull, never written on push */
#define MF_PRIMARY 2u  /* the primary email address */
/* Option fields (lib/options): values travel as labels. */
#define MF_OPTION   0x100u /* a picklist: industry, lead status and source, ... */
#define MF_STAGE    0x200u /* a deal's stage (an option within its pipeline) */
#define MF_PIPELINE 0x400u /* a deal's pipeline (an option) */
/* first_name / last_name are parts of one name the CRM keeps whole and
 * splits its own way on read (Copper: at the first space): the parts
 * compare as the name they join into. */
#define MF_NAMEPART 0x800u
/* The CRM derives the value from another field and keeps no value of its
 * own (SugarCRM's probability, from the stage): what it shows says nothing
 * of the record itself.  An entry the table lacks (HubSpot's probability,
 * lib/options' from the stage) is derived the same way. */
#define MF_DERIVED  0x1000u

struct map_entry {
	const char *key;     /* unified key: "first_name", "email_addresses", ... */
	const char *remote;  /* the provider's field name (nothing in it that JSON escapes) */
	enum map_kind kind;
	const char *type;    /* email/phone/address type value ("WORK"), or NULL */
	const char *sub;     /* MK_ADDR: "street_1", "city", ... */
	unsigned flags;      /* MF_* */
};

/* A table ends with an entry whose key is NULL. */
const struct map_entry *map_find_remote(const struct map_entry *m, const char *remote);

/* Builds the unified body from a flat object of provider fields, in
 * document d (lib/jv): the pull hot path builds no jansson values.
 * fields: the provider fields; out: the record being built (keys are added);
 * user_map: --map object {out_key: provider_field} or NULL.
 * Unmapped, non-null provider fields go to out.remote_fields. */
void map_pull(enum obj o, const struct map_entry *m, struct jv_doc *d, jv_t fields,
	      const json_t *user_map, jv_t out);

/* One entry of email_addresses[] / phone_numbers[] in the unified shape,
 * for providers that list every address or number (pull_fixup). */
jv_t map_email(struct jv_doc *d, jv_t addr, const char *type, int primary);
jv_t map_phone(struct jv_doc *d, jv_t number, const char *type);

/* map_push flags. */
#define MP_NATIVE      1u  /* the record's remote_fields belong to this CRM and are sent */
#define MP_CLEAR_NULLS 2u  /* push --clear-nulls: a null is written as null (the
			      provider sends the CRM's own way of clearing) */

/* Builds the flat provider fields to write from a unified record rec, in
 * its document d (values are shared with rec, not copied).
 * A null or absent value means "no value given": it is left out, so that
 * a write never erases what the CRM holds.  With MP_CLEAR_NULLS a null
 * (a key, a remote field, an address part, a list slot with no entry in
 * a list given) becomes a null field instead.
 * writable(name) says whether a remote field may be written (NULL: all). */
jv_t map_push(enum obj o, const struct map_entry *m, struct jv_doc *d, jv_t rec,
	      const json_t *user_map, unsigned flags,
	      int (*writable)(void *ctx, const char *name), void *ctx);

/* Calls warn(ctx, key) for each unified key of record rec (in d) that has
 * a value and that table m cannot write: a field the target CRM does not
 * store (no entry, or fields the CRM's metadata does not let write:
 * writable(ctx, remote), NULL = all; "@" pseudo-fields are the provider's
 * own and count as stored).  A read-only entry counts as stored: the CRM
 * keeps its own value of it (last_activity_at); but not a read-only
 * relation or conversion (converted_*: only the CRM's convert action sets
 * them).  An email address or phone number counts as stored only when
 * out, the fields map_push made of rec, holds it (a second address where
 * the CRM has one field is not).  A foreign relation with no --id-map
 * entry has its own warning (it is gone from rec by then), and a deal's
 * status is not named where the table has a stage (the status picks the
 * stage: lib/options). */
void map_not_stored(enum obj o, const struct map_entry *m, struct jv_doc *d, jv_t rec, jv_t out,
		    int (*writable)(void *ctx, const char *name), void (*warn)(void *ctx, const char *key),
		    void *ctx);

/* Are two provider values of field `remote` (values of d) the same
 * (numbers, times and empty values compared by meaning, not spelling)? */
int map_value_equal(const struct map_entry *m, const char *remote, const struct jv_doc *d,
		    jv_t a, jv_t b);

/* Is v, the value a record gives one slot of a list (an email address or
 * phone number of one type), already held by another slot of the same
 * list in the CRM's copy `have` (provider fields), while the copy's own
 * slot is empty?  Then writing it would only move or repeat it: the type
 * is what another CRM could not keep (Copper's personal email comes back
 * from Zoho as a work one), not an edit. */
/* With MF_NAMEPART entries: does the name that the fields to write join
 * into (a part not written keeps the copy's) equal the copy's name?  Then
 * the parts are no difference, however either side splits it. */
int map_name_same(const struct map_entry *m, const struct jv_doc *d, jv_t fields, jv_t have);

int map_value_held(const struct map_entry *m, const char *remote, const struct jv_doc *d, jv_t v,
		   jv_t have);

#endif
